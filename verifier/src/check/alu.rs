//! Arithmetic: the ALU instructions on scalars (bounds from
//! [`crate::bounds`], Linux's rule on which results it tracks) and on
//! pointers (which pointer arithmetic Linux allows, and the offsets it may
//! reach); `neg`, `movsx` and the byte-order operations.

use super::{VResult, Verifier, acc, inval, sized_unknown};
use crate::bounds::Scalar;
use crate::state::{RegState, RegType, State};
use alloc::format;
use axiom_abi::instruction::{AluOp, EndianOp, Operand, Reg, Width};
use axiom_abi::uapi::limits::BPF_MAX_VAR_OFF;

/// Whether Linux computes the result's range of `op` (its
/// `is_safe_to_compute_dst_reg_range`): not for divisions and remainders,
/// even of constants, nor for shifts by an amount not known to be below
/// the width. Where it does not, the result is any 64-bit value, at either
/// width; Axiom follows so that it accepts no program Linux refuses.
fn linux_tracks_range(op: AluOp, bits: i32, src: &Scalar) -> bool {
    match op {
        AluOp::Div | AluOp::SDiv | AluOp::Mod | AluOp::SMod => false,
        AluOp::Lsh | AluOp::Rsh | AluOp::Arsh => {
            let amount = if bits == 32 { src.as_const32().map(u64::from) } else { src.as_const() };
            amount.is_some_and(|s| s < bits as u64)
        }
        _ => true,
    }
}

impl Verifier<'_> {
    /// `dst op= src` at `width`: scalar arithmetic, or pointer arithmetic
    /// when either operand is a pointer.
    pub(super) fn alu(
        &mut self,
        st: &mut State,
        pc: usize,
        width: Width,
        op: AluOp,
        dst: Reg,
        src: Operand,
    ) -> VResult<()> {
        let bits = if width == Width::W64 { 64 } else { 32 };
        let b = match src {
            Operand::Reg(r) => self.read(st, pc, r)?,
            Operand::Imm(i) => {
                if matches!(op, AluOp::Lsh | AluOp::Rsh | AluOp::Arsh) && (i < 0 || i >= bits) {
                    return Err(inval(pc, format!("invalid shift {i}")));
                }
                if matches!(op, AluOp::Div | AluOp::SDiv | AluOp::Mod | AluOp::SMod) && i == 0 {
                    return Err(inval(pc, "div by zero".into()));
                }
                let v = if width == Width::W64 { i as i64 as u64 } else { i as u32 as u64 };
                RegState::scalar(Scalar::constant(v))
            }
        };
        if op == AluOp::Mov {
            let v = if width == Width::W64 {
                b
            } else if b.ty == RegType::Scalar {
                RegState::scalar(b.var.zext32())
            } else {
                // A partial copy of a pointer is a number.
                RegState::scalar(Scalar::UNKNOWN.zext32())
            };
            return self.set(st, pc, dst, v);
        }
        let a = self.read(st, pc, dst)?;
        if dst == Reg::R10 {
            return Err(acc(pc, "frame pointer is read only".into()));
        }
        let result = if a.ty == RegType::Scalar && b.ty == RegType::Scalar {
            RegState::scalar(if linux_tracks_range(op, bits, &b.var) {
                a.var.alu(width, op, b.var)
            } else {
                Scalar::UNKNOWN
            })
        } else {
            // A scalar added to a pointer decides which memory it reaches.
            if a.ty == RegType::Scalar {
                self.mark_precise(pc, 1 << dst.num());
            } else if let (RegType::Scalar, Operand::Reg(s)) = (b.ty, src) {
                self.mark_precise(pc, 1 << s.num());
            }
            self.pointer_alu(pc, width, op, dst, a, b)?
        };
        self.set(st, pc, dst, result)
    }

    /// Arithmetic with a pointer: which operations Linux allows on which
    /// pointers, and the offset (constant or variable) the result has.
    fn pointer_alu(
        &mut self,
        pc: usize,
        width: Width,
        op: AluOp,
        dst: Reg,
        a: RegState,
        b: RegState,
    ) -> VResult<RegState> {
        let d = dst.num();
        if width == Width::W32 {
            if op == AluOp::Sub {
                return Ok(RegState::scalar(Scalar::UNKNOWN.zext32()));
            }
            return Err(acc(pc, format!("R{d} 32-bit pointer arithmetic prohibited")));
        }
        if a.ty.is_pointer() && b.ty.is_pointer() {
            if op == AluOp::Sub {
                return Ok(RegState::scalar(Scalar::UNKNOWN));
            }
            return Err(acc(pc, format!("R{d} pointer {} pointer prohibited", op.symbol())));
        }
        let (ptr, off) = if a.ty.is_pointer() { (a, b) } else { (b, a) };
        if !a.ty.is_pointer() && op != AluOp::Add {
            if op == AluOp::Sub {
                return Err(acc(pc, format!("R{d} tried to subtract pointer from scalar")));
            }
            return Err(acc(
                pc,
                format!("R{d} pointer arithmetic with {} operator prohibited", op.symbol()),
            ));
        }
        match ptr.ty {
            RegType::MapValueOrNull { .. } | RegType::MemOrNull { .. } => {
                return Err(acc(
                    pc,
                    format!(
                        "R{d} pointer arithmetic on {} prohibited, null-check it first",
                        ptr.ty.linux_name()
                    ),
                ));
            }
            RegType::PacketEnd | RegType::MapPtr { .. } => {
                return Err(acc(
                    pc,
                    format!("R{d} pointer arithmetic on {} prohibited", ptr.ty.linux_name()),
                ));
            }
            _ => {}
        }
        match op {
            AluOp::Add => {}
            // Linux keeps frame pointers to additions (JITs may not cope).
            AluOp::Sub if matches!(ptr.ty, RegType::Stack { .. }) => {
                return Err(acc(pc, format!("R{d} subtraction from stack pointer prohibited")));
            }
            AluOp::Sub => {}
            AluOp::And | AluOp::Or | AluOp::Xor => {
                return Err(acc(
                    pc,
                    format!("R{d} bitwise operator {} on pointer prohibited", op.symbol()),
                ));
            }
            _ => {
                return Err(acc(
                    pc,
                    format!("R{d} pointer arithmetic with {} operator prohibited", op.symbol()),
                ));
            }
        }
        let s = off.var;
        let tyname = ptr.ty.linux_name();
        // Linux's `check_reg_sane_offset`: offsets it cannot reason about
        // make the program malformed (EINVAL), not unsafe. Both ends are
        // out: -2^29 as much as 2^29.
        let sane = |v: i64| v > -BPF_MAX_VAR_OFF && v < BPF_MAX_VAR_OFF;
        if let Some(c) = s.as_const() {
            let c = c as i64;
            if !sane(c) {
                return Err(inval(
                    pc,
                    format!("math between {tyname} pointer and {c} is not allowed"),
                ));
            }
            let new_off = if op == AluOp::Add { ptr.off as i64 + c } else { ptr.off as i64 - c };
            if !sane(new_off) {
                return Err(inval(pc, format!("{tyname} pointer offset {new_off} is not allowed")));
            }
            return Ok(RegState { off: new_off as i32, ..ptr });
        }
        if s.smin == i64::MIN {
            return Err(inval(
                pc,
                format!(
                    "math between {tyname} pointer and register with unbounded min value is not allowed"
                ),
            ));
        }
        if s.smin <= -BPF_MAX_VAR_OFF || s.smin >= BPF_MAX_VAR_OFF {
            return Err(inval(
                pc,
                format!("value {} makes {tyname} pointer be out of bounds", s.smin),
            ));
        }
        let var = ptr.var.alu(Width::W64, op, s);
        let mut out = RegState { var, ..ptr };
        if matches!(ptr.ty, RegType::Packet | RegType::PacketMeta) {
            // A new variable offset: bounds checks on the old pointer no
            // longer apply.
            out.id = self.new_id();
            out.range = 0;
        }
        Ok(out)
    }
}

/// `movsx`: a scalar's low `bits` bits sign-extended, at `width`; a
/// pointer's are any number.
pub(super) fn movsx(width: Width, bits: u8, s: RegState) -> Scalar {
    if s.ty == RegType::Scalar {
        let r = Scalar::sext(bits as u32, &s.var);
        if width == Width::W32 { r.zext32() } else { r }
    } else {
        Scalar::UNKNOWN
    }
}

/// `neg`: as Linux computes it, `0 - d` with the subtraction's bounds.
pub(super) fn neg(width: Width, d: RegState) -> Scalar {
    if d.ty == RegType::Scalar {
        Scalar::constant(0).alu(width, AluOp::Sub, d.var)
    } else {
        Scalar::UNKNOWN
    }
}

/// `le16`..`be64`, `bswap16`..`bswap64` of `d`.
pub(super) fn endian(op: EndianOp, bits: u8, d: RegState) -> Scalar {
    match (d.ty, op) {
        // Little endian on a little-endian machine: a truncation.
        (RegType::Scalar, EndianOp::ToLe) if bits == 64 => d.var,
        (RegType::Scalar, EndianOp::ToLe) => {
            sized_unknown(bits as usize / 8).alu(Width::W64, AluOp::And, d.var)
        }
        // A byte swap moves known bits with their bytes.
        (RegType::Scalar, _) => Scalar::from_tnum(d.var.var_off.bswap(bits as u32)),
        _ if bits < 64 => sized_unknown(bits as usize / 8),
        _ => Scalar::UNKNOWN,
    }
}
