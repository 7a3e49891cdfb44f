//! `bpf_trace_printk`'s format: Linux's rules for what a program may
//! print, over its three integer arguments. Supported: `%%`, `%c`, and
//! `%d %i %u %x %X` with `l`/`ll` and an optional width (`%08x`), `%p`
//! and `%px` (hexadecimal with `0x`). Refused, as Linux refuses them or
//! as Axiom does not read memory for them yet: `%s` and the other `%p`
//! forms (Linux reads memory for these; Axiom answers `EINVAL`, said in
//! docs/abi.md), more than three conversions, a format with no NUL in
//! its size, bytes that are not printable ASCII.

use alloc::vec::Vec;

/// Formats `fmt` (the program's buffer, which must hold a NUL) with
/// `args`; `None` where Linux (or Axiom, for what it does not support)
/// refuses with `EINVAL`.
pub fn format(fmt: &[u8], args: [u64; 3]) -> Option<Vec<u8>> {
    let end = fmt.iter().position(|&b| b == 0)?;
    let fmt = &fmt[..end];
    let mut out = Vec::with_capacity(fmt.len() + 16);
    let (mut i, mut used) = (0, 0);
    while i < fmt.len() {
        let b = fmt[i];
        if !(b.is_ascii_graphic() || b.is_ascii_whitespace()) {
            return None;
        }
        if b != b'%' {
            out.push(b);
            i += 1;
            continue;
        }
        i += 1;
        if fmt.get(i) == Some(&b'%') {
            out.push(b'%');
            i += 1;
            continue;
        }
        let zero = fmt.get(i) == Some(&b'0');
        let mut width = 0usize;
        while let Some(d) = fmt.get(i).filter(|d| d.is_ascii_digit()) {
            width = (width * 10 + (d - b'0') as usize).min(64);
            i += 1;
        }
        let mut longs = 0;
        while fmt.get(i) == Some(&b'l') && longs < 2 {
            longs += 1;
            i += 1;
        }
        let conv = *fmt.get(i)?;
        i += 1;
        if used == 3 {
            return None;
        }
        let arg = args[used];
        used += 1;
        let text = match conv {
            b'd' | b'i' => {
                let v = if longs == 0 { arg as u32 as i32 as i64 } else { arg as i64 };
                decimal(v.unsigned_abs(), v < 0)
            }
            b'u' => decimal(if longs == 0 { arg as u32 as u64 } else { arg }, false),
            b'x' | b'X' => hex(if longs == 0 { arg as u32 as u64 } else { arg }, conv == b'X'),
            b'c' if longs == 0 => alloc::vec![arg as u8],
            b'p' if longs == 0 => {
                // `%px`; any other `%p` extension reads memory.
                if fmt.get(i).is_some_and(|c| c.is_ascii_alphanumeric()) {
                    if fmt[i] != b'x' {
                        return None;
                    }
                    i += 1;
                }
                let mut t = b"0x".to_vec();
                t.extend(hex(arg, false));
                t
            }
            _ => return None,
        };
        let pad = if zero { b'0' } else { b' ' };
        out.extend(core::iter::repeat_n(pad, width.saturating_sub(text.len())));
        out.extend(text);
    }
    Some(out)
}

fn decimal(mut v: u64, negative: bool) -> Vec<u8> {
    let mut digits = Vec::new();
    loop {
        digits.push(b'0' + (v % 10) as u8);
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if negative {
        digits.push(b'-');
    }
    digits.reverse();
    digits
}

fn hex(mut v: u64, upper: bool) -> Vec<u8> {
    let table = if upper { b"0123456789ABCDEF" } else { b"0123456789abcdef" };
    let mut digits = Vec::new();
    loop {
        digits.push(table[(v & 15) as usize]);
        v >>= 4;
        if v == 0 {
            break;
        }
    }
    digits.reverse();
    digits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(fmt: &str, args: [u64; 3]) -> Option<String> {
        let mut bytes = fmt.as_bytes().to_vec();
        bytes.push(0);
        format(&bytes, args).map(|v| String::from_utf8(v).unwrap())
    }

    #[test]
    fn integers_as_linux_prints_them() {
        assert_eq!(f("n=%d u=%u x=%x\n", [u64::MAX, 7, 255]).as_deref(), Some("n=-1 u=7 x=ff\n"));
        assert_eq!(
            f("%lld %llu %lx", [u64::MAX, u64::MAX, 1 << 40]).as_deref(),
            Some("-1 18446744073709551615 10000000000")
        );
        assert_eq!(
            f("%08x|%4d|%c%%", [0xbeef, 42, b'A' as u64]).as_deref(),
            Some("0000beef|  42|A%")
        );
        assert_eq!(f("%p %px", [0x1000, 16, 0]).as_deref(), Some("0x1000 0x10"));
    }

    #[test]
    fn what_linux_refuses_is_refused() {
        assert_eq!(f("%d %d %d %d", [1, 2, 3]), None, "four conversions");
        assert_eq!(f("%s", [0; 3]), None, "a string argument");
        assert_eq!(f("%pK", [0; 3]), None, "a %p extension");
        assert_eq!(f("%q", [0; 3]), None);
        assert_eq!(f("bell\x07", [0; 3]), None, "not printable");
        assert_eq!(format(b"no terminator", [0; 3]), None);
        assert_eq!(f("plain", [0; 3]).as_deref(), Some("plain"));
    }
}
