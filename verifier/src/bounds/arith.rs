//! The arithmetic transfer functions: what an ALU operation's result may
//! be, given what its operands may be (Linux's `adjust_scalar_min_max_vals`
//! for the operations whose ranges it tracks).

use super::Scalar;
use axiom_abi::alu;
use axiom_abi::instruction::{AluOp, Width};

impl Scalar {
    /// The result of `self op src` on 64 bits.
    fn alu64(self, op: AluOp, b: Scalar) -> Scalar {
        if let (Some(x), Some(y)) = (self.as_const(), b.as_const()) {
            return Scalar::constant(alu::alu(Width::W64, op, x, y));
        }
        let a = self;
        let mut r = Scalar::UNKNOWN;
        match op {
            AluOp::Mov => return b,
            AluOp::Add => {
                r.var_off = a.var_off.add(b.var_off);
                if let (Some(lo), Some(hi)) =
                    (a.smin.checked_add(b.smin), a.smax.checked_add(b.smax))
                {
                    (r.smin, r.smax) = (lo, hi);
                }
                if let (Some(lo), Some(hi)) =
                    (a.umin.checked_add(b.umin), a.umax.checked_add(b.umax))
                {
                    (r.umin, r.umax) = (lo, hi);
                }
            }
            AluOp::Sub => {
                r.var_off = a.var_off.sub(b.var_off);
                if let (Some(lo), Some(hi)) =
                    (a.smin.checked_sub(b.smax), a.smax.checked_sub(b.smin))
                {
                    (r.smin, r.smax) = (lo, hi);
                }
                if a.umin >= b.umax {
                    (r.umin, r.umax) = (a.umin - b.umax, a.umax - b.umin);
                }
            }
            AluOp::Mul => {
                r.var_off = a.var_off.mul(b.var_off);
                if let Some(hi) = a.umax.checked_mul(b.umax) {
                    (r.umin, r.umax) = (a.umin * b.umin, hi);
                }
            }
            AluOp::And => {
                r.var_off = a.var_off.and(b.var_off);
                r.umax = a.umax.min(b.umax);
                if a.smin >= 0 || b.smin >= 0 {
                    // A non-negative operand keeps the result non-negative.
                    r.smin = 0;
                    r.smax = if a.smin >= 0 && b.smin >= 0 {
                        a.smax.min(b.smax)
                    } else if a.smin >= 0 {
                        a.smax
                    } else {
                        b.smax
                    };
                }
            }
            AluOp::Or => {
                r.var_off = a.var_off.or(b.var_off);
                r.umin = a.umin.max(b.umin);
            }
            AluOp::Xor => r.var_off = a.var_off.xor(b.var_off),
            AluOp::Lsh | AluOp::Rsh | AluOp::Arsh => {
                let Some(s) = b.as_const() else { return Scalar::UNKNOWN };
                let s = (s & 63) as u32;
                match op {
                    AluOp::Lsh => {
                        r.var_off = a.var_off.lshift(s);
                        if s == 0 || a.umax >> (64 - s) == 0 {
                            (r.umin, r.umax) = (a.umin << s, a.umax << s);
                        }
                    }
                    AluOp::Rsh => {
                        r.var_off = a.var_off.rshift(s);
                        (r.umin, r.umax) = (a.umin >> s, a.umax >> s);
                    }
                    _ => {
                        r.var_off = a.var_off.arshift(s, 64);
                        (r.smin, r.smax) = (a.smin >> s, a.smax >> s);
                    }
                }
            }
            AluOp::Div => {
                if let Some(d) = b.as_const().filter(|&d| d != 0) {
                    (r.umin, r.umax) = (a.umin / d, a.umax / d);
                } else if let Some(hi) = a.umax.checked_div(b.umin) {
                    (r.umin, r.umax) = (a.umin / b.umax, hi);
                } else {
                    r.umax = a.umax;
                }
            }
            AluOp::Mod => {
                // By zero leaves the dividend; else below the divisor.
                if b.umin > 0 {
                    r.umax = (b.umax - 1).min(a.umax);
                } else {
                    r.umax = a.umax.max(b.umax.saturating_sub(1));
                }
            }
            AluOp::SDiv | AluOp::SMod => {}
        }
        r.sync();
        if r.is_empty() { Scalar::UNKNOWN } else { r }
    }

    /// The result of `self op src` in `width` bits (32-bit results are
    /// zero-extended).
    pub fn alu(self, width: Width, op: AluOp, b: Scalar) -> Scalar {
        match width {
            Width::W64 => self.alu64(op, b),
            Width::W32 => {
                if let (Some(x), Some(y)) = (self.as_const32(), b.as_const32()) {
                    return Scalar::constant(alu::alu(Width::W32, op, x as u64, y as u64));
                }
                match op {
                    AluOp::Mov => return b.zext32(),
                    AluOp::Arsh => {
                        let Some(s) = b.as_const32() else { return Scalar::UNKNOWN.zext32() };
                        let s = s & 31;
                        let mut r = Scalar::UNKNOWN;
                        r.var_off = self.var_off.subreg().arshift(s, 32);
                        (r.s32min, r.s32max) = (self.s32min >> s, self.s32max >> s);
                        r.sync();
                        return r.zext32();
                    }
                    AluOp::SDiv | AluOp::SMod => return Scalar::UNKNOWN.zext32(),
                    _ => {}
                }
                // The operation on the zero-extended halves, truncated: the
                // low 32 bits of the result depend only on the low halves
                // (shifts take the amount modulo 32).
                let (a, mut bb) = (self.zext32(), b.zext32());
                if matches!(op, AluOp::Lsh | AluOp::Rsh) {
                    match bb.as_const() {
                        Some(s) => bb = Scalar::constant(s & 31),
                        None => return Scalar::UNKNOWN.zext32(),
                    }
                }
                let r = a.alu64(op, bb);
                let mut t = Scalar { var_off: r.var_off.subreg(), ..Scalar::UNKNOWN };
                if r.umax <= u32::MAX as u64 {
                    (t.u32min, t.u32max) = (r.umin as u32, r.umax as u32);
                }
                t.sync();
                t.zext32()
            }
        }
    }

    /// `-self` in `width` bits.
    pub fn neg(self, width: Width) -> Scalar {
        match (width, self.as_const(), self.as_const32()) {
            (Width::W64, Some(v), _) => Scalar::constant(alu::neg(width, v)),
            (Width::W32, _, Some(v)) => Scalar::constant(alu::neg(width, v as u64)),
            (Width::W64, ..) => {
                let mut r = Scalar { var_off: self.var_off.neg(), ..Scalar::UNKNOWN };
                r.sync();
                r
            }
            (Width::W32, ..) => {
                let mut r =
                    Scalar { var_off: self.var_off.subreg().neg().subreg(), ..Scalar::UNKNOWN };
                r.sync();
                r.zext32()
            }
        }
    }
}
