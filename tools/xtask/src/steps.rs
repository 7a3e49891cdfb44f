//! The host build steps, `test` and `run`.

use crate::workspace::{cargo_host, timed};

/// A named step of `test`.
type Step<'a> = (&'a str, Box<dyn Fn() -> Result<(), String> + 'a>);

/// Every check and test, in order; stops at the first failure.
pub fn test(long: bool) -> Result<(), String> {
    let env: &[(&str, &str)] = if long { &[("AXIOM_LONG_TESTS", "1")] } else { &[] };
    let steps: Vec<Step> = vec![
        ("setup", Box::new(crate::setup::run)),
        ("cargo fmt --check", Box::new(|| cargo_host(&["fmt", "--all", "--check"], &[]))),
        (
            "cargo clippy",
            Box::new(|| {
                cargo_host(
                    &["clippy", "--workspace", "--all-targets", "--quiet", "--", "-D", "warnings"],
                    &[],
                )
            }),
        ),
        ("cargo test", Box::new(move || cargo_host(&["test", "--workspace"], env))),
        ("build-bare", Box::new(crate::bare::build)),
        ("arm64 JIT under qemu-aarch64", Box::new(move || crate::bare::test_arm64(long))),
        ("kernel under QEMU (x86_64)", Box::new(move || crate::qemu::test(long))),
        (
            "kernel under QEMU (aarch64: virt, GICv2 and GICv3)",
            Box::new(move || crate::qemu::test_arm64_kernel(long)),
        ),
        (
            "Raspberry Pi 5 boot files (the same Image, its header checked)",
            Box::new(crate::rpi5::run),
        ),
        ("bpf() from the host into a running guest", Box::new(crate::remote::test)),
        (
            "bpf() from the host into a running arm64 guest (over its console's UART)",
            Box::new(|| crate::remote::test_on(crate::bare::Arch::Aarch64)),
        ),
        (
            "soak: policies, filters, storm, IIO feed, tracing (10 s; --long 120 s)",
            Box::new(move || crate::qemu::soak(long)),
        ),
        (
            "benchmark regression check (Axiom, quick, against docs/bench/baseline.json)",
            Box::new(|| bench(&["--quick"])),
        ),
    ];

    let mut passed = 0;
    for (name, step) in &steps {
        if let Err(e) = timed(name, step) {
            println!("xtask: {passed} passed, 1 failed");
            return Err(format!("step `{name}` failed: {e}"));
        }
        passed += 1;
    }
    println!("xtask: {passed} passed, 0 failed");
    Ok(())
}

/// The main job: the conformance suite on Axiom's interpreter, JIT and
/// verifier next to the host Linux, with timings; the verifier parity
/// report; Axiom booted under QEMU running its tests; Axiom kept running
/// and steered from the host (its default policy at work, a tick program,
/// the scheduler policy swapped live with the workload's order changing,
/// an IRQ filter dropping a storm, IIO filters on a real sensor's
/// recording fed from the host, a refused policy leaving the running one,
/// the hooks' latency table); the hooks' and system calls' benchmarks.
pub fn run(arch: crate::bare::Arch) -> Result<(), String> {
    if arch == crate::bare::Arch::Aarch64 {
        return run_arm64();
    }
    timed("setup", crate::setup::run)?;
    timed("report", || {
        cargo_host(
            &["run", "--release", "--quiet", "-p", "axiom-tests", "--bin", "axiom-report"],
            &[],
        )
    })?;
    timed("verifier parity", || parity(false, false, false))?;
    timed("Axiom under QEMU", || {
        let kernel = crate::bare::build_kernel()?;
        let b = crate::qemu::boot(&kernel, "microvm", 2, "")?;
        print!("{}", b.console);
        println!(
            "QEMU ({}, microvm, 2 vCPUs, 32 MiB): process start to kernel init {} ms, to exit \
             {:.1} ms, {:?}",
            crate::qemu::accel(),
            b.init_at.map_or("?".into(), |d| format!("{:.1}", d.as_secs_f64() * 1000.0)),
            b.elapsed.as_secs_f64() * 1000.0,
            b.verdict()
        );
        if b.passed() { Ok(()) } else { Err("the kernel did not pass its tests".into()) }
    })?;
    timed(
        "Axiom live, steered from the host: policies, IRQ storm, IIO feed, latency table",
        crate::remote::test,
    )?;
    timed("Axiom's hooks (one boot; `cargo xtask bench --only hooks` takes three)", || {
        bench(&["--only", "hooks", "--boots", "1"])
    })?;
    timed("system calls from a guest process (one boot)", || {
        bench(&["--only", "syscalls", "--boots", "1"])
    })?;
    timed(
        "Axiom and Debian's Linux in the same QEMU (one boot each; `cargo xtask bench --only \
         compare` takes three and publishes the report)",
        || bench(&["--only", "compare", "--boots", "1", "--no-publish"]),
    )
}

/// The main job on arm64: Axiom booted under `qemu-system-aarch64 -M virt`
/// running its tests, then kept running and steered from the host through
/// the remote `bpf()` transport over its console's UART (the default
/// policy at work, a tick program, the scheduler policy swapped live, an
/// IRQ filter on the virtual timer's storm, the IIO decimator, a refused
/// policy, the latency table). The engines' report and the parity report
/// are the host's, the same for both: `cargo xtask run` shows them.
fn run_arm64() -> Result<(), String> {
    timed("setup", crate::setup::run)?;
    timed("Axiom under QEMU (aarch64)", || {
        let kernel = crate::bare::build_kernel_for(crate::bare::Arch::Aarch64)?;
        let b = crate::qemu::boot(&kernel, "virt", 2, "")?;
        print!("{}", b.console);
        println!(
            "QEMU (tcg, virt, Cortex-A76, GICv2, 2 vCPUs, 32 MiB): process start to kernel init \
             {} ms, to exit {:.1} ms, {:?}",
            b.init_at.map_or("?".into(), |d| format!("{:.1}", d.as_secs_f64() * 1000.0)),
            b.elapsed.as_secs_f64() * 1000.0,
            b.verdict()
        );
        if b.passed() { Ok(()) } else { Err("the kernel did not pass its tests".into()) }
    })?;
    timed("Axiom on arm64 live, steered from the host over its console's UART", || {
        crate::remote::test_on(crate::bare::Arch::Aarch64)
    })
}

/// The verifier parity report (`axiom-parity`), optionally recording the
/// verdicts of new corpus cases first (`refresh`: every case whose
/// verdict the host kernel no longer gives); `strict` fails on oracle
/// drift too.
pub fn parity(record: bool, refresh: bool, strict: bool) -> Result<(), String> {
    let mut args =
        vec!["run", "--release", "--quiet", "-p", "axiom-tests", "--bin", "axiom-parity", "--"];
    for (on, flag) in [(record, "--record"), (refresh, "--refresh"), (strict, "--strict")] {
        if on {
            args.push(flag);
        }
    }
    cargo_host(&args, &[])
}

/// The benchmarks (`axiom-bench`, built for speed) with `args`.
pub fn bench(args: &[&str]) -> Result<(), String> {
    let mut all = vec!["run", "--release", "--quiet", "-p", "axiom-bench", "--"];
    all.extend(args);
    cargo_host(&all, &[])
}
