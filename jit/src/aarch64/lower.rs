//! Lowering of BPF programs to AArch64 machine code.
//!
//! Each BPF function (the main program and every bpf-to-bpf callee)
//! becomes a native function with an AAPCS64 frame: `x29`/`x30` saved, the
//! callee-saved registers it uses saved in pairs, `x25` (BPF's `r10`) at the
//! top of its 512-byte BPF stack. Helpers are called through an absolute
//! address in a scratch register; functions with `bl`.
//!
//! Conditional branches start in their short form (`b.cond`, ±1 MiB); a
//! pass that finds one out of range turns it into `b.!cond +8; b target`
//! (±128 MiB) for good and emits again, until the layout stops changing.
//!
//! A program that makes tail calls starts with a trampoline that keeps the
//! run's tail-call count on its stack and its address in `x26`; a tail call
//! unwinds the caller's frame and branches to the target's main function.
//!
//! Not yet: legacy packet loads, constant folding from
//! [`crate::constprop`] (the x86-64 backend's size work).

use super::enc::{self, AtomicOp as Lse, Cond as C, FP, LR, SP, Size as S, W, X, XZR};
use crate::program::{JitEnv, JitError, JitImage, JitOptions, Program};
use alloc::vec;
use alloc::vec::Vec;
use axiom_abi::Insn;
use axiom_abi::instruction::{
    AluOp, AtomicOp, CallTarget, Cond, EndianOp, Instruction, Operand, Pseudo, Reg, Size, Width,
};
use axiom_abi::uapi::helper;
use axiom_abi::uapi::limits::{MAX_BPF_STACK, MAX_TAIL_CALL_CNT};

/// BPF register to AArch64 register: `r1`..`r5` are the argument registers
/// `x0`..`x4`, so helpers are called with no moves; `r0` is `x7` (a helper's
/// result is moved there from `x0`); `r6`..`r9` are callee-saved
/// `x19`..`x22`; `r10` is `x25`.
const REGMAP: [X; 11] = [X(7), X(0), X(1), X(2), X(3), X(4), X(19), X(20), X(21), X(22), X(25)];

/// Holds the address of the tail-call counter while a run makes tail calls.
const TAIL_COUNT: X = X(26);

/// Scratch registers, never holding a BPF register.
const T0: X = X(9);
const T1: X = X(10);
const T2: X = X(11);
const T3: X = X(12);

/// Callee-saved pairs a function may use, saved below `x29`/`x30`.
const PAIRS: [(X, X); 3] = [(X(19), X(20)), (X(21), X(22)), (X(25), X(26))];

fn x(r: Reg) -> X {
    REGMAP[r.idx()]
}

fn w_of(w: Width) -> W {
    match w {
        Width::W32 => W::W32,
        Width::W64 => W::X64,
    }
}

fn size_of(s: Size) -> S {
    match s {
        Size::B => S::B,
        Size::H => S::H,
        Size::W => S::W,
        Size::DW => S::X,
    }
}

/// The A64 condition after `cmp dst, src` for a BPF jump (`jset` uses
/// `tst` and `ne`).
fn cond_of(c: Cond) -> C {
    match c {
        Cond::Eq => C::Eq,
        Cond::Ne | Cond::Set => C::Ne,
        Cond::Gt => C::Hi,
        Cond::Ge => C::Hs,
        Cond::Lt => C::Lo,
        Cond::Le => C::Ls,
        Cond::Sgt => C::Gt,
        Cond::Sge => C::Ge,
        Cond::Slt => C::Lt,
        Cond::Sle => C::Le,
    }
}

/// Word offsets from one pass.
#[derive(Clone, PartialEq, Eq, Default)]
struct Layout {
    /// Start of each instruction slot's code.
    start: Vec<usize>,
    /// Entry and epilogue of each function.
    entry: Vec<usize>,
    epilogue: Vec<usize>,
}

struct Func {
    start: usize,
    end: usize,
    /// Callee-saved pairs to save.
    pairs: Vec<(X, X)>,
    stack: bool,
}

struct Ctx<'a> {
    insns: Vec<Option<Instruction>>,
    funcs: Vec<Func>,
    func_of: Vec<usize>,
    tail_calls: bool,
    env: &'a dyn JitEnv,
    opts: JitOptions,
}

/// One emission pass.
struct Pass<'p> {
    code: Vec<u32>,
    prev: Option<&'p Layout>,
    cur: Layout,
    /// Jumps (by slot) that need the long form.
    long: &'p mut Vec<bool>,
    grew: bool,
    key: u64,
}

/// Compiles a program to AArch64 code (`extern "C" fn(ctx, r2) -> r0` at
/// offset 0).
pub fn compile(slots: &[Insn], env: &dyn JitEnv, opts: &JitOptions) -> Result<JitImage, JitError> {
    let Program { insns, funcs: shape, func_of, tail_calls, .. } = Program::analyse(slots)?;
    let funcs = shape
        .iter()
        .map(|f| {
            let used = |r: X| (0..11).any(|b| f.used[b] && REGMAP[b] == r);
            let pairs = PAIRS
                .iter()
                .copied()
                .filter(|&(a, b)| used(a) || used(b) || (a == X(25) && f.used[10]))
                .collect();
            Func { start: f.start, end: f.end, pairs, stack: f.used[10] }
        })
        .collect();
    let ctx = Ctx { insns, funcs, func_of, tail_calls, env, opts: *opts };
    let mut long = vec![false; ctx.insns.len()];
    let mut prev: Option<Layout> = None;
    for pass in 0..16 {
        let mut p = Pass {
            code: Vec::with_capacity(slots.len() * 4 + 16),
            prev: prev.as_ref(),
            cur: Layout {
                start: vec![0; ctx.insns.len()],
                entry: vec![0; ctx.funcs.len()],
                epilogue: vec![0; ctx.funcs.len()],
            },
            long: &mut long,
            grew: false,
            key: opts.blinding_seed,
        };
        ctx.emit(&mut p)?;
        let (code, cur, grew) = (p.code, p.cur, p.grew);
        if !grew && prev.as_ref() == Some(&cur) {
            return Ok(JitImage {
                code: code.iter().flat_map(|w| w.to_le_bytes()).collect(),
                entry: 0,
                // With a trampoline, offset 0 enters it; tail calls from
                // other programs enter the main function directly.
                tail_call_entry: cur.entry[0] * 4,
                insn_offsets: cur.start.iter().map(|&o| (o * 4) as u32).collect(),
                relocs: Vec::new(),
                passes: pass + 1,
            });
        }
        prev = Some(cur);
    }
    Err(JitError::NotConverged)
}

impl Pass<'_> {
    fn put(&mut self, w: u32) {
        self.code.push(w);
    }

    fn pos(&self) -> usize {
        self.code.len()
    }

    /// Next blinding key (xorshift64).
    fn next_key(&mut self) -> u64 {
        self.key ^= self.key << 13;
        self.key ^= self.key >> 7;
        self.key ^= self.key << 17;
        self.key
    }

    /// `rd = v` in the fewest `movz`/`movn`/`movk` instructions.
    fn mov_imm(&mut self, w: W, rd: X, v: u64) {
        let v = if w == W::W32 { v & 0xffff_ffff } else { v };
        let halves = if w == W::W32 { 2 } else { 4 };
        let half = |k: u32| (v >> (16 * k)) as u16;
        let zeros = (0..halves).filter(|&k| half(k) == 0).count();
        let ones = (0..halves).filter(|&k| half(k) == 0xffff).count();
        if ones > zeros {
            // Start from all ones.
            let first = (0..halves).find(|&k| half(k) != 0xffff).unwrap_or(0);
            self.put(enc::movn(w, rd, !half(first), first));
            for k in (first + 1)..halves {
                if half(k) != 0xffff {
                    self.put(enc::movk(w, rd, half(k), k));
                }
            }
        } else {
            let first = (0..halves).find(|&k| half(k) != 0).unwrap_or(0);
            self.put(enc::movz(w, rd, half(first), first));
            for k in (first + 1)..halves {
                if half(k) != 0 {
                    self.put(enc::movk(w, rd, half(k), k));
                }
            }
        }
    }

    /// `rd = v`, blinded when the options say so: no attacker-chosen
    /// constant appears in the code.
    fn imm(&mut self, blind: bool, w: W, rd: X, v: u64) {
        if blind {
            let key = self.next_key();
            self.mov_imm(W::X64, rd, v ^ key);
            self.mov_imm(W::X64, T3, key);
            self.put(enc::eor(w, rd, rd, T3));
        } else {
            self.mov_imm(w, rd, v);
        }
    }

    /// A branch to word offset `target` of the previous layout (0 in the
    /// first pass), conditional when `cond` is given.
    fn branch(&mut self, pc: usize, cond: Option<C>, target: Option<usize>) {
        let here = self.pos() as i64;
        let rel = target.map_or(0, |t| (t as i64 - here) * 4);
        match cond {
            None => self.put(enc::b(rel as i32)),
            Some(c) if !self.long[pc] => {
                if !(-(1 << 20)..(1 << 20)).contains(&rel) {
                    self.long[pc] = true;
                    self.grew = true;
                }
                self.put(enc::b_cond(c, rel as i32));
            }
            Some(c) => {
                self.put(enc::b_cond(c.invert(), 8));
                self.put(enc::b((rel - 4) as i32));
            }
        }
    }
}

impl Ctx<'_> {
    fn emit(&self, p: &mut Pass) -> Result<(), JitError> {
        if self.tail_calls {
            self.trampoline(p);
        }
        for (f, func) in self.funcs.iter().enumerate() {
            p.cur.entry[f] = p.pos();
            // Prologue: frame record, callee-saved pairs, BPF frame pointer
            // and stack.
            p.put(enc::stp_pre(FP, LR, SP, -16));
            p.put(enc::add_imm(W::X64, FP, SP, 0));
            for &(a, b) in &func.pairs {
                p.put(enc::stp_pre(a, b, SP, -16));
            }
            if func.stack {
                p.put(enc::add_imm(W::X64, X(25), SP, 0));
                p.put(enc::sub_imm(W::X64, SP, SP, MAX_BPF_STACK as u32));
            }
            for pc in func.start..func.end {
                p.cur.start[pc] = p.pos();
                let Some(insn) = self.insns[pc] else { continue };
                self.insn(p, f, pc, insn)?;
            }
            p.cur.epilogue[f] = p.pos();
            self.unwind(p, func);
            if f == 0 {
                p.put(enc::mov(W::X64, X(0), REGMAP[0]));
            }
            p.put(enc::RET);
        }
        Ok(())
    }

    /// Restores the callee-saved registers and the caller's frame record.
    fn unwind(&self, p: &mut Pass, func: &Func) {
        if func.stack {
            p.put(enc::add_imm(W::X64, SP, X(25), 0));
        }
        for &(a, b) in func.pairs.iter().rev() {
            p.put(enc::ldp_post(a, b, SP, 16));
        }
        p.put(enc::ldp_post(FP, LR, SP, 16));
    }

    /// Keeps the run's tail-call count in a zeroed stack slot whose
    /// address stays in `x26`, then calls the main function.
    fn trampoline(&self, p: &mut Pass) {
        p.put(enc::stp_pre(FP, LR, SP, -16));
        p.put(enc::add_imm(W::X64, FP, SP, 0));
        p.put(enc::stp_pre(TAIL_COUNT, XZR, SP, -16));
        p.put(enc::add_imm(W::X64, TAIL_COUNT, SP, 8));
        let here = p.pos() as i64;
        let rel = p.prev.map_or(0, |l| (l.entry[0] as i64 - here) * 4);
        p.put(enc::bl(rel as i32));
        p.put(enc::ldp_post(TAIL_COUNT, T0, SP, 16));
        p.put(enc::ldp_post(FP, LR, SP, 16));
        p.put(enc::RET);
    }

    /// `bpf_tail_call(ctx = r1, array = r2, index = r3)` in Linux's order:
    /// index below `max_entries`, count below 33 (then counted), slot not
    /// empty; then this frame is unwound and the target entered with `r1`
    /// still the context. Otherwise execution falls through.
    fn tail_call(&self, p: &mut Pass, f: usize) {
        let abi = self.opts.tail_calls;
        let (array, index) = (REGMAP[2], REGMAP[3]);
        let field = |p: &mut Pass, rt: X, base: X, off: i32, size: S| {
            if (-256..256).contains(&off) {
                p.put(enc::ldur(size, rt, base, off));
            } else {
                p.mov_imm(W::X64, T2, off as i64 as u64);
                p.put(enc::ldr_reg(size, rt, base, T2));
            }
        };
        let mut outs = Vec::new();
        field(p, T0, array, abi.max_entries_offset, S::W);
        p.put(enc::cmp(W::W32, index, T0));
        outs.push(p.pos());
        p.put(0);
        p.put(enc::ldur(S::W, T1, TAIL_COUNT, 0));
        p.put(enc::cmp_imm(W::W32, T1, MAX_TAIL_CALL_CNT));
        outs.push(p.pos());
        p.put(0);
        p.put(enc::add_imm(W::W32, T1, T1, 1));
        p.put(enc::stur(S::W, T1, TAIL_COUNT, 0));
        p.put(enc::mov(W::W32, T0, index));
        p.put(enc::lsl_imm(W::X64, T0, T0, 3));
        p.put(enc::add(W::X64, T0, T0, array));
        field(p, T0, T0, abi.entries_offset, S::X);
        p.put(enc::cmp_imm(W::X64, T0, 0));
        let empty = p.pos();
        p.put(0);
        self.unwind(p, &self.funcs[f]);
        p.put(enc::br(T0));
        let out = p.pos();
        for at in outs {
            p.code[at] = enc::b_cond(C::Hs, ((out - at) * 4) as i32);
        }
        p.code[empty] = enc::b_cond(C::Eq, ((out - empty) * 4) as i32);
    }

    /// `callx reg`: the helper whose id `reg` holds, through the runtime's
    /// table; an unknown id gives `r0 = 0`.
    fn callx(&self, p: &mut Pass, pc: usize, reg: Reg) -> Result<(), JitError> {
        let (table, len) = self
            .env
            .helper_table()
            .ok_or(JitError::Unsupported { pc, what: "callx without a helper table" })?;
        p.put(enc::mov(W::X64, T0, x(reg)));
        p.mov_imm(W::X64, T1, len as u64);
        p.put(enc::cmp(W::X64, T0, T1));
        let bad = p.pos();
        p.put(0);
        p.mov_imm(W::X64, T1, table);
        p.put(enc::lsl_imm(W::X64, T0, T0, 3));
        p.put(enc::add(W::X64, T0, T0, T1));
        p.put(enc::ldur(S::X, T0, T0, 0));
        p.put(enc::cmp_imm(W::X64, T0, 0));
        let empty = p.pos();
        p.put(0);
        p.put(enc::blr(T0));
        p.put(enc::mov(W::X64, REGMAP[0], X(0)));
        p.put(enc::b(8));
        let zero = p.pos();
        p.put(enc::movz(W::X64, REGMAP[0], 0, 0));
        p.code[bad] = enc::b_cond(C::Hs, ((zero - bad) * 4) as i32);
        p.code[empty] = enc::b_cond(C::Eq, ((zero - empty) * 4) as i32);
        Ok(())
    }

    /// The source operand in a register: a BPF register, or the immediate
    /// loaded into `tmp`.
    fn src(&self, p: &mut Pass, w: W, src: Operand, tmp: X) -> X {
        match src {
            Operand::Reg(r) => x(r),
            Operand::Imm(i) => {
                let v = if w == W::W32 { i as u32 as u64 } else { i as i64 as u64 };
                p.imm(self.opts.blinding, w, tmp, v);
                tmp
            }
        }
    }

    /// The address `base + off` in a register (`base` itself when `off` is
    /// 0).
    fn addr(&self, p: &mut Pass, base: X, off: i16) -> X {
        match off {
            0 => base,
            1..=4095 => {
                p.put(enc::add_imm(W::X64, T0, base, off as u32));
                T0
            }
            -4095..=-1 => {
                p.put(enc::sub_imm(W::X64, T0, base, (-(off as i32)) as u32));
                T0
            }
            _ => {
                p.mov_imm(W::X64, T0, off as i64 as u64);
                p.put(enc::add(W::X64, T0, base, T0));
                T0
            }
        }
    }

    fn target(&self, p: &Pass, pc: usize, off: i64) -> Option<usize> {
        let t = (pc as i64 + 1 + off) as usize;
        p.prev.map(|l| l.start[t])
    }

    fn insn(&self, p: &mut Pass, f: usize, pc: usize, insn: Instruction) -> Result<(), JitError> {
        match insn {
            Instruction::Alu { width, op, dst, src } => self.alu(p, w_of(width), op, x(dst), src),
            Instruction::MovSx { width, dst, src, bits } => {
                p.put(enc::sxt(w_of(width), x(dst), x(src), bits as u32));
            }
            Instruction::Neg { width, dst } => p.put(enc::neg(w_of(width), x(dst), x(dst))),
            Instruction::Endian { op, dst, bits } => {
                let d = x(dst);
                match (op, bits) {
                    (EndianOp::ToLe, 16) => p.put(enc::uxt(d, d, 16)),
                    (EndianOp::ToLe, 32) => p.put(enc::mov(W::W32, d, d)),
                    (EndianOp::ToLe, _) => {}
                    (_, 16) => {
                        p.put(enc::rev16(W::W32, d, d));
                        p.put(enc::uxt(d, d, 16));
                    }
                    (_, 32) => p.put(enc::rev(W::W32, d, d)),
                    _ => p.put(enc::rev(W::X64, d, d)),
                }
            }
            Instruction::LoadImm64 { dst, kind, imm, next_imm } => {
                let v = match kind {
                    Pseudo::Imm64 => Instruction::imm64(imm, next_imm),
                    _ => self
                        .env
                        .resolve_lddw(kind, imm, next_imm)
                        .ok_or(JitError::Unresolved { pc })?,
                };
                p.imm(self.opts.blinding && kind == Pseudo::Imm64, W::X64, x(dst), v);
            }
            Instruction::Load { size, signed, dst, src, off } => {
                let (d, base) = (x(dst), x(src));
                let s = size_of(size);
                if (-256..256).contains(&off) {
                    p.put(if signed {
                        enc::ldurs(s, d, base, off as i32)
                    } else {
                        enc::ldur(s, d, base, off as i32)
                    });
                } else {
                    p.mov_imm(W::X64, T0, off as i64 as u64);
                    p.put(if signed {
                        enc::ldrs_reg(s, d, base, T0)
                    } else {
                        enc::ldr_reg(s, d, base, T0)
                    });
                }
            }
            Instruction::Store { size, dst, off, src } => {
                let v = self.src(p, W::X64, src, T1);
                let (s, base) = (size_of(size), x(dst));
                if (-256..256).contains(&off) {
                    p.put(enc::stur(s, v, base, off as i32));
                } else {
                    p.mov_imm(W::X64, T0, off as i64 as u64);
                    p.put(enc::str_reg(s, v, base, T0));
                }
            }
            Instruction::Atomic { size, op, dst, src, off } => {
                let w = if size == Size::DW { W::X64 } else { W::W32 };
                let addr = self.addr(p, x(dst), off);
                self.atomic(p, w, op, addr, x(src));
            }
            Instruction::Ja { off } => {
                let t = self.target(p, pc, off as i64);
                p.branch(pc, None, t);
            }
            Instruction::Gotol { imm } => {
                let t = self.target(p, pc, imm as i64);
                p.branch(pc, None, t);
            }
            Instruction::Jump { width, cond, dst, src, off } => {
                let w = w_of(width);
                let s = match src {
                    Operand::Imm(i) if !self.opts.blinding && (0..4096).contains(&i) => None,
                    _ => Some(self.src(p, w, src, T1)),
                };
                match (cond, s, src) {
                    (Cond::Set, Some(s), _) => p.put(enc::tst(w, x(dst), s)),
                    (Cond::Set, None, Operand::Imm(i)) => {
                        p.mov_imm(w, T1, i as u32 as u64);
                        p.put(enc::tst(w, x(dst), T1));
                    }
                    (_, Some(s), _) => p.put(enc::cmp(w, x(dst), s)),
                    (_, None, Operand::Imm(i)) => p.put(enc::cmp_imm(w, x(dst), i as u32)),
                    (_, None, Operand::Reg(_)) => unreachable!("registers are always loaded"),
                }
                let t = self.target(p, pc, off as i64);
                p.branch(pc, Some(cond_of(cond)), t);
            }
            Instruction::Call(CallTarget::Helper(helper::id::TAIL_CALL)) => self.tail_call(p, f),
            Instruction::Call(CallTarget::Helper(id)) => {
                let addr = self.env.helper_address(id).ok_or(JitError::UnknownHelper { pc, id })?;
                p.mov_imm(W::X64, T0, addr);
                p.put(enc::blr(T0));
                p.put(enc::mov(W::X64, REGMAP[0], X(0)));
            }
            Instruction::Call(CallTarget::Local(rel)) => {
                let t = (pc as i64 + 1 + rel as i64) as usize;
                let callee = self.func_of[t];
                let here = p.pos() as i64;
                let rel = p.prev.map_or(0, |l| (l.entry[callee] as i64 - here) * 4);
                p.put(enc::bl(rel as i32));
            }
            Instruction::Exit => {
                let t = p.prev.map(|l| l.epilogue[f]);
                // The last instruction of a function falls into its epilogue.
                let last = (pc + 1..self.funcs[f].end).all(|q| self.insns[q].is_none());
                if !last {
                    p.branch(pc, None, t);
                }
            }
            Instruction::Call(CallTarget::Kfunc { .. }) => {
                return Err(JitError::Unsupported { pc, what: "kfunc calls" });
            }
            Instruction::CallX { reg } => self.callx(p, pc, reg)?,
            Instruction::LoadPacket { .. } => {
                return Err(JitError::Unsupported { pc, what: "legacy packet loads" });
            }
        }
        Ok(())
    }

    fn alu(&self, p: &mut Pass, w: W, op: AluOp, d: X, src: Operand) {
        let bits = if w == W::X64 { 64 } else { 32 };
        if let (AluOp::Lsh | AluOp::Rsh | AluOp::Arsh, Operand::Imm(i)) = (op, src) {
            let s = (i as u32) & (bits - 1);
            p.put(match op {
                AluOp::Lsh => enc::lsl_imm(w, d, d, s),
                AluOp::Rsh => enc::lsr_imm(w, d, d, s),
                _ => enc::asr_imm(w, d, d, s),
            });
            return;
        }
        if let (AluOp::Mov, Operand::Imm(i)) = (op, src) {
            let v = if w == W::W32 { i as u32 as u64 } else { i as i64 as u64 };
            p.imm(self.opts.blinding, w, d, v);
            return;
        }
        let s = self.src(p, w, src, T1);
        match op {
            AluOp::Mov => p.put(enc::mov(w, d, s)),
            AluOp::Add => p.put(enc::add(w, d, d, s)),
            AluOp::Sub => p.put(enc::sub(w, d, d, s)),
            AluOp::Mul => p.put(enc::mul(w, d, d, s)),
            AluOp::Or => p.put(enc::orr(w, d, d, s)),
            AluOp::And => p.put(enc::and(w, d, d, s)),
            AluOp::Xor => p.put(enc::eor(w, d, d, s)),
            AluOp::Lsh => p.put(enc::lslv(w, d, d, s)),
            AluOp::Rsh => p.put(enc::lsrv(w, d, d, s)),
            AluOp::Arsh => p.put(enc::asrv(w, d, d, s)),
            // A64 division already gives BPF's results: by zero 0, and
            // `MIN / -1` is `MIN`; remainders follow as `d - (d / s) * s`.
            AluOp::Div => p.put(enc::udiv(w, d, d, s)),
            AluOp::SDiv => p.put(enc::sdiv(w, d, d, s)),
            AluOp::Mod => {
                p.put(enc::udiv(w, T2, d, s));
                p.put(enc::msub(w, d, T2, s, d));
            }
            AluOp::SMod => {
                p.put(enc::sdiv(w, T2, d, s));
                p.put(enc::msub(w, d, T2, s, d));
            }
        }
    }

    /// An atomic operation on `[addr]` with operand `v`: LSE instructions,
    /// or load/store-exclusive loops without them.
    fn atomic(&self, p: &mut Pass, w: W, op: AtomicOp, addr: X, v: X) {
        let r0 = REGMAP[0];
        if self.opts.aarch64_lse {
            match op {
                AtomicOp::CmpXchg => p.put(enc::casal(w, r0, v, addr)),
                AtomicOp::Xchg => p.put(enc::swpal(w, v, v, addr)),
                AtomicOp::And { fetch } => {
                    // ldclr clears the bits set in its operand: pass ~v.
                    p.put(enc::movn(W::X64, T1, 0, 0));
                    p.put(enc::eor(w, T1, T1, v));
                    p.put(enc::ldopal(w, Lse::Clr, T1, if fetch { v } else { XZR }, addr));
                }
                AtomicOp::Add { fetch } | AtomicOp::Or { fetch } | AtomicOp::Xor { fetch } => {
                    let lse = match op {
                        AtomicOp::Add { .. } => Lse::Add,
                        AtomicOp::Or { .. } => Lse::Set,
                        _ => Lse::Eor,
                    };
                    p.put(enc::ldopal(w, lse, v, if fetch { v } else { XZR }, addr));
                }
            }
            return;
        }
        // retry: ldaxr old, [addr]; new = old op v; stlxr status, new,
        // [addr]; cbnz status, retry; dmb ish
        let (old, new, status) = (T2, T1, T3);
        if op == AtomicOp::CmpXchg {
            let retry = p.pos();
            p.put(enc::ldaxr(w, old, addr));
            p.put(enc::cmp(w, old, r0));
            p.put(enc::b_cond(C::Ne, 12));
            p.put(enc::stlxr(w, status, v, addr));
            p.put(enc::cbnz(W::W32, status, (retry as i32 - p.pos() as i32) * 4));
            p.put(enc::DMB_ISH);
            p.put(enc::mov(w, r0, old));
            return;
        }
        let retry = p.pos();
        p.put(enc::ldaxr(w, old, addr));
        let fetch = match op {
            AtomicOp::Xchg => {
                p.put(enc::mov(w, new, v));
                true
            }
            AtomicOp::Add { fetch } => {
                p.put(enc::add(w, new, old, v));
                fetch
            }
            AtomicOp::Or { fetch } => {
                p.put(enc::orr(w, new, old, v));
                fetch
            }
            AtomicOp::And { fetch } => {
                p.put(enc::and(w, new, old, v));
                fetch
            }
            AtomicOp::Xor { fetch } => {
                p.put(enc::eor(w, new, old, v));
                fetch
            }
            AtomicOp::CmpXchg => unreachable!("handled above"),
        };
        p.put(enc::stlxr(w, status, new, addr));
        p.put(enc::cbnz(W::W32, status, (retry as i32 - p.pos() as i32) * 4));
        p.put(enc::DMB_ISH);
        if fetch {
            p.put(enc::mov(w, v, old));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axiom_abi::asm::assemble;

    struct NoHelpers;
    impl JitEnv for NoHelpers {
        fn helper_address(&self, _: i32) -> Option<u64> {
            None
        }
        fn helper_table(&self) -> Option<(u64, u32)> {
            Some((0x1000_0000, 8))
        }
    }

    fn word_at(img: &JitImage, byte: usize) -> u32 {
        u32::from_le_bytes(img.code[byte..byte + 4].try_into().unwrap())
    }

    #[test]
    fn conditional_branches_beyond_1_mib_take_the_long_form() {
        // 30,000 `callx` (each over 60 bytes of code) between the branch
        // and its target: more than b.cond's 1 MiB.
        let far = 30_000;
        let text = format!("jeq %r1, 0, +{far}\n{}exit", "call %r5\n".repeat(far));
        let img = compile(&assemble(&text).unwrap(), &NoHelpers, &JitOptions::default()).unwrap();
        let at = img.insn_offsets[0] as usize + 4; // after the `cmp`
        // b.ne +8 (over the long branch), then b to the target.
        assert_eq!(word_at(&img, at), enc::b_cond(C::Ne, 8));
        let target = img.insn_offsets[far + 1] as i64;
        assert_eq!(word_at(&img, at + 4), enc::b((target - (at as i64 + 4)) as i32));
        // A near branch keeps the short form.
        let img = compile(
            &assemble("jeq %r1, 0, +1\nmov %r0, 1\nexit").unwrap(),
            &NoHelpers,
            &JitOptions::default(),
        )
        .unwrap();
        let at = img.insn_offsets[0] as usize + 4;
        assert_eq!(word_at(&img, at), enc::b_cond(C::Eq, 8));
    }
}
