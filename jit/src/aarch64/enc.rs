//! AArch64 instruction encoders: one small function per encoding form,
//! named after it (the Arm ARM's "A64 instruction set encoding" section
//! gives each form's fixed bits). Each returns the 32-bit instruction word
//! and knows nothing about BPF. Register number 31 is `xzr`/`wzr` or `sp`
//! depending on the form, as in the architecture.

/// A general-purpose register number, 0..=31.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct X(pub u8);

/// The zero register (in forms where 31 means `xzr`).
pub const XZR: X = X(31);
/// The stack pointer (in forms where 31 means `sp`).
pub const SP: X = X(31);
/// The frame pointer `x29`.
pub const FP: X = X(29);
/// The link register `x30`.
pub const LR: X = X(30);

impl X {
    const fn n(self) -> u32 {
        self.0 as u32 & 31
    }
}

/// Operand width: `x` (64-bit) or `w` (32-bit) registers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum W {
    /// 32-bit (`w` registers; results zero-extended).
    W32,
    /// 64-bit.
    X64,
}

impl W {
    const fn sf(self) -> u32 {
        match self {
            W::W32 => 0,
            W::X64 => 1 << 31,
        }
    }
}

/// Condition codes of `b.cond`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[allow(missing_docs)]
pub enum Cond {
    Eq = 0,
    Ne = 1,
    Hs = 2,
    Lo = 3,
    Mi = 4,
    Pl = 5,
    Hi = 8,
    Ls = 9,
    Ge = 10,
    Lt = 11,
    Gt = 12,
    Le = 13,
}

impl Cond {
    /// The opposite condition.
    pub const fn invert(self) -> Cond {
        match self {
            Cond::Eq => Cond::Ne,
            Cond::Ne => Cond::Eq,
            Cond::Hs => Cond::Lo,
            Cond::Lo => Cond::Hs,
            Cond::Mi => Cond::Pl,
            Cond::Pl => Cond::Mi,
            Cond::Hi => Cond::Ls,
            Cond::Ls => Cond::Hi,
            Cond::Ge => Cond::Lt,
            Cond::Lt => Cond::Ge,
            Cond::Gt => Cond::Le,
            Cond::Le => Cond::Gt,
        }
    }
}

/// Size of a memory access.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Size {
    /// 8 bits.
    B = 0,
    /// 16 bits.
    H = 1,
    /// 32 bits.
    W = 2,
    /// 64 bits.
    X = 3,
}

// Move wide (immediate).

/// `movz rd, #imm16, lsl #(16 * hw)`.
pub const fn movz(w: W, rd: X, imm16: u16, hw: u32) -> u32 {
    w.sf() | 0x5280_0000 | hw << 21 | (imm16 as u32) << 5 | rd.n()
}

/// `movk rd, #imm16, lsl #(16 * hw)`.
pub const fn movk(w: W, rd: X, imm16: u16, hw: u32) -> u32 {
    w.sf() | 0x7280_0000 | hw << 21 | (imm16 as u32) << 5 | rd.n()
}

/// `movn rd, #imm16, lsl #(16 * hw)`.
pub const fn movn(w: W, rd: X, imm16: u16, hw: u32) -> u32 {
    w.sf() | 0x1280_0000 | hw << 21 | (imm16 as u32) << 5 | rd.n()
}

// Data processing (register).

/// `mov rd, rm` (`orr rd, zr, rm`).
pub const fn mov(w: W, rd: X, rm: X) -> u32 {
    orr(w, rd, XZR, rm)
}

/// `add rd, rn, rm`.
pub const fn add(w: W, rd: X, rn: X, rm: X) -> u32 {
    w.sf() | 0x0b00_0000 | rm.n() << 16 | rn.n() << 5 | rd.n()
}

/// `sub rd, rn, rm`.
pub const fn sub(w: W, rd: X, rn: X, rm: X) -> u32 {
    w.sf() | 0x4b00_0000 | rm.n() << 16 | rn.n() << 5 | rd.n()
}

/// `and rd, rn, rm`.
pub const fn and(w: W, rd: X, rn: X, rm: X) -> u32 {
    w.sf() | 0x0a00_0000 | rm.n() << 16 | rn.n() << 5 | rd.n()
}

/// `orr rd, rn, rm`.
pub const fn orr(w: W, rd: X, rn: X, rm: X) -> u32 {
    w.sf() | 0x2a00_0000 | rm.n() << 16 | rn.n() << 5 | rd.n()
}

/// `eor rd, rn, rm`.
pub const fn eor(w: W, rd: X, rn: X, rm: X) -> u32 {
    w.sf() | 0x4a00_0000 | rm.n() << 16 | rn.n() << 5 | rd.n()
}

/// `mul rd, rn, rm` (`madd rd, rn, rm, zr`).
pub const fn mul(w: W, rd: X, rn: X, rm: X) -> u32 {
    w.sf() | 0x1b00_7c00 | rm.n() << 16 | rn.n() << 5 | rd.n()
}

/// `msub rd, rn, rm, ra`: `ra - rn * rm`.
pub const fn msub(w: W, rd: X, rn: X, rm: X, ra: X) -> u32 {
    w.sf() | 0x1b00_8000 | rm.n() << 16 | ra.n() << 10 | rn.n() << 5 | rd.n()
}

/// `udiv rd, rn, rm` (division by zero gives 0).
pub const fn udiv(w: W, rd: X, rn: X, rm: X) -> u32 {
    w.sf() | 0x1ac0_0800 | rm.n() << 16 | rn.n() << 5 | rd.n()
}

/// `sdiv rd, rn, rm` (by zero gives 0; `MIN / -1` gives `MIN`).
pub const fn sdiv(w: W, rd: X, rn: X, rm: X) -> u32 {
    w.sf() | 0x1ac0_0c00 | rm.n() << 16 | rn.n() << 5 | rd.n()
}

/// `lslv rd, rn, rm` (the amount taken modulo the width).
pub const fn lslv(w: W, rd: X, rn: X, rm: X) -> u32 {
    w.sf() | 0x1ac0_2000 | rm.n() << 16 | rn.n() << 5 | rd.n()
}

/// `lsrv rd, rn, rm`.
pub const fn lsrv(w: W, rd: X, rn: X, rm: X) -> u32 {
    w.sf() | 0x1ac0_2400 | rm.n() << 16 | rn.n() << 5 | rd.n()
}

/// `asrv rd, rn, rm`.
pub const fn asrv(w: W, rd: X, rn: X, rm: X) -> u32 {
    w.sf() | 0x1ac0_2800 | rm.n() << 16 | rn.n() << 5 | rd.n()
}

/// `neg rd, rm` (`sub rd, zr, rm`).
pub const fn neg(w: W, rd: X, rm: X) -> u32 {
    sub(w, rd, XZR, rm)
}

/// `rev16 rd, rn`: swaps the bytes of each halfword.
pub const fn rev16(w: W, rd: X, rn: X) -> u32 {
    w.sf() | 0x5ac0_0400 | rn.n() << 5 | rd.n()
}

/// `rev32 xd, xn`: swaps the bytes of each word (64-bit only).
pub const fn rev32(rd: X, rn: X) -> u32 {
    0xdac0_0800 | rn.n() << 5 | rd.n()
}

/// `rev rd, rn`: reverses all bytes of the register.
pub const fn rev(w: W, rd: X, rn: X) -> u32 {
    match w {
        W::W32 => 0x5ac0_0800 | rn.n() << 5 | rd.n(),
        W::X64 => 0xdac0_0c00 | rn.n() << 5 | rd.n(),
    }
}

// Bitfield moves: shifts by immediates and extensions.

/// `ubfm rd, rn, #immr, #imms`.
pub const fn ubfm(w: W, rd: X, rn: X, immr: u32, imms: u32) -> u32 {
    let n = match w {
        W::W32 => 0,
        W::X64 => 1 << 22,
    };
    w.sf() | 0x5300_0000 | n | immr << 16 | imms << 10 | rn.n() << 5 | rd.n()
}

/// `sbfm rd, rn, #immr, #imms`.
pub const fn sbfm(w: W, rd: X, rn: X, immr: u32, imms: u32) -> u32 {
    let n = match w {
        W::W32 => 0,
        W::X64 => 1 << 22,
    };
    w.sf() | 0x1300_0000 | n | immr << 16 | imms << 10 | rn.n() << 5 | rd.n()
}

const fn bits(w: W) -> u32 {
    match w {
        W::W32 => 32,
        W::X64 => 64,
    }
}

/// `lsl rd, rn, #s` (`s` below the width).
pub const fn lsl_imm(w: W, rd: X, rn: X, s: u32) -> u32 {
    let b = bits(w);
    ubfm(w, rd, rn, (b - s) % b, b - 1 - s)
}

/// `lsr rd, rn, #s`.
pub const fn lsr_imm(w: W, rd: X, rn: X, s: u32) -> u32 {
    ubfm(w, rd, rn, s, bits(w) - 1)
}

/// `asr rd, rn, #s`.
pub const fn asr_imm(w: W, rd: X, rn: X, s: u32) -> u32 {
    sbfm(w, rd, rn, s, bits(w) - 1)
}

/// `sxtb`/`sxth`/`sxtw rd, rn`: sign-extends the low `from` bits (8, 16
/// or 32) to the width.
pub const fn sxt(w: W, rd: X, rn: X, from: u32) -> u32 {
    sbfm(w, rd, rn, 0, from - 1)
}

/// `uxth wd, wn` style zero extension of the low `from` bits (8 or 16).
pub const fn uxt(rd: X, rn: X, from: u32) -> u32 {
    ubfm(W::W32, rd, rn, 0, from - 1)
}

// Add/subtract (immediate).

/// `add rd, rn, #imm12` (`rd`/`rn` 31 is `sp`).
pub const fn add_imm(w: W, rd: X, rn: X, imm12: u32) -> u32 {
    w.sf() | 0x1100_0000 | (imm12 & 0xfff) << 10 | rn.n() << 5 | rd.n()
}

/// `sub rd, rn, #imm12` (`rd`/`rn` 31 is `sp`).
pub const fn sub_imm(w: W, rd: X, rn: X, imm12: u32) -> u32 {
    w.sf() | 0x5100_0000 | (imm12 & 0xfff) << 10 | rn.n() << 5 | rd.n()
}

// Flag setting: comparisons and tests.

/// `cmp rn, rm` (`subs zr, rn, rm`).
pub const fn cmp(w: W, rn: X, rm: X) -> u32 {
    w.sf() | 0x6b00_001f | rm.n() << 16 | rn.n() << 5
}

/// `cmp rn, #imm12`.
pub const fn cmp_imm(w: W, rn: X, imm12: u32) -> u32 {
    w.sf() | 0x7100_001f | (imm12 & 0xfff) << 10 | rn.n() << 5
}

/// `tst rn, rm` (`ands zr, rn, rm`).
pub const fn tst(w: W, rn: X, rm: X) -> u32 {
    w.sf() | 0x6a00_001f | rm.n() << 16 | rn.n() << 5
}

// Loads and stores.

/// `ldur`/`ldurb`/`ldurh` (zero-extending) `rt, [rn, #simm9]`.
pub const fn ldur(size: Size, rt: X, rn: X, simm9: i32) -> u32 {
    (size as u32) << 30 | 0x3840_0000 | (simm9 as u32 & 0x1ff) << 12 | rn.n() << 5 | rt.n()
}

/// `stur`/`sturb`/`sturh rt, [rn, #simm9]`.
pub const fn stur(size: Size, rt: X, rn: X, simm9: i32) -> u32 {
    (size as u32) << 30 | 0x3800_0000 | (simm9 as u32 & 0x1ff) << 12 | rn.n() << 5 | rt.n()
}

/// `ldursb`/`ldursh`/`ldursw xt, [rn, #simm9]`: sign-extending to 64 bits.
pub const fn ldurs(size: Size, rt: X, rn: X, simm9: i32) -> u32 {
    (size as u32) << 30 | 0x3880_0000 | (simm9 as u32 & 0x1ff) << 12 | rn.n() << 5 | rt.n()
}

/// `ldr`/`ldrb`/`ldrh rt, [rn, rm]` (zero-extending).
pub const fn ldr_reg(size: Size, rt: X, rn: X, rm: X) -> u32 {
    (size as u32) << 30 | 0x3860_6800 | rm.n() << 16 | rn.n() << 5 | rt.n()
}

/// `str`/`strb`/`strh rt, [rn, rm]`.
pub const fn str_reg(size: Size, rt: X, rn: X, rm: X) -> u32 {
    (size as u32) << 30 | 0x3820_6800 | rm.n() << 16 | rn.n() << 5 | rt.n()
}

/// `ldrsb`/`ldrsh`/`ldrsw xt, [rn, rm]`: sign-extending to 64 bits.
pub const fn ldrs_reg(size: Size, rt: X, rn: X, rm: X) -> u32 {
    (size as u32) << 30 | 0x38a0_6800 | rm.n() << 16 | rn.n() << 5 | rt.n()
}

/// `stp xt1, xt2, [rn, #imm]!` (pre-index; `imm` a multiple of 8).
pub const fn stp_pre(rt1: X, rt2: X, rn: X, imm: i32) -> u32 {
    0xa980_0000 | ((imm / 8) as u32 & 0x7f) << 15 | rt2.n() << 10 | rn.n() << 5 | rt1.n()
}

/// `ldp xt1, xt2, [rn], #imm` (post-index).
pub const fn ldp_post(rt1: X, rt2: X, rn: X, imm: i32) -> u32 {
    0xa8c0_0000 | ((imm / 8) as u32 & 0x7f) << 15 | rt2.n() << 10 | rn.n() << 5 | rt1.n()
}

// Branches.

/// `b` by `off` bytes (a multiple of 4, within ±128 MiB).
pub const fn b(off: i32) -> u32 {
    0x1400_0000 | ((off >> 2) as u32 & 0x03ff_ffff)
}

/// `bl` by `off` bytes.
pub const fn bl(off: i32) -> u32 {
    0x9400_0000 | ((off >> 2) as u32 & 0x03ff_ffff)
}

/// `b.cond` by `off` bytes (within ±1 MiB).
pub const fn b_cond(c: Cond, off: i32) -> u32 {
    0x5400_0000 | ((off >> 2) as u32 & 0x7ffff) << 5 | c as u32
}

/// `cbnz wt/xt` by `off` bytes.
pub const fn cbnz(w: W, rt: X, off: i32) -> u32 {
    w.sf() | 0x3500_0000 | ((off >> 2) as u32 & 0x7ffff) << 5 | rt.n()
}

/// `blr xn`.
pub const fn blr(rn: X) -> u32 {
    0xd63f_0000 | rn.n() << 5
}

/// `br xn`.
pub const fn br(rn: X) -> u32 {
    0xd61f_0000 | rn.n() << 5
}

/// `ret` (to `x30`).
pub const RET: u32 = 0xd65f_03c0;

/// `brk #0`: the trap that fills unused code space.
pub const BRK: u32 = 0xd420_0000;

/// `dmb ish`.
pub const DMB_ISH: u32 = 0xd503_3bbf;

// Atomics (LSE, ARMv8.1).

/// The LSE atomic memory operations (`ld<op>al rs, rt, [rn]`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AtomicOp {
    /// `ldaddal`: add.
    Add = 0,
    /// `ldclral`: clear the bits set in `rs`.
    Clr = 1,
    /// `ldeoral`: exclusive or.
    Eor = 2,
    /// `ldsetal`: or.
    Set = 3,
}

/// `ld<op>al rs, rt, [rn]`: `rt = *rn; *rn = *rn op rs`, sequentially
/// consistent. 64-bit when `w` is `X64`.
pub const fn ldopal(w: W, op: AtomicOp, rs: X, rt: X, rn: X) -> u32 {
    let size = match w {
        W::W32 => 2u32,
        W::X64 => 3,
    };
    size << 30 | 0x38e0_0000 | rs.n() << 16 | (op as u32) << 12 | rn.n() << 5 | rt.n()
}

/// `swpal rs, rt, [rn]`: `rt = *rn; *rn = rs`.
pub const fn swpal(w: W, rs: X, rt: X, rn: X) -> u32 {
    let size = match w {
        W::W32 => 2u32,
        W::X64 => 3,
    };
    size << 30 | 0x38e0_8000 | rs.n() << 16 | rn.n() << 5 | rt.n()
}

/// `casal rs, rt, [rn]`: if `*rn == rs` then `*rn = rt`; `rs` gets the old
/// value.
pub const fn casal(w: W, rs: X, rt: X, rn: X) -> u32 {
    let size = match w {
        W::W32 => 2u32,
        W::X64 => 3,
    };
    size << 30 | 0x08e0_fc00 | rs.n() << 16 | rn.n() << 5 | rt.n()
}

/// `ldaxr rt, [rn]` (load-acquire exclusive).
pub const fn ldaxr(w: W, rt: X, rn: X) -> u32 {
    let size = match w {
        W::W32 => 2u32,
        W::X64 => 3,
    };
    size << 30 | 0x085f_fc00 | rn.n() << 5 | rt.n()
}

/// `stlxr ws, rt, [rn]` (store-release exclusive; `ws` is 0 on success).
pub const fn stlxr(w: W, ws: X, rt: X, rn: X) -> u32 {
    let size = match w {
        W::W32 => 2u32,
        W::X64 => 3,
    };
    size << 30 | 0x0800_fc00 | ws.n() << 16 | rn.n() << 5 | rt.n()
}
