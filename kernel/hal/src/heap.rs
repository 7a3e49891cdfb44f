//! The kernel heap: the global allocator (`linked_list_allocator`) over
//! two regions: a 1 MiB block of the image's `.bss` for early boot, and
//! the main region the kernel gives it from RAM once its frame allocator
//! and physical map are up ([`grow_heap`]). Allocations try the main
//! region first; a free goes back to the region holding the pointer. The
//! locks are taken with interrupts off, so interrupt handlers may
//! allocate.
#![allow(unsafe_code)]

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use linked_list_allocator::LockedHeap;

/// The early heap's size.
pub const HEAP_SIZE: usize = 1 << 20;

/// The two regions, with interrupts off while either lock is held.
struct KernelHeap {
    early: LockedHeap,
    main: LockedHeap,
    /// The main region's virtual range (`main_end` 0: not given yet).
    main_start: AtomicUsize,
    main_end: AtomicUsize,
}

impl KernelHeap {
    fn in_main(&self, ptr: *mut u8) -> bool {
        let p = ptr as usize;
        p >= self.main_start.load(Ordering::Acquire) && p < self.main_end.load(Ordering::Acquire)
    }
}

// SAFETY: forwards to `LockedHeap`'s own `GlobalAlloc` for the region
// that can serve (or that holds) the block, only adding that interrupts
// are off meanwhile (and restored after).
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let on = crate::disable_interrupts();
        let mut p = core::ptr::null_mut();
        if self.main_end.load(Ordering::Acquire) != 0 {
            // SAFETY: the caller's contract is passed on unchanged.
            p = unsafe { self.main.alloc(layout) };
        }
        if p.is_null() {
            // SAFETY: as above.
            p = unsafe { self.early.alloc(layout) };
        }
        if on {
            crate::enable_interrupts();
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let on = crate::disable_interrupts();
        // SAFETY: the caller's contract is passed on unchanged, to the
        // region the block came from (the ranges do not overlap).
        unsafe {
            if self.in_main(ptr) {
                self.main.dealloc(ptr, layout)
            } else {
                self.early.dealloc(ptr, layout)
            }
        };
        if on {
            crate::enable_interrupts();
        }
    }
}

#[global_allocator]
static HEAP: KernelHeap = KernelHeap {
    early: LockedHeap::empty(),
    main: LockedHeap::empty(),
    main_start: AtomicUsize::new(0),
    main_end: AtomicUsize::new(0),
};

#[repr(align(4096))]
struct Block(UnsafeCell<[u8; HEAP_SIZE]>);

// SAFETY: the block is only touched through the allocator, which it is
// handed to once (guarded by `GIVEN`).
unsafe impl Sync for Block {}

static BLOCK: Block = Block(UnsafeCell::new([0; HEAP_SIZE]));
static GIVEN: AtomicBool = AtomicBool::new(false);
static MAIN_GIVEN: AtomicBool = AtomicBool::new(false);

/// Gives the early heap its memory; later calls do nothing.
pub fn init_heap() {
    if GIVEN.swap(true, Ordering::AcqRel) {
        return;
    }
    // SAFETY: the block is static, used by nothing else, and given to the
    // allocator exactly once.
    unsafe { HEAP.early.lock().init(BLOCK.0.get() as *mut u8, HEAP_SIZE) };
}

/// Gives the heap its main region: `len` bytes of RAM at physical `phys`
/// (page-aligned), which the kernel took from its frame allocator for
/// good and maps writable in the physical map. Once only; `false` after.
pub fn grow_heap(phys: u64, len: usize) -> bool {
    if len == 0 || MAIN_GIVEN.swap(true, Ordering::AcqRel) {
        return false;
    }
    let start = crate::phys_to_virt(phys) as usize;
    let on = crate::disable_interrupts();
    // SAFETY: the caller gives these frames to the heap for good (they
    // leave the frame allocator) and they are mapped read+write at their
    // physical-map addresses; given once (guarded by `MAIN_GIVEN`).
    unsafe { HEAP.main.lock().init(start as *mut u8, len) };
    HEAP.main_start.store(start, Ordering::Release);
    HEAP.main_end.store(start + len, Ordering::Release);
    if on {
        crate::enable_interrupts();
    }
    true
}

/// Bytes of the heap in use now (both regions).
pub fn heap_used() -> usize {
    // Interrupts off, as for allocations: an interrupt handler that
    // allocates must never find a lock held on its own CPU.
    let on = crate::disable_interrupts();
    let used = HEAP.early.lock().used() + HEAP.main.lock().used();
    if on {
        crate::enable_interrupts();
    }
    used
}

/// Bytes the heap manages (both regions).
pub fn heap_size() -> usize {
    let on = crate::disable_interrupts();
    let size = HEAP.early.lock().size() + HEAP.main.lock().size();
    if on {
        crate::enable_interrupts();
    }
    size
}
