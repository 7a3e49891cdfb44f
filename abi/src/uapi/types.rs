//! Linux's BPF enumerations, as the Linux 6.18 kernel defines them (read
//! from its BTF): `bpf_cmd`, map, program, attach and link types.

/// `enum bpf_cmd`: the `bpf()` commands.
pub mod cmd {
    #![allow(missing_docs)]
    pub const MAP_CREATE: u32 = 0;
    pub const MAP_LOOKUP_ELEM: u32 = 1;
    pub const MAP_UPDATE_ELEM: u32 = 2;
    pub const MAP_DELETE_ELEM: u32 = 3;
    pub const MAP_GET_NEXT_KEY: u32 = 4;
    pub const PROG_LOAD: u32 = 5;
    pub const OBJ_PIN: u32 = 6;
    pub const OBJ_GET: u32 = 7;
    pub const PROG_ATTACH: u32 = 8;
    pub const PROG_DETACH: u32 = 9;
    pub const PROG_TEST_RUN: u32 = 10;
    pub const PROG_RUN: u32 = 10;
    pub const PROG_GET_NEXT_ID: u32 = 11;
    pub const MAP_GET_NEXT_ID: u32 = 12;
    pub const PROG_GET_FD_BY_ID: u32 = 13;
    pub const MAP_GET_FD_BY_ID: u32 = 14;
    pub const OBJ_GET_INFO_BY_FD: u32 = 15;
    pub const PROG_QUERY: u32 = 16;
    pub const RAW_TRACEPOINT_OPEN: u32 = 17;
    pub const BTF_LOAD: u32 = 18;
    pub const BTF_GET_FD_BY_ID: u32 = 19;
    pub const TASK_FD_QUERY: u32 = 20;
    pub const MAP_LOOKUP_AND_DELETE_ELEM: u32 = 21;
    pub const MAP_FREEZE: u32 = 22;
    pub const BTF_GET_NEXT_ID: u32 = 23;
    pub const MAP_LOOKUP_BATCH: u32 = 24;
    pub const MAP_LOOKUP_AND_DELETE_BATCH: u32 = 25;
    pub const MAP_UPDATE_BATCH: u32 = 26;
    pub const MAP_DELETE_BATCH: u32 = 27;
    pub const LINK_CREATE: u32 = 28;
    pub const LINK_UPDATE: u32 = 29;
    pub const LINK_GET_FD_BY_ID: u32 = 30;
    pub const LINK_GET_NEXT_ID: u32 = 31;
    pub const ENABLE_STATS: u32 = 32;
    pub const ITER_CREATE: u32 = 33;
    pub const LINK_DETACH: u32 = 34;
    pub const PROG_BIND_MAP: u32 = 35;
    pub const TOKEN_CREATE: u32 = 36;
    pub const PROG_STREAM_READ_BY_FD: u32 = 37;
    pub const MAX: u32 = 38;
}

/// Linux's names of the `bpf_cmd` values.
pub const CMD_NAMES: &[(u32, &str)] = &[
    (0, "BPF_MAP_CREATE"),
    (1, "BPF_MAP_LOOKUP_ELEM"),
    (2, "BPF_MAP_UPDATE_ELEM"),
    (3, "BPF_MAP_DELETE_ELEM"),
    (4, "BPF_MAP_GET_NEXT_KEY"),
    (5, "BPF_PROG_LOAD"),
    (6, "BPF_OBJ_PIN"),
    (7, "BPF_OBJ_GET"),
    (8, "BPF_PROG_ATTACH"),
    (9, "BPF_PROG_DETACH"),
    (10, "BPF_PROG_TEST_RUN"),
    (11, "BPF_PROG_GET_NEXT_ID"),
    (12, "BPF_MAP_GET_NEXT_ID"),
    (13, "BPF_PROG_GET_FD_BY_ID"),
    (14, "BPF_MAP_GET_FD_BY_ID"),
    (15, "BPF_OBJ_GET_INFO_BY_FD"),
    (16, "BPF_PROG_QUERY"),
    (17, "BPF_RAW_TRACEPOINT_OPEN"),
    (18, "BPF_BTF_LOAD"),
    (19, "BPF_BTF_GET_FD_BY_ID"),
    (20, "BPF_TASK_FD_QUERY"),
    (21, "BPF_MAP_LOOKUP_AND_DELETE_ELEM"),
    (22, "BPF_MAP_FREEZE"),
    (23, "BPF_BTF_GET_NEXT_ID"),
    (24, "BPF_MAP_LOOKUP_BATCH"),
    (25, "BPF_MAP_LOOKUP_AND_DELETE_BATCH"),
    (26, "BPF_MAP_UPDATE_BATCH"),
    (27, "BPF_MAP_DELETE_BATCH"),
    (28, "BPF_LINK_CREATE"),
    (29, "BPF_LINK_UPDATE"),
    (30, "BPF_LINK_GET_FD_BY_ID"),
    (31, "BPF_LINK_GET_NEXT_ID"),
    (32, "BPF_ENABLE_STATS"),
    (33, "BPF_ITER_CREATE"),
    (34, "BPF_LINK_DETACH"),
    (35, "BPF_PROG_BIND_MAP"),
    (36, "BPF_TOKEN_CREATE"),
    (37, "BPF_PROG_STREAM_READ_BY_FD"),
];

/// `enum bpf_map_type`: map types.
pub mod map_type {
    #![allow(missing_docs)]
    pub const UNSPEC: u32 = 0;
    pub const HASH: u32 = 1;
    pub const ARRAY: u32 = 2;
    pub const PROG_ARRAY: u32 = 3;
    pub const PERF_EVENT_ARRAY: u32 = 4;
    pub const PERCPU_HASH: u32 = 5;
    pub const PERCPU_ARRAY: u32 = 6;
    pub const STACK_TRACE: u32 = 7;
    pub const CGROUP_ARRAY: u32 = 8;
    pub const LRU_HASH: u32 = 9;
    pub const LRU_PERCPU_HASH: u32 = 10;
    pub const LPM_TRIE: u32 = 11;
    pub const ARRAY_OF_MAPS: u32 = 12;
    pub const HASH_OF_MAPS: u32 = 13;
    pub const DEVMAP: u32 = 14;
    pub const SOCKMAP: u32 = 15;
    pub const CPUMAP: u32 = 16;
    pub const XSKMAP: u32 = 17;
    pub const SOCKHASH: u32 = 18;
    pub const CGROUP_STORAGE_DEPRECATED: u32 = 19;
    pub const CGROUP_STORAGE: u32 = 19;
    pub const REUSEPORT_SOCKARRAY: u32 = 20;
    pub const PERCPU_CGROUP_STORAGE_DEPRECATED: u32 = 21;
    pub const PERCPU_CGROUP_STORAGE: u32 = 21;
    pub const QUEUE: u32 = 22;
    pub const STACK: u32 = 23;
    pub const SK_STORAGE: u32 = 24;
    pub const DEVMAP_HASH: u32 = 25;
    pub const STRUCT_OPS: u32 = 26;
    pub const RINGBUF: u32 = 27;
    pub const INODE_STORAGE: u32 = 28;
    pub const TASK_STORAGE: u32 = 29;
    pub const BLOOM_FILTER: u32 = 30;
    pub const USER_RINGBUF: u32 = 31;
    pub const CGRP_STORAGE: u32 = 32;
    pub const ARENA: u32 = 33;
    pub const MAX: u32 = 34;
}

/// Linux's names of the `bpf_map_type` values.
pub const MAP_TYPE_NAMES: &[(u32, &str)] = &[
    (0, "BPF_MAP_TYPE_UNSPEC"),
    (1, "BPF_MAP_TYPE_HASH"),
    (2, "BPF_MAP_TYPE_ARRAY"),
    (3, "BPF_MAP_TYPE_PROG_ARRAY"),
    (4, "BPF_MAP_TYPE_PERF_EVENT_ARRAY"),
    (5, "BPF_MAP_TYPE_PERCPU_HASH"),
    (6, "BPF_MAP_TYPE_PERCPU_ARRAY"),
    (7, "BPF_MAP_TYPE_STACK_TRACE"),
    (8, "BPF_MAP_TYPE_CGROUP_ARRAY"),
    (9, "BPF_MAP_TYPE_LRU_HASH"),
    (10, "BPF_MAP_TYPE_LRU_PERCPU_HASH"),
    (11, "BPF_MAP_TYPE_LPM_TRIE"),
    (12, "BPF_MAP_TYPE_ARRAY_OF_MAPS"),
    (13, "BPF_MAP_TYPE_HASH_OF_MAPS"),
    (14, "BPF_MAP_TYPE_DEVMAP"),
    (15, "BPF_MAP_TYPE_SOCKMAP"),
    (16, "BPF_MAP_TYPE_CPUMAP"),
    (17, "BPF_MAP_TYPE_XSKMAP"),
    (18, "BPF_MAP_TYPE_SOCKHASH"),
    (19, "BPF_MAP_TYPE_CGROUP_STORAGE_DEPRECATED"),
    (20, "BPF_MAP_TYPE_REUSEPORT_SOCKARRAY"),
    (21, "BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE_DEPRECATED"),
    (22, "BPF_MAP_TYPE_QUEUE"),
    (23, "BPF_MAP_TYPE_STACK"),
    (24, "BPF_MAP_TYPE_SK_STORAGE"),
    (25, "BPF_MAP_TYPE_DEVMAP_HASH"),
    (26, "BPF_MAP_TYPE_STRUCT_OPS"),
    (27, "BPF_MAP_TYPE_RINGBUF"),
    (28, "BPF_MAP_TYPE_INODE_STORAGE"),
    (29, "BPF_MAP_TYPE_TASK_STORAGE"),
    (30, "BPF_MAP_TYPE_BLOOM_FILTER"),
    (31, "BPF_MAP_TYPE_USER_RINGBUF"),
    (32, "BPF_MAP_TYPE_CGRP_STORAGE"),
    (33, "BPF_MAP_TYPE_ARENA"),
];

/// `enum bpf_prog_type`: program types.
pub mod prog_type {
    #![allow(missing_docs)]
    pub const UNSPEC: u32 = 0;
    pub const SOCKET_FILTER: u32 = 1;
    pub const KPROBE: u32 = 2;
    pub const SCHED_CLS: u32 = 3;
    pub const SCHED_ACT: u32 = 4;
    pub const TRACEPOINT: u32 = 5;
    pub const XDP: u32 = 6;
    pub const PERF_EVENT: u32 = 7;
    pub const CGROUP_SKB: u32 = 8;
    pub const CGROUP_SOCK: u32 = 9;
    pub const LWT_IN: u32 = 10;
    pub const LWT_OUT: u32 = 11;
    pub const LWT_XMIT: u32 = 12;
    pub const SOCK_OPS: u32 = 13;
    pub const SK_SKB: u32 = 14;
    pub const CGROUP_DEVICE: u32 = 15;
    pub const SK_MSG: u32 = 16;
    pub const RAW_TRACEPOINT: u32 = 17;
    pub const CGROUP_SOCK_ADDR: u32 = 18;
    pub const LWT_SEG6LOCAL: u32 = 19;
    pub const LIRC_MODE2: u32 = 20;
    pub const SK_REUSEPORT: u32 = 21;
    pub const FLOW_DISSECTOR: u32 = 22;
    pub const CGROUP_SYSCTL: u32 = 23;
    pub const RAW_TRACEPOINT_WRITABLE: u32 = 24;
    pub const CGROUP_SOCKOPT: u32 = 25;
    pub const TRACING: u32 = 26;
    pub const STRUCT_OPS: u32 = 27;
    pub const EXT: u32 = 28;
    pub const LSM: u32 = 29;
    pub const SK_LOOKUP: u32 = 30;
    pub const SYSCALL: u32 = 31;
    pub const NETFILTER: u32 = 32;
    pub const MAX: u32 = 33;
}

/// Linux's names of the `bpf_prog_type` values.
pub const PROG_TYPE_NAMES: &[(u32, &str)] = &[
    (0, "BPF_PROG_TYPE_UNSPEC"),
    (1, "BPF_PROG_TYPE_SOCKET_FILTER"),
    (2, "BPF_PROG_TYPE_KPROBE"),
    (3, "BPF_PROG_TYPE_SCHED_CLS"),
    (4, "BPF_PROG_TYPE_SCHED_ACT"),
    (5, "BPF_PROG_TYPE_TRACEPOINT"),
    (6, "BPF_PROG_TYPE_XDP"),
    (7, "BPF_PROG_TYPE_PERF_EVENT"),
    (8, "BPF_PROG_TYPE_CGROUP_SKB"),
    (9, "BPF_PROG_TYPE_CGROUP_SOCK"),
    (10, "BPF_PROG_TYPE_LWT_IN"),
    (11, "BPF_PROG_TYPE_LWT_OUT"),
    (12, "BPF_PROG_TYPE_LWT_XMIT"),
    (13, "BPF_PROG_TYPE_SOCK_OPS"),
    (14, "BPF_PROG_TYPE_SK_SKB"),
    (15, "BPF_PROG_TYPE_CGROUP_DEVICE"),
    (16, "BPF_PROG_TYPE_SK_MSG"),
    (17, "BPF_PROG_TYPE_RAW_TRACEPOINT"),
    (18, "BPF_PROG_TYPE_CGROUP_SOCK_ADDR"),
    (19, "BPF_PROG_TYPE_LWT_SEG6LOCAL"),
    (20, "BPF_PROG_TYPE_LIRC_MODE2"),
    (21, "BPF_PROG_TYPE_SK_REUSEPORT"),
    (22, "BPF_PROG_TYPE_FLOW_DISSECTOR"),
    (23, "BPF_PROG_TYPE_CGROUP_SYSCTL"),
    (24, "BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE"),
    (25, "BPF_PROG_TYPE_CGROUP_SOCKOPT"),
    (26, "BPF_PROG_TYPE_TRACING"),
    (27, "BPF_PROG_TYPE_STRUCT_OPS"),
    (28, "BPF_PROG_TYPE_EXT"),
    (29, "BPF_PROG_TYPE_LSM"),
    (30, "BPF_PROG_TYPE_SK_LOOKUP"),
    (31, "BPF_PROG_TYPE_SYSCALL"),
    (32, "BPF_PROG_TYPE_NETFILTER"),
];

/// `enum bpf_attach_type`: attach types.
pub mod attach_type {
    #![allow(missing_docs)]
    pub const CGROUP_INET_INGRESS: u32 = 0;
    pub const CGROUP_INET_EGRESS: u32 = 1;
    pub const CGROUP_INET_SOCK_CREATE: u32 = 2;
    pub const CGROUP_SOCK_OPS: u32 = 3;
    pub const SK_SKB_STREAM_PARSER: u32 = 4;
    pub const SK_SKB_STREAM_VERDICT: u32 = 5;
    pub const CGROUP_DEVICE: u32 = 6;
    pub const SK_MSG_VERDICT: u32 = 7;
    pub const CGROUP_INET4_BIND: u32 = 8;
    pub const CGROUP_INET6_BIND: u32 = 9;
    pub const CGROUP_INET4_CONNECT: u32 = 10;
    pub const CGROUP_INET6_CONNECT: u32 = 11;
    pub const CGROUP_INET4_POST_BIND: u32 = 12;
    pub const CGROUP_INET6_POST_BIND: u32 = 13;
    pub const CGROUP_UDP4_SENDMSG: u32 = 14;
    pub const CGROUP_UDP6_SENDMSG: u32 = 15;
    pub const LIRC_MODE2: u32 = 16;
    pub const FLOW_DISSECTOR: u32 = 17;
    pub const CGROUP_SYSCTL: u32 = 18;
    pub const CGROUP_UDP4_RECVMSG: u32 = 19;
    pub const CGROUP_UDP6_RECVMSG: u32 = 20;
    pub const CGROUP_GETSOCKOPT: u32 = 21;
    pub const CGROUP_SETSOCKOPT: u32 = 22;
    pub const TRACE_RAW_TP: u32 = 23;
    pub const TRACE_FENTRY: u32 = 24;
    pub const TRACE_FEXIT: u32 = 25;
    pub const MODIFY_RETURN: u32 = 26;
    pub const LSM_MAC: u32 = 27;
    pub const TRACE_ITER: u32 = 28;
    pub const CGROUP_INET4_GETPEERNAME: u32 = 29;
    pub const CGROUP_INET6_GETPEERNAME: u32 = 30;
    pub const CGROUP_INET4_GETSOCKNAME: u32 = 31;
    pub const CGROUP_INET6_GETSOCKNAME: u32 = 32;
    pub const XDP_DEVMAP: u32 = 33;
    pub const CGROUP_INET_SOCK_RELEASE: u32 = 34;
    pub const XDP_CPUMAP: u32 = 35;
    pub const SK_LOOKUP: u32 = 36;
    pub const XDP: u32 = 37;
    pub const SK_SKB_VERDICT: u32 = 38;
    pub const SK_REUSEPORT_SELECT: u32 = 39;
    pub const SK_REUSEPORT_SELECT_OR_MIGRATE: u32 = 40;
    pub const PERF_EVENT: u32 = 41;
    pub const TRACE_KPROBE_MULTI: u32 = 42;
    pub const LSM_CGROUP: u32 = 43;
    pub const STRUCT_OPS: u32 = 44;
    pub const NETFILTER: u32 = 45;
    pub const TCX_INGRESS: u32 = 46;
    pub const TCX_EGRESS: u32 = 47;
    pub const TRACE_UPROBE_MULTI: u32 = 48;
    pub const CGROUP_UNIX_CONNECT: u32 = 49;
    pub const CGROUP_UNIX_SENDMSG: u32 = 50;
    pub const CGROUP_UNIX_RECVMSG: u32 = 51;
    pub const CGROUP_UNIX_GETPEERNAME: u32 = 52;
    pub const CGROUP_UNIX_GETSOCKNAME: u32 = 53;
    pub const NETKIT_PRIMARY: u32 = 54;
    pub const NETKIT_PEER: u32 = 55;
    pub const TRACE_KPROBE_SESSION: u32 = 56;
    pub const TRACE_UPROBE_SESSION: u32 = 57;
    pub const MAX: u32 = 58;
}

/// Linux's names of the `bpf_attach_type` values.
pub const ATTACH_TYPE_NAMES: &[(u32, &str)] = &[
    (0, "BPF_CGROUP_INET_INGRESS"),
    (1, "BPF_CGROUP_INET_EGRESS"),
    (2, "BPF_CGROUP_INET_SOCK_CREATE"),
    (3, "BPF_CGROUP_SOCK_OPS"),
    (4, "BPF_SK_SKB_STREAM_PARSER"),
    (5, "BPF_SK_SKB_STREAM_VERDICT"),
    (6, "BPF_CGROUP_DEVICE"),
    (7, "BPF_SK_MSG_VERDICT"),
    (8, "BPF_CGROUP_INET4_BIND"),
    (9, "BPF_CGROUP_INET6_BIND"),
    (10, "BPF_CGROUP_INET4_CONNECT"),
    (11, "BPF_CGROUP_INET6_CONNECT"),
    (12, "BPF_CGROUP_INET4_POST_BIND"),
    (13, "BPF_CGROUP_INET6_POST_BIND"),
    (14, "BPF_CGROUP_UDP4_SENDMSG"),
    (15, "BPF_CGROUP_UDP6_SENDMSG"),
    (16, "BPF_LIRC_MODE2"),
    (17, "BPF_FLOW_DISSECTOR"),
    (18, "BPF_CGROUP_SYSCTL"),
    (19, "BPF_CGROUP_UDP4_RECVMSG"),
    (20, "BPF_CGROUP_UDP6_RECVMSG"),
    (21, "BPF_CGROUP_GETSOCKOPT"),
    (22, "BPF_CGROUP_SETSOCKOPT"),
    (23, "BPF_TRACE_RAW_TP"),
    (24, "BPF_TRACE_FENTRY"),
    (25, "BPF_TRACE_FEXIT"),
    (26, "BPF_MODIFY_RETURN"),
    (27, "BPF_LSM_MAC"),
    (28, "BPF_TRACE_ITER"),
    (29, "BPF_CGROUP_INET4_GETPEERNAME"),
    (30, "BPF_CGROUP_INET6_GETPEERNAME"),
    (31, "BPF_CGROUP_INET4_GETSOCKNAME"),
    (32, "BPF_CGROUP_INET6_GETSOCKNAME"),
    (33, "BPF_XDP_DEVMAP"),
    (34, "BPF_CGROUP_INET_SOCK_RELEASE"),
    (35, "BPF_XDP_CPUMAP"),
    (36, "BPF_SK_LOOKUP"),
    (37, "BPF_XDP"),
    (38, "BPF_SK_SKB_VERDICT"),
    (39, "BPF_SK_REUSEPORT_SELECT"),
    (40, "BPF_SK_REUSEPORT_SELECT_OR_MIGRATE"),
    (41, "BPF_PERF_EVENT"),
    (42, "BPF_TRACE_KPROBE_MULTI"),
    (43, "BPF_LSM_CGROUP"),
    (44, "BPF_STRUCT_OPS"),
    (45, "BPF_NETFILTER"),
    (46, "BPF_TCX_INGRESS"),
    (47, "BPF_TCX_EGRESS"),
    (48, "BPF_TRACE_UPROBE_MULTI"),
    (49, "BPF_CGROUP_UNIX_CONNECT"),
    (50, "BPF_CGROUP_UNIX_SENDMSG"),
    (51, "BPF_CGROUP_UNIX_RECVMSG"),
    (52, "BPF_CGROUP_UNIX_GETPEERNAME"),
    (53, "BPF_CGROUP_UNIX_GETSOCKNAME"),
    (54, "BPF_NETKIT_PRIMARY"),
    (55, "BPF_NETKIT_PEER"),
    (56, "BPF_TRACE_KPROBE_SESSION"),
    (57, "BPF_TRACE_UPROBE_SESSION"),
];

/// `enum bpf_link_type`: link types.
pub mod link_type {
    #![allow(missing_docs)]
    pub const UNSPEC: u32 = 0;
    pub const RAW_TRACEPOINT: u32 = 1;
    pub const TRACING: u32 = 2;
    pub const CGROUP: u32 = 3;
    pub const ITER: u32 = 4;
    pub const NETNS: u32 = 5;
    pub const XDP: u32 = 6;
    pub const PERF_EVENT: u32 = 7;
    pub const KPROBE_MULTI: u32 = 8;
    pub const STRUCT_OPS: u32 = 9;
    pub const NETFILTER: u32 = 10;
    pub const TCX: u32 = 11;
    pub const UPROBE_MULTI: u32 = 12;
    pub const NETKIT: u32 = 13;
    pub const SOCKMAP: u32 = 14;
    pub const MAX: u32 = 15;
}

/// Linux's names of the `bpf_link_type` values.
pub const LINK_TYPE_NAMES: &[(u32, &str)] = &[
    (0, "BPF_LINK_TYPE_UNSPEC"),
    (1, "BPF_LINK_TYPE_RAW_TRACEPOINT"),
    (2, "BPF_LINK_TYPE_TRACING"),
    (3, "BPF_LINK_TYPE_CGROUP"),
    (4, "BPF_LINK_TYPE_ITER"),
    (5, "BPF_LINK_TYPE_NETNS"),
    (6, "BPF_LINK_TYPE_XDP"),
    (7, "BPF_LINK_TYPE_PERF_EVENT"),
    (8, "BPF_LINK_TYPE_KPROBE_MULTI"),
    (9, "BPF_LINK_TYPE_STRUCT_OPS"),
    (10, "BPF_LINK_TYPE_NETFILTER"),
    (11, "BPF_LINK_TYPE_TCX"),
    (12, "BPF_LINK_TYPE_UPROBE_MULTI"),
    (13, "BPF_LINK_TYPE_NETKIT"),
    (14, "BPF_LINK_TYPE_SOCKMAP"),
];

/// Looks up a value's name in one of the tables above.
pub fn name_of(table: &[(u32, &'static str)], value: u32) -> Option<&'static str> {
    table.iter().find(|(v, _)| *v == value).map(|(_, n)| *n)
}
