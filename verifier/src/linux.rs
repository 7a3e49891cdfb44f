//! Linux's context layouts for the program types Axiom shares with Linux
//! (`__sk_buff`, `xdp_md`), with Linux's numbers. The kernel's runtime
//! puts them together with the helpers each type may call
//! (`axiom_bpf::verify`); only what is listed is allowed, and a program
//! using anything else is refused with Linux's message.

use crate::platform::{CtxField, FieldKind};

const fn field(off: u32, size: u32) -> CtxField {
    CtxField { off, size, narrow: true, writable: false, kind: FieldKind::Scalar }
}

/// `struct __sk_buff` as a socket filter may access it.
pub const SK_BUFF: &[CtxField] = &[
    field(0, 4),  // len
    field(4, 4),  // pkt_type
    field(8, 4),  // mark
    field(12, 4), // queue_mapping
    field(16, 4), // protocol
    field(20, 4), // vlan_present
    field(24, 4), // vlan_tci
    field(28, 4), // vlan_proto
    field(32, 4), // priority
    field(36, 4), // ingress_ifindex
    field(40, 4), // ifindex
    field(44, 4), // tc_index
    // cb[0..5]: read and write, any aligned size within.
    CtxField { off: 48, size: 20, narrow: true, writable: true, kind: FieldKind::Scalar },
    field(68, 4),  // hash
    field(84, 4),  // napi_id
    field(164, 4), // gso_segs
    field(176, 4), // gso_size
];

const fn xdp_field(off: u32, kind: FieldKind) -> CtxField {
    CtxField { off, size: 4, narrow: false, writable: false, kind }
}

/// `struct xdp_md`.
pub const XDP_MD: &[CtxField] = &[
    xdp_field(0, FieldKind::PacketData),
    xdp_field(4, FieldKind::PacketEnd),
    xdp_field(8, FieldKind::PacketMeta),
    xdp_field(12, FieldKind::Scalar), // ingress_ifindex
    // egress_ifindex (20) is readable by devmap programs only.
    xdp_field(16, FieldKind::Scalar), // rx_queue_index
];
