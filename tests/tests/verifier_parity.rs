//! The verifier parity corpus (`tests/verifier-corpus/`): Axiom's verdict
//! on every case against the verdict Linux gave when the case was written,
//! and, where the host's `bpf()` works, against Linux live. No program
//! Linux refuses may be accepted; overall agreement must be at least 98%.

use axiom_tests::paths::repo_root;
use axiom_tests::vcorpus::{axiom_verdict, linux_verdict, load};

#[test]
fn axiom_agrees_with_linux_on_the_corpus() {
    let cases = load(&repo_root().join("tests/verifier-corpus")).unwrap();
    let live = axiom_tests::linux::available().is_ok();
    if !live {
        println!("host Linux bpf() not usable: comparing with the recorded verdicts only");
    }
    let (mut agree, mut same_message, mut unsafe_accepts, mut stale, mut differ) =
        (0, 0, Vec::new(), Vec::new(), Vec::new());
    for case in &cases {
        let ours = axiom_verdict(case);
        if live {
            match linux_verdict(case) {
                Ok(theirs) if theirs != case.expect => stale.push(format!(
                    "{}: recorded `{}`, Linux now `{theirs}`",
                    case.name, case.expect
                )),
                Ok(_) => {}
                Err(e) => stale.push(format!("{}: Linux harness: {e}", case.name)),
            }
        }
        if ours.accepted() == case.expect.accepted() {
            agree += 1;
        } else {
            differ.push(format!("{}: Axiom `{ours}`, Linux `{}`", case.name, case.expect));
        }
        if ours == case.expect {
            same_message += 1;
        }
        if ours.accepted() && !case.expect.accepted() {
            unsafe_accepts.push(case.name.clone());
        }
        if !ours.accepted() && ours != case.expect && !case.expect.accepted() {
            println!("  message differs: {}: Axiom `{ours}`, Linux `{}`", case.name, case.expect);
        }
    }
    let n = cases.len();
    println!(
        "verifier parity: {n} cases, {agree} same verdict, {same_message} same verdict and message"
    );
    for d in &differ {
        println!("  differs: {d}");
    }
    assert!(stale.is_empty(), "corpus expectations no longer match Linux:\n{}", stale.join("\n"));
    assert!(unsafe_accepts.is_empty(), "accepted what Linux refuses: {unsafe_accepts:?}");
    assert!(agree * 100 >= n * 98, "agreement {agree}/{n} below 98%");
}
