//! Opcode field values (RFC 9669 sections 3 to 5; Linux `bpf_common.h` and
//! `bpf.h` use the same numbers with a `BPF_` prefix).

/// Instruction classes: the low three bits of the opcode.
pub mod class {
    /// Non-standard load (`lddw`, legacy packet access).
    pub const LD: u8 = 0x00;
    /// Load into register.
    pub const LDX: u8 = 0x01;
    /// Store immediate.
    pub const ST: u8 = 0x02;
    /// Store register (and atomics).
    pub const STX: u8 = 0x03;
    /// 32-bit arithmetic.
    pub const ALU: u8 = 0x04;
    /// 64-bit jumps.
    pub const JMP: u8 = 0x05;
    /// 32-bit jumps.
    pub const JMP32: u8 = 0x06;
    /// 64-bit arithmetic.
    pub const ALU64: u8 = 0x07;
}

/// Source bit of arithmetic and jump opcodes.
pub mod source {
    /// Use the 32-bit immediate.
    pub const K: u8 = 0x00;
    /// Use the source register.
    pub const X: u8 = 0x08;
}

/// Arithmetic operation codes (high four bits).
pub mod alu {
    #![allow(missing_docs)]
    pub const ADD: u8 = 0x00;
    pub const SUB: u8 = 0x10;
    pub const MUL: u8 = 0x20;
    pub const DIV: u8 = 0x30;
    pub const OR: u8 = 0x40;
    pub const AND: u8 = 0x50;
    pub const LSH: u8 = 0x60;
    pub const RSH: u8 = 0x70;
    pub const NEG: u8 = 0x80;
    pub const MOD: u8 = 0x90;
    pub const XOR: u8 = 0xa0;
    pub const MOV: u8 = 0xb0;
    pub const ARSH: u8 = 0xc0;
    /// Byte swap; the source bit selects `le`/`be` in the ALU class.
    pub const END: u8 = 0xd0;
}

/// Jump operation codes (high four bits).
pub mod jmp {
    #![allow(missing_docs)]
    pub const JA: u8 = 0x00;
    pub const JEQ: u8 = 0x10;
    pub const JGT: u8 = 0x20;
    pub const JGE: u8 = 0x30;
    pub const JSET: u8 = 0x40;
    pub const JNE: u8 = 0x50;
    pub const JSGT: u8 = 0x60;
    pub const JSGE: u8 = 0x70;
    pub const CALL: u8 = 0x80;
    pub const EXIT: u8 = 0x90;
    pub const JLT: u8 = 0xa0;
    pub const JLE: u8 = 0xb0;
    pub const JSLT: u8 = 0xc0;
    pub const JSLE: u8 = 0xd0;
}

/// Access size of load and store opcodes (bits 3-4).
pub mod size {
    /// 4 bytes.
    pub const W: u8 = 0x00;
    /// 2 bytes.
    pub const H: u8 = 0x08;
    /// 1 byte.
    pub const B: u8 = 0x10;
    /// 8 bytes.
    pub const DW: u8 = 0x18;
}

/// Mode of load and store opcodes (bits 5-7).
pub mod mode {
    /// 64-bit immediate (`lddw`).
    pub const IMM: u8 = 0x00;
    /// Legacy packet access, absolute offset.
    pub const ABS: u8 = 0x20;
    /// Legacy packet access, register-relative offset.
    pub const IND: u8 = 0x40;
    /// Regular memory access.
    pub const MEM: u8 = 0x60;
    /// Sign-extending load.
    pub const MEMSX: u8 = 0x80;
    /// Atomic read-modify-write.
    pub const ATOMIC: u8 = 0xc0;
}

/// The `imm` field of atomic instructions.
pub mod atomic {
    #![allow(missing_docs)]
    pub const ADD: i32 = 0x00;
    pub const OR: i32 = 0x40;
    pub const AND: i32 = 0x50;
    pub const XOR: i32 = 0xa0;
    /// Or'ed into ADD/OR/AND/XOR: return the old value in `src`.
    pub const FETCH: i32 = 0x01;
    /// Exchange (always fetches).
    pub const XCHG: i32 = 0xe0 | FETCH;
    /// Compare against `r0` and exchange (always fetches, into `r0`).
    pub const CMPXCHG: i32 = 0xf0 | FETCH;
}

/// `src` values of `lddw` (Linux `BPF_PSEUDO_*`).
pub mod pseudo {
    /// `imm64` is a plain constant.
    pub const IMM64: u8 = 0;
    /// `imm` is a map file descriptor (`BPF_PSEUDO_MAP_FD`).
    pub const MAP_FD: u8 = 1;
    /// `imm` is a map fd, `next_imm` an offset into its value (`BPF_PSEUDO_MAP_VALUE`).
    pub const MAP_VALUE: u8 = 2;
    /// `imm` is a BTF variable id (`BPF_PSEUDO_BTF_ID`).
    pub const BTF_ID: u8 = 3;
    /// `imm` is a relative instruction offset of a function (`BPF_PSEUDO_FUNC`).
    pub const FUNC: u8 = 4;
    /// `imm` is an index into the `fd_array` (`BPF_PSEUDO_MAP_IDX`).
    pub const MAP_IDX: u8 = 5;
    /// Map index plus value offset (`BPF_PSEUDO_MAP_IDX_VALUE`).
    pub const MAP_IDX_VALUE: u8 = 6;
}

/// `src` values of `call` (Linux `BPF_PSEUDO_CALL`, `BPF_PSEUDO_KFUNC_CALL`).
pub mod call {
    /// `imm` is a helper id.
    pub const HELPER: u8 = 0;
    /// `imm` is a relative instruction offset of a local function.
    pub const LOCAL: u8 = 1;
    /// `imm` is the BTF id of a kernel function.
    pub const KFUNC: u8 = 2;
}
