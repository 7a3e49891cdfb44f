//! The Raspberry Pi 5 boot files: the arm64 kernel `Image` (the same
//! binary QEMU `virt` boots), its initramfs, a `config.txt` that selects
//! them (64-bit, loaded 2 MiB-aligned, the debug UART on) and a
//! `cmdline.txt`, in `target/rpi5/boot/`, to be copied onto a FAT boot
//! partition next to the Raspberry Pi firmware's own files (the Pi 5's
//! device tree `bcm2712-rpi-5-b.dtb` and `overlays/`). docs/rpi5.md
//! has the steps; what was verified and what was not is said there.

use crate::bare::Arch;
use crate::workspace::repo_root;
use std::path::{Path, PathBuf};

/// The kernel's file name on the boot partition.
pub const KERNEL: &str = "axiom8.img";
/// The initramfs's file name on the boot partition.
pub const INITRAMFS: &str = "axiom-initramfs.cpio";

/// `config.txt`: the firmware's settings for Axiom.
pub fn config_txt() -> String {
    format!(
        "# Axiom on the Raspberry Pi 5 (see docs/rpi5.md in the Axiom repository).\n\
         # The firmware loads the arm64 Image and the initramfs, passes the device\n\
         # tree, and starts the kernel at EL2 on every core (the others parked in\n\
         # the firmware's PSCI until the kernel's CPU_ON).\n\
         [pi5]\n\
         arm_64bit=1\n\
         kernel={KERNEL}\n\
         # Axiom's boot code maps its image in 2 MiB blocks: load it 2 MiB-aligned.\n\
         kernel_address=0x200000\n\
         initramfs {INITRAMFS} followkernel\n\
         # The debug UART (the 3-pin connector between the HDMI ports), the\n\
         # device tree's stdout-path, at 115200 8N1; the firmware logs there too.\n\
         enable_uart=1\n\
         uart_2ndstage=1\n\
         [all]\n"
    )
}

/// `cmdline.txt`: the kernel command line (the firmware puts it, with
/// its own additions, in the device tree's `/chosen/bootargs`): empty,
/// so the kernel runs its tests and powers off; `axiom.serve` keeps it
/// up instead.
pub const CMDLINE: &str = "\n";

/// Checks an arm64 Image's header: the branch at 0, text offset 0, an
/// image size covering the file, flags little-endian with 4 KiB pages,
/// and the `ARM\x64` magic at 56.
pub fn check_image(bytes: &[u8]) -> Result<(), String> {
    if bytes.len() < 64 {
        return Err("the Image is shorter than its header".into());
    }
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or_default());
    let code0 = u32::from_le_bytes(bytes[0..4].try_into().unwrap_or_default());
    if code0 >> 26 != 0b000101 {
        return Err(format!("the Image's first instruction is not a branch: {code0:#x}"));
    }
    if &bytes[56..60] != b"ARM\x64" {
        return Err("the Image has no ARM\\x64 magic".into());
    }
    if word(8) != 0 {
        return Err(format!("text_offset {:#x}, expected 0", word(8)));
    }
    if word(16) < bytes.len() as u64 {
        return Err(format!("image_size {} is less than the file's {}", word(16), bytes.len()));
    }
    if word(24) & 0b111 != 0b010 {
        return Err(format!("flags {:#x}: expected little-endian, 4 KiB pages", word(24)));
    }
    Ok(())
}

/// Builds the arm64 kernel and writes the boot files; returns their
/// folder.
pub fn build() -> Result<PathBuf, String> {
    let image = crate::bare::build_kernel_for(Arch::Aarch64)?;
    let out = repo_root().join("target/rpi5/boot");
    write(&out, &image, &crate::user::initramfs_path_for(Arch::Aarch64))?;
    Ok(out)
}

fn write(out: &Path, image: &Path, initramfs: &Path) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let bytes = std::fs::read(image).map_err(|e| format!("{}: {e}", image.display()))?;
    check_image(&bytes)?;
    std::fs::write(out.join(KERNEL), &bytes).map_err(|e| e.to_string())?;
    std::fs::copy(initramfs, out.join(INITRAMFS)).map_err(|e| e.to_string())?;
    std::fs::write(out.join("config.txt"), config_txt()).map_err(|e| e.to_string())?;
    std::fs::write(out.join("cmdline.txt"), CMDLINE).map_err(|e| e.to_string())?;
    Ok(())
}

/// `cargo xtask rpi5`: builds and lists the files.
pub fn run() -> Result<(), String> {
    let out = build()?;
    println!("Raspberry Pi 5 boot files in {}:", out.display());
    for name in [KERNEL, INITRAMFS, "config.txt", "cmdline.txt"] {
        let len = std::fs::metadata(out.join(name)).map(|m| m.len()).unwrap_or(0);
        println!("  {name:<22} {:>8} KiB", len.div_ceil(1024));
    }
    println!(
        "Copy them onto the SD card's FAT boot partition beside the Raspberry Pi firmware's \
         bcm2712-rpi-5-b.dtb (docs/rpi5.md)."
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Vec<u8> {
        let mut h = vec![0u8; 4096];
        h[0..4].copy_from_slice(&0x1400_0010u32.to_le_bytes()); // b +64
        h[16..24].copy_from_slice(&8192u64.to_le_bytes());
        h[24..32].copy_from_slice(&0xau64.to_le_bytes());
        h[56..60].copy_from_slice(b"ARM\x64");
        h
    }

    #[test]
    fn a_good_header_passes_and_each_fault_is_named() {
        assert_eq!(check_image(&header()), Ok(()));
        let mut h = header();
        h[56] = b'X';
        assert!(check_image(&h).unwrap_err().contains("magic"));
        let mut h = header();
        h[16..24].copy_from_slice(&16u64.to_le_bytes());
        assert!(check_image(&h).unwrap_err().contains("image_size"));
        let mut h = header();
        h[24] = 0xb; // big-endian
        assert!(check_image(&h).unwrap_err().contains("flags"));
        let mut h = header();
        h[0..4].copy_from_slice(&0xd503_201fu32.to_le_bytes()); // nop
        assert!(check_image(&h).unwrap_err().contains("branch"));
        assert!(check_image(&[0; 10]).is_err());
    }

    #[test]
    fn config_selects_the_files_written() {
        let c = config_txt();
        assert!(c.contains("arm_64bit=1"));
        assert!(c.contains(&format!("kernel={KERNEL}")));
        assert!(c.contains(&format!("initramfs {INITRAMFS} followkernel")));
        assert!(c.contains("enable_uart=1"));
        assert!(c.contains("kernel_address=0x200000"));
    }
}
