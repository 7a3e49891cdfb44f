//! `union bpf_attr`, one `#[repr(C)]` struct per command's part, and the
//! `bpf_*_info` structures, with Linux 6.18's layout: every size and field
//! offset below is asserted at compile time (numbers read from the 6.18
//! kernel's BTF), and a test compares them with the running kernel's BTF.
//!
//! Anonymous unions of same-sized fields are one field named after their
//! first member (its doc names the others); the per-attach-type union of
//! `BPF_LINK_CREATE` is kept as raw words (`tail`).
//!
//! Structures are read from and written to byte buffers field by field, so
//! no unsafe code is needed to copy a user's `bpf_attr`.

use crate::uapi::errno::Errno;
use core::mem::{offset_of, size_of};

/// `sizeof(union bpf_attr)` in Linux 6.18.
pub const BPF_ATTR_SIZE: usize = 168;

/// Linux's rule for an attribute of `bytes.len()` bytes when the kernel
/// knows `known` bytes of it: a shorter one is zero-extended; a longer one
/// is accepted only if every byte beyond `known` is zero, else `E2BIG`.
pub fn check_attr_tail(bytes: &[u8], known: usize) -> Result<(), Errno> {
    if bytes.len() > known && bytes[known..].iter().any(|&b| b != 0) {
        return Err(Errno::E2BIG);
    }
    Ok(())
}

/// A field type that can be read from and written to little-endian bytes.
pub trait Field: Sized {
    /// Reads at `off`; bytes past the end of `b` read as zero.
    fn read(b: &[u8], off: usize) -> Self;
    /// Writes at `off`; bytes past the end of `out` are dropped.
    fn write(&self, out: &mut [u8], off: usize);
}

fn read_n<const N: usize>(b: &[u8], off: usize) -> [u8; N] {
    let mut v = [0u8; N];
    for (i, x) in v.iter_mut().enumerate() {
        *x = b.get(off + i).copied().unwrap_or(0);
    }
    v
}

fn write_n(out: &mut [u8], off: usize, v: &[u8]) {
    for (i, x) in v.iter().enumerate() {
        if let Some(o) = out.get_mut(off + i) {
            *o = *x;
        }
    }
}

macro_rules! int_field {
    ($($t:ty),*) => {$(
        impl Field for $t {
            fn read(b: &[u8], off: usize) -> Self {
                <$t>::from_le_bytes(read_n(b, off))
            }
            fn write(&self, out: &mut [u8], off: usize) {
                write_n(out, off, &self.to_le_bytes());
            }
        }
    )*};
}

int_field!(u8, u16, u32, i32, u64, i64);

impl<T: Field + Copy + Default, const N: usize> Field for [T; N] {
    fn read(b: &[u8], off: usize) -> Self {
        let mut v = [T::default(); N];
        for (i, x) in v.iter_mut().enumerate() {
            *x = T::read(b, off + i * size_of::<T>());
        }
        v
    }
    fn write(&self, out: &mut [u8], off: usize) {
        for (i, x) in self.iter().enumerate() {
            x.write(out, off + i * size_of::<T>());
        }
    }
}

/// Declares a `#[repr(C)]` attribute structure with its byte conversions
/// and its field table. The number is its member index in `union
/// bpf_attr` (-1 for the info structures), for the BTF layout test.
macro_rules! attr_struct {
    ($(#[$m:meta])* $name:ident ($index:expr) { $($(#[$fm:meta])* $f:ident : $t:ty,)* }) => {
        $(#[$m])*
        #[repr(C)]
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name {
            $($(#[$fm])* pub $f: $t,)*
        }

        impl $name {
            /// Size in bytes.
            pub const SIZE: usize = size_of::<Self>();
            /// Member index in `union bpf_attr` (-1: not part of it).
            pub const ATTR_INDEX: i32 = $index;
            /// Field names (as in Linux) and offsets.
            pub const FIELDS: &'static [(&'static str, usize)] =
                &[$((stringify!($f), offset_of!(Self, $f)),)*];

            /// Reads from the start of `bytes`; missing bytes are zero.
            pub fn from_bytes(bytes: &[u8]) -> Self {
                Self { $($f: Field::read(bytes, offset_of!(Self, $f)),)* }
            }

            /// Writes into the start of `out` (bytes past its end are
            /// dropped).
            pub fn write_to(&self, out: &mut [u8]) {
                $(Field::write(&self.$f, out, offset_of!(Self, $f));)*
            }
        }
    };
}

attr_struct! {
    /// The part of `union bpf_attr` for `BPF_MAP_CREATE`.
    MapCreateAttr (0) {
        /// `map_type`.
        map_type: u32,
        /// `key_size`.
        key_size: u32,
        /// `value_size`.
        value_size: u32,
        /// `max_entries`.
        max_entries: u32,
        /// `map_flags`.
        map_flags: u32,
        /// `inner_map_fd`.
        inner_map_fd: u32,
        /// `numa_node`.
        numa_node: u32,
        /// `map_name`.
        map_name: [u8; 16],
        /// `map_ifindex`.
        map_ifindex: u32,
        /// `btf_fd`.
        btf_fd: u32,
        /// `btf_key_type_id`.
        btf_key_type_id: u32,
        /// `btf_value_type_id`.
        btf_value_type_id: u32,
        /// `btf_vmlinux_value_type_id`.
        btf_vmlinux_value_type_id: u32,
        /// `map_extra`.
        map_extra: u64,
        /// `value_type_btf_obj_fd`.
        value_type_btf_obj_fd: i32,
        /// `map_token_fd`.
        map_token_fd: i32,
        /// `excl_prog_hash`.
        excl_prog_hash: u64,
        /// `excl_prog_hash_size`.
        excl_prog_hash_size: u32,
    }
}

attr_struct! {
    /// The part of `union bpf_attr` for `BPF_MAP_*_ELEM` and `BPF_MAP_GET_NEXT_KEY` (`value` is also `next_key`).
    MapElemAttr (1) {
        /// `map_fd`.
        map_fd: u32,
        /// `key`.
        key: u64,
        /// `value` (also `next_key`).
        value: u64,
        /// `flags`.
        flags: u64,
    }
}

attr_struct! {
    /// The part of `union bpf_attr` for the `BPF_MAP_*_BATCH` commands.
    MapBatchAttr (2) {
        /// `in_batch`.
        in_batch: u64,
        /// `out_batch`.
        out_batch: u64,
        /// `keys`.
        keys: u64,
        /// `values`.
        values: u64,
        /// `count`.
        count: u32,
        /// `map_fd`.
        map_fd: u32,
        /// `elem_flags`.
        elem_flags: u64,
        /// `flags`.
        flags: u64,
    }
}

attr_struct! {
    /// The part of `union bpf_attr` for `BPF_PROG_LOAD`.
    ProgLoadAttr (3) {
        /// `prog_type`.
        prog_type: u32,
        /// `insn_cnt`.
        insn_cnt: u32,
        /// `insns`.
        insns: u64,
        /// `license`.
        license: u64,
        /// `log_level`.
        log_level: u32,
        /// `log_size`.
        log_size: u32,
        /// `log_buf`.
        log_buf: u64,
        /// `kern_version`.
        kern_version: u32,
        /// `prog_flags`.
        prog_flags: u32,
        /// `prog_name`.
        prog_name: [u8; 16],
        /// `prog_ifindex`.
        prog_ifindex: u32,
        /// `expected_attach_type`.
        expected_attach_type: u32,
        /// `prog_btf_fd`.
        prog_btf_fd: u32,
        /// `func_info_rec_size`.
        func_info_rec_size: u32,
        /// `func_info`.
        func_info: u64,
        /// `func_info_cnt`.
        func_info_cnt: u32,
        /// `line_info_rec_size`.
        line_info_rec_size: u32,
        /// `line_info`.
        line_info: u64,
        /// `line_info_cnt`.
        line_info_cnt: u32,
        /// `attach_btf_id`.
        attach_btf_id: u32,
        /// `attach_prog_fd` (also `attach_btf_obj_fd`).
        attach_prog_fd: u32,
        /// `core_relo_cnt`.
        core_relo_cnt: u32,
        /// `fd_array`.
        fd_array: u64,
        /// `core_relos`.
        core_relos: u64,
        /// `core_relo_rec_size`.
        core_relo_rec_size: u32,
        /// `log_true_size`.
        log_true_size: u32,
        /// `prog_token_fd`.
        prog_token_fd: i32,
        /// `fd_array_cnt`.
        fd_array_cnt: u32,
        /// `signature`.
        signature: u64,
        /// `signature_size`.
        signature_size: u32,
        /// `keyring_id`.
        keyring_id: i32,
    }
}

attr_struct! {
    /// The part of `union bpf_attr` for `BPF_OBJ_PIN` and `BPF_OBJ_GET`.
    ObjAttr (4) {
        /// `pathname`.
        pathname: u64,
        /// `bpf_fd`.
        bpf_fd: u32,
        /// `file_flags`.
        file_flags: u32,
        /// `path_fd`.
        path_fd: i32,
    }
}

attr_struct! {
    /// The part of `union bpf_attr` for `BPF_PROG_ATTACH` and `BPF_PROG_DETACH`.
    ProgAttachAttr (5) {
        /// `target_fd` (also `target_ifindex`).
        target_fd: u32,
        /// `attach_bpf_fd`.
        attach_bpf_fd: u32,
        /// `attach_type`.
        attach_type: u32,
        /// `attach_flags`.
        attach_flags: u32,
        /// `replace_bpf_fd`.
        replace_bpf_fd: u32,
        /// `relative_fd` (also `relative_id`).
        relative_fd: u32,
        /// `expected_revision`.
        expected_revision: u64,
    }
}

attr_struct! {
    /// The part of `union bpf_attr` for `BPF_PROG_TEST_RUN`.
    TestRunAttr (6) {
        /// `prog_fd`.
        prog_fd: u32,
        /// `retval`.
        retval: u32,
        /// `data_size_in`.
        data_size_in: u32,
        /// `data_size_out`.
        data_size_out: u32,
        /// `data_in`.
        data_in: u64,
        /// `data_out`.
        data_out: u64,
        /// `repeat`.
        repeat: u32,
        /// `duration`.
        duration: u32,
        /// `ctx_size_in`.
        ctx_size_in: u32,
        /// `ctx_size_out`.
        ctx_size_out: u32,
        /// `ctx_in`.
        ctx_in: u64,
        /// `ctx_out`.
        ctx_out: u64,
        /// `flags`.
        flags: u32,
        /// `cpu`.
        cpu: u32,
        /// `batch_size`.
        batch_size: u32,
    }
}

attr_struct! {
    /// The part of `union bpf_attr` for `BPF_*_GET_NEXT_ID` and `BPF_*_GET_FD_BY_ID`.
    GetIdAttr (7) {
        /// `start_id` (also `prog_id`, `map_id`, `btf_id`, `link_id`).
        start_id: u32,
        /// `next_id`.
        next_id: u32,
        /// `open_flags`.
        open_flags: u32,
        /// `fd_by_id_token_fd`.
        fd_by_id_token_fd: i32,
    }
}

attr_struct! {
    /// The part of `union bpf_attr` for `BPF_OBJ_GET_INFO_BY_FD`.
    InfoAttr (8) {
        /// `bpf_fd`.
        bpf_fd: u32,
        /// `info_len`.
        info_len: u32,
        /// `info`.
        info: u64,
    }
}

attr_struct! {
    /// The part of `union bpf_attr` for `BPF_PROG_QUERY`.
    ProgQueryAttr (9) {
        /// `target_fd` (also `target_ifindex`).
        target_fd: u32,
        /// `attach_type`.
        attach_type: u32,
        /// `query_flags`.
        query_flags: u32,
        /// `attach_flags`.
        attach_flags: u32,
        /// `prog_ids`.
        prog_ids: u64,
        /// `prog_cnt` (also `count`).
        prog_cnt: u32,
        /// `prog_attach_flags`.
        prog_attach_flags: u64,
        /// `link_ids`.
        link_ids: u64,
        /// `link_attach_flags`.
        link_attach_flags: u64,
        /// `revision`.
        revision: u64,
    }
}

attr_struct! {
    /// The part of `union bpf_attr` for `BPF_RAW_TRACEPOINT_OPEN`.
    RawTracepointOpenAttr (10) {
        /// `name`.
        name: u64,
        /// `prog_fd`.
        prog_fd: u32,
        /// `cookie`.
        cookie: u64,
    }
}

attr_struct! {
    /// The part of `union bpf_attr` for `BPF_BTF_LOAD`.
    BtfLoadAttr (11) {
        /// `btf`.
        btf: u64,
        /// `btf_log_buf`.
        btf_log_buf: u64,
        /// `btf_size`.
        btf_size: u32,
        /// `btf_log_size`.
        btf_log_size: u32,
        /// `btf_log_level`.
        btf_log_level: u32,
        /// `btf_log_true_size`.
        btf_log_true_size: u32,
        /// `btf_flags`.
        btf_flags: u32,
        /// `btf_token_fd`.
        btf_token_fd: i32,
    }
}

attr_struct! {
    /// The part of `union bpf_attr` for `BPF_TASK_FD_QUERY`.
    TaskFdQueryAttr (12) {
        /// `pid`.
        pid: u32,
        /// `fd`.
        fd: u32,
        /// `flags`.
        flags: u32,
        /// `buf_len`.
        buf_len: u32,
        /// `buf`.
        buf: u64,
        /// `prog_id`.
        prog_id: u32,
        /// `fd_type`.
        fd_type: u32,
        /// `probe_offset`.
        probe_offset: u64,
        /// `probe_addr`.
        probe_addr: u64,
    }
}

attr_struct! {
    /// The part of `union bpf_attr` for `BPF_LINK_CREATE`.
    LinkCreateAttr (13) {
        /// `prog_fd` (also `map_fd`).
        prog_fd: u32,
        /// `target_fd` (also `target_ifindex`).
        target_fd: u32,
        /// `attach_type`.
        attach_type: u32,
        /// `flags`.
        flags: u32,
        /// `tail` (per-attach-type union).
        tail: [u64; 6],
    }
}

attr_struct! {
    /// The part of `union bpf_attr` for `BPF_LINK_UPDATE`.
    LinkUpdateAttr (14) {
        /// `link_fd`.
        link_fd: u32,
        /// `new_prog_fd` (also `new_map_fd`).
        new_prog_fd: u32,
        /// `flags`.
        flags: u32,
        /// `old_prog_fd` (also `old_map_fd`).
        old_prog_fd: u32,
    }
}

attr_struct! {
    /// The part of `union bpf_attr` for `BPF_LINK_DETACH`.
    LinkDetachAttr (15) {
        /// `link_fd`.
        link_fd: u32,
    }
}

attr_struct! {
    /// The part of `union bpf_attr` for `BPF_ENABLE_STATS`.
    EnableStatsAttr (16) {
        /// `type`.
        type_: u32,
    }
}

attr_struct! {
    /// The part of `union bpf_attr` for `BPF_ITER_CREATE`.
    IterCreateAttr (17) {
        /// `link_fd`.
        link_fd: u32,
        /// `flags`.
        flags: u32,
    }
}

attr_struct! {
    /// The part of `union bpf_attr` for `BPF_PROG_BIND_MAP`.
    ProgBindMapAttr (18) {
        /// `prog_fd`.
        prog_fd: u32,
        /// `map_fd`.
        map_fd: u32,
        /// `flags`.
        flags: u32,
    }
}

attr_struct! {
    /// The part of `union bpf_attr` for `BPF_TOKEN_CREATE`.
    TokenCreateAttr (19) {
        /// `flags`.
        flags: u32,
        /// `bpffs_fd`.
        bpffs_fd: u32,
    }
}

attr_struct! {
    /// The part of `union bpf_attr` for `BPF_PROG_STREAM_READ_BY_FD`.
    ProgStreamReadAttr (20) {
        /// `stream_buf`.
        stream_buf: u64,
        /// `stream_buf_len`.
        stream_buf_len: u32,
        /// `stream_id`.
        stream_id: u32,
        /// `prog_fd`.
        prog_fd: u32,
    }
}
attr_struct! {
    /// `struct bpf_prog_info`.
    ProgInfo (-1) {
        /// `type`.
        type_: u32,
        /// `id`.
        id: u32,
        /// `tag`.
        tag: [u8; 8],
        /// `jited_prog_len`.
        jited_prog_len: u32,
        /// `xlated_prog_len`.
        xlated_prog_len: u32,
        /// `jited_prog_insns`.
        jited_prog_insns: u64,
        /// `xlated_prog_insns`.
        xlated_prog_insns: u64,
        /// `load_time`.
        load_time: u64,
        /// `created_by_uid`.
        created_by_uid: u32,
        /// `nr_map_ids`.
        nr_map_ids: u32,
        /// `map_ids`.
        map_ids: u64,
        /// `name`.
        name: [u8; 16],
        /// `ifindex`.
        ifindex: u32,
        /// `gpl_compatible`.
        gpl_compatible: u32,
        /// `netns_dev`.
        netns_dev: u64,
        /// `netns_ino`.
        netns_ino: u64,
        /// `nr_jited_ksyms`.
        nr_jited_ksyms: u32,
        /// `nr_jited_func_lens`.
        nr_jited_func_lens: u32,
        /// `jited_ksyms`.
        jited_ksyms: u64,
        /// `jited_func_lens`.
        jited_func_lens: u64,
        /// `btf_id`.
        btf_id: u32,
        /// `func_info_rec_size`.
        func_info_rec_size: u32,
        /// `func_info`.
        func_info: u64,
        /// `nr_func_info`.
        nr_func_info: u32,
        /// `nr_line_info`.
        nr_line_info: u32,
        /// `line_info`.
        line_info: u64,
        /// `jited_line_info`.
        jited_line_info: u64,
        /// `nr_jited_line_info`.
        nr_jited_line_info: u32,
        /// `line_info_rec_size`.
        line_info_rec_size: u32,
        /// `jited_line_info_rec_size`.
        jited_line_info_rec_size: u32,
        /// `nr_prog_tags`.
        nr_prog_tags: u32,
        /// `prog_tags`.
        prog_tags: u64,
        /// `run_time_ns`.
        run_time_ns: u64,
        /// `run_cnt`.
        run_cnt: u64,
        /// `recursion_misses`.
        recursion_misses: u64,
        /// `verified_insns`.
        verified_insns: u32,
        /// `attach_btf_obj_id`.
        attach_btf_obj_id: u32,
        /// `attach_btf_id`.
        attach_btf_id: u32,
    }
}

attr_struct! {
    /// `struct bpf_map_info`.
    MapInfo (-1) {
        /// `type`.
        type_: u32,
        /// `id`.
        id: u32,
        /// `key_size`.
        key_size: u32,
        /// `value_size`.
        value_size: u32,
        /// `max_entries`.
        max_entries: u32,
        /// `map_flags`.
        map_flags: u32,
        /// `name`.
        name: [u8; 16],
        /// `ifindex`.
        ifindex: u32,
        /// `btf_vmlinux_value_type_id`.
        btf_vmlinux_value_type_id: u32,
        /// `netns_dev`.
        netns_dev: u64,
        /// `netns_ino`.
        netns_ino: u64,
        /// `btf_id`.
        btf_id: u32,
        /// `btf_key_type_id`.
        btf_key_type_id: u32,
        /// `btf_value_type_id`.
        btf_value_type_id: u32,
        /// `btf_vmlinux_id`.
        btf_vmlinux_id: u32,
        /// `map_extra`.
        map_extra: u64,
        /// `hash`.
        hash: u64,
        /// `hash_size`.
        hash_size: u32,
    }
}

attr_struct! {
    /// `struct bpf_btf_info`.
    BtfInfo (-1) {
        /// `btf`.
        btf: u64,
        /// `btf_size`.
        btf_size: u32,
        /// `id`.
        id: u32,
        /// `name`.
        name: u64,
        /// `name_len`.
        name_len: u32,
        /// `kernel_btf`.
        kernel_btf: u32,
    }
}
// Layouts of Linux 6.18 (from its BTF).
const _: () = assert!(offset_of!(MapCreateAttr, map_type) == 0);
const _: () = assert!(offset_of!(MapCreateAttr, key_size) == 4);
const _: () = assert!(offset_of!(MapCreateAttr, value_size) == 8);
const _: () = assert!(offset_of!(MapCreateAttr, max_entries) == 12);
const _: () = assert!(offset_of!(MapCreateAttr, map_flags) == 16);
const _: () = assert!(offset_of!(MapCreateAttr, inner_map_fd) == 20);
const _: () = assert!(offset_of!(MapCreateAttr, numa_node) == 24);
const _: () = assert!(offset_of!(MapCreateAttr, map_name) == 28);
const _: () = assert!(offset_of!(MapCreateAttr, map_ifindex) == 44);
const _: () = assert!(offset_of!(MapCreateAttr, btf_fd) == 48);
const _: () = assert!(offset_of!(MapCreateAttr, btf_key_type_id) == 52);
const _: () = assert!(offset_of!(MapCreateAttr, btf_value_type_id) == 56);
const _: () = assert!(offset_of!(MapCreateAttr, btf_vmlinux_value_type_id) == 60);
const _: () = assert!(offset_of!(MapCreateAttr, map_extra) == 64);
const _: () = assert!(offset_of!(MapCreateAttr, value_type_btf_obj_fd) == 72);
const _: () = assert!(offset_of!(MapCreateAttr, map_token_fd) == 76);
const _: () = assert!(offset_of!(MapCreateAttr, excl_prog_hash) == 80);
const _: () = assert!(offset_of!(MapCreateAttr, excl_prog_hash_size) == 88);
const _: () = assert!(size_of::<MapCreateAttr>() == 96);
const _: () = assert!(offset_of!(MapElemAttr, map_fd) == 0);
const _: () = assert!(offset_of!(MapElemAttr, key) == 8);
const _: () = assert!(offset_of!(MapElemAttr, value) == 16);
const _: () = assert!(offset_of!(MapElemAttr, flags) == 24);
const _: () = assert!(size_of::<MapElemAttr>() == 32);
const _: () = assert!(offset_of!(MapBatchAttr, in_batch) == 0);
const _: () = assert!(offset_of!(MapBatchAttr, out_batch) == 8);
const _: () = assert!(offset_of!(MapBatchAttr, keys) == 16);
const _: () = assert!(offset_of!(MapBatchAttr, values) == 24);
const _: () = assert!(offset_of!(MapBatchAttr, count) == 32);
const _: () = assert!(offset_of!(MapBatchAttr, map_fd) == 36);
const _: () = assert!(offset_of!(MapBatchAttr, elem_flags) == 40);
const _: () = assert!(offset_of!(MapBatchAttr, flags) == 48);
const _: () = assert!(size_of::<MapBatchAttr>() == 56);
const _: () = assert!(offset_of!(ProgLoadAttr, prog_type) == 0);
const _: () = assert!(offset_of!(ProgLoadAttr, insn_cnt) == 4);
const _: () = assert!(offset_of!(ProgLoadAttr, insns) == 8);
const _: () = assert!(offset_of!(ProgLoadAttr, license) == 16);
const _: () = assert!(offset_of!(ProgLoadAttr, log_level) == 24);
const _: () = assert!(offset_of!(ProgLoadAttr, log_size) == 28);
const _: () = assert!(offset_of!(ProgLoadAttr, log_buf) == 32);
const _: () = assert!(offset_of!(ProgLoadAttr, kern_version) == 40);
const _: () = assert!(offset_of!(ProgLoadAttr, prog_flags) == 44);
const _: () = assert!(offset_of!(ProgLoadAttr, prog_name) == 48);
const _: () = assert!(offset_of!(ProgLoadAttr, prog_ifindex) == 64);
const _: () = assert!(offset_of!(ProgLoadAttr, expected_attach_type) == 68);
const _: () = assert!(offset_of!(ProgLoadAttr, prog_btf_fd) == 72);
const _: () = assert!(offset_of!(ProgLoadAttr, func_info_rec_size) == 76);
const _: () = assert!(offset_of!(ProgLoadAttr, func_info) == 80);
const _: () = assert!(offset_of!(ProgLoadAttr, func_info_cnt) == 88);
const _: () = assert!(offset_of!(ProgLoadAttr, line_info_rec_size) == 92);
const _: () = assert!(offset_of!(ProgLoadAttr, line_info) == 96);
const _: () = assert!(offset_of!(ProgLoadAttr, line_info_cnt) == 104);
const _: () = assert!(offset_of!(ProgLoadAttr, attach_btf_id) == 108);
const _: () = assert!(offset_of!(ProgLoadAttr, attach_prog_fd) == 112);
const _: () = assert!(offset_of!(ProgLoadAttr, core_relo_cnt) == 116);
const _: () = assert!(offset_of!(ProgLoadAttr, fd_array) == 120);
const _: () = assert!(offset_of!(ProgLoadAttr, core_relos) == 128);
const _: () = assert!(offset_of!(ProgLoadAttr, core_relo_rec_size) == 136);
const _: () = assert!(offset_of!(ProgLoadAttr, log_true_size) == 140);
const _: () = assert!(offset_of!(ProgLoadAttr, prog_token_fd) == 144);
const _: () = assert!(offset_of!(ProgLoadAttr, fd_array_cnt) == 148);
const _: () = assert!(offset_of!(ProgLoadAttr, signature) == 152);
const _: () = assert!(offset_of!(ProgLoadAttr, signature_size) == 160);
const _: () = assert!(offset_of!(ProgLoadAttr, keyring_id) == 164);
const _: () = assert!(size_of::<ProgLoadAttr>() == 168);
const _: () = assert!(offset_of!(ObjAttr, pathname) == 0);
const _: () = assert!(offset_of!(ObjAttr, bpf_fd) == 8);
const _: () = assert!(offset_of!(ObjAttr, file_flags) == 12);
const _: () = assert!(offset_of!(ObjAttr, path_fd) == 16);
const _: () = assert!(size_of::<ObjAttr>() == 24);
const _: () = assert!(offset_of!(ProgAttachAttr, target_fd) == 0);
const _: () = assert!(offset_of!(ProgAttachAttr, attach_bpf_fd) == 4);
const _: () = assert!(offset_of!(ProgAttachAttr, attach_type) == 8);
const _: () = assert!(offset_of!(ProgAttachAttr, attach_flags) == 12);
const _: () = assert!(offset_of!(ProgAttachAttr, replace_bpf_fd) == 16);
const _: () = assert!(offset_of!(ProgAttachAttr, relative_fd) == 20);
const _: () = assert!(offset_of!(ProgAttachAttr, expected_revision) == 24);
const _: () = assert!(size_of::<ProgAttachAttr>() == 32);
const _: () = assert!(offset_of!(TestRunAttr, prog_fd) == 0);
const _: () = assert!(offset_of!(TestRunAttr, retval) == 4);
const _: () = assert!(offset_of!(TestRunAttr, data_size_in) == 8);
const _: () = assert!(offset_of!(TestRunAttr, data_size_out) == 12);
const _: () = assert!(offset_of!(TestRunAttr, data_in) == 16);
const _: () = assert!(offset_of!(TestRunAttr, data_out) == 24);
const _: () = assert!(offset_of!(TestRunAttr, repeat) == 32);
const _: () = assert!(offset_of!(TestRunAttr, duration) == 36);
const _: () = assert!(offset_of!(TestRunAttr, ctx_size_in) == 40);
const _: () = assert!(offset_of!(TestRunAttr, ctx_size_out) == 44);
const _: () = assert!(offset_of!(TestRunAttr, ctx_in) == 48);
const _: () = assert!(offset_of!(TestRunAttr, ctx_out) == 56);
const _: () = assert!(offset_of!(TestRunAttr, flags) == 64);
const _: () = assert!(offset_of!(TestRunAttr, cpu) == 68);
const _: () = assert!(offset_of!(TestRunAttr, batch_size) == 72);
const _: () = assert!(size_of::<TestRunAttr>() == 80);
const _: () = assert!(offset_of!(GetIdAttr, start_id) == 0);
const _: () = assert!(offset_of!(GetIdAttr, next_id) == 4);
const _: () = assert!(offset_of!(GetIdAttr, open_flags) == 8);
const _: () = assert!(offset_of!(GetIdAttr, fd_by_id_token_fd) == 12);
const _: () = assert!(size_of::<GetIdAttr>() == 16);
const _: () = assert!(offset_of!(InfoAttr, bpf_fd) == 0);
const _: () = assert!(offset_of!(InfoAttr, info_len) == 4);
const _: () = assert!(offset_of!(InfoAttr, info) == 8);
const _: () = assert!(size_of::<InfoAttr>() == 16);
const _: () = assert!(offset_of!(ProgQueryAttr, target_fd) == 0);
const _: () = assert!(offset_of!(ProgQueryAttr, attach_type) == 4);
const _: () = assert!(offset_of!(ProgQueryAttr, query_flags) == 8);
const _: () = assert!(offset_of!(ProgQueryAttr, attach_flags) == 12);
const _: () = assert!(offset_of!(ProgQueryAttr, prog_ids) == 16);
const _: () = assert!(offset_of!(ProgQueryAttr, prog_cnt) == 24);
const _: () = assert!(offset_of!(ProgQueryAttr, prog_attach_flags) == 32);
const _: () = assert!(offset_of!(ProgQueryAttr, link_ids) == 40);
const _: () = assert!(offset_of!(ProgQueryAttr, link_attach_flags) == 48);
const _: () = assert!(offset_of!(ProgQueryAttr, revision) == 56);
const _: () = assert!(size_of::<ProgQueryAttr>() == 64);
const _: () = assert!(offset_of!(RawTracepointOpenAttr, name) == 0);
const _: () = assert!(offset_of!(RawTracepointOpenAttr, prog_fd) == 8);
const _: () = assert!(offset_of!(RawTracepointOpenAttr, cookie) == 16);
const _: () = assert!(size_of::<RawTracepointOpenAttr>() == 24);
const _: () = assert!(offset_of!(BtfLoadAttr, btf) == 0);
const _: () = assert!(offset_of!(BtfLoadAttr, btf_log_buf) == 8);
const _: () = assert!(offset_of!(BtfLoadAttr, btf_size) == 16);
const _: () = assert!(offset_of!(BtfLoadAttr, btf_log_size) == 20);
const _: () = assert!(offset_of!(BtfLoadAttr, btf_log_level) == 24);
const _: () = assert!(offset_of!(BtfLoadAttr, btf_log_true_size) == 28);
const _: () = assert!(offset_of!(BtfLoadAttr, btf_flags) == 32);
const _: () = assert!(offset_of!(BtfLoadAttr, btf_token_fd) == 36);
const _: () = assert!(size_of::<BtfLoadAttr>() == 40);
const _: () = assert!(offset_of!(TaskFdQueryAttr, pid) == 0);
const _: () = assert!(offset_of!(TaskFdQueryAttr, fd) == 4);
const _: () = assert!(offset_of!(TaskFdQueryAttr, flags) == 8);
const _: () = assert!(offset_of!(TaskFdQueryAttr, buf_len) == 12);
const _: () = assert!(offset_of!(TaskFdQueryAttr, buf) == 16);
const _: () = assert!(offset_of!(TaskFdQueryAttr, prog_id) == 24);
const _: () = assert!(offset_of!(TaskFdQueryAttr, fd_type) == 28);
const _: () = assert!(offset_of!(TaskFdQueryAttr, probe_offset) == 32);
const _: () = assert!(offset_of!(TaskFdQueryAttr, probe_addr) == 40);
const _: () = assert!(size_of::<TaskFdQueryAttr>() == 48);
const _: () = assert!(offset_of!(LinkCreateAttr, prog_fd) == 0);
const _: () = assert!(offset_of!(LinkCreateAttr, target_fd) == 4);
const _: () = assert!(offset_of!(LinkCreateAttr, attach_type) == 8);
const _: () = assert!(offset_of!(LinkCreateAttr, flags) == 12);
const _: () = assert!(offset_of!(LinkCreateAttr, tail) == 16);
const _: () = assert!(size_of::<LinkCreateAttr>() == 64);
const _: () = assert!(offset_of!(LinkUpdateAttr, link_fd) == 0);
const _: () = assert!(offset_of!(LinkUpdateAttr, new_prog_fd) == 4);
const _: () = assert!(offset_of!(LinkUpdateAttr, flags) == 8);
const _: () = assert!(offset_of!(LinkUpdateAttr, old_prog_fd) == 12);
const _: () = assert!(size_of::<LinkUpdateAttr>() == 16);
const _: () = assert!(offset_of!(LinkDetachAttr, link_fd) == 0);
const _: () = assert!(size_of::<LinkDetachAttr>() == 4);
const _: () = assert!(offset_of!(EnableStatsAttr, type_) == 0);
const _: () = assert!(size_of::<EnableStatsAttr>() == 4);
const _: () = assert!(offset_of!(IterCreateAttr, link_fd) == 0);
const _: () = assert!(offset_of!(IterCreateAttr, flags) == 4);
const _: () = assert!(size_of::<IterCreateAttr>() == 8);
const _: () = assert!(offset_of!(ProgBindMapAttr, prog_fd) == 0);
const _: () = assert!(offset_of!(ProgBindMapAttr, map_fd) == 4);
const _: () = assert!(offset_of!(ProgBindMapAttr, flags) == 8);
const _: () = assert!(size_of::<ProgBindMapAttr>() == 12);
const _: () = assert!(offset_of!(TokenCreateAttr, flags) == 0);
const _: () = assert!(offset_of!(TokenCreateAttr, bpffs_fd) == 4);
const _: () = assert!(size_of::<TokenCreateAttr>() == 8);
const _: () = assert!(offset_of!(ProgStreamReadAttr, stream_buf) == 0);
const _: () = assert!(offset_of!(ProgStreamReadAttr, stream_buf_len) == 8);
const _: () = assert!(offset_of!(ProgStreamReadAttr, stream_id) == 12);
const _: () = assert!(offset_of!(ProgStreamReadAttr, prog_fd) == 16);
const _: () = assert!(size_of::<ProgStreamReadAttr>() == 24);
const _: () = assert!(offset_of!(ProgInfo, type_) == 0);
const _: () = assert!(offset_of!(ProgInfo, id) == 4);
const _: () = assert!(offset_of!(ProgInfo, tag) == 8);
const _: () = assert!(offset_of!(ProgInfo, jited_prog_len) == 16);
const _: () = assert!(offset_of!(ProgInfo, xlated_prog_len) == 20);
const _: () = assert!(offset_of!(ProgInfo, jited_prog_insns) == 24);
const _: () = assert!(offset_of!(ProgInfo, xlated_prog_insns) == 32);
const _: () = assert!(offset_of!(ProgInfo, load_time) == 40);
const _: () = assert!(offset_of!(ProgInfo, created_by_uid) == 48);
const _: () = assert!(offset_of!(ProgInfo, nr_map_ids) == 52);
const _: () = assert!(offset_of!(ProgInfo, map_ids) == 56);
const _: () = assert!(offset_of!(ProgInfo, name) == 64);
const _: () = assert!(offset_of!(ProgInfo, ifindex) == 80);
const _: () = assert!(offset_of!(ProgInfo, gpl_compatible) == 84);
const _: () = assert!(offset_of!(ProgInfo, netns_dev) == 88);
const _: () = assert!(offset_of!(ProgInfo, netns_ino) == 96);
const _: () = assert!(offset_of!(ProgInfo, nr_jited_ksyms) == 104);
const _: () = assert!(offset_of!(ProgInfo, nr_jited_func_lens) == 108);
const _: () = assert!(offset_of!(ProgInfo, jited_ksyms) == 112);
const _: () = assert!(offset_of!(ProgInfo, jited_func_lens) == 120);
const _: () = assert!(offset_of!(ProgInfo, btf_id) == 128);
const _: () = assert!(offset_of!(ProgInfo, func_info_rec_size) == 132);
const _: () = assert!(offset_of!(ProgInfo, func_info) == 136);
const _: () = assert!(offset_of!(ProgInfo, nr_func_info) == 144);
const _: () = assert!(offset_of!(ProgInfo, nr_line_info) == 148);
const _: () = assert!(offset_of!(ProgInfo, line_info) == 152);
const _: () = assert!(offset_of!(ProgInfo, jited_line_info) == 160);
const _: () = assert!(offset_of!(ProgInfo, nr_jited_line_info) == 168);
const _: () = assert!(offset_of!(ProgInfo, line_info_rec_size) == 172);
const _: () = assert!(offset_of!(ProgInfo, jited_line_info_rec_size) == 176);
const _: () = assert!(offset_of!(ProgInfo, nr_prog_tags) == 180);
const _: () = assert!(offset_of!(ProgInfo, prog_tags) == 184);
const _: () = assert!(offset_of!(ProgInfo, run_time_ns) == 192);
const _: () = assert!(offset_of!(ProgInfo, run_cnt) == 200);
const _: () = assert!(offset_of!(ProgInfo, recursion_misses) == 208);
const _: () = assert!(offset_of!(ProgInfo, verified_insns) == 216);
const _: () = assert!(offset_of!(ProgInfo, attach_btf_obj_id) == 220);
const _: () = assert!(offset_of!(ProgInfo, attach_btf_id) == 224);
const _: () = assert!(size_of::<ProgInfo>() == 232);
const _: () = assert!(offset_of!(MapInfo, type_) == 0);
const _: () = assert!(offset_of!(MapInfo, id) == 4);
const _: () = assert!(offset_of!(MapInfo, key_size) == 8);
const _: () = assert!(offset_of!(MapInfo, value_size) == 12);
const _: () = assert!(offset_of!(MapInfo, max_entries) == 16);
const _: () = assert!(offset_of!(MapInfo, map_flags) == 20);
const _: () = assert!(offset_of!(MapInfo, name) == 24);
const _: () = assert!(offset_of!(MapInfo, ifindex) == 40);
const _: () = assert!(offset_of!(MapInfo, btf_vmlinux_value_type_id) == 44);
const _: () = assert!(offset_of!(MapInfo, netns_dev) == 48);
const _: () = assert!(offset_of!(MapInfo, netns_ino) == 56);
const _: () = assert!(offset_of!(MapInfo, btf_id) == 64);
const _: () = assert!(offset_of!(MapInfo, btf_key_type_id) == 68);
const _: () = assert!(offset_of!(MapInfo, btf_value_type_id) == 72);
const _: () = assert!(offset_of!(MapInfo, btf_vmlinux_id) == 76);
const _: () = assert!(offset_of!(MapInfo, map_extra) == 80);
const _: () = assert!(offset_of!(MapInfo, hash) == 88);
const _: () = assert!(offset_of!(MapInfo, hash_size) == 96);
const _: () = assert!(size_of::<MapInfo>() == 104);
const _: () = assert!(offset_of!(BtfInfo, btf) == 0);
const _: () = assert!(offset_of!(BtfInfo, btf_size) == 8);
const _: () = assert!(offset_of!(BtfInfo, id) == 12);
const _: () = assert!(offset_of!(BtfInfo, name) == 16);
const _: () = assert!(offset_of!(BtfInfo, name_len) == 24);
const _: () = assert!(offset_of!(BtfInfo, kernel_btf) == 28);
const _: () = assert!(size_of::<BtfInfo>() == 32);
/// A structure's name, size, `union bpf_attr` index and fields.
pub type Layout = (&'static str, usize, i32, &'static [(&'static str, usize)]);

/// Every structure's layout, for the layout test.
pub const LAYOUTS: &[Layout] = &[
    ("MapCreateAttr", MapCreateAttr::SIZE, MapCreateAttr::ATTR_INDEX, MapCreateAttr::FIELDS),
    ("MapElemAttr", MapElemAttr::SIZE, MapElemAttr::ATTR_INDEX, MapElemAttr::FIELDS),
    ("MapBatchAttr", MapBatchAttr::SIZE, MapBatchAttr::ATTR_INDEX, MapBatchAttr::FIELDS),
    ("ProgLoadAttr", ProgLoadAttr::SIZE, ProgLoadAttr::ATTR_INDEX, ProgLoadAttr::FIELDS),
    ("ObjAttr", ObjAttr::SIZE, ObjAttr::ATTR_INDEX, ObjAttr::FIELDS),
    ("ProgAttachAttr", ProgAttachAttr::SIZE, ProgAttachAttr::ATTR_INDEX, ProgAttachAttr::FIELDS),
    ("TestRunAttr", TestRunAttr::SIZE, TestRunAttr::ATTR_INDEX, TestRunAttr::FIELDS),
    ("GetIdAttr", GetIdAttr::SIZE, GetIdAttr::ATTR_INDEX, GetIdAttr::FIELDS),
    ("InfoAttr", InfoAttr::SIZE, InfoAttr::ATTR_INDEX, InfoAttr::FIELDS),
    ("ProgQueryAttr", ProgQueryAttr::SIZE, ProgQueryAttr::ATTR_INDEX, ProgQueryAttr::FIELDS),
    (
        "RawTracepointOpenAttr",
        RawTracepointOpenAttr::SIZE,
        RawTracepointOpenAttr::ATTR_INDEX,
        RawTracepointOpenAttr::FIELDS,
    ),
    ("BtfLoadAttr", BtfLoadAttr::SIZE, BtfLoadAttr::ATTR_INDEX, BtfLoadAttr::FIELDS),
    (
        "TaskFdQueryAttr",
        TaskFdQueryAttr::SIZE,
        TaskFdQueryAttr::ATTR_INDEX,
        TaskFdQueryAttr::FIELDS,
    ),
    ("LinkCreateAttr", LinkCreateAttr::SIZE, LinkCreateAttr::ATTR_INDEX, LinkCreateAttr::FIELDS),
    ("LinkUpdateAttr", LinkUpdateAttr::SIZE, LinkUpdateAttr::ATTR_INDEX, LinkUpdateAttr::FIELDS),
    ("LinkDetachAttr", LinkDetachAttr::SIZE, LinkDetachAttr::ATTR_INDEX, LinkDetachAttr::FIELDS),
    (
        "EnableStatsAttr",
        EnableStatsAttr::SIZE,
        EnableStatsAttr::ATTR_INDEX,
        EnableStatsAttr::FIELDS,
    ),
    ("IterCreateAttr", IterCreateAttr::SIZE, IterCreateAttr::ATTR_INDEX, IterCreateAttr::FIELDS),
    (
        "ProgBindMapAttr",
        ProgBindMapAttr::SIZE,
        ProgBindMapAttr::ATTR_INDEX,
        ProgBindMapAttr::FIELDS,
    ),
    (
        "TokenCreateAttr",
        TokenCreateAttr::SIZE,
        TokenCreateAttr::ATTR_INDEX,
        TokenCreateAttr::FIELDS,
    ),
    (
        "ProgStreamReadAttr",
        ProgStreamReadAttr::SIZE,
        ProgStreamReadAttr::ATTR_INDEX,
        ProgStreamReadAttr::FIELDS,
    ),
    ("bpf_prog_info", ProgInfo::SIZE, -1, ProgInfo::FIELDS),
    ("bpf_map_info", MapInfo::SIZE, -1, MapInfo::FIELDS),
    ("bpf_btf_info", BtfInfo::SIZE, -1, BtfInfo::FIELDS),
];
