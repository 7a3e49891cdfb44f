//! The kernel's own benchmarks, each from boots of Axiom under QEMU:
//! boot time against QEMU's floor, system calls from a guest process next
//! to the same program on this host, hook dispatch. Each prints medians;
//! none asserts anything.

use std::process::Command;
use std::time::Duration;
use xtask::qemu::{accel, boot, field};

/// The median of `v` (0 for none).
pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The boot benchmark: `runs` boots of the kernel on `microvm` (1 and 2
/// vCPUs) against the floor measured in the same run (the same image told
/// to exit at its first instruction: QEMU and firmware alone). Prints the
/// medians and ratios; asserts nothing.
pub fn bench_boot(runs: usize) -> Result<(), String> {
    let kernel = xtask::bare::build_kernel()?;
    let ms = |d: Option<Duration>| d.map(|d| d.as_secs_f64() * 1000.0);
    // A boot to warm the host's caches (the image and the initramfs),
    // not counted.
    boot(&kernel, "microvm", 1, "axiom.bench=entry")?;
    /// One configuration's samples.
    #[derive(Default)]
    struct Samples {
        host: Vec<f64>,
        init: Vec<f64>,
        up: Vec<f64>,
        foot: Vec<f64>,
        mean: Vec<f64>,
        jitter: Vec<f64>,
    }
    let mut floor = Vec::new();
    let mut configs = [Samples::default(), Samples::default()];
    // Interleaved, so that the host's noise falls on every column alike.
    for _ in 0..runs {
        let b = boot(&kernel, "microvm", 1, "axiom.bench=entry")?;
        floor.extend(ms(b.init_at));
        for (cpus, s) in [1u32, 2].into_iter().zip(configs.iter_mut()) {
            let b = boot(&kernel, "microvm", cpus, "")?;
            if !b.passed() {
                return Err(format!("boot failed: {:?}\n{}", b.verdict(), b.console));
            }
            s.host.extend(ms(b.init_at));
            let f = |p: &str| field(&b.console, p).map(|v| v as f64);
            s.init.extend(f("init reached "));
            // The last processor's arrival (the boot CPU's init if alone).
            let last_up = b
                .console
                .lines()
                .filter(|l| l.contains("online ") && l.contains(" us after kernel entry"))
                .filter_map(|l| field(l, "online "))
                .max();
            s.up.extend(last_up.map(|v| v as f64).or(f("init reached ")));
            s.foot.extend(f("footprint "));
            s.mean.extend(f("interval mean "));
            s.jitter.extend(f("jitter (stddev) "));
        }
    }
    let floor = median(floor);
    println!(
        "kernel boot on microvm, 32 MiB, {}, median of {runs} boots (floor: QEMU start to the \
         kernel's first line, exiting at entry: {floor:.1} ms)",
        accel()
    );
    println!(
        "{:<8} {:>14} {:>10} {:>14} {:>16} {:>12} {:>14} {:>12}",
        "vCPUs",
        "QEMU→init ms",
        "vs floor",
        "entry→init µs",
        "all CPUs up µs",
        "footprint KiB",
        "tick mean µs",
        "jitter µs"
    );
    for (cpus, s) in [1, 2].into_iter().zip(configs) {
        let host = median(s.host);
        println!(
            "{cpus:<8} {host:>14.1} {:>9.2}x {:>14.0} {:>16.0} {:>12.0} {:>14.0} {:>12.0}",
            host / floor.max(1e-9),
            median(s.init),
            median(s.up),
            median(s.foot),
            median(s.mean),
            median(s.jitter)
        );
    }
    Ok(())
}

/// One `BENCH <name> <iters> <total_ns> <per_iter_ns> [min= median= max=]`
/// line: the name, the per-iteration time and the median (the sampled
/// median where the line has one).
pub fn parse_bench(line: &str) -> Option<(String, f64)> {
    let mut words = line.strip_prefix("BENCH ")?.split_whitespace();
    let name = words.next()?.to_string();
    let per_iter: f64 = words.nth(2)?.parse().ok()?;
    let median = words.find_map(|w| w.strip_prefix("median=")).and_then(|m| m.parse().ok());
    Some((name, median.unwrap_or(per_iter)))
}

/// Boots the kernel `boots` times with `append` and collects the `BENCH`
/// lines it prints: each figure's values over the boots, in first-seen
/// order.
fn bench_boots(append: &str, boots: usize) -> Result<Vec<(String, Vec<f64>)>, String> {
    let kernel = xtask::bare::build_kernel()?;
    let mut figures: Vec<(String, Vec<f64>)> = Vec::new();
    for _ in 0..boots {
        let b = boot(&kernel, "microvm", 1, append)?;
        if !b.passed() {
            return Err(format!("bench boot ({append}) failed: {:?}\n{}", b.verdict(), b.console));
        }
        for (name, ns) in b.console.lines().filter_map(parse_bench) {
            match figures.iter_mut().find(|(n, _)| *n == name) {
                Some((_, v)) => v.push(ns),
                None => figures.push((name, vec![ns])),
            }
        }
    }
    Ok(figures)
}

/// The system-call benchmark (`user/bench`): `boots` boots of the kernel
/// with `axiom.bench=user`, the median of each figure over them, next to
/// the same static program run on this host's Linux (natively: the
/// reference Linux-in-the-same-QEMU column comes with the benchmarks
/// issue). Prints the figures; asserts nothing.
pub fn bench_user(boots: usize) -> Result<(), String> {
    let axiom = bench_boots("axiom.bench=user", boots)?;
    let bin = xtask::workspace::repo_root().join("target-user/rootfs/bin/bench");
    let host = Command::new(&bin).output().map_err(|e| format!("{}: {e}", bin.display()))?;
    let host: Vec<(String, f64)> =
        String::from_utf8_lossy(&host.stdout).lines().filter_map(parse_bench).collect();
    println!(
        "system calls from a user process (user/bench), Axiom on microvm 1 vCPU under {}: \
         median of {boots} boots; host Linux natively, for reference",
        accel()
    );
    println!("{:<20} {:>14} {:>16}", "figure", "Axiom ns", "host Linux ns");
    // The boot clock compares kernels booted alike (`bench --only
    // compare`), not a guest with a host up for days.
    for (name, v) in axiom.into_iter().filter(|(n, _)| n != "boot_clock") {
        let h =
            host.iter().find(|(n, _)| *n == name).map_or("-".into(), |(_, x)| format!("{x:.0}"));
        println!("{name:<20} {:>14.0} {h:>16}", median(v));
    }
    Ok(())
}

/// The hooks benchmark: `boots` boots with `axiom.bench=hooks` (a second
/// of traced dispatches with the default scheduler, a tick program and
/// an IRQ filter under a 1 kHz RTC storm; then the cost of a scheduling
/// decision under the BPF policy and the fallback). Prints the median of
/// each figure's medians (and of its p99 and max); asserts nothing.
pub fn bench_hooks(boots: usize) -> Result<(), String> {
    let kernel = xtask::bare::build_kernel()?;
    let mut rows: Vec<(String, Vec<[f64; 3]>)> = Vec::new();
    for _ in 0..boots {
        let b = boot(&kernel, "microvm", 1, "axiom.bench=hooks")?;
        if !b.passed() {
            return Err(format!("bench boot failed: {:?}\n{}", b.verdict(), b.console));
        }
        for line in b.console.lines().filter(|l| l.starts_with("BENCH ")) {
            let Some((name, median)) = parse_bench(line) else { continue };
            let field = |k: &str| {
                line.split_whitespace().find_map(|w| w.strip_prefix(k)).and_then(|v| v.parse().ok())
            };
            let sample = [median, field("p99=").unwrap_or(median), field("max=").unwrap_or(median)];
            match rows.iter_mut().find(|(n, _)| *n == name) {
                Some((_, v)) => v.push(sample),
                None => rows.push((name, vec![sample])),
            }
        }
    }
    println!(
        "hook dispatch on microvm 1 vCPU under {}, median over {boots} boots (ns; the tick's \
         event is its timer's deadline, the IRQ's the handler's entry, the IIO's the scan's \
         timestamp, the scheduler's the scheduling point)",
        accel()
    );
    println!("{:<28} {:>10} {:>10} {:>10}", "figure", "p50", "p99", "max");
    for (name, v) in rows {
        let col = |i: usize| median(v.iter().map(|s| s[i]).collect());
        println!("{name:<28} {:>10.0} {:>10.0} {:>10.0}", col(0), col(1), col(2));
    }
    Ok(())
}
