//! A BPF ring buffer's memory, laid out as Linux shows it to user space
//! (`BPF_MAP_TYPE_RINGBUF`): a consumer page (its first `u64` is the
//! consumer position, which the reader writes), a producer page (the
//! producer position, written only by the kernel), then the data area,
//! a power of two bytes. Each record starts with an 8-byte header: a
//! `u32` length with [`BUSY`] (reserved, not yet committed) and
//! [`DISCARD`] bits, and a `u32` page offset from the start of the
//! memory to the header's page (how a commit, which gets only the record
//! pointer, finds its ring). Records are 8-byte aligned. Positions only
//! grow; a record is at `position & (size - 1)` in the data area.
//!
//! Linux maps the data area twice in a row, in the kernel as for user
//! space, so a record may run past the end. Axiom's producer never
//! splits a record: when one would cross the end it first commits a
//! discarded padding record up to the end, so one kernel mapping does
//! (a reader skips discarded records anyway). User space still gets the
//! data area twice in a row, as libbpf expects.
//!
//! This is one of the runtime's unsafe modules: the memory is shared
//! with user space (and with JIT code that writes records), so every
//! shared word is accessed atomically, and [`commit`] turns the record
//! address a verified program passes into its header.
#![allow(unsafe_code)]

use alloc::alloc::{Layout, alloc_zeroed, dealloc};
use alloc::vec::Vec;
use axiom_abi::uapi::errno::Errno;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

pub use axiom_abi::uapi::ringbuf::{
    BPF_RINGBUF_BUSY_BIT as BUSY, BPF_RINGBUF_DISCARD_BIT as DISCARD,
};

/// The page size of the layout.
pub const PAGE: usize = axiom_abi::uapi::ringbuf::layout::PRODUCER_PAGE;
/// Bytes of a record header.
pub const HEADER: u64 = axiom_abi::uapi::ringbuf::BPF_RINGBUF_HDR_SZ as u64;
pub use axiom_abi::uapi::flags::ringbuf::{
    BPF_RB_FORCE_WAKEUP as FORCE_WAKEUP, BPF_RB_NO_WAKEUP as NO_WAKEUP,
};

/// Where the producer page keeps the data area's size (read-only to user
/// space, like the producer position; a commit reads it to find the
/// record's position).
const SIZE_WORD: usize = PAGE + 16;

/// The memory of one ring buffer: two control pages and the data area,
/// page-aligned (pages of it are mapped into user space).
pub struct RingMemory {
    base: NonNull<u8>,
    size: u64,
}

// SAFETY: the memory is owned like a `Box<[u8]>`; the words several
// parties touch (positions, headers) are only accessed atomically, and
// record bytes are written only by their reserver before the commit.
unsafe impl Send for RingMemory {}
// SAFETY: as above.
unsafe impl Sync for RingMemory {}

impl RingMemory {
    /// Zeroed memory for a data area of `size` bytes (a power of two, at
    /// least a page).
    pub fn new(size: u64) -> Result<RingMemory, Errno> {
        if !size.is_power_of_two() || size < PAGE as u64 || size > 1 << 30 {
            return Err(Errno::EINVAL);
        }
        let layout = Self::layout(size);
        // SAFETY: the layout has a non-zero size.
        let p = unsafe { alloc_zeroed(layout) };
        let base = NonNull::new(p).ok_or(Errno::ENOMEM)?;
        let ring = RingMemory { base, size };
        ring.word64(SIZE_WORD).store(size, Ordering::Relaxed);
        Ok(ring)
    }

    fn layout(size: u64) -> Layout {
        // Sizes are checked in `new`: at most 1 GiB plus two pages.
        Layout::from_size_align(2 * PAGE + size as usize, PAGE).expect("ring layout")
    }

    /// The address of the consumer page (the start of the memory).
    pub fn base(&self) -> u64 {
        self.base.as_ptr() as u64
    }

    /// Bytes of the data area.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Bytes of the whole memory: the two control pages and the data.
    pub fn total(&self) -> u64 {
        2 * PAGE as u64 + self.size
    }

    /// The address of byte `pos & (size - 1)` of the data area.
    pub fn data_address(&self, pos: u64) -> u64 {
        self.base() + 2 * PAGE as u64 + (pos & (self.size - 1))
    }

    fn word64(&self, offset: usize) -> &AtomicU64 {
        // SAFETY: offsets 0, PAGE and SIZE_WORD are inside the memory and 8-aligned;
        // the memory lives as long as `self`.
        unsafe { AtomicU64::from_ptr(self.base.as_ptr().add(offset) as *mut u64) }
    }

    /// The consumer position (written by the reader).
    pub fn consumer_pos(&self) -> u64 {
        self.word64(0).load(Ordering::Acquire)
    }

    /// Moves the consumer position (the reader's side).
    pub fn set_consumer_pos(&self, pos: u64) {
        self.word64(0).store(pos, Ordering::Release);
    }

    /// The producer position.
    pub fn producer_pos(&self) -> u64 {
        self.word64(PAGE).load(Ordering::Acquire)
    }

    fn header(&self, pos: u64) -> (&AtomicU32, &AtomicU32) {
        let at = self.data_address(pos);
        // SAFETY: positions are 8-aligned and the data area is a multiple
        // of 8, so both words are inside the memory and aligned.
        unsafe { (AtomicU32::from_ptr(at as *mut u32), AtomicU32::from_ptr((at + 4) as *mut u32)) }
    }

    /// Reserves a record of `len` bytes (the caller serialises reservers):
    /// its address, or `None` when the ring has no room for it.
    pub fn reserve(&self, len: u64) -> Option<u64> {
        if len > self.size - HEADER {
            return None;
        }
        let total = (len + HEADER).next_multiple_of(8);
        let cons = self.consumer_pos();
        let mut prod = self.word64(PAGE).load(Ordering::Relaxed);
        let to_end = self.size - (prod & (self.size - 1));
        let pad = if total > to_end { to_end } else { 0 };
        let end = prod.checked_add(pad + total)?;
        // Linux's rule: the producer stays less than a full ring ahead.
        if end.wrapping_sub(cons) > self.size - 1 {
            return None;
        }
        if pad > 0 {
            let (len_word, pg) = self.header(prod);
            pg.store(self.page_of(prod), Ordering::Relaxed);
            len_word.store((pad - HEADER) as u32 | DISCARD, Ordering::Release);
            prod += pad;
        }
        let (len_word, pg) = self.header(prod);
        pg.store(self.page_of(prod), Ordering::Relaxed);
        len_word.store(len as u32 | BUSY, Ordering::Release);
        self.word64(PAGE).store(end, Ordering::Release);
        Some(self.data_address(prod) + HEADER)
    }

    /// The page offset of the header at `pos` from the base.
    fn page_of(&self, pos: u64) -> u32 {
        ((self.data_address(pos) - self.base()) / PAGE as u64) as u32
    }

    /// Copies `data` into a record reserved at `addr` with at least that
    /// many bytes (the writer's side, before the commit).
    pub fn write(&self, addr: u64, data: &[u8]) {
        let start = self.data_address(0);
        assert!(addr >= start && addr + data.len() as u64 <= start + self.size);
        // SAFETY: the range is inside the data area (checked above) and
        // reserved by the caller, so nothing else writes it now.
        unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), addr as *mut u8, data.len()) };
    }

    /// The bytes waiting to be read (`BPF_RB_AVAIL_DATA`).
    pub fn available(&self) -> u64 {
        self.producer_pos().wrapping_sub(self.consumer_pos())
    }

    /// Reads the next committed record, as a reader of the mapping does:
    /// skips discarded ones, stops at one still reserved. `None` when
    /// nothing is ready.
    pub fn consume(&self) -> Option<Vec<u8>> {
        let mut cons = self.consumer_pos();
        let prod = self.producer_pos();
        while cons < prod {
            let (len_word, _) = self.header(cons);
            let word = len_word.load(Ordering::Acquire);
            if word & BUSY != 0 {
                return None;
            }
            let len = (word & !(BUSY | DISCARD)) as u64;
            let at = self.data_address(cons) + HEADER;
            cons += (len + HEADER).next_multiple_of(8);
            if word & DISCARD == 0 {
                // SAFETY: a committed record of `len` bytes inside the data
                // area (the producer never splits one); nobody writes it.
                let bytes = unsafe { core::slice::from_raw_parts(at as *const u8, len as usize) };
                let out = bytes.to_vec();
                self.set_consumer_pos(cons);
                return Some(out);
            }
            self.set_consumer_pos(cons);
        }
        None
    }
}

impl Drop for RingMemory {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout, freed once.
        unsafe { dealloc(self.base.as_ptr(), Self::layout(self.size)) };
    }
}

/// Commits the record at `record` (`bpf_ringbuf_submit`, or with
/// `discard` `bpf_ringbuf_discard`); returns whether readers should be
/// woken: on `FORCE_WAKEUP`, or when the reader has caught up with this
/// record, unless `NO_WAKEUP`. Lock-free, as Linux's.
///
/// The verifier lets a program pass only a record it reserved and has
/// not committed; the header before it names its ring's memory, which
/// the program's map reference keeps alive.
pub fn commit(record: u64, discard: bool, flags: u64) -> bool {
    let hdr = record - HEADER;
    // SAFETY: see above: `hdr` is the 8-aligned header of a live reserved
    // record, written by `RingMemory::reserve`.
    let (len_word, pg) = unsafe {
        (AtomicU32::from_ptr(hdr as *mut u32), AtomicU32::from_ptr((hdr + 4) as *mut u32))
    };
    let base = (hdr & !(PAGE as u64 - 1)) - pg.load(Ordering::Relaxed) as u64 * PAGE as u64;
    // SAFETY: `base` is the ring's consumer page (the page offset was
    // written by `reserve`); its first word is the consumer position.
    let consumer = unsafe { AtomicU64::from_ptr(base as *mut u64) };
    let word = len_word.load(Ordering::Relaxed) & !BUSY;
    // A full barrier between publishing the record and reading where the
    // reader is (a reader going to sleep does the reverse), so a wake-up
    // cannot be lost.
    len_word.swap(if discard { word | DISCARD } else { word }, Ordering::SeqCst);
    let cons = consumer.load(Ordering::SeqCst);
    // SAFETY: the size word is in the same ring's producer page.
    let size = unsafe { AtomicU64::from_ptr((base + SIZE_WORD as u64) as *mut u64) }
        .load(Ordering::Relaxed);
    // The reader has caught up when it is at this record, or at the
    // padding `reserve` put before it (a record after padding starts the
    // data area; the padding runs from the reader to the end).
    let data = base + 2 * PAGE as u64;
    let (rec, at) = (hdr - data, cons & (size - 1));
    let padding_before = rec == 0 && at != 0 && {
        // SAFETY: `at` is an 8-aligned offset inside the data area, where
        // a header (or, if the reader's position is stale, record bytes:
        // any value is harmless here) lies.
        let word = unsafe { AtomicU32::from_ptr((data + at) as *mut u32) }.load(Ordering::Acquire);
        word & DISCARD != 0 && at + (((word & !(BUSY | DISCARD)) as u64 + HEADER + 7) & !7) == size
    };
    let caught_up = at == rec || padding_before;
    flags & FORCE_WAKEUP != 0 || (flags & NO_WAKEUP == 0 && caught_up)
}
