//! Fuzzing the verifier: random instruction words and mutations of valid
//! programs (the parity corpus, generated programs). The verifier must
//! never panic or hang on any of them, and every program it accepts is
//! then run by the reference interpreter in an environment shaped like the
//! verifier's view (context, map values, helpers that check their pointer
//! arguments): an accepted program that touches memory it may not, or does
//! not end, is a verifier bug.
//!
//! 20,000 programs by default (a few seconds); `AXIOM_LONG_TESTS=1` runs
//! 1,000,000; `AXIOM_FUZZ_SEED=N` starts another sequence.

use axiom_abi::Insn;
use axiom_abi::uapi::types::prog_type;
use axiom_jit::interp::{EnvError, Fault, HostEnv, Interpreter, Region, Stack};
use axiom_tests::paths::repo_root;
use axiom_tests::progen::{Rng, generate};
use axiom_tests::vcorpus::{Case, MapSpec, Verdict, linux_verdict, load, platform};
use axiom_verifier::{Options, verify};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Where the interpreter puts the context (`struct __sk_buff`).
const CTX_BASE: u64 = 0x1000_0000;
const CTX_SIZE: usize = 192;
/// Map `i`'s value lives at `VALUE_BASE + i * VALUE_STRIDE`.
const VALUE_BASE: u64 = 0x2000_0000;
const VALUE_STRIDE: u64 = 0x1_0000;
/// The ring buffer's reservable memory.
const RINGBUF_BASE: u64 = 0x4000_0000;
const RINGBUF_SIZE: usize = 1 << 16;
/// A map "pointer" encodes the map's number and sizes; it is not memory.
const MAP_PTR_TAG: u64 = 0x3000_0000_0000_0000;

fn map_ptr(index: usize, m: &MapSpec) -> u64 {
    MAP_PTR_TAG | (index as u64) << 40 | (m.key as u64) << 20 | m.value as u64
}

fn decode_map_ptr(p: u64) -> Result<(u64, usize, usize), EnvError> {
    if p & 0xf000_0000_0000_0000 != MAP_PTR_TAG {
        return Err(EnvError::Helper("map argument is not a map"));
    }
    Ok(((p >> 40) & 0xff, ((p >> 20) & 0xfffff) as usize, (p & 0xfffff) as usize))
}

/// Whether `len` bytes at `addr` are the program's stack or a region.
fn readable(regions: &[Region], stack: &Stack, addr: u64, len: usize) -> bool {
    stack.get(addr, len).is_some()
        || regions
            .iter()
            .any(|r| addr >= r.base && addr - r.base + len as u64 <= r.data.len() as u64)
}

fn check(ok: bool) -> Result<(), EnvError> {
    if ok { Ok(()) } else { Err(EnvError::OutOfBounds) }
}

fn lookup(a: [u64; 5], regions: &mut [Region], stack: &mut Stack) -> Result<u64, EnvError> {
    let (index, key, _) = decode_map_ptr(a[0])?;
    check(readable(regions, stack, a[1], key))?;
    Ok(VALUE_BASE + index * VALUE_STRIDE)
}

fn update(a: [u64; 5], regions: &mut [Region], stack: &mut Stack) -> Result<u64, EnvError> {
    let (_, key, value) = decode_map_ptr(a[0])?;
    check(readable(regions, stack, a[1], key) && readable(regions, stack, a[2], value))?;
    Ok(0)
}

fn delete(a: [u64; 5], regions: &mut [Region], stack: &mut Stack) -> Result<u64, EnvError> {
    let (_, key, _) = decode_map_ptr(a[0])?;
    check(readable(regions, stack, a[1], key))?;
    Ok(0)
}

fn number(_: [u64; 5], _: &mut [Region], _: &mut Stack) -> Result<u64, EnvError> {
    Ok(0x1234_5678)
}

fn cpu(_: [u64; 5], _: &mut [Region], _: &mut Stack) -> Result<u64, EnvError> {
    Ok(0)
}

fn read_mem(a: [u64; 5], regions: &mut [Region], stack: &mut Stack) -> Result<u64, EnvError> {
    check(readable(regions, stack, a[0], a[1] as usize))?;
    Ok(0)
}

fn skb_load_bytes(a: [u64; 5], regions: &mut [Region], stack: &mut Stack) -> Result<u64, EnvError> {
    check(a[0] == CTX_BASE && readable(regions, stack, a[2], a[3] as usize))?;
    Ok(0)
}

fn ringbuf_output(a: [u64; 5], regions: &mut [Region], stack: &mut Stack) -> Result<u64, EnvError> {
    decode_map_ptr(a[0])?;
    check(readable(regions, stack, a[1], a[2] as usize))?;
    Ok(0)
}

fn ringbuf_reserve(a: [u64; 5], _: &mut [Region], _: &mut Stack) -> Result<u64, EnvError> {
    decode_map_ptr(a[0])?;
    Ok(if a[1] as usize <= RINGBUF_SIZE { RINGBUF_BASE } else { 0 })
}

fn ringbuf_release(a: [u64; 5], _: &mut [Region], _: &mut Stack) -> Result<u64, EnvError> {
    check(a[0] == RINGBUF_BASE)?;
    Ok(0)
}

fn ringbuf_query(a: [u64; 5], _: &mut [Region], _: &mut Stack) -> Result<u64, EnvError> {
    decode_map_ptr(a[0])?;
    Ok(0)
}

/// Runs an accepted socket filter; `Err` describes a verifier bug.
fn run_accepted(prog: &[Insn], maps: &[MapSpec]) -> Result<(), String> {
    let mut env = HostEnv::default();
    env.add_region(CTX_BASE, vec![0; CTX_SIZE], true);
    env.add_region(RINGBUF_BASE, vec![0; RINGBUF_SIZE], true);
    for (i, m) in maps.iter().enumerate() {
        env.add_region(VALUE_BASE + i as u64 * VALUE_STRIDE, vec![0; m.value as usize], true);
        env.pseudo_values.insert((1, i as i32), map_ptr(i, m));
        env.pseudo_values.insert((2, i as i32), VALUE_BASE + i as u64 * VALUE_STRIDE);
    }
    let helpers: [(i32, axiom_jit::interp::HelperFn); 14] = [
        (1, lookup),
        (2, update),
        (3, delete),
        (5, number),
        (6, read_mem),
        (7, number),
        (8, cpu),
        (26, skb_load_bytes),
        (125, number),
        (130, ringbuf_output),
        (131, ringbuf_reserve),
        (132, ringbuf_release),
        (133, ringbuf_release),
        (134, ringbuf_query),
    ];
    env.helpers.extend(helpers);
    let prog: Rc<[Insn]> = prog.into();
    match Interpreter::default().run(&mut env, prog, &[CTX_BASE]) {
        Ok(_) => Ok(()),
        // The interpreter has no packet for legacy loads: not a verdict.
        Err(Fault::NoPacket { .. }) => Ok(()),
        Err(f) => Err(f.to_string()),
    }
}

/// A random instruction word, biased towards valid encodings.
fn random_insn(rng: &mut Rng) -> Insn {
    const CODES: &[u8] = &[
        0x07, 0x0f, 0x17, 0x1f, 0x27, 0x2f, 0x37, 0x3f, 0x47, 0x4f, 0x57, 0x5f, 0x67, 0x6f, 0x77,
        0x7f, 0x87, 0x97, 0x9f, 0xa7, 0xaf, 0xb7, 0xbf, 0xc7, 0xcf, 0xd4, 0xdc, 0x04, 0x0c, 0x14,
        0x1c, 0xb4, 0xbc, 0x05, 0x06, 0x15, 0x1d, 0x25, 0x2d, 0x35, 0x3d, 0x45, 0x4d, 0x55, 0x5d,
        0x65, 0x6d, 0x75, 0x7d, 0xa5, 0xad, 0xb5, 0xbd, 0xc5, 0xcd, 0xd5, 0xdd, 0x16, 0x1e, 0x26,
        0x2e, 0x85, 0x95, 0x18, 0x61, 0x69, 0x71, 0x79, 0x62, 0x6a, 0x72, 0x7a, 0x63, 0x6b, 0x73,
        0x7b, 0xc3, 0xdb, 0x30, 0x28, 0x20, 0x40, 0x48, 0x50, 0x81, 0x89, 0x91,
    ];
    let code = if rng.below(8) == 0 {
        rng.next_u64() as u8
    } else {
        CODES[rng.below(CODES.len() as u64) as usize]
    };
    let imm = match rng.below(6) {
        0 => rng.next_u64() as i32,
        1 => [0, 1, -1, i32::MIN, i32::MAX, 8, 64, 512][rng.below(8) as usize],
        _ => rng.below(64) as i32 - 16,
    };
    let off = match rng.below(4) {
        0 => rng.next_u64() as i16,
        _ => rng.below(32) as i16 * if rng.below(2) == 0 { 8 } else { -8 } + rng.below(3) as i16,
    };
    Insn { code, dst: rng.below(12) as u8, src: rng.below(12) as u8, off, imm }
}

/// One mutation of `prog`.
fn mutate(rng: &mut Rng, prog: &mut Vec<Insn>) {
    let n = prog.len();
    let at = rng.below(n.max(1) as u64) as usize;
    match rng.below(9) {
        0 if n > 0 => prog[at].code = random_insn(rng).code,
        1 if n > 0 => prog[at].dst = rng.below(12) as u8,
        2 if n > 0 => prog[at].src = rng.below(12) as u8,
        3 if n > 0 => prog[at].off = prog[at].off.wrapping_add(rng.below(17) as i16 - 8),
        4 if n > 0 => prog[at].imm = random_insn(rng).imm,
        5 if n > 1 => {
            prog.remove(at);
        }
        6 if n < 4096 => prog.insert(at, random_insn(rng)),
        7 if n > 0 => {
            let b = rng.below(n as u64) as usize;
            prog.swap(at, b);
        }
        _ if n > 0 => {
            // A copy of a run of instructions somewhere else.
            let len = 1 + rng.below(4) as usize;
            let run: Vec<Insn> = prog[at..(at + len).min(n)].to_vec();
            let to = rng.below(n as u64) as usize;
            for (k, i) in run.into_iter().enumerate() {
                prog.insert(to + k, i);
            }
        }
        _ => prog.push(random_insn(rng)),
    }
}

fn listing(prog: &[Insn]) -> String {
    axiom_abi::instruction::decode_all(prog)
        .map(|r| format!("{r:?}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_verifier_survives_random_and_mutated_programs() {
    let count = if std::env::var_os("AXIOM_LONG_TESTS").is_some() { 1_000_000 } else { 20_000 };
    let corpus: Vec<Case> = load(&repo_root().join("tests/verifier-corpus")).expect("corpus");
    // AXIOM_FUZZ_SEED explores other sequences; CI runs the fixed one.
    let seed = std::env::var("AXIOM_FUZZ_SEED").ok().and_then(|s| s.parse().ok());
    let mut rng = Rng::new(seed.unwrap_or(0xf022_0001));
    let opts = Options::default();
    let (mut accepted, mut executed, mut slowest) = (0u64, 0u64, Duration::ZERO);
    // Where the host allows bpf(), every program Axiom accepts is offered
    // to Linux too: Axiom must not accept what Linux refuses.
    let live = axiom_tests::linux::available();
    if let Err(why) = &live {
        println!("host Linux bpf() not usable ({why}): no comparison with Linux");
    }
    let (mut compared, mut linux_refused) = (0u64, Vec::new());
    for n in 0..count {
        // A seed: a corpus case, a generated program, or nothing (random).
        let (mut prog, maps, prog_type) = match rng.below(4) {
            0 | 1 => {
                let c = &corpus[rng.below(corpus.len() as u64) as usize];
                (c.prog.clone(), c.maps.clone(), c.prog_type)
            }
            2 => {
                let len = 4 + rng.below(40) as usize;
                (generate(&mut rng, len, CTX_SIZE), Vec::new(), prog_type::SOCKET_FILTER)
            }
            _ => {
                let len = 1 + rng.below(24) as usize;
                let prog = (0..len).map(|_| random_insn(&mut rng)).collect();
                let ty = if rng.below(4) == 0 { prog_type::XDP } else { prog_type::SOCKET_FILTER };
                (prog, Vec::new(), ty)
            }
        };
        let rounds = if rng.below(4) == 0 { 2 + rng.below(3) } else { 1 };
        for _ in 0..rounds {
            mutate(&mut rng, &mut prog);
        }
        let platform = platform(&maps);
        let start = Instant::now();
        let verdict = catch_unwind(AssertUnwindSafe(|| verify(&prog, prog_type, &platform, &opts)));
        let took = start.elapsed();
        slowest = slowest.max(took);
        let report = verdict.unwrap_or_else(|_| {
            panic!("program {n}: the verifier panicked (type {prog_type})\n{}", listing(&prog))
        });
        // A hang detector, not a speed target: a verification is bounded by
        // the 1,000,000-instruction limit, well under a minute even here.
        assert!(took < Duration::from_secs(60), "program {n}: {took:?}\n{}", listing(&prog));
        if report.result.is_err() {
            continue;
        }
        accepted += 1;
        if live.is_ok() {
            let case = Case {
                name: format!("fuzz {n}"),
                prog_type,
                maps: maps.clone(),
                expect: Verdict::Accept,
                prog: prog.clone(),
            };
            compared += 1;
            if let Ok(Verdict::Reject { errno, message }) = linux_verdict(&case) {
                linux_refused.push(format!(
                    "program {n} (type {prog_type}, maps {maps:?}): Linux errno {errno}: {message}\n{}",
                    listing(&prog)
                ));
            }
        }
        // XDP contexts hold 32-bit packet fields that the runtime rewrites;
        // the interpreter runs socket filters only.
        if prog_type == prog_type::SOCKET_FILTER {
            executed += 1;
            if let Err(e) = run_accepted(&prog, &maps) {
                panic!(
                    "program {n}: accepted, but the interpreter stopped: {e}\n{}",
                    listing(&prog)
                );
            }
        }
    }
    println!(
        "verifier fuzz: {count} programs, {accepted} accepted, {executed} run safely; slowest verification {slowest:?}"
    );
    println!("compared with Linux: {compared}, refused by Linux: {}", linux_refused.len());
    for r in linux_refused.iter().take(10) {
        println!("{r}\n");
    }
    assert!(accepted > 0, "the mutations never produced an acceptable program");
    assert!(linux_refused.is_empty(), "Axiom accepted programs Linux refuses");
}
