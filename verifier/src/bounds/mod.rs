//! Scalar tracking: a [`Tnum`] plus signed and unsigned bounds at 64 and 32
//! bits, kept consistent by one fixed recipe ([`Scalar::sync`]) after every
//! change. Arithmetic transfer functions and branch refinement are sound:
//! every concrete value a register may hold stays inside its `Scalar`.
//!
//! This file holds the [`Scalar`] and its recipe; `arith` its arithmetic
//! (concrete values folded by [`axiom_abi::alu`]), `branch` what a
//! conditional jump decides and teaches each branch.

mod arith;
mod branch;

pub use branch::{branch_taken, refine};

use crate::tnum::Tnum;
use axiom_abi::alu::sign_extend;

/// What is known about a scalar value.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Scalar {
    /// Known bits.
    pub var_off: Tnum,
    /// Signed 64-bit minimum.
    pub smin: i64,
    /// Signed 64-bit maximum.
    pub smax: i64,
    /// Unsigned 64-bit minimum.
    pub umin: u64,
    /// Unsigned 64-bit maximum.
    pub umax: u64,
    /// Signed minimum of the low 32 bits.
    pub s32min: i32,
    /// Signed maximum of the low 32 bits.
    pub s32max: i32,
    /// Unsigned minimum of the low 32 bits.
    pub u32min: u32,
    /// Unsigned maximum of the low 32 bits.
    pub u32max: u32,
}

impl Scalar {
    /// Any value.
    pub const UNKNOWN: Scalar = Scalar {
        var_off: Tnum::UNKNOWN,
        smin: i64::MIN,
        smax: i64::MAX,
        umin: 0,
        umax: u64::MAX,
        s32min: i32::MIN,
        s32max: i32::MAX,
        u32min: 0,
        u32max: u32::MAX,
    };

    /// Exactly `v`.
    pub const fn constant(v: u64) -> Scalar {
        Scalar {
            var_off: Tnum::constant(v),
            smin: v as i64,
            smax: v as i64,
            umin: v,
            umax: v,
            s32min: v as i32,
            s32max: v as i32,
            u32min: v as u32,
            u32max: v as u32,
        }
    }

    /// The value, if known.
    pub fn as_const(&self) -> Option<u64> {
        self.var_off.is_const().then_some(self.var_off.value)
    }

    /// The low 32 bits, if known.
    pub fn as_const32(&self) -> Option<u32> {
        self.var_off.subreg().is_const().then_some(self.var_off.value as u32)
    }

    /// Whether `v` is a possible value.
    pub fn contains(&self, v: u64) -> bool {
        self.var_off.contains(v)
            && (self.smin..=self.smax).contains(&(v as i64))
            && (self.umin..=self.umax).contains(&v)
            && (self.s32min..=self.s32max).contains(&(v as i32))
            && (self.u32min..=self.u32max).contains(&(v as u32))
    }

    /// Whether every value of `other` is a value of `self`.
    pub fn includes(&self, other: &Scalar) -> bool {
        self.var_off.includes(other.var_off)
            && self.smin <= other.smin
            && self.smax >= other.smax
            && self.umin <= other.umin
            && self.umax >= other.umax
            && self.s32min <= other.s32min
            && self.s32max >= other.s32max
            && self.u32min <= other.u32min
            && self.u32max >= other.u32max
    }

    /// Whether no value satisfies all the facts (a dead branch).
    pub fn is_empty(&self) -> bool {
        self.smin > self.smax
            || self.umin > self.umax
            || self.s32min > self.s32max
            || self.u32min > self.u32max
    }

    /// A value whose low 32 bits are `self`'s, zero-extended.
    pub fn zext32(&self) -> Scalar {
        let mut s = Scalar {
            var_off: self.var_off.subreg(),
            smin: self.u32min as i64,
            smax: self.u32max as i64,
            umin: self.u32min as u64,
            umax: self.u32max as u64,
            ..*self
        };
        s.sync();
        s
    }

    /// For 32-bit comparisons: a 64-bit scalar whose unsigned bounds are
    /// the low half's unsigned bounds and whose signed bounds are the low
    /// half's signed bounds.
    fn zext32_signed_view(&self) -> Scalar {
        Scalar {
            var_off: self.var_off.subreg(),
            smin: self.s32min as i64,
            smax: self.s32max as i64,
            umin: self.u32min as u64,
            umax: self.u32max as u64,
            ..*self
        }
    }

    /// A value whose 64-bit bounds are `self`'s signed 32-bit bounds,
    /// sign-extended (for `movsx` and sign-extending loads).
    pub fn sext(bits: u32, src: &Scalar) -> Scalar {
        let (lo, hi) = match bits {
            8 => (i8::MIN as i64, i8::MAX as i64),
            16 => (i16::MIN as i64, i16::MAX as i64),
            _ => (i32::MIN as i64, i32::MAX as i64),
        };
        // Unchanged when the value already lies in the narrow signed range
        // (it then equals its own sign extension); exact when known; else
        // the full range.
        if src.smin >= lo && src.smax <= hi {
            return *src;
        }
        if let Some(v) = src.as_const() {
            return Scalar::constant(sign_extend(bits as u8, v));
        }
        Scalar::signed_range(lo, hi)
    }

    /// Any value with the known bits of `t`.
    pub fn from_tnum(t: Tnum) -> Scalar {
        let mut s = Scalar { var_off: t, ..Scalar::UNKNOWN };
        s.sync();
        s
    }

    /// Any value in `lo..=hi` (signed).
    pub fn signed_range(lo: i64, hi: i64) -> Scalar {
        let mut s = Scalar { smin: lo, smax: hi, ..Scalar::UNKNOWN };
        s.sync();
        s
    }

    /// Any value in `lo..=hi` (unsigned).
    pub fn unsigned_range(lo: u64, hi: u64) -> Scalar {
        let mut s = Scalar { umin: lo, umax: hi, ..Scalar::UNKNOWN };
        s.sync();
        s
    }

    /// Narrows bounds from the known bits.
    fn update_from_tnum(&mut self) {
        let t = self.var_off;
        self.s32min = self.s32min.max((t.value | (t.mask & 0x8000_0000)) as u32 as i32);
        self.s32max = self.s32max.min((t.value | (t.mask & 0x7fff_ffff)) as u32 as i32);
        self.u32min = self.u32min.max(t.value as u32);
        self.u32max = self.u32max.min((t.value | t.mask) as u32);
        self.smin = self.smin.max((t.value | (t.mask & (1 << 63))) as i64);
        self.smax = self.smax.min((t.value | (t.mask & !(1 << 63))) as i64);
        self.umin = self.umin.max(t.value);
        self.umax = self.umax.min(t.value | t.mask);
    }

    /// Signed and unsigned bounds teach each other where the range does not
    /// cross the sign boundary, and 64-bit bounds teach 32-bit ones where
    /// the high halves agree.
    fn deduce(&mut self) {
        // 32 from 64.
        if self.umin >> 32 == self.umax >> 32 {
            self.u32min = self.u32min.max(self.umin as u32);
            self.u32max = self.u32max.min(self.umax as u32);
            if (self.umin as i32) <= (self.umax as i32) {
                self.s32min = self.s32min.max(self.umin as i32);
                self.s32max = self.s32max.min(self.umax as i32);
            }
        }
        if self.smin >> 32 == self.smax >> 32 {
            if (self.smin as u32) <= (self.smax as u32) {
                self.u32min = self.u32min.max(self.smin as u32);
                self.u32max = self.u32max.min(self.smax as u32);
            }
            if (self.smin as i32) <= (self.smax as i32) {
                self.s32min = self.s32min.max(self.smin as i32);
                self.s32max = self.s32max.min(self.smax as i32);
            }
        }
        // 32-bit signed and unsigned.
        if (self.u32min as i32) <= (self.u32max as i32) {
            self.s32min = self.s32min.max(self.u32min as i32);
            self.s32max = self.s32max.min(self.u32max as i32);
        }
        if (self.s32min as u32) <= (self.s32max as u32) {
            self.u32min = self.u32min.max(self.s32min as u32);
            self.u32max = self.u32max.min(self.s32max as u32);
        }
        // 64-bit signed and unsigned.
        if (self.umin as i64) <= (self.umax as i64) {
            self.smin = self.smin.max(self.umin as i64);
            self.smax = self.smax.min(self.umax as i64);
        }
        if (self.smin as u64) <= (self.smax as u64) {
            self.umin = self.umin.max(self.smin as u64);
            self.umax = self.umax.min(self.smax as u64);
        }
        // 64 from 32 when the high half is known.
        let high = self.var_off.rshift(32);
        if high.is_const() {
            let h = high.value << 32;
            let umin = h | self.u32min as u64;
            let umax = h | self.u32max as u64;
            self.umin = self.umin.max(umin);
            self.umax = self.umax.min(umax);
            if (umin as i64) <= (umax as i64) {
                self.smin = self.smin.max(umin as i64);
                self.smax = self.smax.min(umax as i64);
            }
        }
    }

    /// Narrows the known bits from the bounds.
    fn bound_offset(&mut self) {
        let t64 = self.var_off.intersect(Tnum::range(self.umin, self.umax));
        let t32 = t64.subreg().intersect(Tnum::range(self.u32min as u64, self.u32max as u64));
        self.var_off = t64.with_subreg(t32);
    }

    /// Makes every fact consistent with the others (Linux's
    /// `reg_bounds_sync` recipe). An empty result means a dead path.
    pub fn sync(&mut self) {
        if self.is_empty() {
            return;
        }
        self.update_from_tnum();
        self.deduce();
        self.deduce();
        self.deduce();
        if self.is_empty() {
            return;
        }
        self.bound_offset();
        self.update_from_tnum();
        if self.is_empty() {
            return;
        }
        // A fully known value: make every bound exact.
        if let Some(v) = self.as_const()
            && self.contains(v)
        {
            *self = Scalar::constant(v);
        }
    }
}

/// Soundness against concrete values: every operation and refinement
/// keeps every value that can occur.
#[cfg(test)]
mod tests {
    use super::*;
    use axiom_abi::alu;
    use axiom_abi::instruction::{AluOp, Cond, Width};

    /// Small scalars: ranges over a handful of values, as sets.
    fn samples() -> std::vec::Vec<(Scalar, std::vec::Vec<u64>)> {
        let points: [u64; 12] = [
            0,
            1,
            2,
            3,
            7,
            8,
            0x7fff_ffff,
            0x8000_0000,
            0xffff_ffff,
            1 << 32,
            i64::MAX as u64,
            u64::MAX,
        ];
        let mut out = std::vec::Vec::new();
        for i in 0..points.len() {
            for j in i..points.len() {
                let (lo, hi) = (points[i], points[j]);
                let s = Scalar::unsigned_range(lo, hi);
                let members: std::vec::Vec<u64> =
                    points.iter().copied().filter(|v| (lo..=hi).contains(v)).collect();
                out.push((s, members));
            }
            out.push((Scalar::constant(points[i]), std::vec![points[i]]));
            out.push((
                Scalar::constant((points[i] as i64).wrapping_neg() as u64),
                std::vec![(points[i] as i64).wrapping_neg() as u64],
            ));
        }
        out.push((Scalar::signed_range(-5, 5), std::vec![(-5i64) as u64, (-1i64) as u64, 0, 3, 5]));
        out
    }

    #[test]
    fn ranges_hold_their_members() {
        for (s, m) in samples() {
            for v in m {
                assert!(s.contains(v), "{s:?} misses {v:#x}");
            }
        }
    }

    #[test]
    fn alu_is_sound() {
        let s = samples();
        for width in [Width::W64, Width::W32] {
            for op in AluOp::ALL {
                for (a, am) in &s {
                    for (b, bm) in &s {
                        let r = a.alu(width, op, *b);
                        for &x in am {
                            for &y in bm {
                                let v = alu::alu(width, op, x, y);
                                assert!(
                                    r.contains(v),
                                    "{width:?} {op:?}: {a:?} {b:?} -> {r:?} misses {x:#x} op {y:#x} = {v:#x}"
                                );
                            }
                        }
                    }
                }
            }
            for (a, am) in &s {
                let r = a.neg(width);
                for &x in am {
                    let v = alu::neg(width, x);
                    assert!(r.contains(v));
                }
            }
        }
    }

    #[test]
    fn refinement_keeps_every_satisfying_pair() {
        let s = samples();
        for width in [Width::W64, Width::W32] {
            for cond in Cond::ALL {
                for (a, am) in &s {
                    for (b, bm) in &s {
                        let decided = branch_taken(width, cond, a, b);
                        for taken in [true, false] {
                            let (mut ra, mut rb) = (*a, *b);
                            refine(width, cond, taken, &mut ra, &mut rb);
                            for &x in am {
                                for &y in bm {
                                    let holds = match width {
                                        Width::W64 => cond.eval64(x, y),
                                        Width::W32 => cond.eval32(x, y),
                                    };
                                    if holds == taken {
                                        assert!(
                                            ra.contains(x) && rb.contains(y),
                                            "{width:?} {cond:?} {taken}: {a:?} {b:?} lost {x:#x},{y:#x}: {ra:?} {rb:?}"
                                        );
                                        if let Some(d) = decided {
                                            assert_eq!(
                                                d, taken,
                                                "{width:?} {cond:?} decided wrongly for {x:#x},{y:#x}"
                                            );
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn constants_stay_exact() {
        let a = Scalar::constant(40);
        let b = Scalar::constant(2);
        assert_eq!(a.alu(Width::W64, AluOp::Add, b).as_const(), Some(42));
        assert_eq!(Scalar::constant(u64::MAX).alu(Width::W32, AluOp::Add, b).as_const(), Some(1));
        let r = Scalar::unsigned_range(0, 100).alu(Width::W64, AluOp::And, Scalar::constant(7));
        assert_eq!((r.umin, r.umax), (0, 7));
        let mut x = Scalar::UNKNOWN;
        let mut c = Scalar::constant(10);
        refine(Width::W64, Cond::Lt, true, &mut x, &mut c);
        assert_eq!((x.umin, x.umax), (0, 9));
    }
}
