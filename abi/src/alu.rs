//! The concrete ALU operations of eBPF, with Linux's semantics: the one
//! definition that the reference interpreter executes and the verifier
//! folds constants with.
//!
//! Division by zero gives 0 and modulo by zero leaves the dividend; shift
//! amounts are masked to the operand width; signed division and modulo
//! (ISA v4) wrap at `MIN / -1` (giving `MIN` and 0); 32-bit operations
//! work on the low halves and zero-extend their results. (These are the
//! operations' values, not the opcode fields: those are
//! [`crate::opcode::alu`].)

use crate::instruction::{AluOp, EndianOp, Width};

/// One ALU operation on one width, written once for both.
macro_rules! alu_at {
    ($name:ident, $u:ty, $i:ty) => {
        #[doc = concat!("`a op b` on `", stringify!($u), "`.")]
        fn $name(op: AluOp, a: $u, b: $u) -> $u {
            // Shift amounts are taken modulo the width.
            const MASK: $u = <$u>::BITS as $u - 1;
            match op {
                AluOp::Add => a.wrapping_add(b),
                AluOp::Sub => a.wrapping_sub(b),
                AluOp::Mul => a.wrapping_mul(b),
                AluOp::Div => a.checked_div(b).unwrap_or(0),
                AluOp::SDiv if b == 0 => 0,
                AluOp::SDiv => (a as $i).wrapping_div(b as $i) as $u,
                AluOp::Or => a | b,
                AluOp::And => a & b,
                AluOp::Lsh => a << (b & MASK),
                AluOp::Rsh => a >> (b & MASK),
                AluOp::Mod => a.checked_rem(b).unwrap_or(a),
                AluOp::SMod if b == 0 => a,
                AluOp::SMod => (a as $i).wrapping_rem(b as $i) as $u,
                AluOp::Xor => a ^ b,
                AluOp::Mov => b,
                AluOp::Arsh => ((a as $i) >> (b & MASK)) as $u,
            }
        }
    };
}

alu_at!(alu64, u64, i64);
alu_at!(alu32, u32, i32);

/// `a op b` in `width` bits. `b` is the source register, or the immediate
/// sign-extended to 64 bits; a 32-bit result is zero-extended.
pub fn alu(width: Width, op: AluOp, a: u64, b: u64) -> u64 {
    match width {
        Width::W64 => alu64(op, a, b),
        Width::W32 => alu32(op, a as u32, b as u32) as u64,
    }
}

/// `neg`: `0 - a` in `width` bits.
pub fn neg(width: Width, a: u64) -> u64 {
    alu(width, AluOp::Sub, 0, a)
}

/// The value at `width`: unchanged at 64 bits, its low half zero-extended
/// at 32.
pub fn at_width(width: Width, v: u64) -> u64 {
    match width {
        Width::W32 => v as u32 as u64,
        Width::W64 => v,
    }
}

/// The low `bits` bits of `v` (8, 16 or 32) sign-extended to 64 bits, as
/// `movsx` and the sign-extending loads (`ldsx`) compute them.
pub fn sign_extend(bits: u8, v: u64) -> u64 {
    match bits {
        8 => v as i8 as i64 as u64,
        16 => v as i16 as i64 as u64,
        _ => v as i32 as i64 as u64,
    }
}

/// `movsx`: the low `bits` bits of `v` sign-extended, at `width`.
pub fn movsx(width: Width, bits: u8, v: u64) -> u64 {
    at_width(width, sign_extend(bits, v))
}

/// A byte-order operation on the low `bits` bits (16, 32 or 64) of `v`, on
/// a little-endian machine: to little endian truncates, to big endian and
/// the byte swap reverse the bytes; the result is zero-extended.
pub fn endian(op: EndianOp, bits: u8, v: u64) -> u64 {
    match (op, bits) {
        (EndianOp::ToLe, 16) => v as u16 as u64,
        (EndianOp::ToLe, 32) => v as u32 as u64,
        (EndianOp::ToLe, _) => v,
        (_, 16) => (v as u16).swap_bytes() as u64,
        (_, 32) => (v as u32).swap_bytes() as u64,
        (_, _) => v.swap_bytes(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN64: u64 = i64::MIN as u64;
    const MIN32: u64 = i32::MIN as u32 as u64;

    #[test]
    fn division_and_modulo_by_zero() {
        for width in [Width::W64, Width::W32] {
            assert_eq!(alu(width, AluOp::Div, 7, 0), 0);
            assert_eq!(alu(width, AluOp::SDiv, 7, 0), 0);
            assert_eq!(alu(width, AluOp::Mod, 7, 0), 7);
            assert_eq!(alu(width, AluOp::SMod, (-7i64) as u64, 0), at_width(width, -7i64 as u64));
        }
        // At 32 bits the dividend's high half is dropped, even by modulo zero.
        assert_eq!(alu(Width::W32, AluOp::Mod, 0x1_0000_0007, 0), 7);
        assert_eq!(alu(Width::W32, AluOp::Div, 0x1_0000_0007, 1 << 32), 0);
    }

    #[test]
    fn signed_division_wraps_at_min_by_minus_one() {
        assert_eq!(alu(Width::W64, AluOp::SDiv, MIN64, u64::MAX), MIN64);
        assert_eq!(alu(Width::W64, AluOp::SMod, MIN64, u64::MAX), 0);
        assert_eq!(alu(Width::W32, AluOp::SDiv, MIN32, 0xffff_ffff), MIN32);
        assert_eq!(alu(Width::W32, AluOp::SMod, MIN32, 0xffff_ffff), 0);
        // The remainder takes the dividend's sign; the quotient truncates.
        assert_eq!(alu(Width::W64, AluOp::SMod, (-7i64) as u64, 2), (-1i64) as u64);
        assert_eq!(alu(Width::W64, AluOp::SDiv, (-7i64) as u64, 2), (-3i64) as u64);
        assert_eq!(alu(Width::W32, AluOp::SDiv, (-7i32) as u32 as u64, 2), (-3i32) as u32 as u64);
        // Unsigned division sees the same bits as a large number.
        assert_eq!(alu(Width::W64, AluOp::Div, (-8i64) as u64, 2), u64::MAX / 2 - 3);
    }

    #[test]
    fn shift_amounts_are_masked() {
        assert_eq!(alu(Width::W64, AluOp::Lsh, 1, 65), 2);
        assert_eq!(alu(Width::W64, AluOp::Rsh, 4, 64 + 2), 1);
        assert_eq!(alu(Width::W64, AluOp::Arsh, MIN64, 63), u64::MAX);
        assert_eq!(alu(Width::W32, AluOp::Lsh, 1, 33), 2);
        assert_eq!(alu(Width::W32, AluOp::Rsh, 0x1_0000_0004, 2), 1);
        assert_eq!(alu(Width::W32, AluOp::Arsh, 0x8000_0000, 33), 0xc000_0000);
    }

    #[test]
    fn thirty_two_bit_results_are_zero_extended() {
        assert_eq!(alu(Width::W32, AluOp::Add, u64::MAX, 2), 1);
        assert_eq!(alu(Width::W32, AluOp::Sub, 0, 1), 0xffff_ffff);
        assert_eq!(alu(Width::W32, AluOp::Mov, 0, u64::MAX), 0xffff_ffff);
        assert_eq!(alu(Width::W32, AluOp::Mul, 0x1_0000_0003, 3), 9);
        assert_eq!(alu(Width::W64, AluOp::Mov, 0, u64::MAX), u64::MAX);
        assert_eq!(neg(Width::W64, 1), u64::MAX);
        assert_eq!(neg(Width::W32, 1), 0xffff_ffff);
        assert_eq!(neg(Width::W64, MIN64), MIN64);
    }

    #[test]
    fn sign_extensions() {
        assert_eq!(sign_extend(8, 0x180), u64::MAX - 0x7f);
        assert_eq!(sign_extend(8, 0x7f), 0x7f);
        assert_eq!(sign_extend(16, 0x8000), 0xffff_ffff_ffff_8000);
        assert_eq!(sign_extend(32, 0x1_8000_0000), 0xffff_ffff_8000_0000);
        assert_eq!(movsx(Width::W32, 8, 0x80), 0xffff_ff80);
        assert_eq!(movsx(Width::W32, 16, 0x1234), 0x1234);
        assert_eq!(movsx(Width::W64, 32, 0xffff_ffff), u64::MAX);
    }

    #[test]
    fn byte_order() {
        let v = 0x1122_3344_5566_7788;
        assert_eq!(endian(EndianOp::ToLe, 16, v), 0x7788);
        assert_eq!(endian(EndianOp::ToLe, 32, v), 0x5566_7788);
        assert_eq!(endian(EndianOp::ToLe, 64, v), v);
        for op in [EndianOp::ToBe, EndianOp::Swap] {
            assert_eq!(endian(op, 16, v), 0x8877);
            assert_eq!(endian(op, 32, v), 0x8877_6655);
            assert_eq!(endian(op, 64, v), 0x8877_6655_4433_2211);
        }
    }

    /// The 32-bit operations are the 64-bit ones on the low halves
    /// (zero-extended, or sign-extended for the signed operations), with
    /// shifts taken modulo 32.
    #[test]
    fn thirty_two_bits_agree_with_sixty_four_on_the_low_halves() {
        let samples = [0, 1, 2, 7, 31, 32, 33, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 1 << 32];
        for op in AluOp::ALL {
            for &a in &samples {
                for &b in &samples {
                    let signed = matches!(op, AluOp::SDiv | AluOp::SMod | AluOp::Arsh);
                    let ext = |v: u64| if signed { sign_extend(32, v) } else { v as u32 as u64 };
                    let b64 = if matches!(op, AluOp::Lsh | AluOp::Rsh | AluOp::Arsh) {
                        b & 31
                    } else {
                        ext(b)
                    };
                    let want = at_width(Width::W32, alu(Width::W64, op, ext(a), b64));
                    assert_eq!(alu(Width::W32, op, a, b), want, "{op:?} {a:#x} {b:#x}");
                }
            }
        }
    }
}
