//! Axiom's build tool, run as `cargo xtask <command>`.
//!
//! * `setup`: installs, only when missing, the Debian packages the project
//!   needs (root; `apt-get`), and the rustup components.
//! * `build`: the host build of the workspace.
//! * `build-bare`: the no_std crates for `x86_64-unknown-none` and
//!   `aarch64-unknown-none` with Debian's Rust and `-Zbuild-std`.
//! * `test`: set-up, format and lint checks, every test, the bare build.
//! * `run`: the main job (the conformance and engine report, Axiom under
//!   QEMU running its tests, steered live from the host, and the benchmarks).
//! * `parity [--record [--refresh]] [--strict]`: the verifier parity report
//!   against the host kernel (`--strict`: oracle drift fails too).
//! * `bench`: the benchmarks, each against Linux in the same run (the
//!   `axiom-bench` crate's binary, built and run with these arguments).
//! * `kernel [--machine M] [--cpus N] [--append ARGS]`: one boot of the
//!   kernel under QEMU, its console shown (`--machine virt`: arm64).
//! * `rpi5`: the Raspberry Pi 5 boot files in `target/rpi5/boot`.
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use xtask::{bare, qemu, remote, rpi5, setup, steps, workspace};

/// Axiom's build tool.
#[derive(Parser)]
#[command(name = "cargo xtask", about = "Axiom's build tool")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install what the project needs (idempotent).
    Setup,
    /// Build the workspace for the host.
    Build,
    /// Build the no_std crates for the bare-metal targets.
    BuildBare,
    /// Run every check and test.
    Test {
        /// Long fuzz and soak variants (sets AXIOM_LONG_TESTS=1).
        #[arg(long)]
        long: bool,
    },
    /// The main job: set up, build and run the report.
    Run {
        /// The guest's architecture (`aarch64`: Axiom on QEMU `virt`,
        /// steered over its console's UART).
        #[arg(long, value_enum, default_value_t = bare::Arch::X86_64)]
        arch: bare::Arch,
    },
    /// The verifier parity report: the corpus and the conformance suite
    /// through Axiom's verifier and the host kernel's.
    Parity {
        /// First ask Linux for the verdict of cases written `expect: ?`.
        #[arg(long)]
        record: bool,
        /// With `--record`: re-record every case whose verdict the host
        /// kernel no longer gives (oracle drift), naming its release in
        /// the corpus's ORACLE file.
        #[arg(long, requires = "record")]
        refresh: bool,
        /// Fail on oracle drift too, not only on Axiom accepting what
        /// Linux refuses.
        #[arg(long)]
        strict: bool,
    },
    /// The benchmarks (execution engines, verifier, load time, kernel
    /// boot), each against a baseline measured in the same run.
    Bench {
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
        #[arg(long, value_enum, default_value_t = bare::Arch::X86_64)]
        arch: bare::Arch,
        /// The regression check instead: Axiom's quick figures against
        /// the committed baseline (docs/bench/baseline.json); fails only
        /// on a gross regression.
        #[arg(long)]
        quick: bool,
        /// Rewrite the committed baseline from a quick measurement.
        #[arg(long)]
        update_baseline: bool,
    },
    /// Boot Axiom under QEMU and keep it running with its remote `bpf()`
    /// line on `target/axiom-agent.sock`, for `axbpf --remote
    /// target/axiom-agent.sock ...` from another terminal (Ctrl-C ends
    /// it); with `--test`, run the host-to-guest test instead.
    Serve {
        /// The guest's architecture.
        #[arg(long, value_enum, default_value_t = bare::Arch::X86_64)]
        arch: bare::Arch,
        /// vCPUs.
        #[arg(long, default_value_t = 1)]
        cpus: u32,
        /// Run the test of `cargo xtask test`'s remote step and stop.
        #[arg(long)]
        test: bool,
    },
    /// The Raspberry Pi 5 boot files (the arm64 kernel Image, its
    /// initramfs, config.txt, cmdline.txt) in target/rpi5/boot.
    Rpi5,
    /// Build the kernel and boot it once under QEMU, showing its console.
    Kernel {
        /// QEMU machine: `microvm` or `q35` (x86-64), `virt` or
        /// `virt,gic-version=3` (arm64).
        #[arg(long, default_value = "microvm")]
        machine: String,
        /// vCPUs.
        #[arg(long, default_value_t = 1)]
        cpus: u32,
        /// Kernel command line.
        #[arg(long, default_value = "")]
        append: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Setup => setup::run(),
        Command::Build => workspace::cargo_host(&["build", "--workspace"], &[]),
        Command::BuildBare => bare::build(),
        Command::Test { long } => steps::test(long),
        Command::Run { arch } => steps::run(arch),
        Command::Parity { record, refresh, strict } => steps::parity(record, refresh, strict),
        Command::Bench { only, boots, arch, quick, update_baseline } => {
            let mut args: Vec<String> = Vec::new();
            if let Some(o) = only {
                args.extend(["--only".into(), o]);
            }
            if let Some(n) = boots {
                args.extend(["--boots".into(), n.to_string()]);
            }
            if arch == bare::Arch::Aarch64 {
                args.extend(["--arch".into(), "aarch64".into()]);
            }
            if quick {
                args.push("--quick".into());
            }
            if update_baseline {
                args.push("--update-baseline".into());
            }
            steps::bench(&args.iter().map(String::as_str).collect::<Vec<_>>())
        }
        Command::Serve { arch, test: true, .. } => remote::test_on(arch),
        Command::Serve { arch, cpus, test: false } => remote::serve(arch, cpus),
        Command::Rpi5 => rpi5::run(),
        Command::Kernel { machine, cpus, append } => qemu::boot_once(&machine, cpus, &append),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
