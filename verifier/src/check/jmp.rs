//! Conditional jumps: branches decided by the operands' bounds (which
//! makes them precise), both branches refined otherwise; NULL checks of
//! or-null pointers; packet ranges learnt from comparisons with
//! `data_end`.

use super::{Flow, VResult, Verifier};
use crate::bounds::{Scalar, branch_taken, refine};
use crate::state::{RegState, RegType, State};
use axiom_abi::instruction::{Cond, Operand, Reg, Width};
use axiom_abi::uapi::limits::MAX_PACKET_OFF;

impl Verifier<'_> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn jump(
        &mut self,
        st: &mut State,
        pc: usize,
        width: Width,
        cond: Cond,
        dst: Reg,
        src: Operand,
        target: usize,
    ) -> VResult<Flow> {
        let a = self.read(st, pc, dst)?;
        let (b, src_reg) = match src {
            Operand::Reg(r) => (self.read(st, pc, r)?, Some(r)),
            Operand::Imm(i) => {
                let v = if width == Width::W64 { i as i64 as u64 } else { i as u32 as u64 };
                (RegState::scalar(Scalar::constant(v)), None)
            }
        };
        if a.ty == RegType::Scalar && b.ty == RegType::Scalar {
            let decided = branch_taken(width, cond, &a.var, &b.var);
            if decided.is_some() {
                // The path taken depends on these values.
                let bits = 1u16 << dst.num() | src_reg.map_or(0, |r| 1u16 << r.num());
                self.mark_precise(pc, bits);
            }
            match decided {
                Some(true) => return Ok(Flow::Goto(target)),
                Some(false) => return Ok(Flow::Next),
                None => {}
            }
            let mut taken = st.clone();
            let (mut ta, mut tb) = (a.var, b.var);
            refine(width, cond, true, &mut ta, &mut tb);
            let (mut fa, mut fb) = (a.var, b.var);
            refine(width, cond, false, &mut fa, &mut fb);
            let taken_ok = !ta.is_empty() && !tb.is_empty();
            let fall_ok = !fa.is_empty() && !fb.is_empty();
            taken.cur_mut().regs[dst.idx()].var = ta;
            st.cur_mut().regs[dst.idx()].var = fa;
            if let Some(s) = src_reg {
                taken.cur_mut().regs[s.idx()].var = tb;
                st.cur_mut().regs[s.idx()].var = fb;
            }
            return Ok(match (taken_ok, fall_ok) {
                (true, true) => Flow::Fork(taken, target),
                (true, false) => {
                    *st = taken;
                    Flow::Goto(target)
                }
                _ => Flow::Next,
            });
        }
        // NULL checks of `*_or_null` pointers.
        let null_cmp = width == Width::W64 && matches!(cond, Cond::Eq | Cond::Ne);
        if null_cmp
            && matches!(a.ty, RegType::MapValueOrNull { .. } | RegType::MemOrNull { .. })
            && b.is_zero()
        {
            let mut taken = st.clone();
            let (null_state, ptr_state) =
                if cond == Cond::Eq { (&mut taken, &mut *st) } else { (&mut *st, &mut taken) };
            mark_null(null_state, a.id, true);
            mark_null(ptr_state, a.id, false);
            return Ok(Flow::Fork(taken, target));
        }
        // Packet bounds checks.
        if width == Width::W64 {
            // `data` against `data_end`, or `data_meta` against `data`
            // itself (Linux learns nothing from other pairs).
            let pkt_end = |p: &RegState, e: &RegState| match p.ty {
                RegType::Packet => e.ty == RegType::PacketEnd,
                RegType::PacketMeta => {
                    e.ty == RegType::Packet && e.off == 0 && e.var.as_const() == Some(0)
                }
                _ => false,
            };
            // (packet register, the branch where `pkt <= end`/`pkt < end`
            // holds (true = taken), strict)
            let rule = if pkt_end(&a, &b) {
                match cond {
                    Cond::Gt => Some((a, false, false)),
                    Cond::Ge => Some((a, false, true)),
                    Cond::Lt => Some((a, true, true)),
                    Cond::Le => Some((a, true, false)),
                    _ => None,
                }
            } else if pkt_end(&b, &a) {
                match cond {
                    Cond::Gt => Some((b, true, true)),
                    Cond::Ge => Some((b, true, false)),
                    Cond::Lt => Some((b, false, false)),
                    Cond::Le => Some((b, false, true)),
                    _ => None,
                }
            } else {
                None
            };
            if let Some((p, in_taken, strict)) = rule {
                let mut taken = st.clone();
                // Linux's limits: no range from a pointer before the start or
                // possibly beyond MAX_PACKET_OFF.
                let within = p.off >= 0
                    && p.var.umax <= MAX_PACKET_OFF
                    && p.var.umax + p.off as u64 <= MAX_PACKET_OFF;
                if within && (p.var.as_const().is_some() || p.id != 0) {
                    let new_range = (p.off as i64 + strict as i64).max(0) as u32;
                    let s = if in_taken { &mut taken } else { &mut *st };
                    mark_pkt_range(s, &p, new_range);
                }
                return Ok(Flow::Fork(taken, target));
            }
        }
        // Other pointer comparisons: both ways, nothing learnt.
        Ok(Flow::Fork(st.clone(), target))
    }
}

/// After a NULL check: registers (and spills) sharing `id` become the
/// scalar 0 (`is_null`) or the checked pointer.
fn mark_null(st: &mut State, id: u32, is_null: bool) {
    let ref_id = st
        .frames
        .iter()
        .flat_map(|f| f.regs.iter())
        .find(|r| r.id == id && r.ref_id != 0)
        .map(|r| r.ref_id);
    let fix = |r: &mut RegState| {
        if r.id != id || !matches!(r.ty, RegType::MapValueOrNull { .. } | RegType::MemOrNull { .. })
        {
            return;
        }
        if is_null {
            *r = RegState::scalar(Scalar::constant(0));
        } else {
            r.ty = match r.ty {
                RegType::MapValueOrNull { map } => RegType::MapValue { map },
                RegType::MemOrNull { size } => RegType::Mem { size },
                t => t,
            };
            if r.ref_id == 0 {
                r.id = 0;
            }
        }
    };
    st.for_each_reg(fix);
    if is_null && let Some(rid) = ref_id {
        // A failed reservation holds nothing to release.
        st.refs.retain(|r| r.id != rid);
    }
}

/// After a packet bounds check: every packet pointer derived like `p`
/// (same id and variable part) may access `range` bytes.
fn mark_pkt_range(st: &mut State, p: &RegState, range: u32) {
    let fix = |r: &mut RegState| {
        if r.ty == p.ty && r.id == p.id && r.var == p.var {
            r.range = r.range.max(range);
        }
    };
    st.for_each_reg(fix);
}
