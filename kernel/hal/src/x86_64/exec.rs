//! Calling JIT-compiled code. The kernel places code in pages it maps
//! read+execute (never writable at the same time, through any mapping);
//! [`Placed::seal`] checks, by walking the live page tables, that every
//! page of the range is present, read-only and executable before the
//! code can be called.
#![allow(unsafe_code)]

use super::paging::{WRITABLE, lookup};

pub use crate::placed::Placed;

/// Nothing to do before running new code here (x86-64 keeps
/// instruction fetch coherent with data writes).
pub(crate) fn code_barrier() {}

/// Writes `bytes` at `offset` in the physical frame `frame`, through the
/// physical map, where the frame is writable (a frame not yet holding
/// code).
pub fn write_frame(frame: u64, offset: usize, bytes: &[u8]) {
    assert!(frame.is_multiple_of(4096) && offset + bytes.len() <= 4096, "write outside the frame");
    let virt = super::phys_to_virt(frame);
    let (phys, flags) = lookup(virt).expect("frame not in the physical map");
    assert!(flags & WRITABLE != 0 && phys == frame, "frame not writable in the physical map");
    // SAFETY: the physical map holds `frame` writable (checked above), the
    // write stays inside it, and the kernel owns the frame it allocated.
    unsafe {
        core::ptr::copy_nonoverlapping(
            bytes.as_ptr(),
            (virt + offset as u64) as *mut u8,
            bytes.len(),
        )
    };
}
