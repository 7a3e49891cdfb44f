//! Lowering of BPF programs to x86-64 machine code.
//!
//! Layout of an image: an optional entry trampoline (only for programs that
//! make tail calls: it keeps the tail-call count for the whole run, reached
//! through `r12`), then one native function per BPF function (the main
//! program and each bpf-to-bpf callee), each with its own frame: `rbp` is
//! BPF's `r10`, the 512-byte BPF stack lies below it, and only the
//! callee-saved registers the function uses are saved.
//!
//! Jumps start long; each further pass re-emits the program with the
//! previous pass's addresses, picking short forms where they fit. Sizes
//! only shrink, so the passes converge; the result is taken from the first
//! pass whose layout equals the one before it.

use super::enc::{Arith, Asm, Cc, Mem, R, Shift, Sz, is_imm8};
use crate::program::{JitEnv, JitError, JitImage, JitOptions, Program, Reloc};
use alloc::vec;
use alloc::vec::Vec;
use axiom_abi::Insn;
use axiom_abi::instruction::{
    AluOp, AtomicOp, CallTarget, Cond, EndianOp, Instruction, Operand, Pseudo, Reg, Size, Width,
};
use axiom_abi::uapi::helper;
use axiom_abi::uapi::limits::{MAX_BPF_STACK, MAX_TAIL_CALL_CNT};

/// BPF register to x86-64 register. `r1`..`r5` are the System V argument
/// registers in order, so helpers are called with no moves; `r0` is the
/// return register `rax`; `r6`..`r9` are callee-saved (`rbx`, `r13`..`r15`)
/// so they survive helper calls; `r10` is the frame pointer `rbp`. `r9`,
/// `r10` and `r11` are the JIT's scratch registers, `r12` holds the address
/// of the tail-call count.
const REGMAP: [R; 11] =
    [R::Rax, R::Rdi, R::Rsi, R::Rdx, R::Rcx, R::R8, R::Rbx, R::R13, R::R14, R::R15, R::Rbp];

/// Scratch registers, never holding a BPF register.
const TMP: R = R::R11;
const TMP2: R = R::R10;
const TMP3: R = R::R9;
/// Holds the address of the tail-call counter while a run makes tail calls.
const TAIL_COUNT: R = R::R12;

fn x(r: Reg) -> R {
    REGMAP[r.idx()]
}

/// The byte that fills unused space in executable memory (`int3`).
pub const TRAP_BYTE: u8 = 0xcc;

/// One BPF function: the main program or a bpf-to-bpf callee.
struct Func {
    start: usize,
    end: usize,
    saved: Vec<R>,
    frame: i32,
}

/// Offsets from one pass.
#[derive(Clone, PartialEq, Eq, Default)]
struct Layout {
    start: Vec<usize>,
    end: Vec<usize>,
    entry: Vec<usize>,
    epilogue: Vec<usize>,
}

struct Ctx<'a> {
    insns: Vec<Option<Instruction>>,
    facts: crate::constprop::Facts,
    funcs: Vec<Func>,
    func_of: Vec<usize>,
    tail_calls: bool,
    env: &'a dyn JitEnv,
    opts: JitOptions,
}

/// Compiles a program to x86-64 code.
pub fn compile(slots: &[Insn], env: &dyn JitEnv, opts: &JitOptions) -> Result<JitImage, JitError> {
    if slots.is_empty() {
        return Err(JitError::Empty);
    }
    let ctx = analyse(slots, env, *opts)?;
    // Two layouts, swapped between passes, and one code buffer: small
    // programs compile in a few allocations.
    let (n, nf) = (ctx.insns.len(), ctx.funcs.len());
    let new_layout =
        || Layout { start: vec![0; n], end: vec![0; n], entry: vec![0; nf], epilogue: vec![0; nf] };
    let mut prev = new_layout();
    let mut cur = new_layout();
    let mut code = Vec::with_capacity(n * 8 + 64);
    let mut relocs = Vec::new();
    for pass in 0..32 {
        code.clear();
        relocs.clear();
        let (c, r) = ctx.emit((pass > 0).then_some(&prev), &mut cur, code, relocs)?;
        (code, relocs) = (c, r);
        if pass > 0 && prev == cur {
            return Ok(JitImage {
                entry: 0,
                tail_call_entry: cur.entry[0],
                insn_offsets: cur.start.iter().map(|&o| o as u32).collect(),
                code,
                relocs,
                passes: pass + 1,
            });
        }
        core::mem::swap(&mut prev, &mut cur);
    }
    Err(JitError::NotConverged)
}

fn analyse<'a>(slots: &[Insn], env: &'a dyn JitEnv, opts: JitOptions) -> Result<Ctx<'a>, JitError> {
    let Program { insns, funcs: shape, func_of, tail_calls, facts } = Program::analyse(slots)?;
    let funcs = shape
        .iter()
        .map(|f| {
            let saved: Vec<R> = (6..10).filter(|&r| f.used[r]).map(|r| REGMAP[r]).collect();
            let mut frame = if f.used[10] { MAX_BPF_STACK as i32 } else { 0 };
            // Calls need rsp 16-byte aligned: rbp is, after the push at entry.
            if f.calls && !(frame as usize + 8 * saved.len()).is_multiple_of(16) {
                frame += 8;
            }
            Func { start: f.start, end: f.end, saved, frame }
        })
        .collect();
    Ok(Ctx { insns, facts, funcs, func_of, tail_calls, env, opts })
}

/// A forward jump inside one instruction's code, patched once its target is
/// emitted (the blocks it skips are far shorter than 128 bytes).
struct Fwd(usize);

impl Fwd {
    fn jcc(a: &mut Asm, cc: Cc) -> Fwd {
        a.jcc8(cc, 0);
        Fwd(a.pos())
    }

    fn jmp(a: &mut Asm) -> Fwd {
        a.jmp8(0);
        Fwd(a.pos())
    }

    fn here(self, a: &mut Asm) {
        let rel = a.pos() - self.0;
        debug_assert!(rel <= 127);
        a.code[self.0 - 1] = rel as u8;
    }
}

fn sz_of(w: Width) -> Sz {
    match w {
        Width::W32 => Sz::W,
        Width::W64 => Sz::Q,
    }
}

fn mem_sz(s: Size) -> Sz {
    match s {
        Size::B => Sz::B,
        Size::H => Sz::H,
        Size::W => Sz::W,
        Size::DW => Sz::Q,
    }
}

fn cc_of(c: Cond) -> Cc {
    match c {
        Cond::Eq => Cc::E,
        Cond::Ne | Cond::Set => Cc::Ne,
        Cond::Gt => Cc::A,
        Cond::Ge => Cc::Ae,
        Cond::Lt => Cc::B,
        Cond::Le => Cc::Be,
        Cond::Sgt => Cc::G,
        Cond::Sge => Cc::Ge,
        Cond::Slt => Cc::L,
        Cond::Sle => Cc::Le,
    }
}

/// State of one emission pass.
struct Pass<'p> {
    a: Asm,
    prev: Option<&'p Layout>,
    cur: Layout,
    relocs: Vec<Reloc>,
    key: u64,
}

impl Pass<'_> {
    /// Next blinding key (xorshift64).
    fn next_key(&mut self) -> i32 {
        self.key ^= self.key << 13;
        self.key ^= self.key >> 7;
        self.key ^= self.key << 17;
        self.key as i32
    }

    /// Emits a jump (or `jcc`) that ends this instruction, to native offset
    /// `target_prev` in the previous pass's layout.
    fn jump_to(&mut self, cc: Option<Cc>, target: Option<usize>, this_end: Option<usize>) {
        // Pass 0 has no layout yet: long forms. Later passes estimate the
        // displacement from the previous layout; in the final pass the two
        // layouts are equal, so the displacement is exact.
        let rel = match (target, this_end) {
            (Some(t), Some(e)) => Some(t as i64 - e as i64),
            _ => None,
        };
        match (cc, rel) {
            (None, Some(r)) if is_imm8(r) => self.a.jmp8(r as i8),
            (Some(c), Some(r)) if is_imm8(r) => self.a.jcc8(c, r as i8),
            (None, r) => self.a.jmp32(r.unwrap_or(0) as i32),
            (Some(c), r) => self.a.jcc32(c, r.unwrap_or(0) as i32),
        }
    }
}

impl Ctx<'_> {
    /// One pass: fills `cur` and returns the code and relocations (in the
    /// buffers passed in, reused across passes).
    fn emit(
        &self,
        prev: Option<&Layout>,
        cur: &mut Layout,
        code: Vec<u8>,
        relocs: Vec<Reloc>,
    ) -> Result<(Vec<u8>, Vec<Reloc>), JitError> {
        let mut p = Pass {
            a: Asm { code },
            prev,
            cur: core::mem::take(cur),
            relocs,
            key: self.opts.blinding_seed | 1,
        };
        if self.tail_calls {
            self.trampoline(&mut p);
        }
        for (f, func) in self.funcs.iter().enumerate() {
            p.cur.entry[f] = p.a.pos();
            self.prologue(&mut p.a, func);
            for pc in func.start..func.end {
                p.cur.start[pc] = p.a.pos();
                // Code no execution reaches is left out.
                if let Some(insn) = self.insns[pc]
                    && self.facts.reachable(pc)
                {
                    self.insn(&mut p, pc, f, insn)?;
                }
                p.cur.end[pc] = p.a.pos();
            }
            p.cur.epilogue[f] = p.a.pos();
            self.unwind(&mut p.a, func);
            p.a.ret();
        }
        *cur = p.cur;
        Ok((p.a.code, p.relocs))
    }

    /// Keeps the tail-call count of a run in a stack slot whose address
    /// stays in `r12`, then calls the main function.
    fn trampoline(&self, p: &mut Pass) {
        let a = &mut p.a;
        a.push(TAIL_COUNT);
        a.push_imm8(0);
        a.mov_rr(Sz::Q, TAIL_COUNT, R::Rsp);
        a.arith_ri(Sz::Q, Arith::Sub, R::Rsp, 8);
        let after_call = a.pos() + 5;
        let main = p.prev.map_or(0, |l| l.entry[0]);
        a.call32((main as i64 - after_call as i64) as i32);
        a.arith_ri(Sz::Q, Arith::Add, R::Rsp, 16);
        a.pop(TAIL_COUNT);
        a.ret();
    }

    fn prologue(&self, a: &mut Asm, func: &Func) {
        a.push(R::Rbp);
        a.mov_rr(Sz::Q, R::Rbp, R::Rsp);
        if func.frame > 0 {
            a.arith_ri(Sz::Q, Arith::Sub, R::Rsp, func.frame);
        }
        for &r in &func.saved {
            a.push(r);
        }
    }

    /// Restores the callee-saved registers and the caller's frame.
    fn unwind(&self, a: &mut Asm, func: &Func) {
        for &r in func.saved.iter().rev() {
            a.pop(r);
        }
        a.leave();
    }

    /// An immediate as a register operand when blinding: `r11 = imm`,
    /// built from `imm ^ key` and `key`.
    fn blinded(&self, p: &mut Pass, sz: Sz, imm: i32) -> R {
        let key = p.next_key();
        match sz {
            Sz::Q => p.a.mov_r64_simm32(TMP, imm ^ key),
            _ => p.a.mov_r32_imm(TMP, (imm ^ key) as u32),
        }
        p.a.arith_ri(sz, Arith::Xor, TMP, key);
        TMP
    }

    fn insn(&self, p: &mut Pass, pc: usize, f: usize, insn: Instruction) -> Result<(), JitError> {
        let blind = self.opts.blinding;
        match insn {
            Instruction::Alu { width, op, dst, src } => {
                let sz = sz_of(width);
                let d = x(dst);
                // A division of known constants is its result.
                if !blind && matches!(op, AluOp::Div | AluOp::SDiv | AluOp::Mod | AluOp::SMod) {
                    let known = &self.facts.before[pc];
                    let b = match src {
                        Operand::Reg(r) => known[r.idx()].value(),
                        Operand::Imm(i) => Some(i as i64 as u64),
                    };
                    if let (Some(a), Some(b)) = (known[dst.idx()].value(), b) {
                        p.a.load_imm64(d, axiom_abi::alu::alu(width, op, a, b));
                        return Ok(());
                    }
                }
                // A divisor known to be constant needs no run-time checks.
                let src = match (op, src) {
                    (AluOp::Div | AluOp::SDiv | AluOp::Mod | AluOp::SMod, Operand::Reg(r))
                        if !blind =>
                    {
                        match self.facts.before[pc][r.idx()].value() {
                            Some(c) if width == Width::W32 => Operand::Imm(c as u32 as i32),
                            Some(c) if i32::try_from(c as i64).is_ok() => {
                                Operand::Imm(c as i64 as i32)
                            }
                            _ => src,
                        }
                    }
                    _ => src,
                };
                let src = match src {
                    // Shift amounts are masked to 6 bits: nothing to hide.
                    Operand::Imm(i)
                        if blind && !matches!(op, AluOp::Lsh | AluOp::Rsh | AluOp::Arsh) =>
                    {
                        Src::Reg(self.blinded(p, sz, i))
                    }
                    s => Src::from(s),
                };
                self.alu(p, sz, op, d, src);
            }
            Instruction::MovSx { width, dst, src, bits } => {
                let from = match bits {
                    8 => Sz::B,
                    16 => Sz::H,
                    _ => Sz::W,
                };
                p.a.movsx_rr(from, sz_of(width), x(dst), x(src));
            }
            Instruction::Neg { width, dst } => p.a.neg(sz_of(width), x(dst)),
            Instruction::Endian { op, dst, bits } => {
                let d = x(dst);
                match (op, bits) {
                    (EndianOp::ToLe, 16) => p.a.movzx_rr(Sz::H, d, d),
                    (EndianOp::ToLe, 32) => p.a.mov_rr(Sz::W, d, d),
                    (EndianOp::ToLe, _) => {}
                    (_, 16) => {
                        p.a.rol16_8(d);
                        p.a.movzx_rr(Sz::H, d, d);
                    }
                    (_, 32) => p.a.bswap(Sz::W, d),
                    (_, _) => p.a.bswap(Sz::Q, d),
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
                if blind && v != 0 {
                    let key = (p.next_key() as u64) << 32 | p.next_key() as u32 as u64;
                    p.a.mov_r64_imm64(x(dst), v ^ key);
                    p.a.mov_r64_imm64(TMP, key);
                    p.a.arith_rr(Sz::Q, Arith::Xor, x(dst), TMP);
                } else {
                    p.a.load_imm64(x(dst), v);
                }
            }
            Instruction::LoadPacket { .. } => {
                return Err(JitError::Unsupported {
                    pc,
                    what: "legacy packet access (ldabs/ldind)",
                });
            }
            Instruction::Load { size, signed, dst, src, off } => {
                let m = Mem { base: x(src), disp: off as i32 };
                if signed {
                    p.a.load_sx(mem_sz(size), x(dst), m);
                } else {
                    p.a.load(mem_sz(size), x(dst), m);
                }
            }
            Instruction::Store { size, dst, off, src } => {
                let m = Mem { base: x(dst), disp: off as i32 };
                match src {
                    Operand::Reg(s) => p.a.store(mem_sz(size), m, x(s)),
                    Operand::Imm(i) if blind => {
                        let t = self.blinded(p, Sz::Q, i);
                        p.a.store(mem_sz(size), m, t);
                    }
                    Operand::Imm(i) => p.a.store_imm(mem_sz(size), m, i),
                }
            }
            Instruction::Atomic { size, op, dst, src, off } => {
                self.atomic(p, mem_sz(size), op, Mem { base: x(dst), disp: off as i32 }, x(src));
            }
            Instruction::Ja { off } => self.goto(p, pc, pc as i64 + 1 + off as i64, None),
            Instruction::Gotol { imm } => self.goto(p, pc, pc as i64 + 1 + imm as i64, None),
            Instruction::Jump { width, cond, dst, src, off } => {
                if off == 0 {
                    return Ok(()); // Falls through either way.
                }
                // A jump on known constants goes one way.
                match self.facts.decided[pc] {
                    Some(true) => {
                        self.goto(p, pc, pc as i64 + 1 + off as i64, None);
                        return Ok(());
                    }
                    Some(false) => return Ok(()),
                    None => {}
                }
                let sz = sz_of(width);
                let d = x(dst);
                match src {
                    Operand::Reg(s) if cond == Cond::Set => p.a.test_rr(sz, d, x(s)),
                    Operand::Reg(s) => p.a.arith_rr(sz, Arith::Cmp, d, x(s)),
                    Operand::Imm(i) if blind => {
                        let t = self.blinded(p, sz, i);
                        if cond == Cond::Set {
                            p.a.test_rr(sz, d, t);
                        } else {
                            p.a.arith_rr(sz, Arith::Cmp, d, t);
                        }
                    }
                    Operand::Imm(i) if cond == Cond::Set => p.a.test_ri(sz, d, i),
                    // `test r, r` sets the flags exactly as `cmp r, 0`.
                    Operand::Imm(0) => p.a.test_rr(sz, d, d),
                    Operand::Imm(i) => p.a.arith_ri(sz, Arith::Cmp, d, i),
                }
                self.goto(p, pc, pc as i64 + 1 + off as i64, Some(cc_of(cond)));
            }
            Instruction::Call(CallTarget::Local(off)) => {
                let g = self.func_of[(pc as i64 + 1 + off as i64) as usize];
                // The call ends this instruction's code: its displacement is
                // measured from the instruction's end.
                let rel = p.prev.map_or(0, |l| l.entry[g] as i64 - l.end[pc] as i64);
                p.a.call32(rel as i32);
            }
            Instruction::Call(CallTarget::Helper(helper::id::TAIL_CALL)) => self.tail_call(p, f),
            Instruction::Call(CallTarget::Helper(id)) => {
                let addr = self.env.helper_address(id).ok_or(JitError::UnknownHelper { pc, id })?;
                self.call_abs(p, addr);
            }
            Instruction::Call(CallTarget::Kfunc { .. }) => {
                return Err(JitError::Unsupported { pc, what: "kfunc call" });
            }
            Instruction::CallX { reg } => {
                let (table, len) = self
                    .env
                    .helper_table()
                    .ok_or(JitError::Unsupported { pc, what: "callx without a helper table" })?;
                let a = &mut p.a;
                a.mov_rr(Sz::Q, TMP, x(reg));
                a.arith_ri(Sz::Q, Arith::Cmp, TMP, len as i32);
                let bad = Fwd::jcc(a, Cc::Ae);
                a.shift_ri(Sz::Q, Shift::Shl, TMP, 3);
                a.load_imm64(TMP2, table);
                a.arith_rr(Sz::Q, Arith::Add, TMP, TMP2);
                a.load(Sz::Q, TMP, Mem { base: TMP, disp: 0 });
                a.test_rr(Sz::Q, TMP, TMP);
                let bad2 = Fwd::jcc(a, Cc::E);
                a.call_r(TMP);
                let done = Fwd::jmp(a);
                bad.here(a);
                bad2.here(a);
                // An unknown helper id gives r0 = 0 (the interpreter faults;
                // Linux's verifier refuses callx altogether).
                a.arith_rr(Sz::W, Arith::Xor, R::Rax, R::Rax);
                done.here(a);
            }
            Instruction::Exit => {
                if pc + 1 != self.funcs[f].end {
                    let target = p.prev.map(|l| l.epilogue[f]);
                    let end = p.prev.map(|l| l.end[pc]);
                    p.jump_to(None, target, end);
                }
            }
        }
        Ok(())
    }

    fn goto(&self, p: &mut Pass, pc: usize, target: i64, cc: Option<Cc>) {
        let t = target as usize;
        if t == pc + 1 {
            return;
        }
        let (tgt, end) = match p.prev {
            Some(l) => (Some(l.start[t]), Some(l.end[pc])),
            None => (None, None),
        };
        p.jump_to(cc, tgt, end);
    }

    fn call_abs(&self, p: &mut Pass, addr: u64) {
        if self.opts.far_helper_calls {
            p.a.mov_r64_imm64(TMP, addr);
            p.a.call_r(TMP);
        } else {
            p.a.call32(0);
            p.relocs.push(Reloc { at: p.a.pos() - 4, target: addr });
        }
    }

    fn alu(&self, p: &mut Pass, sz: Sz, op: AluOp, d: R, src: Src) {
        let a = &mut p.a;
        match (op, src) {
            (AluOp::Mov, Src::Reg(s)) => {
                if sz == Sz::W || d != s {
                    a.mov_rr(sz, d, s);
                }
            }
            (AluOp::Mov, Src::Imm(i)) => match sz {
                Sz::Q => a.load_imm64(d, i as i64 as u64),
                _ => a.load_imm64(d, i as u32 as u64),
            },
            (AluOp::Add | AluOp::Sub | AluOp::Or | AluOp::And | AluOp::Xor, s) => {
                let ar = match op {
                    AluOp::Add => Arith::Add,
                    AluOp::Sub => Arith::Sub,
                    AluOp::Or => Arith::Or,
                    AluOp::And => Arith::And,
                    _ => Arith::Xor,
                };
                match s {
                    Src::Reg(s) => a.arith_rr(sz, ar, d, s),
                    Src::Imm(i) => a.arith_ri(sz, ar, d, i),
                }
            }
            (AluOp::Mul, Src::Reg(s)) => a.imul_rr(sz, d, s),
            (AluOp::Mul, Src::Imm(i)) => a.imul_rri(sz, d, d, i),
            (AluOp::Lsh | AluOp::Rsh | AluOp::Arsh, s) => {
                let sh = match op {
                    AluOp::Lsh => Shift::Shl,
                    AluOp::Rsh => Shift::Shr,
                    _ => Shift::Sar,
                };
                match s {
                    Src::Imm(i) => {
                        let amount = (i as u32 & if sz == Sz::Q { 63 } else { 31 }) as u8;
                        if amount == 0 {
                            if sz == Sz::W {
                                a.mov_rr(Sz::W, d, d);
                            }
                        } else {
                            a.shift_ri(sz, sh, d, amount);
                        }
                    }
                    Src::Reg(R::Rcx) => a.shift_cl(sz, sh, d),
                    Src::Reg(s) => {
                        a.mov_rr(Sz::Q, TMP, R::Rcx);
                        a.mov_rr(Sz::Q, R::Rcx, s);
                        if d == R::Rcx {
                            a.shift_cl(sz, sh, TMP);
                        } else {
                            a.shift_cl(sz, sh, d);
                        }
                        a.mov_rr(Sz::Q, R::Rcx, TMP);
                    }
                }
            }
            (AluOp::Div | AluOp::SDiv | AluOp::Mod | AluOp::SMod, s) => self.div(a, sz, op, d, s),
        }
    }

    /// Division and modulo with BPF's rules: by zero, `div` gives 0 and
    /// `mod` leaves the dividend; signed by -1 is negation (or 0 for
    /// `mod`), which would otherwise trap on `MIN / -1`.
    fn div(&self, a: &mut Asm, sz: Sz, op: AluOp, d: R, s: Src) {
        let signed = matches!(op, AluOp::SDiv | AluOp::SMod);
        let is_mod = matches!(op, AluOp::Mod | AluOp::SMod);
        let zero_result = |a: &mut Asm| {
            if is_mod {
                if sz == Sz::W {
                    a.mov_rr(Sz::W, d, d);
                }
            } else {
                a.arith_rr(Sz::W, Arith::Xor, d, d);
            }
        };
        let minus_one_result = |a: &mut Asm| {
            if is_mod {
                a.arith_rr(Sz::W, Arith::Xor, d, d);
            } else {
                a.neg(sz, d);
            }
        };
        let known_nonzero = match s {
            Src::Imm(i) => {
                let v = if sz == Sz::W { i as u32 as u64 } else { i as i64 as u64 };
                if v == 0 {
                    zero_result(a);
                    return;
                }
                if signed && i == -1 {
                    minus_one_result(a);
                    return;
                }
                a.mov_r64_simm32(TMP, i);
                true
            }
            Src::Reg(r) => {
                a.mov_rr(sz, TMP, r);
                false
            }
        };
        let mut done = Vec::new();
        if !known_nonzero {
            a.test_rr(sz, TMP, TMP);
            let nz = Fwd::jcc(a, Cc::Ne);
            zero_result(a);
            done.push(Fwd::jmp(a));
            nz.here(a);
            if signed {
                a.arith_ri(sz, Arith::Cmp, TMP, -1);
                let normal = Fwd::jcc(a, Cc::Ne);
                minus_one_result(a);
                done.push(Fwd::jmp(a));
                normal.here(a);
            }
        }
        a.mov_rr(Sz::Q, TMP3, R::Rax);
        a.mov_rr(Sz::Q, TMP2, R::Rdx);
        if d != R::Rax {
            a.mov_rr(sz, R::Rax, d);
        }
        if signed {
            a.cdq(sz);
            a.idiv(sz, TMP);
        } else {
            a.arith_rr(Sz::W, Arith::Xor, R::Rdx, R::Rdx);
            a.div(sz, TMP);
        }
        a.mov_rr(Sz::Q, TMP, if is_mod { R::Rdx } else { R::Rax });
        a.mov_rr(Sz::Q, R::Rax, TMP3);
        a.mov_rr(Sz::Q, R::Rdx, TMP2);
        a.mov_rr(Sz::Q, d, TMP);
        for j in done {
            j.here(a);
        }
    }

    fn atomic(&self, p: &mut Pass, sz: Sz, op: AtomicOp, m: Mem, s: R) {
        let a = &mut p.a;
        match op {
            AtomicOp::Add { fetch: false } => a.lock_arith(sz, Arith::Add, m, s),
            AtomicOp::Or { fetch: false } => a.lock_arith(sz, Arith::Or, m, s),
            AtomicOp::And { fetch: false } => a.lock_arith(sz, Arith::And, m, s),
            AtomicOp::Xor { fetch: false } => a.lock_arith(sz, Arith::Xor, m, s),
            AtomicOp::Add { fetch: true } => a.lock_xadd(sz, m, s),
            AtomicOp::Xchg => a.xchg_mem(sz, m, s),
            AtomicOp::CmpXchg => {
                a.lock_cmpxchg(sz, m, s);
                if sz == Sz::W {
                    // A successful 32-bit cmpxchg leaves rax's high half.
                    a.mov_rr(Sz::W, R::Rax, R::Rax);
                }
            }
            AtomicOp::Or { fetch: true }
            | AtomicOp::And { fetch: true }
            | AtomicOp::Xor { fetch: true } => {
                let ar = match op {
                    AtomicOp::Or { .. } => Arith::Or,
                    AtomicOp::And { .. } => Arith::And,
                    _ => Arith::Xor,
                };
                // A compare-and-exchange loop through rax (BPF r0, saved).
                a.mov_rr(Sz::Q, TMP2, R::Rax);
                a.lea(TMP, m);
                let operand = if s == R::Rax { TMP2 } else { s };
                a.load(sz, R::Rax, Mem { base: TMP, disp: 0 });
                let top = a.pos();
                a.mov_rr(Sz::Q, TMP3, R::Rax);
                a.arith_rr(sz, ar, TMP3, operand);
                a.lock_cmpxchg(sz, Mem { base: TMP, disp: 0 }, TMP3);
                let back = top as i64 - (a.pos() as i64 + 2);
                a.jcc8(Cc::Ne, back as i8);
                a.mov_rr(Sz::Q, TMP3, R::Rax);
                a.mov_rr(Sz::Q, R::Rax, TMP2);
                a.mov_rr(sz, s, TMP3);
            }
        }
    }

    /// `bpf_tail_call(ctx = r1, array = r2, index = r3)` in Linux's order:
    /// index below `max_entries`, count below 33 (then counted), slot not
    /// empty; then this frame is unwound and the target entered with `r1`
    /// still the context. Otherwise execution falls through.
    fn tail_call(&self, p: &mut Pass, f: usize) {
        let abi = self.opts.tail_calls;
        let a = &mut p.a;
        a.load(Sz::W, TMP, Mem { base: R::Rsi, disp: abi.max_entries_offset });
        a.arith_rr(Sz::W, Arith::Cmp, R::Rdx, TMP);
        let out1 = Fwd::jcc(a, Cc::Ae);
        a.load(Sz::W, TMP, Mem { base: TAIL_COUNT, disp: 0 });
        a.arith_ri(Sz::W, Arith::Cmp, TMP, MAX_TAIL_CALL_CNT as i32);
        let out2 = Fwd::jcc(a, Cc::Ae);
        a.arith_ri(Sz::W, Arith::Add, TMP, 1);
        a.store(Sz::W, Mem { base: TAIL_COUNT, disp: 0 }, TMP);
        a.mov_rr(Sz::W, TMP, R::Rdx);
        a.shift_ri(Sz::Q, Shift::Shl, TMP, 3);
        a.arith_rr(Sz::Q, Arith::Add, TMP, R::Rsi);
        a.load(Sz::Q, TMP, Mem { base: TMP, disp: abi.entries_offset });
        a.test_rr(Sz::Q, TMP, TMP);
        let out3 = Fwd::jcc(a, Cc::E);
        self.unwind(a, &self.funcs[f]);
        a.jmp_r(TMP);
        out1.here(a);
        out2.here(a);
        out3.here(a);
    }
}

/// A second ALU operand after blinding decisions.
#[derive(Clone, Copy)]
enum Src {
    Reg(R),
    Imm(i32),
}

impl From<Operand> for Src {
    fn from(o: Operand) -> Self {
        match o {
            Operand::Reg(r) => Src::Reg(x(r)),
            Operand::Imm(i) => Src::Imm(i),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axiom_abi::asm::assemble;

    struct NoEnv;
    impl JitEnv for NoEnv {
        fn helper_address(&self, id: i32) -> Option<u64> {
            (id == 1).then_some(0x1000)
        }
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn blinding_hides_immediates() {
        let prog = assemble("mov %r0, 0x12345678\nadd %r0, 0x11223344\nstdw [%r10-8], 0x5a5a5a5a\nlddw %r1, 0x0102030405060708\nexit").unwrap();
        let plain = compile(&prog, &NoEnv, &JitOptions::default()).unwrap();
        let blind =
            compile(&prog, &NoEnv, &JitOptions { blinding: true, ..Default::default() }).unwrap();
        for imm in [
            0x1234_5678u32.to_le_bytes(),
            0x1122_3344u32.to_le_bytes(),
            0x5a5a_5a5au32.to_le_bytes(),
        ] {
            assert!(contains(&plain.code, &imm));
            assert!(!contains(&blind.code, &imm), "{imm:02x?} visible in blinded code");
        }
        assert!(contains(&plain.code, &0x0102_0304_0506_0708u64.to_le_bytes()));
        assert!(!contains(&blind.code, &0x0102_0304_0506_0708u64.to_le_bytes()));
    }

    #[test]
    fn jumps_converge_to_short_forms() {
        // A short loop body: every jump fits rel8.
        let prog =
            assemble("mov %r0, 0\nadd %r0, 1\njlt %r0, 10, -2\nja +1\nmov %r0, 5\nexit").unwrap();
        let img = compile(&prog, &NoEnv, &JitOptions::default()).unwrap();
        assert!(img.passes >= 2);
        assert!(
            !img.code.windows(2).any(|w| w[0] == 0x0f && (0x80..0x90).contains(&w[1])),
            "long jcc left"
        );
        assert_eq!(img.insn_offsets.len(), prog.len());
    }

    #[test]
    fn bad_programs_are_refused_with_reasons() {
        let e =
            |t: &str| compile(&assemble(t).unwrap(), &NoEnv, &JitOptions::default()).unwrap_err();
        assert_eq!(e("ja +5\nexit"), JitError::BadTarget { pc: 0 });
        assert_eq!(e("call 99\nexit"), JitError::UnknownHelper { pc: 0, id: 99 });
        assert!(matches!(e("ldabsw 0\nexit"), JitError::Unsupported { .. }));
        assert_eq!(compile(&[], &NoEnv, &JitOptions::default()).unwrap_err(), JitError::Empty);
    }

    #[test]
    fn helper_calls_are_linked_for_the_final_address() {
        let prog = assemble("call 1\nexit").unwrap();
        let mut img = compile(&prog, &NoEnv, &JitOptions::default()).unwrap();
        assert_eq!(img.relocs.len(), 1);
        img.link(0x2000).unwrap();
        let at = img.relocs[0].at;
        let rel = i32::from_le_bytes(img.code[at..at + 4].try_into().unwrap());
        assert_eq!(0x2000 + at as i64 + 4 + rel as i64, 0x1000);
        assert!(img.link(0x7fff_0000_0000).is_err());
    }
}
