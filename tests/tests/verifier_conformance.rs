//! Axiom's verifier on the conformance suite, loaded as Linux loads it (the
//! program as a callee of a wrapper that passes its memory as a map value):
//! exactly Linux's verdicts, the 300 programs Linux accepts accepted and the
//! 13 it refuses refused with Linux's messages. Where the host's `bpf()`
//! works, each verdict is also compared with Linux's own, live.

use axiom_abi::uapi::types::prog_type;
use axiom_bpf::verify::KernelPlatform;
use axiom_tests::conformance::{load_dir, parse};
use axiom_tests::linux::{self, LinuxOutcome, wrap};
use axiom_tests::paths::conformance_dir;
use axiom_verifier::platform::MapInfo;
use axiom_verifier::{Options, verify};

const MEM_FD: i32 = 100;
const RESULT_FD: i32 = 101;

fn array(value_size: u32) -> MapInfo {
    MapInfo { map_type: 2, key_size: 4, value_size, max_entries: 1, read_only: false }
}

#[test]
fn conformance_verdicts_equal_linux() {
    let linux_ok = linux::available().is_ok();
    if !linux_ok {
        println!("host Linux bpf() not usable: comparing with the recorded verdicts only");
    }
    let files = load_dir(&conformance_dir()).expect("conformance suite");
    let (mut accepted, mut refused, mut mismatches) = (0, Vec::new(), Vec::new());
    for (path, text) in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let case = parse(&name, text).unwrap();
        let body = case.program().unwrap();
        let mem = (!case.mem.is_empty()).then_some(MEM_FD);
        let wrapped = wrap(mem, case.mem.len(), RESULT_FD, &body);
        let platform = KernelPlatform {
            maps_by_fd: vec![(MEM_FD, array(case.mem.len().max(1) as u32)), (RESULT_FD, array(8))],
            maps_by_index: vec![],
            possible_cpus: None,
        };
        let report = verify(&wrapped, prog_type::SOCKET_FILTER, &platform, &Options::default());
        match &report.result {
            Ok(_) => accepted += 1,
            Err(e) => refused.push((name.clone(), e.message.clone())),
        }
        if linux_ok {
            let theirs = linux::run_case(&case);
            match (&report.result, theirs) {
                (Ok(_), LinuxOutcome::Ran { .. }) => {}
                (Err(e), LinuxOutcome::Refused(r))
                    if e.message == r.log && e.errno == r.errno.0 => {}
                (ours, LinuxOutcome::Refused(r)) => mismatches.push(format!(
                    "{name}: Linux refused ({} {}), Axiom {ours:?}",
                    r.errno.0, r.log
                )),
                (Err(e), _) => mismatches.push(format!(
                    "{name}: Axiom refused ({} {}), Linux accepted",
                    e.errno, e.message
                )),
                (Ok(_), LinuxOutcome::Failed(f)) => {
                    mismatches.push(format!("{name}: Linux harness failed: {f}"))
                }
            }
        }
    }
    println!("verifier on conformance: {accepted} accepted, {} refused", refused.len());
    assert!(mismatches.is_empty(), "disagreements with Linux:\n{}", mismatches.join("\n"));
    // The recorded verdicts (Linux 6.18): shifts by out-of-range constants
    // and callx are refused, everything else accepted.
    let mut want: Vec<String> = ["arsh32", "arsh64", "lsh32", "lsh64", "rsh32", "rsh64"]
        .iter()
        .flat_map(|op| [format!("{op}-imm-high.data"), format!("{op}-imm-neg.data")])
        .chain(["callx.data".to_string()])
        .collect();
    want.sort();
    let mut got: Vec<String> = refused.iter().map(|(n, _)| n.clone()).collect();
    got.sort();
    assert_eq!(got, want, "refused: {refused:?}");
    for (name, msg) in &refused {
        let ok = if name == "callx.data" {
            msg == "unknown opcode 8d"
        } else {
            msg.starts_with("invalid shift ")
        };
        assert!(ok, "{name}: {msg}");
    }
    assert_eq!(accepted, 300);
}
