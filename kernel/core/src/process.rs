//! Processes: a program's address space (its own lower half, the
//! kernel's upper half), its memory regions (segments, stack, `brk` heap,
//! `mmap` areas), its file descriptors, the task running it, and its exit
//! status. A process is created from an [`Image`] (`elf`'s), runs in user
//! mode, enters the kernel through system calls, and ends by `exit` or by
//! a fault, which ends only it.

use crate::elf::Image;
use crate::file::{FdTable, File};
use crate::memory;
use crate::paging::{AddressSpace, NO_EXECUTE, USER, WRITABLE};
use crate::sched;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use axiom_abi::uapi::errno::Errno;
use axiom_hal as hal;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// A process id.
pub type Pid = u32;

/// Where a new process's stack ends.
pub const STACK_TOP: u64 = 0x0000_7fff_ffff_0000;
/// Stack bytes mapped for a new process.
pub const STACK_SIZE: u64 = 256 * 1024;
/// Where `mmap` areas start (they grow down from here).
pub const MMAP_TOP: u64 = 0x0000_7f00_0000_0000;
/// Programs and their `brk` heaps stay below this (1 TiB under the
/// `mmap` areas).
pub const PROGRAM_TOP: u64 = MMAP_TOP - (1 << 40);
/// The most a process's standard output is kept for inspection.
const OUTPUT_KEPT: usize = 64 * 1024;
const PAGE: u64 = 4096;

/// What a program's start-up code finds on its stack besides arguments.
#[derive(Default)]
pub struct StartInfo {
    /// `AT_PHDR`, `AT_PHENT`, `AT_PHNUM`.
    pub phdr: (u64, u64, u64),
    /// `AT_EXECFN`: the path it was started from.
    pub path: String,
}

/// Why a process could not be made.
#[derive(Debug, PartialEq, Eq)]
pub enum SpawnError {
    /// A segment outside user space, or overlapping the stack.
    BadImage,
    /// Out of frames or task slots.
    OutOfMemory,
}

/// A process's memory.
pub struct Mm {
    /// Its page tables (the lower half its own); `None` once freed.
    space: Option<AddressSpace>,
    /// Where the `brk` heap starts and ends now.
    brk_start: u64,
    brk: u64,
    /// `mmap` areas: start → length.
    areas: BTreeMap<u64, u64>,
    /// The areas among them that map a file's pages (not the process's
    /// own frames): start → what keeps those pages alive.
    shared: BTreeMap<u64, SharedArea>,
}

/// Pages of a file mapped into a process (a BPF ring buffer's).
#[derive(Clone)]
struct SharedArea {
    len: u64,
    /// The mapped file: its pages stay while any part is mapped (held,
    /// never read).
    #[allow(dead_code)]
    file: Arc<dyn File>,
    /// Whether `mprotect` may make it writable.
    may_write: bool,
}

/// What the kernel keeps of a process.
pub struct Process {
    /// Its id.
    pub pid: Pid,
    /// Its name (the program's).
    pub name: String,
    /// Its memory.
    mm: spin::Mutex<Mm>,
    /// Its open files.
    pub fds: spin::Mutex<FdTable>,
    /// The exit status, once it ended (`u64::MAX` while it runs).
    status: AtomicU64,
    /// Bytes it wrote to its standard output and error.
    pub written: AtomicU64,
    /// The first bytes of that output, for the kernel's tests.
    output: spin::Mutex<Vec<u8>>,
    /// Its task.
    task: AtomicU32,
    /// Where its task starts: the page-table root, the entry point, the
    /// stack pointer; and whether it has.
    start: (u64, u64, u64),
    started: core::sync::atomic::AtomicBool,
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

/// Forgets an ended process (its status was collected).
pub fn reap(pid: Pid) -> Option<i32> {
    let mut table = PROCESSES.lock();
    let status = table.get(&pid)?.exit_status()?;
    table.remove(&pid);
    Some(status)
}

impl Process {
    /// Its exit status, once it has ended.
    pub fn exit_status(&self) -> Option<i32> {
        let s = self.status.load(Ordering::Acquire);
        (s != u64::MAX).then_some(s as i32)
    }

    /// Records output it wrote to standard output or error.
    pub fn record_output(&self, data: &[u8]) {
        self.written.fetch_add(data.len() as u64, Ordering::Relaxed);
        let mut out = self.output.lock();
        let room = OUTPUT_KEPT.saturating_sub(out.len());
        out.extend_from_slice(&data[..data.len().min(room)]);
    }

    /// The first 64 KiB of what it wrote to standard output and error.
    pub fn output(&self) -> Vec<u8> {
        self.output.lock().clone()
    }

    /// `brk(addr)`: moves the end of the heap (new pages zeroed); returns
    /// the end, unchanged if the request cannot be met (Linux's contract).
    pub fn brk(&self, addr: u64) -> u64 {
        let mut mm = self.mm.lock();
        let (start, cur) = (mm.brk_start, mm.brk);
        if addr < start || addr > PROGRAM_TOP {
            return cur;
        }
        let (old_end, new_end) = (cur.next_multiple_of(PAGE), addr.next_multiple_of(PAGE));
        if new_end > old_end {
            let Mm { space, .. } = &mut *mm;
            let Some(space) = space.as_mut() else { return cur };
            let ok = memory::with(|m| {
                map_bytes(m, space, old_end, &[], new_end - old_end, WRITABLE | NO_EXECUTE)
            })
            .flatten();
            if ok.is_none() {
                return cur;
            }
        } else if new_end < old_end {
            unmap_range(&mut mm, new_end, old_end - new_end);
        }
        mm.brk = addr;
        addr
    }

    /// `mmap` of anonymous memory: `len` bytes of zeroed pages with
    /// `prot` (PROT_READ 1, PROT_WRITE 2, PROT_EXEC 4), at `hint` if it is
    /// free and `fixed`, else below the lowest area.
    pub fn mmap_anonymous(
        &self,
        hint: u64,
        len: u64,
        prot: u64,
        fixed: bool,
    ) -> Result<u64, Errno> {
        if len == 0 || len > MMAP_TOP / 2 {
            return Err(Errno::EINVAL);
        }
        let len = len.next_multiple_of(PAGE);
        let mut mm = self.mm.lock();
        let addr = place(&mut mm, hint, len, fixed)?;
        let flags = prot_flags(prot);
        let Mm { space, areas, .. } = &mut *mm;
        let space = space.as_mut().ok_or(Errno::ENOMEM)?;
        memory::with(|m| map_bytes(m, space, addr, &[], len, flags))
            .flatten()
            .ok_or(Errno::ENOMEM)?;
        areas.insert(addr, len);
        Ok(addr)
    }

    /// `mmap(MAP_SHARED)` of `file`: its pages `offset / 4096` onwards
    /// (the file says which frames, and whether a writable mapping of
    /// them is allowed), `len` bytes with `prot`.
    pub fn mmap_file(
        &self,
        file: Arc<dyn File>,
        hint: u64,
        len: u64,
        prot: u64,
        fixed: bool,
        offset: u64,
    ) -> Result<u64, Errno> {
        if len == 0 || len > MMAP_TOP / 2 || !offset.is_multiple_of(PAGE) {
            return Err(Errno::EINVAL);
        }
        let len = len.next_multiple_of(PAGE);
        let write = prot & 2 != 0;
        let frames = file.mmap_frames(offset / PAGE, len / PAGE, write)?;
        let mut mm = self.mm.lock();
        let addr = place(&mut mm, hint, len, fixed)?;
        let Mm { space, areas, shared, .. } = &mut *mm;
        let space = space.as_mut().ok_or(Errno::ENOMEM)?;
        let flags = prot_flags(prot) | USER;
        let mapped = memory::with(|m| {
            frames.iter().enumerate().try_for_each(|(i, &phys)| {
                space.map(&mut m.frames, addr + i as u64 * PAGE, phys, flags)
            })
        })
        .flatten();
        areas.insert(addr, len);
        shared.insert(addr, SharedArea { len, file, may_write: write });
        if mapped.is_none() {
            unmap_range(&mut mm, addr, len);
            return Err(Errno::ENOMEM);
        }
        Ok(addr)
    }

    /// `munmap`: frees the pages of `[addr, addr + len)`.
    pub fn munmap(&self, addr: u64, len: u64) -> Result<(), Errno> {
        if !addr.is_multiple_of(PAGE)
            || len == 0
            || addr.checked_add(len).is_none_or(|e| e > hal::user::USER_TOP)
        {
            return Err(Errno::EINVAL);
        }
        let mut mm = self.mm.lock();
        unmap_range(&mut mm, addr, len.next_multiple_of(PAGE));
        Ok(())
    }

    /// `mprotect`: new rights for the mapped pages of the range.
    pub fn mprotect(&self, addr: u64, len: u64, prot: u64) -> Result<(), Errno> {
        if !addr.is_multiple_of(PAGE)
            || addr.checked_add(len).is_none_or(|e| e > hal::user::USER_TOP)
        {
            return Err(Errno::EINVAL);
        }
        let mm = self.mm.lock();
        let space = mm.space.as_ref().ok_or(Errno::ENOMEM)?;
        let flags = prot_flags(prot);
        // A read-only mapping of a file stays read-only (Linux: EACCES).
        if prot & 2 != 0
            && mm.shared.range(..addr + len).any(|(&a, s)| a + s.len > addr && !s.may_write)
        {
            return Err(Errno::EACCES);
        }
        let mut page = addr;
        while page < addr + len {
            if space.translate(page).is_none() {
                return Err(Errno::ENOMEM);
            }
            // No access at all: the page stays, out of the user's reach.
            let f = if prot & 7 == 0 { flags & !USER } else { flags };
            space.protect(page, f);
            page += PAGE;
        }
        hal::smp::flush_tlb_everywhere();
        Ok(())
    }
}

/// Page flags for `mmap`/`mprotect` rights.
fn prot_flags(prot: u64) -> u64 {
    USER | if prot & 2 != 0 { WRITABLE } else { 0 } | if prot & 4 != 0 { 0 } else { NO_EXECUTE }
}

/// Where a new `mmap` area of `len` bytes goes: at `hint` if `fixed`
/// (replacing what was there), else below the lowest area.
fn place(mm: &mut Mm, hint: u64, len: u64, fixed: bool) -> Result<u64, Errno> {
    if fixed {
        if !hint.is_multiple_of(PAGE)
            || hint < PAGE
            || hint.checked_add(len).is_none_or(|e| e > MMAP_TOP)
        {
            return Err(Errno::EINVAL);
        }
        unmap_range(mm, hint, len);
        return Ok(hint);
    }
    let lowest = mm.areas.keys().next().copied().unwrap_or(MMAP_TOP);
    lowest
        .checked_sub(len)
        .filter(|&a| a > mm.brk.next_multiple_of(PAGE) + (1 << 30))
        .ok_or(Errno::ENOMEM)
}

/// Unmaps the pages of `[addr, addr + len)`, frees those the process
/// owns (not a file's), and trims the areas.
fn unmap_range(mm: &mut Mm, addr: u64, len: u64) {
    let end = addr + len;
    let shared: Vec<(u64, u64)> =
        mm.shared.range(..end).map(|(&a, s)| (a, s.len)).filter(|&(a, l)| a + l > addr).collect();
    if let Some(space) = mm.space.as_ref() {
        memory::with(|m| {
            let mut page = addr;
            while page < end {
                if let Some((phys, _)) = space.translate(page) {
                    space.unmap(page);
                    if !shared.iter().any(|&(a, l)| (a..a + l).contains(&page)) {
                        m.frames.free(phys & !(PAGE - 1));
                    }
                }
                page += PAGE;
            }
        });
        hal::smp::flush_tlb_everywhere();
    }
    trim(&mut mm.areas, addr, end, |&l| l, |_, l| l);
    trim(&mut mm.shared, addr, end, |s| s.len, |s, len| SharedArea { len, ..s.clone() });
}

/// Cuts `[addr, end)` out of the areas of `map` (start → area): those
/// overlapping it shrink or split (`with_len` makes a piece).
fn trim<T>(
    map: &mut BTreeMap<u64, T>,
    addr: u64,
    end: u64,
    len_of: impl Fn(&T) -> u64,
    with_len: impl Fn(&T, u64) -> T,
) {
    let overlapping: Vec<u64> =
        map.range(..end).filter(|(a, t)| **a + len_of(t) > addr).map(|(&a, _)| a).collect();
    for a in overlapping {
        let Some(t) = map.remove(&a) else { continue };
        let l = len_of(&t);
        if a < addr {
            map.insert(a, with_len(&t, addr - a));
        }
        if a + l > end {
            map.insert(end, with_len(&t, a + l - end));
        }
    }
}

/// Maps `len` bytes of fresh zeroed pages at `vaddr` in `space` with
/// `flags`, copying `bytes` to the start; pages already mapped (a
/// segment sharing a page with the previous one) get the union of rights.
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
                let nx = old & flags & NO_EXECUTE;
                let merged = ((old | flags) & !NO_EXECUTE) | nx;
                space.protect(page, merged)?;
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

/// The initial stack: argc, argv, envp, the auxiliary vector and the
/// strings they point to, ending at `top`; returns its bytes and the
/// stack pointer (16-byte aligned, at argc).
fn initial_stack(
    top: u64,
    args: &[&str],
    env: &[&str],
    start: &StartInfo,
    entry: u64,
) -> (Vec<u8>, u64) {
    // Strings and the 16 AT_RANDOM bytes, packed down from the top.
    let mut blob: Vec<u8> = Vec::new();
    let mut offsets = Vec::new();
    for s in args.iter().chain(env.iter()).chain([&start.path.as_str(), &hal::ARCH]) {
        offsets.push(blob.len());
        blob.extend_from_slice(s.as_bytes());
        blob.push(0);
    }
    let random_at = blob.len();
    let seed = hal::cycles();
    for i in 0..16u64 {
        blob.push((seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(i as u32 * 8) >> 56) as u8);
    }
    let blob_start = (top - blob.len() as u64) & !15;
    let addr_of = |i: usize| blob_start + offsets[i] as u64;
    let n = args.len() + env.len();
    let auxv: [(u64, u64); 13] = [
        (3, start.phdr.0),
        (4, start.phdr.1),
        (5, start.phdr.2),
        (6, PAGE),
        (7, 0),
        (9, entry),
        (11, 0),
        (12, 0),
        (13, 0),
        (14, 0),
        (25, blob_start + random_at as u64),
        (31, addr_of(n)),
        (15, addr_of(n + 1)),
    ];
    let mut words: Vec<u64> = Vec::new();
    words.push(args.len() as u64);
    words.extend((0..args.len()).map(addr_of));
    words.push(0);
    words.extend((args.len()..n).map(addr_of));
    words.push(0);
    for (k, v) in auxv {
        words.extend([k, v]);
    }
    words.extend([0, 0]);
    let sp = (blob_start - 8 * words.len() as u64) & !15;
    let mut bytes = alloc::vec![0u8; (top - sp) as usize];
    for (i, w) in words.iter().enumerate() {
        bytes[8 * i..8 * i + 8].copy_from_slice(&w.to_le_bytes());
    }
    let at = (blob_start - sp) as usize;
    bytes[at..at + blob.len()].copy_from_slice(&blob);
    (bytes, sp)
}

/// Starts `image` as a new process called `name` with arguments `args`
/// and environment `env`.
pub fn spawn(
    name: &str,
    image: Image,
    start: StartInfo,
    args: &[&str],
    env: &[&str],
) -> Result<Pid, SpawnError> {
    let mut data_end = 0;
    for s in &image.segments {
        let end = s.vaddr.checked_add(s.memsz).ok_or(SpawnError::BadImage)?;
        if s.vaddr < PAGE || end > PROGRAM_TOP || (s.bytes.len() as u64) > s.memsz {
            return Err(SpawnError::BadImage);
        }
        data_end = data_end.max(end);
    }
    let (stack, sp) = initial_stack(STACK_TOP, args, env, &start, image.entry);
    if stack.len() as u64 > STACK_SIZE / 2 {
        return Err(SpawnError::BadImage);
    }
    let space = memory::with(|m| -> Option<AddressSpace> {
        let mut space = AddressSpace::new_user(&mut m.frames, &m.space)?;
        let built = (|| {
            for s in &image.segments {
                let flags =
                    USER | if s.write { WRITABLE } else { 0 } | if s.exec { 0 } else { NO_EXECUTE };
                map_bytes(m, &mut space, s.vaddr, s.bytes, s.memsz, flags)?;
            }
            map_bytes(
                m,
                &mut space,
                STACK_TOP - STACK_SIZE,
                &[],
                STACK_SIZE,
                WRITABLE | NO_EXECUTE,
            )?;
            map_bytes(m, &mut space, sp, &stack, stack.len() as u64, WRITABLE | NO_EXECUTE)
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
    let brk_start = data_end.next_multiple_of(PAGE);
    let process = Arc::new(Process {
        pid,
        name: String::from(name),
        mm: spin::Mutex::new(Mm {
            space: Some(space),
            brk_start,
            brk: brk_start,
            areas: BTreeMap::new(),
            shared: BTreeMap::new(),
        }),
        fds: spin::Mutex::new(FdTable::with_console()),
        status: AtomicU64::new(u64::MAX),
        written: AtomicU64::new(0),
        output: spin::Mutex::new(Vec::new()),
        task: AtomicU32::new(0),
        start: (root, image.entry, sp),
        started: core::sync::atomic::AtomicBool::new(false),
    });
    PROCESSES.lock().insert(pid, process.clone());
    // The task's body captures nothing (a zero-sized closure allocates
    // nothing): a user task never returns from its body, so what a body
    // owned would never be freed (32 bytes a process, found by the soak).
    match sched::spawn(name, start_user) {
        Some(id) => {
            process.task.store(id as u32, Ordering::Release);
            Ok(pid)
        }
        None => {
            release(&process);
            PROCESSES.lock().remove(&pid);
            Err(SpawnError::OutOfMemory)
        }
    }
}

/// Starts the executable at `path` in the initramfs.
pub fn spawn_path(path: &str, args: &[&str], env: &[&str]) -> Result<Pid, Errno> {
    let bytes = crate::fs::lookup(path).ok_or(Errno::ENOENT)?;
    let program = crate::elf::load(bytes).map_err(|_| Errno::ENOEXEC)?;
    let start =
        StartInfo { phdr: (program.phdr, program.phent, program.phnum), path: String::from(path) };
    let name = path.rsplit('/').next().unwrap_or(path);
    spawn(name, program.image, start, args, env).map_err(|e| match e {
        SpawnError::BadImage => Errno::ENOEXEC,
        SpawnError::OutOfMemory => Errno::ENOMEM,
    })
}

/// A new process's task: finds its process (the one not yet started
/// whose task this is: the spawner records the task just after creating
/// it, so another CPU may get here first and wait a turn), then goes into
/// its address space and user mode.
fn start_user() {
    let me = sched::current() as u32;
    let (pid, (root, entry, sp)) = loop {
        let found = PROCESSES
            .lock()
            .values()
            .find(|p| p.task.load(Ordering::Acquire) == me && !p.started.load(Ordering::Acquire))
            .map(|p| {
                p.started.store(true, Ordering::Release);
                (p.pid, p.start)
            });
        if let Some(f) = found {
            break f;
        }
        sched::yield_now();
    };
    TASK_PID[sched::current()].store(pid, Ordering::Release);
    sched::set_root(root);
    hal::user::enter(entry, sp, 0)
}

/// Frees a process's memory (its task no longer runs in it).
fn release(p: &Process) {
    let space = {
        let mut mm = p.mm.lock();
        // A file's pages go back to the file, not to the frame allocator.
        let shared: Vec<(u64, u64)> = mm.shared.iter().map(|(&a, s)| (a, s.len)).collect();
        for (a, l) in shared {
            unmap_range(&mut mm, a, l);
        }
        mm.space.take()
    };
    if let Some(mut space) = space {
        memory::with(|m| {
            space.free_user_half(&mut m.frames);
            m.frames.free(space.pml4);
        });
    }
    *p.fds.lock() = FdTable::default();
}

/// Ends the running process with `status`.
pub fn exit(status: i32) -> ! {
    // In a block: `sched::exit` never returns, so nothing held across it
    // is ever dropped (a held process would never be freed).
    {
        let me = current();
        TASK_PID[sched::current()].store(0, Ordering::Release);
        sched::set_root(0);
        if let Some(p) = me {
            release(&p);
            p.status.store(status as u32 as u64, Ordering::Release);
        }
    }
    sched::exit()
}

/// A user program faulted: it ends, the kernel goes on.
pub fn fault(f: &hal::UserFault) {
    {
        let name = current().map_or(String::from("?"), |p| p.name.clone());
        println!(
            "axiom: process `{name}` killed: exception {} at {:#x} (address {:#x}, error {:#x})",
            f.vector, f.pc, f.address, f.error
        );
    }
    hal::enable_interrupts();
    // 128 + SIGSEGV, as a shell reports it.
    exit(139)
}
