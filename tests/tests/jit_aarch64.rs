//! Axiom's arm64 JIT. On every host: each conformance program compiles
//! (with and without blinding, with LSE atomics and without). On an arm64
//! host, which `cargo xtask test` provides by running this test under
//! `qemu-aarch64` (see `docs/benchmarks.md` and the README): every
//! conformance program gives the expected `r0` and the interpreter's
//! memory, and thousands of generated programs agree with the interpreter.

use axiom_jit::program::JitOptions;
use axiom_tests::conformance::{load_dir, parse};
use axiom_tests::jit::TestJitEnv;
use axiom_tests::paths::conformance_dir;

/// The option sets every test covers: plain, blinded, without LSE.
fn option_sets() -> [JitOptions; 3] {
    [
        JitOptions::default(),
        JitOptions::hardened(),
        JitOptions { aarch64_lse: false, ..JitOptions::default() },
    ]
}

#[test]
fn every_conformance_program_compiles() {
    let files = load_dir(&conformance_dir()).expect("conformance suite");
    let env = TestJitEnv::new();
    let mut failures = Vec::new();
    let mut words = 0usize;
    for opts in option_sets() {
        for (path, text) in &files {
            let name = path.file_name().unwrap().to_string_lossy();
            let case = parse(&name, text).unwrap();
            let prog = case.program().unwrap();
            match axiom_jit::aarch64::compile(&prog, &env, &opts) {
                Ok(image) => words += image.code.len() / 4,
                Err(e) => failures.push(format!("{name}: {e}")),
            }
        }
    }
    println!("aarch64 JIT: conformance compiled 3 ways, {words} instructions");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[cfg(target_arch = "aarch64")]
mod on_arm64 {
    use super::*;
    use axiom_tests::conformance::run_interpreter_with_memory;
    use axiom_tests::jit::load_aarch64;
    use axiom_tests::progen::{Rng, generate, interpret};

    #[test]
    fn every_conformance_program_matches_the_interpreter() {
        let files = load_dir(&conformance_dir()).expect("conformance suite");
        assert_eq!(files.len(), 313);
        for opts in option_sets() {
            let mut failures = Vec::new();
            let mut ran = 0;
            for (path, text) in &files {
                let name = path.file_name().unwrap().to_string_lossy();
                let case = parse(&name, text).unwrap();
                let expected = case.result.unwrap();
                let (interp_r0, interp_mem) = run_interpreter_with_memory(&case).unwrap();
                let prog = case.program().unwrap();
                let image = match load_aarch64(&prog, &TestJitEnv::new(), &opts) {
                    Ok(i) => i,
                    Err(e) => {
                        failures.push(format!("{name}: {e}"));
                        continue;
                    }
                };
                let mut mem = case.mem.clone();
                let r1 = if mem.is_empty() { 0 } else { mem.as_mut_ptr() as u64 };
                // SAFETY: conformance programs touch only their stack and
                // their memory, and end.
                #[allow(unsafe_code)]
                let r0 = unsafe { image.run(r1, mem.len() as u64) };
                ran += 1;
                if r0 != expected || r0 != interp_r0 {
                    failures.push(format!(
                        "{name}: JIT {r0:#x}, interpreter {interp_r0:#x}, expected {expected:#x}"
                    ));
                } else if mem != interp_mem {
                    failures.push(format!("{name}: memory differs"));
                }
            }
            println!(
                "aarch64 JIT conformance (blinding {}, lse {}): {ran} ran, {} failed",
                opts.blinding,
                opts.aarch64_lse,
                failures.len()
            );
            assert!(failures.is_empty(), "{}", failures.join("\n"));
        }
    }

    #[test]
    fn tail_calls_chain_count_and_stop_at_33() {
        axiom_tests::jit::check_tail_call_chain(load_aarch64);
    }

    #[test]
    fn tail_call_33_is_taken_and_34_falls_through() {
        axiom_tests::jit::check_tail_call_limit(load_aarch64);
    }

    #[test]
    fn tail_call_from_a_subprogram_returns_to_its_caller() {
        axiom_tests::jit::check_tail_call_from_subprogram(load_aarch64);
    }

    #[test]
    fn conditional_branches_beyond_1_mib_run() {
        // 30,000 `callx` of an unknown id (r0 = 0 each) between a branch and
        // its target: over 1 MiB of code, past b.cond's reach.
        let text = format!(
            "mov %r5, 99\nmov %r0, 5\njeq %r1, 0, +30000\n{}exit",
            "call %r5\n".repeat(30_000)
        );
        let prog = axiom_abi::asm::assemble(&text).unwrap();
        let image = load_aarch64(&prog, &TestJitEnv::new(), &JitOptions::default()).unwrap();
        assert!(image.code_len() > 1 << 20);
        // SAFETY: the program touches no memory and ends.
        #[allow(unsafe_code)]
        let (taken, fallthrough) = unsafe { (image.run(0, 0), image.run(1, 0)) };
        assert_eq!((taken, fallthrough), (5, 0));
    }

    #[test]
    fn the_host_options_follow_the_cpu() {
        let opts = axiom_bpf::host::host_jit_options();
        assert_eq!(opts.aarch64_lse, std::arch::is_aarch64_feature_detected!("lse"));
        println!("this CPU (qemu-aarch64's): LSE atomics {}", opts.aarch64_lse);
    }

    #[test]
    fn images_are_mapped_read_execute_only() {
        let prog = axiom_abi::asm::assemble("mov %r0, 1\nexit").unwrap();
        let image = load_aarch64(&prog, &TestJitEnv::new(), &JitOptions::default()).unwrap();
        assert_eq!(image.protection().as_deref(), Some("r-xp"));
    }

    const MEM_LEN: usize = 128;

    #[test]
    fn random_programs_agree_with_the_interpreter() {
        let count = if std::env::var_os("AXIOM_LONG_TESTS").is_some() { 100_000 } else { 3_000 };
        let env = TestJitEnv::new();
        let mut rng = Rng::new(0xa710_a64);
        let sets = option_sets();
        for n in 0..count {
            let len = 10 + rng.below(120) as usize;
            let prog = generate(&mut rng, len, MEM_LEN);
            let init: Vec<u8> = (0..MEM_LEN).map(|_| rng.next_u64() as u8).collect();
            let opts = sets[n % sets.len()];
            let image = load_aarch64(&prog, &env, &opts).unwrap_or_else(|e| panic!("{n}: {e}"));
            let mut mem = init.clone();
            let addr = mem.as_mut_ptr() as u64;
            // SAFETY: generated programs touch only their stack and `mem`,
            // and only jump forward.
            #[allow(unsafe_code)]
            let r0 = unsafe { image.run(addr, MEM_LEN as u64) };
            let (want_r0, want_mem) = interpret(&prog, &init, addr);
            assert!(
                r0 == want_r0 && mem == want_mem,
                "program {n} ({opts:?}): JIT {r0:#x}, interpreter {want_r0:#x}, memory equal {}\n{:?}",
                mem == want_mem,
                axiom_abi::instruction::decode_all(&prog).collect::<Vec<_>>()
            );
        }
        println!("aarch64 JIT differential: {count} random programs agree");
    }
}

#[cfg(not(target_arch = "aarch64"))]
#[test]
fn execution_runs_on_arm64() {
    println!(
        "skipped here: the arm64 code runs when this test is built for aarch64 \
         (cargo xtask test runs it under qemu-aarch64)"
    );
}
