//! The kernel's in-QEMU tests: memory, exceptions, paging, the clock and
//! tick, the context switch and the scheduler core. Each returns whether
//! it passed; none can hang (waits are bounded by ticks or cycles).

use crate::frames::{FRAME, Frames};
use crate::sched::{self, Policy, TaskId};
use alloc::boxed::Box;
use alloc::vec::Vec;
use axiom_hal as hal;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// An in-kernel test: its name, and the function that says whether it
/// passed.
pub type Test = (&'static str, fn() -> bool);

/// The kernel's in-QEMU tests.
pub const TESTS: &[Test] = &[
    (
        "command line: axiom.* options parsed once, unknown ones kept to report",
        crate::config::parse_test,
    ),
    ("heap: boxes and growing vectors", heap_test),
    ("cycle counter advances", cycles_test),
    ("frames: distinct, aligned, outside the kernel, returned", frames_test),
    ("exceptions: breakpoints are handled and return", breakpoint_test),
    (
        "paging: text read+execute, rodata read-only, data no-execute, no writable alias of text, page 0 unmapped",
        wx_test,
    ),
    ("clock: calibrated against a reference", clock_test),
    ("timer: ticks arrive at the programmed rate", tick_test),
    ("context switch: registers and stacks survive switches", switch_test),
    ("scheduler: a task that never yields is preempted by the tick", preempt_test),
    ("scheduler: sleeping tasks wake after their ticks", sleep_test),
    ("smp: every CPU the firmware lists is online and runs tasks", smp_test),
    ("jit: BPF code compiled in the kernel runs from read+execute pages", jit_test),
    (
        "jit: code is the same each time unless hardened (axiom.harden: constants blinded)",
        jit_blinding_test,
    ),
    ("ioapic: an external interrupt (the UART's, ISA IRQ 4) is routed and delivered", irq_test),
    ("user mode: a program runs at privilege 3 and makes system calls", user_test),
    ("user mode: a faulting program ends, the kernel and its memory do not", user_fault_test),
    ("user: a static C program (gcc -static) from the initramfs", c_program_test),
    ("user: a static-pie Rust program (std, crt-static) from the initramfs", rust_program_test),
    ("bpf: map commands and their errors (user/bpf-maps), objects freed at exit", bpf_maps_test),
    ("bpf: program load, log, refusals, test runs, info (user/bpf-progs)", bpf_progs_test),
    (
        "bpf: ring buffer mapped with Linux's layout, epoll, 100,000 records (user/bpf-ringbuf)",
        bpf_ringbuf_test,
    ),
    ("bpf: a reader blocked in epoll_wait wakes when a ring-buffer record comes", ring_wait_test),
    ("bpf: libbpf's own ring-buffer reader, 100,000 records (user/libbpf-ringbuf)", libbpf_test),
    (
        "bpf: tick programs by link and PROG_ATTACH, replaced, pinned, detached (user/bpf-hooks)",
        bpf_hooks_test,
    ),
    ("bpf: axbpf (static, the host's CLI) loads and runs a .bpf.o in the guest", axbpf_test),
    (
        "bpf: hostile calls from a user process (user/bpf-fuzz) leave objects balanced",
        bpf_fuzz_test,
    ),
    ("scheduler: an installed policy's decisions are followed", policy_test),
    (
        "sched hook: BPF policies (round robin, then priority) swapped live decide task order",
        bpf_policy_test,
    ),
    ("sched hook: a policy the verifier refuses leaves the running one in place", bad_policy_test),
    ("sched hook: policies swapped six times under load lose no task", live_swap_test),
    ("sched hook: the watchdog ejects a policy that starves its tasks", starving_policy_test),
    (
        "sched hook: the same workload under the same policy, five times, decides the same",
        determinism_test,
    ),
    ("hooks: axbpf trace reads dispatch events and prints the latency table", trace_test),
    (
        "irq hook: filters on the periodic device's line drop a 1 kHz storm, defer, rate-limit; verdicts counted",
        irq_filter_test,
    ),
    (
        "irq hook: filters swapped six times during a 1 kHz storm judge every interrupt once",
        irq_swap_test,
    ),
    (
        "iio hook: no filter keeps every scan, decimation, threshold, moving average, \
         a refused filter leaves the running one, nothing lost across swaps",
        iio_filter_test,
    ),
    ("scheduler: a policy dispatching a task that cannot run is ejected", eject_test),
];

/// The clock calibration, once done.
pub static CLOCK: spin::Once<hal::Calibration> = spin::Once::new();

fn clock_test() -> bool {
    // A cycle counter between 1 MHz (arm64's generic timer runs at tens
    // of MHz: 62.5 under QEMU 7.2, 54 on a Raspberry Pi 5) and 20 GHz (a
    // TSC), and a tick timer that counted.
    CLOCK.get().is_some_and(|c| (1_000..20_000_000).contains(&c.tsc_khz) && c.lapic_khz > 0)
}

fn tick_test() -> bool {
    // Interrupts arrive: wait for 20 more ticks (bounded by a cycle count,
    // so a dead timer fails the test instead of hanging it).
    let start = crate::time::ticks();
    let give_up = hal::cycles() + CLOCK.get().map_or(0, |c| c.tsc_khz * 2000);
    while crate::time::ticks() < start + 20 && hal::cycles() < give_up {
        hal::wait_for_interrupt();
    }
    if crate::time::ticks() < start + 20 {
        return false;
    }
    // The mean interval over the first ticks is the programmed period,
    // within a factor of two (a wrong calibration is off by far more).
    let period = 1_000_000_000 / crate::time::HZ;
    crate::time::tick_stats(16).is_some_and(|s| s.mean > period / 2 && s.mean < period * 2)
}

fn wx_test() -> bool {
    use crate::paging::{NO_EXECUTE, WRITABLE};
    let (rodata, text, _, data) = hal::paging::sections();
    let flags = |a: u64| translate(a).map(|(p, f)| (p == a - hal::kernel_base(), f));
    let text_ok = matches!(flags(text), Some((true, f)) if f & (WRITABLE | NO_EXECUTE) == 0);
    let rodata_ok =
        matches!(flags(rodata), Some((true, f)) if f & WRITABLE == 0 && f & NO_EXECUTE != 0);
    let data_ok =
        matches!(flags(data), Some((true, f)) if f & WRITABLE != 0 && f & NO_EXECUTE != 0);
    // The physical map's alias of the text is read-only, not executable.
    let alias = translate(hal::phys_to_virt(text - hal::kernel_base()));
    let alias_ok = matches!(alias, Some((_, f)) if f & WRITABLE == 0 && f & NO_EXECUTE != 0);
    text_ok && rodata_ok && data_ok && alias_ok && translate(0).is_none()
}

fn irq_test() -> bool {
    static SEEN: AtomicU64 = AtomicU64::new(0);
    fn on_irq(_vector: u8) {
        SEEN.fetch_add(1, Ordering::SeqCst);
        // Acknowledged at the UART by turning the source off.
        hal::console_tx_interrupt(false);
    }
    hal::set_handler(hal::irq_vector(hal::CONSOLE_IRQ), on_irq);
    if !hal::route_irq(hal::CONSOLE_IRQ) {
        return false;
    }
    hal::console_tx_interrupt(true);
    let until = crate::time::ticks() + 100;
    while SEEN.load(Ordering::SeqCst) == 0 && crate::time::ticks() < until {
        sched::sleep_ticks(1);
    }
    hal::console_tx_interrupt(false);
    hal::mask_irq(hal::CONSOLE_IRQ);
    SEEN.load(Ordering::SeqCst) > 0
}

// A program that writes an 18-byte greeting and exits with getpid() + 40;
// one that writes to the kernel's image (machine code: the hal's).
use hal::user::{TEST_HELLO as HELLO, TEST_POKE_KERNEL as POKE_KERNEL};

/// A one-segment image of `code` at 0x400000.
fn code_image(code: &'static [u8]) -> crate::elf::Image {
    crate::elf::Image {
        segments: alloc::vec![crate::elf::Segment {
            vaddr: 0x40_0000,
            bytes: code,
            memsz: code.len() as u64,
            write: false,
            exec: true,
        }],
        entry: 0x40_0000,
    }
}

/// Waits (at most `ticks`) for process `pid` to end; its exit status.
fn wait_exit(pid: crate::process::Pid, ticks: u64) -> Option<i32> {
    let until = crate::time::ticks() + ticks;
    loop {
        let status = crate::process::get(pid)?.exit_status();
        if status.is_some() || crate::time::ticks() > until {
            return status;
        }
        sched::sleep_ticks(1);
    }
}

fn user_test() -> bool {
    let start = crate::process::StartInfo::default();
    let Ok(pid) = crate::process::spawn("hello", code_image(HELLO), start, &[], &[]) else {
        return false;
    };
    let status = wait_exit(pid, 2000);
    let written = crate::process::get(pid).map_or(0, |p| p.written.load(Ordering::Relaxed));
    status == Some(pid as i32 + 40) && written == 18
}

/// Runs `path` from the initramfs with `args`; its exit status and output.
pub fn run_program(path: &str, args: &[&str]) -> Option<(i32, alloc::string::String)> {
    let pid = match crate::process::spawn_path(path, args, &["AXIOM=1"]) {
        Ok(pid) => pid,
        Err(e) => {
            println!("cannot start {path}: {e:?}");
            return None;
        }
    };
    let status = wait_exit(pid, 10_000)?;
    let out = crate::process::get(pid)?.output();
    crate::process::reap(pid);
    Some((status, alloc::string::String::from_utf8_lossy(&out).into_owned()))
}

fn c_program_test() -> bool {
    match run_program("/bin/hello-c", &["hello-c", "one", "two"]) {
        Some((0, out)) => {
            out.contains("hello from C") && out.contains("argc 3") && out.contains("AXIOM=1")
        }
        other => {
            println!("hello-c: {other:?}");
            false
        }
    }
}

fn rust_program_test() -> bool {
    match run_program("/bin/hello-rust", &["hello-rust"]) {
        Some((0, out)) => out.contains("hello from Rust") && out.contains("sum 4999950000"),
        other => {
            println!("hello-rust: {other:?}");
            false
        }
    }
}

/// Runs a BPF test program from the initramfs: it must report no failed
/// check, and leave no BPF object behind once it exited.
fn bpf_program_test(name: &str) -> bool {
    let before = crate::syscall::bpf_objects_alive();
    let result = run_program(&alloc::format!("/bin/{name}"), &[name]);
    let after = crate::syscall::bpf_objects_alive();
    let verdict = alloc::format!("{name}: 0 failed");
    match result {
        Some((0, out)) if out.contains(&verdict) && after == before => true,
        other => {
            println!("{name}: {other:?}; objects alive before {before:?}, after {after:?}");
            false
        }
    }
}

/// The `axbpf` commands the guest runs, each printed as `axbpf$ ...`
/// before its output; the harness runs the same on the host and compares.
pub const AXBPF_COMMANDS: &[&[&str]] = &[
    &["load", "/lib/bpf/socket_count.bpf.o"],
    &["load", "/lib/bpf/xdp_proto.bpf.o"],
    &["load", "/lib/bpf/global_data.bpf.o"],
    &["load", "/lib/bpf/subprogs.bpf.o"],
    &["load", "/lib/bpf/multi_prog.bpf.o"],
    &["load", "/lib/bpf/legacy_maps.bpf.o"],
    &["load", "/lib/bpf/lru_percpu.bpf.o"],
    &["load", "/lib/bpf/bounded_loop.bpf.o"],
    &["load", "/lib/bpf/tail_calls.bpf.o"],
    &["load", "/lib/bpf/ringbuf_events.bpf.o"],
    &["run", "/lib/bpf/socket_count.bpf.o", "--prog", "count_packets"],
    &["run", "/lib/bpf/ringbuf_events.bpf.o", "--prog", "report_packet"],
];

fn axbpf_test() -> bool {
    let before = crate::syscall::bpf_objects_alive();
    let mut ok = true;
    for args in AXBPF_COMMANDS {
        println!("axbpf$ {}", args.join(" "));
        match axbpf(args) {
            Some((0, _)) => {}
            other => {
                println!("axbpf: {other:?}");
                ok = false;
            }
        }
    }
    println!("axbpf$ end");
    let after = crate::syscall::bpf_objects_alive();
    ok && after == before
}

fn bpf_fuzz_test() -> bool {
    let before = crate::syscall::bpf_objects_alive();
    // `axiom.fuzz=N` on the command line runs N calls instead of 5,000.
    let calls = crate::kernel::fuzz_calls();
    let result = run_program("/bin/bpf-fuzz", &["bpf-fuzz", &calls]);
    let after = crate::syscall::bpf_objects_alive();
    let ran = matches!(&result, Some((0, out)) if out.contains("bpf-fuzz: "));
    if !ran || after != before {
        println!("bpf-fuzz: {result:?}; objects alive before {before:?}, after {after:?}");
    }
    ran && after == before
}

fn bpf_maps_test() -> bool {
    bpf_program_test("bpf-maps")
}

fn bpf_progs_test() -> bool {
    bpf_program_test("bpf-progs")
}

fn libbpf_test() -> bool {
    bpf_program_test("libbpf-ringbuf")
}

fn bpf_hooks_test() -> bool {
    bpf_program_test("bpf-hooks")
}

fn bpf_ringbuf_test() -> bool {
    bpf_program_test("bpf-ringbuf")
}

/// `bpf-ringbuf wait` pins a ring buffer and blocks in `epoll_wait`; the
/// kernel, once the reader sleeps, commits a record as a program's
/// `bpf_ringbuf_output` does, and the reader must wake and print it.
fn ring_wait_test() -> bool {
    const PIN: &str = "/sys/fs/bpf/ring-wait";
    const RECORD: &[u8] = b"a record from the kernel";
    let before = crate::syscall::bpf_objects_alive();
    let Ok(pid) = crate::process::spawn_path("/bin/bpf-ringbuf", &["bpf-ringbuf", "wait"], &[])
    else {
        return false;
    };
    let mut ring = None;
    for _ in 0..2000 {
        ring = crate::syscall::bpf_pinned(PIN);
        if ring.is_some() {
            break;
        }
        sched::sleep_ticks(1);
    }
    // Long enough for the reader to go to sleep; it must not have ended.
    sched::sleep_ticks(20);
    let blocked = crate::process::get(pid).is_some_and(|p| p.exit_status().is_none());
    let woke = match &ring {
        Some(axiom_bpf::registry::Object::Map(m)) => {
            let wake = m.map.lock().output(RECORD, 0);
            if wake == Ok(true) {
                crate::poll::READINESS.wake_all();
            }
            wake == Ok(true)
        }
        _ => false,
    };
    drop(ring);
    let status = wait_exit(pid, 10_000);
    let out = crate::process::get(pid).map(|p| p.output()).unwrap_or_default();
    crate::process::reap(pid);
    let out = alloc::string::String::from_utf8_lossy(&out);
    let printed = out.contains("bpf-ringbuf: record: a record from the kernel");
    let after = crate::syscall::bpf_objects_alive();
    if !(blocked && woke && status == Some(0) && printed && after == before) {
        println!(
            "ring-wait: blocked {blocked}, woken {woke}, status {status:?}, objects {before:?} -> \
             {after:?}, output:\n{out}"
        );
        return false;
    }
    true
}

fn user_fault_test() -> bool {
    let free = || crate::memory::with(|m| m.frames.available).unwrap_or(0);
    let before = free();
    let start = crate::process::StartInfo::default();
    let Ok(pid) = crate::process::spawn("poke-kernel", code_image(POKE_KERNEL), start, &[], &[])
    else {
        return false;
    };
    let status = wait_exit(pid, 2000);
    // Let the dead task's stack go, then compare the frames.
    sched::sleep_ticks(2);
    status == Some(139) && free() == before
}

/// Where `virt` maps to in the kernel's page tables, and with what flags.
fn translate(virt: u64) -> Option<(u64, u64)> {
    crate::memory::with(|m| m.space.translate(virt)).flatten()
}

/// Helper addresses for the in-kernel JIT test: the callable table's.
struct KernelHelpers;

impl axiom_jit::program::JitEnv for KernelHelpers {
    fn helper_address(&self, id: i32) -> Option<u64> {
        axiom_bpf::callable::address(id)
    }
}

/// The JIT test's program, compiled and placed: the sum of 1..=10, plus
/// (`ktime_get_ns()` != 0), times the context argument.
pub fn jit_region() -> Option<crate::exec::ExecRegion> {
    let insns = axiom_abi::asm::assemble(
        "mov %r6, %r1\n mov %r0, 0\n mov %r2, 10\n add %r0, %r2\n sub %r2, 1\n \
         jne %r2, 0, -3\n mov %r7, %r0\n call 5\n mov %r1, 1\n jne %r0, 0, +1\n mov %r1, 0\n \
         add %r7, %r1\n mul %r7, %r6\n mov %r0, %r7\n exit",
    )
    .ok()?;
    let opts = axiom_jit::program::JitOptions {
        far_helper_calls: true,
        ..axiom_jit::program::JitOptions::default()
    };
    let image = axiom_jit::native::compile(&insns, &KernelHelpers, &opts).ok()?;
    crate::exec::ExecRegion::new(image).ok()
}

/// The JIT as `bpf()` configures it: unhardened, a constant reaches the
/// code as it is, and compiling twice gives the same code; hardened
/// (`axiom.harden`: constant blinding with a fresh key each time) the two
/// compilations differ, while the program still computes the same.
fn jit_blinding_test() -> bool {
    let Ok(insns) = axiom_abi::asm::assemble("mov %r0, 0x5a3c5a3c\n add %r0, 0x11111111\n exit")
    else {
        return false;
    };
    // Each compilation takes the settings afresh, as each `BPF_PROG_LOAD`
    // does (a fresh blinding key stream).
    let compile =
        || axiom_jit::native::compile(&insns, &KernelHelpers, &crate::syscall::jit_options()).ok();
    let (Some(first), Some(second)) = (compile(), compile()) else { return false };
    let same = first.code == second.code;
    let hardened = crate::syscall::HARDENED.load(Ordering::Relaxed);
    let ran = crate::exec::ExecRegion::new(first).is_ok_and(|r| r.call(0, 0) == 0x6b4d_6b4d);
    ran && same != hardened
}

fn jit_test() -> bool {
    use crate::paging::{NO_EXECUTE, WRITABLE};
    let Some(region) = jit_region() else { return false };
    let (base, frame) = (region.base(), region.frames()[0]);
    // Code: read+execute; its frame's alias in the physical map: read-only.
    let code_rx =
        matches!(translate(base), Some((p, f)) if p == frame && f & (WRITABLE | NO_EXECUTE) == 0);
    let alias = translate(hal::phys_to_virt(frame));
    let alias_ro = matches!(alias, Some((_, f)) if f & WRITABLE == 0 && f & NO_EXECUTE != 0);
    let ran = region.call(3, 0) == 56 * 3;
    drop(region);
    // Freed: unmapped, and the frame writable again.
    let unmapped = translate(base).is_none();
    let restored = matches!(translate(hal::phys_to_virt(frame)), Some((_, f)) if f & WRITABLE != 0);
    code_rx && alias_ro && ran && unmapped && restored
}

fn breakpoint_test() -> bool {
    let before = hal::breakpoints();
    hal::breakpoint();
    hal::breakpoint();
    hal::breakpoints() == before + 2
}

/// The memory map and kernel range, saved at boot for the tests.
pub static BOOT: spin::Once<(Vec<hal::Region>, (u64, u64))> = spin::Once::new();

fn frames_test() -> bool {
    let Some((map, image)) = BOOT.get() else { return false };
    let mut f = Frames::new(map, &[*image]);
    let before = f.available;
    if before == 0 {
        return false;
    }
    let mut got = Vec::new();
    for _ in 0..256 {
        let Some(a) = f.alloc() else { return false };
        if a % FRAME != 0 || a < 0x100000 || (a + FRAME > image.0 && a < image.1) {
            return false;
        }
        got.push(a);
    }
    let mut sorted = got.clone();
    sorted.sort_unstable();
    sorted.dedup();
    let distinct = sorted.len() == got.len();
    let returned = got.iter().all(|&a| f.free(a));
    let double_free_refused = !f.free(got[0]);
    distinct && returned && double_free_refused && f.available == before
}

fn heap_test() -> bool {
    let b = Box::new(41u64);
    let mut v: Vec<u64> = Vec::new();
    for i in 0..10_000 {
        v.push(i);
    }
    *b + 1 == 42 && v.iter().sum::<u64>() == 49_995_000
}

fn cycles_test() -> bool {
    let a = hal::cycles();
    let mut x = 0u64;
    for i in 0..1000 {
        x = x.wrapping_add(core::hint::black_box(i));
    }
    core::hint::black_box(x);
    hal::cycles() > a
}

/// Waits (sleeping a tick at a time) until every task in `ids` finished,
/// at most `ticks` ticks.
fn join(ids: &[TaskId], ticks: u64) -> bool {
    let until = crate::time::ticks() + ticks;
    while !ids.iter().all(|&id| sched::finished(id)) {
        if crate::time::ticks() > until {
            return false;
        }
        sched::sleep_ticks(1);
    }
    true
}

/// Under a policy that dispatches only on CPU 0: yields until this task
/// runs there, then keeps interrupts off so it keeps the CPU, for as long
/// as the returned guard lives.
fn move_to_cpu0() -> hal::InterruptsOff {
    for _ in 0..1000 {
        let off = hal::InterruptsOff::new();
        if hal::cpu_index() == 0 {
            return off;
        }
        drop(off);
        sched::yield_now();
    }
    hal::InterruptsOff::new()
}

/// A recursion that yields at every level and checks its own frames.
fn yielding_sum(depth: u64, seed: u64) -> u64 {
    let local = [seed ^ depth; 8];
    sched::yield_now();
    let below = if depth == 0 { 0 } else { yielding_sum(depth - 1, seed) };
    sched::yield_now();
    // The frame's locals must be intact after the switches.
    if local.iter().any(|&v| v != seed ^ depth) {
        return u64::MAX / 2;
    }
    below + (seed ^ depth)
}

fn switch_test() -> bool {
    static RESULTS: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];
    let expected = |seed: u64| (0..=20u64).map(|d| seed ^ d).sum::<u64>();
    // All on CPU 0 in FIFO order, so each yield switches to another task
    // (on several CPUs the tasks would run side by side, never switching).
    sched::set_policy(Box::new(Fifo0::default()));
    // Spawned from CPU 0 with interrupts off, so none starts before all
    // are queued.
    let off = move_to_cpu0();
    let before = sched::switches();
    let mut ids = Vec::new();
    for (i, r) in RESULTS.iter().enumerate() {
        let seed = 0x1234_5678_9abc_def0u64.rotate_left(i as u32 * 7);
        let Some(id) = sched::spawn("switch-test", move || {
            r.store(yielding_sum(20, seed), Ordering::SeqCst);
        }) else {
            return false;
        };
        ids.push(id);
    }
    drop(off);
    let joined = join(&ids, 5000);
    let switched = sched::switches() - before;
    crate::bpf_sched::sched_changed();
    if !joined {
        return false;
    }
    let ok = RESULTS.iter().enumerate().all(|(i, r)| {
        r.load(Ordering::SeqCst) == expected(0x1234_5678_9abc_def0u64.rotate_left(i as u32 * 7))
    });
    // 4 tasks × 42 yields in lockstep: each a switch while the others are
    // queued (the last few, as tasks finish, may find the queue empty).
    if !ok || switched < 4 * 40 {
        println!("switch test: results {ok}, {switched} switches");
    }
    ok && switched >= 4 * 40
}

fn preempt_test() -> bool {
    // One more spinner than CPUs: all of them can have run only if the
    // tick takes a CPU away from a spinner that never yields.
    static STARTED: AtomicUsize = AtomicUsize::new(0);
    static STOP: AtomicBool = AtomicBool::new(false);
    let n = sched::online() + 1;
    let mut ids = Vec::new();
    for _ in 0..n {
        let Some(id) = sched::spawn("spinner", move || {
            STARTED.fetch_add(1, Ordering::SeqCst);
            while STARTED.load(Ordering::SeqCst) < n && !STOP.load(Ordering::SeqCst) {
                core::hint::spin_loop();
            }
        }) else {
            return false;
        };
        ids.push(id);
    }
    let done = join(&ids, 2000);
    STOP.store(true, Ordering::SeqCst);
    let _ = join(&ids, 2000);
    done && STARTED.load(Ordering::SeqCst) == n
}

fn sleep_test() -> bool {
    static SLEPT: AtomicU64 = AtomicU64::new(0);
    let Some(id) = sched::spawn("sleeper", || {
        let start = crate::time::ticks();
        sched::sleep_ticks(5);
        SLEPT.store(crate::time::ticks() - start, Ordering::SeqCst);
    }) else {
        return false;
    };
    join(&[id], 1000) && (5..100).contains(&SLEPT.load(Ordering::SeqCst))
}

fn smp_test() -> bool {
    static SEEN: AtomicUsize = AtomicUsize::new(0);
    // The APs started in parallel with init: wait (at most 2 s) for all.
    let until = crate::time::ticks() + 2000;
    while sched::online() < hal::cpu_count() && crate::time::ticks() < until {
        sched::sleep_ticks(1);
    }
    let online = sched::online();
    if online != hal::cpu_count() {
        return false;
    }
    let burn = CLOCK.get().map_or(0, |c| c.tsc_khz * 3);
    let mut ids = Vec::new();
    for _ in 0..2 * online {
        let Some(id) = sched::spawn("smp-test", move || {
            let until = hal::cycles() + burn;
            while hal::cycles() < until {
                SEEN.fetch_or(1 << hal::cpu_index(), Ordering::SeqCst);
                core::hint::spin_loop();
            }
        }) else {
            return false;
        };
        ids.push(id);
    }
    // The AP trampoline is gone from the lower half (user space's).
    let retired = match crate::kernel::TRAMPOLINE.get() {
        Some(&Some((code, data))) => translate(code).is_none() && translate(data).is_none(),
        _ => true,
    };
    let joined = join(&ids, 5000);
    let seen = SEEN.load(Ordering::SeqCst);
    let ok = joined && seen == (1 << online) - 1 && retired;
    if !ok {
        println!(
            "smp: {online} online, joined {joined}, CPUs seen {seen:#b}, trampoline gone {retired}"
        );
    }
    ok
}

/// First in, first out, everything on CPU 0.
#[derive(Default)]
struct Fifo0 {
    queue: alloc::collections::VecDeque<TaskId>,
}

impl Policy for Fifo0 {
    fn name(&self) -> &str {
        "test FIFO on CPU 0"
    }
    fn select_cpu(&mut self, _task: TaskId, _prev: usize, _online: usize) -> usize {
        0
    }
    fn enqueue(&mut self, task: TaskId, _cpu: usize) {
        self.queue.push_back(task);
    }
    fn dispatch(&mut self, cpu: usize) -> Option<(TaskId, u64)> {
        if cpu != 0 {
            return None;
        }
        self.queue.pop_front().map(|t| (t, 5_000_000))
    }
}

/// A last-in-first-out policy that keeps every task on CPU 0 and counts
/// its callbacks.
struct Lifo {
    stack: Vec<TaskId>,
}

static LIFO_CALLS: [AtomicU64; 5] = [const { AtomicU64::new(0) }; 5];

impl Policy for Lifo {
    fn name(&self) -> &str {
        "test LIFO"
    }
    fn select_cpu(&mut self, _task: TaskId, _prev: usize, _online: usize) -> usize {
        LIFO_CALLS[0].fetch_add(1, Ordering::Relaxed);
        0
    }
    fn enqueue(&mut self, task: TaskId, _cpu: usize) {
        LIFO_CALLS[1].fetch_add(1, Ordering::Relaxed);
        self.stack.push(task);
    }
    fn dispatch(&mut self, cpu: usize) -> Option<(TaskId, u64)> {
        LIFO_CALLS[2].fetch_add(1, Ordering::Relaxed);
        if cpu != 0 {
            return None;
        }
        self.stack.pop().map(|t| (t, 50_000_000))
    }
    fn running(&mut self, _task: TaskId, _cpu: usize) {
        LIFO_CALLS[3].fetch_add(1, Ordering::Relaxed);
    }
    fn stopping(&mut self, _task: TaskId, _cpu: usize, _runnable: bool) {
        LIFO_CALLS[4].fetch_add(1, Ordering::Relaxed);
    }
}

fn policy_test() -> bool {
    static ORDER: [AtomicUsize; 3] = [const { AtomicUsize::new(0) }; 3];
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    sched::set_policy(Box::new(Lifo { stack: Vec::new() }));
    // Spawned in the order 0, 1, 2 while this task keeps CPU 0, the only
    // one LIFO dispatches on (interrupts off: no tick can run them early);
    // LIFO runs them 2, 1, 0.
    let off = move_to_cpu0();
    let mut ids = Vec::new();
    for i in 0..3 {
        if let Some(id) = sched::spawn("lifo-test", move || {
            ORDER[NEXT.fetch_add(1, Ordering::SeqCst)].store(i + 1, Ordering::SeqCst);
        }) {
            ids.push(id);
        }
    }
    drop(off);
    let done = ids.len() == 3 && join(&ids, 2000);
    let (name, _) = sched::policy_status();
    crate::bpf_sched::sched_changed();
    let order: Vec<usize> = ORDER.iter().map(|o| o.load(Ordering::SeqCst)).collect();
    let called = LIFO_CALLS.iter().all(|c| c.load(Ordering::Relaxed) >= 3);
    if !(done && name == "test LIFO" && order == [3, 2, 1] && called) {
        println!("policy test: done {done} name {name} order {order:?} called {called}");
    }
    done && name == "test LIFO" && order == [3, 2, 1] && called
}

/// A policy that dispatches a task that does not exist.
struct Broken;

impl Policy for Broken {
    fn name(&self) -> &str {
        "test broken"
    }
    fn select_cpu(&mut self, _task: TaskId, prev: usize, _online: usize) -> usize {
        prev
    }
    fn enqueue(&mut self, _task: TaskId, _cpu: usize) {}
    fn dispatch(&mut self, _cpu: usize) -> Option<(TaskId, u64)> {
        Some((sched::MAX_TASKS + 7, 1_000_000))
    }
}

fn eject_test() -> bool {
    static RAN: AtomicUsize = AtomicUsize::new(0);
    let before = sched::ejections();
    sched::set_policy(Box::new(Broken));
    let mut ids = Vec::new();
    for _ in 0..3 {
        if let Some(id) = sched::spawn("eject-test", || {
            RAN.fetch_add(1, Ordering::SeqCst);
        }) {
            ids.push(id);
        }
    }
    // The broken policy is asked at the next scheduling point, ejected,
    // and the fallback runs the tasks it had swallowed.
    let done = join(&ids, 2000);
    let (name, why) = sched::policy_status();
    let ejected = sched::ejections() > before
        && name.starts_with("fallback")
        && why.is_some_and(|w| w.contains("test broken"));
    // The scheduler hook's policy (the default BPF one) comes back.
    crate::bpf_sched::sched_changed();
    done && ejected && RAN.load(Ordering::SeqCst) == 3
}

/// Runs `axbpf` in the guest with `args`; its exit status and output.
fn axbpf(args: &[&str]) -> Option<(i32, alloc::string::String)> {
    let mut argv = alloc::vec!["axbpf"];
    argv.extend_from_slice(args);
    run_program("/bin/axbpf", &argv)
}

/// Attaches `/lib/bpf/<name>.bpf.o` to the scheduler hook.
fn attach_policy(name: &str) -> bool {
    let path = alloc::format!("/lib/bpf/{name}.bpf.o");
    match axbpf(&["load", &path, "--attach", "sched"]) {
        Some((0, _)) => true,
        other => {
            println!("axbpf load {path} --attach sched: {other:?}");
            false
        }
    }
}

/// A workload: tasks of the given priorities, each yielding 20 times
/// between bits of work; the priorities in the order the tasks finished.
pub fn workload(priorities: &[u32]) -> Option<Vec<u32>> {
    workload_tasks(priorities).map(|(order, _)| order)
}

/// [`workload`], with the tasks' ids in the order of `priorities`.
fn workload_tasks(priorities: &[u32]) -> Option<(Vec<u32>, Vec<TaskId>)> {
    static DONE: spin::Mutex<Vec<u32>> = spin::Mutex::new(Vec::new());
    DONE.lock().clear();
    // This task outranks the workload while it spawns it.
    let me = sched::current();
    sched::set_priority(me, 3);
    let mut ids = Vec::new();
    for &p in priorities {
        let id = sched::spawn_with_priority("workload", p, move || {
            for _ in 0..20 {
                let mut x = 0u64;
                for i in 0..2000 {
                    x = core::hint::black_box(x.wrapping_add(i));
                }
                sched::yield_now();
            }
            DONE.lock().push(p);
        })?;
        ids.push(id);
    }
    sched::set_priority(me, 0);
    let order = join(&ids, 5000).then(|| DONE.lock().clone())?;
    Some((order, ids))
}

/// The same workload under the same policy, five times: the same
/// sequence of scheduling decisions each time (the switches between the
/// workload's tasks, each named by its place in the workload).
///
/// Decisions are the policy's alone only where nothing else competes:
/// on one CPU (with more, the tasks' interleaving across CPUs is timing),
/// and with every task above the test's own priority (0), so its waking
/// to check on them never takes a turn.
fn determinism_test() -> bool {
    const PRIORITIES: [u32; 6] = [1, 3, 1, 2, 1, 3];
    if sched::online() > 1 {
        println!("determinism: skipped on {} CPUs (checked on one)", sched::online());
        return true;
    }
    if !attach_policy("sched_prio") {
        return false;
    }
    // A run in which the tick preempted a task (its slice ran out: the
    // host stalled QEMU mid-loop) decided by time, not by the policy
    // alone: it is run again (up to 20 tries in all), and said.
    let (mut runs, mut retried) = (Vec::new(), 0);
    while runs.len() < 5 && retried < 20 {
        sched::record_switches();
        let tasks = workload_tasks(&PRIORITIES);
        let preempted = sched::recorded_preemptions();
        let switches = sched::recorded_switches();
        let Some((_, ids)) = tasks else { return false };
        if preempted > 0 {
            retried += 1;
            continue;
        }
        let places: Vec<usize> =
            switches.iter().filter_map(|t| ids.iter().position(|id| id == t)).collect();
        runs.push(places);
    }
    if runs.len() < 5 {
        println!("determinism: the tick preempted the workload in {retried} runs");
        return false;
    }
    let restored = attach_policy("sched_rr");
    let same = runs.windows(2).all(|w| w[0] == w[1]);
    println!(
        "determinism: 5 runs of the workload under `priority`, {} decisions each, identical: \
         {same} ({retried} runs preempted by the tick, run again)",
        runs[0].len()
    );
    if !same {
        for r in &runs {
            println!("  {r:?}");
        }
    }
    // Every task was switched to, in every run.
    let all = (0..PRIORITIES.len()).all(|i| runs[0].contains(&i));
    same && all && restored
}

/// Nanoseconds for four CPU-bound tasks to finish a fixed loop each,
/// sharing the CPU (the scheduler decides at every slice's end).
fn busy_ns() -> u64 {
    let t = hal::cycles();
    let ids: Vec<TaskId> = (0..4)
        .filter_map(|_| {
            sched::spawn("busy", || {
                let mut x = 0u64;
                for i in 0..4_000_000u64 {
                    x = core::hint::black_box(x.wrapping_add(i));
                }
            })
        })
        .collect();
    if ids.len() != 4 || !join(&ids, 20_000) {
        return 0;
    }
    crate::time::cycles_to_ns(hal::cycles() - t)
}

/// `axiom.soak=SECONDS`: for that long, round after round, the scheduler
/// policy swapped (priority, round robin), the periodic device's line storming at
/// 1024 Hz under filters swapped (drop, defer), the IIO device's filter
/// swapped (decimate, threshold, average) while its scans come (from the
/// host feed when there is one), every dispatch traced into a ring buffer
/// nobody reads (it fills), and a workload run each round. Then: the
/// kernel still answers, every interrupt and every scan was judged
/// exactly once, and the BPF objects are back to their count at the
/// start.
pub fn soak(seconds: u64) -> bool {
    use crate::iio;
    use crate::irq::{PERIODIC_HANDLED, counts};
    const PRIORITIES: [u32; 6] = [0, 3, 1, 2, 0, 3];
    let line = hal::PERIODIC_IRQ as usize;
    let objects_before = crate::syscall::bpf_objects_alive();
    let heap_before = hal::heap_used();
    let (verdicts_before, seen_before) = counts(line);
    let handled_before = PERIODIC_HANDLED.load(Ordering::Relaxed);
    let scans_before = iio::counts();
    let feed_before = iio::feed_counts();
    crate::hook_trace::set_tracing(true);
    hal::periodic_irq(Some(1024));
    let until = crate::time::ticks() + seconds * crate::time::HZ;
    let (mut rounds, mut swaps, mut refused) = (0u64, 0u64, 0u64);
    let policies = ["sched_prio", "sched_rr"];
    let irq_filters = ["irq_storm", "irq_defer"];
    let iio_filters = ["iio_decimate", "iio_threshold", "iio_average"];
    while crate::time::ticks() < until {
        let r = rounds as usize;
        let irq = alloc::format!("/lib/bpf/{}.bpf.o", irq_filters[r % 2]);
        let attached = [
            attach_policy(policies[r % 2]),
            matches!(axbpf(&["load", &irq, "--attach", "irq:8"]), Some((0, _))),
            attach_iio(iio_filters[r % 3]),
        ];
        swaps += attached.iter().filter(|&&a| a).count() as u64;
        refused += attached.iter().filter(|&&a| !a).count() as u64;
        if workload(&PRIORITIES).is_none() {
            println!("soak: round {rounds}: the workload did not finish");
            refused += 1;
        }
        rounds += 1;
    }
    hal::periodic_irq(None);
    let detached = matches!(axbpf(&["detach", "irq:8"]), Some((0, _)))
        && matches!(axbpf(&["detach", "iio:0"]), Some((0, _)))
        && attach_policy("sched_rr");
    crate::hook_trace::set_tracing(false);
    let events = crate::hook_trace::drain_events();
    // Deferred interrupts reach their thread; a scan in flight lands.
    sched::sleep_ticks(30);
    let (verdicts, seen) = counts(line);
    let v: [u64; 5] = core::array::from_fn(|i| verdicts[i] - verdicts_before[i]);
    let seen = seen - seen_before;
    let handled = PERIODIC_HANDLED.load(Ordering::Relaxed) - handled_before;
    let scans = iio::counts();
    let feed = iio::feed_counts();
    let (taken, kept, dropped) =
        (scans.0 - scans_before.0, scans.1 - scans_before.1, scans.2 - scans_before.2);
    let objects_after = crate::syscall::bpf_objects_alive();
    let heap_after = hal::heap_used();
    println!(
        "soak: {seconds} s, {rounds} rounds, {swaps} swaps ({refused} failed); irq 8: {seen} \
         interrupts, {} handled, {} dropped, {} deferred, the driver handled {handled}; iio: \
         {taken} scans, {kept} kept, {dropped} dropped, {} from the host feed; {events} trace \
         events left in the ring; BPF objects (maps, programs, links, pins) {objects_before:?} \
         -> {objects_after:?}; heap {} -> {} KiB",
        v[0],
        v[1],
        v[2],
        feed.used - feed_before.used,
        heap_before / 1024,
        heap_after / 1024
    );
    rounds > 0
        && refused == 0
        && detached
        && v.iter().sum::<u64>() == seen
        && handled == v[0] + v[2]
        && taken.abs_diff(kept + dropped) <= 1
        && objects_after == objects_before
}

/// `axiom.bench=overhead`: the price of the hooks on a CPU-bound task,
/// with no program attached (the built-in scheduler), with the default
/// policy, and with every dispatch traced into the ring buffer while a
/// reader drains it; and the memory each adds.
pub fn overhead_bench() -> bool {
    static STOP: AtomicBool = AtomicBool::new(false);
    static READ: AtomicUsize = AtomicUsize::new(0);
    const ROUNDS: usize = 7;
    // The three configurations in turn, round after round, so the host's
    // noise falls on all three alike.
    let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
    let (mut heap_a, mut heap_b, mut heap_c) = (0, 0, 0);
    let mut ok = true;
    for _ in 0..ROUNDS {
        ok &= matches!(axbpf(&["detach", "sched"]), Some((0, _)));
        heap_a = hal::heap_used();
        a.push(busy_ns());
        ok &= attach_policy("sched_rr");
        heap_b = hal::heap_used();
        b.push(busy_ns());
        crate::hook_trace::set_tracing(true);
        STOP.store(false, Ordering::SeqCst);
        let reader = sched::spawn("trace-reader", || {
            while !STOP.load(Ordering::SeqCst) {
                READ.fetch_add(crate::hook_trace::drain_events(), Ordering::Relaxed);
                sched::sleep_ticks(1);
            }
        });
        heap_c = hal::heap_used();
        c.push(busy_ns());
        STOP.store(true, Ordering::SeqCst);
        ok &= reader.is_some_and(|r| join(&[r], 1000));
        crate::hook_trace::set_tracing(false);
    }
    let median = |v: &mut Vec<u64>| {
        v.sort_unstable();
        v[v.len() / 2]
    };
    let (a, b, c) = (median(&mut a), median(&mut b), median(&mut c));
    let pct = |x: u64| (x as f64 - a as f64) * 100.0 / a as f64;
    println!("BENCH overhead_detached 1 {a} {a}");
    println!("BENCH overhead_policy 1 {b} {b}");
    println!("BENCH overhead_traced 1 {c} {c}");
    println!(
        "axiom: four CPU-bound tasks, median of {ROUNDS} rounds: {a} ns with no program attached; \
         the default policy {:+.2} %, {} KiB; every dispatch traced {:+.2} % ({} events read), \
         {} KiB more (the 256 KiB events ring is made at boot)",
        pct(b),
        (heap_b as i64 - heap_a as i64) / 1024,
        pct(c),
        READ.load(Ordering::Relaxed),
        (heap_c as i64 - heap_b as i64) / 1024
    );
    ok && a > 0 && b > 0 && c > 0
}

/// Whether every task of priority 3 finished before every task of
/// priority 0.
fn by_priority(order: &[u32]) -> bool {
    let last_high = order.iter().rposition(|&p| p == 3);
    let first_low = order.iter().position(|&p| p == 0);
    matches!((last_high, first_low), (Some(h), Some(l)) if h < l)
}

fn bpf_policy_test() -> bool {
    const PRIORITIES: [u32; 6] = [0, 3, 1, 2, 0, 3];
    if !attach_policy("sched_rr") {
        return false;
    }
    let rr_name = sched::policy_status().0;
    let rr = workload(&PRIORITIES);
    if !attach_policy("sched_prio") {
        return false;
    }
    let prio_name = sched::policy_status().0;
    // On one CPU the order is exact: round robin finishes in spawn order,
    // strict priority by priority. With more, tasks also run side by
    // side: round robin must finish them all, and under strict priority
    // a priority-3 task finishes first and a priority-0 one last. That
    // last check is the host's too: a vCPU the host leaves unscheduled
    // for a while holds its task back whatever its priority (seen on a
    // loaded 2-core host), so on several CPUs a wrong order is run again,
    // up to three times; a policy that is wrong is wrong every time.
    let single = sched::online() == 1;
    let prio_ok = |o: &Option<Vec<u32>>| {
        o.as_ref().is_some_and(|o| {
            o.len() == 6 && if single { by_priority(o) } else { o[0] == 3 && o[5] == 0 }
        })
    };
    let mut prio = workload(&PRIORITIES);
    for attempt in 2..=3 {
        if single || prio_ok(&prio) {
            break;
        }
        println!(
            "sched hook: {prio_name}: order {prio:?} on {} CPUs, run {attempt}",
            sched::online()
        );
        prio = workload(&PRIORITIES);
    }
    // Back to the default.
    let restored = attach_policy("sched_rr");
    println!("sched hook: {rr_name}: tasks finished by priority {rr:?}");
    println!("sched hook: {prio_name}: tasks finished by priority {prio:?}");
    let runs = crate::bpf_sched::SCHED.runs();
    println!("sched hook: {runs} policy calls so far");
    let rr_ok = rr.is_some_and(|o| o.len() == 6 && (!single || o == PRIORITIES));
    let prio_ok = prio_ok(&prio);
    rr_name.contains("round_robin")
        && prio_name.contains("priority")
        && rr_ok
        && prio_ok
        && restored
        && sched::policy_status().0.contains("round_robin")
}

fn bad_policy_test() -> bool {
    let before = sched::policy_status().0;
    let out = axbpf(&["load", "/lib/bpf/sched_bad.bpf.o", "--attach", "sched"]);
    let refused = matches!(&out, Some((1, o)) if o.contains("invalid bpf_context access"));
    let after = sched::policy_status().0;
    if !refused || after != before {
        println!("bad policy: {out:?}; policy before {before}, after {after}");
    }
    let still_works = workload(&[0, 1]).is_some();
    refused && after == before && still_works
}

fn starving_policy_test() -> bool {
    let before = sched::ejections();
    // Every task, this one included, is lost to the policy until the
    // watchdog ejects it.
    if !attach_policy("sched_lose") {
        return false;
    }
    let ran = workload(&[0, 0]).is_some();
    let (name, why) = sched::policy_status();
    let ejected = sched::ejections() > before
        && name.starts_with("fallback")
        && why.as_ref().is_some_and(|w| w.contains("without running it"));
    if !(ran && ejected) {
        println!("starving policy: ran {ran}, policy {name}, why {why:?}");
    }
    // The default again (the ejected program left the hook; its link
    // stays pinned and takes the new program).
    let restored = attach_policy("sched_rr") && sched::policy_status().0.contains("round_robin");
    ran && ejected && restored
}

fn trace_test() -> bool {
    if !matches!(axbpf(&["load", "/lib/bpf/tick_count.bpf.o", "--attach", "tick"]), Some((0, _))) {
        return false;
    }
    let out = axbpf(&["trace", "--duration", "200", "--show", "4"]);
    let detached = matches!(axbpf(&["detach", "tick"]), Some((0, _)));
    let Some((0, text)) = out else {
        println!("axbpf trace: {out:?}");
        return false;
    };
    let row =
        |hook: &str| text.lines().any(|l| l.starts_with(hook) && l.split_whitespace().count() == 8);
    let ok = text.contains("dispatches traced") && row("sched") && row("tick") && detached;
    if !ok {
        println!("axbpf trace:\n{text}");
    }
    ok
}

/// One phase of the IRQ test: `ticks` of the periodic device's 1024 Hz interrupt
/// under whatever filter is attached; the verdict counts and handled
/// interrupts it added.
fn periodic_phase(ticks: u64) -> ([u64; 5], u64, u64) {
    use crate::irq::{PERIODIC_HANDLED, counts};
    let line = hal::PERIODIC_IRQ as usize;
    let (before, seen_before) = counts(line);
    let handled_before = PERIODIC_HANDLED.load(Ordering::Relaxed);
    // 32768 >> (6 - 1) = 1024 Hz.
    hal::periodic_irq(Some(1024));
    sched::sleep_ticks(ticks);
    hal::periodic_irq(None);
    // Deferred work and the rate limit's mask settle.
    sched::sleep_ticks(20);
    let (after, seen_after) = counts(line);
    let added = core::array::from_fn(|i| after[i] - before[i]);
    (added, seen_after - seen_before, PERIODIC_HANDLED.load(Ordering::Relaxed) - handled_before)
}

/// Filters replaced while the periodic device storms: every interrupt judged by
/// exactly one filter (or none), every one handled, deferred-and-handled
/// or dropped, none lost or counted twice.
fn irq_swap_test() -> bool {
    use crate::irq::{PERIODIC_HANDLED, counts};
    let line = hal::PERIODIC_IRQ as usize;
    let (before, seen_before) = counts(line);
    let handled_before = PERIODIC_HANDLED.load(Ordering::Relaxed);
    hal::periodic_irq(Some(1024));
    let mut swaps = 0;
    for obj in ["irq_storm", "irq_defer", "irq_storm", "irq_defer", "irq_storm", "irq_defer"] {
        let path = alloc::format!("/lib/bpf/{obj}.bpf.o");
        swaps += usize::from(matches!(axbpf(&["load", &path, "--attach", "irq:8"]), Some((0, _))));
    }
    let detached = matches!(axbpf(&["detach", "irq:8"]), Some((0, _)));
    hal::periodic_irq(None);
    // The deferred ones reach the thread.
    sched::sleep_ticks(20);
    let (after, seen_after) = counts(line);
    let v: [u64; 5] = core::array::from_fn(|i| after[i] - before[i]);
    let seen = seen_after - seen_before;
    let handled = PERIODIC_HANDLED.load(Ordering::Relaxed) - handled_before;
    println!(
        "irq swaps under a storm: {swaps} swaps, {seen} interrupts: {} handled, {} dropped, {} \
         deferred, {} other; the driver handled {handled}",
        v[0], v[1], v[2], v[4]
    );
    swaps == 6
        && detached
        && seen > 100
        && v.iter().sum::<u64>() == seen
        && v[1] > 0
        && v[2] > 0
        && handled == v[0] + v[2]
}

fn irq_filter_test() -> bool {
    let (plain, plain_seen, plain_handled) = periodic_phase(100);
    let attach = |obj: &str| {
        let path = alloc::format!("/lib/bpf/{obj}.bpf.o");
        matches!(axbpf(&["load", &path, "--attach", "irq:8"]), Some((0, _)))
    };
    let storm_ok = attach("irq_storm");
    let (storm, storm_seen, storm_handled) = periodic_phase(200);
    let defer_ok = attach("irq_defer");
    let (defer, _, defer_handled) = periodic_phase(100);
    let limit_ok = attach("irq_ratelimit");
    let (limit, limit_seen, _) = periodic_phase(100);
    let detached = matches!(axbpf(&["detach", "irq:8"]), Some((0, _)));
    println!(
        "irq hook: {} at 1024 Hz, no filter: {plain_seen} interrupts, {plain_handled} handled; \
         storm filter: {storm_seen} interrupts, {} dropped, {storm_handled} handled; defer: {} \
         deferred, {defer_handled} handled by the thread; rate limit: {limit_seen} interrupts, {} \
         rate-limited",
        hal::PERIODIC_DEVICE,
        storm[1],
        defer[2],
        limit[3]
    );
    let ok = plain_seen > 50
        && plain_handled == plain_seen
        && plain[0] == plain_seen
        && storm_ok
        && storm[1] > storm[0] * 2
        && storm_handled == storm[0]
        && defer_ok
        && defer[2] > 0
        && defer_handled == defer[2]
        && limit_ok
        && limit[3] > 0
        && limit_seen * 4 < plain_seen
        && detached;
    if !ok {
        println!(
            "irq hook: counts plain {plain:?} storm {storm:?} defer {defer:?} limit {limit:?}"
        );
    }
    ok
}

/// Attaches `/lib/bpf/<name>.bpf.o` to IIO device 0.
fn attach_iio(name: &str) -> bool {
    let path = alloc::format!("/lib/bpf/{name}.bpf.o");
    matches!(axbpf(&["load", &path, "--attach", "iio:0"]), Some((0, _)))
}

/// The scans kept while `ticks` pass (the buffer emptied first), and
/// the device's scans filtered (kept or dropped), kept and dropped
/// meanwhile: read with the buffer under one lock, so exact even while
/// CPU 0's tick takes scans.
fn iio_phase(ticks: u64) -> (Vec<crate::iio::Scan>, [u64; 3]) {
    use crate::iio;
    let (_, k0, d0) = iio::take_counted(usize::MAX);
    sched::sleep_ticks(ticks);
    let (scans, k1, d1) = iio::take_counted(usize::MAX);
    let (kept, dropped) = (k1 - k0, d1 - d0);
    (scans, [kept + dropped, kept, dropped])
}

fn iio_filter_test() -> bool {
    use crate::iio::{self, synthesized};
    let before = iio::counts();
    // No filter: every scan, in order, as synthesised, 10 ms apart on
    // average (one gap can stretch or shrink when a loaded host delays a
    // tick and the next catches up).
    let (plain, [taken, ..]) = iio_phase(300);
    let span = match (plain.first(), plain.last()) {
        (Some(a), Some(b)) if plain.len() > 1 => {
            (b.timestamp_ns - a.timestamp_ns) / (plain.len() as u64 - 1)
        }
        _ => 0,
    };
    let plain_ok = plain.len() as u64 == taken
        && taken >= 20
        && (5_000_000..20_000_000).contains(&span)
        && plain
            .windows(2)
            .all(|w| w[1].seq == w[0].seq + 1 && w[1].timestamp_ns > w[0].timestamp_ns)
        && plain.iter().all(|s| s.values == synthesized(s.seq));
    // Decimation: one scan in four, spaced four apart.
    let decimate_ok = attach_iio("iio_decimate");
    let (dec, [dec_taken, dec_kept, dec_dropped]) = iio_phase(400);
    let decimated = dec.len() as u64 == dec_kept
        && dec_kept + dec_dropped == dec_taken
        && dec_kept.abs_diff(dec_taken / 4) <= 1
        && dec.windows(2).all(|w| w[1].seq == w[0].seq + 4);
    // Threshold: only the knocks (the magnitude beyond 1.4 g: the first
    // three scans of each second) pass.
    let threshold_ok = attach_iio("iio_threshold");
    let (thr, [thr_taken, thr_kept, _]) = iio_phase(1000);
    let thresholded = thr.len() as u64 == thr_kept
        && (3..=4).contains(&thr_kept)
        && thr.iter().all(|s| {
            let m: i64 = s.values[..3].iter().map(|&v| (v as i64).pow(2)).sum();
            m > 1400 * 1400 && s.seq % 100 < 3
        });
    // A filter the verifier refuses: the threshold filter stays.
    let running = iio::SLOTS[0].program().map(|p| p.id);
    let refused = !attach_iio("iio_bad") && iio::SLOTS[0].program().map(|p| p.id) == running;
    // Moving average: each value the mean of the channel's last eight
    // (truncated towards zero, as C divides).
    let average_ok = attach_iio("iio_average");
    let (avg, [avg_taken, avg_kept, _]) = iio_phase(300);
    let first = avg.first().map_or(0, |s| s.seq);
    let mean = |seq: u64, ch: usize| {
        let sum: i64 = (seq - 7..=seq).map(|q| synthesized(q)[ch] as i64).sum();
        (sum / 8) as i32
    };
    let averaged = avg_kept == avg_taken
        && avg.len() > 10
        && avg
            .iter()
            .filter(|s| s.seq >= first + 8)
            .all(|s| (0..4).all(|ch| s.values[ch] == mean(s.seq, ch)));
    let detached = matches!(axbpf(&["detach", "iio:0"]), Some((0, _)));
    // Across the swaps every scan was kept or dropped by one filter (at
    // most one still being filtered at either reading).
    let after = iio::counts();
    let filtered = (after.1 - before.1) + (after.2 - before.2);
    let balanced = (after.0 - before.0).abs_diff(filtered) <= 1;
    println!(
        "iio hook: no filter {taken} scans kept; decimate {dec_kept} of {dec_taken}; threshold \
         {thr_kept} of {thr_taken}; moving average {avg_kept} of {avg_taken}; refused filter \
         left the running one: {refused}"
    );
    let ok = plain_ok
        && decimate_ok
        && decimated
        && threshold_ok
        && thresholded
        && refused
        && average_ok
        && averaged
        && detached
        && balanced;
    if !ok {
        println!(
            "iio hook: plain {plain_ok} decimate {decimate_ok}/{decimated} threshold \
             {threshold_ok}/{thresholded} average {average_ok}/{averaged} detached {detached} \
             balanced {balanced}; mean gap {span} ns; plain {} of {taken}; first averaged {:?}",
            plain.len(),
            avg.iter().take(10).map(|s| (s.seq, s.values)).collect::<Vec<_>>()
        );
    }
    ok
}

/// Yields `n` times in each of two tasks: nanoseconds per scheduling
/// decision (a yield: the running task requeued, the next dispatched).
fn switch_cost(n: u64) -> Option<u64> {
    let start = hal::cycles();
    let ids: Vec<TaskId> = (0..2)
        .filter_map(|_| {
            sched::spawn("yield", move || {
                for _ in 0..n {
                    sched::yield_now();
                }
            })
        })
        .collect();
    let done = ids.len() == 2 && join(&ids, 20_000);
    let ns = crate::time::cycles_to_ns(hal::cycles() - start);
    done.then_some(ns / (2 * n))
}

/// The hooks benchmark (`axiom.bench=hooks`): with the default policy,
/// a tick program and the storm filter on the periodic device's line at 1024 Hz,
/// traces a second of dispatches under a workload (`BENCH hook_*` lines
/// from `axbpf trace --bench`), then the cost of a scheduling decision
/// under the BPF policy and under the built-in fallback.
pub fn hooks_bench() -> bool {
    let attached =
        matches!(axbpf(&["load", "/lib/bpf/tick_count.bpf.o", "--attach", "tick"]), Some((0, _)))
            && matches!(
                axbpf(&["load", "/lib/bpf/irq_storm.bpf.o", "--attach", "irq:8"]),
                Some((0, _))
            )
            && attach_iio("iio_average");
    hal::periodic_irq(Some(1024));
    let workload: Vec<TaskId> = (0..3)
        .filter_map(|i| {
            sched::spawn_with_priority("bench-load", i, move || {
                for _ in 0..400 {
                    let mut x = 0u64;
                    for j in 0..5000 {
                        x = core::hint::black_box(x.wrapping_add(j));
                    }
                    sched::sleep_ticks(1);
                }
            })
        })
        .collect();
    let traced = axbpf(&["trace", "--duration", "1000", "--show", "0", "--bench"]);
    hal::periodic_irq(None);
    join(&workload, 20_000);
    let bpf = switch_cost(5000);
    let detached = matches!(axbpf(&["detach", "sched"]), Some((0, _)))
        && matches!(axbpf(&["detach", "iio:0"]), Some((0, _)));
    let fallback = switch_cost(5000);
    let (bpf, fallback) = (bpf.unwrap_or(0), fallback.unwrap_or(0));
    println!("BENCH sched_decision_bpf 10000 {} {bpf}", bpf * 10_000);
    println!("BENCH sched_decision_fallback 10000 {} {fallback}", fallback * 10_000);
    attached && matches!(traced, Some((0, _))) && detached && bpf > 0 && fallback > 0
}

fn live_swap_test() -> bool {
    static DONE: AtomicUsize = AtomicUsize::new(0);
    static STOP: AtomicBool = AtomicBool::new(false);
    static ROUNDS: AtomicU64 = AtomicU64::new(0);
    DONE.store(0, Ordering::SeqCst);
    STOP.store(false, Ordering::SeqCst);
    ROUNDS.store(0, Ordering::SeqCst);
    let before = sched::ejections();
    // Tasks that work and yield until told to stop: they run through
    // every swap. All of priority 0, like the axbpf processes doing the
    // swaps: strict priority would otherwise starve those (and the
    // watchdog would rightly eject it).
    let ids: Vec<TaskId> = (0..6u32)
        .filter_map(|_| {
            sched::spawn_with_priority("swap-load", 0, || {
                while !STOP.load(Ordering::SeqCst) {
                    let mut x = 0u64;
                    for j in 0..2000 {
                        x = core::hint::black_box(x.wrapping_add(j));
                    }
                    ROUNDS.fetch_add(1, Ordering::Relaxed);
                    sched::yield_now();
                }
                DONE.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    // Swaps while the tasks run: every runnable task moves to each new
    // policy in one step under the scheduler's lock.
    let mut swaps = 0;
    let mut rounds = Vec::new();
    for policy in ["sched_prio", "sched_rr", "sched_prio", "sched_rr", "sched_prio", "sched_rr"] {
        swaps += usize::from(attach_policy(policy));
        rounds.push(ROUNDS.load(Ordering::Relaxed));
    }
    STOP.store(true, Ordering::SeqCst);
    let done = join(&ids, 20_000);
    let progressed = rounds.windows(2).all(|w| w[1] > w[0]);
    let ok = done
        && swaps == 6
        && progressed
        && DONE.load(Ordering::SeqCst) == 6
        && sched::ejections() == before
        && sched::policy_status().0.contains("round_robin");
    if !ok {
        println!(
            "live swap: done {done}, swaps {swaps}, rounds {rounds:?}, finished {}, ejections {} \
             -> {}",
            DONE.load(Ordering::SeqCst),
            before,
            sched::ejections()
        );
    }
    ok
}
