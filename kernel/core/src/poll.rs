//! Waiting for descriptors: `poll`, `ppoll` and epoll (`epoll_create1`,
//! `epoll_ctl`, `epoll_wait`, `epoll_pwait`). Readiness comes from each
//! file's [`File::poll`]; a task with nothing ready sleeps on
//! [`READINESS`], which whatever makes a descriptor ready wakes (today a
//! BPF ring buffer's commit, as Linux's ring buffer wakes its readers:
//! through [`wake_soon`], at the next tick, since a commit may come from
//! a program running under the scheduler's lock).
//!
//! Partial: epoll is level-triggered only (`EPOLLET` and `EPOLLONESHOT`
//! are accepted and act as level-triggered), and an epoll descriptor
//! cannot itself be watched (`epoll_ctl` answers `EPERM`).

use crate::file::{File, POLLERR, POLLIN, POLLOUT, POLLRDNORM};
use crate::process::Process;
use crate::user::{get, put};
use crate::wait::WaitQueue;
use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use axiom_abi::uapi::errno::Errno;
use axiom_abi::uapi::layout;

type SysResult = Result<u64, Errno>;

/// Tasks waiting in `poll` or `epoll_wait`.
pub static READINESS: WaitQueue = WaitQueue::new();

/// A descriptor became ready where waking is not allowed (a BPF program's
/// commit may run under the scheduler's lock): CPU 0's next tick wakes
/// the waiters ([`wake_pending`]).
static PENDING: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Asks for the waiters to be woken at the next tick (safe anywhere).
pub fn wake_soon() {
    PENDING.store(true, core::sync::atomic::Ordering::Release);
}

/// Wakes the waiters if [`wake_soon`] asked (CPU 0's tick, outside the
/// scheduler's lock).
pub fn wake_pending() {
    if PENDING.swap(false, core::sync::atomic::Ordering::AcqRel) && READINESS.has_waiters() {
        READINESS.wake_all();
    }
}

/// `POLLNVAL`: not an open descriptor.
const POLLNVAL: u32 = 0x20;
/// `EPOLLHUP`.
const POLLHUP: u32 = 0x10;
/// What `poll` reports for files that do not poll: always ready.
const ALWAYS: u32 = POLLIN | POLLOUT | POLLRDNORM | 0x100;

/// Most descriptors one `poll` takes (Linux: `RLIMIT_NOFILE`).
const POLL_MAX: u64 = 1024;

/// One watched descriptor.
struct Interest {
    /// The file (an entry whose file is gone is dropped, as Linux drops
    /// it when the file's last reference goes).
    file: Weak<dyn File>,
    events: u32,
    data: u64,
}

/// An epoll instance: the descriptors it watches.
#[derive(Default)]
pub struct Epoll {
    interests: spin::Mutex<BTreeMap<u64, Interest>>,
}

impl File for Epoll {
    fn read(&self, _buf: &mut [u8]) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }
    fn write(&self, _data: &[u8]) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }
    fn stat(&self) -> crate::file::Stat {
        crate::file::Stat { mode: 0o600, size: 0, ino: 0 }
    }
    fn as_any(&self) -> Option<&dyn core::any::Any> {
        Some(self)
    }
}

/// The epoll instance `file` is, if it is one.
fn epoll_of(file: &dyn File) -> Option<&Epoll> {
    file.as_any()?.downcast_ref::<Epoll>()
}

impl Epoll {
    /// The ready descriptors: `(events, data)`, at most `max`.
    fn ready(&self, max: usize) -> Vec<(u32, u64)> {
        let mut out = Vec::new();
        let mut interests = self.interests.lock();
        interests.retain(|_, i| i.file.strong_count() > 0);
        for i in interests.values() {
            let Some(file) = i.file.upgrade() else { continue };
            let got = file.poll().unwrap_or(ALWAYS) & (i.events | POLLERR | POLLHUP);
            if got != 0 {
                out.push((got, i.data));
                if out.len() == max {
                    break;
                }
            }
        }
        out
    }
}

/// The tick by which a wait of `ms` milliseconds ends (`None`: a
/// negative timeout, no limit).
fn deadline_ms(ms: i64) -> Option<u64> {
    let per_ms = (crate::time::HZ / 1000).max(1);
    // Rounded up by a tick: a wait never ends early.
    (ms >= 0).then(|| crate::time::ticks() + ms as u64 * per_ms + 1)
}

/// `epoll_create1(flags)` (and `epoll_create(size)` as `flags` 0).
pub fn epoll_create(p: &Process, flags: u64) -> SysResult {
    const EPOLL_CLOEXEC: u64 = 0x80000;
    if flags & !EPOLL_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    p.fds.lock().insert(Arc::new(Epoll::default()))
}

/// `epoll_ctl(epfd, op, fd, event)`.
pub fn epoll_ctl(p: &Process, epfd: u64, op: u64, fd: u64, event: u64) -> SysResult {
    const ADD: u64 = 1;
    const DEL: u64 = 2;
    const MOD: u64 = 3;
    let (ep_file, file) = {
        let fds = p.fds.lock();
        (fds.get(epfd)?, fds.get(fd)?)
    };
    let ep = epoll_of(&*ep_file).ok_or(Errno::EINVAL)?;
    if epfd == fd {
        return Err(Errno::EINVAL);
    }
    if file.poll().is_none() {
        return Err(Errno::EPERM);
    }
    let read_event = || -> Result<(u32, u64), Errno> {
        // struct epoll_event: packed on x86-64 (12 bytes), 16 on arm64.
        let e = get(event, layout::epoll_event_size(layout::NATIVE))?;
        layout::decode_epoll_event(layout::NATIVE, &e).ok_or(Errno::EFAULT)
    };
    let mut interests = ep.interests.lock();
    let live = interests.get(&fd).is_some_and(|i| i.file.strong_count() > 0);
    match op {
        ADD | MOD => {
            if op == ADD && live {
                return Err(Errno::EEXIST);
            }
            if op == MOD && !live {
                return Err(Errno::ENOENT);
            }
            let (events, data) = read_event()?;
            interests.insert(fd, Interest { file: Arc::downgrade(&file), events, data });
        }
        DEL => {
            if interests.remove(&fd).is_none() {
                return Err(Errno::ENOENT);
            }
        }
        _ => return Err(Errno::EINVAL),
    }
    Ok(0)
}

/// `epoll_wait(epfd, events, maxevents, timeout)` (and `epoll_pwait`,
/// whose signal mask is moot: no signals are delivered).
pub fn epoll_wait(p: &Process, epfd: u64, events: u64, max: u64, timeout: i64) -> SysResult {
    let max = max as i32;
    let size = layout::epoll_event_size(layout::NATIVE);
    if max <= 0 || max as usize > i32::MAX as usize / size {
        return Err(Errno::EINVAL);
    }
    let file = p.fds.lock().get(epfd)?;
    let ep = epoll_of(&*file).ok_or(Errno::EINVAL)?;
    let mut ready = Vec::new();
    READINESS.wait_until(deadline_ms(timeout), || {
        ready = ep.ready(max as usize);
        !ready.is_empty()
    });
    let mut out = Vec::with_capacity(ready.len() * size);
    for &(ev, data) in &ready {
        let (bytes, len) = layout::encode_epoll_event(layout::NATIVE, ev, data);
        out.extend_from_slice(&bytes[..len]);
    }
    put(events, &out)?;
    Ok(ready.len() as u64)
}

/// `poll(fds, nfds, timeout)` and `ppoll` (with its timeout already in
/// milliseconds; the signal mask is moot).
pub fn poll(p: &Process, fds: u64, count: u64, timeout: i64) -> SysResult {
    if count > POLL_MAX {
        return Err(Errno::EINVAL);
    }
    let mut entries = get(fds, 8 * count as usize)?;
    let files: Vec<Option<Arc<dyn File>>> = {
        let table = p.fds.lock();
        (0..count as usize)
            .map(|i| {
                let fd =
                    i32::from_le_bytes(entries[8 * i..8 * i + 4].try_into().unwrap_or_default());
                (fd >= 0).then(|| table.get(fd as u64).ok()).flatten()
            })
            .collect()
    };
    let mut ready = 0;
    let mut scan = |entries: &mut [u8]| {
        ready = 0;
        for (i, file) in files.iter().enumerate() {
            let e = &mut entries[8 * i..8 * i + 8];
            let fd = i32::from_le_bytes(e[..4].try_into().unwrap_or_default());
            let events = u16::from_le_bytes([e[4], e[5]]) as u32;
            let revents = match file {
                _ if fd < 0 => 0,
                None => POLLNVAL,
                Some(f) => f.poll().unwrap_or(ALWAYS) & (events | POLLERR | POLLHUP),
            };
            e[6..8].copy_from_slice(&(revents as u16).to_le_bytes());
            ready += u64::from(revents != 0);
        }
        ready > 0
    };
    READINESS.wait_until(deadline_ms(timeout), || scan(&mut entries));
    put(fds, &entries)?;
    Ok(ready)
}
