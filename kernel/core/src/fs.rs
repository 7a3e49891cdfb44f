//! Files: the initramfs (QEMU's `-initrd`, a cpio `newc` archive),
//! read-only, in memory, by absolute path.
//!
//! The archive is read here rather than with the `cpio_reader` crate:
//! that crate sums every byte of every file while iterating (a checksum
//! only the `crc` variant of the format carries), which cost 8 ms of boot
//! under TCG for a 2 MiB archive, more than the rest of the boot. Reading
//! `newc` headers is short: a magic, thirteen hexadecimal fields, the
//! name, padding to four bytes, the data, padding again.

use alloc::vec::Vec;

/// The archive, as the boot loader passed it.
static ARCHIVE: spin::Once<Option<&'static [u8]>> = spin::Once::new();
/// The regular files: (path without its leading `/`, data), read from the
/// archive on first use (like Linux, which unpacks its initramfs off the
/// boot path).
static FILES: spin::Once<Vec<(&'static str, &'static [u8])>> = spin::Once::new();

/// One `newc` field: eight hexadecimal digits.
fn hex(field: &[u8]) -> Option<usize> {
    let s = core::str::from_utf8(field).ok()?;
    usize::from_str_radix(s, 16).ok()
}

/// The archive's regular files (path, data); stops at the trailer or at
/// the first malformed header.
fn entries(mut a: &'static [u8]) -> impl Iterator<Item = (&'static str, u32, &'static [u8])> {
    core::iter::from_fn(move || {
        let header = a.get(..110)?;
        if &header[..6] != b"070701" && &header[..6] != b"070702" {
            return None;
        }
        let field = |i: usize| hex(&header[6 + 8 * i..14 + 8 * i]);
        let (mode, size, name_len) = (field(1)?, field(6)?, field(11)?);
        let name_end = 110usize.checked_add(name_len)?;
        let name = core::str::from_utf8(a.get(110..name_end.checked_sub(1)?)?).ok()?;
        let data_start = name_end.next_multiple_of(4);
        let data_end = data_start.checked_add(size)?;
        let data = a.get(data_start..data_end)?;
        a = a.get(data_end.next_multiple_of(4).min(a.len())..)?;
        (name != "TRAILER!!!").then_some((name, mode as u32, data))
    })
}

/// Takes the archive the boot loader passed (nothing if none).
pub fn init(archive: Option<&'static [u8]>) {
    ARCHIVE.call_once(|| archive);
}

/// The files, read from the archive the first time.
fn files() -> &'static [(&'static str, &'static [u8])] {
    FILES.call_once(|| {
        ARCHIVE
            .get()
            .copied()
            .flatten()
            .into_iter()
            .flat_map(entries)
            .filter(|&(_, mode, _)| mode & 0o170_000 == 0o100_000)
            .map(|(name, _, data)| (name.trim_start_matches("./").trim_start_matches('/'), data))
            .collect()
    })
}

/// The file at absolute path `path`.
pub fn lookup(path: &str) -> Option<&'static [u8]> {
    let path = path.strip_prefix('/')?;
    files().iter().find(|(name, _)| *name == path).map(|&(_, data)| data)
}

/// Every file's path (without its leading `/`) and size.
pub fn list() -> impl Iterator<Item = (&'static str, usize)> {
    files().iter().map(|&(k, v)| (k, v.len()))
}
