//! The host Linux kernel as an oracle: conformance programs loaded through
//! the real `bpf()` and run with `BPF_PROG_TEST_RUN`.
//!
//! Linux hands a socket filter its context in `r1` and returns only 32 bits
//! of `r0`, so each program runs as a bpf-to-bpf callee of a small wrapper:
//! the wrapper points `r1` at a one-element array map holding the input
//! memory, sets `r2` to its length, calls the program, and stores the full
//! 64-bit `r0` in a second array map, which is read back afterwards.

use crate::conformance::TestCase;
use axiom_abi::Insn;
use std::os::fd::{AsRawFd, OwnedFd};

mod sys;

pub use sys::Errno;

/// `bpf_cmd` numbers used here.
mod cmd {
    pub const MAP_CREATE: u32 = 0;
    pub const MAP_LOOKUP_ELEM: u32 = 1;
    pub const MAP_UPDATE_ELEM: u32 = 2;
    pub const PROG_LOAD: u32 = 5;
    pub const PROG_TEST_RUN: u32 = 10;
    pub const OBJ_GET_INFO_BY_FD: u32 = 15;
    pub const MAP_FREEZE: u32 = 22;
}

const BPF_MAP_TYPE_HASH: u32 = 1;
const BPF_MAP_TYPE_ARRAY: u32 = 2;
const BPF_PROG_TYPE_SOCKET_FILTER: u32 = 1;

/// A `union bpf_attr` under construction: Linux's layout, written by offset.
struct Attr([u8; 128]);

impl Attr {
    fn new() -> Self {
        Self([0; 128])
    }
    fn u32(mut self, off: usize, v: u32) -> Self {
        self.0[off..off + 4].copy_from_slice(&v.to_ne_bytes());
        self
    }
    fn u64(mut self, off: usize, v: u64) -> Self {
        self.0[off..off + 8].copy_from_slice(&v.to_ne_bytes());
        self
    }
    fn get_u32(&self, off: usize) -> u32 {
        u32::from_ne_bytes(self.0[off..off + 4].try_into().unwrap())
    }
}

/// A one-element array map.
fn array_map(value_size: u32) -> Result<OwnedFd, Errno> {
    // map_type @0, key_size @4, value_size @8, max_entries @12
    let attr = Attr::new().u32(0, BPF_MAP_TYPE_ARRAY).u32(4, 4).u32(8, value_size).u32(12, 1);
    sys::bpf_fd(cmd::MAP_CREATE, &mut attr.0.clone())
}

fn map_update(map: &OwnedFd, value: &[u8]) -> Result<(), Errno> {
    let key = 0u32;
    // map_fd @0, key @8, value @16, flags @24
    let attr = Attr::new()
        .u32(0, map.as_raw_fd() as u32)
        .u64(8, &key as *const u32 as u64)
        .u64(16, value.as_ptr() as u64);
    sys::bpf(cmd::MAP_UPDATE_ELEM, &mut attr.0.clone()).map(|_| ())
}

fn map_lookup(map: &OwnedFd, value: &mut [u8]) -> Result<(), Errno> {
    let key = 0u32;
    let attr = Attr::new()
        .u32(0, map.as_raw_fd() as u32)
        .u64(8, &key as *const u32 as u64)
        .u64(16, value.as_mut_ptr() as u64);
    sys::bpf(cmd::MAP_LOOKUP_ELEM, &mut attr.0.clone()).map(|_| ())
}

/// A program Linux's verifier refused, with its log.
#[derive(Debug)]
pub struct Refused {
    /// The errno of `BPF_PROG_LOAD`.
    pub errno: Errno,
    /// The verifier log's reason line.
    pub log: String,
}

fn prog_load(slots: &[Insn]) -> Result<OwnedFd, Refused> {
    load_program_type(BPF_PROG_TYPE_SOCKET_FILTER, slots)
}

/// Loads `slots` as a program of type `prog_type` (GPL). Without a log
/// first (what a timed load should be); on failure again with one, for the
/// verifier's reason.
pub fn load_program_type(prog_type: u32, slots: &[Insn]) -> Result<OwnedFd, Refused> {
    prog_load_logged(prog_type, slots, 0).or_else(|_| prog_load_logged(prog_type, slots, 1))
}

/// Creates a map; returns its fd.
pub fn create_map(
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
) -> Result<OwnedFd, Errno> {
    let attr =
        Attr::new().u32(0, map_type).u32(4, key_size).u32(8, value_size).u32(12, max_entries);
    sys::bpf_fd(cmd::MAP_CREATE, &mut attr.0.clone())
}

fn prog_load_logged(prog_type: u32, slots: &[Insn], log_level: u32) -> Result<OwnedFd, Refused> {
    let bytes: Vec<u8> = slots.iter().flat_map(|i| i.to_bytes()).collect();
    let license = c"GPL";
    let mut log = vec![0u8; if log_level > 0 { 1 << 22 } else { 0 }];
    // prog_type @0, insn_cnt @4, insns @8, license @16, log_level @24,
    // log_size @28, log_buf @32
    let attr = Attr::new()
        .u32(0, prog_type)
        .u32(4, slots.len() as u32)
        .u64(8, bytes.as_ptr() as u64)
        .u64(16, license.as_ptr() as u64)
        .u32(24, log_level)
        .u32(28, log.len() as u32)
        .u64(32, if log.is_empty() { 0 } else { log.as_mut_ptr() as u64 });
    sys::bpf_fd(cmd::PROG_LOAD, &mut attr.0.clone()).map_err(|errno| {
        let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
        let text = String::from_utf8_lossy(&log[..end]);
        Refused { errno, log: reason_line(&text) }
    })
}

fn test_run(prog: &OwnedFd) -> Result<u32, Errno> {
    test_run_repeat(prog, 1).map(|(retval, _)| retval)
}

/// Runs a loaded program `repeat` times; returns its 32-bit return value and
/// the kernel's mean run time in nanoseconds.
fn test_run_repeat(prog: &OwnedFd, repeat: u32) -> Result<(u32, u32), Errno> {
    // Socket filters need at least an Ethernet header of packet data.
    let data = [0u8; 64];
    // prog_fd @0, retval @4, data_size_in @8, data_in @16, repeat @32,
    // duration @36
    let mut attr = Attr::new()
        .u32(0, prog.as_raw_fd() as u32)
        .u32(8, data.len() as u32)
        .u64(16, data.as_ptr() as u64)
        .u32(32, repeat);
    sys::bpf(cmd::PROG_TEST_RUN, &mut attr.0)?;
    Ok((attr.get_u32(4), attr.get_u32(36)))
}

/// Whether this process may load and run BPF programs; `Err` says why not.
pub fn available() -> Result<(), String> {
    let exit = [Insn::new(0xb7, 0, 0, 0, 0), Insn::new(0x95, 0, 0, 0, 0)];
    match prog_load(&exit) {
        Ok(fd) => test_run(&fd).map(|_| ()).map_err(|e| format!("BPF_PROG_TEST_RUN refused: {e}")),
        Err(r) => Err(format!("bpf(BPF_PROG_LOAD) refused: {} {}", r.errno, r.log)),
    }
}

/// The host kernel's release (`uname -r`): the oracle's version, to be
/// printed with every verdict it gives.
pub fn release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// Where Linux's BPF file system is expected.
pub const BPFFS: &str = "/sys/fs/bpf";

/// Whether a BPF file system (type `bpf`, not merely a directory) is
/// mounted at [`BPFFS`], as pins need; the reason where it is not.
/// `cargo xtask setup` mounts one when it runs as root.
pub fn bpffs() -> Result<(), String> {
    let mounts = std::fs::read_to_string("/proc/self/mounts")
        .map_err(|e| format!("/proc/self/mounts: {e}"))?;
    if bpffs_in(&mounts, BPFFS) {
        Ok(())
    } else {
        Err(format!(
            "no BPF file system mounted at {BPFFS} (`cargo xtask setup` mounts one as root)"
        ))
    }
}

/// Whether the mount table `mounts` (`/proc/self/mounts` text) has a
/// file system of type `bpf` mounted at `dir` (the last mount there wins).
pub fn bpffs_in(mounts: &str, dir: &str) -> bool {
    mounts
        .lines()
        .rev()
        .find_map(|l| {
            let mut f = l.split_whitespace();
            let (_, at, kind) = (f.next()?, f.next()?, f.next()?);
            (at == dir).then_some(kind == "bpf")
        })
        .unwrap_or(false)
}

/// What Linux did with one conformance program.
#[derive(Debug)]
pub enum LinuxOutcome {
    /// It loaded and ran.
    Ran {
        /// The full 64-bit `r0`.
        r0: u64,
        /// The input memory as the program left it.
        mem: Vec<u8>,
    },
    /// The verifier refused it.
    Refused(Refused),
    /// Something else failed (map creation, test run).
    Failed(String),
}

/// The wrapper's slots before the program: `r1 = &mem`, `r2 = len`, call,
/// store `r0` in the result map, `return 0`.
pub fn wrap(mem_fd: Option<i32>, len: usize, result_fd: i32, body: &[Insn]) -> Vec<Insn> {
    let lddw_value = |dst: u8, fd: i32| [Insn::new(0x18, dst, 2, 0, fd), Insn::new(0, 0, 0, 0, 0)];
    let mut w = Vec::new();
    match mem_fd {
        Some(fd) => w.extend(lddw_value(1, fd)),
        None => w.extend([Insn::new(0xb7, 1, 0, 0, 0), Insn::new(0xb7, 1, 0, 0, 0)]),
    }
    w.push(Insn::new(0xb7, 2, 0, 0, len as i32)); // r2 = len
    let call_at = w.len();
    w.push(Insn::default()); // call, patched below
    w.extend(lddw_value(6, result_fd)); // r6 = &result
    w.push(Insn::new(0x7b, 6, 0, 0, 0)); // *(u64 *)(r6 + 0) = r0
    w.push(Insn::new(0xb7, 0, 0, 0, 0)); // r0 = 0
    w.push(Insn::new(0x95, 0, 0, 0, 0)); // exit
    let rel = (w.len() - call_at - 1) as i32;
    w[call_at] = Insn::new(0x85, 0, 1, 0, rel);
    w.extend_from_slice(body);
    w
}

/// Times for one case on Linux.
#[derive(Clone, Copy, Debug)]
pub struct LinuxTiming {
    /// Wall time of `BPF_PROG_LOAD` (verification and JIT) of the wrapped
    /// program.
    pub load: std::time::Duration,
    /// The kernel's mean run time over the repeats, in nanoseconds.
    pub run_ns: u32,
}

/// Loads one case on the host kernel, timing the load, and runs it `repeat`
/// times; `None` if Linux refuses it.
pub fn time_case(case: &TestCase, repeat: u32) -> Option<LinuxTiming> {
    let body = case.program().ok()?;
    let result = array_map(8).ok()?;
    let mem = if case.mem.is_empty() {
        None
    } else {
        let m = array_map(case.mem.len() as u32).ok()?;
        map_update(&m, &case.mem).ok()?;
        Some(m)
    };
    let slots =
        wrap(mem.as_ref().map(|m| m.as_raw_fd()), case.mem.len(), result.as_raw_fd(), &body);
    let start = std::time::Instant::now();
    let prog = prog_load(&slots).ok()?;
    let load = start.elapsed();
    let (_, run_ns) = test_run_repeat(&prog, repeat).ok()?;
    Some(LinuxTiming { load, run_ns })
}

/// Loads and runs one conformance case on the host kernel.
pub fn run_case(case: &TestCase) -> LinuxOutcome {
    let body = match case.program() {
        Ok(p) => p,
        Err(e) => return LinuxOutcome::Failed(e.to_string()),
    };
    let result = match array_map(8) {
        Ok(m) => m,
        Err(e) => return LinuxOutcome::Failed(format!("result map: {e}")),
    };
    let mem = if case.mem.is_empty() {
        None
    } else {
        let m = match array_map(case.mem.len() as u32) {
            Ok(m) => m,
            Err(e) => return LinuxOutcome::Failed(format!("memory map: {e}")),
        };
        if let Err(e) = map_update(&m, &case.mem) {
            return LinuxOutcome::Failed(format!("memory map update: {e}"));
        }
        Some(m)
    };
    let slots =
        wrap(mem.as_ref().map(|m| m.as_raw_fd()), case.mem.len(), result.as_raw_fd(), &body);
    let prog = match prog_load(&slots) {
        Ok(p) => p,
        Err(r) => return LinuxOutcome::Refused(r),
    };
    if let Err(e) = test_run(&prog) {
        return LinuxOutcome::Failed(format!("test run: {e}"));
    }
    let mut out = [0u8; 8];
    if let Err(e) = map_lookup(&result, &mut out) {
        return LinuxOutcome::Failed(format!("result lookup: {e}"));
    }
    let mut after = case.mem.clone();
    if let Some(m) = &mem
        && let Err(e) = map_lookup(m, &mut after)
    {
        return LinuxOutcome::Failed(format!("memory lookup: {e}"));
    }
    LinuxOutcome::Ran { r0: u64::from_ne_bytes(out), mem: after }
}

/// In a program given to [`load_program`], the `imm` of a `lddw` map-fd
/// instruction that refers to the hash map.
pub const HASH_MAP_PLACEHOLDER: i32 = -1;

/// A program loaded into Linux with its maps, for benchmarks.
pub struct LinuxProg {
    prog: OwnedFd,
    result: OwnedFd,
    _mem: Option<OwnedFd>,
    _hash: Option<OwnedFd>,
    /// Wall time of `BPF_PROG_LOAD`.
    pub load_time: std::time::Duration,
    /// The program as loaded (the wrapper and the body).
    pub wrapped: Vec<Insn>,
}

/// A hash map (`u32` keys, `u64` values) filled with `entries`.
fn hash_map(entries: &[(u32, u64)]) -> Result<OwnedFd, Errno> {
    let attr = Attr::new()
        .u32(0, BPF_MAP_TYPE_HASH)
        .u32(4, 4)
        .u32(8, 8)
        .u32(12, entries.len().max(1) as u32);
    let map = sys::bpf_fd(cmd::MAP_CREATE, &mut attr.0.clone())?;
    for (k, v) in entries {
        let attr = Attr::new()
            .u32(0, map.as_raw_fd() as u32)
            .u64(8, k as *const u32 as u64)
            .u64(16, v as *const u64 as u64);
        sys::bpf(cmd::MAP_UPDATE_ELEM, &mut attr.0.clone())?;
    }
    Ok(map)
}

/// Loads `body` the way the conformance programs are loaded (as a callee of
/// a wrapper that passes `mem` and keeps the 64-bit `r0`), with an optional
/// hash map that `lddw` instructions with [`HASH_MAP_PLACEHOLDER`] name.
pub fn load_program(
    body: &[Insn],
    mem: &[u8],
    hash: Option<&[(u32, u64)]>,
) -> Result<LinuxProg, String> {
    let result = array_map(8).map_err(|e| format!("result map: {e}"))?;
    let mem_map = if mem.is_empty() {
        None
    } else {
        let m = array_map(mem.len() as u32).map_err(|e| format!("memory map: {e}"))?;
        map_update(&m, mem).map_err(|e| format!("memory map update: {e}"))?;
        Some(m)
    };
    let hash_map = match hash {
        Some(entries) => Some(hash_map(entries).map_err(|e| format!("hash map: {e}"))?),
        None => None,
    };
    let mut body = body.to_vec();
    if let Some(h) = &hash_map {
        for i in body.iter_mut() {
            if i.code == 0x18 && i.src == 1 && i.imm == HASH_MAP_PLACEHOLDER {
                i.imm = h.as_raw_fd();
            }
        }
    }
    let wrapped =
        wrap(mem_map.as_ref().map(|m| m.as_raw_fd()), mem.len(), result.as_raw_fd(), &body);
    let start = std::time::Instant::now();
    let prog = prog_load(&wrapped).map_err(|r| format!("refused: {} {}", r.errno, r.log))?;
    let load_time = start.elapsed();
    Ok(LinuxProg { prog, result, _mem: mem_map, _hash: hash_map, load_time, wrapped })
}

impl LinuxProg {
    /// Runs the program `repeat` times in the kernel; returns the kernel's
    /// mean time per run in nanoseconds (it includes `BPF_PROG_TEST_RUN`'s
    /// own per-run loop overhead and the wrapper's few instructions).
    pub fn run(&self, repeat: u32) -> Result<u32, Errno> {
        test_run_repeat(&self.prog, repeat).map(|(_, ns)| ns)
    }

    /// The full 64-bit `r0` of the last run.
    pub fn r0(&self) -> Result<u64, Errno> {
        let mut out = [0u8; 8];
        map_lookup(&self.result, &mut out)?;
        Ok(u64::from_ne_bytes(out))
    }

    /// `jited_prog_len` from `BPF_OBJ_GET_INFO_BY_FD`: bytes of native code
    /// of all the program's functions.
    pub fn jited_len(&self) -> Result<u32, Errno> {
        let mut info = [0u8; 256];
        let mut attr = Attr::new()
            .u32(0, self.prog.as_raw_fd() as u32)
            .u32(4, info.len() as u32)
            .u64(8, info.as_mut_ptr() as u64);
        sys::bpf(cmd::OBJ_GET_INFO_BY_FD, &mut attr.0)?;
        // struct bpf_prog_info: type, id, tag[8], jited_prog_len at 16.
        Ok(u32::from_ne_bytes(info[16..20].try_into().unwrap()))
    }
}

/// The reason in a verifier log: the last line that is not the closing
/// statistics or a state dump. (Some messages lack their newline, so the
/// statistics can follow on the same line.)
pub fn reason_line(log: &str) -> String {
    let line = log
        .lines()
        .map(|l| match l.find("processed ") {
            Some(at) if l[at..].contains(" insns (limit ") => &l[..at],
            _ => l,
        })
        .rev()
        .find(|l| {
            let l = l.trim();
            !l.is_empty()
                && !l.starts_with("old state:")
                && !l.starts_with("cur state:")
                && !l.starts_with("verification time")
                && !l.starts_with("stack depth")
        });
    line.unwrap_or("(empty log)").trim_end().to_string()
}

/// The host's number of possible CPUs (Linux's `nr_cpu_ids`), from
/// `/sys/devices/system/cpu/possible` (for example `0-1`).
pub fn possible_cpus() -> Option<u32> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/possible").ok()?;
    let last = text.trim().rsplit([',', '-']).next()?;
    last.parse::<u32>().ok().map(|n| n + 1)
}

/// Linux's own measure of its verification of `slots`, in microseconds:
/// the `verification time N usec` line of a `BPF_LOG_STATS` (level 4) log.
/// `None` when the load fails or the line is missing.
pub fn verification_time_us(prog_type: u32, slots: &[Insn]) -> Option<u64> {
    let bytes: Vec<u8> = slots.iter().flat_map(|i| i.to_bytes()).collect();
    let license = c"GPL";
    let mut log = vec![0u8; 4096];
    let attr = Attr::new()
        .u32(0, prog_type)
        .u32(4, slots.len() as u32)
        .u64(8, bytes.as_ptr() as u64)
        .u64(16, license.as_ptr() as u64)
        .u32(24, 4)
        .u32(28, log.len() as u32)
        .u64(32, log.as_mut_ptr() as u64);
    let _fd = sys::bpf_fd(cmd::PROG_LOAD, &mut attr.0.clone()).ok()?;
    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
    let text = String::from_utf8_lossy(&log[..end]);
    let line = text.lines().find_map(|l| l.strip_prefix("verification time "))?;
    line.split_whitespace().next()?.parse().ok()
}

/// Loads `slots` with a log of `log_level`; returns the errno (0 when
/// loaded) and the whole log, for comparing logs line by line.
pub fn load_with_log(prog_type: u32, slots: &[Insn], log_level: u32) -> (i32, String) {
    let bytes: Vec<u8> = slots.iter().flat_map(|i| i.to_bytes()).collect();
    let license = c"GPL";
    let mut log = vec![0u8; 1 << 20];
    let attr = Attr::new()
        .u32(0, prog_type)
        .u32(4, slots.len() as u32)
        .u64(8, bytes.as_ptr() as u64)
        .u64(16, license.as_ptr() as u64)
        .u32(24, log_level)
        .u32(28, log.len() as u32)
        .u64(32, log.as_mut_ptr() as u64);
    let errno = match sys::bpf_fd(cmd::PROG_LOAD, &mut attr.0.clone()) {
        Ok(_) => 0,
        Err(e) => e.0,
    };
    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
    (errno, String::from_utf8_lossy(&log[..end]).into_owned())
}

/// Creates the maps of a loaded object in the host kernel, as libbpf
/// would: global data arrays filled with their initial contents and
/// read-only ones frozen. Returns the fds by map index.
pub fn create_object_maps(maps: &[axiom_loader::MapDef]) -> Result<Vec<OwnedFd>, String> {
    let mut fds = Vec::new();
    for m in maps {
        // map_type @0, key_size @4, value_size @8, max_entries @12,
        // map_flags @16
        let attr = Attr::new()
            .u32(0, m.map_type)
            .u32(4, m.key_size)
            .u32(8, m.value_size)
            .u32(12, m.max_entries)
            .u32(16, m.flags);
        let fd = sys::bpf_fd(cmd::MAP_CREATE, &mut attr.0.clone())
            .map_err(|e| format!("map `{}`: {e}", m.name))?;
        if let axiom_loader::MapOrigin::Data { init, frozen } = &m.origin {
            map_update(&fd, init).map_err(|e| format!("map `{}` init: {e}", m.name))?;
            if *frozen {
                let attr = Attr::new().u32(0, fd.as_raw_fd() as u32);
                sys::bpf(cmd::MAP_FREEZE, &mut attr.0.clone())
                    .map_err(|e| format!("map `{}` freeze: {e}", m.name))?;
            }
        }
        fds.push(fd);
    }
    Ok(fds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bpffs_is_known_by_its_type_not_its_directory() {
        let sysfs = "sysfs /sys sysfs rw 0 0\n";
        assert!(!bpffs_in(sysfs, BPFFS), "the directory alone is not a bpffs");
        let mounted = format!("{sysfs}bpf /sys/fs/bpf bpf rw,relatime 0 0\n");
        assert!(bpffs_in(&mounted, BPFFS));
        let covered = format!("{mounted}tmpfs /sys/fs/bpf tmpfs rw 0 0\n");
        assert!(!bpffs_in(&covered, BPFFS), "a later mount hides the bpffs");
        assert!(!bpffs_in("bpf /sys/fs/bpf/sub bpf rw 0 0\n", BPFFS));
    }
}
