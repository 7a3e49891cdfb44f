//! The workspace and the commands run in it: its root, the architectures
//! it builds the kernel for, the host's `cargo` and Debian's (bare
//! metal), a named and timed step. Everything else in the build tool
//! stands on these.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

/// The workspace root.
pub fn repo_root() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    dir.join("../..").canonicalize().unwrap_or(dir)
}

/// Runs `f`, printing the step's name and duration.
pub fn timed(name: &str, f: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    println!("==> {name}");
    let start = Instant::now();
    let r = f();
    let secs = start.elapsed().as_secs_f64();
    match &r {
        Ok(()) => println!("==> {name}: ok ({secs:.1} s)"),
        Err(e) => println!("==> {name}: FAILED ({secs:.1} s): {e}"),
    }
    r
}

/// Runs the rustup `cargo` of this invocation with `args`.
pub fn cargo_host(args: &[&str], env: &[(&str, &str)]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(repo_root()).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let status = cmd.status().map_err(|e| format!("cargo: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("cargo {} failed", args.join(" "))) }
}

/// An architecture the kernel runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Arch {
    /// x86-64: an ELF with a PVH entry, QEMU `microvm` or `q35`.
    #[value(name = "x86_64")]
    X86_64,
    /// arm64: a Linux arm64 Image, QEMU `virt` or a Raspberry Pi 5.
    #[value(name = "aarch64")]
    Aarch64,
}

impl std::fmt::Display for Arch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        })
    }
}

/// Debian's cargo with the variables a rustup-started cargo leaves
/// behind removed, `RUSTC` pointing at Debian's compiler and unstable
/// options allowed.
pub fn debian_cargo() -> Command {
    let mut cmd = Command::new("/usr/bin/cargo");
    cmd.current_dir(repo_root());
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
    cmd
}
