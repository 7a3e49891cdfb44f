//! JIT images in a host process's memory.

pub use crate::raw::ExecImage;
use crate::raw::{self, Mapping};
use axiom_jit::program::{JitError, JitImage};
#[cfg(not(target_arch = "aarch64"))]
use axiom_jit::x86_64::TRAP_BYTE;

const PAGE: usize = 4096;

/// Why an image could not be placed.
#[derive(Debug)]
pub enum ExecError {
    /// Linking failed (a helper out of reach: compile with far calls).
    Link(JitError),
    /// `mmap` failed.
    Map,
    /// `mprotect` failed with this errno.
    Protect(i32),
}

impl core::fmt::Display for ExecError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ExecError::Link(e) => write!(f, "link: {e}"),
            ExecError::Map => write!(f, "mmap failed"),
            ExecError::Protect(e) => write!(f, "mprotect failed: errno {e}"),
        }
    }
}

impl std::error::Error for ExecError {}

/// Fills unused code space with the host architecture's trap: `int3` on
/// x86-64, `brk #0` on arm64 (images start word-aligned, so the fill is
/// too).
fn fill_traps(rest: &mut [u8]) {
    #[cfg(target_arch = "aarch64")]
    for (k, b) in rest.iter_mut().enumerate() {
        *b = axiom_jit::aarch64::enc::BRK.to_le_bytes()[k % 4];
    }
    #[cfg(not(target_arch = "aarch64"))]
    rest.fill(TRAP_BYTE);
}

impl ExecImage {
    /// Links `image` (code for this host's architecture) for a fresh
    /// mapping near this binary's text, writes it (the rest of the pages
    /// filled with traps), makes it visible to instruction fetch, then maps
    /// it read+execute.
    pub fn new(mut image: JitImage) -> Result<ExecImage, ExecError> {
        let len = image.code.len().div_ceil(PAGE).max(1) * PAGE;
        // 256 MiB below the text: well within rel32 reach of its helpers.
        let hint = (raw::text_address() & !(PAGE - 1)).saturating_sub(256 << 20);
        let mut map = Mapping::new_rw(len, hint).ok_or(ExecError::Map)?;
        image.link(map.addr()).map_err(ExecError::Link)?;
        let bytes = map.bytes_mut();
        bytes[..image.code.len()].copy_from_slice(&image.code);
        fill_traps(&mut bytes[image.code.len()..]);
        raw::sync_icache(map.addr(), len);
        let map = map.seal_rx().map_err(ExecError::Protect)?;
        let base = map.addr();
        Ok(ExecImage {
            entry: base + image.entry as u64,
            tail_call_entry: base + image.tail_call_entry as u64,
            len: image.code.len(),
            map,
        })
    }

    /// The address tail calls into this program jump to.
    pub fn tail_call_entry(&self) -> u64 {
        self.tail_call_entry
    }

    /// Bytes of code (without the trap fill).
    pub fn code_len(&self) -> usize {
        self.len
    }

    /// The mapping's protection as `/proc/self/maps` shows it, e.g. `r-xp`.
    pub fn protection(&self) -> Option<String> {
        self.map.protection()
    }
}

/// A placed image runs programs the command layer verified and
/// compiled: `PROG_TEST_RUN`, tail calls into it.
impl crate::object::Code for ExecImage {
    fn run(&self, ctx: u64) -> u64 {
        raw::run_verified(self, ctx)
    }
    fn len(&self) -> usize {
        self.len
    }
    fn bytes(&self) -> &[u8] {
        &self.map.bytes()[..self.len]
    }
    fn tail_call_entry(&self) -> u64 {
        self.tail_call_entry
    }
}

/// JIT options for code that runs on this host: on arm64, LSE atomics
/// only where the CPU has them (load/store-exclusive loops otherwise).
pub fn host_jit_options() -> axiom_jit::program::JitOptions {
    axiom_jit::program::JitOptions {
        #[cfg(target_arch = "aarch64")]
        aarch64_lse: std::arch::is_aarch64_feature_detected!("lse"),
        ..axiom_jit::program::JitOptions::default()
    }
}
