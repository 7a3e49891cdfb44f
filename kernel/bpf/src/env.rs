//! What the command layer asks of the calling process ([`Env`]: its
//! memory, its descriptors, placing code, the clock, the hooks), and the
//! rules every command's attribute follows: Linux's `bpf_attr` size
//! checks, `CHECK_ATTR`, user strings and paths, descriptors of the right
//! kind, info written back as Linux writes it. Every attribute is treated
//! as hostile: bad sizes, fds and pointers are errors with Linux's
//! numbers, never a fault.

use crate::hook::HookSlot;
use crate::object::{Code, MapObject, ProgObject};
use crate::registry::{LinkObject, Object};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use axiom_abi::uapi::attr::{BPF_ATTR_SIZE, GetIdAttr, InfoAttr};
use axiom_abi::uapi::errno::Errno;
use core::mem::offset_of;

/// The largest attribute Linux reads (a page).
pub(crate) const PAGE: usize = 4096;

/// What the command layer needs of the calling process.
pub trait Env {
    /// Copies user memory at `addr` into `out`; `EFAULT` if it cannot.
    fn read_user(&self, addr: u64, out: &mut [u8]) -> Result<(), Errno>;
    /// Copies `data` to user memory at `addr`; `EFAULT` if it cannot.
    fn write_user(&self, addr: u64, data: &[u8]) -> Result<(), Errno>;
    /// The BPF object behind `fd`: `EBADF` if the descriptor is not open,
    /// `EINVAL` if it is not a BPF object.
    fn object(&self, fd: u32) -> Result<Object, Errno>;
    /// A new descriptor for `object`.
    fn install(&mut self, object: Object) -> Result<u32, Errno>;
    /// Whether the kernel can spare `bytes` more for a map (`ENOMEM` if
    /// not).
    fn memory_ok(&self, bytes: usize) -> bool;
    /// Places JIT code (x86-64 or arm64, the platform's own) for running.
    fn load_code(
        &mut self,
        image: axiom_jit::program::JitImage,
    ) -> Result<alloc::boxed::Box<dyn Code>, Errno>;
    /// JIT options for this platform (far helper calls where code lies
    /// far from the helpers).
    fn jit_options(&self) -> axiom_jit::program::JitOptions;
    /// A monotonic clock, ns.
    fn now_ns(&self) -> u64;
    /// CPUs (bounds per-CPU accesses in the verifier).
    fn possible_cpus(&self) -> u32 {
        1
    }
    /// Whether the caller has Linux's `CAP_PERFMON` for the verifier's
    /// purposes (it may read never-written stack, as root may on Linux).
    /// Axiom's kernel has no privilege model yet and says no.
    fn privileged(&self) -> bool {
        false
    }
    /// The hook for `attach_type` and `target` (`EINVAL` if the platform
    /// has no such hook).
    fn hook(&self, _attach_type: u32, _target: u32) -> Result<&'static HookSlot, Errno> {
        Err(Errno::EINVAL)
    }
}

/// The attribute as the command sees it: the caller's bytes, zero-filled
/// to the size Axiom knows.
pub(crate) type Attr = [u8; BPF_ATTR_SIZE];

/// Linux's entry checks: at most a page; bytes beyond what the kernel
/// knows must be zero (`E2BIG`); a short attribute is zero-filled.
pub(crate) fn read_attr(env: &dyn Env, uattr: u64, size: u32) -> Result<Attr, Errno> {
    let size = size as usize;
    if size > PAGE {
        return Err(Errno::E2BIG);
    }
    if size > BPF_ATTR_SIZE {
        let mut tail = vec![0u8; size - BPF_ATTR_SIZE];
        env.read_user(uattr + BPF_ATTR_SIZE as u64, &mut tail)?;
        if tail.iter().any(|&b| b != 0) {
            return Err(Errno::E2BIG);
        }
    }
    let mut attr = [0u8; BPF_ATTR_SIZE];
    env.read_user(uattr, &mut attr[..size.min(BPF_ATTR_SIZE)])?;
    Ok(attr)
}

/// Linux's `CHECK_ATTR`: bytes past the command's last field must be zero.
pub(crate) fn check_attr(attr: &Attr, used: usize) -> Result<(), Errno> {
    if attr[used.min(BPF_ATTR_SIZE)..].iter().any(|&b| b != 0) {
        Err(Errno::EINVAL)
    } else {
        Ok(())
    }
}

/// A NUL-terminated string from user memory, read a byte at a time up to
/// `max` bytes, without its NUL: `Ok(None)` if no NUL came by then.
pub(crate) fn read_user_string(
    env: &dyn Env,
    addr: u64,
    max: usize,
) -> Result<Option<Vec<u8>>, Errno> {
    let mut out = Vec::new();
    let mut b = [0u8; 1];
    for i in 0..max as u64 {
        env.read_user(addr + i, &mut b)?;
        if b[0] == 0 {
            return Ok(Some(out));
        }
        out.push(b[0]);
    }
    Ok(None)
}

/// A NUL-terminated path from user memory (at most 4,096 bytes).
pub(crate) fn read_path(env: &dyn Env, addr: u64) -> Result<String, Errno> {
    let bytes = read_user_string(env, addr, 4096)?.ok_or(Errno::ENAMETOOLONG)?;
    String::from_utf8(bytes).map_err(|_| Errno::ENOENT)
}

/// The map behind `fd`.
pub(crate) fn map_of(env: &dyn Env, fd: u32) -> Result<Arc<MapObject>, Errno> {
    match env.object(fd)? {
        Object::Map(m) => Ok(m.object().clone()),
        _ => Err(Errno::EINVAL),
    }
}

/// The program behind `fd`.
pub(crate) fn prog_of(env: &dyn Env, fd: u32) -> Result<Arc<ProgObject>, Errno> {
    match env.object(fd)? {
        Object::Prog(p) => Ok(p),
        _ => Err(Errno::EINVAL),
    }
}

/// The link behind `fd`: `EINVAL` for other BPF objects.
pub(crate) fn link_of(env: &dyn Env, fd: u32) -> Result<Arc<LinkObject>, Errno> {
    match env.object(fd)? {
        Object::Link(l) => Ok(l),
        _ => Err(Errno::EINVAL),
    }
}

/// `BPF_*_GET_NEXT_ID`'s attribute (`start_id`, then `next_id` written
/// back): the id to start after.
pub(crate) fn next_id_start(attr: &Attr) -> Result<u32, Errno> {
    check_attr(attr, 8)?;
    Ok(GetIdAttr::from_bytes(attr).start_id)
}

/// Writes `BPF_*_GET_NEXT_ID`'s answer to the caller's `next_id`.
pub(crate) fn write_next_id(env: &dyn Env, uattr: u64, next: u32) -> Result<u64, Errno> {
    env.write_user(uattr + offset_of!(GetIdAttr, next_id) as u64, &next.to_le_bytes())?;
    Ok(0)
}

/// Writes an object's info (`bytes`) as Linux does: the caller's buffer
/// may be larger than what Axiom fills (its tail must then be zero, else
/// `E2BIG`) or smaller (what fits is written); `info_len` is set to what
/// was written.
pub(crate) fn write_info(
    env: &mut dyn Env,
    uattr: u64,
    a: &InfoAttr,
    bytes: &[u8],
) -> Result<u64, Errno> {
    let len = a.info_len as usize;
    if len > PAGE {
        return Err(Errno::E2BIG);
    }
    if len > bytes.len() {
        let mut tail = vec![0u8; len - bytes.len()];
        env.read_user(a.info + bytes.len() as u64, &mut tail)?;
        if tail.iter().any(|&b| b != 0) {
            return Err(Errno::E2BIG);
        }
    }
    let len = len.min(bytes.len());
    env.write_user(a.info, &bytes[..len])?;
    env.write_user(uattr + 4, &(len as u32).to_le_bytes())?;
    Ok(0)
}
