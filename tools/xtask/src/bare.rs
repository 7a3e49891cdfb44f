//! The bare-metal build: Debian's Rust 1.96 (`/usr/bin/cargo`,
//! `/usr/bin/rustc`) builds `core` and `alloc` from `rust-web-src` with
//! `-Zbuild-std` (`RUSTC_BOOTSTRAP=1`, as Linux builds its Rust), into its
//! own target directory so that the two compilers never invalidate each
//! other's caches.

use crate::steps::{repo_root, timed};
use std::process::Command;

/// The bare-metal targets.
pub const TARGETS: &[&str] = &["x86_64-unknown-none", "aarch64-unknown-none"];

/// The no_std crates every target must build.
pub const CRATES: &[&str] = &["axiom-abi", "axiom-jit", "axiom-verifier", "axiom-bpf"];

/// Builds [`CRATES`] for every target.
pub fn build() -> Result<(), String> {
    for target in TARGETS {
        timed(&format!("build-bare {target}"), || build_target(target))?;
    }
    Ok(())
}

fn build_target(target: &str) -> Result<(), String> {
    let root = repo_root();
    let mut cmd = Command::new("/usr/bin/cargo");
    cmd.current_dir(&root)
        .args(["build", "--release", "--target", target])
        .args([
            "-Zbuild-std=core,alloc,compiler_builtins",
            "-Zbuild-std-features=compiler-builtins-mem",
        ])
        .args(["--target-dir", "target-bare"])
        .args(["--features", "axiom-abi/alloc"]);
    for c in CRATES {
        cmd.args(["-p", c]);
    }
    // A cargo started by `cargo run` inherits the rustup toolchain's
    // variables; the Debian toolchain must not see them.
    for (k, _) in std::env::vars() {
        if k.starts_with("CARGO")
            || k.starts_with("RUSTUP")
            || k == "RUSTFLAGS"
            || k == "RUSTC_WRAPPER"
        {
            cmd.env_remove(&k);
        }
    }
    cmd.env("RUSTC", "/usr/bin/rustc").env("RUSTC_BOOTSTRAP", "1");
    let status =
        cmd.status().map_err(|e| format!("/usr/bin/cargo: {e} (run `cargo xtask setup`)"))?;
    if status.success() { Ok(()) } else { Err(format!("bare-metal build for {target} failed")) }
}
