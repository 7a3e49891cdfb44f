//! Copies to and from the calling process's memory: `EFAULT` where its
//! pages do not allow the access (hal's `copy_from_user` and
//! `copy_to_user` check the live tables).

use alloc::vec;
use alloc::vec::Vec;
use axiom_abi::uapi::errno::Errno;
use axiom_hal::user::{copy_from_user, copy_to_user};

/// Reads `len` bytes of user memory.
pub(crate) fn get(addr: u64, len: usize) -> Result<Vec<u8>, Errno> {
    let mut v = vec![0u8; len];
    if copy_from_user(addr, &mut v) { Ok(v) } else { Err(Errno::EFAULT) }
}

/// Writes to user memory.
pub(crate) fn put(addr: u64, data: &[u8]) -> Result<(), Errno> {
    if copy_to_user(addr, data) { Ok(()) } else { Err(Errno::EFAULT) }
}
