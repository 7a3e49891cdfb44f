//! Axiom's verifier log against Linux's, line by line, for refused
//! programs at level 1 (the failing path, each instruction with the
//! registers and stack slots it touched, the error). Linux's closing
//! statistics are left out (the two verifiers store different numbers of
//! states). Runs where the host allows `bpf()`, else says why it skipped.

use axiom_abi::asm::assemble;
use axiom_abi::uapi::types::prog_type;
use axiom_bpf::verify::KernelPlatform;
use axiom_tests::linux::{self, load_with_log};
use axiom_verifier::{Options, verify};

const PROGRAMS: &[(&str, u32, &str)] = &[
    (
        "branch then scalar dereference",
        prog_type::SOCKET_FILTER,
        "ldxw %r2, [%r1+0]\nmov %r0, 0\njgt %r2, 10, +2\nadd %r0, 1\nja +1\nldxdw %r0, [%r2+0]\nexit",
    ),
    ("misaligned context load", prog_type::SOCKET_FILTER, "ldxw %r0, [%r1+2]\nexit"),
    (
        "stack bytes and a misaligned read",
        prog_type::SOCKET_FILTER,
        "stw [%r10-4], 0\nstb [%r10-8], 1\nsth [%r10-16], 7\nldxw %r0, [%r10-6]\nexit",
    ),
    (
        "packet read past the checked range",
        prog_type::XDP,
        "ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\nmov %r4, %r2\nadd %r4, 14\njgt %r4, %r3, +2\nldxw %r0, [%r2+12]\nexit\nmov %r0, 1\nexit",
    ),
    (
        "bounded index, then too far",
        prog_type::SOCKET_FILTER,
        "ldxw %r2, [%r1+0]\nand %r2, 0x3c\nmov %r3, %r10\nadd %r3, -64\nstdw [%r10-8], 0\nlsh %r2, 2\nadd %r3, %r2\nldxb %r0, [%r3+0]\nexit",
    ),
];

/// The log without its closing statistics line.
fn body(log: &str) -> Vec<&str> {
    log.lines().filter(|l| !l.starts_with("processed ")).collect()
}

#[test]
fn level_1_logs_equal_linux() {
    if let Err(why) = linux::available() {
        println!("skipped: host Linux bpf() not usable: {why}");
        return;
    }
    let mut differ = Vec::new();
    for (name, prog_type, text) in PROGRAMS {
        let prog = assemble(text).unwrap();
        let (errno, theirs) = load_with_log(*prog_type, &prog, 1);
        assert_ne!(errno, 0, "{name}: Linux accepted it");
        let opts = Options {
            log_level: 1,
            log_size: 1 << 20,
            allow_uninit_stack: true,
            ..Options::default()
        };
        let ours = verify(&prog, *prog_type, &KernelPlatform::default(), &opts);
        assert!(ours.result.is_err(), "{name}: Axiom accepted it");
        if body(&ours.log) != body(&theirs) {
            differ.push(format!("{name}:\n--- Linux\n{theirs}--- Axiom\n{}", ours.log));
        }
    }
    assert!(differ.is_empty(), "logs differ:\n{}", differ.join("\n"));
    println!("verifier log: {} level-1 logs equal Linux's", PROGRAMS.len());
}
