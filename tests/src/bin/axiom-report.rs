//! The main job's report, for what exists today: the BPF conformance suite
//! on Axiom's reference interpreter and on the host Linux kernel, side by
//! side, with timings measured in the same run.
//!
//! Later issues grow this into the full demonstration (Axiom booted under
//! QEMU, default policies, the benchmark comparison against Linux).

use axiom_abi::Insn;
use axiom_jit::interp::Interpreter;
use axiom_tests::conformance::{MEM_BASE, env_for, load_dir, parse, run_interpreter};
use axiom_tests::linux::{LinuxOutcome, available, run_case, time_case};
use axiom_tests::paths::conformance_dir;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Instant;

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

fn main() -> ExitCode {
    let dir = conformance_dir();
    let files = match load_dir(&dir) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("axiom-report: cannot read {}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
    };
    let linux = available();
    println!("Axiom report: BPF conformance suite ({} programs, {})", files.len(), dir.display());
    println!(
        "engine: Axiom reference interpreter, in a host process (no QEMU: the kernel is not built yet)"
    );
    match &linux {
        Ok(()) => println!("oracle: host Linux {} through bpf() (JIT on)", kernel_release()),
        Err(why) => println!("oracle: host Linux skipped: {why}"),
    }

    let (mut pass, mut fail) = (0, Vec::new());
    let (mut linux_ran, mut linux_refused, mut agree) = (0, Vec::new(), 0);
    let (mut our_run_ns, mut linux_run_ns, mut linux_load_us) =
        (Vec::new(), Vec::new(), Vec::new());
    const REPEAT: u32 = 1000;
    for (path, text) in &files {
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let case = match parse(&name, text) {
            Ok(c) => c,
            Err(e) => {
                fail.push(format!("{name}: {e}"));
                continue;
            }
        };
        let ours = run_interpreter(&case);
        match (&ours, case.result) {
            (Ok(r0), Some(exp)) if *r0 == exp => pass += 1,
            (r, exp) => fail.push(format!("{name}: got {r:?}, expected {exp:x?}")),
        }
        // Interpreter run time: mean over REPEAT runs of the case.
        if let Ok(prog) = case.program() {
            let prog: Rc<[Insn]> = prog.into();
            let r1 = if case.mem.is_empty() { 0 } else { MEM_BASE };
            let start = Instant::now();
            for _ in 0..REPEAT {
                let mut env = env_for(&case);
                let _ = Interpreter::default().run(
                    &mut env,
                    prog.clone(),
                    &[r1, case.mem.len() as u64],
                );
            }
            our_run_ns.push(start.elapsed().as_nanos() as f64 / REPEAT as f64);
        }
        if linux.is_ok() {
            match run_case(&case) {
                LinuxOutcome::Ran { r0, .. } => {
                    linux_ran += 1;
                    if ours.as_ref() == Ok(&r0) {
                        agree += 1;
                    }
                    if let Some(t) = time_case(&case, REPEAT) {
                        linux_load_us.push(t.load.as_secs_f64() * 1e6);
                        linux_run_ns.push(t.run_ns as f64);
                    }
                }
                LinuxOutcome::Refused(r) => linux_refused.push(format!("{name} ({})", r.log)),
                LinuxOutcome::Failed(e) => fail.push(format!("{name}: Linux harness: {e}")),
            }
        }
    }

    println!();
    println!("{:<44} {:>10}", "Axiom interpreter: expected r0", format!("{pass}/{}", files.len()));
    if linux.is_ok() {
        println!("{:<44} {:>10}", "Linux: loaded and ran", format!("{linux_ran}/{}", files.len()));
        println!(
            "{:<44} {:>10}",
            "Linux and Axiom agree (64-bit r0)",
            format!("{agree}/{linux_ran}")
        );
        println!("{:<44} {:>10}", "Linux verifier refused", linux_refused.len());
        for r in &linux_refused {
            println!("    {r}");
        }
    }
    println!();
    println!("timings (median over programs; each program run {REPEAT} times):");
    println!(
        "  {:<40} {:>10.1} ns",
        "Axiom interpreter, one run (incl. set-up)",
        median(&mut our_run_ns)
    );
    if linux.is_ok() {
        let ours = median(&mut our_run_ns);
        let theirs = median(&mut linux_run_ns);
        println!("  {:<40} {:>10.1} ns", "Linux JIT, one run (kernel's figure)", theirs);
        println!("  {:<40} {:>10.1} µs", "Linux load (verify + JIT)", median(&mut linux_load_us));
        println!("  {:<40} {:>10.1}x", "ratio Axiom interpreter / Linux JIT", ours / theirs);
        println!(
            "  (Axiom's own verifier and JIT are issues 4 and 5; their figures replace these.)"
        );
    }
    for f in &fail {
        println!("FAIL {f}");
    }
    if fail.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}
