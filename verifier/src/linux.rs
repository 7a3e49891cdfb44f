//! Linux's definitions for the program types Axiom shares with Linux:
//! context layouts (`__sk_buff`, `xdp_md`) and helper prototypes, with
//! Linux's numbers. Only what is listed here is allowed; a program using
//! anything else is refused with Linux's message.

use crate::platform::{Arg, CtxField, FieldKind, HelperProto, MapInfo, Platform, ProgType, Ret};
use alloc::vec::Vec;

/// `BPF_PROG_TYPE_SOCKET_FILTER`.
pub const PROG_SOCKET_FILTER: u32 = 1;
/// `BPF_PROG_TYPE_XDP`.
pub const PROG_XDP: u32 = 6;

/// Map types the verifier distinguishes (`BPF_MAP_TYPE_*`).
pub mod map_type {
    /// `BPF_MAP_TYPE_HASH`.
    pub const HASH: u32 = 1;
    /// `BPF_MAP_TYPE_ARRAY`.
    pub const ARRAY: u32 = 2;
    /// `BPF_MAP_TYPE_PROG_ARRAY`.
    pub const PROG_ARRAY: u32 = 3;
    /// `BPF_MAP_TYPE_PERCPU_HASH`.
    pub const PERCPU_HASH: u32 = 5;
    /// `BPF_MAP_TYPE_PERCPU_ARRAY`.
    pub const PERCPU_ARRAY: u32 = 6;
    /// `BPF_MAP_TYPE_LRU_HASH`.
    pub const LRU_HASH: u32 = 9;
    /// `BPF_MAP_TYPE_QUEUE`.
    pub const QUEUE: u32 = 22;
    /// `BPF_MAP_TYPE_STACK`.
    pub const STACK: u32 = 23;
    /// `BPF_MAP_TYPE_RINGBUF`.
    pub const RINGBUF: u32 = 27;
}

const fn field(off: u32, size: u32) -> CtxField {
    CtxField { off, size, narrow: true, writable: false, kind: FieldKind::Scalar }
}

/// `struct __sk_buff` as a socket filter may access it.
const SK_BUFF: &[CtxField] = &[
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
const XDP_MD: &[CtxField] = &[
    xdp_field(0, FieldKind::PacketData),
    xdp_field(4, FieldKind::PacketEnd),
    xdp_field(8, FieldKind::PacketMeta),
    xdp_field(12, FieldKind::Scalar), // ingress_ifindex
    // egress_ifindex (20) is readable by devmap programs only.
    xdp_field(16, FieldKind::Scalar), // rx_queue_index
];

/// Helpers every program type here may call (Linux's base set).
const BASE_HELPERS: &[i32] = &[1, 2, 3, 5, 6, 7, 8, 12, 87, 88, 89, 125, 130, 131, 132, 133, 134];
const SOCKET_FILTER_HELPERS: &[i32] =
    &[1, 2, 3, 5, 6, 7, 8, 12, 26, 87, 88, 89, 125, 130, 131, 132, 133, 134];

/// The program types.
pub const PROG_TYPES: &[(u32, ProgType)] = &[
    (
        PROG_SOCKET_FILTER,
        ProgType {
            name: "socket_filter",
            fields: SK_BUFF,
            helpers: SOCKET_FILTER_HELPERS,
            ld_abs: true,
            ret_range: None,
        },
    ),
    (
        PROG_XDP,
        ProgType {
            name: "xdp",
            fields: XDP_MD,
            helpers: BASE_HELPERS,
            ld_abs: false,
            ret_range: None,
        },
    ),
];

const fn proto(name: &'static str, args: [Option<Arg>; 5], ret: Ret) -> HelperProto {
    HelperProto { name, args, ret, map_types: &[] }
}

const NO_ARGS: [Option<Arg>; 5] = [None; 5];

/// Helper prototypes by id.
pub const HELPERS: &[(i32, HelperProto)] = &[
    (
        1,
        proto(
            "bpf_map_lookup_elem",
            [Some(Arg::MapPtr), Some(Arg::MapKey), None, None, None],
            Ret::MapValueOrNull,
        ),
    ),
    (
        2,
        proto(
            "bpf_map_update_elem",
            [Some(Arg::MapPtr), Some(Arg::MapKey), Some(Arg::MapValue), Some(Arg::Anything), None],
            Ret::Integer,
        ),
    ),
    (
        3,
        proto(
            "bpf_map_delete_elem",
            [Some(Arg::MapPtr), Some(Arg::MapKey), None, None, None],
            Ret::Integer,
        ),
    ),
    (5, proto("bpf_ktime_get_ns", NO_ARGS, Ret::Integer)),
    (
        87,
        HelperProto {
            name: "bpf_map_push_elem",
            args: [Some(Arg::MapPtr), Some(Arg::MapValue), Some(Arg::Anything), None, None],
            ret: Ret::Integer,
            map_types: &[map_type::QUEUE, map_type::STACK],
        },
    ),
    (
        88,
        HelperProto {
            name: "bpf_map_pop_elem",
            args: [Some(Arg::MapPtr), Some(Arg::MapValueUninit), None, None, None],
            ret: Ret::Integer,
            map_types: &[map_type::QUEUE, map_type::STACK],
        },
    ),
    (
        89,
        HelperProto {
            name: "bpf_map_peek_elem",
            args: [Some(Arg::MapPtr), Some(Arg::MapValueUninit), None, None, None],
            ret: Ret::Integer,
            map_types: &[map_type::QUEUE, map_type::STACK],
        },
    ),
    (
        6,
        proto(
            "bpf_trace_printk",
            [Some(Arg::Mem), Some(Arg::ConstSize), None, None, None],
            Ret::Integer,
        ),
    ),
    (7, proto("bpf_get_prandom_u32", NO_ARGS, Ret::Integer)),
    (8, proto("bpf_get_smp_processor_id", NO_ARGS, Ret::CpuId)),
    (
        12,
        HelperProto {
            name: "bpf_tail_call",
            args: [Some(Arg::Ctx), Some(Arg::MapPtr), Some(Arg::Anything), None, None],
            ret: Ret::Void,
            map_types: &[map_type::PROG_ARRAY],
        },
    ),
    (
        26,
        proto(
            "bpf_skb_load_bytes",
            [Some(Arg::Ctx), Some(Arg::Anything), Some(Arg::UninitMem), Some(Arg::ConstSize), None],
            Ret::Integer,
        ),
    ),
    (125, proto("bpf_ktime_get_boot_ns", NO_ARGS, Ret::Integer)),
    (
        130,
        HelperProto {
            name: "bpf_ringbuf_output",
            args: [
                Some(Arg::MapPtr),
                Some(Arg::Mem),
                Some(Arg::ConstSizeOrZero),
                Some(Arg::Anything),
                None,
            ],
            ret: Ret::Integer,
            map_types: &[map_type::RINGBUF],
        },
    ),
    (
        131,
        HelperProto {
            name: "bpf_ringbuf_reserve",
            args: [Some(Arg::MapPtr), Some(Arg::ConstAlloc), Some(Arg::Anything), None, None],
            ret: Ret::AllocMemOrNull,
            map_types: &[map_type::RINGBUF],
        },
    ),
    (
        132,
        proto(
            "bpf_ringbuf_submit",
            [Some(Arg::RingbufMem), Some(Arg::Anything), None, None, None],
            Ret::Void,
        ),
    ),
    (
        133,
        proto(
            "bpf_ringbuf_discard",
            [Some(Arg::RingbufMem), Some(Arg::Anything), None, None, None],
            Ret::Void,
        ),
    ),
    (
        134,
        HelperProto {
            name: "bpf_ringbuf_query",
            args: [Some(Arg::MapPtr), Some(Arg::Anything), None, None, None],
            ret: Ret::Integer,
            map_types: &[map_type::RINGBUF],
        },
    ),
];

/// A platform with Linux's program types and helpers, and a fixed list of
/// maps (for tests, tools and the in-process runtime).
#[derive(Clone, Debug, Default)]
pub struct LinuxPlatform {
    /// Maps by fd.
    pub maps_by_fd: Vec<(i32, MapInfo)>,
    /// Maps by `fd_array` index.
    pub maps_by_index: Vec<MapInfo>,
    /// The number of possible CPUs, if known (bounds CPU numbers).
    pub possible_cpus: Option<u32>,
}

impl Platform for LinuxPlatform {
    fn prog_type(&self, prog_type: u32) -> Option<&ProgType> {
        PROG_TYPES
            .iter()
            .chain(crate::axiom::PROG_TYPES)
            .find(|(n, _)| *n == prog_type)
            .map(|(_, t)| t)
    }

    fn helper(&self, id: i32) -> Option<&HelperProto> {
        HELPERS.iter().find(|(n, _)| *n == id).map(|(_, p)| p)
    }

    fn map(&self, imm: i32, by_index: bool) -> Option<MapInfo> {
        if by_index {
            self.maps_by_index.get(usize::try_from(imm).ok()?).copied()
        } else {
            self.maps_by_fd.iter().find(|(fd, _)| *fd == imm).map(|(_, m)| *m)
        }
    }

    fn possible_cpus(&self) -> Option<u32> {
        self.possible_cpus
    }
}

/// Linux's name of a helper id, for messages about helpers Axiom does not
/// define (`None` if the id is not known at all).
pub fn helper_name(id: i32) -> Option<&'static str> {
    HELPERS.iter().find(|(n, _)| *n == id).map(|(_, p)| p.name)
}
