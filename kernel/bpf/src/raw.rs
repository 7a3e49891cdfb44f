//! The host platform's unsafe code: anonymous memory mappings, their
//! protection changes, and calls into JIT code. (The helpers' access to
//! what a verified program passes them is `native`'s, the same in the
//! kernel and here.)
#![allow(unsafe_code)]

use core::ptr::NonNull;

/// An anonymous private mapping, unmapped on drop.
pub struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: a mapping is owned memory (like a `Box<[u8]>`); it is mutated
// only through `&mut self` (while read+write, before sealing) and only read
// or executed afterwards, so moving or sharing it between threads is sound.
unsafe impl Send for Mapping {}
// SAFETY: as above: shared access only reads (or executes) it.
unsafe impl Sync for Mapping {}

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

    /// The mapping's bytes (it is readable in every state).
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the mapping is `len` readable bytes for as long as `self`
        // lives; once sealed nothing writes it.
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
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

/// A JIT image mapped read+execute, unmapped on drop: placed by
/// [`ExecImage::new`], run here.
pub struct ExecImage {
    pub(crate) map: Mapping,
    /// The entry point's address (what [`ExecImage::run`] calls).
    pub(crate) entry: u64,
    pub(crate) tail_call_entry: u64,
    pub(crate) len: usize,
}

impl ExecImage {
    /// Runs the program with `r1` and `r2`; returns `r0`.
    ///
    /// # Safety
    ///
    /// The program must only touch memory it may touch (what the verifier
    /// will prove), call helpers that exist, and end.
    pub unsafe fn run(&self, r1: u64, r2: u64) -> u64 {
        // SAFETY: the image is mapped executable for as long as `self`
        // lives; the caller vouches for the program.
        unsafe { call_entry(self.entry, r1, r2) }
    }
}

/// Runs a program the command layer verified against its maps and
/// helpers, with a context of the type it was verified for.
pub(crate) fn run_verified(image: &ExecImage, ctx: u64) -> u64 {
    // SAFETY: `PROG_LOAD` compiles only programs the verifier accepted for
    // their program type, with their maps and the callable table's
    // helpers, and `PROG_TEST_RUN` passes a context of the verified
    // layout that outlives the run.
    unsafe { image.run(ctx, 0) }
}
