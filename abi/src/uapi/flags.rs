//! Flag values of the `bpf()` attributes (Linux 6.18 UAPI).
#![allow(missing_docs)]

/// `BPF_MAP_UPDATE_ELEM` flags.
pub mod update {
    /// Create or update.
    pub const BPF_ANY: u64 = 0;
    /// Create only.
    pub const BPF_NOEXIST: u64 = 1;
    /// Update only.
    pub const BPF_EXIST: u64 = 2;
    /// Take the value's spin lock.
    pub const BPF_F_LOCK: u64 = 4;
}

/// `map_flags` of `BPF_MAP_CREATE`.
pub mod map {
    pub const BPF_F_NO_PREALLOC: u32 = 1 << 0;
    pub const BPF_F_NO_COMMON_LRU: u32 = 1 << 1;
    pub const BPF_F_NUMA_NODE: u32 = 1 << 2;
    pub const BPF_F_RDONLY: u32 = 1 << 3;
    pub const BPF_F_WRONLY: u32 = 1 << 4;
    pub const BPF_F_STACK_BUILD_ID: u32 = 1 << 5;
    pub const BPF_F_ZERO_SEED: u32 = 1 << 6;
    pub const BPF_F_RDONLY_PROG: u32 = 1 << 7;
    pub const BPF_F_WRONLY_PROG: u32 = 1 << 8;
    pub const BPF_F_CLONE: u32 = 1 << 9;
    pub const BPF_F_MMAPABLE: u32 = 1 << 10;
    pub const BPF_F_PRESERVE_ELEMS: u32 = 1 << 11;
    pub const BPF_F_INNER_MAP: u32 = 1 << 12;
    pub const BPF_F_LINK: u32 = 1 << 13;
    pub const BPF_F_PATH_FD: u32 = 1 << 14;
    pub const BPF_F_VTYPE_BTF_OBJ_FD: u32 = 1 << 15;
    pub const BPF_F_TOKEN_FD: u32 = 1 << 16;
    pub const BPF_F_SEGV_ON_FAULT: u32 = 1 << 17;
    pub const BPF_F_NO_USER_CONV: u32 = 1 << 18;
}

/// `prog_flags` of `BPF_PROG_LOAD`.
pub mod prog {
    pub const BPF_F_STRICT_ALIGNMENT: u32 = 1 << 0;
    pub const BPF_F_ANY_ALIGNMENT: u32 = 1 << 1;
    pub const BPF_F_TEST_RND_HI32: u32 = 1 << 2;
    pub const BPF_F_TEST_STATE_FREQ: u32 = 1 << 3;
    pub const BPF_F_SLEEPABLE: u32 = 1 << 4;
    pub const BPF_F_XDP_HAS_FRAGS: u32 = 1 << 5;
    pub const BPF_F_XDP_DEV_BOUND_ONLY: u32 = 1 << 6;
    pub const BPF_F_TEST_REG_INVARIANTS: u32 = 1 << 7;
    pub const BPF_F_TOKEN_FD: u32 = 1 << 16;
}

/// `attach_flags` of `BPF_PROG_ATTACH`.
pub mod attach {
    pub const BPF_F_ALLOW_OVERRIDE: u32 = 1 << 0;
    pub const BPF_F_ALLOW_MULTI: u32 = 1 << 1;
    pub const BPF_F_REPLACE: u32 = 1 << 2;
    pub const BPF_F_BEFORE: u32 = 1 << 3;
    pub const BPF_F_AFTER: u32 = 1 << 4;
    pub const BPF_F_ID: u32 = 1 << 5;
    pub const BPF_F_LINK: u32 = 1 << 13;
}

/// `flags` of `BPF_PROG_TEST_RUN`.
pub mod test_run {
    pub const BPF_F_TEST_RUN_ON_CPU: u32 = 1 << 0;
    pub const BPF_F_TEST_XDP_LIVE_FRAMES: u32 = 1 << 1;
    pub const BPF_F_TEST_SKB_CHECKSUM_COMPLETE: u32 = 1 << 2;
}

/// Flags of `bpf_ringbuf_output`/`submit`/`discard`, and `bpf_ringbuf_query`
/// selectors.
pub mod ringbuf {
    pub const BPF_RB_NO_WAKEUP: u64 = 1 << 0;
    pub const BPF_RB_FORCE_WAKEUP: u64 = 1 << 1;
    pub const BPF_RB_AVAIL_DATA: u64 = 0;
    pub const BPF_RB_RING_SIZE: u64 = 1;
    pub const BPF_RB_CONS_POS: u64 = 2;
    pub const BPF_RB_PROD_POS: u64 = 3;
    pub const BPF_RB_OVERWRITE_POS: u64 = 4;
}

/// `file_flags` of `BPF_OBJ_GET` and `open_flags` of `*_GET_FD_BY_ID`.
pub mod file {
    pub const BPF_F_RDONLY: u32 = 1 << 3;
    pub const BPF_F_WRONLY: u32 = 1 << 4;
}

/// Lengths.
pub const BPF_OBJ_NAME_LEN: usize = 16;
/// Length of a program tag.
pub const BPF_TAG_SIZE: usize = 8;
