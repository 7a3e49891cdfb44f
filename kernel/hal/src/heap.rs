//! The kernel heap: the global allocator (`linked_list_allocator`) over a
//! 1 MiB block of the image's `.bss`, handed over once at boot. Its lock is
//! taken with interrupts off, so interrupt handlers may allocate.
#![allow(unsafe_code)]

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};
use linked_list_allocator::LockedHeap;

/// Heap size.
pub const HEAP_SIZE: usize = 1 << 20;

/// The allocator, with interrupts off while it holds its lock.
struct IrqSafeHeap(LockedHeap);

// SAFETY: forwards to `LockedHeap`'s own `GlobalAlloc`, only adding that
// interrupts are off meanwhile (and restored after).
unsafe impl GlobalAlloc for IrqSafeHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let on = crate::disable_interrupts();
        // SAFETY: the caller's contract is passed on unchanged.
        let p = unsafe { self.0.alloc(layout) };
        if on {
            crate::enable_interrupts();
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let on = crate::disable_interrupts();
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { self.0.dealloc(ptr, layout) };
        if on {
            crate::enable_interrupts();
        }
    }
}

#[global_allocator]
static HEAP: IrqSafeHeap = IrqSafeHeap(LockedHeap::empty());

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
    unsafe { HEAP.0.lock().init(BLOCK.0.get() as *mut u8, HEAP_SIZE) };
}

/// Bytes of the heap in use now.
pub fn heap_used() -> usize {
    // Interrupts off, as for allocations: an interrupt handler that
    // allocates must never find the lock held on its own CPU.
    let on = crate::disable_interrupts();
    let used = HEAP.0.lock().used();
    if on {
        crate::enable_interrupts();
    }
    used
}
