//! The bare-metal build: Debian's Rust 1.96 (`/usr/bin/cargo`,
//! `/usr/bin/rustc`) builds `core` and `alloc` from `rust-web-src` with
//! `-Zbuild-std` (`RUSTC_BOOTSTRAP=1`, as Linux builds its Rust), into its
//! own target directory so that the two compilers never invalidate each
//! other's caches.

use crate::workspace::{debian_cargo, repo_root, timed};
use std::process::Command;

pub use crate::workspace::Arch;

/// The bare-metal targets.
pub const TARGETS: &[&str] = &["x86_64-unknown-none", "aarch64-unknown-none"];

/// The no_std crates every target must build.
pub const CRATES: &[&str] =
    &["axiom-abi", "axiom-jit", "axiom-verifier", "axiom-bpf", "axiom-loader"];

/// Builds [`CRATES`] for every target, and lints the kernel for its
/// bare-metal target (the host lint sees only its host stub).
pub fn build() -> Result<(), String> {
    for target in TARGETS {
        timed(&format!("build-bare {target}"), || build_target(target))?;
    }
    timed("clippy, kernel for x86_64-unknown-none", || clippy_kernel("x86_64-unknown-none"))?;
    timed("clippy, kernel for aarch64-unknown-none-softfloat", || {
        clippy_kernel("aarch64-unknown-none-softfloat")
    })
}

/// Debian's clippy on the kernel for `target`, warnings denied, in
/// `target-clippy`.
fn clippy_kernel(target: &str) -> Result<(), String> {
    let cmd = debian_cargo();
    // `cargo clippy` would find rustup's proxy in CARGO_HOME first: run
    // Debian's `cargo-clippy` itself, with Debian's tools first on PATH.
    let mut clippy = Command::new("/usr/bin/cargo-clippy");
    clippy.current_dir(repo_root());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => clippy.env(k, v),
            None => clippy.env_remove(k),
        };
    }
    clippy
        .env("CARGO", "/usr/bin/cargo")
        .env("PATH", format!("/usr/bin:/bin:{}", std::env::var("PATH").unwrap_or_default()))
        .args(["clippy", "--release", "-p", "axiom-kernel", "--target", target])
        .args([
            "-Zbuild-std=core,alloc,compiler_builtins",
            "-Zbuild-std-features=compiler-builtins-mem",
        ])
        .args(["--target-dir", "target-clippy", "--", "-D", "warnings"]);
    let status = clippy
        .status()
        .map_err(|e| format!("/usr/bin/cargo-clippy: {e} (run `cargo xtask setup`)"))?;
    if status.success() { Ok(()) } else { Err("clippy found problems in the kernel".into()) }
}

/// The arm64 JIT's execution tests: `tests/tests/jit_aarch64.rs` built for
/// `aarch64-unknown-linux-gnu` (std from `rust-web-src`, linked by
/// `aarch64-linux-gnu-gcc`) and run under `qemu-aarch64` with the cross
/// libraries, in `target-arm64`.
pub fn test_arm64(long: bool) -> Result<(), String> {
    let mut cmd = debian_cargo();
    cmd.args(["test", "-p", "axiom-tests", "--test", "jit_aarch64"])
        .args(["--target", "aarch64-unknown-linux-gnu", "-Zbuild-std"])
        .args(["--target-dir", "target-arm64"])
        .env("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER", "aarch64-linux-gnu-gcc")
        .env(
            "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER",
            // The cross libraries only: with dpkg's arm64 architecture
            // added (setup does, for the arm64 libbpf), the host's
            // ld.so.cache also lists Debian's native arm64 glibc, and a mix
            // of the two hangs the program.
            "qemu-aarch64 -L /usr/aarch64-linux-gnu -E LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib",
        )
        .args(["--", "--nocapture"]);
    if long {
        cmd.env("AXIOM_LONG_TESTS", "1");
    }
    let status =
        cmd.status().map_err(|e| format!("/usr/bin/cargo: {e} (run `cargo xtask setup`)"))?;
    if status.success() { Ok(()) } else { Err("arm64 tests under qemu-aarch64 failed".into()) }
}

/// Builds the x86-64 kernel and its initramfs; returns the image's path.
pub fn build_kernel() -> Result<std::path::PathBuf, String> {
    build_kernel_for(Arch::X86_64)
}

/// Builds `arch`'s kernel (static relocation model, linked by `ld.lld-22`
/// with its linker script) into `target-kernel`, and its initramfs;
/// returns the image's path: x86-64's ELF, arm64's `Image` (the ELF's
/// loadable bytes, `llvm-objcopy-22 -O binary`). arm64's kernel is built
/// for `aarch64-unknown-none-softfloat`: kernel code never touches the
/// FP and SIMD registers, which only user programs' contexts keep.
pub fn build_kernel_for(arch: Arch) -> Result<std::path::PathBuf, String> {
    let target = match arch {
        Arch::X86_64 => "x86_64-unknown-none",
        Arch::Aarch64 => "aarch64-unknown-none-softfloat",
    };
    let env = target.to_uppercase().replace('-', "_");
    let mut cmd = debian_cargo();
    cmd.args(["build", "--release", "-p", "axiom-kernel", "--target", target])
        .args([
            "-Zbuild-std=core,alloc,compiler_builtins",
            "-Zbuild-std-features=compiler-builtins-mem",
        ])
        .args(["--target-dir", "target-kernel"])
        .env(format!("CARGO_TARGET_{env}_LINKER"), "ld.lld-22")
        .env(format!("CARGO_TARGET_{env}_RUSTFLAGS"), "-C relocation-model=static")
        // Optimised for size: under TCG, boot time is mostly the
        // translation of code the first time it runs (measured: entry to
        // init about a fifth shorter than at opt-level 3).
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "s");
    let status =
        cmd.status().map_err(|e| format!("/usr/bin/cargo: {e} (run `cargo xtask setup`)"))?;
    if !status.success() {
        return Err(format!("kernel build for {arch} failed"));
    }
    crate::user::build_initramfs_for(arch)?;
    let elf = repo_root().join(format!("target-kernel/{target}/release/axiom-kernel"));
    if arch == Arch::X86_64 {
        return Ok(elf);
    }
    let image = repo_root().join("target-kernel/aarch64-Image");
    let status = Command::new("llvm-objcopy-22")
        .args(["-O", "binary"])
        .arg(&elf)
        .arg(&image)
        .status()
        .map_err(|e| format!("llvm-objcopy-22: {e} (run `cargo xtask setup`)"))?;
    if status.success() { Ok(image) } else { Err("llvm-objcopy-22 failed".into()) }
}

fn build_target(target: &str) -> Result<(), String> {
    let mut cmd = debian_cargo();
    cmd.args(["build", "--release", "--target", target])
        .args([
            "-Zbuild-std=core,alloc,compiler_builtins",
            "-Zbuild-std-features=compiler-builtins-mem",
        ])
        .args(["--target-dir", "target-bare"])
        .args(["--features", "axiom-abi/alloc"]);
    for c in CRATES {
        cmd.args(["-p", c]);
    }
    let status =
        cmd.status().map_err(|e| format!("/usr/bin/cargo: {e} (run `cargo xtask setup`)"))?;
    if status.success() { Ok(()) } else { Err(format!("bare-metal build for {target} failed")) }
}
