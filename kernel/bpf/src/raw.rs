//! The runtime's one unsafe module (host platform): anonymous memory
//! mappings, their protection changes, and calls into JIT code.
#![allow(unsafe_code)]

use core::ptr::NonNull;

/// An anonymous private mapping, unmapped on drop.
pub struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

impl Mapping {
    /// Maps `len` bytes read+write, preferably at `hint`.
    pub fn new_rw(len: usize, hint: usize) -> Option<Mapping> {
        // SAFETY: an anonymous private mapping with no fixed address aliases
        // nothing; the result is checked before use.
        let p = unsafe {
            libc::mmap(
                hint as *mut libc::c_void,
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return None;
        }
        NonNull::new(p as *mut u8).map(|ptr| Mapping { ptr, len })
    }

    /// The mapping's address.
    pub fn addr(&self) -> u64 {
        self.ptr.as_ptr() as u64
    }

    /// The mapping's bytes, while it is writable.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: the mapping is `len` bytes, readable and writable until
        // `seal_rx` (which takes `self` by value, so no slice outlives it).
        unsafe { core::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }

    /// Makes the mapping read+execute (and no longer writable).
    pub fn seal_rx(self) -> Result<Mapping, i32> {
        // SAFETY: changes the protection of exactly this mapping.
        let r = unsafe {
            libc::mprotect(
                self.ptr.as_ptr() as *mut libc::c_void,
                self.len,
                libc::PROT_READ | libc::PROT_EXEC,
            )
        };
        if r != 0 {
            return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
        }
        Ok(self)
    }

    /// The current protection flags, as `/proc/self/maps` shows them
    /// (for tests of W^X).
    pub fn protection(&self) -> Option<String> {
        let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
        let start = self.addr();
        maps.lines().find_map(|l| {
            let (range, rest) = l.split_once(' ')?;
            let (lo, hi) = range.split_once('-')?;
            let (lo, hi) = (u64::from_str_radix(lo, 16).ok()?, u64::from_str_radix(hi, 16).ok()?);
            (lo <= start && start < hi).then(|| rest[..4].to_string())
        })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping this value owns.
        unsafe {
            libc::munmap(self.ptr.as_ptr() as *mut libc::c_void, self.len);
        }
    }
}

/// Calls JIT code at `entry` as `extern "C" fn(u64, u64) -> u64`.
///
/// # Safety
///
/// `entry` must be the entry point of a JIT image mapped executable, whose
/// program only touches memory it may touch and ends.
pub unsafe fn call_entry(entry: u64, r1: u64, r2: u64) -> u64 {
    // SAFETY: the caller guarantees `entry` is valid JIT code with this ABI.
    let f: extern "C" fn(u64, u64) -> u64 = unsafe { core::mem::transmute(entry as usize) };
    f(r1, r2)
}

/// Makes freshly written code at `addr..addr + len` visible to instruction
/// fetch: arm64 keeps separate instruction and data caches, so written
/// code must be cleaned to the point of unification and the instruction
/// cache invalidated before it runs (x86-64 needs nothing).
pub fn sync_icache(addr: u64, len: usize) {
    #[cfg(target_arch = "aarch64")]
    {
        unsafe extern "C" {
            fn __clear_cache(start: *mut core::ffi::c_char, end: *mut core::ffi::c_char);
        }
        // SAFETY: libgcc's cache maintenance for a range of this process's
        // own mapping; it reads no memory.
        unsafe { __clear_cache(addr as *mut _, (addr as usize + len) as *mut _) };
    }
    #[cfg(not(target_arch = "aarch64"))]
    let _ = (addr, len);
}

/// An address in this binary's text, to place images within `call rel32`
/// reach of helpers linked into the same binary.
pub fn text_address() -> usize {
    text_address as *const () as usize
}
