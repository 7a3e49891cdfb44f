//! What the walk writes to the log, as Linux writes it: the level-2
//! preamble (functions, live registers), each instruction, the registers
//! and stack slots the instructions before it touched (appended to the
//! previous line), source lines from line info, a queued branch's origin
//! and state. The log buffer and the text of instructions and states are
//! [`crate::log`]'s.

use super::Verifier;
use crate::log::{annotation_padding, insn_text, state_text};
use crate::state::State;
use alloc::format;
use alloc::string::String;
use axiom_abi::instruction::{AtomicOp, CallTarget, Instruction, Operand, Reg};

/// The registers an instruction reads or writes, which Linux shows after
/// it in the log.
pub(super) fn scratched_regs(insn: &Instruction) -> u16 {
    let bit = |r: Reg| 1u16 << r.num();
    let src = |o: &Operand| if let Operand::Reg(r) = o { bit(*r) } else { 0 };
    match insn {
        Instruction::Alu { dst, src: s, .. } => bit(*dst) | src(s),
        Instruction::MovSx { dst, src: s, .. } => bit(*dst) | bit(*s),
        Instruction::Neg { dst, .. } | Instruction::Endian { dst, .. } => bit(*dst),
        Instruction::LoadImm64 { dst, .. } => bit(*dst),
        Instruction::Load { dst, src: s, .. } => bit(*dst) | bit(*s),
        Instruction::Store { dst, src: s, .. } => bit(*dst) | src(s),
        Instruction::Atomic { dst, src: s, op, .. } => {
            bit(*dst) | bit(*s) | if *op == AtomicOp::CmpXchg { 1 } else { 0 }
        }
        Instruction::Jump { dst, src: s, .. } => bit(*dst) | src(s),
        Instruction::Call(_) | Instruction::LoadPacket { .. } => 0x3f,
        _ => 0,
    }
}

impl Verifier<'_> {
    /// Linux's level-2 preamble: each function's start, then the registers
    /// live before each instruction (`0: .1........ (61) r2 = ...`).
    pub(super) fn log_preamble(&mut self) {
        for (k, start) in self.cfg.subprogs.iter().enumerate() {
            self.log.line(&format!("func#{k} @{start}"));
        }
        self.log.line("Live regs before insn:");
        for pc in 0..self.slots.len() {
            let Some(insn) = self.cfg.insns[pc] else { continue };
            let live = self.cfg.live_in[pc];
            let mask: String = (0..10)
                .map(|r| if live & (1 << r) != 0 { char::from(b'0' + r) } else { '.' })
                .collect();
            let name = match insn {
                Instruction::Call(CallTarget::Helper(id)) => {
                    self.platform.helper(id).map(|p| p.name)
                }
                _ => None,
            };
            let text = insn_text(pc, self.slots, &insn, name);
            let body = text.split_once(": ").map_or(text.as_str(), |(_, b)| b);
            self.log.line(&format!("{pc:>7}: {mask} {body}"));
        }
    }

    /// Prints the source line covering `pc` if it is not the last printed.
    fn log_line_info(&mut self, pc: usize) {
        let k = self.lines.partition_point(|l| l.insn <= pc);
        if k == 0 || self.last_line == Some(k - 1) {
            return;
        }
        self.last_line = Some(k - 1);
        let l = &self.lines[k - 1];
        let text = if l.file.is_empty() {
            format!("; {}", l.source.trim_start())
        } else {
            format!("; {} @ {}:{}", l.source.trim_start(), l.file, l.line)
        };
        self.log.line(&text);
    }

    /// Logs instruction `pc` as Linux does: at level 2 a queued branch's
    /// origin and state first; the registers and stack slots the previous
    /// instructions touched, appended to the previous instruction's line
    /// (`; R0=1`); the source line; the instruction itself.
    pub(super) fn log_insn(
        &mut self,
        st: &State,
        from: usize,
        pc: usize,
        insn: &Instruction,
        popped: bool,
    ) {
        if popped && self.log.level >= 2 {
            let all = state_text(st, 0x7ff, u64::MAX);
            self.log.line(&format!("\nfrom {from} to {pc}:{all}"));
        }
        if self.scratch_regs != 0 || self.scratch_slots != 0 {
            if self.prev_log_pos != 0 && self.prev_log_pos == self.log.pos() {
                self.log.reset(self.prev_log_pos - 1);
                let pad = annotation_padding(self.prev_insn_line);
                self.log.write(&format!("{:pad$};", ""));
            } else {
                self.log.write(&format!("{pc}:"));
            }
            let text = state_text(st, self.scratch_regs, self.scratch_slots);
            self.log.line(&text);
            self.scratch_regs = 0;
            self.scratch_slots = 0;
        }
        self.log_line_info(pc);
        let name = match insn {
            Instruction::Call(CallTarget::Helper(id)) => self.platform.helper(*id).map(|p| p.name),
            _ => None,
        };
        let start = self.log.pos();
        self.log.line(&insn_text(pc, self.slots, insn, name));
        self.prev_insn_line = self.log.pos() - start;
        self.prev_log_pos = self.log.pos();
    }
}
