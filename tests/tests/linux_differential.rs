//! The interpreter against the host Linux kernel: every conformance program
//! that Linux loads gives the same full 64-bit `r0` and leaves the same
//! input memory on both. Skips with a
//! printed reason where `bpf()` is refused.

use axiom_tests::conformance::{load_dir, parse, run_interpreter_with_memory};
use axiom_tests::linux::{LinuxOutcome, available, run_case};
use axiom_tests::paths::conformance_dir;

#[test]
fn interpreter_matches_linux_on_the_conformance_suite() {
    if let Err(why) = available() {
        println!("SKIPPED: host Linux bpf() is not usable here: {why}");
        return;
    }
    let files = load_dir(&conformance_dir()).expect("conformance suite");
    let (mut ran, mut refused, mut mismatches) = (0, Vec::new(), Vec::new());
    for (path, text) in &files {
        let name = path.file_name().unwrap().to_string_lossy();
        let case = parse(&name, text).unwrap();
        let ours = run_interpreter_with_memory(&case);
        match run_case(&case) {
            LinuxOutcome::Ran { r0: linux, mem } => {
                ran += 1;
                match &ours {
                    Ok((r0, _)) if *r0 != linux => {
                        mismatches.push(format!("{name}: Linux r0 {linux:#x}, Axiom {r0:#x}"))
                    }
                    Ok((_, our_mem)) if *our_mem != mem => mismatches.push(format!(
                        "{name}: memory differs: Linux {mem:02x?}, Axiom {our_mem:02x?}"
                    )),
                    Ok(_) => {}
                    Err(e) => mismatches.push(format!("{name}: Linux {linux:#x}, Axiom fault {e}")),
                }
                if Some(linux) != case.result {
                    mismatches.push(format!("{name}: Linux {linux:#x} differs from expected"));
                }
            }
            LinuxOutcome::Refused(r) => refused.push(format!("{name}: {} {}", r.errno, r.log)),
            LinuxOutcome::Failed(e) => mismatches.push(format!("{name}: harness failure: {e}")),
        }
    }
    println!(
        "linux differential: {ran} run on both, {} refused by Linux's verifier",
        refused.len()
    );
    for r in &refused {
        println!("  refused {r}");
    }
    assert!(mismatches.is_empty(), "mismatches:\n{}", mismatches.join("\n"));
    // Linux 6.18 loads 300 of the 313 (the 12 constant out-of-range shifts
    // and callx are refused); far fewer means the harness is broken.
    assert!(ran >= 290, "only {ran} programs ran on Linux");
}
