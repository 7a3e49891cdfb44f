//! The BPF ring buffer's shared-memory format (Linux's
//! `kernel/bpf/ringbuf.c` and UAPI), which user space reads through mmap.

/// Bytes of the header before each record.
pub const BPF_RINGBUF_HDR_SZ: usize = 8;
/// Set in a header's `len` while the record is reserved, not yet committed.
pub const BPF_RINGBUF_BUSY_BIT: u32 = 1 << 31;
/// Set in a header's `len` when the record was discarded.
pub const BPF_RINGBUF_DISCARD_BIT: u32 = 1 << 30;

/// A record header: the length with the busy and discard bits, and the
/// page offset of the record from the start of the data area (Linux uses
/// it to find the ring buffer from a record pointer).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RingbufHdr {
    /// Record length, plus `BUSY`/`DISCARD` bits.
    pub len: u32,
    /// Page offset of the record.
    pub pg_off: u32,
}

const _: () = assert!(core::mem::size_of::<RingbufHdr>() == BPF_RINGBUF_HDR_SZ);

impl RingbufHdr {
    /// The record's length without the flag bits.
    pub const fn data_len(self) -> u32 {
        self.len & !(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT)
    }

    /// Whether the record is still being written.
    pub const fn busy(self) -> bool {
        self.len & BPF_RINGBUF_BUSY_BIT != 0
    }

    /// Whether the record was discarded.
    pub const fn discarded(self) -> bool {
        self.len & BPF_RINGBUF_DISCARD_BIT != 0
    }

    /// Bytes a record of `len` takes in the ring: header plus data, rounded
    /// up to 8.
    pub const fn total_size(len: u32) -> usize {
        (len as usize + BPF_RINGBUF_HDR_SZ + 7) & !7
    }
}

/// The mmap layout: the consumer position page (read-write for user
/// space), then the producer position page (read-only), then the data area
/// mapped twice in a row so records never wrap in user space.
pub mod layout {
    /// Offset of the consumer position page.
    pub const CONSUMER_PAGE: usize = 0;
    /// Offset of the producer position page, for 4 KiB pages.
    pub const PRODUCER_PAGE: usize = 4096;
    /// Offset of the data area, for 4 KiB pages.
    pub const DATA: usize = 2 * 4096;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_bits() {
        let h = RingbufHdr { len: 12 | BPF_RINGBUF_BUSY_BIT, pg_off: 0 };
        assert!(h.busy() && !h.discarded());
        assert_eq!(h.data_len(), 12);
        assert_eq!(RingbufHdr::total_size(12), 24);
        assert_eq!(RingbufHdr::total_size(8), 16);
    }
}
