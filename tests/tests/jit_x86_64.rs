//! Axiom's x86-64 JIT against the reference interpreter: every conformance
//! program gives the expected `r0` and the same memory, with and without
//! constant blinding; the image is mapped read+execute, not writable.

use axiom_jit::x86_64::JitOptions;
use axiom_tests::conformance::{load_dir, parse, run_interpreter_with_memory};
use axiom_tests::jit::{TestJitEnv, load, run_case};
use axiom_tests::paths::conformance_dir;

fn conformance(opts: &JitOptions) {
    let files = load_dir(&conformance_dir()).expect("conformance suite");
    assert_eq!(files.len(), 313);
    let mut failures = Vec::new();
    for (path, text) in &files {
        let name = path.file_name().unwrap().to_string_lossy();
        let case = parse(&name, text).unwrap();
        let expected = case.result.unwrap();
        let (interp_r0, interp_mem) = run_interpreter_with_memory(&case).unwrap();
        match run_case(&case, opts) {
            Ok((r0, mem)) => {
                if r0 != expected || r0 != interp_r0 {
                    failures.push(format!(
                        "{name}: JIT {r0:#x}, interpreter {interp_r0:#x}, expected {expected:#x}"
                    ));
                } else if mem != interp_mem {
                    failures.push(format!("{name}: memory differs"));
                }
            }
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    println!(
        "jit conformance (blinding {}): {} passed, {} failed",
        opts.blinding,
        files.len() - failures.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_conformance_program_matches_the_interpreter() {
    conformance(&JitOptions::default());
}

#[test]
fn every_conformance_program_matches_with_blinding() {
    conformance(&JitOptions::hardened());
}

#[test]
fn images_are_mapped_read_execute_only() {
    let prog = axiom_abi::asm::assemble("mov %r0, 1\nexit").unwrap();
    let image = load(&prog, &TestJitEnv::new(), &JitOptions::default()).unwrap();
    assert_eq!(image.protection().as_deref(), Some("r-xp"));
}

#[test]
fn tail_calls_chain_count_and_stop_at_33() {
    axiom_tests::jit::check_tail_call_chain(load);
}

#[test]
fn tail_call_33_is_taken_and_34_falls_through() {
    axiom_tests::jit::check_tail_call_limit(load);
}

#[test]
fn tail_call_from_a_subprogram_returns_to_its_caller() {
    axiom_tests::jit::check_tail_call_from_subprogram(load);
}
