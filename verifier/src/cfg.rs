//! Control-flow checks before any state is explored: every instruction
//! decodes, jumps stay inside their function and land on an instruction,
//! every instruction is reachable, functions end in `exit` or a jump; plus
//! the prune points and a register liveness analysis for state pruning.

use crate::error::{E2BIG, EINVAL, VerifyError};
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;
use axiom_abi::Insn;
use axiom_abi::instruction::{
    CallTarget, DecodeErrorKind, Instruction, Operand, PacketMode, Pseudo, decode,
};
use axiom_abi::uapi::limits::BPF_MAX_SUBPROGS;

/// What the CFG pass learns.
pub struct Cfg {
    /// The instruction starting at each slot (`None` for `lddw`'s second).
    pub insns: Vec<Option<Instruction>>,
    /// First instruction of each function, sorted; 0 first.
    pub subprogs: Vec<usize>,
    /// Where states are stored and compared.
    pub prune: Vec<bool>,
    /// Registers (bit per register) that may be read before being written,
    /// from each instruction on.
    pub live_in: Vec<u16>,
    /// Instructions that can run right before each instruction (within its
    /// function).
    pub preds: Vec<Vec<usize>>,
    /// For each function, the `call` instructions that call it.
    pub call_sites: Vec<Vec<usize>>,
}

impl Cfg {
    /// The function containing `pc`.
    pub fn subprog_of(&self, pc: usize) -> usize {
        match self.subprogs.binary_search(&pc) {
            Ok(i) => i,
            Err(i) => i - 1,
        }
    }

    /// One past the last slot of function `f`.
    pub fn subprog_end(&self, f: usize) -> usize {
        self.subprogs.get(f + 1).copied().unwrap_or(self.insns.len())
    }
}

/// Linux's message for an invalid encoding.
fn decode_message(e: &axiom_abi::DecodeError) -> alloc::string::String {
    let class = e.insn.code & 7;
    let op = e.insn.code & 0xf0;
    match e.kind {
        DecodeErrorKind::UnknownOpcode | DecodeErrorKind::Unsupported(_) => {
            if let DecodeErrorKind::Unsupported(what) = e.kind {
                return format!(
                    "unknown opcode {:02x} ({what} is not supported by Axiom yet)",
                    e.insn.code
                );
            }
            format!("unknown opcode {:02x}", e.insn.code)
        }
        DecodeErrorKind::BadLddw | DecodeErrorKind::BadPseudo => "invalid BPF_LD_IMM insn".into(),
        DecodeErrorKind::BadRegister => format!("R{} is invalid", e.insn.dst.max(e.insn.src)),
        DecodeErrorKind::ReservedField(_)
        | DecodeErrorKind::BadImm
        | DecodeErrorKind::BadOffset => {
            let name = match (class, op) {
                (4 | 7, 0xd0) => "BPF_END",
                (4 | 7, 0x80) => "BPF_NEG",
                (4 | 7, 0xb0) => "BPF_MOV",
                (4 | 7, _) => "BPF_ALU",
                (5 | 6, 0x00) => "BPF_JA",
                (5 | 6, 0x80) => "BPF_CALL",
                (5 | 6, 0x90) => "BPF_EXIT",
                (5 | 6, _) => "BPF_JMP/JMP32",
                (1, _) => "BPF_LDX",
                (2, _) => "BPF_ST",
                (3, _) => "BPF_STX",
                _ => "BPF_LD",
            };
            format!("{name} uses reserved fields")
        }
    }
}

fn reg_bit(r: axiom_abi::instruction::Reg) -> u16 {
    1 << r.num()
}

/// Registers an instruction reads and writes.
fn use_def(i: &Instruction) -> (u16, u16) {
    let op = |o: &Operand| match o {
        Operand::Reg(r) => reg_bit(*r),
        Operand::Imm(_) => 0,
    };
    match i {
        Instruction::Alu { op: aop, dst, src, .. } => {
            let d = reg_bit(*dst);
            let uses = op(src) | if *aop == axiom_abi::instruction::AluOp::Mov { 0 } else { d };
            (uses, d)
        }
        Instruction::MovSx { dst, src, .. } => (reg_bit(*src), reg_bit(*dst)),
        Instruction::Neg { dst, .. } | Instruction::Endian { dst, .. } => {
            (reg_bit(*dst), reg_bit(*dst))
        }
        Instruction::LoadImm64 { dst, .. } => (0, reg_bit(*dst)),
        Instruction::LoadPacket { mode, .. } => {
            let u = 1 << 6 | if let PacketMode::Ind(r) = mode { reg_bit(*r) } else { 0 };
            (u, 0x3f)
        }
        Instruction::Load { dst, src, .. } => (reg_bit(*src), reg_bit(*dst)),
        Instruction::Store { dst, src, .. } => (reg_bit(*dst) | op(src), 0),
        Instruction::Atomic { dst, src, op: aop, .. } => {
            let mut u = reg_bit(*dst) | reg_bit(*src);
            let mut d = 0;
            if *aop == axiom_abi::instruction::AtomicOp::CmpXchg {
                u |= 1;
                d |= 1;
            } else if aop.fetches() {
                d |= reg_bit(*src);
            }
            (u, d)
        }
        Instruction::Jump { dst, src, .. } => (reg_bit(*dst) | op(src), 0),
        Instruction::Ja { .. } | Instruction::Gotol { .. } => (0, 0),
        Instruction::Call(_) | Instruction::CallX { .. } => (0x3e, 0x3f),
        Instruction::Exit => (1, 0),
    }
}

/// A check of the decoded instructions that [`build_with`] runs between
/// its own.
pub type Between<'a> = dyn FnMut(&[Option<Instruction>]) -> Result<(), VerifyError> + 'a;

/// Runs the control-flow checks.
pub fn build(slots: &[Insn]) -> Result<Cfg, VerifyError> {
    build_with(slots, &mut |_| Ok(()))
}

/// [`build`], running `between` on the decoded instructions once the
/// functions and their jumps are checked and before reachability is: where
/// Linux resolves the maps a program names.
pub fn build_with(slots: &[Insn], between: &mut Between<'_>) -> Result<Cfg, VerifyError> {
    let n = slots.len();
    if n == 0 {
        return Err(VerifyError::new(EINVAL, None, "program has no instructions".into()));
    }
    let mut insns = vec![None; n];
    let mut pc = 0;
    while pc < n {
        match decode(slots, pc) {
            Ok((i, len)) => {
                insns[pc] = Some(i);
                pc += len;
            }
            Err(e) => return Err(VerifyError::new(EINVAL, Some(e.pc), decode_message(&e))),
        }
    }
    // Functions.
    let mut subprogs = vec![0usize];
    for (pc, i) in insns.iter().enumerate() {
        let rel = match i {
            Some(Instruction::Call(CallTarget::Local(rel))) => *rel as i64,
            Some(Instruction::LoadImm64 { kind: Pseudo::Func, imm, .. }) => *imm as i64,
            _ => continue,
        };
        let t = pc as i64 + 1 + rel;
        if t < 0 || t as usize >= n || insns[t as usize].is_none() {
            return Err(VerifyError::new(EINVAL, Some(pc), "call to invalid destination".into()));
        }
        if let Err(at) = subprogs.binary_search(&(t as usize)) {
            if subprogs.len() >= BPF_MAX_SUBPROGS {
                return Err(VerifyError::new(E2BIG, Some(pc), "too many subprograms".into()));
            }
            subprogs.insert(at, t as usize);
        }
    }
    let cfg_err = |pc, m| Err(VerifyError::new(EINVAL, Some(pc), m));
    // Jumps stay in their function; functions end in exit or a jump.
    for (f, &start) in subprogs.iter().enumerate() {
        let end = subprogs.get(f + 1).copied().unwrap_or(n);
        for pc in start..end {
            let Some(i) = &insns[pc] else { continue };
            if let Some(off) = i.jump_offset() {
                let t = pc as i64 + 1 + off as i64;
                if t < start as i64 || t >= end as i64 {
                    return cfg_err(pc, format!("jump out of range from insn {pc} to {t}"));
                }
                if insns[t as usize].is_none() {
                    return cfg_err(pc, format!("jump into the middle of ldimm64 insn {}", t - 1));
                }
            }
        }
        let last = (start..end).rev().find(|&p| insns[p].is_some()).unwrap_or(start);
        if !matches!(
            insns[last],
            Some(Instruction::Exit | Instruction::Ja { .. } | Instruction::Gotol { .. })
        ) {
            return cfg_err(last, "last insn is not an exit or jmp".into());
        }
    }
    between(&insns)?;
    // Reachability and prune points.
    let mut reached = vec![false; n];
    let mut prune = vec![false; n];
    // As in Linux, a function is reachable only through calls from code
    // that is itself reachable from the first instruction.
    let mut work: Vec<usize> = vec![0];
    for &s in &subprogs {
        prune[s] = true;
    }
    while let Some(pc) = work.pop() {
        if pc >= n || reached[pc] {
            continue;
        }
        reached[pc] = true;
        let Some(i) = &insns[pc] else { continue };
        let next = pc + i.len();
        match i {
            Instruction::Exit => {}
            Instruction::Ja { .. } | Instruction::Gotol { .. } => {
                let t = (pc as i64 + 1 + i.jump_offset().unwrap_or(0) as i64) as usize;
                prune[t] = true;
                work.push(t);
            }
            // As in Linux: a conditional jump is itself a prune point.
            Instruction::Jump { off, .. } => {
                let t = (pc as i64 + 1 + *off as i64) as usize;
                prune[pc] = true;
                work.push(t);
                work.push(next);
            }
            Instruction::Call(c) => {
                prune[pc] = true;
                if let CallTarget::Local(rel) = c {
                    work.push((pc as i64 + 1 + *rel as i64) as usize);
                }
                work.push(next);
            }
            _ => work.push(next),
        }
    }
    if let Some(pc) = (0..n).find(|&pc| insns[pc].is_some() && !reached[pc]) {
        return cfg_err(pc, format!("unreachable insn {pc}"));
    }
    // Liveness, per function: iterate to a fixed point.
    let mut live_in = vec![0u16; n];
    let mut changed = true;
    while changed {
        changed = false;
        for pc in (0..n).rev() {
            let Some(i) = &insns[pc] else { continue };
            let f_end = {
                let f = match subprogs.binary_search(&pc) {
                    Ok(f) => f,
                    Err(f) => f - 1,
                };
                subprogs.get(f + 1).copied().unwrap_or(n)
            };
            let at = |t: usize| if t < f_end { live_in[t] } else { 0 };
            let next = pc + i.len();
            let out = match i {
                Instruction::Exit => 0,
                Instruction::Ja { .. } | Instruction::Gotol { .. } => {
                    at((pc as i64 + 1 + i.jump_offset().unwrap_or(0) as i64) as usize)
                }
                Instruction::Jump { off, .. } => {
                    at((pc as i64 + 1 + *off as i64) as usize) | at(next)
                }
                _ => at(next),
            };
            let (u, d) = use_def(i);
            let new = u | (out & !d) | 1 << 10;
            if new != live_in[pc] {
                live_in[pc] = new;
                changed = true;
            }
        }
    }
    // Predecessors and call sites.
    let mut preds = vec![Vec::new(); n];
    let mut call_sites = vec![Vec::new(); subprogs.len()];
    for (pc, i) in insns.iter().enumerate() {
        let Some(i) = i else { continue };
        let next = pc + i.len();
        let mut succ = |t: usize| {
            if t < n {
                preds[t].push(pc);
            }
        };
        match i {
            Instruction::Exit => {}
            Instruction::Ja { .. } | Instruction::Gotol { .. } => {
                succ((pc as i64 + 1 + i.jump_offset().unwrap_or(0) as i64) as usize)
            }
            Instruction::Jump { off, .. } => {
                succ((pc as i64 + 1 + *off as i64) as usize);
                succ(next);
            }
            Instruction::Call(CallTarget::Local(rel)) => {
                let t = (pc as i64 + 1 + *rel as i64) as usize;
                if let Ok(f) = subprogs.binary_search(&t) {
                    call_sites[f].push(pc);
                }
                succ(next);
            }
            _ => succ(next),
        }
    }
    Ok(Cfg { insns, subprogs, prune, live_in, preds, call_sites })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use axiom_abi::asm::assemble;

    /// A main function calling `count` more.
    fn functions(count: usize) -> Vec<Insn> {
        let mut text = String::new();
        for k in 1..=count {
            text.push_str(&format!("call local f{k}\n"));
        }
        text.push_str("mov %r0, 0\nexit\n");
        for k in 1..=count {
            text.push_str(&format!("f{k}:\nmov %r0, 0\nexit\n"));
        }
        assemble(&text).unwrap()
    }

    #[test]
    fn a_program_has_at_most_256_functions() {
        assert_eq!(
            build(&functions(BPF_MAX_SUBPROGS - 1)).unwrap().subprogs.len(),
            BPF_MAX_SUBPROGS
        );
        let e = build(&functions(BPF_MAX_SUBPROGS)).err().unwrap();
        assert_eq!(
            (e.errno, e.pc, e.message.as_str()),
            (E2BIG, Some(BPF_MAX_SUBPROGS - 1), "too many subprograms")
        );
    }
}
