//! Executable memory for JIT-compiled code, written then read+execute:
//! each page of code is copied into a fresh frame through the physical
//! map, the frame's mapping there becomes read-only, every CPU drops
//! its cached translations, and only then is the frame mapped
//! read+execute in the JIT area. No mapping of a frame is ever writable
//! and executable at once. Freeing reverses the steps.

use crate::memory;
use crate::paging::{JIT_BASE, NO_EXECUTE, WRITABLE};
use alloc::vec::Vec;
use axiom_hal as hal;
use axiom_jit::program::JitImage;
use core::sync::atomic::{AtomicU64, Ordering};

const PAGE: u64 = 4096;
/// The next free address of the JIT area (addresses are not reused; the
/// area is 64 TiB).
static NEXT: AtomicU64 = AtomicU64::new(JIT_BASE);

/// Why code could not be placed.
#[derive(Debug, PartialEq, Eq)]
pub enum ExecError {
    /// Linking for the chosen address failed.
    Link,
    /// No free frame, or a page-table frame could not be had.
    OutOfMemory,
    /// The mapping did not check out as read+execute.
    NotSealed,
}

/// JIT code mapped read+execute; unmapped and its frames freed on drop.
pub struct ExecRegion {
    base: u64,
    /// Frames holding the code, page by page, and whether each is mapped.
    frames: Vec<u64>,
    /// Bytes of code.
    len: usize,
    /// A copy of the code (what `OBJ_GET_INFO_BY_FD` reports).
    code: Vec<u8>,
    /// Where tail calls into the program jump.
    tail_call_entry: u64,
    placed: Option<hal::exec::Placed>,
}

impl ExecRegion {
    /// Places `image` (native code compiled with far helper calls).
    pub fn new(mut image: JitImage) -> Result<ExecRegion, ExecError> {
        let pages = image.code.len().div_ceil(PAGE as usize).max(1);
        // One unmapped page after each region guards it.
        let base = NEXT.fetch_add((pages as u64 + 1) * PAGE, Ordering::Relaxed);
        image.link(base).map_err(|_| ExecError::Link)?;
        let tail_call_entry = base + image.tail_call_entry as u64;
        let mut code = image.code;
        let len = code.len();
        code.resize(pages * PAGE as usize, axiom_jit::native::TRAP_BYTE);
        let mut region = ExecRegion {
            base,
            frames: Vec::new(),
            len,
            code: Vec::new(),
            tail_call_entry,
            placed: None,
        };
        memory::with(|m| -> Result<(), ExecError> {
            for chunk in code.chunks(PAGE as usize) {
                let frame = m.frames.alloc().ok_or(ExecError::OutOfMemory)?;
                region.frames.push(frame);
                hal::exec::write_frame(frame, 0, chunk);
                // The physical map's alias loses its write right.
                m.space
                    .protect(hal::phys_to_virt(frame), NO_EXECUTE)
                    .ok_or(ExecError::OutOfMemory)?;
            }
            Ok(())
        })
        .ok_or(ExecError::OutOfMemory)??;
        hal::smp::flush_tlb_everywhere();
        memory::with(|m| -> Result<(), ExecError> {
            for (i, &frame) in region.frames.iter().enumerate() {
                let virt = base + i as u64 * PAGE;
                m.space.map(&mut m.frames, virt, frame, 0).ok_or(ExecError::OutOfMemory)?;
            }
            Ok(())
        })
        .ok_or(ExecError::OutOfMemory)??;
        region.code = code[..len].to_vec();
        region.placed = Some(
            hal::exec::Placed::seal(base, len as u64, base + image.entry as u64)
                .ok_or(ExecError::NotSealed)?,
        );
        Ok(region)
    }

    /// Calls the code's entry with two arguments (a BPF program's context
    /// and second argument).
    pub fn call(&self, a: u64, b: u64) -> u64 {
        self.placed.as_ref().map_or(0, |p| p.call(a, b))
    }

    /// The code's first address.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// The frames holding the code.
    pub fn frames(&self) -> &[u64] {
        &self.frames
    }
}

impl Drop for ExecRegion {
    fn drop(&mut self) {
        self.placed = None;
        memory::with(|m| {
            for i in 0..self.frames.len() {
                m.space.unmap(self.base + i as u64 * PAGE);
            }
        });
        // No CPU may still execute the code or hold its translation
        // before the frames become writable again.
        hal::smp::flush_tlb_everywhere();
        memory::with(|m| {
            for &frame in &self.frames {
                m.space.protect(hal::phys_to_virt(frame), WRITABLE | NO_EXECUTE);
                m.frames.free(frame);
            }
        });
    }
}

impl axiom_bpf::object::Code for ExecRegion {
    fn run(&self, ctx: u64) -> u64 {
        self.call(ctx, 0)
    }
    fn len(&self) -> usize {
        self.len
    }
    fn bytes(&self) -> &[u8] {
        &self.code
    }
    fn tail_call_entry(&self) -> u64 {
        self.tail_call_entry
    }
}
