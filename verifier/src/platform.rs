//! What the verifier needs to know from the kernel it verifies for: program
//! types (their context layout, their helpers), helper prototypes and maps.
//! The runtime supplies it; [`crate::linux`] holds Linux's definitions for
//! the program types Axiom shares with Linux.

/// What a helper expects in one argument register.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Arg {
    /// Any initialised value.
    Anything,
    /// A map pointer (`lddw` of a map).
    MapPtr,
    /// A pointer to the map's `key_size` readable bytes.
    MapKey,
    /// A pointer to the map's `value_size` readable bytes.
    MapValue,
    /// A pointer to the map's `value_size` bytes the helper fills (may be
    /// uninitialised before the call).
    MapValueUninit,
    /// A pointer to readable memory whose size is the next argument.
    Mem,
    /// A pointer to memory the helper fills; its size is the next argument.
    UninitMem,
    /// A known size, greater than zero, for the previous argument.
    ConstSize,
    /// A known size, possibly zero.
    ConstSizeOrZero,
    /// The program's context pointer.
    Ctx,
    /// Memory returned by `bpf_ringbuf_reserve`, whose reference the call
    /// releases.
    RingbufMem,
    /// A scalar known at verification time (a size that shapes the return).
    ConstAlloc,
}

/// What a helper returns in `r0`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Ret {
    /// A scalar.
    Integer,
    /// Nothing: `r0` is left unreadable, as in Linux.
    Void,
    /// A pointer into the map's value, or NULL.
    MapValueOrNull,
    /// Reserved ring-buffer memory of the size in the `ConstAlloc`
    /// argument, or NULL; a reference the program must release.
    AllocMemOrNull,
    /// A CPU number: below [`Platform::possible_cpus`] where the platform
    /// knows it (Linux's refinement of `bpf_get_smp_processor_id`).
    CpuId,
}

/// A helper's prototype.
#[derive(Clone, Copy, Debug)]
pub struct HelperProto {
    /// Linux's name, e.g. `bpf_map_lookup_elem`.
    pub name: &'static str,
    /// Argument kinds, `r1` first; `None` ends the list.
    pub args: [Option<Arg>; 5],
    /// Return kind.
    pub ret: Ret,
    /// Map types the `MapPtr` argument accepts (empty: any but program
    /// arrays and ring buffers, as Linux's generic map helpers).
    pub map_types: &'static [u32],
}

/// How a context field reads.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FieldKind {
    /// A scalar.
    Scalar,
    /// Start of packet data.
    PacketData,
    /// End of packet data.
    PacketEnd,
    /// Start of packet metadata.
    PacketMeta,
}

/// One accessible field of a context structure.
#[derive(Clone, Copy, Debug)]
pub struct CtxField {
    /// Byte offset.
    pub off: u32,
    /// Size of the field.
    pub size: u32,
    /// Whether narrower, aligned loads of it are allowed.
    pub narrow: bool,
    /// Whether programs may write it.
    pub writable: bool,
    /// What a load gives.
    pub kind: FieldKind,
}

/// A program type as the verifier sees it.
#[derive(Clone, Copy, Debug)]
pub struct ProgType {
    /// Linux's name, e.g. `socket_filter`.
    pub name: &'static str,
    /// The context's accessible fields.
    pub fields: &'static [CtxField],
    /// Helper ids programs of this type may call.
    pub helpers: &'static [i32],
    /// Whether legacy packet loads (`ldabs`/`ldind`) are allowed.
    pub ld_abs: bool,
    /// The range the program's return value must lie in, if any.
    pub ret_range: Option<(i64, i64)>,
}

/// A map as the verifier sees it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct MapInfo {
    /// `BPF_MAP_TYPE_*`.
    pub map_type: u32,
    /// Key size in bytes.
    pub key_size: u32,
    /// Value size in bytes.
    pub value_size: u32,
    /// Maximum entries.
    pub max_entries: u32,
    /// Whether programs may not write its values (frozen or
    /// `BPF_F_RDONLY_PROG`).
    pub read_only: bool,
}

impl MapInfo {
    /// A map of `map_type` with these sizes; `read_only` for programs.
    pub const fn new(map_type: u32, key_size: u32, value_size: u32, max_entries: u32) -> MapInfo {
        MapInfo { map_type, key_size, value_size, max_entries, read_only: false }
    }

    /// The same map, read-only for programs if `read_only`.
    pub const fn read_only(self, read_only: bool) -> MapInfo {
        MapInfo { read_only, ..self }
    }
}

/// The verifier's view of the kernel.
pub trait Platform {
    /// The program type with Linux's number `prog_type`.
    fn prog_type(&self, prog_type: u32) -> Option<&ProgType>;
    /// The prototype of helper `id`.
    fn helper(&self, id: i32) -> Option<&HelperProto>;
    /// The map a `lddw` refers to: by fd (`by_index` false) or by index in
    /// `fd_array` (true).
    fn map(&self, imm: i32, by_index: bool) -> Option<MapInfo>;
    /// How many CPUs the system may have (Linux's `nr_cpu_ids`), if known.
    fn possible_cpus(&self) -> Option<u32> {
        None
    }
}
