//! The typed form of an eBPF instruction, and its exact decoding and encoding.
//!
//! [`decode`] accepts every encoding that RFC 9669 (with the ISA v4
//! additions: `sdiv`/`smod`, `movsx`, sign-extending loads, `bswap`,
//! `gotol`) and Linux define, and refuses everything else, including valid
//! opcodes whose unused fields are not zero, with a [`DecodeError`] that says
//! which field is wrong. [`Instruction::encode`] is its exact inverse.

use crate::insn::Insn;
use crate::opcode::{alu, atomic, class, jmp, mode, pseudo, size, source};
use core::fmt;

/// A register number, `r0` to `r10` (the frame pointer).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Reg(u8);

impl Reg {
    /// The return value register.
    pub const R0: Reg = Reg(0);
    /// The first argument register (the context at entry).
    pub const R1: Reg = Reg(1);
    /// The read-only frame pointer.
    pub const R10: Reg = Reg(10);
    /// Number of registers.
    pub const COUNT: usize = 11;

    /// `Some` for `0..=10`.
    pub const fn new(n: u8) -> Option<Reg> {
        if n <= 10 { Some(Reg(n)) } else { None }
    }

    /// The register number.
    pub const fn num(self) -> u8 {
        self.0
    }

    /// The register number as an index into a register file.
    pub const fn idx(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for Reg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}", self.0)
    }
}

/// Operation width of arithmetic and conditional jumps.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Width {
    /// The `ALU`/`JMP32` classes: operate on the low 32 bits; ALU results
    /// are zero-extended to 64 bits.
    W32,
    /// The `ALU64`/`JMP` classes.
    W64,
}

/// Memory access size.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Size {
    /// 1 byte.
    B,
    /// 2 bytes.
    H,
    /// 4 bytes.
    W,
    /// 8 bytes.
    DW,
}

impl Size {
    /// Number of bytes accessed.
    pub const fn bytes(self) -> usize {
        match self {
            Size::B => 1,
            Size::H => 2,
            Size::W => 4,
            Size::DW => 8,
        }
    }

    const fn from_code(code: u8) -> Size {
        match code & 0x18 {
            size::W => Size::W,
            size::H => Size::H,
            size::B => Size::B,
            _ => Size::DW,
        }
    }

    const fn code(self) -> u8 {
        match self {
            Size::W => size::W,
            Size::H => size::H,
            Size::B => size::B,
            Size::DW => size::DW,
        }
    }
}

/// The second operand of arithmetic, jumps and stores.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Operand {
    /// A register.
    Reg(Reg),
    /// The sign-extended 32-bit immediate.
    Imm(i32),
}

/// Two-operand arithmetic.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum AluOp {
    /// `dst += src`
    Add,
    /// `dst -= src`
    Sub,
    /// `dst *= src`
    Mul,
    /// Unsigned division; division by zero gives 0.
    Div,
    /// Signed division (`off = 1`); by zero gives 0, `MIN / -1` gives `MIN`.
    SDiv,
    /// `dst |= src`
    Or,
    /// `dst &= src`
    And,
    /// Left shift; the amount is masked to the width.
    Lsh,
    /// Logical right shift; the amount is masked.
    Rsh,
    /// Unsigned modulo; modulo by zero leaves `dst`.
    Mod,
    /// Signed modulo (`off = 1`); by zero leaves `dst`, `MIN % -1` is 0.
    SMod,
    /// `dst ^= src`
    Xor,
    /// `dst = src`
    Mov,
    /// Arithmetic right shift; the amount is masked.
    Arsh,
}

impl AluOp {
    /// Every operation, in opcode order.
    pub const ALL: [AluOp; 14] = [
        AluOp::Add,
        AluOp::Sub,
        AluOp::Mul,
        AluOp::Div,
        AluOp::SDiv,
        AluOp::Or,
        AluOp::And,
        AluOp::Lsh,
        AluOp::Rsh,
        AluOp::Mod,
        AluOp::SMod,
        AluOp::Xor,
        AluOp::Mov,
        AluOp::Arsh,
    ];

    /// The operator as LLVM's BPF syntax and Linux's verifier log write
    /// it (`+=`, `s>>=`; `=` for `Mov`).
    pub const fn symbol(self) -> &'static str {
        match self {
            AluOp::Add => "+=",
            AluOp::Sub => "-=",
            AluOp::Mul => "*=",
            AluOp::Div => "/=",
            AluOp::SDiv => "s/=",
            AluOp::Or => "|=",
            AluOp::And => "&=",
            AluOp::Lsh => "<<=",
            AluOp::Rsh => ">>=",
            AluOp::Mod => "%=",
            AluOp::SMod => "s%=",
            AluOp::Xor => "^=",
            AluOp::Mov => "=",
            AluOp::Arsh => "s>>=",
        }
    }

    const fn code(self) -> u8 {
        match self {
            AluOp::Add => alu::ADD,
            AluOp::Sub => alu::SUB,
            AluOp::Mul => alu::MUL,
            AluOp::Div | AluOp::SDiv => alu::DIV,
            AluOp::Or => alu::OR,
            AluOp::And => alu::AND,
            AluOp::Lsh => alu::LSH,
            AluOp::Rsh => alu::RSH,
            AluOp::Mod | AluOp::SMod => alu::MOD,
            AluOp::Xor => alu::XOR,
            AluOp::Mov => alu::MOV,
            AluOp::Arsh => alu::ARSH,
        }
    }

    const fn off(self) -> i16 {
        match self {
            AluOp::SDiv | AluOp::SMod => 1,
            _ => 0,
        }
    }
}

/// Byte-order operations.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum EndianOp {
    /// Convert to little endian (`le16/32/64`, class ALU, source K): on a
    /// little-endian machine a truncation to the width.
    ToLe,
    /// Convert to big endian (`be16/32/64`, class ALU, source X).
    ToBe,
    /// Unconditional byte swap (`bswap16/32/64`, class ALU64, ISA v4).
    Swap,
}

/// Conditional jump comparisons.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Cond {
    /// `==`
    Eq,
    /// unsigned `>`
    Gt,
    /// unsigned `>=`
    Ge,
    /// `dst & src != 0`
    Set,
    /// `!=`
    Ne,
    /// signed `>`
    Sgt,
    /// signed `>=`
    Sge,
    /// unsigned `<`
    Lt,
    /// unsigned `<=`
    Le,
    /// signed `<`
    Slt,
    /// signed `<=`
    Sle,
}

impl Cond {
    /// Every comparison, in opcode order.
    pub const ALL: [Cond; 11] = [
        Cond::Eq,
        Cond::Gt,
        Cond::Ge,
        Cond::Set,
        Cond::Ne,
        Cond::Sgt,
        Cond::Sge,
        Cond::Lt,
        Cond::Le,
        Cond::Slt,
        Cond::Sle,
    ];

    /// The comparison as LLVM's BPF syntax and Linux's verifier log write
    /// it (`==`, `s<=`; `&` for `Set`).
    pub const fn symbol(self) -> &'static str {
        match self {
            Cond::Eq => "==",
            Cond::Gt => ">",
            Cond::Ge => ">=",
            Cond::Set => "&",
            Cond::Ne => "!=",
            Cond::Sgt => "s>",
            Cond::Sge => "s>=",
            Cond::Lt => "<",
            Cond::Le => "<=",
            Cond::Slt => "s<",
            Cond::Sle => "s<=",
        }
    }

    const fn code(self) -> u8 {
        match self {
            Cond::Eq => jmp::JEQ,
            Cond::Gt => jmp::JGT,
            Cond::Ge => jmp::JGE,
            Cond::Set => jmp::JSET,
            Cond::Ne => jmp::JNE,
            Cond::Sgt => jmp::JSGT,
            Cond::Sge => jmp::JSGE,
            Cond::Lt => jmp::JLT,
            Cond::Le => jmp::JLE,
            Cond::Slt => jmp::JSLT,
            Cond::Sle => jmp::JSLE,
        }
    }

    const fn from_code(op: u8) -> Option<Cond> {
        Some(match op {
            jmp::JEQ => Cond::Eq,
            jmp::JGT => Cond::Gt,
            jmp::JGE => Cond::Ge,
            jmp::JSET => Cond::Set,
            jmp::JNE => Cond::Ne,
            jmp::JSGT => Cond::Sgt,
            jmp::JSGE => Cond::Sge,
            jmp::JLT => Cond::Lt,
            jmp::JLE => Cond::Le,
            jmp::JSLT => Cond::Slt,
            jmp::JSLE => Cond::Sle,
            _ => return None,
        })
    }

    /// Evaluates the comparison on 64-bit operands (callers truncate and
    /// sign-extend for 32-bit jumps).
    pub const fn eval64(self, a: u64, b: u64) -> bool {
        match self {
            Cond::Eq => a == b,
            Cond::Gt => a > b,
            Cond::Ge => a >= b,
            Cond::Set => a & b != 0,
            Cond::Ne => a != b,
            Cond::Sgt => (a as i64) > (b as i64),
            Cond::Sge => (a as i64) >= (b as i64),
            Cond::Lt => a < b,
            Cond::Le => a <= b,
            Cond::Slt => (a as i64) < (b as i64),
            Cond::Sle => (a as i64) <= (b as i64),
        }
    }

    /// Evaluates the comparison on the low 32 bits of both operands.
    pub const fn eval32(self, a: u64, b: u64) -> bool {
        let (a, b) = (a as u32, b as u32);
        match self {
            Cond::Sgt => (a as i32) > (b as i32),
            Cond::Sge => (a as i32) >= (b as i32),
            Cond::Slt => (a as i32) < (b as i32),
            Cond::Sle => (a as i32) <= (b as i32),
            _ => self.eval64(a as u64, b as u64),
        }
    }
}

/// Atomic read-modify-write operations.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum AtomicOp {
    /// `*p += src` (with `fetch`: `src` gets the old value).
    Add {
        /// Return the old value in `src`.
        fetch: bool,
    },
    /// `*p |= src`.
    Or {
        /// Return the old value in `src`.
        fetch: bool,
    },
    /// `*p &= src`.
    And {
        /// Return the old value in `src`.
        fetch: bool,
    },
    /// `*p ^= src`.
    Xor {
        /// Return the old value in `src`.
        fetch: bool,
    },
    /// `src = xchg(p, src)`.
    Xchg,
    /// `r0 = cmpxchg(p, r0, src)`.
    CmpXchg,
}

impl AtomicOp {
    const fn imm(self) -> i32 {
        const fn f(fetch: bool) -> i32 {
            if fetch { atomic::FETCH } else { 0 }
        }
        match self {
            AtomicOp::Add { fetch } => atomic::ADD | f(fetch),
            AtomicOp::Or { fetch } => atomic::OR | f(fetch),
            AtomicOp::And { fetch } => atomic::AND | f(fetch),
            AtomicOp::Xor { fetch } => atomic::XOR | f(fetch),
            AtomicOp::Xchg => atomic::XCHG,
            AtomicOp::CmpXchg => atomic::CMPXCHG,
        }
    }

    const fn from_imm(imm: i32) -> Option<AtomicOp> {
        let fetch = imm & atomic::FETCH != 0;
        Some(match imm & !atomic::FETCH {
            atomic::ADD => AtomicOp::Add { fetch },
            atomic::OR => AtomicOp::Or { fetch },
            atomic::AND => AtomicOp::And { fetch },
            atomic::XOR => AtomicOp::Xor { fetch },
            _ if imm == atomic::XCHG => AtomicOp::Xchg,
            _ if imm == atomic::CMPXCHG => AtomicOp::CmpXchg,
            _ => return None,
        })
    }

    /// Whether the old value is written back to a register.
    pub const fn fetches(self) -> bool {
        match self {
            AtomicOp::Add { fetch }
            | AtomicOp::Or { fetch }
            | AtomicOp::And { fetch }
            | AtomicOp::Xor { fetch } => fetch,
            AtomicOp::Xchg | AtomicOp::CmpXchg => true,
        }
    }
}

/// What the 64-bit immediate of `lddw` means (its `src` field).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Pseudo {
    /// A plain 64-bit constant.
    Imm64,
    /// `imm` is a map fd: the map's address.
    MapFd,
    /// `imm` is a map fd, `next_imm` an offset: the address of that byte of
    /// the map's value (array maps with one element, global data).
    MapValue,
    /// `imm` is the BTF id of a kernel variable.
    BtfId,
    /// `imm` is the instruction offset of a function (for callbacks).
    Func,
    /// `imm` is an index into `fd_array`: that map's address.
    MapIdx,
    /// `imm` is an `fd_array` index, `next_imm` a value offset.
    MapIdxValue,
}

impl Pseudo {
    const fn src(self) -> u8 {
        match self {
            Pseudo::Imm64 => pseudo::IMM64,
            Pseudo::MapFd => pseudo::MAP_FD,
            Pseudo::MapValue => pseudo::MAP_VALUE,
            Pseudo::BtfId => pseudo::BTF_ID,
            Pseudo::Func => pseudo::FUNC,
            Pseudo::MapIdx => pseudo::MAP_IDX,
            Pseudo::MapIdxValue => pseudo::MAP_IDX_VALUE,
        }
    }

    const fn from_src(src: u8) -> Option<Pseudo> {
        Some(match src {
            pseudo::IMM64 => Pseudo::Imm64,
            pseudo::MAP_FD => Pseudo::MapFd,
            pseudo::MAP_VALUE => Pseudo::MapValue,
            pseudo::BTF_ID => Pseudo::BtfId,
            pseudo::FUNC => Pseudo::Func,
            pseudo::MAP_IDX => Pseudo::MapIdx,
            pseudo::MAP_IDX_VALUE => Pseudo::MapIdxValue,
            _ => return None,
        })
    }
}

/// What a `call` calls.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum CallTarget {
    /// A helper function by id (`src = 0`).
    Helper(i32),
    /// A local function, `imm` instructions after the next one (`src = 1`).
    Local(i32),
    /// A kernel function by BTF id; `module` indexes `fd_array` for module
    /// BTF, 0 for the kernel's own (`src = 2`).
    Kfunc {
        /// BTF id of the function.
        btf_id: i32,
        /// `fd_array` index of the module's BTF, or 0.
        module: i16,
    },
}

/// Legacy packet access mode (`BPF_LD | BPF_ABS/BPF_IND`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum PacketMode {
    /// Offset `imm` from the packet start.
    Abs,
    /// Offset `src + imm`.
    Ind(Reg),
}

/// A decoded, valid instruction.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Instruction {
    /// Two-operand arithmetic (including `mov`, `sdiv`, `smod`).
    Alu {
        /// 32 or 64 bits.
        width: Width,
        /// The operation.
        op: AluOp,
        /// Destination and first operand.
        dst: Reg,
        /// Second operand.
        src: Operand,
    },
    /// Sign-extending move (`movsx`, ISA v4): `dst = (s<bits>) src`.
    MovSx {
        /// 32 (result zero-extended to 64) or 64 bits.
        width: Width,
        /// Destination.
        dst: Reg,
        /// Source.
        src: Reg,
        /// 8, 16, or (64-bit width only) 32.
        bits: u8,
    },
    /// `dst = -dst`.
    Neg {
        /// 32 or 64 bits.
        width: Width,
        /// The register.
        dst: Reg,
    },
    /// Byte-order conversion of the low `bits` of `dst`.
    Endian {
        /// Which conversion.
        op: EndianOp,
        /// The register.
        dst: Reg,
        /// 16, 32 or 64.
        bits: u8,
    },
    /// `lddw`: a 64-bit immediate over two slots.
    LoadImm64 {
        /// Destination.
        dst: Reg,
        /// What the immediate means.
        kind: Pseudo,
        /// First slot's `imm` (low half of a constant).
        imm: i32,
        /// Second slot's `imm` (high half of a constant).
        next_imm: i32,
    },
    /// Legacy packet load into `r0` (`ldabs`/`ldind`), socket filters only.
    LoadPacket {
        /// Absolute or indirect.
        mode: PacketMode,
        /// 1, 2 or 4 bytes.
        size: Size,
        /// Offset.
        imm: i32,
    },
    /// `dst = *(size *)(src + off)`, zero- or sign-extended.
    Load {
        /// Access size.
        size: Size,
        /// Sign-extend (`ldxs*`, ISA v4; not for 8 bytes).
        signed: bool,
        /// Destination.
        dst: Reg,
        /// Base address register.
        src: Reg,
        /// Offset.
        off: i16,
    },
    /// `*(size *)(dst + off) = src`.
    Store {
        /// Access size.
        size: Size,
        /// Base address register.
        dst: Reg,
        /// Offset.
        off: i16,
        /// Value: register (`stx`) or immediate (`st`).
        src: Operand,
    },
    /// Atomic read-modify-write of `*(size *)(dst + off)` with `src`.
    Atomic {
        /// 4 or 8 bytes.
        size: Size,
        /// The operation.
        op: AtomicOp,
        /// Base address register.
        dst: Reg,
        /// Value register.
        src: Reg,
        /// Offset.
        off: i16,
    },
    /// Unconditional jump with a 16-bit offset (`ja`, class JMP).
    Ja {
        /// Instruction offset relative to the next instruction.
        off: i16,
    },
    /// Unconditional jump with a 32-bit offset (`gotol`, class JMP32, ISA v4).
    Gotol {
        /// Instruction offset relative to the next instruction.
        imm: i32,
    },
    /// Conditional jump.
    Jump {
        /// 32 (JMP32) or 64 (JMP) bits.
        width: Width,
        /// The comparison.
        cond: Cond,
        /// First operand.
        dst: Reg,
        /// Second operand.
        src: Operand,
        /// Instruction offset relative to the next instruction.
        off: i16,
    },
    /// A call.
    Call(CallTarget),
    /// Call the helper whose id is in a register (`callx`; in RFC 9669's
    /// opcode table and the conformance suite, refused by Linux's verifier).
    CallX {
        /// The register holding the helper id.
        reg: Reg,
    },
    /// Return `r0` from the current function.
    Exit,
}

/// Why a slot is not a valid instruction.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DecodeErrorKind {
    /// No instruction has this opcode.
    UnknownOpcode,
    /// A register field names a register above `r10`.
    BadRegister,
    /// A field that this opcode does not use is not zero.
    ReservedField(&'static str),
    /// The `imm` field is not a valid value for this opcode.
    BadImm,
    /// The `off` field is not a valid value for this opcode.
    BadOffset,
    /// `lddw` is the last slot, or its second slot is not all zero but `imm`.
    BadLddw,
    /// An unknown `lddw` pseudo source.
    BadPseudo,
    /// A valid Linux encoding that Axiom does not implement yet.
    Unsupported(&'static str),
}

/// A decoding failure at an instruction index.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DecodeError {
    /// Index of the offending slot.
    pub pc: usize,
    /// The slot itself.
    pub insn: Insn,
    /// What is wrong with it.
    pub kind: DecodeErrorKind,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.insn;
        write!(f, "insn {} (code {:#04x}): ", self.pc, i.code)?;
        match self.kind {
            DecodeErrorKind::UnknownOpcode => write!(f, "unknown opcode {:02x}", i.code),
            DecodeErrorKind::BadRegister => {
                write!(f, "invalid register (dst r{}, src r{})", i.dst, i.src)
            }
            DecodeErrorKind::ReservedField(field) => {
                write!(f, "reserved field {field} must be zero for this opcode")
            }
            DecodeErrorKind::BadImm => write!(f, "invalid imm {} for this opcode", i.imm),
            DecodeErrorKind::BadOffset => write!(f, "invalid off {} for this opcode", i.off),
            DecodeErrorKind::BadLddw => write!(f, "invalid BPF_LD_IMM insn"),
            DecodeErrorKind::BadPseudo => write!(f, "unknown lddw src {}", i.src),
            DecodeErrorKind::Unsupported(what) => write!(f, "{what} is not supported by Axiom yet"),
        }
    }
}

impl core::error::Error for DecodeError {}

/// Decodes the instruction that starts at `pc`; returns it and the number of
/// slots it takes (1, or 2 for `lddw`).
pub fn decode(slots: &[Insn], pc: usize) -> Result<(Instruction, usize), DecodeError> {
    let Some(&i) = slots.get(pc) else {
        return Err(DecodeError { pc, insn: Insn::default(), kind: DecodeErrorKind::BadLddw });
    };
    let err = |kind| DecodeError { pc, insn: i, kind };
    let reg = |n: u8| Reg::new(n).ok_or(err(DecodeErrorKind::BadRegister));
    let zero = |v: i64, name: &'static str| {
        if v == 0 { Ok(()) } else { Err(err(DecodeErrorKind::ReservedField(name))) }
    };
    let code = i.code;
    match code & 0x07 {
        class::ALU | class::ALU64 => {
            let width = if code & 0x07 == class::ALU64 { Width::W64 } else { Width::W32 };
            let dst = reg(i.dst)?;
            let is_x = code & source::X != 0;
            let op = code & 0xf0;
            let insn = match op {
                alu::NEG => {
                    if is_x {
                        return Err(err(DecodeErrorKind::UnknownOpcode));
                    }
                    zero(i.src.into(), "src")?;
                    zero(i.off.into(), "off")?;
                    zero(i.imm.into(), "imm")?;
                    Instruction::Neg { width, dst }
                }
                alu::END => {
                    zero(i.src.into(), "src")?;
                    zero(i.off.into(), "off")?;
                    let endian = match (width, is_x) {
                        (Width::W32, false) => EndianOp::ToLe,
                        (Width::W32, true) => EndianOp::ToBe,
                        (Width::W64, false) => EndianOp::Swap,
                        (Width::W64, true) => return Err(err(DecodeErrorKind::UnknownOpcode)),
                    };
                    if !matches!(i.imm, 16 | 32 | 64) {
                        return Err(err(DecodeErrorKind::BadImm));
                    }
                    Instruction::Endian { op: endian, dst, bits: i.imm as u8 }
                }
                alu::MOV if is_x && i.off != 0 => {
                    zero(i.imm.into(), "imm")?;
                    let bits = match (width, i.off) {
                        (_, 8) => 8,
                        (_, 16) => 16,
                        (Width::W64, 32) => 32,
                        (Width::W64, 1) => {
                            return Err(err(DecodeErrorKind::Unsupported(
                                "addr_space_cast (BPF arena)",
                            )));
                        }
                        _ => return Err(err(DecodeErrorKind::BadOffset)),
                    };
                    Instruction::MovSx { width, dst, src: reg(i.src)?, bits }
                }
                _ => {
                    let alu_op = match (op, i.off) {
                        (alu::ADD, 0) => AluOp::Add,
                        (alu::SUB, 0) => AluOp::Sub,
                        (alu::MUL, 0) => AluOp::Mul,
                        (alu::DIV, 0) => AluOp::Div,
                        (alu::DIV, 1) => AluOp::SDiv,
                        (alu::OR, 0) => AluOp::Or,
                        (alu::AND, 0) => AluOp::And,
                        (alu::LSH, 0) => AluOp::Lsh,
                        (alu::RSH, 0) => AluOp::Rsh,
                        (alu::MOD, 0) => AluOp::Mod,
                        (alu::MOD, 1) => AluOp::SMod,
                        (alu::XOR, 0) => AluOp::Xor,
                        (alu::MOV, 0) => AluOp::Mov,
                        (alu::ARSH, 0) => AluOp::Arsh,
                        (0xe0 | 0xf0, _) => return Err(err(DecodeErrorKind::UnknownOpcode)),
                        (alu::DIV | alu::MOD, _) => return Err(err(DecodeErrorKind::BadOffset)),
                        _ => return Err(err(DecodeErrorKind::ReservedField("off"))),
                    };
                    let src = if is_x {
                        zero(i.imm.into(), "imm")?;
                        Operand::Reg(reg(i.src)?)
                    } else {
                        zero(i.src.into(), "src")?;
                        Operand::Imm(i.imm)
                    };
                    Instruction::Alu { width, op: alu_op, dst, src }
                }
            };
            Ok((insn, 1))
        }
        class::JMP | class::JMP32 => {
            let width = if code & 0x07 == class::JMP { Width::W64 } else { Width::W32 };
            let is_x = code & source::X != 0;
            let op = code & 0xf0;
            let insn = match op {
                jmp::JA => {
                    if is_x {
                        return Err(err(DecodeErrorKind::UnknownOpcode));
                    }
                    zero(i.dst.into(), "dst")?;
                    zero(i.src.into(), "src")?;
                    match width {
                        Width::W64 => {
                            zero(i.imm.into(), "imm")?;
                            Instruction::Ja { off: i.off }
                        }
                        Width::W32 => {
                            zero(i.off.into(), "off")?;
                            Instruction::Gotol { imm: i.imm }
                        }
                    }
                }
                jmp::CALL => {
                    if width == Width::W32 {
                        return Err(err(DecodeErrorKind::UnknownOpcode));
                    }
                    if is_x {
                        zero(i.src.into(), "src")?;
                        zero(i.off.into(), "off")?;
                        zero(i.imm.into(), "imm")?;
                        Instruction::CallX { reg: reg(i.dst)? }
                    } else {
                        zero(i.dst.into(), "dst")?;
                        let target = match i.src {
                            0 => CallTarget::Helper(i.imm),
                            1 => CallTarget::Local(i.imm),
                            2 => CallTarget::Kfunc { btf_id: i.imm, module: i.off },
                            _ => return Err(err(DecodeErrorKind::ReservedField("src"))),
                        };
                        if i.src != 2 {
                            zero(i.off.into(), "off")?;
                        }
                        Instruction::Call(target)
                    }
                }
                jmp::EXIT => {
                    if width == Width::W32 || is_x {
                        return Err(err(DecodeErrorKind::UnknownOpcode));
                    }
                    zero(i.dst.into(), "dst")?;
                    zero(i.src.into(), "src")?;
                    zero(i.off.into(), "off")?;
                    zero(i.imm.into(), "imm")?;
                    Instruction::Exit
                }
                0xe0 => {
                    return Err(err(DecodeErrorKind::Unsupported("may_goto (BPF_JCOND)")));
                }
                _ => {
                    let cond = Cond::from_code(op).ok_or(err(DecodeErrorKind::UnknownOpcode))?;
                    let dst = reg(i.dst)?;
                    let src = if is_x {
                        zero(i.imm.into(), "imm")?;
                        Operand::Reg(reg(i.src)?)
                    } else {
                        zero(i.src.into(), "src")?;
                        Operand::Imm(i.imm)
                    };
                    Instruction::Jump { width, cond, dst, src, off: i.off }
                }
            };
            Ok((insn, 1))
        }
        class::LD => match code & 0xe0 {
            mode::IMM => {
                if code != (class::LD | mode::IMM | size::DW) {
                    return Err(err(DecodeErrorKind::UnknownOpcode));
                }
                let dst = reg(i.dst)?;
                zero(i.off.into(), "off")?;
                let kind = Pseudo::from_src(i.src).ok_or(err(DecodeErrorKind::BadPseudo))?;
                let next = slots.get(pc + 1).ok_or(err(DecodeErrorKind::BadLddw))?;
                if next.code != 0 || next.dst != 0 || next.src != 0 || next.off != 0 {
                    return Err(err(DecodeErrorKind::BadLddw));
                }
                // Map fds and indexes and functions have no second value.
                if matches!(kind, Pseudo::MapFd | Pseudo::MapIdx | Pseudo::Func) && next.imm != 0 {
                    return Err(err(DecodeErrorKind::BadLddw));
                }
                Ok((Instruction::LoadImm64 { dst, kind, imm: i.imm, next_imm: next.imm }, 2))
            }
            m @ (mode::ABS | mode::IND) => {
                let size = Size::from_code(code);
                if size == Size::DW {
                    return Err(err(DecodeErrorKind::UnknownOpcode));
                }
                zero(i.dst.into(), "dst")?;
                zero(i.off.into(), "off")?;
                let pmode = if m == mode::ABS {
                    zero(i.src.into(), "src")?;
                    PacketMode::Abs
                } else {
                    PacketMode::Ind(reg(i.src)?)
                };
                Ok((Instruction::LoadPacket { mode: pmode, size, imm: i.imm }, 1))
            }
            _ => Err(err(DecodeErrorKind::UnknownOpcode)),
        },
        class::LDX => {
            let size = Size::from_code(code);
            let signed = match code & 0xe0 {
                mode::MEM => false,
                mode::MEMSX if size != Size::DW => true,
                _ => return Err(err(DecodeErrorKind::UnknownOpcode)),
            };
            zero(i.imm.into(), "imm")?;
            let insn =
                Instruction::Load { size, signed, dst: reg(i.dst)?, src: reg(i.src)?, off: i.off };
            Ok((insn, 1))
        }
        class::ST => {
            if code & 0xe0 != mode::MEM {
                return Err(err(DecodeErrorKind::UnknownOpcode));
            }
            zero(i.src.into(), "src")?;
            let insn = Instruction::Store {
                size: Size::from_code(code),
                dst: reg(i.dst)?,
                off: i.off,
                src: Operand::Imm(i.imm),
            };
            Ok((insn, 1))
        }
        _ => {
            // class::STX
            let size = Size::from_code(code);
            let insn = match code & 0xe0 {
                mode::MEM => {
                    zero(i.imm.into(), "imm")?;
                    Instruction::Store {
                        size,
                        dst: reg(i.dst)?,
                        off: i.off,
                        src: Operand::Reg(reg(i.src)?),
                    }
                }
                mode::ATOMIC => {
                    if !matches!(size, Size::W | Size::DW) {
                        if matches!(i.imm, 0x100 | 0x110) {
                            return Err(err(DecodeErrorKind::Unsupported(
                                "load-acquire/store-release",
                            )));
                        }
                        return Err(err(DecodeErrorKind::UnknownOpcode));
                    }
                    let op = match AtomicOp::from_imm(i.imm) {
                        Some(op) => op,
                        None if matches!(i.imm, 0x100 | 0x110) => {
                            return Err(err(DecodeErrorKind::Unsupported(
                                "load-acquire/store-release",
                            )));
                        }
                        None => return Err(err(DecodeErrorKind::BadImm)),
                    };
                    Instruction::Atomic { size, op, dst: reg(i.dst)?, src: reg(i.src)?, off: i.off }
                }
                _ => return Err(err(DecodeErrorKind::UnknownOpcode)),
            };
            Ok((insn, 1))
        }
    }
}

/// Decodes a whole program; yields each instruction with its slot index.
pub fn decode_all(
    slots: &[Insn],
) -> impl Iterator<Item = Result<(usize, Instruction), DecodeError>> + '_ {
    let mut pc = 0;
    let mut failed = false;
    core::iter::from_fn(move || {
        if failed || pc >= slots.len() {
            return None;
        }
        match decode(slots, pc) {
            Ok((insn, len)) => {
                let at = pc;
                pc += len;
                Some(Ok((at, insn)))
            }
            Err(e) => {
                failed = true;
                Some(Err(e))
            }
        }
    })
}

/// The slots of one encoded instruction.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Encoded {
    slots: [Insn; 2],
    len: usize,
}

impl Encoded {
    fn one(i: Insn) -> Self {
        Self { slots: [i, Insn::default()], len: 1 }
    }

    /// The slots (one or two).
    pub fn as_slice(&self) -> &[Insn] {
        &self.slots[..self.len]
    }
}

const fn width_class(width: Width, c32: u8, c64: u8) -> u8 {
    match width {
        Width::W32 => c32,
        Width::W64 => c64,
    }
}

impl Instruction {
    /// Number of slots this instruction takes.
    pub const fn len(&self) -> usize {
        match self {
            Instruction::LoadImm64 { .. } => 2,
            _ => 1,
        }
    }

    /// Always false; instructions take at least one slot.
    pub const fn is_empty(&self) -> bool {
        false
    }

    /// The 64-bit value of a plain `lddw` (and the raw value of the others).
    pub const fn imm64(imm: i32, next_imm: i32) -> u64 {
        (imm as u32 as u64) | ((next_imm as u32 as u64) << 32)
    }

    /// Encodes this instruction; the exact inverse of [`decode`].
    pub fn encode(&self) -> Encoded {
        let alu_src = |src: &Operand| match *src {
            Operand::Reg(r) => (source::X, r.num(), 0),
            Operand::Imm(imm) => (source::K, 0, imm),
        };
        match *self {
            Instruction::Alu { width, op, dst, src } => {
                let (s, sreg, imm) = alu_src(&src);
                let code = width_class(width, class::ALU, class::ALU64) | op.code() | s;
                Encoded::one(Insn::new(code, dst.num(), sreg, op.off(), imm))
            }
            Instruction::MovSx { width, dst, src, bits } => {
                let code = width_class(width, class::ALU, class::ALU64) | alu::MOV | source::X;
                Encoded::one(Insn::new(code, dst.num(), src.num(), bits as i16, 0))
            }
            Instruction::Neg { width, dst } => {
                let code = width_class(width, class::ALU, class::ALU64) | alu::NEG;
                Encoded::one(Insn::new(code, dst.num(), 0, 0, 0))
            }
            Instruction::Endian { op, dst, bits } => {
                let code = match op {
                    EndianOp::ToLe => class::ALU | alu::END | source::K,
                    EndianOp::ToBe => class::ALU | alu::END | source::X,
                    EndianOp::Swap => class::ALU64 | alu::END | source::K,
                };
                Encoded::one(Insn::new(code, dst.num(), 0, 0, bits as i32))
            }
            Instruction::LoadImm64 { dst, kind, imm, next_imm } => Encoded {
                slots: [
                    Insn::new(class::LD | mode::IMM | size::DW, dst.num(), kind.src(), 0, imm),
                    Insn::new(0, 0, 0, 0, next_imm),
                ],
                len: 2,
            },
            Instruction::LoadPacket { mode: pmode, size, imm } => {
                let (m, src) = match pmode {
                    PacketMode::Abs => (mode::ABS, 0),
                    PacketMode::Ind(r) => (mode::IND, r.num()),
                };
                Encoded::one(Insn::new(class::LD | m | size.code(), 0, src, 0, imm))
            }
            Instruction::Load { size, signed, dst, src, off } => {
                let m = if signed { mode::MEMSX } else { mode::MEM };
                Encoded::one(Insn::new(class::LDX | m | size.code(), dst.num(), src.num(), off, 0))
            }
            Instruction::Store { size, dst, off, src } => match src {
                Operand::Reg(r) => Encoded::one(Insn::new(
                    class::STX | mode::MEM | size.code(),
                    dst.num(),
                    r.num(),
                    off,
                    0,
                )),
                Operand::Imm(imm) => Encoded::one(Insn::new(
                    class::ST | mode::MEM | size.code(),
                    dst.num(),
                    0,
                    off,
                    imm,
                )),
            },
            Instruction::Atomic { size, op, dst, src, off } => Encoded::one(Insn::new(
                class::STX | mode::ATOMIC | size.code(),
                dst.num(),
                src.num(),
                off,
                op.imm(),
            )),
            Instruction::Ja { off } => Encoded::one(Insn::new(class::JMP | jmp::JA, 0, 0, off, 0)),
            Instruction::Gotol { imm } => {
                Encoded::one(Insn::new(class::JMP32 | jmp::JA, 0, 0, 0, imm))
            }
            Instruction::Jump { width, cond, dst, src, off } => {
                let (s, sreg, imm) = alu_src(&src);
                let code = width_class(width, class::JMP32, class::JMP) | cond.code() | s;
                Encoded::one(Insn::new(code, dst.num(), sreg, off, imm))
            }
            Instruction::Call(target) => {
                let (src, off, imm) = match target {
                    CallTarget::Helper(id) => (0, 0, id),
                    CallTarget::Local(rel) => (1, 0, rel),
                    CallTarget::Kfunc { btf_id, module } => (2, module, btf_id),
                };
                Encoded::one(Insn::new(class::JMP | jmp::CALL, 0, src, off, imm))
            }
            Instruction::CallX { reg } => {
                Encoded::one(Insn::new(class::JMP | jmp::CALL | source::X, reg.num(), 0, 0, 0))
            }
            Instruction::Exit => Encoded::one(Insn::new(class::JMP | jmp::EXIT, 0, 0, 0, 0)),
        }
    }

    /// The relative jump offset of a jump, or `None` for other instructions.
    /// The target is `pc + 1 + offset` (`pc + 2` never applies: jumps are
    /// one slot).
    pub const fn jump_offset(&self) -> Option<i32> {
        match *self {
            Instruction::Ja { off } | Instruction::Jump { off, .. } => Some(off as i32),
            Instruction::Gotol { imm } => Some(imm),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(words: &[u64]) -> Result<(Instruction, usize), DecodeError> {
        let slots: std::vec::Vec<Insn> = words.iter().map(|w| Insn::from_u64(*w)).collect();
        decode(&slots, 0)
    }

    #[test]
    fn every_valid_single_slot_roundtrips() {
        // Exhaust the opcode byte against a spread of other fields; whatever
        // decodes must encode back to the very same slot.
        let regs = [0u8, 1, 5, 10, 11, 15];
        let offs = [0i16, 1, 8, 16, 32, -1, 0x7fff];
        let imms = [0i32, 1, 16, 32, 64, 0xe1, 0xf1, 0x41, -1];
        let mut valid = 0;
        for code in 0..=255u8 {
            for &dst in &regs {
                for &src in &regs {
                    for &off in &offs {
                        for &imm in &imms {
                            let i = Insn::new(code, dst, src, off, imm);
                            let slots = [i, Insn::default()];
                            if let Ok((d, len)) = decode(&slots, 0) {
                                valid += 1;
                                let e = d.encode();
                                assert_eq!(e.as_slice(), &slots[..len], "{d:?}");
                            }
                        }
                    }
                }
            }
        }
        assert!(valid > 1000, "only {valid} valid encodings");
    }

    #[test]
    fn reserved_fields_are_refused() {
        // add64 r0, 1 with off = 1
        let e = dec(&[0x0000_0001_0001_0007]).unwrap_err();
        assert_eq!(e.kind, DecodeErrorKind::ReservedField("off"));
        // exit with imm = 1
        assert!(dec(&[0x0000_0001_0000_0095]).is_err());
        // ja with dst = 1
        assert!(dec(&[0x0000_0000_0000_0105]).is_err());
        // register r11
        assert_eq!(dec(&[0x0000_0000_0000_0bb7]).unwrap_err().kind, DecodeErrorKind::BadRegister);
    }

    #[test]
    fn v4_forms_decode() {
        // sdiv64 r0, r1 (off = 1), movsx r0 = (s8) r1, bswap64 r0, gotol +1
        let (i, _) = dec(&[0x0000_0000_0001_103f]).unwrap();
        assert!(matches!(i, Instruction::Alu { op: AluOp::SDiv, .. }));
        let (i, _) = dec(&[0x0000_0000_0008_10bf]).unwrap();
        assert!(matches!(i, Instruction::MovSx { bits: 8, width: Width::W64, .. }));
        let (i, _) = dec(&[0x0000_0040_0000_00d7]).unwrap();
        assert!(matches!(i, Instruction::Endian { op: EndianOp::Swap, bits: 64, .. }));
        let (i, _) = dec(&[0x0000_0001_0000_0006]).unwrap();
        assert_eq!(i, Instruction::Gotol { imm: 1 });
    }

    #[test]
    fn lddw_needs_a_clean_second_slot() {
        assert!(dec(&[0x0000_0001_0000_0018]).is_err());
        assert!(dec(&[0x0000_0001_0000_0018, 0x0000_0002_0000_0100]).is_err());
        let (i, len) = dec(&[0x5566_7788_0000_0018, 0x1122_3344_0000_0000]).unwrap();
        assert_eq!(len, 2);
        let Instruction::LoadImm64 { imm, next_imm, .. } = i else { panic!() };
        assert_eq!(Instruction::imm64(imm, next_imm), 0x1122_3344_5566_7788);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn cases() -> u32 {
        if std::env::var_os("AXIOM_LONG_TESTS").is_some() { 1_000_000 } else { 20_000 }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(cases()))]

        /// Random bytes never make the decoder panic, and whatever decodes
        /// re-encodes to the same slots.
        #[test]
        fn random_slots_decode_without_panic(words in proptest::collection::vec(any::<u64>(), 1..8)) {
            let slots: std::vec::Vec<Insn> = words.iter().map(|w| Insn::from_u64(*w)).collect();
            for pc in 0..slots.len() {
                if let Ok((insn, len)) = decode(&slots, pc) {
                    let enc = insn.encode();
                    prop_assert_eq!(enc.as_slice(), &slots[pc..pc + len]);
                }
            }
            let _ = decode_all(&slots).count();
        }

        /// Slots built from plausible opcodes (the interesting part of the
        /// space) round-trip too.
        #[test]
        fn plausible_slots_roundtrip(code in any::<u8>(), dst in 0u8..12, src in 0u8..12,
                                     off in prop_oneof![Just(0i16), Just(1), Just(8), Just(16), Just(32), any::<i16>()],
                                     imm in prop_oneof![Just(0i32), Just(16), Just(32), Just(64), Just(0xe1), Just(0xf1), any::<i32>()],
                                     next in any::<i32>()) {
            let slots = [Insn::new(code, dst, src, off, imm), Insn::new(0, 0, 0, 0, next)];
            if let Ok((insn, len)) = decode(&slots, 0) {
                let enc = insn.encode();
                prop_assert_eq!(enc.as_slice(), &slots[..len]);
            }
        }
    }
}
