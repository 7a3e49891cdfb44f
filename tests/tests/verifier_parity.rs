//! The verifier parity corpus (`tests/verifier-corpus/`): Axiom's verdict
//! on every case against Linux's, live where the host's `bpf()` works and
//! as recorded (in the release `ORACLE` names) where it does not. No
//! program Linux refuses may be accepted; overall agreement must be at
//! least 98%.
//!
//! The host kernel is an oracle that changes between machines: a case
//! whose live verdict differs from its record is reported as oracle drift,
//! with both kernel releases, and fails this test only with
//! `AXIOM_PARITY_STRICT=1` (`cargo xtask parity --strict` fails on it).

use axiom_tests::linux::release;
use axiom_tests::paths::repo_root;
use axiom_tests::vcorpus::{Compared, load, recorded_release};

#[test]
fn axiom_agrees_with_linux_on_the_corpus() {
    let dir = repo_root().join("tests/verifier-corpus");
    let cases = load(&dir).unwrap();
    let recorded_on = recorded_release(&dir).unwrap_or_else(|| "an unrecorded release".into());
    let live = match axiom_tests::linux::available() {
        Ok(()) => true,
        Err(why) => {
            println!(
                "host Linux bpf() not usable ({why}): comparing with the verdicts recorded on {recorded_on} only"
            );
            false
        }
    };
    let compared: Vec<Compared> = cases.iter().map(|c| Compared::new(c, live)).collect();
    let n = compared.len();
    let agree = compared.iter().filter(|c| c.same_verdict()).count();
    let same_message = compared.iter().filter(|c| c.ours == *c.linux()).count();
    println!(
        "verifier parity: {n} cases against Linux {}, {agree} same verdict, {same_message} same \
         verdict and message",
        if live { release() } else { recorded_on.clone() }
    );
    let drift: Vec<&Compared> = compared.iter().filter(|c| c.oracle_drifted()).collect();
    if !drift.is_empty() {
        println!(
            "oracle drift: {} cases where Linux {} no longer gives the verdict recorded on \
             {recorded_on} (not Axiom's doing; `cargo xtask parity --strict` fails on it, \
             `cargo xtask parity --record --refresh` re-records):",
            drift.len(),
            release()
        );
        for c in &drift {
            let now = match &c.live {
                Some(Ok(v)) => v.to_string(),
                Some(Err(e)) => format!("harness failed: {e}"),
                None => unreachable!("drift needs a live kernel"),
            };
            println!("  {}: recorded `{}`, now `{now}`, Axiom `{}`", c.name, c.recorded, c.ours);
        }
    }
    for c in compared.iter().filter(|c| !c.same_verdict()) {
        println!("  differs: {}: Axiom `{}`, Linux `{}`", c.name, c.ours, c.linux());
    }
    for c in compared.iter().filter(|c| c.same_verdict() && !c.ours.accepted()) {
        if c.ours != *c.linux() {
            println!("  message differs: {}: Axiom `{}`, Linux `{}`", c.name, c.ours, c.linux());
        }
    }
    // Axiom accepting what Linux refuses fails wherever the oracle held
    // still; on a drifted case it is drift, reported above.
    let unsafe_accepts: Vec<&str> = compared
        .iter()
        .filter(|c| !c.oracle_drifted() && c.unsafe_accept())
        .map(|c| c.name.as_str())
        .collect();
    assert!(unsafe_accepts.is_empty(), "accepted what Linux refuses: {unsafe_accepts:?}");
    assert!(agree * 100 >= n * 98, "agreement {agree}/{n} below 98%");
    if std::env::var_os("AXIOM_PARITY_STRICT").is_some_and(|v| v == "1") {
        assert!(drift.is_empty(), "strict: {} cases drifted from the record", drift.len());
    }
}
