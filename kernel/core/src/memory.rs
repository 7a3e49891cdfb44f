//! The kernel's memory: the frame allocator and the kernel's page tables,
//! behind one lock. It is taken with interrupts on (no interrupt handler
//! touches either), so a CPU waiting for it still answers TLB shoot-downs.

use crate::frames::Frames;
use crate::paging::AddressSpace;

/// Frames and page tables.
pub struct Memory {
    /// Free physical frames.
    pub frames: Frames,
    /// The kernel's address space.
    pub space: AddressSpace,
}

static MEMORY: spin::Mutex<Option<Memory>> = spin::Mutex::new(None);

/// Hands the frame allocator and page tables over at boot.
pub fn install(memory: Memory) {
    *MEMORY.lock() = Some(memory);
}

/// Runs `f` on the kernel's memory (`None` before [`install`]).
pub fn with<R>(f: impl FnOnce(&mut Memory) -> R) -> Option<R> {
    MEMORY.lock().as_mut().map(f)
}
