//! Files: the initramfs (QEMU's `-initrd`, a cpio `newc` archive read with
//! `cpio_reader`), read-only, in memory, by absolute path.

use alloc::collections::BTreeMap;
use alloc::string::String;

static FILES: spin::Once<BTreeMap<String, &'static [u8]>> = spin::Once::new();

/// Takes the archive the boot loader passed (nothing if none); returns
/// how many files it holds.
pub fn init(archive: Option<&'static [u8]>) -> usize {
    FILES
        .call_once(|| {
            let mut files = BTreeMap::new();
            if let Some(a) = archive {
                for e in cpio_reader::iter_files(a) {
                    if e.mode().bits() & 0o170_000 == 0o100_000 {
                        let name = e.name().trim_start_matches("./").trim_start_matches('/');
                        files.insert(alloc::format!("/{name}"), e.file());
                    }
                }
            }
            files
        })
        .len()
}

/// The file at absolute path `path`.
pub fn lookup(path: &str) -> Option<&'static [u8]> {
    FILES.get()?.get(path).copied()
}

/// Every file's path and size.
pub fn list() -> impl Iterator<Item = (&'static str, usize)> {
    FILES.get().into_iter().flat_map(|f| f.iter().map(|(k, v)| (k.as_str(), v.len())))
}
