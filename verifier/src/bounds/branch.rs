//! Conditional jumps on scalars: whether a comparison is decided by what
//! the operands may be ([`branch_taken`]), and what each branch learns
//! about them ([`refine`]), at 64 and 32 bits.

use super::Scalar;
use crate::tnum::Tnum;
use axiom_abi::instruction::{Cond, Width};

/// Whether a conditional jump is taken for every value (`Some(true)`), for
/// none (`Some(false)`), or depends (`None`).
pub fn branch_taken(width: Width, cond: Cond, a: &Scalar, b: &Scalar) -> Option<bool> {
    let (a, b) = match width {
        Width::W64 => (*a, *b),
        Width::W32 => (a.zext32_signed_view(), b.zext32_signed_view()),
    };
    if let (Some(x), Some(y)) = (a.as_const(), b.as_const()) {
        return Some(match width {
            Width::W64 => cond.eval64(x, y),
            Width::W32 => cond.eval32(x, y),
        });
    }
    let (au, bu) = ((a.umin, a.umax), (b.umin, b.umax));
    let (as_, bs) = ((a.smin, a.smax), (b.smin, b.smax));
    match cond {
        Cond::Eq | Cond::Ne => {
            let disjoint = au.1 < bu.0
                || bu.1 < au.0
                || as_.1 < bs.0
                || bs.1 < as_.0
                || !a.var_off.overlaps(b.var_off);
            if disjoint {
                return Some(cond == Cond::Ne);
            }
            None
        }
        Cond::Gt => decide(au.0 > bu.1, au.1 <= bu.0),
        Cond::Ge => decide(au.0 >= bu.1, au.1 < bu.0),
        Cond::Lt => decide(au.1 < bu.0, au.0 >= bu.1),
        Cond::Le => decide(au.1 <= bu.0, au.0 > bu.1),
        Cond::Sgt => decide(as_.0 > bs.1, as_.1 <= bs.0),
        Cond::Sge => decide(as_.0 >= bs.1, as_.1 < bs.0),
        Cond::Slt => decide(as_.1 < bs.0, as_.0 >= bs.1),
        Cond::Sle => decide(as_.1 <= bs.0, as_.0 > bs.1),
        Cond::Set => {
            if let Some(c) = b.as_const() {
                if a.var_off.value & c != 0 {
                    return Some(true);
                }
                if (a.var_off.value | a.var_off.mask) & c == 0 {
                    return Some(false);
                }
            }
            None
        }
    }
}

fn decide(always: bool, never: bool) -> Option<bool> {
    if always {
        Some(true)
    } else if never {
        Some(false)
    } else {
        None
    }
}

/// Refines `a` and `b` for the branch where `a cond b` is `taken`. A result
/// with [`Scalar::is_empty`] means that branch cannot happen.
pub fn refine(width: Width, cond: Cond, taken: bool, a: &mut Scalar, b: &mut Scalar) {
    // The false branch of a condition is the true branch of its opposite.
    let cond = if taken {
        cond
    } else {
        match cond {
            Cond::Eq => Cond::Ne,
            Cond::Ne => Cond::Eq,
            Cond::Gt => Cond::Le,
            Cond::Ge => Cond::Lt,
            Cond::Lt => Cond::Ge,
            Cond::Le => Cond::Gt,
            Cond::Sgt => Cond::Sle,
            Cond::Sge => Cond::Slt,
            Cond::Slt => Cond::Sge,
            Cond::Sle => Cond::Sgt,
            Cond::Set => {
                // a & b == 0: a's bits known in b are zero.
                if let Some(c) = b.as_const() {
                    let c = if width == Width::W32 { c & 0xffff_ffff } else { c };
                    a.var_off = Tnum { value: a.var_off.value & !c, mask: a.var_off.mask & !c };
                    a.sync();
                }
                return;
            }
        }
    };
    match width {
        Width::W64 => refine64(cond, a, b),
        Width::W32 => refine32(cond, a, b),
    }
    a.sync();
    b.sync();
}

/// `x != c`: a bound equal to `c` moves past it; a constant `c` is empty.
/// (A bound at the type's edge cannot equal `c` and move out of range
/// without the range being `c` alone, which is the empty case.)
fn mark_empty(x: &mut Scalar) {
    x.umin = 1;
    x.umax = 0;
}

fn ne_edges64(x: &mut Scalar, c: u64) {
    if x.as_const() == Some(c) {
        x.umin = 1;
        x.umax = 0;
        return;
    }
    if x.umin == c {
        match x.umin.checked_add(1) {
            Some(v) => x.umin = v,
            None => {
                mark_empty(x);
                return;
            }
        }
    }
    if x.umax == c {
        match x.umax.checked_sub(1) {
            Some(v) => x.umax = v,
            None => {
                mark_empty(x);
                return;
            }
        }
    }
    if x.smin == c as i64 {
        match x.smin.checked_add(1) {
            Some(v) => x.smin = v,
            None => {
                mark_empty(x);
                return;
            }
        }
    }
    if x.smax == c as i64 {
        match x.smax.checked_sub(1) {
            Some(v) => x.smax = v,
            None => {
                mark_empty(x);
            }
        }
    }
}

fn ne_edges32(x: &mut Scalar, c: u32) {
    if x.as_const32() == Some(c) {
        x.u32min = 1;
        x.u32max = 0;
        return;
    }
    if x.u32min == c {
        match x.u32min.checked_add(1) {
            Some(v) => x.u32min = v,
            None => {
                mark_empty(x);
                return;
            }
        }
    }
    if x.u32max == c {
        match x.u32max.checked_sub(1) {
            Some(v) => x.u32max = v,
            None => {
                mark_empty(x);
                return;
            }
        }
    }
    if x.s32min == c as i32 {
        match x.s32min.checked_add(1) {
            Some(v) => x.s32min = v,
            None => {
                mark_empty(x);
                return;
            }
        }
    }
    if x.s32max == c as i32 {
        match x.s32max.checked_sub(1) {
            Some(v) => x.s32max = v,
            None => {
                mark_empty(x);
            }
        }
    }
}

fn refine64(cond: Cond, a: &mut Scalar, b: &mut Scalar) {
    match cond {
        Cond::Eq => {
            let umin = a.umin.max(b.umin);
            let umax = a.umax.min(b.umax);
            let smin = a.smin.max(b.smin);
            let smax = a.smax.min(b.smax);
            if a.var_off.overlaps(b.var_off) {
                let t = a.var_off.intersect(b.var_off);
                a.var_off = t;
                b.var_off = t;
            } else {
                a.umin = 1;
                a.umax = 0;
            }
            for s in [&mut *a, &mut *b] {
                (s.umin, s.umax, s.smin, s.smax) = (umin, umax, smin, smax);
            }
        }
        Cond::Ne => {
            // Only a constant on one side narrows the other's edges.
            let (ca, cb) = (a.as_const(), b.as_const());
            if let Some(c) = cb {
                ne_edges64(a, c);
            }
            if let Some(c) = ca {
                ne_edges64(b, c);
            }
        }
        Cond::Gt | Cond::Ge | Cond::Lt | Cond::Le => {
            // Normalise to lo < hi or lo <= hi.
            let (lo, hi, strict) = match cond {
                Cond::Gt => (b, a, true),
                Cond::Ge => (b, a, false),
                Cond::Lt => (a, b, true),
                _ => (a, b, false),
            };
            let d = strict as u64;
            match hi.umax.checked_sub(d) {
                Some(m) => lo.umax = lo.umax.min(m),
                None => lo.umin = lo.umax.wrapping_add(1), // impossible
            }
            match lo.umin.checked_add(d) {
                Some(m) => hi.umin = hi.umin.max(m),
                None => hi.umax = 0, // impossible
            }
        }
        Cond::Sgt | Cond::Sge | Cond::Slt | Cond::Sle => {
            let (lo, hi, strict) = match cond {
                Cond::Sgt => (b, a, true),
                Cond::Sge => (b, a, false),
                Cond::Slt => (a, b, true),
                _ => (a, b, false),
            };
            let d = strict as i64;
            match hi.smax.checked_sub(d) {
                Some(m) => lo.smax = lo.smax.min(m),
                None => {
                    lo.smin = 1;
                    lo.smax = 0;
                }
            }
            match lo.smin.checked_add(d) {
                Some(m) => hi.smin = hi.smin.max(m),
                None => {
                    hi.smin = 1;
                    hi.smax = 0;
                }
            }
        }
        Cond::Set => {}
    }
}

fn refine32(cond: Cond, a: &mut Scalar, b: &mut Scalar) {
    match cond {
        Cond::Eq => {
            let umin = a.u32min.max(b.u32min);
            let umax = a.u32max.min(b.u32max);
            let smin = a.s32min.max(b.s32min);
            let smax = a.s32max.min(b.s32max);
            let (ta, tb) = (a.var_off.subreg(), b.var_off.subreg());
            if ta.overlaps(tb) {
                let t = ta.intersect(tb);
                a.var_off = a.var_off.with_subreg(t);
                b.var_off = b.var_off.with_subreg(t);
            } else {
                a.u32min = 1;
                a.u32max = 0;
            }
            for s in [&mut *a, &mut *b] {
                (s.u32min, s.u32max, s.s32min, s.s32max) = (umin, umax, smin, smax);
            }
        }
        Cond::Ne => {
            let (ca, cb) = (a.as_const32(), b.as_const32());
            if let Some(c) = cb {
                ne_edges32(a, c);
            }
            if let Some(c) = ca {
                ne_edges32(b, c);
            }
        }
        Cond::Gt | Cond::Ge | Cond::Lt | Cond::Le => {
            let (lo, hi, strict) = match cond {
                Cond::Gt => (b, a, true),
                Cond::Ge => (b, a, false),
                Cond::Lt => (a, b, true),
                _ => (a, b, false),
            };
            let d = strict as u32;
            match hi.u32max.checked_sub(d) {
                Some(m) => lo.u32max = lo.u32max.min(m),
                None => lo.u32min = lo.u32max.wrapping_add(1),
            }
            match lo.u32min.checked_add(d) {
                Some(m) => hi.u32min = hi.u32min.max(m),
                None => hi.u32max = 0,
            }
        }
        Cond::Sgt | Cond::Sge | Cond::Slt | Cond::Sle => {
            let (lo, hi, strict) = match cond {
                Cond::Sgt => (b, a, true),
                Cond::Sge => (b, a, false),
                Cond::Slt => (a, b, true),
                _ => (a, b, false),
            };
            let d = strict as i32;
            match hi.s32max.checked_sub(d) {
                Some(m) => lo.s32max = lo.s32max.min(m),
                None => {
                    lo.s32min = 1;
                    lo.s32max = 0;
                }
            }
            match lo.s32min.checked_add(d) {
                Some(m) => hi.s32min = hi.s32min.max(m),
                None => {
                    hi.s32min = 1;
                    hi.s32max = 0;
                }
            }
        }
        Cond::Set => {}
    }
}
