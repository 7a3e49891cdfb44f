//! Processes: a program's address space (its own lower half, the
//! kernel's upper half), the task running it, and its exit status. A
//! process is created from an [`Image`] (segments and an entry point),
//! runs in user mode, enters the kernel through system calls, and ends by
//! `exit` or by a fault, which ends only it.

use crate::memory;
use crate::paging::{AddressSpace, NO_EXECUTE, USER, WRITABLE};
use crate::sched::{self, TaskId};
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use axiom_hal as hal;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// A process id.
pub type Pid = u32;

/// Where a new process's stack ends, and its size.
pub const STACK_TOP: u64 = 0x0000_7fff_ffff_0000;
/// Stack bytes mapped for a new process.
pub const STACK_SIZE: u64 = 128 * 1024;
const PAGE: u64 = 4096;

/// One loadable piece of a program.
pub struct Segment {
    /// Where it goes.
    pub vaddr: u64,
    /// Its initial bytes (the rest up to `memsz` is zero).
    pub bytes: Vec<u8>,
    /// Its size in memory.
    pub memsz: u64,
    /// Writable.
    pub write: bool,
    /// Executable.
    pub exec: bool,
}

/// A program ready to load.
pub struct Image {
    /// Its segments.
    pub segments: Vec<Segment>,
    /// Where it starts.
    pub entry: u64,
}

/// Why a process could not be made.
#[derive(Debug, PartialEq, Eq)]
pub enum SpawnError {
    /// A segment outside user space, or overlapping the stack.
    BadImage,
    /// Out of frames or task slots.
    OutOfMemory,
}

/// What the kernel keeps of a process.
pub struct Process {
    /// Its id.
    pub pid: Pid,
    /// Its name (the program's).
    pub name: String,
    /// Its page tables (the lower half its own).
    space: spin::Mutex<Option<AddressSpace>>,
    /// The exit status, once it ended (`u64::MAX` while it runs).
    status: AtomicU64,
    /// Bytes it wrote to its standard output and error.
    pub written: AtomicU64,
    /// Its task.
    task: AtomicU32,
}

static PROCESSES: spin::Mutex<BTreeMap<Pid, Arc<Process>>> = spin::Mutex::new(BTreeMap::new());
static NEXT_PID: AtomicU32 = AtomicU32::new(1);
/// The process each task runs (0: a kernel task).
static TASK_PID: [AtomicU32; sched::MAX_TASKS] = [const { AtomicU32::new(0) }; sched::MAX_TASKS];

/// The process the running task belongs to.
pub fn current() -> Option<Arc<Process>> {
    let pid = TASK_PID[sched::current()].load(Ordering::Acquire);
    if pid == 0 { None } else { PROCESSES.lock().get(&pid).cloned() }
}

/// Process `pid`, running or ended.
pub fn get(pid: Pid) -> Option<Arc<Process>> {
    PROCESSES.lock().get(&pid).cloned()
}

impl Process {
    /// Its exit status, once it has ended.
    pub fn exit_status(&self) -> Option<i32> {
        let s = self.status.load(Ordering::Acquire);
        (s != u64::MAX).then_some(s as i32)
    }
}

/// Maps `len` bytes of fresh zeroed pages at `vaddr` in `space` with
/// `flags`, copying `bytes` to the start; pages already mapped (a
/// segment sharing a page with the previous one) get the union of flags.
fn map_bytes(
    m: &mut memory::Memory,
    space: &mut AddressSpace,
    vaddr: u64,
    bytes: &[u8],
    len: u64,
    flags: u64,
) -> Option<()> {
    let start = vaddr & !(PAGE - 1);
    let end = vaddr.checked_add(len)?.next_multiple_of(PAGE);
    let mut page = start;
    while page < end {
        let frame = match space.translate(page) {
            Some((phys, old)) => {
                let merged = (old | flags) & !NO_EXECUTE | (old & flags & NO_EXECUTE);
                space.protect(page, merged & !1)?;
                phys & !(PAGE - 1)
            }
            None => {
                let f = m.frames.alloc()?;
                hal::exec::write_frame(f, 0, &[0u8; PAGE as usize]);
                space.map(&mut m.frames, page, f, flags | USER)?;
                f
            }
        };
        // The part of `bytes` that falls in this page.
        let (lo, hi) = (page.max(vaddr), (page + PAGE).min(vaddr + bytes.len() as u64));
        if lo < hi {
            let from = (lo - vaddr) as usize..(hi - vaddr) as usize;
            hal::exec::write_frame(frame, (lo - page) as usize, &bytes[from]);
        }
        page += PAGE;
    }
    Some(())
}

/// Starts `image` as a new process called `name`.
pub fn spawn(name: &str, image: Image) -> Result<Pid, SpawnError> {
    for s in &image.segments {
        let end = s.vaddr.checked_add(s.memsz).ok_or(SpawnError::BadImage)?;
        if s.vaddr < PAGE || end > STACK_TOP - STACK_SIZE || (s.bytes.len() as u64) > s.memsz {
            return Err(SpawnError::BadImage);
        }
    }
    let space = memory::with(|m| -> Option<AddressSpace> {
        let mut space = AddressSpace::new_user(&mut m.frames, &m.space)?;
        let built = (|| {
            for s in &image.segments {
                let flags =
                    USER | if s.write { WRITABLE } else { 0 } | if s.exec { 0 } else { NO_EXECUTE };
                map_bytes(m, &mut space, s.vaddr, &s.bytes, s.memsz, flags)?;
            }
            map_bytes(m, &mut space, STACK_TOP - STACK_SIZE, &[], STACK_SIZE, WRITABLE | NO_EXECUTE)
        })();
        if built.is_none() {
            space.free_user_half(&mut m.frames);
            m.frames.free(space.pml4);
            return None;
        }
        Some(space)
    })
    .flatten()
    .ok_or(SpawnError::OutOfMemory)?;
    let pid = NEXT_PID.fetch_add(1, Ordering::Relaxed);
    let root = space.pml4;
    let process = Arc::new(Process {
        pid,
        name: String::from(name),
        space: spin::Mutex::new(Some(space)),
        status: AtomicU64::new(u64::MAX),
        written: AtomicU64::new(0),
        task: AtomicU32::new(0),
    });
    PROCESSES.lock().insert(pid, process.clone());
    let entry = image.entry;
    let task = sched::spawn(name, move || run(pid, root, entry));
    match task {
        Some(id) => {
            process.task.store(id as u32, Ordering::Relaxed);
            Ok(pid)
        }
        None => {
            release(&process);
            PROCESSES.lock().remove(&pid);
            Err(SpawnError::OutOfMemory)
        }
    }
}

/// The process's task: into its address space, then user mode.
fn run(pid: Pid, root: u64, entry: u64) {
    TASK_PID[sched::current()].store(pid, Ordering::Release);
    sched::set_root(root);
    // A 16-byte aligned stack with argc = 0, argv and envp empty, no auxv.
    let sp = STACK_TOP - 64;
    hal::user::enter(entry, sp, 0)
}

/// Frees a process's memory (its task no longer runs in it).
fn release(p: &Process) {
    if let Some(mut space) = p.space.lock().take() {
        memory::with(|m| {
            space.free_user_half(&mut m.frames);
            m.frames.free(space.pml4);
        });
    }
}

/// Ends the running process with `status`.
pub fn exit(status: i32) -> ! {
    let me = current();
    let id: TaskId = sched::current();
    TASK_PID[id].store(0, Ordering::Release);
    sched::set_root(0);
    if let Some(p) = me {
        p.status.store(status as u32 as u64, Ordering::Release);
        release(&p);
    }
    sched::exit()
}

/// A user program faulted: it ends, the kernel goes on.
pub fn fault(f: &hal::UserFault) {
    let name = current().map_or(String::from("?"), |p| p.name.clone());
    println!(
        "axiom: process `{name}` killed: exception {} at {:#x} (address {:#x}, error {:#x})",
        f.vector, f.rip, f.address, f.error
    );
    hal::enable_interrupts();
    // 128 + SIGSEGV, as a shell reports it.
    exit(139)
}
