//! The main job's report, for what exists today: the BPF conformance suite
//! on Axiom's reference interpreter, x86-64 JIT and verifier, next to the
//! host Linux kernel, with timings measured in the same run.
//!
//! Later issues grow this into the full demonstration (Axiom booted under
//! QEMU, default policies, the benchmark comparison against Linux).

use axiom_abi::Insn;
use axiom_abi::uapi::types::prog_type;
use axiom_bpf::verify::KernelPlatform;
use axiom_jit::interp::Interpreter;
use axiom_jit::x86_64::JitOptions;
use axiom_tests::conformance::{MEM_BASE, TestCase, env_for, load_dir, parse, run_interpreter};
use axiom_tests::jit::{TestJitEnv, load};
use axiom_tests::linux::{LinuxOutcome, available, run_case, time_case, wrap};
use axiom_tests::paths::conformance_dir;
use axiom_verifier::platform::MapInfo;
use axiom_verifier::{Options, verify};
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Instant;

const REPEAT: u32 = 1000;

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

/// Axiom's verifier on the case as Linux loads it (see `tests/src/linux.rs`).
fn axiom_verify(case: &TestCase, body: &[Insn]) -> (bool, String, f64) {
    let mem = (!case.mem.is_empty()).then_some(100);
    let wrapped = wrap(mem, case.mem.len(), 101, body);
    let array = |value_size| MapInfo {
        map_type: 2,
        key_size: 4,
        value_size,
        max_entries: 1,
        read_only: false,
    };
    let platform = KernelPlatform {
        maps_by_fd: vec![(100, array(case.mem.len().max(1) as u32)), (101, array(8))],
        maps_by_index: vec![],
        possible_cpus: None,
    };
    let start = Instant::now();
    let report = verify(&wrapped, prog_type::SOCKET_FILTER, &platform, &Options::default());
    let ns = start.elapsed().as_nanos() as f64;
    match report.result {
        Ok(_) => (true, String::new(), ns),
        Err(e) => (false, e.message, ns),
    }
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
        "engines: Axiom interpreter, x86-64 JIT and verifier in a host process (no QEMU: the kernel is issue 8)"
    );
    match &linux {
        Ok(()) => {
            println!("oracle: host Linux {} through bpf() (JIT on)", axiom_tests::linux::release())
        }
        Err(why) => println!("oracle: host Linux skipped: {why}"),
    }

    let (mut interp_pass, mut jit_pass, mut fail) = (0, 0, Vec::new());
    let (mut linux_ran, mut agree_r0, mut verdict_agree, mut axiom_accepts) = (0, 0, 0, 0);
    let mut refused = Vec::new();
    let (mut interp_ns, mut jit_ns, mut linux_ns) = (Vec::new(), Vec::new(), Vec::new());
    let (mut verify_us, mut linux_load_us) = (Vec::new(), Vec::new());
    for (path, text) in &files {
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let case = match parse(&name, text) {
            Ok(c) => c,
            Err(e) => {
                fail.push(format!("{name}: {e}"));
                continue;
            }
        };
        let Ok(prog) = case.program() else {
            fail.push(format!("{name}: does not assemble"));
            continue;
        };
        let expected = case.result;
        let ours = run_interpreter(&case);
        if ours.as_ref().ok() == expected.as_ref() {
            interp_pass += 1;
        } else {
            fail.push(format!("{name}: interpreter gave {ours:?}, expected {expected:x?}"));
        }
        match axiom_tests::jit::run_case(&case, &JitOptions::default()) {
            Ok((r0, _)) if Some(r0) == expected => jit_pass += 1,
            other => fail.push(format!("{name}: JIT gave {other:?}, expected {expected:x?}")),
        }
        // Timings: interpreter and JIT, mean of REPEAT runs.
        let rc: Rc<[Insn]> = prog.clone().into();
        let r1 = if case.mem.is_empty() { 0 } else { MEM_BASE };
        let start = Instant::now();
        for _ in 0..REPEAT {
            let mut env = env_for(&case);
            let _ = Interpreter::default().run(&mut env, rc.clone(), &[r1, case.mem.len() as u64]);
        }
        interp_ns.push(start.elapsed().as_nanos() as f64 / REPEAT as f64);
        if let Ok(image) = load(&prog, &TestJitEnv::new(), &JitOptions::default()) {
            let mut mem = case.mem.clone();
            let addr = if mem.is_empty() { 0 } else { mem.as_mut_ptr() as u64 };
            let start = Instant::now();
            for _ in 0..REPEAT {
                // SAFETY: conformance programs touch only their stack and
                // `mem`, and end (the JIT test checks them all).
                #[allow(unsafe_code)]
                std::hint::black_box(unsafe { image.run(addr, mem.len() as u64) });
            }
            jit_ns.push(start.elapsed().as_nanos() as f64 / REPEAT as f64);
        }
        let (accepted, message, ns) = axiom_verify(&case, &prog);
        verify_us.push(ns / 1000.0);
        if accepted {
            axiom_accepts += 1;
        }
        if linux.is_ok() {
            match run_case(&case) {
                LinuxOutcome::Ran { r0, .. } => {
                    linux_ran += 1;
                    if ours.as_ref() == Ok(&r0) {
                        agree_r0 += 1;
                    }
                    if accepted {
                        verdict_agree += 1;
                    }
                    if let Some(t) = time_case(&case, REPEAT) {
                        linux_load_us.push(t.load.as_secs_f64() * 1e6);
                        linux_ns.push(t.run_ns as f64);
                    }
                }
                LinuxOutcome::Refused(r) => {
                    if !accepted && message == r.log {
                        verdict_agree += 1;
                    }
                    refused.push(format!("{name}: Linux `{}`, Axiom `{message}`", r.log));
                }
                LinuxOutcome::Failed(e) => fail.push(format!("{name}: Linux harness: {e}")),
            }
        }
    }

    let n = files.len();
    println!();
    println!("{:<52} {:>10}", "Axiom interpreter: expected r0", format!("{interp_pass}/{n}"));
    println!("{:<52} {:>10}", "Axiom x86-64 JIT: expected r0", format!("{jit_pass}/{n}"));
    println!("{:<52} {:>10}", "Axiom verifier: accepted", format!("{axiom_accepts}/{n}"));
    if linux.is_ok() {
        println!("{:<52} {:>10}", "Linux: loaded and ran", format!("{linux_ran}/{n}"));
        println!(
            "{:<52} {:>10}",
            "Linux and Axiom interpreter agree (64-bit r0)",
            format!("{agree_r0}/{linux_ran}")
        );
        println!(
            "{:<52} {:>10}",
            "Linux and Axiom verifier agree (verdict and message)",
            format!("{verdict_agree}/{n}")
        );
        for r in &refused {
            println!("    refused {r}");
        }
    }
    println!();
    println!("timings (medians over the programs; runs are means of {REPEAT}):");
    let row = |label: &str, v: f64, unit: &str| println!("  {label:<48} {v:>10.1} {unit}");
    row("Axiom interpreter, one run (incl. set-up)", median(&mut interp_ns), "ns");
    row("Axiom x86-64 JIT, one run (incl. the call)", median(&mut jit_ns), "ns");
    row("Axiom verifier, one program (wrapped)", median(&mut verify_us), "µs");
    if linux.is_ok() {
        row("Linux JIT, one run (BPF_PROG_TEST_RUN's figure)", median(&mut linux_ns), "ns");
        row("Linux BPF_PROG_LOAD (verify + JIT)", median(&mut linux_load_us), "µs");
        let ratio = median(&mut verify_us) / median(&mut linux_load_us);
        println!("  {:<48} {:>10.2}x", "Axiom verify / Linux load", ratio);
        println!("  (Linux's run figure includes its test-run loop; see docs/benchmarks.md.)");
    }
    for f in &fail {
        println!("FAIL {f}");
    }
    if fail.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
