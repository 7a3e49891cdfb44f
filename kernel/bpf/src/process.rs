//! A host process as a caller of the `bpf()` command layer: the same
//! [`Registry::call`] the kernel's system call runs, over a process of
//! its own (what `axbpf --backend axiom` and the tests load into). Each
//! call's attribute and the buffers behind its pointer fields are laid
//! out in a private arena of "user memory" at [`BASE`], so a bad pointer
//! in an attribute is `EFAULT`, never a read of this process's memory;
//! descriptors are numbers in its own table; JIT code is placed with
//! [`ExecImage`]; helpers are the callable table's, the clock is this
//! process's. Loads are privileged, as root's are on Linux.

use crate::env::Env;
use crate::host::{ExecImage, host_jit_options};
use crate::object::Code;
use crate::registry::{Descriptors, Object, Registry};
use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
pub use axiom_abi::remote::Dir;
use axiom_abi::uapi::errno::Errno;
use axiom_jit::program::{JitImage, JitOptions};
use core::cell::RefCell;

/// Where the arena of user memory begins.
pub const BASE: u64 = 0x1000_0000;

/// One buffer behind a pointer field of a call (how every caller of a
/// `bpf()` outside the kernel describes one: `axbpf`'s transports too).
pub struct UserBuf {
    /// 0: the pointer field is in the attribute; `k`: in buffer `k - 1`.
    pub parent: u16,
    /// The pointer field's byte offset in its parent.
    pub offset: u32,
    /// Which way the bytes go (a remote transport sends only what it
    /// must; this process copies every buffer both ways).
    pub dir: Dir,
    /// The bytes: in for the kernel, and room for what comes back.
    pub data: Vec<u8>,
}

impl UserBuf {
    /// Bytes for the kernel, behind the attribute's field at `offset`.
    pub fn input(offset: u32, data: &[u8]) -> UserBuf {
        UserBuf { parent: 0, offset, dir: Dir::In, data: data.to_vec() }
    }

    /// Room for `len` bytes from the kernel, behind the attribute's field
    /// at `offset`.
    pub fn output(offset: u32, len: usize) -> UserBuf {
        UserBuf { parent: 0, offset, dir: Dir::Out, data: vec![0; len] }
    }
}

/// Writes buffer `i`'s address (`addresses[i]`; 0 for an empty buffer)
/// into its pointer field, in the attribute or in an earlier buffer:
/// `EINVAL` for a field outside its parent or a parent that is not
/// earlier.
pub fn place_pointers(
    attr: &mut [u8],
    bufs: &mut [UserBuf],
    addresses: &[u64],
) -> Result<(), Errno> {
    for i in 0..bufs.len() {
        let address = if bufs[i].data.is_empty() { 0 } else { addresses[i] };
        let (parent, offset) = (bufs[i].parent as usize, bufs[i].offset as usize);
        let target: &mut [u8] = match parent {
            0 => attr,
            k if k <= i => &mut bufs[k - 1].data,
            _ => return Err(Errno::EINVAL),
        };
        let field = target.get_mut(offset..offset.saturating_add(8)).ok_or(Errno::EINVAL)?;
        field.copy_from_slice(&address.to_ne_bytes());
    }
    Ok(())
}

/// A process with its own BPF objects.
pub struct Process {
    registry: Registry,
    user: User,
}

/// The process as the command layer's caller: its user memory (the
/// arena of the call in progress) and its descriptors.
struct User {
    mem: RefCell<Vec<u8>>,
    fds: Descriptors,
}

impl Default for Process {
    fn default() -> Self {
        Process::new()
    }
}

impl Process {
    /// A process with no objects.
    pub fn new() -> Process {
        // Descriptors 0-2 are taken, as in any process.
        let user = User { mem: RefCell::new(Vec::new()), fds: Descriptors::default() };
        Process { registry: Registry::new(), user }
    }

    /// `bpf(cmd, attr)` with `bufs` behind the attribute's pointer fields
    /// (a buffer's own pointer fields may point to later ones): the
    /// result, with `attr` and every buffer as the call left them.
    pub fn call(&mut self, cmd: u32, attr: &mut [u8], bufs: &mut [UserBuf]) -> Result<u64, Errno> {
        // The layout: the attribute at BASE, then each buffer, 8-aligned.
        let mut at = Vec::with_capacity(bufs.len());
        let mut end = (attr.len() as u64).next_multiple_of(8);
        for b in bufs.iter() {
            at.push(BASE + end);
            end += (b.data.len() as u64).next_multiple_of(8);
        }
        place_pointers(attr, bufs, &at)?;
        {
            let mut mem = self.user.mem.borrow_mut();
            mem.clear();
            mem.resize(end as usize, 0);
            mem[..attr.len()].copy_from_slice(attr);
            for (b, &a) in bufs.iter().zip(&at) {
                let start = (a - BASE) as usize;
                mem[start..start + b.data.len()].copy_from_slice(&b.data);
            }
        }
        let r = self.registry.call(&mut self.user, cmd, BASE, attr.len() as u32);
        let mem = self.user.mem.borrow();
        attr.copy_from_slice(&mem[..attr.len()]);
        for (b, &a) in bufs.iter_mut().zip(&at) {
            let start = (a - BASE) as usize;
            let n = b.data.len();
            b.data.copy_from_slice(&mem[start..start + n]);
        }
        r
    }

    /// Closes descriptor `fd`.
    pub fn close(&mut self, fd: u32) -> Result<(), Errno> {
        self.user.fds.close(fd)
    }

    /// Removes a pin (a path under the BPF file system).
    pub fn unlink(&mut self, path: &str) -> Result<(), Errno> {
        self.registry.unlink(path, false)
    }

    /// The objects this process's kernel holds: maps and programs.
    pub fn live(&self) -> (usize, usize) {
        (self.registry.live_maps(), self.registry.live_progs())
    }
}

impl User {
    fn range(&self, addr: u64, len: usize) -> Result<core::ops::Range<usize>, Errno> {
        let start = addr.checked_sub(BASE).ok_or(Errno::EFAULT)? as usize;
        let end = start.checked_add(len).ok_or(Errno::EFAULT)?;
        if end > self.mem.borrow().len() { Err(Errno::EFAULT) } else { Ok(start..end) }
    }
}

impl Env for User {
    fn read_user(&self, addr: u64, out: &mut [u8]) -> Result<(), Errno> {
        let r = self.range(addr, out.len())?;
        out.copy_from_slice(&self.mem.borrow()[r]);
        Ok(())
    }
    fn write_user(&self, addr: u64, data: &[u8]) -> Result<(), Errno> {
        let r = self.range(addr, data.len())?;
        self.mem.borrow_mut()[r].copy_from_slice(data);
        Ok(())
    }
    fn object(&self, fd: u32) -> Result<Object, Errno> {
        self.fds.get(fd)
    }
    fn install(&mut self, object: Object) -> Result<u32, Errno> {
        Ok(self.fds.install(object))
    }
    fn memory_ok(&self, _bytes: usize) -> bool {
        true
    }
    fn load_code(&mut self, image: JitImage) -> Result<Box<dyn Code>, Errno> {
        Ok(Box::new(ExecImage::new(image).map_err(|_| Errno::ENOMEM)?))
    }
    fn jit_options(&self) -> JitOptions {
        // Helpers are this binary's functions, wherever the mapping lands:
        // calls that reach any address.
        JitOptions { far_helper_calls: true, ..host_jit_options() }
    }
    fn now_ns(&self) -> u64 {
        crate::platform::now_ns()
    }
    fn possible_cpus(&self) -> u32 {
        // Programs run on the calling thread: one CPU's slot.
        1
    }
    fn privileged(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axiom_abi::uapi::attr::{ProgLoadAttr, TestRunAttr};
    use axiom_abi::uapi::types::{cmd, prog_type};

    /// Loads `text` as a socket filter through `PROG_LOAD`: its fd, or
    /// the errno and the log.
    fn load(p: &mut Process, text: &str) -> Result<u32, (Errno, String)> {
        let insns: Vec<u8> = axiom_abi::asm::assemble(text)
            .expect("assembles")
            .iter()
            .flat_map(|i| i.to_bytes())
            .collect();
        let mut attr = vec![0u8; ProgLoadAttr::SIZE];
        ProgLoadAttr {
            prog_type: prog_type::SOCKET_FILTER,
            insn_cnt: (insns.len() / 8) as u32,
            log_level: 1,
            log_size: 4096,
            ..Default::default()
        }
        .write_to(&mut attr);
        let insns_at = core::mem::offset_of!(ProgLoadAttr, insns) as u32;
        let license_at = core::mem::offset_of!(ProgLoadAttr, license) as u32;
        let log_at = core::mem::offset_of!(ProgLoadAttr, log_buf) as u32;
        let mut bufs = [
            UserBuf::input(insns_at, &insns),
            UserBuf::input(license_at, b"GPL\0"),
            UserBuf::output(log_at, 4096),
        ];
        match p.call(cmd::PROG_LOAD, &mut attr, &mut bufs) {
            Ok(fd) => Ok(fd as u32),
            Err(e) => {
                let log = String::from_utf8_lossy(&bufs[2].data);
                Err((e, log.trim_end_matches('\0').to_string()))
            }
        }
    }

    /// A test run of `fd` on `frame`: the program's return value.
    fn run(p: &mut Process, fd: u32, frame: &[u8]) -> u32 {
        let mut attr = vec![0u8; TestRunAttr::SIZE];
        TestRunAttr { prog_fd: fd, data_size_in: frame.len() as u32, ..Default::default() }
            .write_to(&mut attr);
        let data_at = core::mem::offset_of!(TestRunAttr, data_in) as u32;
        let mut bufs = [UserBuf::input(data_at, frame)];
        p.call(cmd::PROG_TEST_RUN, &mut attr, &mut bufs).expect("test run");
        TestRunAttr::from_bytes(&attr).retval
    }

    /// The three helpers the verifier allowed and no platform had code for
    /// (a load failed with `ENOTSUPP`) load and run through the command
    /// layer, with Linux's results.
    #[test]
    fn prandom_trace_printk_and_skb_load_bytes_load_and_run() {
        let mut p = Process::new();
        // Two draws differ (1 in 2^32 that they do not).
        let fd = load(&mut p, "call 7\nmov %r6, %r0\ncall 7\njne %r0, %r6, differ\nmov %r0, 0\nexit\ndiffer:\nmov %r0, 1\nexit").unwrap();
        assert_eq!(run(&mut p, fd, &[0; 14]), 1);
        // "ok %d\n" with 42: 6 bytes written; a `%s` is refused (-EINVAL).
        let printk = |fmt: &str| {
            let mut text = String::new();
            for (i, b) in fmt.bytes().chain([0]).enumerate() {
                text += &format!("stb [%r10-{}], {b}\n", 16 - i);
            }
            text + "mov %r1, %r10\nadd %r1, -16\nmov %r2, 8\nmov %r3, 42\ncall 6\nexit"
        };
        let fd = load(&mut p, &printk("ok %d\n")).unwrap();
        assert_eq!(run(&mut p, fd, &[0; 14]), 6);
        let fd = load(&mut p, &printk("ok %s\n")).unwrap();
        assert_eq!(run(&mut p, fd, &[0; 14]) as i32, -22);
        // Bytes 2..4 of the packet after its Ethernet header; past the end,
        // -EFAULT.
        let skb = |off: i32| {
            format!(
                "mov %r2, {off}\nmov %r3, %r10\nadd %r3, -8\nmov %r4, 2\ncall 26\n\
                 jne %r0, 0, out\nldxh %r0, [%r10-8]\nout:\nexit"
            )
        };
        let mut frame = vec![0u8; 14];
        frame.extend([1, 2, 0x34, 0x12, 5]);
        let fd = load(&mut p, &skb(2)).unwrap();
        assert_eq!(run(&mut p, fd, &frame), 0x1234);
        let fd = load(&mut p, &skb(4)).unwrap();
        assert_eq!(run(&mut p, fd, &frame) as i32, -14);
        assert_eq!(p.live().1, 5, "five programs held by their descriptors");
    }

    #[test]
    fn a_refusal_comes_back_with_the_log_and_a_bad_pointer_is_efault() {
        let mut p = Process::new();
        let (e, log) = load(&mut p, "ldxdw %r0, [%r1+1000]\nexit").unwrap_err();
        assert_eq!(e, Errno::EACCES, "{log}");
        assert!(log.contains("invalid bpf_context access off=1000 size=8"), "{log}");
        // Root may read stack it never wrote, as on Linux.
        assert_eq!(load(&mut p, "ldxdw %r0, [%r10-8]\nexit"), Ok(3), "the first free descriptor");
        // A pointer field the arena does not hold.
        let mut attr = vec![0u8; ProgLoadAttr::SIZE];
        ProgLoadAttr {
            prog_type: 1,
            insn_cnt: 2,
            insns: 0x1234,
            license: 0x10,
            ..Default::default()
        }
        .write_to(&mut attr);
        assert_eq!(p.call(cmd::PROG_LOAD, &mut attr, &mut []), Err(Errno::EFAULT));
        assert_eq!(p.close(99), Err(Errno::EBADF));
    }
}
