//! Verifier behaviour that the parity corpus does not pin down: Axiom's
//! stricter default, the log and its size, the complexity limit.

use axiom_abi::asm::assemble;
use axiom_abi::uapi::types::prog_type;
use axiom_bpf::verify::KernelPlatform;
use axiom_verifier::{Options, verify};

fn run(text: &str, opts: &Options) -> axiom_verifier::Report {
    verify(&assemble(text).unwrap(), prog_type::SOCKET_FILTER, &KernelPlatform::default(), opts)
}

#[test]
fn uninitialised_stack_reads_are_refused_by_default() {
    let r = run("ldxdw %r0, [%r10-8]\nexit", &Options::default());
    let e = r.result.unwrap_err();
    assert_eq!((e.errno, e.message.as_str()), (13, "invalid read from stack R10 off -8+0 size 8"));
    let linux_mode = Options { allow_uninit_stack: true, ..Options::default() };
    assert!(run("ldxdw %r0, [%r10-8]\nexit", &linux_mode).result.is_ok());
}

#[test]
fn level_1_keeps_only_a_refused_path_and_level_2_everything() {
    let level = |n| Options { log_level: n, log_size: 4096, ..Options::default() };
    // Accepted: level 1 is the statistics alone, as in Linux.
    let r = run("mov %r0, 0\nexit", &level(1));
    assert!(r.result.is_ok());
    assert_eq!(r.log.lines().count(), 1, "{}", r.log);
    assert!(r.log.starts_with("processed 2 insns (limit 1000000) "), "{}", r.log);
    // Level 2: the preamble, each instruction with what it changed.
    let r = run("mov %r0, 0\nexit", &level(2));
    let want = "func#0 @0\nLive regs before insn:\n      0: .......... (b7) r0 = 0\n      1: 0......... (95) exit\n0: R1=ctx() R10=fp0\n0: (b7) r0 = 0                        ; R0=0\n1: (95) exit\n";
    assert!(r.log.starts_with(want), "{}", r.log);
    // Refused: level 1 keeps the failing path (the other branch's
    // instructions are forgotten), then the error and the statistics.
    let text = "ldxw %r2, [%r1+0]\nmov %r0, 0\njgt %r2, 10, +2\nadd %r0, 1\nja +1\nldxdw %r0, [%r2+0]\nexit";
    let r = run(text, &level(1));
    let lines: Vec<&str> = r.log.lines().collect();
    assert!(!r.log.contains("3: (07)"), "{}", r.log);
    assert!(
        lines[3].starts_with(
            "2: (25) if r2 > 0xa goto pc+2 5: R0=0 R1=ctx() R2=scalar(smin=umin=umin32=11,"
        ),
        "{}",
        r.log
    );
    assert_eq!(lines[lines.len() - 2], "R2 invalid mem access 'scalar'");
    assert!(lines[lines.len() - 1].starts_with("processed 7 insns"));
}

#[test]
fn errors_come_before_the_statistics() {
    let opts = Options { log_level: 1, log_size: 4096, ..Options::default() };
    let r = run("exit", &opts);
    let lines: Vec<&str> = r.log.lines().collect();
    assert_eq!(lines[lines.len() - 2], "R0 !read_ok");
}

#[test]
fn a_small_log_buffer_gives_enospc() {
    let opts = Options { log_level: 1, log_size: 8, ..Options::default() };
    let r = run("mov %r0, 0\nexit", &opts);
    assert_eq!(r.result.unwrap_err().errno, 28);
    assert!(r.log.len() < 8);
}

#[test]
fn the_complexity_limit_stops_long_explorations() {
    // A loop of 2000 iterations, each one distinct: 6000+ instructions.
    let text = "mov %r0, 0\nloop:\nadd %r0, 1\njlt %r0, 2000, loop\nexit";
    let opts = Options { max_insns: 1000, ..Options::default() };
    let e = run(text, &opts).result.unwrap_err();
    assert_eq!(e.errno, 7);
    assert!(
        e.message.starts_with("BPF program is too large. Processed 1001 insn"),
        "{}",
        e.message
    );
    assert!(run(text, &Options::default()).result.is_ok());
}

#[test]
fn pruning_keeps_diamonds_linear() {
    // 30 if/else diamonds on an unknown value: 2^30 paths without pruning;
    // the value decides nothing, so the states merge.
    let mut text = String::from("ldxw %r2, [%r1+0]\nmov %r0, 0\n");
    for i in 0..30 {
        text += &format!("jset %r2, {}, +1\nmov %r3, 1\nmov %r3, 0\n", 1u32 << (i % 31));
    }
    text += "exit";
    let opts = Options { max_insns: 100_000, ..Options::default() };
    let v = run(&text, &opts).result.unwrap();
    assert!(v.processed < 5000, "processed {}", v.processed);
}

#[test]
fn pruning_keeps_values_that_decide_safety() {
    // r2 is 0 on one path and 100 on the other; only the second makes the
    // stack access out of bounds. Pruning must not merge them.
    let text = "ldxw %r3, [%r1+0]\nmov %r2, 0\njeq %r3, 0, +1\nmov %r2, 100\n\
                mov %r4, %r10\nadd %r4, -8\njgt %r2, 50, +1\nstdw [%r4+0], 1\n\
                jle %r2, 50, +2\nadd %r4, %r2\nstdw [%r4+0], 1\nmov %r0, 0\nexit";
    let e = run(text, &Options::default()).result.unwrap_err();
    assert_eq!(e.errno, 13, "{e}");
}

#[test]
fn an_overflowing_log_keeps_its_end_and_the_refusal_becomes_enospc() {
    // 3000 processed instructions at level 1 cannot fit 1 KiB; the error,
    // the last line, must survive.
    let text = "mov %r0, 0\nloop:\nadd %r0, 1\njlt %r0, 1000, loop\nldxdw %r0, [%r0+0]\nexit";
    let opts = Options { log_level: 1, log_size: 1024, ..Options::default() };
    let r = run(text, &opts);
    let e = r.result.unwrap_err();
    assert_eq!((e.errno, e.message.as_str()), (28, "R0 invalid mem access 'scalar'"));
    assert!(r.log.len() < 1024);
    let lines: Vec<&str> = r.log.lines().collect();
    assert_eq!(lines[lines.len() - 2], "R0 invalid mem access 'scalar'");
}

#[test]
fn too_many_pending_branches_are_refused_like_linux() {
    // Each iteration leaves the exit branch queued: an unknown bound.
    let text = "ldxw %r2, [%r1+0]\nmov %r0, 0\nmov %r1, 0\nloop:\njge %r1, %r2, done\nadd %r0, 2\nadd %r1, 1\nja loop\ndone:\nexit";
    let e = run(text, &Options::default()).result.unwrap_err();
    // E2BIG, as Linux 6.18.44 answers (older kernels: EFAULT).
    assert_eq!((e.errno, e.message.as_str()), (7, "The sequence of 8193 jumps is too complex."));
}

#[test]
fn line_info_is_printed_once_per_line_before_its_instructions() {
    use axiom_verifier::{LineInfo, verify_with_lines};
    let slots = assemble("mov %r0, 1\nadd %r0, 2\nexit").unwrap();
    let lines = [
        LineInfo { insn: 0, source: "    int x = 1 + 2;".into(), file: "prog.c".into(), line: 3 },
        LineInfo { insn: 2, source: "return x;".into(), file: "prog.c".into(), line: 4 },
    ];
    let platform = KernelPlatform::default();
    let opts = Options { log_level: 2, log_size: 4096, ..Options::default() };
    let r = verify_with_lines(&slots, prog_type::SOCKET_FILTER, &platform, &opts, &lines);
    assert!(r.result.is_ok(), "{}", r.log);
    let want = "; int x = 1 + 2; @ prog.c:3\n0: (b7) r0 = 1                        ; R0=1\n1: (07) r0 += 2                       ; R0=3\n; return x; @ prog.c:4\n2: (95) exit\n";
    assert!(r.log.contains(want), "{}", r.log);
}
