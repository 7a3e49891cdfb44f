//! Calling JIT-compiled code. The kernel places code in pages it maps
//! read+execute (never writable at the same time, through any mapping);
//! [`Placed::seal`] checks, by walking the live page tables, that every
//! page of the range is present, read-only and executable before the
//! code can be called.
#![allow(unsafe_code)]

use super::paging::{NO_EXECUTE, WRITABLE, lookup};

/// Code in read+execute pages, callable as
/// `extern "C" fn(u64, u64) -> u64`.
pub struct Placed {
    entry: u64,
}

impl Placed {
    /// Checks that `[base, base + len)` is mapped present, not writable
    /// and executable, and that `entry` lies inside it.
    pub fn seal(base: u64, len: u64, entry: u64) -> Option<Placed> {
        if len == 0 || !(base..base.checked_add(len)?).contains(&entry) {
            return None;
        }
        let mut page = base & !0xfff;
        while page < base + len {
            let (_, flags) = lookup(page)?;
            if flags & (WRITABLE | NO_EXECUTE) != 0 {
                return None;
            }
            page += 4096;
        }
        Some(Placed { entry })
    }

    /// Calls the code with two arguments.
    pub fn call(&self, a: u64, b: u64) -> u64 {
        // SAFETY: `seal` checked the code's pages are mapped read+execute
        // and not writable; the kernel places there only code its JIT
        // produced from a program its verifier accepted (the trust Linux
        // places in its own JIT), which follows the C calling convention.
        let f: extern "C" fn(u64, u64) -> u64 = unsafe { core::mem::transmute(self.entry) };
        f(a, b)
    }
}

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
