//! Axiom's benchmarks, each against a baseline measured in the same run:
//! the execution engines, the verifier and load time against the host's
//! Linux (`cargo bench` of the tests and of axbpf), the kernel's boot,
//! system calls and hook dispatch from boots under QEMU (`boots`), Axiom
//! next to Debian's Linux booted in the same QEMU on x86-64 and arm64
//! (`compare`, `compare_arm64`, with `linux` fetching the kernels,
//! `stats`, `plot` and `report` writing the results), and the quick
//! regression check against the committed baseline (`regress`).
//! `cargo xtask bench` runs it; the build tool itself only builds and
//! boots.
#![forbid(unsafe_code)]

mod boots;
mod compare;
mod compare_arm64;
mod figures;
mod linux;
mod plot;
mod regress;
mod report;
mod stats;

use clap::Parser;
use std::process::ExitCode;
use xtask::bare::Arch;
use xtask::workspace::{cargo_host, timed};

/// Axiom's benchmarks.
#[derive(Parser)]
#[command(
    name = "axiom-bench",
    about = "Axiom's benchmarks, each against a baseline in the same run"
)]
struct Cli {
    /// Only this one: `jit`, `verifier`, `load`, `boot`, `syscalls`,
    /// `hooks` or `compare` (Axiom and Linux in the same QEMU).
    #[arg(long)]
    only: Option<String>,
    /// Boots per kernel (default: 3 for `compare`, `syscalls` and
    /// `hooks`, 11 for `boot`).
    #[arg(long)]
    boots: Option<usize>,
    /// `compare` on this architecture (`aarch64`: Axiom and Debian's
    /// arm64 Linux, with and without KASLR, in QEMU `virt`).
    #[arg(long, value_enum, default_value_t = Arch::X86_64)]
    arch: Arch,
    /// The regression check instead: Axiom's quick figures against the
    /// committed baseline (docs/bench/baseline.json); fails only on a
    /// gross regression.
    #[arg(long)]
    quick: bool,
    /// Rewrite the committed baseline from a quick measurement.
    #[arg(long)]
    update_baseline: bool,
    /// `compare` prints its table only: no JSON, plots or docs written.
    #[arg(long)]
    no_publish: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = if cli.update_baseline || cli.quick {
        regress::run(cli.update_baseline)
    } else {
        bench(&cli)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("axiom-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Every benchmark asked for, in order.
fn bench(cli: &Cli) -> Result<(), String> {
    let only = cli.only.as_deref();
    let all = ["jit", "verifier", "load", "boot", "syscalls", "hooks", "compare"];
    if let Some(o) = only.filter(|o| !all.contains(o)) {
        return Err(format!("no benchmark `{o}`: one of {}", all.join(", ")));
    }
    let want = |name: &str| only.is_none_or(|o| o == name);
    let boots = |default: usize| cli.boots.unwrap_or(default);
    let publish = !cli.no_publish;
    for (name, package, bench) in [
        ("jit", "axiom-tests", "jit"),
        ("verifier", "axiom-tests", "verifier"),
        ("load", "axbpf", "load"),
    ] {
        if want(name) {
            timed(&format!("bench {name}"), || {
                cargo_host(&["bench", "-q", "-p", package, "--bench", bench], &[])
            })?;
        }
    }
    if want("boot") {
        timed("bench kernel boot", || boots::bench_boot(boots(11)))?;
    }
    if want("syscalls") {
        timed("bench system calls", || boots::bench_user(boots(3)))?;
    }
    if want("hooks") {
        timed("bench hooks", || boots::bench_hooks(boots(3)))?;
    }
    if want("compare") && cli.arch == Arch::X86_64 {
        timed("bench Axiom and Linux in the same QEMU", || compare::run(boots(3), publish))?;
    }
    if cli.arch == Arch::Aarch64 || only.is_none() {
        timed("bench Axiom and Linux in the same QEMU, arm64 (virt)", || {
            compare_arm64::run(boots(3), publish)
        })?;
    }
    Ok(())
}
