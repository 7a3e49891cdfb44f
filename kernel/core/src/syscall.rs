//! Linux's system calls (x86-64's and arm64's numbers, decoded by
//! `axiom_abi::uapi::syscall`): arguments and `-errno` results.
//! `docs/syscalls.md` lists each one Axiom knows: implemented, partial
//! (and how), or `ENOSYS`.

use crate::file::{File, MemoryFile};
use crate::poll;
use crate::process::{self, Process};
use crate::user::{get, put};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use axiom_abi::uapi::errno::Errno;
use axiom_abi::uapi::syscall::{self, Sys};
use axiom_hal as hal;
use axiom_hal::user::{SyscallFrame, copy_from_user, copy_to_user};

/// The result of a system call: a value, or an errno.
type SysResult = Result<u64, Errno>;

/// The entry from a program's system call instruction.
pub fn handle(f: &mut SyscallFrame) {
    let a = f.args();
    let call = syscall::decode(syscall::NATIVE, f.number());
    // exit and exit_group never return: no reference to the process may
    // be held across them (it would never be dropped, and the process
    // never freed).
    if matches!(call, Some(Sys::Exit | Sys::ExitGroup)) {
        process::exit(a[0] as i32)
    }
    let result = match (process::current(), call) {
        (Some(p), Some(call)) => dispatch(&p, call, a),
        (Some(_), None) => Err(Errno::ENOSYS),
        (None, _) => Err(Errno::ESRCH),
    };
    f.set_result(match result {
        Ok(v) => v,
        Err(e) => (-(e.0 as i64)) as u64,
    });
}

fn dispatch(p: &Arc<Process>, call: Sys, a: [u64; 6]) -> SysResult {
    match call {
        Sys::Read => read(p, a[0], a[1], a[2]),
        Sys::Write => write(p, a[0], a[1], a[2]),
        Sys::Open => open(p, a[0], a[1]),
        Sys::Close => close(p, a[0]),
        Sys::Fstat => fstat(p, a[0], a[1]),
        Sys::Poll => poll::poll(p, a[0], a[1], a[2] as i32 as i64),
        Sys::Lseek => lseek(p, a[0], a[1] as i64, a[2]),
        Sys::Mmap => mmap(p, a),
        Sys::Mprotect => p.mprotect(a[0], a[1], a[2]).map(|_| 0),
        Sys::Munmap => p.munmap(a[0], a[1]).map(|_| 0),
        Sys::Brk => Ok(p.brk(a[0])),
        // rt_sigaction, rt_sigprocmask, sigaltstack: accepted, no signals
        // are delivered yet (partial).
        Sys::RtSigaction | Sys::RtSigprocmask => {
            if a[2] != 0 {
                // The old action or mask: all default, none blocked.
                zero_user(a[2], if call == Sys::RtSigaction { 32 } else { 8 })?;
            }
            Ok(0)
        }
        Sys::Sigaltstack => {
            if a[1] != 0 {
                // The old alternate stack: none (SS_DISABLE).
                let mut ss = [0u8; 24];
                ss[8..12].copy_from_slice(&2u32.to_le_bytes());
                put(a[1], &ss)?;
            }
            Ok(0)
        }
        Sys::Ioctl => ioctl(p, a[0], a[1], a[2]),
        Sys::Writev => writev(p, a[0], a[1], a[2]),
        Sys::SchedYield => {
            crate::sched::yield_now();
            Ok(0)
        }
        Sys::Madvise => Ok(0), // advice only
        Sys::Nanosleep => nanosleep(a[0]),
        Sys::Getpid => Ok(p.pid as u64),
        Sys::Uname => uname(a[0]),
        Sys::Getcwd => getcwd(a[0], a[1]),
        Sys::Readlink | Sys::Readlinkat => Err(Errno::ENOENT), // no /proc yet
        Sys::Gettimeofday => gettimeofday(a[0]),
        Sys::Getuid | Sys::Getgid | Sys::Geteuid | Sys::Getegid => Ok(0), // root
        Sys::Getppid => Ok(0),                                            // the kernel
        Sys::ArchPrctl => arch_prctl(a[0], a[1]),
        Sys::Gettid => Ok(p.pid as u64), // one thread per process
        Sys::Futex => futex(a[0], a[1], a[2], a[3]),
        Sys::SchedGetaffinity => sched_getaffinity(a[1], a[2]),
        Sys::SetTidAddress => Ok(p.pid as u64),
        Sys::ClockGettime => clock_gettime(a[0], a[1]),
        Sys::ClockNanosleep => clock_nanosleep(a[0], a[1], a[2]),
        Sys::Openat => openat(p, a[0], a[1], a[2]),
        Sys::Newfstatat => newfstatat(p, a[0], a[1], a[2], a[3]),
        Sys::SetRobustList => Ok(0), // no threads to clean up after
        Sys::Prlimit64 => prlimit64(a[0], a[1], a[2], a[3]),
        Sys::Mkdir => mkdir(a[0]),
        Sys::Rmdir => unlink(a[0], true),
        Sys::Unlink => unlink(a[0], false),
        Sys::Mkdirat => at_cwd(a[0]).and_then(|()| mkdir(a[1])),
        Sys::Unlinkat => at_cwd(a[0]).and_then(|()| unlink(a[1], a[2] & 0x200 != 0)),
        Sys::Getrandom => getrandom(a[0], a[1]),
        Sys::Bpf => bpf(p, a[0], a[1], a[2]),
        Sys::EpollCreate => {
            if a[0] as i32 <= 0 {
                return Err(Errno::EINVAL);
            }
            poll::epoll_create(p, 0)
        }
        Sys::EpollCreate1 => poll::epoll_create(p, a[0]),
        Sys::EpollCtl => poll::epoll_ctl(p, a[0], a[1], a[2], a[3]),
        Sys::EpollWait | Sys::EpollPwait => {
            poll::epoll_wait(p, a[0], a[1], a[2], a[3] as i32 as i64)
        }
        Sys::Ppoll => ppoll(p, a[0], a[1], a[2]),
        Sys::Exit | Sys::ExitGroup => process::exit(a[0] as i32),
    }
}

/// A read-only file the kernel generates at `path`, if it has one: the
/// CPU ranges, the IIO device's sysfs attributes.
fn generated(path: &str) -> Option<MemoryFile> {
    MemoryFile::generated(path).or_else(|| crate::iio::sysfs(path).map(MemoryFile::generated_text))
}

fn zero_user(addr: u64, len: usize) -> Result<(), Errno> {
    put(addr, &vec![0u8; len])
}

/// A NUL-terminated user string of at most 4,096 bytes.
fn user_string(addr: u64) -> Result<String, Errno> {
    let mut out = alloc::vec::Vec::new();
    let mut byte = [0u8; 1];
    for i in 0..4096u64 {
        if !copy_from_user(addr + i, &mut byte) {
            return Err(Errno::EFAULT);
        }
        if byte[0] == 0 {
            return String::from_utf8(out).map_err(|_| Errno::ENOENT);
        }
        out.push(byte[0]);
    }
    Err(Errno::ENAMETOOLONG)
}

/// Most bytes one `read` or `write` moves (Linux's limit too).
const IO_MAX: u64 = 0x7fff_f000;
/// The kernel's buffer for them: I/O goes through it a piece at a time,
/// so a large request never becomes a large kernel allocation.
const CHUNK: usize = 4096;

/// Requests up to this size go through a small buffer (zeroing a whole
/// chunk would cost more than a one-byte call itself).
const SMALL: usize = 128;

fn read(p: &Process, fd: u64, buf: u64, len: u64) -> SysResult {
    let file = p.fds.lock().get(fd)?;
    let len = len.min(IO_MAX);
    if len as usize <= SMALL {
        read_through(&*file, buf, len, &mut [0u8; SMALL])
    } else {
        read_through(&*file, buf, len, &mut [0u8; CHUNK])
    }
}

/// `read` through the kernel buffer `chunk`, a piece at a time.
fn read_through(file: &dyn File, buf: u64, len: u64, chunk: &mut [u8]) -> SysResult {
    let mut done = 0u64;
    while done < len {
        let want = (len - done).min(chunk.len() as u64) as usize;
        let n = match file.read(&mut chunk[..want]) {
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        if !copy_to_user(buf + done, &chunk[..n]) {
            return if done == 0 { Err(Errno::EFAULT) } else { Ok(done) };
        }
        done += n as u64;
        if n < want {
            break;
        }
    }
    Ok(done)
}

fn write(p: &Process, fd: u64, buf: u64, len: u64) -> SysResult {
    let file = p.fds.lock().get(fd)?;
    let len = len.min(IO_MAX);
    let output = (fd == 1 || fd == 2).then_some(p);
    if len as usize <= SMALL {
        write_through(&*file, output, buf, len, &mut [0u8; SMALL])
    } else {
        write_through(&*file, output, buf, len, &mut [0u8; CHUNK])
    }
}

/// `write` through the kernel buffer `chunk`, a piece at a time; what
/// goes to standard output or error is also kept for the tests (`output`).
fn write_through(
    file: &dyn File,
    output: Option<&Process>,
    buf: u64,
    len: u64,
    chunk: &mut [u8],
) -> SysResult {
    let mut done = 0u64;
    while done < len {
        let want = (len - done).min(chunk.len() as u64) as usize;
        if !copy_from_user(buf + done, &mut chunk[..want]) {
            return if done == 0 { Err(Errno::EFAULT) } else { Ok(done) };
        }
        let n = match file.write(&chunk[..want]) {
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        if let Some(p) = output {
            p.record_output(&chunk[..n]);
        }
        done += n as u64;
        if n < want {
            break;
        }
    }
    Ok(done)
}

fn writev(p: &Process, fd: u64, iov: u64, count: u64) -> SysResult {
    if count > 1024 {
        return Err(Errno::EINVAL);
    }
    let mut total = 0;
    for i in 0..count {
        let v = get(iov + 16 * i, 16)?;
        let base = u64::from_le_bytes(v[..8].try_into().unwrap_or_default());
        let len = u64::from_le_bytes(v[8..].try_into().unwrap_or_default());
        total += write(p, fd, base, len)?;
    }
    Ok(total)
}

/// `open` flags that ask for writing or creating (initramfs files are
/// read-only).
const O_WRITE: u64 = 0o3 | 0o100 | 0o1000;

fn open_path(p: &Process, path: &str, flags: u64) -> SysResult {
    if path == crate::serial::PATH {
        return p.fds.lock().insert(Arc::new(crate::serial::SerialLine::open()?));
    }
    if path == crate::iio::PATH {
        return p.fds.lock().insert(Arc::new(crate::iio::IioBuffer));
    }
    if let Some(device) = crate::file::Device::open(path) {
        return p.fds.lock().insert(Arc::new(device));
    }
    if let Some(file) = generated(path) {
        if flags & O_WRITE != 0 {
            return Err(Errno::EROFS);
        }
        return p.fds.lock().insert(Arc::new(file));
    }
    let data = crate::fs::lookup(path).ok_or(Errno::ENOENT)?;
    if flags & O_WRITE != 0 {
        return Err(Errno::EROFS);
    }
    let ino = path.bytes().fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
    p.fds.lock().insert(Arc::new(MemoryFile::new(data, ino)))
}

fn open(p: &Process, path: u64, flags: u64) -> SysResult {
    let path = user_string(path)?;
    open_path(p, &absolute(&path), flags)
}

/// `AT_FDCWD`.
const AT_FDCWD: u64 = (-100i64) as u64;

fn openat(p: &Process, dirfd: u64, path: u64, flags: u64) -> SysResult {
    let path = user_string(path)?;
    if !path.starts_with('/') && dirfd != AT_FDCWD {
        return Err(Errno::ENOTDIR);
    }
    open_path(p, &absolute(&path), flags)
}

/// Paths relative to the working directory, which is `/`.
fn absolute(path: &str) -> String {
    if path.starts_with('/') { String::from(path) } else { alloc::format!("/{path}") }
}

/// Only absolute paths and `AT_FDCWD` for the `*at` calls (no directory
/// descriptors yet).
fn at_cwd(dirfd: u64) -> Result<(), Errno> {
    if dirfd == AT_FDCWD { Ok(()) } else { Err(Errno::EBADF) }
}

/// `mkdir`: directories exist only in the BPF file system (the
/// initramfs is read-only).
fn mkdir(path: u64) -> SysResult {
    let path = absolute(&user_string(path)?);
    if path.starts_with(axiom_bpf::command::bpffs::BPFFS) {
        return BPF.mkdir(&path).map(|()| 0);
    }
    Err(Errno::EROFS)
}

/// `unlink` (`dir` false) and `rmdir` (`dir` true): in the BPF file
/// system, a pin or an empty directory goes.
fn unlink(path: u64, dir: bool) -> SysResult {
    let path = absolute(&user_string(path)?);
    if path.starts_with(axiom_bpf::command::bpffs::BPFFS) {
        return BPF.unlink(&path, dir).map(|()| 0);
    }
    if crate::fs::lookup(&path).is_some() { Err(Errno::EROFS) } else { Err(Errno::ENOENT) }
}

fn close(p: &Process, fd: u64) -> SysResult {
    p.fds.lock().close(fd).map(|_| 0)
}

/// Linux's `struct stat` for this architecture (x86-64: 144 bytes;
/// arm64: 128).
fn stat_bytes(s: &crate::file::Stat) -> alloc::vec::Vec<u8> {
    use axiom_abi::uapi::layout::{NATIVE, StatFields, encode_stat};
    let fields = StatFields {
        ino: s.ino,
        mode: s.mode,
        nlink: 1,
        size: s.size,
        blksize: 4096,
        blocks: s.size.div_ceil(512),
    };
    let (bytes, len) = encode_stat(NATIVE, &fields);
    bytes[..len].to_vec()
}

fn fstat(p: &Process, fd: u64, out: u64) -> SysResult {
    let file = p.fds.lock().get(fd)?;
    put(out, &stat_bytes(&file.stat())).map(|_| 0)
}

/// `AT_EMPTY_PATH`.
const AT_EMPTY_PATH: u64 = 0x1000;

fn newfstatat(p: &Process, dirfd: u64, path: u64, out: u64, flags: u64) -> SysResult {
    let path = user_string(path)?;
    if path.is_empty() && flags & AT_EMPTY_PATH != 0 {
        return fstat(p, dirfd, out);
    }
    let path = absolute(&path);
    if path == crate::serial::PATH {
        let line = crate::serial::SerialLine::open()?;
        return put(out, &stat_bytes(&line.stat())).map(|_| 0);
    }
    if path == crate::iio::PATH {
        return put(out, &stat_bytes(&crate::iio::IioBuffer.stat())).map(|_| 0);
    }
    if let Some(device) = crate::file::Device::open(&path) {
        return put(out, &stat_bytes(&device.stat())).map(|_| 0);
    }
    if let Some(file) = generated(&path) {
        return put(out, &stat_bytes(&file.stat())).map(|_| 0);
    }
    // The BPF file system: directories, and pins (files, as Linux shows
    // them).
    if path.starts_with(axiom_bpf::command::bpffs::BPFFS) {
        let mode = match BPF.bpffs_entry(&path).ok_or(Errno::ENOENT)? {
            true => crate::file::S_IFDIR | 0o755,
            false => crate::file::S_IFREG | 0o600,
        };
        let s = crate::file::Stat { mode, size: 0, ino: 4 };
        return put(out, &stat_bytes(&s)).map(|_| 0);
    }
    let data = crate::fs::lookup(&path).ok_or(Errno::ENOENT)?;
    let s =
        crate::file::Stat { mode: crate::file::S_IFREG | 0o555, size: data.len() as u64, ino: 2 };
    put(out, &stat_bytes(&s)).map(|_| 0)
}

fn lseek(p: &Process, fd: u64, offset: i64, whence: u64) -> SysResult {
    let file = p.fds.lock().get(fd)?;
    file.seek(offset, whence as u32)
}

fn ioctl(p: &Process, fd: u64, request: u64, arg: u64) -> SysResult {
    let file = p.fds.lock().get(fd)?;
    // TCGETS on the console: a terminal (its settings all zero: raw).
    if request == 0x5401 && file.is_tty() {
        zero_user(arg, 36)?;
        return Ok(0);
    }
    Err(Errno::ENOTTY)
}

fn mmap(p: &Process, a: [u64; 6]) -> SysResult {
    let (addr, len, prot, flags, fd) = (a[0], a[1], a[2], a[3], a[4]);
    const MAP_FIXED: u64 = 0x10;
    const MAP_ANONYMOUS: u64 = 0x20;
    const MAP_SHARED: u64 = 0x01;
    const MAP_TYPE: u64 = 0x0f;
    let fixed = flags & MAP_FIXED != 0;
    if flags & MAP_ANONYMOUS != 0 {
        // The descriptor of an anonymous mapping is ignored (as Linux
        // does); shared anonymous memory is private until there is fork.
        return p.mmap_anonymous(addr, len, prot, fixed);
    }
    let file = p.fds.lock().get(fd)?;
    // Files map shared only (a BPF ring buffer's pages; partial: other
    // files answer ENODEV).
    if flags & MAP_TYPE != MAP_SHARED {
        return Err(Errno::EINVAL);
    }
    p.mmap_file(file, addr, len, prot, fixed, a[5])
}

/// `ppoll(fds, nfds, timeout, sigmask)`: `poll` with a `timespec`.
fn ppoll(p: &Process, fds: u64, count: u64, timeout: u64) -> SysResult {
    let ms = if timeout == 0 { -1 } else { read_timespec(timeout)?.div_ceil(1_000_000) as i64 };
    poll::poll(p, fds, count, ms)
}

/// `futex` for single-threaded processes (partial): a wake finds no
/// waiter; a wait on a changed value returns `EAGAIN`, on an unchanged
/// one sleeps out its timeout (`ETIMEDOUT`) or, with none, could never be
/// woken and returns `EDEADLK`.
fn futex(uaddr: u64, op: u64, val: u64, timeout: u64) -> SysResult {
    const WAIT: u64 = 0;
    const WAKE: u64 = 1;
    const WAIT_BITSET: u64 = 9;
    const WAKE_BITSET: u64 = 10;
    match op & 0x7f {
        WAKE | WAKE_BITSET => Ok(0),
        WAIT | WAIT_BITSET => {
            let v = get(uaddr, 4)?;
            if u32::from_le_bytes([v[0], v[1], v[2], v[3]]) != val as u32 {
                return Err(Errno::EAGAIN);
            }
            if timeout == 0 {
                return Err(Errno::EDEADLK);
            }
            let t = read_timespec(timeout)?;
            sleep_until(if op & 0x7f == WAIT { now_ns().saturating_add(t) } else { t });
            Err(Errno::ETIMEDOUT)
        }
        _ => Err(Errno::ENOSYS),
    }
}

fn uname(out: u64) -> SysResult {
    let mut u = [0u8; 65 * 6];
    for (i, s) in
        ["Linux", "axiom", "6.18.0-axiom", "#1 Axiom", hal::ARCH, "(none)"].iter().enumerate()
    {
        u[65 * i..65 * i + s.len()].copy_from_slice(s.as_bytes());
    }
    put(out, &u).map(|_| 0)
}

fn getcwd(buf: u64, size: u64) -> SysResult {
    if size < 2 {
        return Err(Errno::ERANGE);
    }
    put(buf, b"/\0").map(|_| 2)
}

fn arch_prctl(code: u64, addr: u64) -> SysResult {
    match code {
        // ARCH_SET_FS
        0x1002 => {
            if hal::user::set_thread_pointer(addr) {
                Ok(0)
            } else {
                Err(Errno::EPERM)
            }
        }
        // ARCH_GET_FS
        0x1003 => put(addr, &hal::user::thread_pointer().to_le_bytes()).map(|_| 0),
        _ => Err(Errno::EINVAL),
    }
}

fn sched_getaffinity(len: u64, mask: u64) -> SysResult {
    let cpus = crate::sched::online();
    let bytes = 8usize;
    if (len as usize) < bytes {
        return Err(Errno::EINVAL);
    }
    let bits: u64 = if cpus >= 64 { u64::MAX } else { (1 << cpus) - 1 };
    put(mask, &bits.to_le_bytes()).map(|_| bytes as u64)
}

/// Nanoseconds since boot.
fn now_ns() -> u64 {
    crate::time::cycles_to_ns(hal::cycles())
}

fn timespec(ns: u64) -> [u8; 16] {
    let mut t = [0u8; 16];
    t[..8].copy_from_slice(&(ns / 1_000_000_000).to_le_bytes());
    t[8..].copy_from_slice(&(ns % 1_000_000_000).to_le_bytes());
    t
}

fn clock_gettime(clock: u64, out: u64) -> SysResult {
    // CLOCK_REALTIME (0) counts from boot too: there is no wall clock yet.
    if clock > 11 {
        return Err(Errno::EINVAL);
    }
    put(out, &timespec(now_ns())).map(|_| 0)
}

fn gettimeofday(out: u64) -> SysResult {
    if out == 0 {
        return Ok(0);
    }
    let ns = now_ns();
    let mut t = [0u8; 16];
    t[..8].copy_from_slice(&(ns / 1_000_000_000).to_le_bytes());
    t[8..].copy_from_slice(&((ns % 1_000_000_000) / 1000).to_le_bytes());
    put(out, &t).map(|_| 0)
}

/// Sleeps until the boot-relative time `until` (ns): whole ticks asleep,
/// the last fraction by yielding.
fn sleep_until(until: u64) {
    let tick_ns = 1_000_000_000 / crate::time::HZ;
    loop {
        let now = now_ns();
        if now >= until {
            return;
        }
        let left = until - now;
        if left > tick_ns {
            crate::sched::sleep_ticks(left / tick_ns);
        } else {
            crate::sched::yield_now();
        }
    }
}

fn read_timespec(addr: u64) -> Result<u64, Errno> {
    let t = get(addr, 16)?;
    let sec = i64::from_le_bytes(t[..8].try_into().unwrap_or_default());
    let nsec = i64::from_le_bytes(t[8..].try_into().unwrap_or_default());
    if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
        return Err(Errno::EINVAL);
    }
    Ok((sec as u64).saturating_mul(1_000_000_000).saturating_add(nsec as u64))
}

fn nanosleep(req: u64) -> SysResult {
    let ns = read_timespec(req)?;
    sleep_until(now_ns().saturating_add(ns));
    Ok(0)
}

fn clock_nanosleep(clock: u64, flags: u64, req: u64) -> SysResult {
    if clock > 11 {
        return Err(Errno::EINVAL);
    }
    let t = read_timespec(req)?;
    // TIMER_ABSTIME (1): an absolute time on the (boot-relative) clock.
    let until = if flags & 1 != 0 { t } else { now_ns().saturating_add(t) };
    sleep_until(until);
    Ok(0)
}

fn prlimit64(pid: u64, resource: u64, new: u64, old: u64) -> SysResult {
    if pid != 0 && pid != process::current().map_or(0, |p| p.pid as u64) {
        return Err(Errno::ESRCH);
    }
    if resource > 15 {
        return Err(Errno::EINVAL);
    }
    if new != 0 {
        return Err(Errno::EPERM);
    }
    if old != 0 {
        // RLIMIT_STACK (3): the stack mapped; RLIMIT_NOFILE (7): the fd
        // table's size; the rest unlimited.
        let cur = match resource {
            3 => process::STACK_SIZE,
            7 => crate::file::MAX_FDS as u64,
            _ => u64::MAX,
        };
        let mut r = [0u8; 16];
        r[..8].copy_from_slice(&cur.to_le_bytes());
        r[8..].copy_from_slice(&cur.to_le_bytes());
        put(old, &r)?;
    }
    Ok(0)
}

/// Random bytes from a generator seeded by the cycle counter (not
/// cryptographic: there is no entropy source yet).
fn getrandom(buf: u64, len: u64) -> SysResult {
    let len = len.min(256) as usize;
    let mut x = hal::cycles() ^ 0x9e37_79b9_7f4a_7c15;
    let mut out = vec![0u8; len];
    for b in &mut out {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    put(buf, &out).map(|_| len as u64)
}

/// The kernel's BPF objects.
static BPF: axiom_bpf::registry::Registry = axiom_bpf::registry::Registry::new();

/// Whether the heap can give BPF maps `bytes` more and keep a reserve of
/// 1 MiB for the kernel itself.
pub fn heap_can_spare(bytes: usize) -> bool {
    let free = hal::heap_size().saturating_sub(hal::heap_used());
    bytes.saturating_add(1 << 20) <= free
}

/// The kernel's BPF objects (for its own maps).
pub fn bpf_registry() -> &'static axiom_bpf::registry::Registry {
    &BPF
}

/// The BPF object pinned at `path`.
pub fn bpf_pinned(path: &str) -> Option<axiom_bpf::registry::Object> {
    BPF.pinned_object(path)
}

/// Live BPF maps, programs and links, and pins (for the tests' balance
/// checks).
pub fn bpf_objects_alive() -> (usize, usize, usize, usize) {
    (BPF.live_maps(), BPF.live_progs(), BPF.live_links(), BPF.pinned())
}

/// The hardened configuration (`axiom.harden` on the command line):
/// constant blinding in every program the JIT compiles, as Linux's
/// `bpf_jit_harden=2`.
pub static HARDENED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// The JIT's settings for programs loaded through `bpf()`.
pub fn jit_options() -> axiom_jit::program::JitOptions {
    // A fresh blinding key stream for every program (as Linux draws a
    // random key per constant): the cycle counter and a counter, mixed.
    static COMPILED: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);
    let n = COMPILED.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
    let seed = (hal::cycles() ^ n.rotate_left(32)).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    axiom_jit::program::JitOptions {
        far_helper_calls: true,
        blinding: HARDENED.load(core::sync::atomic::Ordering::Relaxed),
        blinding_seed: seed,
        // LSE atomics where the CPU has them (ARMv8.1), else exclusive
        // load/store loops; x86-64 ignores it.
        aarch64_lse: hal::atomics_lse(),
        ..axiom_jit::program::JitOptions::default()
    }
}

/// The calling process as the `bpf()` command layer sees it.
struct BpfEnv<'a>(&'a Process);

impl axiom_bpf::env::Env for BpfEnv<'_> {
    fn read_user(&self, addr: u64, out: &mut [u8]) -> Result<(), Errno> {
        if copy_from_user(addr, out) { Ok(()) } else { Err(Errno::EFAULT) }
    }
    fn write_user(&self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        put(addr, data)
    }
    fn object(&self, fd: u32) -> Result<axiom_bpf::registry::Object, Errno> {
        self.0.fds.lock().get(fd as u64)?.bpf_object().ok_or(Errno::EINVAL)
    }
    fn install(&mut self, object: axiom_bpf::registry::Object) -> Result<u32, Errno> {
        let fd = self.0.fds.lock().insert(Arc::new(crate::file::BpfFile(object)))?;
        Ok(fd as u32)
    }
    fn memory_ok(&self, bytes: usize) -> bool {
        heap_can_spare(bytes)
    }
    fn load_code(
        &mut self,
        image: axiom_jit::program::JitImage,
    ) -> Result<alloc::boxed::Box<dyn axiom_bpf::object::Code>, Errno> {
        let region = crate::exec::ExecRegion::new(image).map_err(|_| Errno::ENOMEM)?;
        Ok(alloc::boxed::Box::new(region))
    }
    fn jit_options(&self) -> axiom_jit::program::JitOptions {
        jit_options()
    }
    fn now_ns(&self) -> u64 {
        now_ns()
    }
    fn possible_cpus(&self) -> u32 {
        hal::cpu_count() as u32
    }
    fn hook(
        &self,
        attach_type: u32,
        target: u32,
    ) -> Result<&'static axiom_bpf::hook::HookSlot, Errno> {
        crate::hooks::slot(attach_type, target)
    }
}

fn bpf(p: &Process, command: u64, attr: u64, size: u64) -> SysResult {
    let size = u32::try_from(size).map_err(|_| Errno::E2BIG)?;
    BPF.call(&mut BpfEnv(p), command as u32, attr, size)
}
