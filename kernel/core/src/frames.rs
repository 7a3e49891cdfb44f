//! The physical frame allocator: 4 KiB frames of the usable RAM the boot
//! loader reported, minus the first MiB and the kernel image, tracked in a
//! bitmap (one bit per frame, set when free). Safe code: it hands out
//! frame numbers; mapping them is the paging code's business.

use alloc::vec;
use alloc::vec::Vec;
use axiom_hal::Region;

/// Frame size.
pub const FRAME: u64 = 4096;

/// Free frames of physical memory.
pub struct Frames {
    /// Bit `i` set: frame `i` (address `i * FRAME`) is free.
    free: Vec<u64>,
    /// Where to start looking.
    next: usize,
    /// Free frames now.
    pub available: usize,
    /// Frames it managed at the start.
    pub total: usize,
}

impl Frames {
    /// The usable frames of `map`, except those below 1 MiB, those in a
    /// reserved region of `map` and those in `reserved` (the kernel image,
    /// its heap...).
    pub fn new(map: &[Region], reserved: &[(u64, u64)]) -> Frames {
        let top = map.iter().filter(|r| r.usable).map(|r| r.base + r.len).max().unwrap_or(0);
        let frames = (top / FRAME) as usize;
        let mut f = Frames { free: vec![0; frames.div_ceil(64)], next: 0, available: 0, total: 0 };
        for r in map.iter().filter(|r| r.usable) {
            let first = r.base.div_ceil(FRAME).max(0x100000 / FRAME);
            let end = (r.base + r.len) / FRAME;
            f.mark_free(first, end);
        }
        // A region reported reserved wins over a usable one it overlaps
        // (a device tree's reserved memory lies inside its RAM).
        for r in map.iter().filter(|r| !r.usable) {
            f.mark_used(r.base / FRAME, (r.base + r.len).div_ceil(FRAME).min(frames as u64));
        }
        for &(lo, hi) in reserved {
            f.mark_used(lo / FRAME, hi.div_ceil(FRAME).min(frames as u64));
        }
        f.total = f.available;
        f
    }

    /// Marks frames `[first, end)` free.
    fn mark_free(&mut self, first: u64, end: u64) {
        for n in first..end {
            let bit = 1u64 << (n % 64);
            let word = &mut self.free[n as usize / 64];
            if *word & bit == 0 {
                *word |= bit;
                self.available += 1;
            }
        }
    }

    /// Marks frames `[first, end)` in use.
    fn mark_used(&mut self, first: u64, end: u64) {
        for n in first..end {
            let bit = 1u64 << (n % 64);
            let word = &mut self.free[n as usize / 64];
            if *word & bit != 0 {
                *word &= !bit;
                self.available -= 1;
            }
        }
    }

    /// The address of `count` physically contiguous free frames (first
    /// fit from the bottom: under TCG the first write to a page near the
    /// top of a QEMU guest's RAM, where its firmware and loader worked,
    /// was measured to cost milliseconds).
    pub fn alloc_contiguous(&mut self, count: usize) -> Option<u64> {
        let total = self.free.len() * 64;
        let is_free = |f: &Frames, n: usize| f.free[n / 64] & (1 << (n % 64)) != 0;
        let mut run = 0;
        for n in 0..total {
            run = if is_free(self, n) { run + 1 } else { 0 };
            if run == count {
                let first = n + 1 - count;
                self.mark_used(first as u64, (first + count) as u64);
                return Some(first as u64 * FRAME);
            }
        }
        None
    }

    /// A free frame's address.
    pub fn alloc(&mut self) -> Option<u64> {
        for k in 0..self.free.len() {
            let i = (self.next + k) % self.free.len();
            let word = self.free[i];
            if word != 0 {
                let bit = word.trailing_zeros() as usize;
                self.free[i] &= !(1 << bit);
                self.next = i;
                self.available -= 1;
                return Some((i * 64 + bit) as u64 * FRAME);
            }
        }
        None
    }

    /// Returns a frame; `false` if it was not allocated (a double free or
    /// an address the allocator never managed).
    pub fn free(&mut self, addr: u64) -> bool {
        let n = (addr / FRAME) as usize;
        if !addr.is_multiple_of(FRAME) || n / 64 >= self.free.len() {
            return false;
        }
        let (i, bit) = (n / 64, n % 64);
        if self.free[i] & (1 << bit) != 0 {
            return false;
        }
        self.free[i] |= 1 << bit;
        self.available += 1;
        true
    }
}
