//! The contexts programs see at `BPF_PROG_TEST_RUN`, laid out here for
//! every platform: a socket filter's ([`SkbCtx`], which the helpers read
//! packets through) and XDP's ([`XdpCtx`], whose 32-bit pointer loads the
//! load rewrites: see [`crate::command::prog::rewrite_ctx`]).

use alloc::boxed::Box;

/// A socket filter's context at a test run: `struct __sk_buff` as programs
/// see it, then where its packet data is.
#[repr(C)]
pub struct SkbCtx {
    /// `struct __sk_buff`.
    pub skb: [u8; 192],
    /// The packet data after the Ethernet header (`skb->data`).
    pub data: *const u8,
    /// Its length.
    pub len: u64,
}

/// An XDP context at a test run: `struct xdp_md`'s fields at full width
/// (programs' 32-bit loads of the pointers are rewritten, see
/// [`crate::command::prog::rewrite_ctx`]).
#[repr(C)]
pub struct XdpCtx {
    /// First byte of the frame.
    pub data: u64,
    /// One past its last byte.
    pub data_end: u64,
    /// Metadata before the frame (none).
    pub data_meta: u64,
    /// `ingress_ifindex`.
    pub ingress_ifindex: u32,
    /// `rx_queue_index`.
    pub rx_queue_index: u32,
    /// `egress_ifindex`.
    pub egress_ifindex: u32,
}

impl SkbCtx {
    /// The context of a socket filter's test run on `frame` (an Ethernet
    /// frame): the data after its header, `skb->len` that data's length,
    /// `skb->protocol` the EtherType. `None` for a frame shorter than the
    /// header.
    pub fn for_frame(frame: &[u8]) -> Option<Box<SkbCtx>> {
        let payload = frame.get(14..)?;
        let mut ctx =
            Box::new(SkbCtx { skb: [0; 192], data: payload.as_ptr(), len: payload.len() as u64 });
        ctx.skb[0..4].copy_from_slice(&(payload.len() as u32).to_le_bytes());
        ctx.skb[16..18].copy_from_slice(&frame[12..14]);
        Some(ctx)
    }
}

impl XdpCtx {
    /// The context of an XDP test run on `frame`, received on interface 1,
    /// queue 0, as Linux's test run gives it.
    pub fn for_frame(frame: &mut [u8]) -> Box<XdpCtx> {
        let begin = frame.as_mut_ptr() as u64;
        Box::new(XdpCtx {
            data: begin,
            data_end: begin + frame.len() as u64,
            data_meta: begin,
            ingress_ifindex: 1,
            rx_queue_index: 0,
            egress_ifindex: 0,
        })
    }
}
