//! The kernel heap: the global allocator (`linked_list_allocator`) over a
//! 1 MiB block of the image's `.bss`, handed over once at boot.
#![allow(unsafe_code)]

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};
use linked_list_allocator::LockedHeap;

/// Heap size.
pub const HEAP_SIZE: usize = 1 << 20;

#[global_allocator]
static HEAP: LockedHeap = LockedHeap::empty();

#[repr(align(4096))]
struct Block(UnsafeCell<[u8; HEAP_SIZE]>);

// SAFETY: the block is only touched through the allocator, which it is
// handed to once (guarded by `GIVEN`).
unsafe impl Sync for Block {}

static BLOCK: Block = Block(UnsafeCell::new([0; HEAP_SIZE]));
static GIVEN: AtomicBool = AtomicBool::new(false);

/// Gives the heap its memory; later calls do nothing.
pub fn init_heap() {
    if GIVEN.swap(true, Ordering::AcqRel) {
        return;
    }
    // SAFETY: the block is static, used by nothing else, and given to the
    // allocator exactly once.
    unsafe { HEAP.lock().init(BLOCK.0.get() as *mut u8, HEAP_SIZE) };
}

/// Bytes of the heap in use now.
pub fn heap_used() -> usize {
    HEAP.lock().used()
}
