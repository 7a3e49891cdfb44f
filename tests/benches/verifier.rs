//! Verification time, side by side in one run: Axiom's verifier against the
//! host Linux kernel's `BPF_PROG_LOAD` (which verifies and JIT-compiles)
//! for the same programs: straight-line programs of 27, 4,096, 65,536 and
//! 1,000,000 instructions, branchy and loop-heavy ones. Prints the median
//! time per program and per instruction, their ratio, the instructions
//! each verifier processed, and the peak heap Axiom's verifier used (a
//! counting allocator). Run with `cargo bench -p axiom-tests --bench
//! verifier`. No virtualization is involved: both run on this host.
#![allow(missing_docs)]

use axiom_abi::Insn;
use axiom_abi::asm::assemble;
use axiom_abi::uapi::types::prog_type;
use axiom_bpf::verify::KernelPlatform;
use axiom_tests::linux;
use axiom_verifier::platform::MapInfo;
use axiom_verifier::{Options, verify};
use std::alloc::{GlobalAlloc, Layout, System};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// The system allocator, counting live and peak bytes.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counters do not affect the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract, passed on as is.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Median wall time of `f` in nanoseconds over `runs` runs.
fn time_ns(runs: usize, mut f: impl FnMut()) -> f64 {
    f();
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_nanos() as f64
            })
            .collect(),
    )
}

/// `n` instructions of independent ALU work on r0..r5, then `exit`.
fn straight_line(n: usize) -> Vec<Insn> {
    let mut text = String::from("mov %r0, 0\nmov %r2, 1\nmov %r3, 2\nmov %r4, 3\nmov %r5, 4\n");
    let ops =
        ["add %r0, 3", "xor %r2, %r0", "lsh %r3, 1", "add %r4, %r3", "mul %r5, 7", "or %r0, %r5"];
    for k in 0..n.saturating_sub(6) {
        text.push_str(ops[k % ops.len()]);
        text.push('\n');
    }
    text.push_str("exit\n");
    assemble(&text).expect("straight-line program")
}

/// `diamonds` conditional branches, each on a context field loaded afresh
/// and each joining again: pruning keeps this linear.
fn branchy(diamonds: usize) -> Vec<Insn> {
    let mut text = String::from("mov %r0, 0\n");
    for k in 0..diamonds {
        let field = [0, 4, 8, 16][k % 4];
        text.push_str(&format!(
            "ldxw %r6, [%r1+{field}]\njgt %r6, {}, +2\nadd %r0, 1\nja +1\nadd %r0, 2\n",
            k % 1000
        ));
    }
    text.push_str("exit\n");
    assemble(&text).expect("branchy program")
}

/// A loop of `iterations` over a map value, each one bounds-checked.
fn map_loop(iterations: usize) -> Vec<Insn> {
    let text = format!(
        "stw [%r10-4], 0
lddw %r1, map:0
mov %r2, %r10
add %r2, -4
call 1
jeq %r0, 0, out
mov %r6, 0
mov %r7, 0
loop:
mov %r1, %r6
and %r1, 63
mov %r2, %r0
add %r2, %r1
ldxb %r3, [%r2+0]
add %r7, %r3
add %r6, 1
jlt %r6, {iterations}, loop
mov %r0, %r7
exit
out:
mov %r0, 0
exit
"
    );
    assemble(&text).expect("map loop")
}

/// Two nested counted loops.
fn nested_loops(outer: usize, inner: usize) -> Vec<Insn> {
    let text = format!(
        "mov %r0, 0
mov %r1, 0
outer:
mov %r2, 0
inner:
add %r0, %r2
add %r2, 1
jlt %r2, {inner}, inner
add %r1, 1
jlt %r1, {outer}, outer
exit
"
    );
    assemble(&text).expect("nested loops")
}

struct Row {
    name: String,
    insns: usize,
    axiom_ns: f64,
    axiom_processed: u64,
    axiom_peak_bytes: usize,
    axiom_states: u32,
    linux_ns: Option<f64>,
    /// Linux's own `verification time` (BPF_LOG_STATS), median, µs.
    linux_verify_us: Option<f64>,
}

fn measure(name: &str, prog: &[Insn], uses_map: bool, runs: usize, live: bool) -> Row {
    let map =
        MapInfo { map_type: 2, key_size: 4, value_size: 64, max_entries: 1, read_only: false };
    let map_fd = if uses_map && live { linux::create_map(2, 4, 64, 1).ok() } else { None };
    let fd = map_fd.as_ref().map_or(3, |f| f.as_raw_fd());
    let prog: Vec<Insn> = prog
        .iter()
        .map(|i| if i.code == 0x18 && i.src == 1 { Insn { imm: fd, ..*i } } else { *i })
        .collect();
    let platform = KernelPlatform {
        maps_by_fd: if uses_map { vec![(fd, map)] } else { vec![] },
        maps_by_index: vec![],
        possible_cpus: linux::possible_cpus(),
    };
    let opts = Options::default();
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let report = verify(&prog, prog_type::SOCKET_FILTER, &platform, &opts);
    let peak = PEAK.load(Ordering::Relaxed) - before;
    let verified = report.result.unwrap_or_else(|e| panic!("{name}: Axiom refused it: {e}"));
    let axiom_ns = time_ns(runs, || {
        let r = verify(&prog, prog_type::SOCKET_FILTER, &platform, &opts);
        std::hint::black_box(r.result.is_ok());
    });
    let linux_ns = live.then(|| {
        if let Err(e) = linux::load_program_type(prog_type::SOCKET_FILTER, &prog) {
            panic!("{name}: Linux refused it: {}", e.log);
        }
        time_ns(runs, || {
            let fd = linux::load_program_type(prog_type::SOCKET_FILTER, &prog);
            std::hint::black_box(fd.is_ok());
        })
    });
    let linux_verify_us = live.then(|| {
        let runs = runs.min(21);
        let v: Vec<f64> = (0..runs)
            .filter_map(|_| linux::verification_time_us(prog_type::SOCKET_FILTER, &prog))
            .map(|us| us as f64)
            .collect();
        if v.is_empty() { f64::NAN } else { median(v) }
    });
    Row {
        name: name.to_string(),
        linux_verify_us,
        insns: prog.len(),
        axiom_ns,
        axiom_processed: verified.processed,
        axiom_peak_bytes: peak,
        axiom_states: verified.total_states,
        linux_ns,
    }
}

fn main() {
    let live = linux::available();
    println!(
        "# Verification time: Axiom's verifier and Linux's BPF_PROG_LOAD, same programs, one run"
    );
    println!();
    println!(
        "host: Linux {}, no virtualization (KVM/TCG not involved); median of several runs",
        std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim()
    );
    if let Err(why) = &live {
        println!("Linux column empty: host bpf() refused ({why})");
    }
    println!(
        "Linux load: the whole BPF_PROG_LOAD system call (verification, JIT compilation, object set-up). Linux verification: the kernel's own 'verification time' (BPF_LOG_STATS), whole microseconds."
    );
    println!();
    let live = live.is_ok();
    let cases: Vec<(&str, Vec<Insn>, bool, usize)> = vec![
        ("straight line", straight_line(27), false, 201),
        ("straight line", straight_line(4096), false, 51),
        ("straight line", straight_line(65_536), false, 11),
        ("straight line", straight_line(1_000_000), false, 3),
        ("branchy (512 diamonds)", branchy(512), false, 21),
        ("branchy (4096 diamonds)", branchy(4096), false, 11),
        ("map value loop (64 iterations)", map_loop(64), true, 21),
        ("map value loop (1000 iterations)", map_loop(1000), true, 11),
        ("nested loops (30 x 30)", nested_loops(30, 30), false, 11),
    ];
    let rows: Vec<Row> =
        cases.iter().map(|(n, p, m, runs)| measure(n, p, *m, *runs, live)).collect();
    println!(
        "| program | insns | Axiom processed | Axiom µs | Linux load µs | Linux verification µs | Axiom ns/insn | Linux load ns/insn | Axiom / Linux load | Axiom / Linux verification | Axiom states | Axiom peak heap |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in &rows {
        let per = |ns: f64| ns / r.insns as f64;
        let (linux_us, linux_per, ratio) = match r.linux_ns {
            Some(l) => (
                format!("{:.1}", l / 1000.0),
                format!("{:.1}", per(l)),
                format!("{:.3}", r.axiom_ns / l),
            ),
            None => ("n/a".into(), "n/a".into(), "n/a".into()),
        };
        let (verify_us, verify_ratio) = match r.linux_verify_us {
            Some(v) if v > 0.0 => (format!("{v:.0}"), format!("{:.3}", r.axiom_ns / 1000.0 / v)),
            Some(_) => ("<1".into(), "n/a".into()),
            None => ("n/a".into(), "n/a".into()),
        };
        println!(
            "| {} | {} | {} | {:.1} | {linux_us} | {verify_us} | {:.1} | {linux_per} | {ratio} | {verify_ratio} | {} | {} KiB |",
            r.name,
            r.insns,
            r.axiom_processed,
            r.axiom_ns / 1000.0,
            per(r.axiom_ns),
            r.axiom_states,
            r.axiom_peak_bytes.div_ceil(1024),
        );
    }
}
