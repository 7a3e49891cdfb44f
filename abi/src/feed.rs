//! The IIO host feed: samples for an IIO device sent from the host over a
//! serial line (QEMU's COM3, a board's UART), one scan per line of text.
//!
//! A line holds the device's [`IIO_CHANNELS`] values as decimal integers
//! in the channels' units (accelerations in milli-g, temperature in
//! milli-degrees Celsius), separated by spaces, tabs or commas, ended by
//! `\n` (a `\r` before it is ignored). Empty lines and lines starting with
//! `#` are skipped. Anything else is an error: the line is dropped and
//! counted, the feed goes on with the next one.

use crate::hooks::IIO_CHANNELS;

/// The longest line accepted, in bytes (without its `\n`).
pub const MAX_LINE: usize = 96;

/// Why a feed line was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineError {
    /// Longer than [`MAX_LINE`].
    TooLong,
    /// Fewer values than channels.
    TooFew,
    /// More values than channels.
    TooMany,
    /// A field that is not a decimal `i32`.
    NotANumber,
}

/// What one line says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line {
    /// A scan's values.
    Sample([i32; IIO_CHANNELS]),
    /// An empty line or a comment.
    Skip,
}

/// Parses one line (without its `\n`).
pub fn parse_line(line: &[u8]) -> Result<Line, LineError> {
    if line.len() > MAX_LINE {
        return Err(LineError::TooLong);
    }
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = core::str::from_utf8(line).map_err(|_| LineError::NotANumber)?.trim();
    if text.is_empty() || text.starts_with('#') {
        return Ok(Line::Skip);
    }
    let mut values = [0i32; IIO_CHANNELS];
    let mut n = 0;
    for field in text.split([' ', '\t', ',']).filter(|f| !f.is_empty()) {
        let slot = values.get_mut(n).ok_or(LineError::TooMany)?;
        *slot = field.parse().map_err(|_| LineError::NotANumber)?;
        n += 1;
    }
    if n < IIO_CHANNELS {
        return Err(LineError::TooFew);
    }
    Ok(Line::Sample(values))
}

/// Splits a byte stream into lines for [`parse_line`], holding a partial
/// line between calls; a line longer than [`MAX_LINE`] is reported once
/// as [`LineError::TooLong`] and its remaining bytes skipped.
#[derive(Debug)]
pub struct LineReader {
    buf: [u8; MAX_LINE],
    len: usize,
    overlong: bool,
    /// Joined mid-stream: skip to the first line end, silently.
    joining: bool,
}

impl Default for LineReader {
    fn default() -> Self {
        Self::new()
    }
}

impl LineReader {
    /// An empty reader.
    pub const fn new() -> Self {
        LineReader { buf: [0; MAX_LINE], len: 0, overlong: false, joining: false }
    }

    /// A reader joining a stream that may be mid-line (a serial line
    /// opened while the host already sends): everything up to the first
    /// `\n` is skipped without being reported.
    pub const fn mid_stream() -> Self {
        LineReader { buf: [0; MAX_LINE], len: 0, overlong: false, joining: true }
    }

    /// Takes one byte; at the end of a line, what the line says.
    pub fn push(&mut self, byte: u8) -> Option<Result<Line, LineError>> {
        if self.joining {
            self.joining = byte != b'\n';
            return None;
        }
        if byte == b'\n' {
            let line = if self.overlong {
                Err(LineError::TooLong)
            } else {
                parse_line(&self.buf[..self.len])
            };
            self.len = 0;
            self.overlong = false;
            return Some(line);
        }
        if self.overlong {
            return None;
        }
        if self.len == MAX_LINE {
            self.overlong = true;
            return None;
        }
        self.buf[self.len] = byte;
        self.len += 1;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(bytes: &[u8]) -> Vec<Result<Line, LineError>> {
        let mut r = LineReader::new();
        bytes.iter().filter_map(|&b| r.push(b)).collect()
    }

    #[test]
    fn samples_in_any_separator() {
        assert_eq!(parse_line(b"-14 6 966 43763"), Ok(Line::Sample([-14, 6, 966, 43763])));
        assert_eq!(parse_line(b"1,2,3,4\r"), Ok(Line::Sample([1, 2, 3, 4])));
        assert_eq!(parse_line(b"\t1 ,\t2, 3 ,4  "), Ok(Line::Sample([1, 2, 3, 4])));
        assert_eq!(parse_line(b""), Ok(Line::Skip));
        assert_eq!(parse_line(b"# x y z t"), Ok(Line::Skip));
    }

    #[test]
    fn bad_lines_are_refused() {
        assert_eq!(parse_line(b"1 2 3"), Err(LineError::TooFew));
        assert_eq!(parse_line(b"1 2 3 4 5"), Err(LineError::TooMany));
        assert_eq!(parse_line(b"1 2 x 4"), Err(LineError::NotANumber));
        assert_eq!(parse_line(b"1 2 3 4294967296"), Err(LineError::NotANumber));
        assert_eq!(parse_line(b"1.5 2 3 4"), Err(LineError::NotANumber));
        assert_eq!(parse_line(&[0xff, b' ', b'1']), Err(LineError::NotANumber));
        assert_eq!(parse_line(&[b'1'; MAX_LINE + 1]), Err(LineError::TooLong));
    }

    #[test]
    fn a_stream_splits_into_lines_and_survives_overlong_ones() {
        let mut stream = b"1 2 3 4\n".to_vec();
        stream.extend([b'7'; 1000]);
        stream.extend(b"\n# c\n5 6 7 8\n9 9");
        assert_eq!(
            lines(&stream),
            [
                Ok(Line::Sample([1, 2, 3, 4])),
                Err(LineError::TooLong),
                Ok(Line::Skip),
                Ok(Line::Sample([5, 6, 7, 8]))
            ]
        );
        // Joining mid-line: the fragment is skipped, not refused.
        let mut r = LineReader::mid_stream();
        let got: Vec<_> = b"3 4\n1 2 3 4\n".iter().filter_map(|&b| r.push(b)).collect();
        assert_eq!(got, [Ok(Line::Sample([1, 2, 3, 4]))]);
        // Arbitrary bytes never panic and every newline ends one line.
        let noise: Vec<u8> =
            (0..20_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        let newlines = noise.iter().filter(|&&b| b == b'\n').count();
        assert_eq!(lines(&noise).len(), newlines);
    }
}
