//! The structures whose layout differs between Linux's x86-64 and arm64
//! system call interfaces: `struct stat` (x86-64's own, 144 bytes; arm64's
//! the generic one, 128 bytes) and `struct epoll_event` (packed on x86-64,
//! 12 bytes; naturally aligned elsewhere, 16). Each encoder takes the
//! architecture; [`NATIVE`] is the one this code is built for.

/// An architecture's system call interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    /// x86-64.
    X86_64,
    /// arm64 (the generic layouts).
    Aarch64,
}

/// The architecture this code is built for.
#[cfg(target_arch = "aarch64")]
pub const NATIVE: Arch = Arch::Aarch64;
/// The architecture this code is built for.
#[cfg(not(target_arch = "aarch64"))]
pub const NATIVE: Arch = Arch::X86_64;

/// What `stat` reports (the fields Axiom fills; the rest are zero).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatFields {
    /// `st_ino`.
    pub ino: u64,
    /// `st_mode`.
    pub mode: u32,
    /// `st_nlink`.
    pub nlink: u32,
    /// `st_size`.
    pub size: u64,
    /// `st_blksize`.
    pub blksize: u32,
    /// `st_blocks` (512-byte units).
    pub blocks: u64,
}

/// The largest `struct stat` (x86-64's).
pub const STAT_MAX: usize = 144;

/// `struct stat`'s bytes for `arch`: the buffer and its length.
pub fn encode_stat(arch: Arch, s: &StatFields) -> ([u8; STAT_MAX], usize) {
    let mut b = [0u8; STAT_MAX];
    let mut put = |at: usize, bytes: &[u8]| b[at..at + bytes.len()].copy_from_slice(bytes);
    put(8, &s.ino.to_le_bytes());
    put(48, &s.size.to_le_bytes());
    put(64, &s.blocks.to_le_bytes());
    match arch {
        Arch::X86_64 => {
            put(16, &(s.nlink as u64).to_le_bytes());
            put(24, &s.mode.to_le_bytes());
            put(56, &(s.blksize as u64).to_le_bytes());
            (b, 144)
        }
        Arch::Aarch64 => {
            put(16, &s.mode.to_le_bytes());
            put(20, &s.nlink.to_le_bytes());
            put(56, &s.blksize.to_le_bytes());
            (b, 128)
        }
    }
}

/// The size of `struct epoll_event` for `arch`.
pub const fn epoll_event_size(arch: Arch) -> usize {
    match arch {
        Arch::X86_64 => 12,
        Arch::Aarch64 => 16,
    }
}

/// Reads a `struct epoll_event`: (events, data); `None` if `bytes` is
/// shorter than one.
pub fn decode_epoll_event(arch: Arch, bytes: &[u8]) -> Option<(u32, u64)> {
    let events = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?);
    let at = if arch == Arch::X86_64 { 4 } else { 8 };
    Some((events, u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?)))
}

/// A `struct epoll_event`'s bytes for `arch`: the buffer and its length.
pub fn encode_epoll_event(arch: Arch, events: u32, data: u64) -> ([u8; 16], usize) {
    let mut b = [0u8; 16];
    b[..4].copy_from_slice(&events.to_le_bytes());
    let at = if arch == Arch::X86_64 { 4 } else { 8 };
    b[at..at + 8].copy_from_slice(&data.to_le_bytes());
    (b, epoll_event_size(arch))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_layouts_match_linux() {
        let s =
            StatFields { ino: 7, mode: 0o100644, nlink: 1, size: 5000, blksize: 4096, blocks: 10 };
        let (x, n) = encode_stat(Arch::X86_64, &s);
        assert_eq!(n, 144);
        assert_eq!(u32::from_le_bytes(x[24..28].try_into().unwrap()), 0o100644);
        assert_eq!(u64::from_le_bytes(x[16..24].try_into().unwrap()), 1);
        assert_eq!(u64::from_le_bytes(x[56..64].try_into().unwrap()), 4096);
        let (a, n) = encode_stat(Arch::Aarch64, &s);
        assert_eq!(n, 128);
        assert_eq!(u32::from_le_bytes(a[16..20].try_into().unwrap()), 0o100644);
        assert_eq!(u32::from_le_bytes(a[20..24].try_into().unwrap()), 1);
        assert_eq!(u32::from_le_bytes(a[56..60].try_into().unwrap()), 4096);
        for b in [x, a] {
            assert_eq!(u64::from_le_bytes(b[8..16].try_into().unwrap()), 7);
            assert_eq!(u64::from_le_bytes(b[48..56].try_into().unwrap()), 5000);
            assert_eq!(u64::from_le_bytes(b[64..72].try_into().unwrap()), 10);
        }
    }

    #[test]
    fn epoll_event_layouts_round_trip() {
        for arch in [Arch::X86_64, Arch::Aarch64] {
            let (buf, len) = encode_epoll_event(arch, 0x19, 0xdead_beef_0102);
            assert_eq!(len, epoll_event_size(arch));
            assert_eq!(decode_epoll_event(arch, &buf[..len]), Some((0x19, 0xdead_beef_0102)));
        }
        assert_eq!(decode_epoll_event(Arch::Aarch64, &[0; 12]), None);
    }
}
