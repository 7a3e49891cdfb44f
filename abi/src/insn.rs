//! The raw 8-byte instruction slot (RFC 9669 section 3).

/// One 64-bit instruction slot, fields as they are stored: `code`, the
/// destination and source register nibbles, a signed 16-bit offset and a
/// signed 32-bit immediate. A wide (`lddw`) instruction takes two slots.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Insn {
    /// The opcode byte: class, plus operation or size/mode bits.
    pub code: u8,
    /// Destination register number (low nibble of byte 1).
    pub dst: u8,
    /// Source register number (high nibble of byte 1).
    pub src: u8,
    /// Signed offset.
    pub off: i16,
    /// Signed immediate.
    pub imm: i32,
}

impl Insn {
    /// Size of one slot in bytes.
    pub const SIZE: usize = 8;

    /// Builds a slot from its fields; register numbers are masked to 4 bits.
    pub const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Self {
        Self { code, dst: dst & 0xf, src: src & 0xf, off, imm }
    }

    /// Reads a slot from its little-endian byte form.
    pub const fn from_bytes(b: [u8; 8]) -> Self {
        Self {
            code: b[0],
            dst: b[1] & 0xf,
            src: b[1] >> 4,
            off: i16::from_le_bytes([b[2], b[3]]),
            imm: i32::from_le_bytes([b[4], b[5], b[6], b[7]]),
        }
    }

    /// The little-endian byte form of this slot.
    pub const fn to_bytes(self) -> [u8; 8] {
        let off = self.off.to_le_bytes();
        let imm = self.imm.to_le_bytes();
        [
            self.code,
            (self.dst & 0xf) | (self.src << 4),
            off[0],
            off[1],
            imm[0],
            imm[1],
            imm[2],
            imm[3],
        ]
    }

    /// Reads a slot from the 64-bit word whose little-endian bytes it is.
    pub const fn from_u64(word: u64) -> Self {
        Self::from_bytes(word.to_le_bytes())
    }

    /// The 64-bit word whose little-endian bytes are this slot.
    pub const fn to_u64(self) -> u64 {
        u64::from_le_bytes(self.to_bytes())
    }

    /// Splits a byte buffer into slots; `None` if its length is not a
    /// multiple of 8.
    pub fn slice_from_bytes(bytes: &[u8]) -> Option<impl Iterator<Item = Insn> + '_> {
        if !bytes.len().is_multiple_of(Self::SIZE) {
            return None;
        }
        Some(bytes.chunks_exact(Self::SIZE).map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            Insn::from_bytes(b)
        }))
    }
}

impl core::fmt::Debug for Insn {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "Insn {{ code: {:#04x}, dst: r{}, src: r{}, off: {}, imm: {} }}",
            self.code, self.dst, self.src, self.off, self.imm
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_layout_matches_linux() {
        // r1 = *(u64 *)(r2 - 8) is 79 21 f8 ff 00 00 00 00.
        let i = Insn::new(0x79, 1, 2, -8, 0);
        assert_eq!(i.to_bytes(), [0x79, 0x21, 0xf8, 0xff, 0, 0, 0, 0]);
        assert_eq!(Insn::from_bytes(i.to_bytes()), i);
        assert_eq!(Insn::from_u64(i.to_u64()), i);
    }

    #[test]
    fn slices_must_be_whole_slots() {
        assert!(Insn::slice_from_bytes(&[0; 12]).is_none());
        assert_eq!(Insn::slice_from_bytes(&[0; 16]).unwrap().count(), 2);
    }
}
