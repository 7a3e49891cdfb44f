//! The kernel under QEMU: boots the x86-64 image (with its initramfs) on
//! `microvm` and `q35`, and the arm64 Image on `virt` (GICv2 and GICv3,
//! entered at EL1 and at EL2, and with a Pi-shaped device tree), with 1
//! and 2 vCPUs in 32 MiB; reads its test results on the serial console
//! and its verdict from `isa-debug-exit` or semihosting (QEMU exits with
//! `axiom_abi::verdict`'s PASS or FAIL status, which QEMU never gives on
//! its own; a bad option, a crash or a hang gives neither).

use axiom_abi::verdict::Verdict;
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
    /// From starting QEMU to the kernel's `axiom: init reached` line (or,
    /// booted with `axiom.bench=entry`, its `axiom: entry` line).
    pub init_at: Option<Duration>,
    /// From starting QEMU to the first `BENCH ` line.
    pub bench_at: Option<Duration>,
}

impl Boot {
    /// The kernel's verdict, read from QEMU's exit status.
    pub fn verdict(&self) -> Verdict {
        Verdict::of(self.status)
    }

    /// Whether the kernel said its tests passed.
    pub fn passed(&self) -> bool {
        self.verdict() == Verdict::Passed
    }

    /// Whether the kernel said something failed (a test, a panic, an
    /// exception): a verdict, not QEMU failing by itself.
    pub fn failed(&self) -> bool {
        self.verdict() == Verdict::Failed
    }
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

/// What to boot, and on what.
pub struct Machine<'a> {
    /// The kernel (an ELF with a PVH entry note).
    pub kernel: &'a Path,
    /// Its initramfs.
    pub initrd: &'a Path,
    /// QEMU machine: `microvm` or `q35`.
    pub machine: &'a str,
    /// vCPUs.
    pub cpus: u32,
    /// Guest memory (`-m`).
    pub memory: &'a str,
    /// CPU model (`-cpu`), QEMU's default when `None`.
    pub cpu: Option<&'a str>,
    /// Kernel command line.
    pub append: &'a str,
    /// Seconds before QEMU is stopped.
    pub timeout_s: u32,
    /// More QEMU arguments (devices).
    pub extra: &'a [&'a str],
}

/// Boots `kernel` on `machine` with `cpus` vCPUs and an optional command
/// line.
pub fn boot(kernel: &Path, machine: &str, cpus: u32, append: &str) -> Result<Boot, String> {
    let initrd = crate::user::initramfs_path_for(arch_of(machine));
    boot_machine(&Machine {
        kernel,
        initrd: &initrd,
        machine,
        cpus,
        memory: "32M",
        cpu: None,
        append,
        timeout_s: 60,
        extra: &[],
    })
}

/// Boots `m`, reading its console as it comes. A `virt` machine is
/// arm64 (`qemu-system-aarch64`, TCG, a Cortex-A76 as in the Raspberry Pi 5, unless `cpu` says
/// otherwise; the verdict through semihosting), any other x86-64 (the
/// verdict through `isa-debug-exit`): either way [`Boot::verdict`] reads
/// it from QEMU's exit status.
pub fn boot_machine(m: &Machine) -> Result<Boot, String> {
    let arm64 = m.machine.starts_with("virt");
    let qemu = if arm64 { "qemu-system-aarch64" } else { "qemu-system-x86_64" };
    let mut cmd = Command::new("timeout");
    cmd.args([&m.timeout_s.to_string(), qemu, "-M", m.machine, "-m", m.memory])
        .args(["-smp", &m.cpus.to_string(), "-accel", if arm64 { "tcg" } else { accel() }])
        .arg("-kernel")
        .arg(m.kernel)
        .arg("-initrd")
        .arg(m.initrd)
        .args(["-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio", "-no-reboot"]);
    if arm64 {
        cmd.args(["-semihosting", "-cpu", m.cpu.unwrap_or("cortex-a76")]);
    } else {
        cmd.args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]);
        if let Some(cpu) = m.cpu {
            cmd.args(["-cpu", cpu]);
        }
    }
    cmd.args(m.extra);
    if !m.append.is_empty() {
        cmd.args(["-append", m.append]);
    }
    let start = Instant::now();
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("{qemu}: {e} (run `cargo xtask setup`)"))?;
    // Read the console as it comes, to time the init line and the first
    // benchmark line.
    let mut stdout = child.stdout.take().ok_or("no QEMU stdout")?;
    let mut bytes = Vec::new();
    let (mut init_at, mut bench_at) = (None, None);
    let mut buf = [0u8; 4096];
    loop {
        let n = std::io::Read::read(&mut stdout, &mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        bytes.extend_from_slice(&buf[..n]);
        if init_at.is_none()
            && (bytes.windows(19).any(|w| w == b"axiom: init reached")
                || bytes.windows(13).any(|w| w == b"axiom: entry\r"))
        {
            init_at = Some(start.elapsed());
        }
        if bench_at.is_none() && bytes.windows(6).any(|w| w == b"BENCH ") {
            bench_at = Some(start.elapsed());
        }
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let elapsed = start.elapsed();
    let mut console = String::from_utf8_lossy(&bytes).replace('\r', "");
    console.push_str(&String::from_utf8_lossy(&out.stderr));
    // `timeout` exits with 124 when it had to stop QEMU.
    let status = out.status.code().filter(|&c| c != 124);
    Ok(Boot { console, status, elapsed, init_at, bench_at })
}

/// Runs the initramfs's `/bin/<program>` on the host and compares its
/// `<program>: ` lines with those the kernel's run printed: the same
/// static binary, the same observable results on Linux and Axiom. Skips
/// (saying why) where the host refuses `bpf()`.
fn compare_with_linux(console: &str, program: &str) -> Result<(), String> {
    let prefix = format!("{program}: ");
    // The program's first run, up to its verdict (a later run in another
    // mode prints with the same prefix).
    let mut axiom: Vec<&str> = Vec::new();
    for l in console.lines().filter(|l| l.starts_with(&prefix)) {
        axiom.push(l);
        if l.ends_with(" failed") {
            break;
        }
    }
    let bin = crate::workspace::repo_root().join("target-user/rootfs/bin").join(program);
    let out = Command::new(&bin).output().map_err(|e| format!("{}: {e}", bin.display()))?;
    let host = String::from_utf8_lossy(&out.stdout).into_owned();
    let linux: Vec<&str> = host.lines().filter(|l| l.starts_with(&prefix)).collect();
    if linux.first().is_some_and(|l| l.contains("EPERM") || l.contains("ENOSYS")) {
        println!("{program} not compared with the host: its bpf() is refused ({})", linux[0]);
        return Ok(());
    }
    let width = linux.iter().map(|l| l.len() - prefix.len()).max().unwrap_or(0).min(60);
    println!("{program}, side by side:");
    println!("  {:<width$}   Axiom", "Linux (host)");
    let mut differ = 0;
    for i in 0..linux.len().max(axiom.len()) {
        let (l, a) = (linux.get(i).copied().unwrap_or("-"), axiom.get(i).copied().unwrap_or("-"));
        let (l, a) = (l.trim_start_matches(&prefix), a.trim_start_matches(&prefix));
        let mark = if l == a { " " } else { "≠" };
        differ += usize::from(l != a);
        println!("  {l:<width$} {mark} {a}");
    }
    if differ > 0 || axiom.is_empty() {
        return Err(format!("{program}: {differ} lines differ between Linux and Axiom"));
    }
    println!("{program}: {} lines, the same on Linux and Axiom", linux.len());
    Ok(())
}

/// The guest's `axbpf$ <args>` blocks (each command and its output, run
/// time figures blanked), compared with the same static `axbpf` run with
/// the same arguments and objects on the host.
fn compare_axbpf_with_linux(console: &str) -> Result<(), String> {
    let blank = |l: &str| -> String {
        match l.find("duration ") {
            Some(i) => format!("{}duration N ns", &l[..i]),
            None => l.to_string(),
        }
    };
    let mut guest: Vec<(String, Vec<String>)> = Vec::new();
    for line in console.lines() {
        if let Some(cmd) = line.strip_prefix("axbpf$ ") {
            if cmd == "end" {
                break;
            }
            guest.push((cmd.to_string(), Vec::new()));
        } else if let Some((_, out)) = guest.last_mut()
            && !line.starts_with("test ")
            && !line.starts_with("axiom: ")
        {
            out.push(blank(line));
        }
    }
    if guest.is_empty() {
        return Err("axbpf: the guest ran no axbpf command".into());
    }
    let rootfs = crate::workspace::repo_root().join("target-user/rootfs");
    let mut differ = 0;
    for (cmd, out) in &guest {
        let args: Vec<String> = cmd
            .split(' ')
            .map(|a| match a.strip_prefix('/') {
                Some(rest) if a.starts_with("/lib/") => rootfs.join(rest).display().to_string(),
                _ => a.to_string(),
            })
            .collect();
        let host = Command::new(rootfs.join("bin/axbpf"))
            .args(&args)
            .output()
            .map_err(|e| format!("axbpf on the host: {e}"))?;
        let text = String::from_utf8_lossy(&host.stdout).into_owned()
            + &String::from_utf8_lossy(&host.stderr);
        let linux: Vec<String> = text.lines().map(blank).collect();
        if linux.iter().any(|l| l.contains("Operation not permitted")) {
            println!("axbpf not compared with the host: its bpf() is refused");
            return Ok(());
        }
        let same = linux == *out;
        differ += usize::from(!same);
        println!("axbpf {cmd}: {}", if same { "the same on Linux and Axiom" } else { "DIFFERS" });
        if !same {
            println!("  Linux: {linux:?}\n  Axiom: {out:?}");
        }
    }
    if differ > 0 {
        return Err(format!("axbpf: {differ} commands differ between Linux and Axiom"));
    }
    Ok(())
}

/// The number after `prefix` on the console's first line holding it.
pub fn field(console: &str, prefix: &str) -> Option<u64> {
    console.lines().find_map(|l| {
        let rest = &l[l.find(prefix)? + prefix.len()..];
        rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
    })
}

/// The host's TSC rate in kHz, where the host kernel knows it exactly
/// (`constant_tsc` and `tsc_known_freq`, and no `aperfmperf`: then `cpu
/// MHz` is the TSC rate, not a measured running frequency).
pub fn host_tsc_khz() -> Option<u64> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let flags = cpuinfo.lines().find(|l| l.starts_with("flags"))?;
    let has = |f: &str| flags.split_whitespace().any(|w| w == f);
    if !has("constant_tsc") || !has("tsc_known_freq") || has("aperfmperf") {
        return None;
    }
    let mhz: f64 = cpuinfo
        .lines()
        .find(|l| l.starts_with("cpu MHz"))?
        .split(':')
        .nth(1)?
        .trim()
        .parse()
        .ok()?;
    Some((mhz * 1000.0) as u64)
}

/// The architecture a QEMU machine name runs: `virt` (with options) is
/// arm64, anything else x86-64.
pub fn arch_of(machine: &str) -> crate::bare::Arch {
    if machine.starts_with("virt") { crate::bare::Arch::Aarch64 } else { crate::bare::Arch::X86_64 }
}

/// Builds the kernel and boots it once, printing its console and status.
pub fn boot_once(machine: &str, cpus: u32, append: &str) -> Result<(), String> {
    let kernel = crate::bare::build_kernel_for(arch_of(machine))?;
    let b = boot(&kernel, machine, cpus, append)?;
    print!("{}", b.console);
    println!(
        "(qemu {machine}, {cpus} vCPU(s), {}: init {} ms after QEMU started; {:?} after \
         {:.0} ms)",
        accel(),
        b.init_at.map_or("?".into(), |d| format!("{:.1}", d.as_secs_f64() * 1000.0)),
        b.verdict(),
        b.elapsed.as_secs_f64() * 1000.0
    );
    if b.passed() { Ok(()) } else { Err("the kernel did not pass".into()) }
}

/// The in-QEMU tests on every machine and vCPU count, and runs with a
/// deliberately failing test and a deliberate page fault that the
/// harness must report as failures: x86-64 (`microvm`, `q35`).
pub fn test(long: bool) -> Result<(), String> {
    test_arch(crate::bare::Arch::X86_64, long)
}

/// The same for arm64 (`virt` with GICv2 and with GICv3).
pub fn test_arm64_kernel(long: bool) -> Result<(), String> {
    test_arch(crate::bare::Arch::Aarch64, long)
}

/// Moves `virt`'s console behind a bus, as the Raspberry Pi 5's device
/// tree has its peripherals: the PL011 becomes `/soc@8000000/pl011@1000000`
/// (one address cell, one size cell, `ranges` mapping the bus's 0 to
/// 0x8000000), after a decoy PL011 where nothing answers (the kernel
/// must take the one `stdout-path` names, or print nothing), and
/// `stdout-path` an alias with options (`serial0:115200n8`). `None` if the
/// text is not QEMU's `virt` as expected.
pub fn pi_shaped_dts(dts: &str) -> Option<String> {
    let start = dts.find("\tpl011@9000000 {")?;
    let end = start + dts[start..].find("\t};\n")? + 4;
    let node = &dts[start..end];
    let moved = node
        .replace("\tpl011@9000000 {", "\tpl011@1000000 {")
        .replace("reg = <0x00 0x9000000 0x00 0x1000>;", "reg = <0x1000000 0x1000>;")
        .replace('\t', "\t\t");
    if !moved.contains("reg = <0x1000000 0x1000>;") {
        return None;
    }
    let bus = format!(
        "\tsoc@8000000 {{\n\t\tcompatible = \"simple-bus\";\n\t\t#address-cells = <0x01>;\n\t\t\
         #size-cells = <0x01>;\n\t\tranges = <0x00 0x00 0x8000000 0x2000000>;\n\n\t\t\
         pl011@1fff000 {{\n\t\t\tcompatible = \"arm,pl011\";\n\t\t\treg = <0x1fff000 0x1000>;\n\t\t}};\n\n\
         {moved}\t}};\n\n\t\
         aliases {{\n\t\tserial0 = \"/soc@8000000/pl011@1000000\";\n\t}};\n"
    );
    let out = format!("{}{bus}{}", &dts[..start], &dts[end..]);
    let old = "stdout-path = \"/pl011@9000000\";";
    out.contains(old).then(|| out.replace(old, "stdout-path = \"serial0:115200n8\";"))
}

/// Boots the arm64 kernel with `virt`'s device tree made Pi-shaped (see
/// [`pi_shaped_dts`]; `dtc` from setup's device-tree-compiler).
fn boot_pi_shaped(kernel: &Path) -> Result<Boot, String> {
    let dir = crate::workspace::repo_root().join("target");
    let (dtb, pi) = (dir.join("virt.dtb"), dir.join("virt-pi-shaped.dtb"));
    let dump = format!("virt,dumpdtb={}", dtb.display());
    let status = Command::new("qemu-system-aarch64")
        .args(["-M", &dump, "-cpu", "cortex-a76", "-m", "32M", "-smp", "1", "-nographic"])
        .output()
        .map_err(|e| format!("qemu-system-aarch64: {e}"))?;
    if !dtb.exists() {
        return Err(format!("QEMU dumped no device tree: {status:?}"));
    }
    let dts = Command::new("dtc")
        .args(["-q", "-I", "dtb", "-O", "dts"])
        .arg(&dtb)
        .output()
        .map_err(|e| format!("dtc: {e} (run `cargo xtask setup`)"))?;
    let text = pi_shaped_dts(&String::from_utf8_lossy(&dts.stdout))
        .ok_or("QEMU's virt device tree is not as expected (no /pl011@9000000)")?;
    let mut dtc = Command::new("dtc")
        .args(["-q", "-I", "dts", "-O", "dtb", "-o"])
        .arg(&pi)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("dtc: {e}"))?;
    use std::io::Write;
    dtc.stdin
        .take()
        .ok_or("no dtc stdin")?
        .write_all(text.as_bytes())
        .map_err(|e| e.to_string())?;
    if !dtc.wait().map_err(|e| e.to_string())?.success() {
        return Err("dtc could not compile the Pi-shaped tree".into());
    }
    let initrd = crate::user::initramfs_path_for(crate::bare::Arch::Aarch64);
    let pi_arg = pi.display().to_string();
    boot_machine(&Machine {
        kernel,
        initrd: &initrd,
        machine: "virt",
        cpus: 1,
        memory: "32M",
        cpu: None,
        append: "",
        timeout_s: 60,
        extra: &["-dtb", &pi_arg],
    })
}

/// What a deliberate fault must print: x86-64's page fault (`error 0x3`
/// for a write to a present page), arm64's data abort (ESR: a write,
/// DFSC a permission fault).
fn fault_reported(arch: crate::bare::Arch, console: &str, write_to_present: bool) -> bool {
    match arch {
        crate::bare::Arch::X86_64 => {
            console.contains("exception 14 (page fault)")
                && (!write_to_present || console.contains("error 0x3"))
        }
        crate::bare::Arch::Aarch64 => console.lines().any(|l| {
            let esr = l
                .split("ESR 0x")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .and_then(|h| u64::from_str_radix(h, 16).ok());
            l.contains("(data abort)")
                && esr.is_some_and(|e| !write_to_present || (e & (1 << 6) != 0 && e & 0x3c == 0x0c))
        }),
    }
}

fn test_arch(arch: crate::bare::Arch, long: bool) -> Result<(), String> {
    use crate::bare::Arch;
    // The hostile-input test makes 5,000 bpf() calls, 200,000 with --long.
    let append = if long { "axiom.fuzz=200000" } else { "" };
    let kernel = crate::bare::build_kernel_for(arch)?;
    let mut failures = Vec::new();
    let host_khz = if arch == Arch::X86_64 { host_tsc_khz() } else { None };
    // The guest programs' output is compared with the host's Linux once
    // (x86-64's binaries run on the host).
    let mut bpf_compared = arch != Arch::X86_64;
    let (machines, default) = match arch {
        Arch::X86_64 => (["microvm", "q35"], "microvm"),
        Arch::Aarch64 => (["virt", "virt,gic-version=3"], "virt"),
    };
    for machine in machines {
        for cpus in [1, 2] {
            let b = boot(&kernel, machine, cpus, append)?;
            let passed = b
                .console
                .lines()
                .any(|l| l.starts_with("axiom: all ") && l.ends_with(" tests passed"));
            let tests = b.console.lines().filter(|l| l.starts_with("test ")).count();
            let found = b.console.lines().find_map(|l| {
                let rest = &l[l.find("axiom: booted (")?..];
                rest.find("), ").map(|i| &rest[i + 3..])
            });
            println!(
                "kernel on {machine}, {cpus} vCPU(s), {}: {tests} tests, {}, {:?}, {:.0} ms",
                if arch == Arch::X86_64 { accel() } else { "tcg" },
                found.and_then(|f| f.split(',').next()).unwrap_or("? CPU(s)"),
                b.verdict(),
                b.elapsed.as_secs_f64() * 1000.0
            );
            if !b.passed() || !passed {
                failures.push(format!("{machine} x{cpus}: {:?}\n{}", b.verdict(), b.console));
            }
            if !bpf_compared {
                bpf_compared = true;
                for program in ["bpf-maps", "bpf-progs", "bpf-ringbuf", "libbpf-ringbuf"] {
                    if let Err(e) = compare_with_linux(&b.console, program) {
                        failures.push(e);
                    }
                }
                if let Err(e) = compare_axbpf_with_linux(&b.console) {
                    failures.push(e);
                }
            }
            // The kernel must see every vCPU QEMU was given.
            if found.is_some_and(|f| !f.starts_with(&format!("{cpus} CPU(s)"))) {
                failures.push(format!("{machine} x{cpus}: wrong CPU count: {found:?}"));
            }
            // Its TSC calibration must agree with the host's TSC rate (the
            // guest's TSC is the host's under TCG and KVM alike).
            if let (Some(host), Some(guest)) = (host_khz, field(&b.console, "clock TSC "))
                && guest.abs_diff(host) * 100 > host
            {
                failures.push(format!(
                    "{machine} x{cpus}: TSC calibrated at {guest} kHz, host says {host} kHz"
                ));
            }
        }
    }
    match host_khz {
        _ if arch != Arch::X86_64 => {}
        Some(khz) => println!("TSC calibration checked against the host's {khz} kHz (within 1%)"),
        None => println!(
            "TSC calibration not checked against the host: /proc/cpuinfo does not give the TSC \
             rate (needs constant_tsc and tsc_known_freq, without aperfmperf)"
        ),
    }
    // arm64 entered at EL2 (QEMU with virtualization on, as firmware
    // starts a Raspberry Pi 5): the kernel drops to EL1 and passes.
    if arch == Arch::Aarch64 {
        let b = boot(&kernel, "virt,virtualization=on", 1, append)?;
        let tests = b.console.lines().filter(|l| l.starts_with("test ")).count();
        if !b.passed() {
            failures.push(format!("entered at EL2: {:?}\n{}", b.verdict(), b.console));
        } else {
            println!("kernel on virt entered at EL2 (virtualization=on): {tests} tests, passed");
        }
        // The device-tree paths QEMU's own tree does not take and the
        // Pi 5's does: a console behind a bus's `ranges`, found through
        // an alias with options.
        let b = boot_pi_shaped(&kernel)?;
        if !b.passed() || !b.console.contains("axiom: all ") {
            failures.push(format!("Pi-shaped device tree: {:?}\n{}", b.verdict(), b.console));
        } else {
            println!(
                "kernel on virt with a Pi-shaped device tree (console behind a bus's ranges, \
                 stdout-path an alias): passed"
            );
        }
    }
    // The hardened configuration passes every test too (each BPF program
    // the tests load is JIT-compiled with constant blinding).
    let b = boot(&kernel, default, 1, "axiom.harden")?;
    let tests = b.console.lines().filter(|l| l.starts_with("test ")).count();
    if !b.passed() || !b.console.contains("axiom: hardened") {
        failures.push(format!("the hardened kernel failed: {:?}\n{}", b.verdict(), b.console));
    } else {
        println!("kernel hardened (axiom.harden): {tests} tests, passed");
    }
    // The harness must see a failure as a failure.
    let b = boot(&kernel, default, 1, "axiom.test=fail")?;
    if !b.failed() || !b.console.contains("... FAILED") {
        failures.push(format!(
            "a failing kernel test was not reported: {:?}\n{}",
            b.verdict(),
            b.console
        ));
    } else {
        println!("kernel with a deliberately failing test: failed, reported");
    }
    // A panic must print its message and location and fail.
    let b = boot(&kernel, default, 1, "axiom.test=panic")?;
    if !b.failed()
        || !b.console.contains("PANIC")
        || !b.console.contains("deliberate panic")
        || !b.console.contains("kernel/core/src/kernel.rs:")
    {
        failures.push(format!("a panic was not reported: {:?}\n{}", b.verdict(), b.console));
    } else {
        println!("kernel with a deliberate panic: message and location printed, failed");
    }
    // An exception must be reported with its vector and address.
    let b = boot(&kernel, default, 1, "axiom.test=fault")?;
    if !b.failed() || !fault_reported(arch, &b.console, false) {
        failures.push(format!("a page fault was not reported: {:?}\n{}", b.verdict(), b.console));
    } else {
        println!("kernel with a deliberate fault (page fault, data abort): failed, reported");
    }
    // W^X: a write to kernel text must fault (present page, write: error 3).
    let b = boot(&kernel, default, 1, "axiom.test=wx")?;
    if !b.failed() || !fault_reported(arch, &b.console, true) {
        failures.push(format!(
            "a write to kernel text did not fault: {:?}\n{}",
            b.verdict(),
            b.console
        ));
    } else {
        println!("kernel writing to its own text: a fault, failed (W^X holds)");
    }
    // W^X for JIT code: its frame's alias in the physical map must be read-only.
    let b = boot(&kernel, default, 1, "axiom.test=jitalias")?;
    if !b.failed() || !fault_reported(arch, &b.console, true) {
        failures.push(format!(
            "a write to JIT code through the physical map did not fault: {:?}\n{}",
            b.verdict(),
            b.console
        ));
    } else {
        println!("kernel writing to JIT code through its physical-map alias: a fault, failed");
    }
    if failures.is_empty() { Ok(()) } else { Err(failures.join("\n")) }
}

/// The soak (`axiom.soak=SECONDS`, see the kernel's `selftest::soak`):
/// policies, IRQ filters and IIO filters swapped round after round while
/// the RTC storms, the IIO feed streams the recording, and tracing fills
/// its ring; then the checks. 10 s in CI, 120 s with `--long`.
pub fn soak(long: bool) -> Result<(), String> {
    let seconds = if long { 120 } else { 10 };
    let kernel = crate::bare::build_kernel()?;
    let initrd = crate::user::initramfs_path();
    let socket = crate::workspace::repo_root().join("target/axiom-soak-iio.sock");
    let _ = std::fs::remove_file(&socket);
    let chardev = format!("socket,id=iio,path={},server=on,wait=off", socket.display());
    let samples = crate::feed::recording()?;
    let feeder = {
        let socket = socket.clone();
        std::thread::spawn(move || crate::feed::stream(&socket, samples))
    };
    let append = format!("axiom.soak={seconds}");
    let b = boot_machine(&Machine {
        kernel: &kernel,
        initrd: &initrd,
        machine: "microvm",
        cpus: 1,
        memory: "64M",
        cpu: None,
        append: &append,
        timeout_s: seconds as u32 + 90,
        extra: &["-chardev", &chardev, "-device", "isa-serial,chardev=iio,iobase=0x3e8,irq=5"],
    })?;
    let _ = std::fs::remove_file(&socket);
    let _ = feeder.join();
    let summary = b.console.lines().find(|l| l.starts_with("soak: ")).unwrap_or("(no summary)");
    println!("{summary}");
    let unfed = summary.contains(" 0 from the host feed");
    if !b.passed() {
        return Err(format!("the soak failed ({:?}):\n{}", b.verdict(), b.console));
    }
    if unfed {
        return Err(format!("the soak's IIO device took nothing from the host feed: {summary}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The verdict logic every in-QEMU step uses, on QEMUs that cannot
    /// start (an unknown option, a kernel file that is not there): QEMU
    /// exits with its own status, which must read as neither pass nor
    /// fail.
    #[test]
    fn a_qemu_that_cannot_start_is_not_a_pass() {
        let missing = Path::new("/nonexistent/axiom-kernel");
        let real = Path::new("/dev/null");
        let cases: [(&str, &Path, &[&str]); 4] = [
            ("microvm", real, &["-no-such-option"]),
            ("microvm", missing, &[]),
            ("virt", real, &["-no-such-option"]),
            ("virt", missing, &[]),
        ];
        let mut ran = 0;
        for (machine, kernel, extra) in cases {
            let qemu = if arch_of(machine) == crate::bare::Arch::Aarch64 {
                "qemu-system-aarch64"
            } else {
                "qemu-system-x86_64"
            };
            if Command::new(qemu).arg("--version").output().is_err() {
                println!("{qemu} not installed (`cargo xtask setup`): {machine} not tried");
                continue;
            }
            let b = boot_machine(&Machine {
                kernel,
                initrd: missing,
                machine,
                cpus: 1,
                memory: "32M",
                cpu: None,
                append: "",
                timeout_s: 30,
                extra,
            })
            .expect("timeout and QEMU start");
            assert!(
                !b.passed() && !b.failed(),
                "{machine} {kernel:?} {extra:?}: {:?}\n{}",
                b.verdict(),
                b.console
            );
            assert!(matches!(b.verdict(), Verdict::NoVerdict(Some(1))), "{:?}", b.verdict());
            ran += 1;
        }
        println!("{ran} QEMU starts that fail, none read as a verdict");
    }

    #[test]
    fn the_console_moves_behind_a_bus_and_stdout_becomes_an_alias() {
        let dts = "/ {\n\tpl011@9000000 {\n\t\tinterrupts = <0x00 0x01 0x04>;\n\t\treg = <0x00 \
                   0x9000000 0x00 0x1000>;\n\t};\n\n\tchosen {\n\t\tstdout-path = \
                   \"/pl011@9000000\";\n\t};\n};\n";
        let out = pi_shaped_dts(dts).unwrap();
        assert!(out.contains("soc@8000000 {"));
        assert!(out.contains("ranges = <0x00 0x00 0x8000000 0x2000000>;"));
        assert!(out.contains("\t\tpl011@1000000 {"));
        assert!(out.find("pl011@1fff000") < out.find("pl011@1000000"));
        assert!(out.contains("reg = <0x1000000 0x1000>;"));
        assert!(out.contains("serial0 = \"/soc@8000000/pl011@1000000\";"));
        assert!(out.contains("stdout-path = \"serial0:115200n8\";"));
        assert!(!out.contains("pl011@9000000"));
        assert_eq!(pi_shaped_dts("/ { };"), None);
    }
}
