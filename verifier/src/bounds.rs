//! Scalar tracking: a [`Tnum`] plus signed and unsigned bounds at 64 and 32
//! bits, kept consistent by one fixed recipe ([`Scalar::sync`]) after every
//! change. Arithmetic transfer functions and branch refinement are sound:
//! every concrete value a register may hold stays inside its `Scalar`.

use crate::tnum::Tnum;
use axiom_abi::alu;
use axiom_abi::instruction::{AluOp, Cond, Width};

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
            return Scalar::constant(alu::sign_extend(bits as u8, v));
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

impl Scalar {
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

#[cfg(test)]
mod tests {
    use super::*;
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
        let conds = [
            Cond::Eq,
            Cond::Ne,
            Cond::Gt,
            Cond::Ge,
            Cond::Lt,
            Cond::Le,
            Cond::Sgt,
            Cond::Sge,
            Cond::Slt,
            Cond::Sle,
            Cond::Set,
        ];
        let s = samples();
        for width in [Width::W64, Width::W32] {
            for cond in conds {
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
