//! Copying between the kernel and user memory, for every architecture:
//! every page is checked in the live page tables first (present, user,
//! writable for writes), so a bad pointer is an error, never a kernel
//! fault.
#![allow(unsafe_code)]

use crate::paging::{USER, WRITABLE};
use crate::user::USER_TOP;

/// Whether the page at `virt` is mapped for user access (and writable,
/// if `write`) in the live page tables.
fn user_page(virt: u64, write: bool) -> bool {
    let need = USER | if write { WRITABLE } else { 0 };
    // Every level must grant it, the leaf and the tables above.
    crate::paging::lookup(virt).is_some_and(|(_, flags)| flags & need == need)
}

/// Whether `[addr, addr + len)` is user memory, every page mapped.
fn user_range(addr: u64, len: usize, write: bool) -> bool {
    let Some(end) = addr.checked_add(len as u64) else { return false };
    if end > USER_TOP {
        return false;
    }
    let mut page = addr & !0xfff;
    while page < end {
        if !user_page(page, write) {
            return false;
        }
        page += 4096;
    }
    true
}

/// Copies `out.len()` bytes from user address `addr`; `false` (`EFAULT`)
/// if any of it is not readable user memory.
pub fn copy_from_user(addr: u64, out: &mut [u8]) -> bool {
    if out.is_empty() {
        return true;
    }
    if !user_range(addr, out.len(), false) {
        return false;
    }
    // SAFETY: every page of the range is mapped, present and user-readable
    // in the live tables (checked just above; only this process's own
    // threads could change them, and unmapping goes through the kernel,
    // which this thread is in).
    unsafe { core::ptr::copy_nonoverlapping(addr as *const u8, out.as_mut_ptr(), out.len()) };
    true
}

/// Copies `data` to user address `addr`; `false` (`EFAULT`) if any of it
/// is not writable user memory.
pub fn copy_to_user(addr: u64, data: &[u8]) -> bool {
    if data.is_empty() {
        return true;
    }
    if !user_range(addr, data.len(), true) {
        return false;
    }
    // SAFETY: as in `copy_from_user`, for writable user pages.
    unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), addr as *mut u8, data.len()) };
    true
}
