//! The command layer's tests, through [`Registry::call`] with a fake
//! process: the attribute rules and hostile attributes here, each command
//! family's in the module of the same name.

use crate::env::Env;
use crate::hook::HookSlot;
use crate::object::Code;
use crate::registry::{Object, Registry};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use axiom_abi::hooks;
use axiom_abi::uapi::attr::{
    GetIdAttr, InfoAttr, LinkCreateAttr, LinkDetachAttr, LinkUpdateAttr, MapCreateAttr,
    MapElemAttr, MapInfo, ObjAttr, ProgAttachAttr, ProgLoadAttr, TestRunAttr,
};
use axiom_abi::uapi::errno::Errno;
use axiom_abi::uapi::types::{cmd, map_type as mt};

mod bpffs;
/// Linux's verifier limits through `PROG_LOAD` and `PROG_TEST_RUN`.
mod limits;
mod link;
mod map;
mod prog;

/// A process for the tests: memory at [`BASE`], a descriptor table.
struct Fake {
    mem: Vec<u8>,
    fds: crate::registry::Descriptors,
}

const BASE: u64 = 0x10_0000;

impl Fake {
    fn new() -> Fake {
        Fake::with_memory(64 * 1024)
    }
    /// A process with `bytes` of memory from [`BASE`].
    fn with_memory(bytes: usize) -> Fake {
        Fake { mem: vec![0; bytes], fds: Default::default() }
    }
    fn range(&self, addr: u64, len: usize) -> Result<core::ops::Range<usize>, Errno> {
        let start = addr.checked_sub(BASE).ok_or(Errno::EFAULT)? as usize;
        let end = start.checked_add(len).ok_or(Errno::EFAULT)?;
        if end > self.mem.len() { Err(Errno::EFAULT) } else { Ok(start..end) }
    }
    fn put(&mut self, addr: u64, data: &[u8]) {
        let r = self.range(addr, data.len()).unwrap();
        self.mem[r].copy_from_slice(data);
    }
    fn get(&self, addr: u64, len: usize) -> Vec<u8> {
        self.mem[self.range(addr, len).unwrap()].to_vec()
    }
    /// Calls `bpf(cmd, attr)` with `attr` placed at BASE.
    fn bpf(&mut self, reg: &Registry, command: u32, attr: &[u8]) -> Result<u64, Errno> {
        self.put(BASE, &vec![0u8; 4096]);
        self.put(BASE, attr);
        reg.call(self, command, BASE, attr.len() as u32)
    }
}

impl Env for Fake {
    fn read_user(&self, addr: u64, out: &mut [u8]) -> Result<(), Errno> {
        out.copy_from_slice(&self.mem[self.range(addr, out.len())?]);
        Ok(())
    }
    fn write_user(&self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        // The fake's memory is written through `put` in the tests;
        // here only the range is checked and the bytes stored.
        self.range(addr, data.len())?;
        WRITES.with(|w| w.borrow_mut().push((addr, data.to_vec())));
        Ok(())
    }
    fn object(&self, fd: u32) -> Result<Object, Errno> {
        self.fds.get(fd)
    }
    fn install(&mut self, object: Object) -> Result<u32, Errno> {
        Ok(self.fds.install(object))
    }
    fn memory_ok(&self, bytes: usize) -> bool {
        bytes < 1 << 24
    }
    #[cfg(feature = "host")]
    fn load_code(
        &mut self,
        image: axiom_jit::program::JitImage,
    ) -> Result<alloc::boxed::Box<dyn Code>, Errno> {
        Ok(alloc::boxed::Box::new(crate::host::ExecImage::new(image).map_err(|_| Errno::ENOMEM)?))
    }
    #[cfg(not(feature = "host"))]
    fn load_code(
        &mut self,
        _image: axiom_jit::program::JitImage,
    ) -> Result<alloc::boxed::Box<dyn Code>, Errno> {
        Err(Errno::ENOTSUPP)
    }
    fn jit_options(&self) -> axiom_jit::program::JitOptions {
        axiom_jit::program::JitOptions { far_helper_calls: true, ..Default::default() }
    }
    fn now_ns(&self) -> u64 {
        0
    }
    fn hook(&self, attach: u32, target: u32) -> Result<&'static HookSlot, Errno> {
        match (attach, target) {
            (hooks::attach_type::AXIOM_TICK, 0) => Ok(&TEST_HOOK),
            _ => Err(Errno::EINVAL),
        }
    }
}

/// The hook of the link tests.
static TEST_HOOK: HookSlot = HookSlot::new("test", hooks::prog_type::AXIOM_TICK);

std::thread_local! {
    static WRITES: core::cell::RefCell<Vec<(u64, Vec<u8>)>> = const { core::cell::RefCell::new(Vec::new()) };
}

/// Applies the writes the command layer made to the fake's memory.
fn flush(f: &mut Fake) {
    for (addr, data) in WRITES.with(|w| core::mem::take(&mut *w.borrow_mut())) {
        f.put(addr, &data);
    }
}

fn create(
    f: &mut Fake,
    reg: &Registry,
    kind: u32,
    key: u32,
    value: u32,
    max: u32,
) -> Result<u64, Errno> {
    let mut a = [0u8; MapCreateAttr::SIZE];
    MapCreateAttr {
        map_type: kind,
        key_size: key,
        value_size: value,
        max_entries: max,
        ..Default::default()
    }
    .write_to(&mut a);
    f.bpf(reg, cmd::MAP_CREATE, &a)
}

fn elem(
    f: &mut Fake,
    reg: &Registry,
    command: u32,
    fd: u64,
    key: &[u8],
    value: &[u8],
    flags: u64,
) -> Result<u64, Errno> {
    let (k, v) = (BASE + 0x1000, BASE + 0x2000);
    let mut a = [0u8; MapElemAttr::SIZE];
    // A delete has no value field (Linux: EINVAL if it is set).
    let value_field = if command == cmd::MAP_DELETE_ELEM { 0 } else { v };
    MapElemAttr {
        map_fd: fd as u32,
        key: if key.is_empty() { 0 } else { k },
        value: value_field,
        flags,
    }
    .write_to(&mut a);
    f.put(BASE, &vec![0u8; 4096]);
    f.put(BASE, &a);
    f.put(k, key);
    f.put(v, value);
    let r = reg.call(f, command, BASE, a.len() as u32);
    flush(f);
    r
}

#[test]
fn attribute_sizes_follow_linux() {
    let reg = Registry::new();
    let mut f = Fake::new();
    let mut big = vec![0u8; 4097];
    assert_eq!(f.bpf(&reg, cmd::MAP_CREATE, &big), Err(Errno::E2BIG));
    big.truncate(300);
    big[0] = mt::ARRAY as u8;
    big[4] = 4;
    big[8] = 8;
    big[12] = 1;
    // Zero past what Axiom knows: accepted.
    assert!(f.bpf(&reg, cmd::MAP_CREATE, &big).is_ok());
    // Non-zero past it: E2BIG.
    big[250] = 1;
    assert_eq!(f.bpf(&reg, cmd::MAP_CREATE, &big), Err(Errno::E2BIG));
    // Non-zero past the command's fields: EINVAL.
    let mut a = [0u8; 64];
    a[40] = 1;
    assert_eq!(f.bpf(&reg, cmd::MAP_UPDATE_ELEM, &a), Err(Errno::EINVAL));
    // An attribute the process cannot read: EFAULT.
    assert_eq!(reg.call(&mut f, cmd::MAP_CREATE, 0x10, 16), Err(Errno::EFAULT));
    // Unknown commands: EINVAL.
    assert_eq!(f.bpf(&reg, 9999, &[0u8; 8]), Err(Errno::EINVAL));
}

/// `PROG_LOAD` of `insns` (raw bytes at BASE + 0x1000) as a socket
/// filter, with a log buffer of `log_size` at BASE + 0x4000.
fn load(f: &mut Fake, reg: &Registry, insns: &[u8], log_size: u32) -> Result<u64, Errno> {
    load_type(f, reg, 1, insns, log_size)
}

fn load_type(
    f: &mut Fake,
    reg: &Registry,
    prog_type: u32,
    insns: &[u8],
    log_size: u32,
) -> Result<u64, Errno> {
    let mut a = [0u8; ProgLoadAttr::SIZE];
    ProgLoadAttr {
        prog_type,
        insn_cnt: (insns.len() / 8) as u32,
        insns: BASE + 0x1000,
        license: BASE + 0x3000,
        log_level: u32::from(log_size > 0),
        log_size,
        log_buf: if log_size > 0 { BASE + 0x4000 } else { 0 },
        ..Default::default()
    }
    .write_to(&mut a);
    f.put(BASE, &vec![0u8; 4096]);
    f.put(BASE, &a);
    f.put(BASE + 0x1000, insns);
    f.put(BASE + 0x3000, b"GPL\0");
    let r = reg.call(f, cmd::PROG_LOAD, BASE, a.len() as u32);
    flush(f);
    r
}

#[test]
fn hostile_attributes_never_panic_and_leave_no_objects() {
    let reg = Registry::new();
    let mut f = Fake::new();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..20_000 {
        let command = (next() % 40) as u32;
        let size = (next() % 200) as usize;
        let mut attr = vec![0u8; size];
        for b in attr.iter_mut() {
            let r = next();
            // Mostly small numbers and pointers into the fake's memory.
            *b = match r % 4 {
                0 => 0,
                1 => (r >> 8) as u8 & 7,
                _ => (r >> 16) as u8,
            };
        }
        if size >= 24 && next() % 2 == 0 {
            attr[8..16].copy_from_slice(&(BASE + 0x1000 + next() % 0x4000).to_le_bytes());
            attr[16..24].copy_from_slice(&(BASE + 0x1000 + next() % 0x4000).to_le_bytes());
        }
        let _ = f.bpf(&reg, command, &attr);
        flush(&mut f);
        if f.fds.open() > 37 {
            f.fds.close_all();
        }
    }
    f.fds.close_all();
    // Random pins may hold objects: the file system is emptied first.
    let paths: Vec<alloc::string::String> = reg.pins.lock().keys().cloned().collect();
    for p in paths.iter().rev() {
        let _ = reg.unlink(p, false).or_else(|_| reg.unlink(p, true));
    }
    assert_eq!(reg.live_maps(), 0);
    assert_eq!(reg.live_progs(), 0);
}
