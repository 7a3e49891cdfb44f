//! The BTF and BTF.ext formats (Linux's `include/uapi/linux/btf.h` and
//! libbpf's `.BTF.ext` layout): headers, type records, kinds, and the
//! func_info, line_info and CO-RE relocation records.

/// `BTF_MAGIC`, little endian.
pub const BTF_MAGIC: u16 = 0xeb9f;
/// The BTF version this code reads.
pub const BTF_VERSION: u8 = 1;

/// `struct btf_header`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BtfHeader {
    /// `BTF_MAGIC`.
    pub magic: u16,
    /// `BTF_VERSION`.
    pub version: u8,
    /// Flags (0).
    pub flags: u8,
    /// Size of this header.
    pub hdr_len: u32,
    /// Offset of the type section after the header.
    pub type_off: u32,
    /// Length of the type section.
    pub type_len: u32,
    /// Offset of the string section after the header.
    pub str_off: u32,
    /// Length of the string section.
    pub str_len: u32,
}

/// `struct btf_type`: every type record starts with it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BtfType {
    /// Offset of the name in the string section.
    pub name_off: u32,
    /// vlen (bits 0-15), kind (bits 24-28), kind_flag (bit 31).
    pub info: u32,
    /// Size (for sized kinds) or the referenced type id.
    pub size_or_type: u32,
}

impl BtfType {
    /// The kind.
    pub const fn kind(&self) -> u32 {
        (self.info >> 24) & 0x1f
    }

    /// The number of members, parameters, enumerators...
    pub const fn vlen(&self) -> u32 {
        self.info & 0xffff
    }

    /// The kind flag.
    pub const fn kflag(&self) -> bool {
        self.info >> 31 != 0
    }
}

/// BTF kinds (`BTF_KIND_*`).
pub mod kind {
    #![allow(missing_docs)]
    pub const UNKN: u32 = 0;
    pub const INT: u32 = 1;
    pub const PTR: u32 = 2;
    pub const ARRAY: u32 = 3;
    pub const STRUCT: u32 = 4;
    pub const UNION: u32 = 5;
    pub const ENUM: u32 = 6;
    pub const FWD: u32 = 7;
    pub const TYPEDEF: u32 = 8;
    pub const VOLATILE: u32 = 9;
    pub const CONST: u32 = 10;
    pub const RESTRICT: u32 = 11;
    pub const FUNC: u32 = 12;
    pub const FUNC_PROTO: u32 = 13;
    pub const VAR: u32 = 14;
    pub const DATASEC: u32 = 15;
    pub const FLOAT: u32 = 16;
    pub const DECL_TAG: u32 = 17;
    pub const TYPE_TAG: u32 = 18;
    pub const ENUM64: u32 = 19;
    /// One past the last kind.
    pub const MAX: u32 = 20;
}

/// The `u32` after a `BTF_KIND_INT`: encoding (bits 24-27), offset (16-23),
/// bits (0-7).
pub mod int {
    /// Signed.
    pub const SIGNED: u32 = 1 << 0;
    /// A `char`.
    pub const CHAR: u32 = 1 << 1;
    /// A `bool`.
    pub const BOOL: u32 = 1 << 2;

    /// The encoding bits of an INT's extra word.
    pub const fn encoding(v: u32) -> u32 {
        (v >> 24) & 0x0f
    }

    /// The bit offset of an INT's extra word.
    pub const fn offset(v: u32) -> u32 {
        (v >> 16) & 0xff
    }

    /// The number of bits of an INT's extra word.
    pub const fn bits(v: u32) -> u32 {
        v & 0xff
    }
}

/// `struct btf_array`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BtfArray {
    /// Element type.
    pub elem_type: u32,
    /// Index type.
    pub index_type: u32,
    /// Number of elements.
    pub nelems: u32,
}

/// `struct btf_member` (STRUCT and UNION).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BtfMember {
    /// Name.
    pub name_off: u32,
    /// Type.
    pub type_: u32,
    /// Bit offset (with the kind flag: bitfield size in bits 24-31).
    pub offset: u32,
}

/// `struct btf_param` (FUNC_PROTO).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BtfParam {
    /// Name.
    pub name_off: u32,
    /// Type.
    pub type_: u32,
}

/// `struct btf_enum`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BtfEnum {
    /// Name.
    pub name_off: u32,
    /// Value.
    pub val: i32,
}

/// `struct btf_enum64`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BtfEnum64 {
    /// Name.
    pub name_off: u32,
    /// Low 32 bits.
    pub val_lo32: u32,
    /// High 32 bits.
    pub val_hi32: u32,
}

/// `struct btf_var`: linkage after a VAR.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BtfVar {
    /// `BTF_VAR_STATIC` (0), `GLOBAL_ALLOCATED` (1), `GLOBAL_EXTERN` (2).
    pub linkage: u32,
}

/// `struct btf_var_secinfo` (DATASEC).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BtfVarSecinfo {
    /// The VAR's type id.
    pub type_: u32,
    /// Offset in the section.
    pub offset: u32,
    /// Size.
    pub size: u32,
}

/// `struct btf_decl_tag`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BtfDeclTag {
    /// Member or parameter index, or -1 for the whole declaration.
    pub component_idx: i32,
}

/// The `.BTF.ext` header (libbpf's `struct btf_ext_header`, CO-RE part
/// included).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BtfExtHeader {
    /// `BTF_MAGIC`.
    pub magic: u16,
    /// 1.
    pub version: u8,
    /// 0.
    pub flags: u8,
    /// Size of this header.
    pub hdr_len: u32,
    /// Offset of func_info after the header.
    pub func_info_off: u32,
    /// Length of func_info.
    pub func_info_len: u32,
    /// Offset of line_info after the header.
    pub line_info_off: u32,
    /// Length of line_info.
    pub line_info_len: u32,
    /// Offset of the CO-RE relocations after the header.
    pub core_relo_off: u32,
    /// Length of the CO-RE relocations.
    pub core_relo_len: u32,
}

/// `struct bpf_func_info`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BpfFuncInfo {
    /// Instruction offset (in bytes in `.BTF.ext`, in instructions in
    /// `bpf_attr`).
    pub insn_off: u32,
    /// The FUNC's type id.
    pub type_id: u32,
}

/// `struct bpf_line_info`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BpfLineInfo {
    /// Instruction offset.
    pub insn_off: u32,
    /// File name string.
    pub file_name_off: u32,
    /// Source line string.
    pub line_off: u32,
    /// Line number (bits 10-31) and column (bits 0-9).
    pub line_col: u32,
}

impl BpfLineInfo {
    /// The line number.
    pub const fn line(&self) -> u32 {
        self.line_col >> 10
    }

    /// The column.
    pub const fn col(&self) -> u32 {
        self.line_col & 0x3ff
    }
}

/// `struct bpf_core_relo`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BpfCoreRelo {
    /// Instruction offset.
    pub insn_off: u32,
    /// The root type id.
    pub type_id: u32,
    /// The access string (`0:1:2`).
    pub access_str_off: u32,
    /// A [`core_relo_kind`] value.
    pub kind: u32,
}

/// `enum bpf_core_relo_kind`.
pub mod core_relo_kind {
    #![allow(missing_docs)]
    pub const FIELD_BYTE_OFFSET: u32 = 0;
    pub const FIELD_BYTE_SIZE: u32 = 1;
    pub const FIELD_EXISTS: u32 = 2;
    pub const FIELD_SIGNED: u32 = 3;
    pub const FIELD_LSHIFT_U64: u32 = 4;
    pub const FIELD_RSHIFT_U64: u32 = 5;
    pub const TYPE_ID_LOCAL: u32 = 6;
    pub const TYPE_ID_TARGET: u32 = 7;
    pub const TYPE_EXISTS: u32 = 8;
    pub const TYPE_SIZE: u32 = 9;
    pub const ENUMVAL_EXISTS: u32 = 10;
    pub const ENUMVAL_VALUE: u32 = 11;
    pub const TYPE_MATCHES: u32 = 12;
}

const _: () = assert!(core::mem::size_of::<BtfHeader>() == 24);
const _: () = assert!(core::mem::size_of::<BtfType>() == 12);
const _: () = assert!(core::mem::size_of::<BtfArray>() == 12);
const _: () = assert!(core::mem::size_of::<BtfMember>() == 12);
const _: () = assert!(core::mem::size_of::<BtfParam>() == 8);
const _: () = assert!(core::mem::size_of::<BtfEnum>() == 8);
const _: () = assert!(core::mem::size_of::<BtfEnum64>() == 12);
const _: () = assert!(core::mem::size_of::<BtfVarSecinfo>() == 12);
const _: () = assert!(core::mem::size_of::<BtfExtHeader>() == 32);
const _: () = assert!(core::mem::size_of::<BpfFuncInfo>() == 8);
const _: () = assert!(core::mem::size_of::<BpfLineInfo>() == 16);
const _: () = assert!(core::mem::size_of::<BpfCoreRelo>() == 16);
