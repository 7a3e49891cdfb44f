//! Bpf-to-bpf calls and exits: a new frame with the arguments (at most
//! eight frames on a path), the return to the caller, and the checks at
//! the program's exit (references released, the return value in the
//! program type's range).

use super::{Flow, VResult, Verifier, inval};
use crate::error::{E2BIG, VerifyError};
use crate::state::{Frame, RegState, RegType, State};
use alloc::format;
use axiom_abi::instruction::Reg;
use axiom_abi::uapi::limits::MAX_CALL_FRAMES;

impl Verifier<'_> {
    /// A bpf-to-bpf call of the function at `target`: a new frame with
    /// the caller's `r1`..`r5`.
    pub(super) fn call_local(&mut self, st: &mut State, pc: usize, target: usize) -> VResult<Flow> {
        if st.frames.len() >= MAX_CALL_FRAMES {
            return Err(VerifyError::new(
                E2BIG,
                Some(pc),
                format!("the call stack of {} frames is too deep", st.frames.len() + 1),
            ));
        }
        let mut frame = Frame::new(st.frames.len() as u8, target, pc + 1);
        let regs = st.cur().regs;
        frame.regs[1..=5].copy_from_slice(&regs[1..=5]);
        st.frames.push(frame);
        Ok(Flow::Goto(target))
    }

    /// `exit`: back to the caller with `r0`, or the program's end.
    pub(super) fn exit(&mut self, st: &mut State, pc: usize) -> VResult<Flow> {
        let r0 = self.read(st, pc, Reg::R0)?;
        if st.frames.len() > 1 {
            if let RegType::Stack { .. } = r0.ty {
                return Err(inval(pc, "cannot return stack pointer to the caller".into()));
            }
            let callee = st.frames.pop().expect("more than one frame");
            let f = st.cur_mut();
            f.regs[0] = r0;
            for r in 1..=5 {
                f.regs[r] = RegState::NOT_INIT;
            }
            return Ok(Flow::Goto(callee.return_pc));
        }
        if let Some(r) = st.refs.first() {
            let detail = format!("Unreleased reference id={} alloc_insn={}", r.id, r.insn);
            self.log.line(&detail);
            return Err(inval(
                pc,
                "BPF_EXIT instruction in main prog would lead to reference leak".into(),
            ));
        }
        if let Some((lo, hi)) = self.prog.ret_range {
            self.mark_precise(pc, 1);
            let ok = r0.ty == RegType::Scalar && r0.var.smin >= lo && r0.var.smax <= hi;
            if !ok {
                return Err(inval(
                    pc,
                    format!(
                        "At program exit the register R0 has {r0} should have been in [{lo}, {hi}]"
                    ),
                ));
            }
        }
        Ok(Flow::End)
    }
}
