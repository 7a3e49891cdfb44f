//! x86-64 instruction encoders: one small method per encoding form, named
//! after it (Intel SDM volume 2 gives each form's opcode; the section is
//! cited on each group). They append bytes to an [`Asm`] and know nothing
//! about BPF.

use alloc::vec::Vec;

/// A general-purpose register, numbered as in the ModRM/REX encoding.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum R {
    Rax = 0,
    Rcx = 1,
    Rdx = 2,
    Rbx = 3,
    Rsp = 4,
    Rbp = 5,
    Rsi = 6,
    Rdi = 7,
    R8 = 8,
    R9 = 9,
    R10 = 10,
    R11 = 11,
    R12 = 12,
    R13 = 13,
    R14 = 14,
    R15 = 15,
}

impl R {
    /// All sixteen registers, for tests.
    pub const ALL: [R; 16] = [
        R::Rax,
        R::Rcx,
        R::Rdx,
        R::Rbx,
        R::Rsp,
        R::Rbp,
        R::Rsi,
        R::Rdi,
        R::R8,
        R::R9,
        R::R10,
        R::R11,
        R::R12,
        R::R13,
        R::R14,
        R::R15,
    ];

    const fn low(self) -> u8 {
        self as u8 & 7
    }

    const fn ext(self) -> bool {
        self as u8 >= 8
    }
}

/// Operand size of an integer instruction.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Sz {
    /// 8 bits.
    B,
    /// 16 bits (operand-size prefix 0x66).
    H,
    /// 32 bits.
    W,
    /// 64 bits (REX.W).
    Q,
}

/// Two-operand arithmetic with a register or memory destination
/// (SDM vol. 2: ADD, OR, AND, SUB, XOR, CMP share one encoding scheme).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Arith {
    /// `add`
    Add = 0,
    /// `or`
    Or = 1,
    /// `and`
    And = 4,
    /// `sub`
    Sub = 5,
    /// `xor`
    Xor = 6,
    /// `cmp`
    Cmp = 7,
}

/// Shift operations (SDM: SAL/SAR/SHL/SHR, group 2 `/digit`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Shift {
    /// `shl`
    Shl = 4,
    /// `shr`
    Shr = 5,
    /// `sar`
    Sar = 7,
}

/// Condition codes (SDM appendix B, the `tttn` field).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[allow(missing_docs)]
pub enum Cc {
    /// below (unsigned <)
    B = 0x2,
    /// above or equal (unsigned >=)
    Ae = 0x3,
    E = 0x4,
    Ne = 0x5,
    /// below or equal (unsigned <=)
    Be = 0x6,
    /// above (unsigned >)
    A = 0x7,
    /// less (signed <)
    L = 0xc,
    /// greater or equal (signed >=)
    Ge = 0xd,
    /// less or equal (signed <=)
    Le = 0xe,
    /// greater (signed >)
    G = 0xf,
}

/// A memory operand `[base + disp]`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Mem {
    /// Base register.
    pub base: R,
    /// Signed displacement.
    pub disp: i32,
}

/// Whether `v` fits a sign-extended 8-bit immediate.
pub const fn is_imm8(v: i64) -> bool {
    v >= i8::MIN as i64 && v <= i8::MAX as i64
}

/// Whether `v` fits a sign-extended 32-bit immediate.
pub const fn is_simm32(v: i64) -> bool {
    v >= i32::MIN as i64 && v <= i32::MAX as i64
}

/// A growing buffer of machine code.
#[derive(Default, Clone, Debug)]
pub struct Asm {
    /// The bytes emitted so far.
    pub code: Vec<u8>,
}

impl Asm {
    /// Current offset.
    pub fn pos(&self) -> usize {
        self.code.len()
    }

    fn b(&mut self, v: u8) {
        self.code.push(v);
    }

    fn d(&mut self, v: i32) {
        self.code.extend_from_slice(&v.to_le_bytes());
    }

    /// Emits the prefixes for a `reg, r/m` instruction: 0x66 for 16-bit,
    /// then REX when needed (W for 64-bit; always for byte registers
    /// sil/dil/spl/bpl).
    fn prefix(&mut self, sz: Sz, reg: u8, rm: R, byte_reg: bool) {
        if sz == Sz::H {
            self.b(0x66);
        }
        let w = sz == Sz::Q;
        let r = reg >= 8;
        let bx = rm.ext();
        let force = byte_reg && (reg & 7 >= 4 || rm.low() >= 4);
        if w || r || bx || force {
            self.b(0x40 | (w as u8) << 3 | (r as u8) << 2 | bx as u8);
        }
    }

    fn modrm_reg(&mut self, reg: u8, rm: R) {
        self.b(0xc0 | (reg & 7) << 3 | rm.low());
    }

    /// ModRM (+SIB, +displacement) for `[base + disp]`: shortest form.
    fn modrm_mem(&mut self, reg: u8, m: Mem) {
        let md = if m.disp == 0 && m.base.low() != 5 {
            0
        } else if is_imm8(m.disp as i64) {
            1
        } else {
            2
        };
        self.b(md << 6 | (reg & 7) << 3 | m.base.low());
        if m.base.low() == 4 {
            self.b(0x24); // SIB: no index, base = rsp/r12
        }
        match md {
            1 => self.b(m.disp as i8 as u8),
            2 => self.d(m.disp),
            _ => {}
        }
    }

    // --- Moves (SDM: MOV, MOVZX, MOVSX, MOVSXD) ---

    /// `mov dst, src` (89 /r), 32 or 64 bits.
    pub fn mov_rr(&mut self, sz: Sz, dst: R, src: R) {
        self.prefix(sz, src as u8, dst, false);
        self.b(0x89);
        self.modrm_reg(src as u8, dst);
    }

    /// `mov r32, imm32` (B8+r id): zero-extends into the 64-bit register.
    pub fn mov_r32_imm(&mut self, dst: R, imm: u32) {
        self.prefix(Sz::W, 0, dst, false);
        self.b(0xb8 + dst.low());
        self.d(imm as i32);
    }

    /// `mov r64, simm32` (REX.W C7 /0 id): sign-extends.
    pub fn mov_r64_simm32(&mut self, dst: R, imm: i32) {
        self.prefix(Sz::Q, 0, dst, false);
        self.b(0xc7);
        self.modrm_reg(0, dst);
        self.d(imm);
    }

    /// `movabs r64, imm64` (REX.W B8+r io).
    pub fn mov_r64_imm64(&mut self, dst: R, imm: u64) {
        self.prefix(Sz::Q, 0, dst, false);
        self.b(0xb8 + dst.low());
        self.code.extend_from_slice(&imm.to_le_bytes());
    }

    /// The shortest way to put a 64-bit constant in a register: `xor` for
    /// 0, `mov r32` for zero-extended, `mov r64, simm32`, else `movabs`.
    /// (The `xor` form changes flags; no caller keeps flags across it.)
    pub fn load_imm64(&mut self, dst: R, imm: u64) {
        if imm == 0 {
            self.arith_rr(Sz::W, Arith::Xor, dst, dst);
        } else if imm <= u32::MAX as u64 {
            self.mov_r32_imm(dst, imm as u32);
        } else if is_simm32(imm as i64) {
            self.mov_r64_simm32(dst, imm as i32);
        } else {
            self.mov_r64_imm64(dst, imm);
        }
    }

    /// `movzx r32, r/m8` (0F B6) or `movzx r32, r/m16` (0F B7).
    pub fn movzx_rr(&mut self, from: Sz, dst: R, src: R) {
        self.prefix(Sz::W, dst as u8, src, from == Sz::B);
        self.b(0x0f);
        self.b(if from == Sz::B { 0xb6 } else { 0xb7 });
        self.modrm_reg(dst as u8, src);
    }

    /// Sign extension into a register of size `to` (32 or 64 bits):
    /// `movsx` (0F BE/BF) from 8/16 bits, `movsxd` (REX.W 63) from 32.
    pub fn movsx_rr(&mut self, from: Sz, to: Sz, dst: R, src: R) {
        self.prefix(to, dst as u8, src, from == Sz::B);
        match from {
            Sz::B => self.code.extend_from_slice(&[0x0f, 0xbe]),
            Sz::H => self.code.extend_from_slice(&[0x0f, 0xbf]),
            _ => self.b(0x63),
        }
        self.modrm_reg(dst as u8, src);
    }

    /// Load of `sz` bytes, zero-extended: `movzx` (8/16), `mov r32`, `mov r64`.
    pub fn load(&mut self, sz: Sz, dst: R, m: Mem) {
        match sz {
            Sz::B | Sz::H => {
                self.prefix(Sz::W, dst as u8, m.base, false);
                self.b(0x0f);
                self.b(if sz == Sz::B { 0xb6 } else { 0xb7 });
            }
            _ => {
                self.prefix(sz, dst as u8, m.base, false);
                self.b(0x8b);
            }
        }
        self.modrm_mem(dst as u8, m);
    }

    /// Load of `sz` bytes, sign-extended to 64 bits: `movsx r64` (8/16) or
    /// `movsxd r64` (32).
    pub fn load_sx(&mut self, sz: Sz, dst: R, m: Mem) {
        self.prefix(Sz::Q, dst as u8, m.base, false);
        match sz {
            Sz::B => self.code.extend_from_slice(&[0x0f, 0xbe]),
            Sz::H => self.code.extend_from_slice(&[0x0f, 0xbf]),
            _ => self.b(0x63),
        }
        self.modrm_mem(dst as u8, m);
    }

    /// Store of the low `sz` bytes of `src` (88 /r, 66 89 /r, 89 /r).
    pub fn store(&mut self, sz: Sz, m: Mem, src: R) {
        self.prefix(sz, src as u8, m.base, sz == Sz::B);
        self.b(if sz == Sz::B { 0x88 } else { 0x89 });
        self.modrm_mem(src as u8, m);
    }

    /// Store of an immediate (C6 /0 ib, 66 C7 /0 iw, C7 /0 id, REX.W C7 /0
    /// id sign-extended).
    pub fn store_imm(&mut self, sz: Sz, m: Mem, imm: i32) {
        self.prefix(sz, 0, m.base, false);
        self.b(if sz == Sz::B { 0xc6 } else { 0xc7 });
        self.modrm_mem(0, m);
        match sz {
            Sz::B => self.b(imm as u8),
            Sz::H => self.code.extend_from_slice(&(imm as u16).to_le_bytes()),
            _ => self.d(imm),
        }
    }

    /// `lea r64, [base + disp]` (REX.W 8D /r).
    pub fn lea(&mut self, dst: R, m: Mem) {
        self.prefix(Sz::Q, dst as u8, m.base, false);
        self.b(0x8d);
        self.modrm_mem(dst as u8, m);
    }

    // --- Arithmetic (SDM: ADD/OR/AND/SUB/XOR/CMP, TEST, IMUL, NEG, DIV) ---

    /// `op dst, src` (01/09/21/29/31/39 /r).
    pub fn arith_rr(&mut self, sz: Sz, op: Arith, dst: R, src: R) {
        self.prefix(sz, src as u8, dst, false);
        self.b((op as u8) << 3 | 1);
        self.modrm_reg(src as u8, dst);
    }

    /// `op dst, imm` with the shortest encoding: 83 /op ib, the
    /// accumulator short form (05/0D/25/2D/35/3D id), or 81 /op id.
    pub fn arith_ri(&mut self, sz: Sz, op: Arith, dst: R, imm: i32) {
        if is_imm8(imm as i64) {
            self.prefix(sz, 0, dst, false);
            self.b(0x83);
            self.modrm_reg(op as u8, dst);
            self.b(imm as u8);
        } else if dst == R::Rax {
            self.prefix(sz, 0, dst, false);
            self.b((op as u8) << 3 | 5);
            self.d(imm);
        } else {
            self.prefix(sz, 0, dst, false);
            self.b(0x81);
            self.modrm_reg(op as u8, dst);
            self.d(imm);
        }
    }

    /// `test a, b` (85 /r).
    pub fn test_rr(&mut self, sz: Sz, a: R, b: R) {
        self.prefix(sz, b as u8, a, false);
        self.b(0x85);
        self.modrm_reg(b as u8, a);
    }

    /// `test r, imm32` (A9 id for the accumulator, else F7 /0 id).
    pub fn test_ri(&mut self, sz: Sz, a: R, imm: i32) {
        self.prefix(sz, 0, a, false);
        if a == R::Rax {
            self.b(0xa9);
        } else {
            self.b(0xf7);
            self.modrm_reg(0, a);
        }
        self.d(imm);
    }

    /// `imul dst, src` (0F AF /r).
    pub fn imul_rr(&mut self, sz: Sz, dst: R, src: R) {
        self.prefix(sz, dst as u8, src, false);
        self.code.extend_from_slice(&[0x0f, 0xaf]);
        self.modrm_reg(dst as u8, src);
    }

    /// `imul dst, src, imm` (6B /r ib or 69 /r id).
    pub fn imul_rri(&mut self, sz: Sz, dst: R, src: R, imm: i32) {
        self.prefix(sz, dst as u8, src, false);
        if is_imm8(imm as i64) {
            self.b(0x6b);
            self.modrm_reg(dst as u8, src);
            self.b(imm as u8);
        } else {
            self.b(0x69);
            self.modrm_reg(dst as u8, src);
            self.d(imm);
        }
    }

    /// Group 3 unary forms (F7 /digit): `neg` is /3, `div` /6, `idiv` /7.
    fn group3(&mut self, sz: Sz, digit: u8, r: R) {
        self.prefix(sz, 0, r, false);
        self.b(0xf7);
        self.modrm_reg(digit, r);
    }

    /// `neg r` (F7 /3).
    pub fn neg(&mut self, sz: Sz, r: R) {
        self.group3(sz, 3, r);
    }

    /// `div r` (F7 /6): unsigned `rdx:rax / r`.
    pub fn div(&mut self, sz: Sz, r: R) {
        self.group3(sz, 6, r);
    }

    /// `idiv r` (F7 /7): signed `rdx:rax / r`.
    pub fn idiv(&mut self, sz: Sz, r: R) {
        self.group3(sz, 7, r);
    }

    /// `cdq` (99) or `cqo` (REX.W 99): sign-extend the accumulator into rdx.
    pub fn cdq(&mut self, sz: Sz) {
        if sz == Sz::Q {
            self.b(0x48);
        }
        self.b(0x99);
    }

    /// Shift by an immediate (C1 /digit ib; D1 /digit for 1).
    pub fn shift_ri(&mut self, sz: Sz, op: Shift, r: R, imm: u8) {
        self.prefix(sz, 0, r, false);
        if imm == 1 {
            self.b(0xd1);
            self.modrm_reg(op as u8, r);
        } else {
            self.b(0xc1);
            self.modrm_reg(op as u8, r);
            self.b(imm);
        }
    }

    /// Shift by `cl` (D3 /digit).
    pub fn shift_cl(&mut self, sz: Sz, op: Shift, r: R) {
        self.prefix(sz, 0, r, false);
        self.b(0xd3);
        self.modrm_reg(op as u8, r);
    }

    /// `bswap r32/r64` (0F C8+r).
    pub fn bswap(&mut self, sz: Sz, r: R) {
        self.prefix(sz, 0, r, false);
        self.b(0x0f);
        self.b(0xc8 + r.low());
    }

    /// `rol r16, 8` (66 C1 /0 08): swaps the two low bytes.
    pub fn rol16_8(&mut self, r: R) {
        self.prefix(Sz::H, 0, r, false);
        self.b(0xc1);
        self.modrm_reg(0, r);
        self.b(8);
    }

    // --- Atomics (SDM: LOCK prefix, XADD, XCHG, CMPXCHG) ---

    /// `lock op [m], src` for add/or/and/xor (F0 01/09/21/31 /r).
    pub fn lock_arith(&mut self, sz: Sz, op: Arith, m: Mem, src: R) {
        self.b(0xf0);
        self.prefix(sz, src as u8, m.base, false);
        self.b((op as u8) << 3 | 1);
        self.modrm_mem(src as u8, m);
    }

    /// `lock xadd [m], src` (F0 0F C1 /r).
    pub fn lock_xadd(&mut self, sz: Sz, m: Mem, src: R) {
        self.b(0xf0);
        self.prefix(sz, src as u8, m.base, false);
        self.code.extend_from_slice(&[0x0f, 0xc1]);
        self.modrm_mem(src as u8, m);
    }

    /// `xchg [m], src` (87 /r; locked by definition).
    pub fn xchg_mem(&mut self, sz: Sz, m: Mem, src: R) {
        self.prefix(sz, src as u8, m.base, false);
        self.b(0x87);
        self.modrm_mem(src as u8, m);
    }

    /// `lock cmpxchg [m], src` (F0 0F B1 /r): compares with the accumulator.
    pub fn lock_cmpxchg(&mut self, sz: Sz, m: Mem, src: R) {
        self.b(0xf0);
        self.prefix(sz, src as u8, m.base, false);
        self.code.extend_from_slice(&[0x0f, 0xb1]);
        self.modrm_mem(src as u8, m);
    }

    // --- Control flow (SDM: JMP, Jcc, CALL, RET, PUSH, POP, INT3) ---

    /// `jmp rel8` (EB cb).
    pub fn jmp8(&mut self, rel: i8) {
        self.b(0xeb);
        self.b(rel as u8);
    }

    /// `jmp rel32` (E9 cd).
    pub fn jmp32(&mut self, rel: i32) {
        self.b(0xe9);
        self.d(rel);
    }

    /// `jcc rel8` (70+cc cb).
    pub fn jcc8(&mut self, cc: Cc, rel: i8) {
        self.b(0x70 | cc as u8);
        self.b(rel as u8);
    }

    /// `jcc rel32` (0F 80+cc cd).
    pub fn jcc32(&mut self, cc: Cc, rel: i32) {
        self.b(0x0f);
        self.b(0x80 | cc as u8);
        self.d(rel);
    }

    /// `call rel32` (E8 cd).
    pub fn call32(&mut self, rel: i32) {
        self.b(0xe8);
        self.d(rel);
    }

    /// `call r64` (FF /2).
    pub fn call_r(&mut self, r: R) {
        self.prefix(Sz::W, 0, r, false);
        self.b(0xff);
        self.modrm_reg(2, r);
    }

    /// `jmp r64` (FF /4).
    pub fn jmp_r(&mut self, r: R) {
        self.prefix(Sz::W, 0, r, false);
        self.b(0xff);
        self.modrm_reg(4, r);
    }

    /// `push r64` (50+r).
    pub fn push(&mut self, r: R) {
        self.prefix(Sz::W, 0, r, false);
        self.b(0x50 + r.low());
    }

    /// `pop r64` (58+r).
    pub fn pop(&mut self, r: R) {
        self.prefix(Sz::W, 0, r, false);
        self.b(0x58 + r.low());
    }

    /// `push imm8` (6A ib), sign-extended to 64 bits.
    pub fn push_imm8(&mut self, imm: i8) {
        self.b(0x6a);
        self.b(imm as u8);
    }

    /// `leave` (C9): `mov rsp, rbp; pop rbp`.
    pub fn leave(&mut self) {
        self.b(0xc9);
    }

    /// `ret` (C3).
    pub fn ret(&mut self) {
        self.b(0xc3);
    }

    /// `int3` (CC), the filler of unused code space.
    pub fn int3(&mut self) {
        self.b(0xcc);
    }
}
