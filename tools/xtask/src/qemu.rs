//! The kernel under QEMU: boots the x86-64 image on `microvm` and `q35`
//! with 1 and 2 vCPUs in 32 MiB, reads its test results on the serial
//! console and its verdict from `isa-debug-exit` (QEMU exits with 1 for
//! success, 3 for failure; a crash or a hang gives neither).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// One boot: the console text, QEMU's exit status, the wall time.
pub struct Boot {
    /// Everything the kernel printed.
    pub console: String,
    /// QEMU's exit status (`None`: killed by the timeout).
    pub status: Option<i32>,
    /// From starting QEMU to its exit.
    pub elapsed: Duration,
}

/// Whether this host can use KVM (hardware virtualization in the CPU
/// flags); otherwise TCG, as DESIGN.md explains.
pub fn accel() -> &'static str {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let hw = cpuinfo
        .lines()
        .any(|l| l.starts_with("flags") && (l.contains(" vmx") || l.contains(" svm")));
    if hw && Path::new("/dev/kvm").exists() { "kvm" } else { "tcg" }
}

/// Boots `kernel` on `machine` with `cpus` vCPUs and an optional command
/// line.
pub fn boot(kernel: &Path, machine: &str, cpus: u32, append: &str) -> Result<Boot, String> {
    let mut cmd = Command::new("timeout");
    cmd.args(["60", "qemu-system-x86_64", "-M", machine, "-m", "32M"])
        .args(["-smp", &cpus.to_string(), "-accel", accel()])
        .arg("-kernel")
        .arg(kernel)
        .args(["-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio"])
        .args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]);
    if !append.is_empty() {
        cmd.args(["-append", append]);
    }
    let start = Instant::now();
    let out =
        cmd.output().map_err(|e| format!("qemu-system-x86_64: {e} (run `cargo xtask setup`)"))?;
    let elapsed = start.elapsed();
    let console = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    // `timeout` exits with 124 when it had to stop QEMU.
    let status = out.status.code().filter(|&c| c != 124);
    Ok(Boot { console, status, elapsed })
}

/// The in-QEMU tests on every machine and vCPU count, and runs with a
/// deliberately failing test and a deliberate page fault that the
/// harness must report as failures.
pub fn test() -> Result<(), String> {
    let kernel = crate::bare::build_kernel()?;
    let mut failures = Vec::new();
    for machine in ["microvm", "q35"] {
        for cpus in [1, 2] {
            let b = boot(&kernel, machine, cpus, "")?;
            let passed = b
                .console
                .lines()
                .any(|l| l.starts_with("axiom: all ") && l.ends_with(" tests passed"));
            let tests = b.console.lines().filter(|l| l.starts_with("test ")).count();
            println!(
                "kernel on {machine}, {cpus} vCPU(s), {}: {tests} tests, exit {:?}, {:.0} ms",
                accel(),
                b.status,
                b.elapsed.as_secs_f64() * 1000.0
            );
            if b.status != Some(1) || !passed {
                failures.push(format!("{machine} x{cpus}: exit {:?}\n{}", b.status, b.console));
            }
        }
    }
    // The harness must see a failure as a failure.
    let b = boot(&kernel, "microvm", 1, "axiom.test=fail")?;
    if b.status != Some(3) || !b.console.contains("... FAILED") {
        failures.push(format!(
            "a failing kernel test was not reported: exit {:?}\n{}",
            b.status, b.console
        ));
    } else {
        println!("kernel with a deliberately failing test: exit 3, reported");
    }
    // An exception must be reported with its vector and address.
    let b = boot(&kernel, "microvm", 1, "axiom.test=fault")?;
    if b.status != Some(3) || !b.console.contains("exception 14 (page fault)") {
        failures.push(format!("a page fault was not reported: exit {:?}\n{}", b.status, b.console));
    } else {
        println!("kernel with a deliberate page fault: exit 3, reported");
    }
    // W^X: a write to kernel text must fault (present page, write: error 3).
    let b = boot(&kernel, "microvm", 1, "axiom.test=wx")?;
    if b.status != Some(3)
        || !b.console.contains("exception 14 (page fault)")
        || !b.console.contains("error 0x3")
    {
        failures.push(format!(
            "a write to kernel text did not fault: exit {:?}\n{}",
            b.status, b.console
        ));
    } else {
        println!("kernel writing to its own text: page fault, exit 3 (W^X holds)");
    }
    if failures.is_empty() { Ok(()) } else { Err(failures.join("\n")) }
}
