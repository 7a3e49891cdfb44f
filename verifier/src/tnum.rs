//! Tracked numbers ("tnums"): a 64-bit value of which some bits are known.
//!
//! `mask` has a 1 for every unknown bit; `value` holds the known bits and
//! is 0 wherever `mask` is 1. Every operation is sound: if `x` is in `a`
//! and `y` in `b`, then `x op y` is in `a.op(b)`. The algebra is Linux's
//! (`kernel/bpf/tnum.c`, after Edward Cree and the tnum-multiplication
//! paper of Vishwanathan et al.); the tests check soundness exhaustively on
//! small widths.

use core::fmt;

/// A partially known 64-bit value.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tnum {
    /// Known bits (0 where unknown).
    pub value: u64,
    /// Unknown bits.
    pub mask: u64,
}

impl fmt::Debug for Tnum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({:#x}; {:#x})", self.value, self.mask)
    }
}

impl Tnum {
    /// Nothing known.
    pub const UNKNOWN: Tnum = Tnum { value: 0, mask: u64::MAX };

    /// Exactly `v`.
    pub const fn constant(v: u64) -> Tnum {
        Tnum { value: v, mask: 0 }
    }

    /// The smallest tnum holding every value in `min..=max`.
    pub fn range(min: u64, max: u64) -> Tnum {
        let chi = min ^ max;
        let bits = 64 - chi.leading_zeros();
        if bits > 63 {
            return Tnum::UNKNOWN;
        }
        let delta = (1u64 << bits) - 1;
        Tnum { value: min & !delta, mask: delta }
    }

    /// Whether every bit is known.
    pub const fn is_const(self) -> bool {
        self.mask == 0
    }

    /// Whether `x` is one of the values.
    pub const fn contains(self, x: u64) -> bool {
        x & !self.mask == self.value
    }

    /// Whether every value of `b` is a value of `self`.
    pub const fn includes(self, b: Tnum) -> bool {
        if b.mask & !self.mask != 0 {
            return false;
        }
        b.value & !self.mask == self.value
    }

    /// The smallest value.
    pub const fn min(self) -> u64 {
        self.value
    }

    /// The largest value.
    pub const fn max(self) -> u64 {
        self.value | self.mask
    }

    /// Left shift by a known amount.
    pub const fn lshift(self, s: u32) -> Tnum {
        Tnum { value: self.value << s, mask: self.mask << s }
    }

    /// Logical right shift by a known amount.
    pub const fn rshift(self, s: u32) -> Tnum {
        Tnum { value: self.value >> s, mask: self.mask >> s }
    }

    /// Arithmetic right shift by a known amount, on 32 or 64 bits.
    pub const fn arshift(self, s: u32, bits: u32) -> Tnum {
        if bits == 32 {
            Tnum {
                value: ((self.value as u32 as i32) >> s) as u32 as u64,
                mask: ((self.mask as u32 as i32) >> s) as u32 as u64,
            }
        } else {
            Tnum {
                value: ((self.value as i64) >> s) as u64,
                mask: ((self.mask as i64) >> s) as u64,
            }
        }
    }

    /// Addition.
    pub const fn add(self, b: Tnum) -> Tnum {
        let sm = self.mask.wrapping_add(b.mask);
        let sv = self.value.wrapping_add(b.value);
        let sigma = sm.wrapping_add(sv);
        let chi = sigma ^ sv;
        let mu = chi | self.mask | b.mask;
        Tnum { value: sv & !mu, mask: mu }
    }

    /// Subtraction.
    pub const fn sub(self, b: Tnum) -> Tnum {
        let dv = self.value.wrapping_sub(b.value);
        let alpha = dv.wrapping_add(self.mask);
        let beta = dv.wrapping_sub(b.mask);
        let chi = alpha ^ beta;
        let mu = chi | self.mask | b.mask;
        Tnum { value: dv & !mu, mask: mu }
    }

    /// Negation.
    pub const fn neg(self) -> Tnum {
        Tnum::constant(0).sub(self)
    }

    /// Bitwise and.
    pub const fn and(self, b: Tnum) -> Tnum {
        let alpha = self.value | self.mask;
        let beta = b.value | b.mask;
        let v = self.value & b.value;
        Tnum { value: v, mask: alpha & beta & !v }
    }

    /// Bitwise or.
    pub const fn or(self, b: Tnum) -> Tnum {
        let v = self.value | b.value;
        let mu = self.mask | b.mask;
        Tnum { value: v, mask: mu & !v }
    }

    /// Bitwise exclusive or.
    pub const fn xor(self, b: Tnum) -> Tnum {
        let v = self.value ^ b.value;
        let mu = self.mask | b.mask;
        Tnum { value: v & !mu, mask: mu }
    }

    /// Multiplication: the known product of the known parts, plus the
    /// partial products each unknown bit may add.
    pub const fn mul(self, b: Tnum) -> Tnum {
        let acc_v = self.value.wrapping_mul(b.value);
        let mut acc_m = Tnum::constant(0);
        let (mut a, mut b) = (self, b);
        while a.value != 0 || a.mask != 0 {
            if a.value & 1 != 0 {
                acc_m = acc_m.add(Tnum { value: 0, mask: b.mask });
            } else if a.mask & 1 != 0 {
                acc_m = acc_m.add(Tnum { value: 0, mask: b.value | b.mask });
            }
            a = a.rshift(1);
            b = b.lshift(1);
        }
        Tnum::constant(acc_v).add(acc_m)
    }

    /// The values in both (assumes they intersect).
    pub const fn intersect(self, b: Tnum) -> Tnum {
        let v = self.value | b.value;
        let mu = self.mask & b.mask;
        Tnum { value: v & !mu, mask: mu }
    }

    /// The low `bytes` bytes, zero-extended.
    pub const fn cast(self, bytes: u32) -> Tnum {
        let m = if bytes >= 8 { u64::MAX } else { (1u64 << (bytes * 8)) - 1 };
        Tnum { value: self.value & m, mask: self.mask & m }
    }

    /// The low `bits` bits (16, 32 or 64) with their bytes reversed,
    /// zero-extended: what `be16/32/64` and `bswap` compute.
    pub const fn bswap(self, bits: u32) -> Tnum {
        let t = self.cast(bits / 8);
        let shift = 64 - bits;
        Tnum { value: t.value.swap_bytes() >> shift, mask: t.mask.swap_bytes() >> shift }
    }

    /// The low 32 bits, zero-extended.
    pub const fn subreg(self) -> Tnum {
        self.cast(4)
    }

    /// The high 32 bits kept, the low 32 set to the known `low`.
    pub const fn with_subreg(self, low: Tnum) -> Tnum {
        let high = Tnum { value: self.value & !0xffff_ffff, mask: self.mask & !0xffff_ffff };
        high.or(low.cast(4))
    }

    /// Whether all values are multiples of `size` (a power of two).
    pub const fn is_aligned(self, size: u64) -> bool {
        if size == 0 {
            return true;
        }
        (self.value | self.mask) & (size - 1) == 0
    }

    /// Whether `self` and `b` share a value.
    pub const fn overlaps(self, b: Tnum) -> bool {
        let known_both = !self.mask & !b.mask;
        (self.value ^ b.value) & known_both == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: u32 = 5;

    /// Every tnum over the low `W` bits (each bit 0, 1 or unknown).
    fn all() -> impl Iterator<Item = Tnum> {
        (0..3u32.pow(W)).map(|mut n| {
            let (mut value, mut mask) = (0, 0);
            for bit in 0..W {
                match n % 3 {
                    1 => value |= 1 << bit,
                    2 => mask |= 1 << bit,
                    _ => {}
                }
                n /= 3;
            }
            Tnum { value, mask }
        })
    }

    pub(super) fn count_all() -> usize {
        all().count()
    }

    fn members(t: Tnum) -> impl Iterator<Item = u64> {
        (0..1u64 << W).filter(move |&x| t.contains(x))
    }

    fn check_binary(name: &str, abstract_op: fn(Tnum, Tnum) -> Tnum, op: fn(u64, u64) -> u64) {
        for a in all() {
            for b in all() {
                let r = abstract_op(a, b);
                assert_eq!(r.value & r.mask, 0, "{name}: malformed {r:?}");
                for x in members(a) {
                    for y in members(b) {
                        assert!(
                            r.contains(op(x, y)),
                            "{name}({a:?}, {b:?}) = {r:?} misses {x} {name} {y}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn add_sub_are_sound() {
        check_binary("add", Tnum::add, u64::wrapping_add);
        check_binary("sub", Tnum::sub, u64::wrapping_sub);
    }

    #[test]
    fn bitwise_ops_are_sound() {
        check_binary("and", Tnum::and, |x, y| x & y);
        check_binary("or", Tnum::or, |x, y| x | y);
        check_binary("xor", Tnum::xor, |x, y| x ^ y);
    }

    #[test]
    fn mul_is_sound() {
        check_binary("mul", Tnum::mul, u64::wrapping_mul);
    }

    #[test]
    fn bitwise_ops_are_exact_on_constants() {
        for a in all().filter(|t| t.is_const()) {
            for b in all().filter(|t| t.is_const()) {
                assert_eq!(a.and(b), Tnum::constant(a.value & b.value));
                assert_eq!(a.add(b), Tnum::constant(a.value + b.value));
                assert_eq!(a.mul(b), Tnum::constant(a.value * b.value));
            }
        }
    }

    #[test]
    fn shifts_and_casts_are_sound() {
        for a in all() {
            for s in 0..W + 2 {
                let (l, r, ar32, ar64) =
                    (a.lshift(s), a.rshift(s), a.arshift(s, 32), a.arshift(s, 64));
                for x in members(a) {
                    assert!(l.contains(x << s));
                    assert!(r.contains(x >> s));
                    assert!(ar32.contains(((x as u32 as i32) >> s) as u32 as u64));
                    assert!(ar64.contains(((x as i64) >> s) as u64));
                }
            }
            let neg = a.neg();
            for x in members(a) {
                assert!(neg.contains(x.wrapping_neg()));
                assert!(a.cast(0).contains(0));
            }
            // Byte swaps, with the small tnum moved into each byte lane.
            for lane in [0, 8, 24, 56] {
                let t = a.lshift(lane);
                let (s16, s32, s64) = (t.bswap(16), t.bswap(32), t.bswap(64));
                for x in members(a).map(|x| x << lane) {
                    assert!(s16.contains((x as u16).swap_bytes() as u64), "{t:?} {x:#x}");
                    assert!(s32.contains((x as u32).swap_bytes() as u64));
                    assert!(s64.contains(x.swap_bytes()));
                }
            }
        }
    }

    #[test]
    fn range_contains_its_interval_and_intersect_keeps_common_values() {
        for lo in 0..1u64 << W {
            for hi in lo..1u64 << W {
                let t = Tnum::range(lo, hi);
                assert!((lo..=hi).all(|x| t.contains(x)), "range({lo}, {hi}) = {t:?}");
            }
        }
        for a in all() {
            for b in all() {
                let both: std::vec::Vec<u64> = members(a).filter(|&x| b.contains(x)).collect();
                assert_eq!(a.overlaps(b), !both.is_empty());
                if !both.is_empty() {
                    let i = a.intersect(b);
                    assert!(both.iter().all(|&x| i.contains(x)));
                }
                // includes: b's members are all in a.
                assert_eq!(a.includes(b), members(b).all(|x| a.contains(x)));
            }
        }
    }
}

#[cfg(test)]
mod coverage {
    #[test]
    fn the_exhaustive_tests_enumerate_every_tnum() {
        assert_eq!(super::tests::count_all(), 243);
    }
}
