//! Installing what the project needs, only when it is missing.

use std::process::Command;

/// Debian packages: Rust 1.96 for bare metal (rustc-web, cargo-web,
/// rust-web-src, and rust-web-clippy to lint the kernel), LLVM 22 for BPF objects, QEMU, libbpf headers and
/// bpftool, the arm64 cross toolchain for running arm64 code in tests,
/// cpio for the kernel's initramfs, xz for unpacking Linux's `vmlinuz`
/// (the benchmarks' baseline guest), a font for the plots' labels, `dtc`
/// (the arm64 test's Pi-shaped device tree);
/// arm64 builds of libbpf and the libraries it links (multiarch: the
/// `arm64` architecture is added to dpkg first) for the arm64 initramfs.
pub const PACKAGES: &[&str] = &[
    "rustc-web",
    "cargo-web",
    "rust-web-src",
    "rust-web-clippy",
    "clang-22",
    "lld-22",
    "llvm-22",
    "qemu-system-x86",
    "qemu-system-arm",
    "qemu-user",
    "libbpf-dev",
    "bpftool",
    "linux-libc-dev",
    "gcc-aarch64-linux-gnu",
    "libc6-dev-arm64-cross",
    "cpio",
    "libc6-dev",
    "xz-utils",
    "fonts-dejavu-core",
    "device-tree-compiler",
    "libbpf-dev:arm64",
    "libelf-dev:arm64",
    "zlib1g-dev:arm64",
];

/// Whether `dpkg-query` output says the package is installed.
pub fn is_installed_status(status: &str) -> bool {
    status.trim() == "install ok installed"
}

fn query_status(pkg: &str) -> Option<bool> {
    let o = Command::new("dpkg-query").args(["-W", "-f=${Status}", pkg]).output().ok()?;
    o.status.success().then(|| is_installed_status(&String::from_utf8_lossy(&o.stdout)))
}

/// Whether `pkg` is installed: a name with an architecture as it is; a
/// plain name for the host's architecture first (with a foreign
/// architecture added, a plain name can match two instances), then as an
/// architecture-independent package.
fn installed(pkg: &str) -> bool {
    if pkg.contains(':') {
        return query_status(pkg).unwrap_or(false);
    }
    let native = Command::new("dpkg")
        .arg("--print-architecture")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    query_status(&format!("{pkg}:{native}")).or_else(|| query_status(pkg)).unwrap_or(false)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn apt(args: &[&str]) -> Result<(), String> {
    let status = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .map_err(|e| format!("apt-get: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("apt-get {} failed", args.join(" "))) }
}

/// Lets dpkg install arm64 packages beside the host's (idempotent).
fn add_arm64_architecture() -> Result<(), String> {
    let out = Command::new("dpkg")
        .arg("--print-foreign-architectures")
        .output()
        .map_err(|e| format!("dpkg: {e}"))?;
    if String::from_utf8_lossy(&out.stdout).lines().any(|l| l.trim() == "arm64") {
        return Ok(());
    }
    let ok = Command::new("dpkg").args(["--add-architecture", "arm64"]).status();
    if ok.map(|s| s.success()).unwrap_or(false) {
        Ok(())
    } else {
        Err("dpkg --add-architecture arm64 failed".into())
    }
}

/// Where Linux's BPF file system belongs.
const BPFFS: &str = "/sys/fs/bpf";

/// The type of the file system mounted last at `dir`, if any (`findmnt`
/// from util-linux; the directory alone says nothing: on a fresh machine
/// `/sys/fs/bpf` is an empty sysfs directory).
fn mounted_type(dir: &str) -> Option<String> {
    let out =
        Command::new("findmnt").args(["-n", "-o", "FSTYPE", "--mountpoint", dir]).output().ok()?;
    String::from_utf8_lossy(&out.stdout).lines().last().map(|l| l.trim().to_string())
}

/// Mounts a BPF file system at `/sys/fs/bpf` where none is (as root;
/// idempotent). Pins on the Linux backend need it; tests that need it
/// and cannot have it skip with the reason.
fn mount_bpffs() {
    if mounted_type(BPFFS).as_deref() == Some("bpf") {
        println!("setup: BPF file system mounted at {BPFFS}");
        return;
    }
    if !is_root() {
        println!("setup: no BPF file system at {BPFFS}, and not root to mount one: pin tests skip");
        return;
    }
    let ok = Command::new("mount").args(["-t", "bpf", "bpf", BPFFS]).status();
    match (ok.map(|s| s.success()).unwrap_or(false), mounted_type(BPFFS).as_deref()) {
        (true, Some("bpf")) => println!("setup: mounted a BPF file system at {BPFFS}"),
        _ => println!("setup: could not mount a BPF file system at {BPFFS}: pin tests skip"),
    }
}

/// Installs the missing packages and rustup components.
pub fn run() -> Result<(), String> {
    let missing: Vec<&str> = PACKAGES.iter().copied().filter(|p| !installed(p)).collect();
    if missing.is_empty() {
        println!("setup: all {} packages present", PACKAGES.len());
    } else {
        println!("setup: installing {}", missing.join(" "));
        if !is_root() {
            return Err(format!(
                "not root: run `apt-get install -y --no-install-recommends {}` as root",
                missing.join(" ")
            ));
        }
        if missing.iter().any(|p| p.ends_with(":arm64")) {
            add_arm64_architecture()?;
        }
        apt(&["update", "-q"])?;
        let mut args = vec!["install", "-y", "-q", "--no-install-recommends"];
        args.extend(&missing);
        if apt(&args).is_err() {
            apt(&["update", "-q"])?;
            apt(&args)?;
        }
        let still: Vec<&str> = missing.iter().copied().filter(|p| !installed(p)).collect();
        if !still.is_empty() {
            return Err(format!("still missing after install: {}", still.join(" ")));
        }
    }
    mount_bpffs();
    for component in ["rustfmt", "clippy"] {
        let have = Command::new("rustup")
            .args(["component", "list", "--installed"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).lines().any(|l| l.starts_with(component)))
            .unwrap_or(false);
        if !have {
            println!("setup: adding rustup component {component}");
            let ok = Command::new("rustup").args(["component", "add", component]).status();
            if !ok.map(|s| s.success()).unwrap_or(false) {
                println!("setup: could not add {component}; its check will fail");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg_status_parsing() {
        assert!(is_installed_status("install ok installed"));
        assert!(!is_installed_status("deinstall ok config-files"));
        assert!(!is_installed_status(""));
    }

    #[test]
    fn the_package_list_has_the_toolchains() {
        for p in ["rustc-web", "rust-web-src", "clang-22", "qemu-system-x86", "libbpf-dev"] {
            assert!(PACKAGES.contains(&p), "{p}");
        }
    }
}
