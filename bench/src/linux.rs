//! Linux as the benchmarks' baseline guest: Debian's own kernel package
//! (the one `linux-image-amd64` depends on), downloaded with `apt-get
//! download` and unpacked without installing it, booted through its PVH
//! entry (the uncompressed ELF inside `vmlinuz`) with an initramfs whose
//! `/init` is the benchmark program (`user/bench`, the same static binary
//! Axiom runs).

use object::{Object, ObjectSection, ObjectSegment};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// A Linux kernel ready to boot.
pub struct Kernel {
    /// The uncompressed ELF, with its PVH entry note.
    pub vmlinux: PathBuf,
    /// The package it came from (`linux-image-6.1.0-57-amd64`).
    pub package: String,
}

fn dir() -> PathBuf {
    xtask::workspace::repo_root().join("target/linux")
}

fn run(cmd: &mut Command, what: &str) -> Result<Vec<u8>, String> {
    let out = cmd.output().map_err(|e| format!("{what}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{what} failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(out.stdout)
}

/// The kernel package `linux-image-amd64` depends on, from `apt-cache
/// depends` output.
pub fn package_from_depends(text: &str) -> Option<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("Depends: "))
        .find(|p| p.starts_with("linux-image-") && p.chars().any(|c| c.is_ascii_digit()))
        .map(str::to_string)
}

/// The compressed kernel inside a bzImage (`vmlinuz`): the setup header's
/// `payload_offset` and `payload_length` (boot protocol 2.08 and later),
/// counted from the protected-mode code after the setup sectors.
pub fn bzimage_payload(image: &[u8]) -> Result<&[u8], String> {
    let u16_at = |o: usize| image.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |o: usize| {
        image.get(o..o + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    if image.get(0x202..0x206) != Some(b"HdrS") {
        return Err("not a bzImage (no `HdrS` setup header)".into());
    }
    let version = u16_at(0x206).ok_or("truncated setup header")?;
    if version < 0x208 {
        return Err(format!("boot protocol {version:#x} has no payload fields (2.08 needed)"));
    }
    let setup_sects = match image[0x1f1] {
        0 => 4,
        n => n as usize,
    };
    let offset = u32_at(0x248).ok_or("truncated setup header")?;
    let length = u32_at(0x24c).ok_or("truncated setup header")?;
    let start = (setup_sects + 1) * 512 + offset;
    image
        .get(start..start + length)
        .ok_or_else(|| format!("payload {start}+{length} beyond the image's {} bytes", image.len()))
}

/// The decompressor for a payload, by its magic bytes.
pub fn decompressor(payload: &[u8]) -> Result<&'static [&'static str], String> {
    const KINDS: [(&[u8], &[&str]); 4] = [
        (&[0xfd, b'7', b'z', b'X', b'Z', 0], &["xz", "-dc", "--single-stream"]),
        (&[0x1f, 0x8b], &["gzip", "-dc"]),
        (&[0x28, 0xb5, 0x2f, 0xfd], &["zstd", "-dcq"]),
        (&[0x5d, 0, 0], &["xz", "-dc", "--format=lzma"]),
    ];
    KINDS.iter().find(|(magic, _)| payload.starts_with(magic)).map(|(_, cmd)| *cmd).ok_or_else(
        || format!("unknown compression (first bytes {:02x?})", &payload[..payload.len().min(6)]),
    )
}

/// Whether an ELF image has the PVH entry note (Xen's note type 18,
/// `XEN_ELFNOTE_PHYS32_ENTRY`), which QEMU's `-kernel` needs to start it
/// directly.
pub fn has_pvh_note(elf: &[u8]) -> Result<bool, String> {
    let file = object::File::parse(elf).map_err(|e| format!("not an ELF: {e}"))?;
    let mut found = false;
    let mut scan = |data: &[u8]| {
        // Notes: namesz, descsz, type, then name and desc, 4-aligned.
        let mut at = 0;
        while at + 12 <= data.len() {
            let word = |o: usize| u32::from_le_bytes(data[o..o + 4].try_into().unwrap_or([0; 4]));
            let (namesz, descsz, kind) = (word(at) as usize, word(at + 4) as usize, word(at + 8));
            let name = data.get(at + 12..at + 12 + namesz).unwrap_or(&[]);
            if kind == 18 && name.starts_with(b"Xen") {
                found = true;
            }
            at += 12 + namesz.div_ceil(4) * 4 + descsz.div_ceil(4) * 4;
        }
    };
    for s in file.sections().filter(|s| s.kind() == object::SectionKind::Note) {
        scan(s.data().unwrap_or(&[]));
    }
    if file.sections().next().is_none() {
        for seg in file.segments() {
            scan(seg.data().unwrap_or(&[]));
        }
    }
    Ok(found)
}

fn decompress(payload: &[u8]) -> Result<Vec<u8>, String> {
    let cmd = decompressor(payload)?;
    let mut child = Command::new(cmd[0])
        .args(&cmd[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", cmd[0]))?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let data = payload.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    // gzip and xz may complain of the bytes after the stream (the size
    // the kernel's build appends); what counts is the ELF that came out.
    let _ = writer.join();
    if out.stdout.starts_with(b"\x7fELF") {
        Ok(out.stdout)
    } else {
        Err(format!("{} gave no ELF image", cmd.join(" ")))
    }
}

/// Debian's current kernel for this release, fetched and unpacked once
/// (into `target/linux`; the package itself is not kept).
pub fn kernel() -> Result<Kernel, String> {
    let dir = dir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let depends =
        run(Command::new("apt-cache").args(["depends", "linux-image-amd64"]), "apt-cache")?;
    let package = package_from_depends(&String::from_utf8_lossy(&depends))
        .ok_or("apt-cache names no kernel package for linux-image-amd64 (run `apt-get update`)")?;
    let vmlinux = dir.join(format!("{package}.vmlinux"));
    if vmlinux.exists() {
        return Ok(Kernel { vmlinux, package });
    }
    println!("xtask: fetching Debian's {package} (apt-get download, unpacked, not installed)");
    let image = fetch_vmlinuz(&dir, &package, "")?;
    let elf = decompress(bzimage_payload(&image)?)?;
    if !has_pvh_note(&elf)? {
        return Err(format!("{package}'s kernel has no PVH entry note: QEMU cannot start it"));
    }
    let partial = vmlinux.with_extension("partial");
    std::fs::write(&partial, &elf).map_err(|e| e.to_string())?;
    std::fs::rename(&partial, &vmlinux).map_err(|e| e.to_string())?;
    Ok(Kernel { vmlinux, package })
}

/// Debian's arm64 kernel (the package `linux-image-arm64` depends on,
/// downloaded for arm64, dpkg's foreign architecture setup adds): its
/// `vmlinuz` is the Linux arm64 `Image` itself (gzip-compressed in some
/// releases), which QEMU `virt` boots with `-kernel`.
pub fn kernel_arm64() -> Result<Kernel, String> {
    let dir = dir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let depends =
        run(Command::new("apt-cache").args(["depends", "linux-image-arm64:arm64"]), "apt-cache")?;
    let package = package_from_depends(&String::from_utf8_lossy(&depends))
        .map(|p| p.trim_end_matches(":arm64").to_string())
        .ok_or(
            "apt-cache names no kernel package for linux-image-arm64 (run `cargo xtask setup`)",
        )?;
    let image = dir.join(format!("{package}.Image"));
    if image.exists() {
        return Ok(Kernel { vmlinux: image, package });
    }
    println!(
        "xtask: fetching Debian's {package} for arm64 (apt-get download, unpacked, not installed)"
    );
    let mut bytes = fetch_vmlinuz(&dir, &package, ":arm64")?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        bytes = decompress(&bytes)?;
    }
    if bytes.get(56..60) != Some(b"ARM\x64") {
        return Err(format!("{package}'s vmlinuz is not an arm64 Image"));
    }
    let partial = image.with_extension("partial");
    std::fs::write(&partial, &bytes).map_err(|e| e.to_string())?;
    std::fs::rename(&partial, &image).map_err(|e| e.to_string())?;
    Ok(Kernel { vmlinux: image, package })
}

/// Downloads `package` (`arch`: "" for the host's, ":arm64"...) into
/// `dir` with `apt-get download`, takes its `./boot/vmlinuz-*` out
/// (`dpkg-deb --fsys-tarfile | tar`: nothing is installed) and returns
/// its bytes; the package and the unpacked tree are removed.
fn fetch_vmlinuz(dir: &std::path::Path, package: &str, arch: &str) -> Result<Vec<u8>, String> {
    let name = format!("{package}{arch}");
    run(Command::new("apt-get").args(["download", "-q", &name]).current_dir(dir), "apt-get")?;
    let deb = std::fs::read_dir(dir)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with(&format!("{package}_")) && name.ends_with(".deb")
        })
        .ok_or("apt-get download left no .deb")?;
    let unpacked = dir.join("unpacked");
    let _ = std::fs::remove_dir_all(&unpacked);
    std::fs::create_dir_all(&unpacked).map_err(|e| e.to_string())?;
    // `dpkg -x` for just ./boot: the package's modules are not needed.
    let script = format!(
        "dpkg-deb --fsys-tarfile '{}' | tar -x -C '{}' --wildcards './boot/vmlinuz-*'",
        deb.display(),
        unpacked.display()
    );
    run(Command::new("sh").args(["-c", &script]), "dpkg-deb | tar")?;
    let _ = std::fs::remove_file(&deb);
    let vmlinuz = std::fs::read_dir(unpacked.join("boot"))
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("vmlinuz")))
        .ok_or("no boot/vmlinuz in the package")?;
    let bytes = std::fs::read(&vmlinuz).map_err(|e| e.to_string());
    let _ = std::fs::remove_dir_all(&unpacked);
    bytes
}

/// The Linux guest's initramfs: `/init` the benchmark program and the
/// file it opens (`/etc/motd`, Axiom's); it mounts devtmpfs itself.
pub fn initramfs() -> Result<PathBuf, String> {
    initramfs_for(xtask::bare::Arch::X86_64)
}

/// The same with `arch`'s benchmark program.
pub fn initramfs_for(arch: xtask::bare::Arch) -> Result<PathBuf, String> {
    let archive = xtask::user::initramfs_path_for(arch);
    let rootfs = archive.parent().ok_or("no initramfs folder")?.join("rootfs");
    let bench = rootfs.join("bin/bench");
    let root = dir().join(format!("rootfs-{arch}"));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("dev")).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(root.join("etc")).map_err(|e| e.to_string())?;
    std::fs::copy(&bench, root.join("init")).map_err(|e| format!("{}: {e}", bench.display()))?;
    // The file the benchmark opens and stats, as in Axiom's initramfs.
    let motd = rootfs.join("etc/motd");
    std::fs::copy(&motd, root.join("etc/motd")).map_err(|e| format!("{}: {e}", motd.display()))?;
    let out = dir().join(format!("initramfs-{arch}.cpio"));
    let script = format!(
        "find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet > '{}'",
        out.display()
    );
    run(Command::new("sh").args(["-c", &script]).current_dir(&root), "cpio")?;
    Ok(out)
}

/// The command line Linux gets under QEMU: the serial console, quiet; and
/// under TCG on `microvm` (no HPET or PM timer to calibrate against) the
/// host's TSC rate, or it cannot calibrate its clock.
pub fn cmdline(tsc_khz: Option<u64>) -> String {
    let mut line = String::from("console=ttyS0 quiet panic=-1");
    if let Some(khz) = tsc_khz {
        line.push_str(&format!(" tsc=reliable tsc_early_khz={khz}"));
    }
    line
}

/// Linux's command line on arm64 `virt`: the PL011 console, quiet; with
/// `nokaslr`, no randomised layout (Debian's arm64 kernel unmaps itself
/// from user space, page-table isolation, when KASLR is on).
pub fn cmdline_arm64(nokaslr: bool) -> String {
    let mut line = String::from("console=ttyAMA0 quiet panic=-1");
    if nokaslr {
        line.push_str(" nokaslr");
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn the_kernel_package_is_read_from_apt_cache() {
        let text = "linux-image-amd64\n  Depends: linux-image-6.1.0-57-amd64\n";
        assert_eq!(package_from_depends(text).as_deref(), Some("linux-image-6.1.0-57-amd64"));
        assert_eq!(package_from_depends("linux-image-amd64\n  Depends: foo\n"), None);
    }

    #[test]
    fn a_bzimage_payload_is_found_from_the_setup_header() {
        let mut image = vec![0u8; 4096];
        image[0x1f1] = 3; // setup sectors: code at 4 * 512
        image[0x202..0x206].copy_from_slice(b"HdrS");
        image[0x206..0x208].copy_from_slice(&0x20fu16.to_le_bytes());
        image[0x248..0x24c].copy_from_slice(&100u32.to_le_bytes());
        image[0x24c..0x250].copy_from_slice(&6u32.to_le_bytes());
        image[2048 + 100..2048 + 106].copy_from_slice(&[0xfd, b'7', b'z', b'X', b'Z', 0]);
        let payload = bzimage_payload(&image).unwrap();
        assert_eq!(payload.len(), 6);
        assert_eq!(decompressor(payload).unwrap()[0], "xz");
        image[0x24c..0x250].copy_from_slice(&5000u32.to_le_bytes());
        assert!(bzimage_payload(&image).unwrap_err().contains("beyond"));
        image[0x206..0x208].copy_from_slice(&0x206u16.to_le_bytes());
        assert!(bzimage_payload(&image).is_err());
        assert!(bzimage_payload(b"MZ").is_err());
        assert!(decompressor(b"\0\0\0\0").is_err());
    }

    #[test]
    fn the_pvh_note_is_recognised() {
        // Axiom's own kernel has one; this test binary has none.
        let kernel = xtask::workspace::repo_root().join("target-kernel");
        let axiom = walk(&kernel).into_iter().find(|p| p.ends_with("release/axiom-kernel"));
        if let Some(k) = axiom {
            assert!(has_pvh_note(&std::fs::read(k).unwrap()).unwrap());
        } else {
            println!("skipped the positive case: no kernel built yet (cargo xtask build-bare)");
        }
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert!(!has_pvh_note(&me).unwrap());
        assert!(has_pvh_note(b"not an elf").is_err());
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
            }
        }
        out
    }
}
