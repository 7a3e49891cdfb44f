//! Liveness and precision: which registers of a state matter at an
//! instruction. Pruning compares only live registers, and scalars by value
//! only where they are precise (some safety decision depends on them);
//! precision is marked backwards from the decision, through every
//! instruction that computed the value.

use super::Verifier;
use crate::state::State;
use alloc::vec;
use alloc::vec::Vec;
use axiom_abi::instruction::{AluOp, AtomicOp, CallTarget, Instruction, Operand, Reg};

impl Verifier<'_> {
    /// Liveness masks of each frame of `st` at `pc`.
    pub(super) fn live_masks(&self, st: &State, pc: usize) -> Vec<u16> {
        let k = st.frames.len();
        (0..k)
            .map(|i| {
                if i + 1 == k {
                    self.cfg.live_in[pc]
                } else {
                    // A caller resumes at its return address with r0..r5
                    // overwritten.
                    let ret = st.frames[i + 1].return_pc;
                    self.cfg.live_in.get(ret).copied().unwrap_or(0) & !0x3f
                }
            })
            .collect()
    }

    /// Precision masks of each frame of `st` at `pc`.
    pub(super) fn precise_masks(&self, st: &State, pc: usize) -> Vec<u16> {
        let k = st.frames.len();
        (0..k)
            .map(|i| {
                if i + 1 == k {
                    self.precise[pc]
                } else {
                    let ret = st.frames[i + 1].return_pc;
                    self.precise.get(ret).copied().unwrap_or(u16::MAX)
                }
            })
            .collect()
    }

    /// Records that the values of `regs` at `pc` decide safety, and so
    /// do the values they were computed from, at every instruction that
    /// can lead to `pc` (a static, conservative form of Linux's precision
    /// backtracking: it may mark more registers than Linux, never fewer).
    pub(super) fn mark_precise(&mut self, pc: usize, regs: u16) {
        let mut work = vec![(pc, regs & 0x3ff)];
        while let Some((p, set)) = work.pop() {
            let new = set & !self.precise[p];
            if new == 0 {
                continue;
            }
            self.precise[p] |= new;
            let f = self.cfg.subprog_of(p);
            if self.cfg.subprogs[f] == p {
                // Arguments come from the callers.
                for &site in &self.cfg.call_sites[f] {
                    work.push((site, new & 0x3e));
                }
            }
            for k in 0..self.cfg.preds[p].len() {
                let q = self.cfg.preds[p][k];
                let Some(insn) = self.cfg.insns[q] else { continue };
                let need = match insn {
                    Instruction::Call(CallTarget::Local(rel)) if new & 1 != 0 => {
                        // r0 comes from the callee's exits.
                        let t = (q as i64 + 1 + rel as i64) as usize;
                        let g = self.cfg.subprog_of(t);
                        let (s, e) = (self.cfg.subprogs[g], self.cfg.subprog_end(g));
                        for x in s..e {
                            if matches!(self.cfg.insns[x], Some(Instruction::Exit)) {
                                work.push((x, 1));
                            }
                        }
                        needed_before(&insn, new & !1)
                    }
                    _ => needed_before(&insn, new),
                };
                work.push((q, need));
            }
        }
    }
}

/// The registers whose values before `insn` determine the values of `regs`
/// after it.
fn needed_before(insn: &Instruction, regs: u16) -> u16 {
    let bit = |r: Reg| 1u16 << r.num();
    let mut need = regs;
    match *insn {
        Instruction::Alu { op, dst, src, .. } if regs & bit(dst) != 0 => {
            need &= !bit(dst);
            if op != AluOp::Mov {
                need |= bit(dst);
            }
            if let Operand::Reg(s) = src {
                need |= bit(s);
            }
        }
        Instruction::MovSx { dst, src, .. } if regs & bit(dst) != 0 => {
            need = (need & !bit(dst)) | bit(src);
        }
        Instruction::LoadImm64 { dst, .. } | Instruction::Load { dst, .. } => need &= !bit(dst),
        Instruction::Atomic { op, src, .. } => {
            if op == AtomicOp::CmpXchg {
                need &= !1;
            } else if op.fetches() {
                need &= !bit(src);
            }
        }
        Instruction::Call(_) | Instruction::LoadPacket { .. } => need &= !0x3f,
        // A comparison of two registers bounds each by the other: a
        // bound that matters makes the register it came from matter too
        // (else a path where that register was larger could be pruned as
        // equivalent: CVE-2023-2163).
        Instruction::Jump { dst, src: Operand::Reg(s), .. } if regs & (bit(dst) | bit(s)) != 0 => {
            need |= bit(dst) | bit(s);
        }
        _ => {}
    }
    need
}
