//! Calling JIT-compiled code. The kernel places code in pages it maps
//! read+execute (never writable at the same time, through any mapping);
//! [`Placed::seal`] checks, by walking the live page tables, that every
//! page of the range is present, read-only and executable before the
//! code can be called. arm64's instruction cache is not coherent with
//! data writes: [`write_frame`] cleans what it wrote to the point of
//! unification and invalidates the instruction cache over it.
#![allow(unsafe_code)]

use super::paging::{WRITABLE, lookup};

pub use crate::placed::Placed;

/// A context synchronisation, so this CPU fetches new instructions (the
/// caches were maintained when they were written).
pub(crate) fn code_barrier() {
    // SAFETY: `isb` only synchronises the instruction stream.
    unsafe { core::arch::asm!("isb", options(nostack)) };
}

/// The smallest cache line (CTR_EL0's DminLine and IminLine).
fn line_sizes() -> (u64, u64) {
    let ctr = super::cpu::sysreg_read!("ctr_el0");
    (4 << ((ctr >> 16) & 0xf), 4 << (ctr & 0xf))
}

/// Writes `bytes` at `offset` in the physical frame `frame`, through the
/// physical map, where the frame is writable (a frame not yet holding
/// code), and makes them visible to instruction fetch.
pub fn write_frame(frame: u64, offset: usize, bytes: &[u8]) {
    assert!(frame.is_multiple_of(4096) && offset + bytes.len() <= 4096, "write outside the frame");
    let virt = super::phys_to_virt(frame);
    let (phys, flags) = lookup(virt).expect("frame not in the physical map");
    assert!(flags & WRITABLE != 0 && phys == frame, "frame not writable in the physical map");
    let start = virt + offset as u64;
    // SAFETY: the physical map holds `frame` writable (checked above), the
    // write stays inside it, and the kernel owns the frame it allocated.
    unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), start as *mut u8, bytes.len()) };
    let end = start + bytes.len() as u64;
    let (dline, iline) = line_sizes();
    // SAFETY: cache maintenance by address over memory just written; it
    // changes no data.
    unsafe {
        let mut a = start & !(dline - 1);
        while a < end {
            core::arch::asm!("dc cvau, {}", in(reg) a, options(nostack));
            a += dline;
        }
        core::arch::asm!("dsb ish", options(nostack));
        let mut a = start & !(iline - 1);
        while a < end {
            core::arch::asm!("ic ivau, {}", in(reg) a, options(nostack));
            a += iline;
        }
        core::arch::asm!("dsb ish", "isb", options(nostack));
    }
}
