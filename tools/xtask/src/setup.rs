//! Installing what the project needs, only when it is missing.

use std::process::Command;

/// Debian packages: Rust 1.96 for bare metal (rustc-web, cargo-web,
/// rust-web-src, and rust-web-clippy to lint the kernel), LLVM 22 for BPF objects, QEMU, libbpf headers and
/// bpftool, the arm64 cross toolchain for running arm64 code in tests,
/// cpio for the kernel's initramfs, xz for unpacking Linux's `vmlinuz`
/// (the benchmarks' baseline guest), and a font for the plots' labels.
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
];

/// Whether `dpkg-query` output says the package is installed.
pub fn is_installed_status(status: &str) -> bool {
    status.trim() == "install ok installed"
}

fn installed(pkg: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .output()
        .map(|o| o.status.success() && is_installed_status(&String::from_utf8_lossy(&o.stdout)))
        .unwrap_or(false)
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
