//! Calling JIT-compiled code, for every architecture: [`Placed::seal`]
//! checks, by walking the live page tables, that every page of the range
//! is present, read-only and executable before the code can be called.
#![allow(unsafe_code)]

use crate::paging::{NO_EXECUTE, WRITABLE, lookup};

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
        crate::exec::code_barrier();
        Some(Placed { entry })
    }

    /// Calls the code with two arguments.
    pub fn call(&self, a: u64, b: u64) -> u64 {
        // SAFETY: `seal` checked the code's pages are mapped read+execute
        // and not writable; the kernel places there only code its JIT
        // produced from a program its verifier accepted (the trust Linux
        // places in its own JIT), which follows the platform's C calling
        // convention.
        let f: extern "C" fn(u64, u64) -> u64 = unsafe { core::mem::transmute(self.entry) };
        f(a, b)
    }
}
