//! Linux's verifier limits at and one past each, through `PROG_LOAD` (and
//! the tail-call count through `PROG_TEST_RUN`): the same program shapes
//! as `tests/tests/verifier_limits.rs`, which also asks the host's Linux.

use super::*;
use axiom_abi::Insn;
use axiom_abi::asm::assemble;
use core::fmt::Write as _;

/// Where a big program's instructions go (after the attribute, the
/// license at 0x3000 and a log of at most [`LOG_SIZE`] at 0x4000).
const INSNS: u64 = BASE + 0x10000;
const LOG_SIZE: u32 = 0x8000;

fn bytes(slots: &[Insn]) -> Vec<u8> {
    slots.iter().flat_map(|i| i.to_bytes()).collect()
}

/// A process with room for `insns` instructions at [`INSNS`].
fn fake_for(insns: usize) -> Fake {
    Fake::with_memory(0x10000 + insns * 8 + 0x1000)
}

/// `PROG_LOAD` of a socket filter claiming `count` instructions (`insns`
/// at [`INSNS`]), with a level-1 log if `logged`: the result and the log.
fn load_at(
    f: &mut Fake,
    reg: &Registry,
    insns: &[u8],
    count: u32,
    logged: bool,
) -> (Result<u64, Errno>, String) {
    let mut a = [0u8; ProgLoadAttr::SIZE];
    ProgLoadAttr {
        prog_type: 1,
        insn_cnt: count,
        insns: INSNS,
        license: BASE + 0x3000,
        log_level: u32::from(logged),
        log_size: if logged { LOG_SIZE } else { 0 },
        log_buf: if logged { BASE + 0x4000 } else { 0 },
        ..Default::default()
    }
    .write_to(&mut a);
    f.put(BASE, &vec![0u8; 4096]);
    f.put(BASE, &a);
    f.put(INSNS, insns);
    f.put(BASE + 0x3000, b"GPL\0");
    f.put(BASE + 0x4000, &[0]);
    let r = reg.call(f, cmd::PROG_LOAD, BASE, a.len() as u32);
    flush(f);
    let log = f.get(BASE + 0x4000, LOG_SIZE as usize);
    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
    (r, String::from_utf8_lossy(&log[..end]).into_owned())
}

/// Loads `text` without a log and, if refused, again with one: the
/// result of the first load and, when refused, whether the log holds
/// `message`.
fn check(text: &str, want: Result<(), (Errno, &str)>) {
    let prog = bytes(&assemble(text).unwrap());
    let reg = Registry::new();
    let mut f = fake_for(prog.len() / 8);
    let count = (prog.len() / 8) as u32;
    let (r, _) = load_at(&mut f, &reg, &prog, count, false);
    match want {
        Ok(()) => {
            // Without the host's executable memory the JIT image cannot be
            // placed: verified is all that can be seen.
            #[cfg(feature = "host")]
            assert!(r.is_ok(), "{text}: refused with {r:?}");
            #[cfg(not(feature = "host"))]
            assert_eq!(r, Err(Errno::ENOTSUPP), "{text}");
        }
        Err((errno, message)) => {
            assert_eq!(r, Err(errno), "{text}");
            let (_, log) = load_at(&mut f, &reg, &prog, count, true);
            assert!(log.lines().any(|l| l == message), "{text}: no `{message}` in\n{log}");
        }
    }
}

/// A main function and one more per extra entry of `depths`, each calling
/// the next; function `k` uses `depths[k]` bytes of stack.
fn chain(depths: &[u32]) -> String {
    let mut text = String::new();
    for (k, &d) in depths.iter().enumerate() {
        if k > 0 {
            let _ = writeln!(text, "f{k}:");
        }
        if d > 0 {
            let _ = writeln!(text, "stdw [%r10-{d}], 0");
        }
        if k + 1 < depths.len() {
            let _ = writeln!(text, "call local f{}", k + 1);
        }
        text.push_str("mov %r0, 0\nexit\n");
    }
    text
}

/// Issue 20's program: a function calling itself while its counter is
/// not zero, `depth` bytes of stack a frame.
fn recursion(count: u32, depth: u32) -> String {
    format!(
        "mov %r1, {count}\ncall local f\nexit\nf:\nstdw [%r10-{depth}], 0\njeq %r1, 0, out\n\
         add %r1, -1\ncall local f\nout:\nmov %r0, 0\nexit"
    )
}

#[test]
fn stack_and_call_limits() {
    check(&chain(&[256, 256]), Ok(()));
    check(
        &chain(&[256, 264]),
        Err((Errno::EACCES, "combined stack size of 2 calls is 528. Too large")),
    );
    check(
        &recursion(6, 512),
        Err((Errno::EACCES, "combined stack size of 3 calls is 1024. Too large")),
    );
    check(&chain(&[0; 8]), Ok(()));
    check(&chain(&[0; 9]), Err((Errno::E2BIG, "the call stack of 9 frames is too deep")));
    let dead =
        chain(&[0; 9]).replacen("call local f8", "mov %r0, 1\njne %r0, 0, +1\ncall local f8", 1);
    check(&dead, Err((Errno::E2BIG, "the call stack of 8 frames is too deep !")));
    // A pointer moves by less than 2^29, both ways.
    let move_fp = |by: i64| {
        format!(
            "stdw [%r10-8], 0\nmov %r1, %r10\nadd %r1, {by}\nadd %r1, {}\nldxb %r0, [%r1-8]\nexit",
            -by
        )
    };
    check(&move_fp(-(1 << 29) + 1), Ok(()));
    check(
        &move_fp(-(1 << 29)),
        Err((Errno::EINVAL, "math between fp pointer and -536870912 is not allowed")),
    );
}

#[test]
fn function_and_map_limits() {
    // 256 functions, the main one included; the 257th is E2BIG.
    let functions = |n: usize| {
        let mut text = String::new();
        for k in 1..=n {
            let _ = writeln!(text, "call local f{k}");
        }
        text.push_str("mov %r0, 0\nexit\n");
        for k in 1..=n {
            let _ = writeln!(text, "f{k}:\nmov %r0, 0\nexit");
        }
        text
    };
    check(&functions(255), Ok(()));
    check(&functions(256), Err((Errno::E2BIG, "too many subprograms")));
    // 64 maps a program; the same map named twice counts once.
    let reg = Registry::new();
    let mut f = fake_for(200);
    let fds: Vec<u64> =
        (0..65).map(|_| create(&mut f, &reg, mt::ARRAY, 4, 8, 1).unwrap()).collect();
    let naming = |fds: &[u64]| {
        let mut text = String::new();
        for fd in fds {
            let _ = writeln!(text, "lddw %r1, map:{fd}");
        }
        bytes(&assemble(&(text + "mov %r0, 0\nexit")).unwrap())
    };
    for (prog, want) in [
        (naming(&fds[..64]), None),
        (naming(&[&fds[..64], &fds[..1]].concat()), None),
        (naming(&fds), Some(Errno::E2BIG)),
    ] {
        let (r, _) = load_at(&mut f, &reg, &prog, (prog.len() / 8) as u32, false);
        match want {
            Some(errno) => assert_eq!(r, Err(errno)),
            #[cfg(feature = "host")]
            None => assert!(r.is_ok(), "{r:?}"),
            #[cfg(not(feature = "host"))]
            None => assert_eq!(r, Err(Errno::ENOTSUPP)),
        }
    }
    let all = naming(&fds);
    let (_, log) = load_at(&mut f, &reg, &all, (all.len() / 8) as u32, true);
    assert!(
        log.contains("The total number of maps per program has reached the limit of 64"),
        "{log}"
    );
}

#[test]
fn complexity_limits() {
    // Pending branches: each jump on an unknown value queues one.
    let branches = |n: usize| {
        let mut text = String::from("ldxw %r2, [%r1+0]\n");
        for k in 0..n {
            let _ = writeln!(text, "jeq %r2, {}, out", 100_000 + k);
        }
        text + "mov %r0, 0\nexit\nout:\nmov %r0, 1\nexit"
    };
    check(&branches(8192), Ok(()));
    check(&branches(8193), Err((Errno::E2BIG, "The sequence of 8193 jumps is too complex.")));
    // Processed instructions: 2 + 2 * 499,998 + 2, then one more.
    let counted = |setup: usize| {
        "mov %r1, 0\n".to_string()
            + &"mov %r2, 0\n".repeat(setup)
            + "loop:\nadd %r1, 1\njlt %r1, 499998, loop\nmov %r0, 0\nexit"
    };
    check(&counted(1), Ok(()));
    check(&counted(2), Err((Errno::E2BIG, "BPF program is too large. Processed 1000001 insn")));
}

#[test]
fn program_size_limits() {
    let straight = |n: usize| {
        let mut p = vec![Insn::new(0xb7, 0, 0, 0, 0); n - 1];
        p.push(Insn::new(0x95, 0, 0, 0, 0));
        bytes(&p)
    };
    let reg = Registry::new();
    let mut f = fake_for(1_000_001);
    let over = straight(1_000_001);
    // Refused before anything is read or verified: no log at all.
    assert_eq!(load_at(&mut f, &reg, &over, 1_000_001, true), (Err(Errno::E2BIG), String::new()));
    assert_eq!(load_at(&mut f, &reg, &over, 0, true), (Err(Errno::E2BIG), String::new()));
    // One instruction passes the size check and is refused on its merits.
    let (r, log) = load_at(&mut f, &reg, &straight(1), 1, true);
    assert_eq!(r, Err(Errno::EACCES));
    assert!(log.contains("R0 !read_ok"), "{log}");
    // The log's size: at most u32::MAX >> 2 (Linux's bpf_vlog_init), the
    // rest EINVAL before anything is verified.
    for (size, want) in [((1u32 << 30) - 1, Errno::EACCES), (1 << 30, Errno::EINVAL)] {
        let mut a = [0u8; ProgLoadAttr::SIZE];
        ProgLoadAttr {
            prog_type: 1,
            insn_cnt: 1,
            insns: INSNS,
            license: BASE + 0x3000,
            log_level: 1,
            log_size: size,
            log_buf: BASE + 0x4000,
            ..Default::default()
        }
        .write_to(&mut a);
        f.put(BASE, &a);
        f.put(INSNS, &straight(1));
        assert_eq!(reg.call(&mut f, cmd::PROG_LOAD, BASE, a.len() as u32), Err(want));
        flush(&mut f);
    }
    // A million instructions load.
    let (r, _) = load_at(&mut f, &reg, &over[8..], 1_000_000, false);
    #[cfg(feature = "host")]
    assert!(r.is_ok(), "{r:?}");
    #[cfg(not(feature = "host"))]
    assert_eq!(r, Err(Errno::ENOTSUPP));
}

/// A program counting its runs in array `counter`'s value (`[count,
/// limit]`) and tail-calling itself through `progs` slot 0 while the count
/// is at most the limit: 1 when it stops by itself, 2 when a tail call
/// fell through (`tests/src/jit.rs`'s `TAIL_CALL_LOOP`).
#[cfg(feature = "host")]
fn tail_call_loop(counter: u64, progs: u64) -> String {
    format!(
        "mov %r6, %r1\nlddw %r7, mapvalue:{counter}+0\nldxdw %r0, [%r7+0]\nadd %r0, 1\n\
         stxdw [%r7+0], %r0\nldxdw %r1, [%r7+8]\njgt %r0, %r1, done\nmov %r1, %r6\n\
         lddw %r2, map:{progs}\nmov %r3, 0\ncall 12\nmov %r0, 2\nexit\ndone:\nmov %r0, 1\nexit"
    )
}

#[cfg(feature = "host")]
#[test]
fn tail_call_chains_stop_after_33_in_test_runs() {
    // Limit 33: 33 tail calls, all taken, and the 34th run stops by
    // itself; limit 34: the 34th tail call falls through.
    for (limit, want) in [(32u64, (33u64, 1u32)), (33, (34, 1)), (34, (34, 2))] {
        let reg = Registry::new();
        let mut f = fake_for(32);
        let counter = create(&mut f, &reg, mt::ARRAY, 4, 16, 1).unwrap();
        let progs = create(&mut f, &reg, mt::PROG_ARRAY, 4, 4, 1).unwrap();
        let prog = bytes(&assemble(&tail_call_loop(counter, progs)).unwrap());
        let (fd, _) = load_at(&mut f, &reg, &prog, (prog.len() / 8) as u32, false);
        let fd = fd.unwrap() as u32;
        let key = 0u32.to_le_bytes();
        let r = elem(&mut f, &reg, cmd::MAP_UPDATE_ELEM, progs, &key, &fd.to_le_bytes(), 0);
        assert_eq!(r, Ok(0));
        let mut value = [0u8; 16];
        value[8..].copy_from_slice(&limit.to_le_bytes());
        assert_eq!(elem(&mut f, &reg, cmd::MAP_UPDATE_ELEM, counter, &key, &value, 0), Ok(0));
        let mut t = [0u8; TestRunAttr::SIZE];
        TestRunAttr {
            prog_fd: fd,
            data_size_in: 64,
            data_in: BASE + 0x2000,
            repeat: 1,
            ..Default::default()
        }
        .write_to(&mut t);
        f.put(BASE, &vec![0u8; 4096]);
        f.put(BASE, &t);
        assert_eq!(reg.call(&mut f, cmd::PROG_TEST_RUN, BASE, t.len() as u32), Ok(0));
        flush(&mut f);
        let retval = u32::from_le_bytes(f.get(BASE + 4, 4).try_into().unwrap());
        assert_eq!(elem(&mut f, &reg, cmd::MAP_LOOKUP_ELEM, counter, &key, &[0; 16], 0), Ok(0));
        let runs = u64::from_le_bytes(f.get(BASE + 0x2000, 8).try_into().unwrap());
        assert_eq!((runs, retval), want, "limit {limit}: (runs, r0)");
    }
}
