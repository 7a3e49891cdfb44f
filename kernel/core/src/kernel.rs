//! Boot: the hardware layer, memory, page tables, interrupts, clock and
//! tick, the scheduler; then the init task runs the in-kernel tests and
//! prints the boot metrics while the boot CPU idles.

use crate::config::{Bench, Config, Deliberate};
use crate::frames::Frames;
use crate::selftest::{BOOT, CLOCK, TESTS};
use axiom_hal as hal;

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    // Without the console lock: the panic may have come while it was held.
    let _ = core::fmt::Write::write_fmt(
        &mut crate::console::Console,
        format_args!("axiom: PANIC on CPU {}: {info}\n", hal::cpu_index()),
    );
    hal::exit(false)
}

hal::entry!(kernel_start);

/// Entered from the boot code with the PVH start info's address.
fn kernel_start(start_info: u64) -> ! {
    let entry = hal::cycles();
    ENTRY.store(entry, core::sync::atomic::Ordering::Relaxed);
    // `axiom.bench=entry`: the boot benchmark's floor, QEMU and firmware
    // alone: one line at entry, then exit.
    if crate::config::entry_bench(hal::cmdline(start_info)) {
        println!("axiom: entry");
        hal::exit(true)
    }
    // Where boot time goes: (phase, cycle counter at its end).
    let mut phases: [(&str, u64); 6] = [("", 0); 6];
    let mut mark = |i: usize, name: &'static str| phases[i] = (name, hal::cycles());
    hal::init();
    hal::start_clock();
    hal::init_heap();
    mark(0, "cpu tables");
    let cpus = hal::discover(start_info);
    mark(1, "ACPI");
    let cmdline = hal::cmdline(start_info);
    let config = crate::config::init(cmdline);
    let mut regions = [hal::Region::default(); 64];
    let n = hal::memory_map(start_info, &mut regions);
    let image = hal::kernel_image();
    BOOT.call_once(|| (regions[..n].to_vec(), image));
    // The initramfs stays where the loader put it: its frames are reserved.
    let initrd = hal::module_range(start_info).unwrap_or((0, 0));
    let mut frames = Frames::new(&regions[..n], &[image, initrd]);
    let usable = || regions[..n].iter().filter(|r| r.usable);
    let ram_top = usable().map(|r| r.base + r.len).max().unwrap_or(0);
    // The physical map covers RAM from the GiB its lowest byte is in (0 on
    // a PC, where the legacy holes below 1 MiB are mapped too).
    let ram_base = usable().map(|r| r.base).min().unwrap_or(0) & !((1 << 30) - 1);
    let Some(space) =
        crate::paging::kernel_space(&mut frames, (ram_base, ram_top), image, &hal::device_ranges())
    else {
        println!("axiom: out of frames for the page tables");
        hal::exit(false)
    };
    hal::paging::activate(space.pml4);
    let tables = space.tables;
    mark(2, "frames and page tables");
    // The heap's main region: a quarter of the free RAM (at most 64 MiB),
    // contiguous, for good.
    let heap_frames = (frames.available / 4).min(16384);
    if let Some(phys) = frames.alloc_contiguous(heap_frames) {
        hal::grow_heap(phys, heap_frames * 4096);
    }
    let free_frames = frames.available;
    crate::memory::install(crate::memory::Memory { frames, space });
    crate::fs::init(hal::module(start_info, ram_top));
    mark(3, "heap and initramfs");
    hal::start_interrupts();
    let Some(clock) = hal::calibrate() else {
        println!("axiom: no clock reference counts (PIT, CPUID 0x15): cannot calibrate the TSC");
        hal::exit(false)
    };
    CLOCK.call_once(|| clock);
    crate::time::set_rate(clock.tsc_khz);
    mark(4, "APICs and clock");
    let mode = hal::start_tick(crate::time::HZ, &clock, crate::time::tick);
    crate::sched::init();
    // BPF maps are shared with hook programs run by interrupt handlers,
    // which may also insert entries.
    axiom_bpf::platform::register(axiom_bpf::platform::Platform {
        memory_ok: crate::syscall::heap_can_spare,
        cpu_id: hal::cpu_index,
        now_ns: || crate::time::cycles_to_ns(hal::cycles()),
        // Readers are woken at the next tick, never in the helper: a
        // scheduler program's commit runs under the scheduler's lock.
        wake_readers: crate::poll::wake_soon,
        trace: |message| {
            let text = core::str::from_utf8(message).unwrap_or("(not UTF-8)");
            println!("bpf_trace_printk: {}", text.trim_end_matches('\n'));
        },
    });
    crate::time::on_tick_hook(crate::hooks::tick);
    crate::time::on_tick(crate::sched::tick);
    hal::user::set_syscall_handler(crate::syscall::handle);
    hal::set_user_fault_handler(crate::process::fault);
    hal::enable_interrupts();
    mark(5, "tick and scheduler");
    let init = hal::cycles();
    // The other processors start now, in parallel with init (under TCG a
    // starting vCPU slows the boot CPU down); they join the scheduler as
    // they arrive and print when they are online.
    let starting = start_cpus(cpus);

    println!("axiom: booted ({}), {cpus} CPU(s), command line `{cmdline}`", hal::BOOT_PROTOCOL);
    for word in &config.unknown {
        println!("axiom: unknown option `{word}` on the command line: ignored");
    }
    let sizes: alloc::vec::Vec<alloc::string::String> = crate::fs::list()
        .map(|(path, len)| alloc::format!("/{path} {} KiB", len.div_ceil(1024)))
        .collect();
    println!("axiom: initramfs: {} files ({})", sizes.len(), sizes.join(", "));
    println!("axiom: {starting} application processor(s) starting in parallel");
    println!(
        "axiom: init reached {} us after kernel entry",
        crate::time::cycles_to_ns(init - entry) / 1000
    );
    let mut last = entry;
    let breakdown: alloc::vec::Vec<alloc::string::String> = phases[..6]
        .iter()
        .map(|&(name, at)| {
            let us = crate::time::cycles_to_ns(at - last) / 1000;
            last = at;
            alloc::format!("{name} {us}")
        })
        .collect();
    println!("axiom: boot phases (us): {}", breakdown.join(", "));
    println!(
        "axiom: clock {} {} kHz (reference: {}), {} {} kHz; tick {} Hz ({mode})",
        hal::CYCLE_COUNTER,
        clock.tsc_khz,
        clock.source,
        hal::TICK_TIMER,
        clock.lapic_khz,
        crate::time::HZ
    );
    let usable: u64 = regions[..n].iter().filter(|r| r.usable).map(|r| r.len).sum();
    let (rodata, text, text_end, data) = hal::paging::sections();
    let footprint = (image.1 - image.0) + tables as u64 * 4096 + hal::heap_used() as u64;
    println!(
        "axiom: memory: image {} KiB (rodata {} KiB, text {} KiB, data+bss {} KiB incl. a {} KiB \
         early heap), heap {} KiB in use of {} KiB, page tables {} KiB; footprint {} KiB; {} of {} \
         KiB usable RAM free",
        (image.1 - image.0) / 1024,
        (text - rodata) / 1024,
        (text_end - text) / 1024,
        (image.1 + hal::kernel_base() - data) / 1024,
        hal::HEAP_SIZE / 1024,
        hal::heap_used() / 1024,
        hal::heap_size() / 1024,
        tables * 4,
        footprint / 1024,
        free_frames as u64 * 4,
        usable / 1024,
    );
    if config.harden {
        crate::syscall::HARDENED.store(true, core::sync::atomic::Ordering::Relaxed);
        println!("axiom: hardened: constant blinding in every BPF program the JIT compiles");
    }
    let spawned = crate::sched::spawn("init", move || run_tests(config));
    if spawned.is_none() {
        println!("axiom: cannot start the init task");
        hal::exit(false)
    }
    crate::sched::idle()
}

/// Each application processor's kernel stack (its idle task's).
const AP_STACK: usize = 16 * 1024;

/// Sends the other processors to start, in parallel; returns how many
/// were sent (they join the scheduler as they arrive, see [`ap_main`]).
fn start_cpus(cpus: usize) -> usize {
    if cpus < 2 {
        return 0;
    }
    // The trampoline, where the architecture needs one: written through
    // the physical map, which then loses its write right; mapped at its
    // physical address read+execute, its parameter page beside it
    // writable (until every AP has arrived).
    let trampoline = hal::smp::trampoline();
    TRAMPOLINE.call_once(|| trampoline);
    let mapped = trampoline.map_or(Some(Some(())), |(code, data)| {
        crate::memory::with(|m| {
            use crate::paging::{NO_EXECUTE, WRITABLE};
            m.space.protect(hal::phys_to_virt(code), NO_EXECUTE)?;
            m.space.map(&mut m.frames, code, code, 0)?;
            m.space.map(&mut m.frames, data, data, WRITABLE | NO_EXECUTE)
        })
    });
    if mapped.flatten().is_none() {
        println!("axiom: cannot map the AP trampoline; one CPU only");
        return 0;
    }
    let mut sent = 0;
    for index in 1..cpus.min(hal::MAX_CPUS) {
        // The stack lives as long as the CPU: leaked on purpose.
        let stack: &'static mut [u8] = alloc::vec![0u8; AP_STACK].leak();
        let top = (stack.as_ptr() as u64 + AP_STACK as u64) & !15;
        if !hal::smp::start_ap(index, top, ap_main) {
            break;
        }
        sent += 1;
    }
    sent
}

/// Once every processor has arrived (or after a second), unmaps the AP
/// trampoline from the lower half, which belongs to user space, and gives
/// the physical map its write right back.
fn retire_trampoline() {
    let until = crate::time::ticks() + 1000;
    while crate::sched::online() < hal::cpu_count() && crate::time::ticks() < until {
        crate::sched::sleep_ticks(1);
    }
    let Some(&Some((code, data))) = TRAMPOLINE.get() else { return };
    crate::memory::with(|m| {
        use crate::paging::{NO_EXECUTE, WRITABLE};
        m.space.unmap(code);
        m.space.unmap(data);
        m.space.protect(hal::phys_to_virt(code), WRITABLE | NO_EXECUTE);
    });
    hal::smp::flush_tlb_everywhere();
}

/// The AP trampoline's pages (code, parameters), if the architecture
/// used one.
pub static TRAMPOLINE: spin::Once<Option<(u64, u64)>> = spin::Once::new();

/// Calls the hostile-input test makes: `axiom.fuzz=N`, else 5,000.
pub fn fuzz_calls() -> alloc::string::String {
    alloc::format!("{}", crate::config::get().fuzz_calls.unwrap_or(5000))
}

/// Cycle counter at kernel entry.
static ENTRY: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// An application processor, once in the kernel: joins the scheduler in
/// CPU order (so the online CPUs are always `0..n`), starts its tick, and
/// idles.
fn ap_main(cpu: usize) -> ! {
    while crate::sched::online() < cpu {
        core::hint::spin_loop();
    }
    crate::sched::cpu_online(cpu);
    let since = hal::cycles() - ENTRY.load(core::sync::atomic::Ordering::Relaxed);
    println!(
        "axiom: CPU {cpu} online {} us after kernel entry",
        crate::time::cycles_to_ns(since) / 1000
    );
    if let Some(clock) = CLOCK.get() {
        hal::start_tick(crate::time::HZ, clock, crate::time::tick);
    }
    hal::enable_interrupts();
    crate::sched::idle()
}

/// The default scheduling policy, `bpf-progs/axiom/sched_rr.bpf.c`,
/// loaded and attached by the guest's `axbpf` as a system's user space
/// would (`axiom.sched=fallback` keeps the built-in fallback).
fn load_default_policy(config: &Config) {
    if config.sched_fallback {
        return;
    }
    let start = hal::cycles();
    let args = ["axbpf", "load", "/lib/bpf/sched_rr.bpf.o", "--attach", "sched"];
    let result = crate::selftest::run_program("/bin/axbpf", &args);
    let us = crate::time::cycles_to_ns(hal::cycles() - start) / 1000;
    match result {
        Some((0, _)) => println!(
            "axiom: default scheduler policy {} attached in {} us",
            crate::sched::policy_status().0,
            us
        ),
        other => println!("axiom: default scheduler policy not loaded: {other:?}"),
    }
}

/// Starts the remote `bpf()` agent (the guest's `axbpf agent`) when the
/// machine has a line for it: a second serial line, or the console's
/// when nothing else uses it (`serving`: no tests on the console).
fn start_agent(serving: bool) {
    if hal::uart::SHARES_CONSOLE && !serving {
        return;
    }
    if !crate::serial::init() {
        return;
    }
    let args = ["axbpf", "agent", crate::serial::PATH];
    match crate::process::spawn_path("/bin/axbpf", &args, &["AXIOM=1"]) {
        Ok(pid) => println!(
            "axiom: remote bpf() agent on {} ({}, pid {pid})",
            crate::serial::PATH,
            hal::uart::REMOTE_NAME
        ),
        Err(e) => println!("axiom: remote bpf() agent not started: {e:?}"),
    }
}

/// A filter slot's program, as the console names it.
fn filter_name(slot: &axiom_bpf::hook::HookSlot) -> alloc::string::String {
    match slot.program() {
        Some(p) => {
            let len = p.name.iter().position(|&b| b == 0).unwrap_or(p.name.len());
            alloc::format!(
                "`{}` (program {})",
                core::str::from_utf8(&p.name[..len]).unwrap_or("?"),
                p.id
            )
        }
        None => "no filter".into(),
    }
}

/// Serves forever, for a host's `axbpf --remote` to steer (QEMU is
/// stopped from outside). Every second: a workload of tasks with
/// priorities 0..3 and the order they finished in under the policy of
/// the moment; what the periodic device's line saw (it interrupts at
/// 1024 Hz, a storm for an IRQ filter to drop) and what the IIO device
/// scanned, kept and dropped under the filters of the moment, with the
/// last scan kept. A policy or filter swapped from the host shows there.
fn serve() -> ! {
    use crate::{iio, irq};
    const PRIORITIES: [u32; 6] = [0, 3, 1, 2, 0, 3];
    let line = hal::PERIODIC_IRQ as usize;
    println!("axiom: serving; stop QEMU to end");
    // 32768 >> (6 - 1) = 1024 Hz.
    hal::periodic_irq(Some(1024));
    let (mut verdicts, mut seen) = irq::counts(line);
    let mut scans = iio::counts();
    let mut feed = iio::feed_counts();
    loop {
        let order = crate::selftest::workload(&PRIORITIES);
        println!(
            "axiom: workload {PRIORITIES:?} finished in order {order:?} under `{}`",
            crate::sched::policy_status().0
        );
        crate::sched::sleep_ticks(crate::time::HZ);
        let (v, s) = irq::counts(line);
        let d = |i: usize| v[i] - verdicts[i];
        println!(
            "axiom: irq {line} ({} at 1024 Hz), last second: {} interrupts, {} handled, {} \
             dropped, {} deferred, {} rate-limited; filter {}",
            hal::PERIODIC_DEVICE,
            s - seen,
            d(0),
            d(1),
            d(2),
            d(3),
            filter_name(&irq::SLOTS[line])
        );
        (verdicts, seen) = (v, s);
        let (c, f) = (iio::counts(), iio::feed_counts());
        let kept = iio::take(usize::MAX);
        let source = if !f.present {
            "synthesised".into()
        } else {
            alloc::format!(
                "host feed: {} samples received, {} scans took a new one, {} held the last, {} \
                 lines refused",
                f.received - feed.received,
                f.used - feed.used,
                f.held - feed.held,
                f.refused
            )
        };
        println!(
            "axiom: iio:device0, last second: {} scans ({source}), {} kept, {} dropped; filter \
             {}; last kept {:?}",
            c.0 - scans.0,
            c.1 - scans.1,
            c.2 - scans.2,
            filter_name(&iio::SLOTS[0]),
            kept.last().map(|s| s.values)
        );
        (scans, feed) = (c, f);
    }
}

/// The init task: the in-kernel tests (and the deliberate failures the
/// harness asks for), the tick metrics, then QEMU ends with the verdict;
/// or a benchmark the command line names.
fn run_tests(config: &'static Config) -> ! {
    retire_trampoline();
    // The hooks' published maps and the interrupt lines' drivers: set up
    // by init, off the boot path (like the initramfs, read on first use).
    crate::hooks::init(crate::syscall::bpf_registry());
    crate::irq::init();
    if crate::iio::init() {
        println!(
            "axiom: IIO host feed on {}: iio:device0 takes its samples from the host",
            hal::uart::FEED_NAME
        );
    }
    crate::sched::spawn("reaper", crate::sched::reaper);
    load_default_policy(config);
    let serving = config.serve;
    start_agent(serving);
    // `axiom.serve`: no tests; a workload every second, for a host's
    // `axbpf --remote` to steer (QEMU is stopped from outside).
    if serving {
        serve()
    }
    // `axiom.bench=user`: the system-call benchmark (user/bench) as the
    // only work, its `BENCH` lines on the console.
    // `axiom.bench=hooks`: the hooks' dispatch figures (see
    // `selftest::hooks_bench`).
    if config.bench == Some(Bench::Hooks) {
        hal::exit(crate::selftest::hooks_bench())
    }
    // `axiom.soak=SECONDS`: policies, filters and tracing churned for
    // that long, then checked (see `selftest::soak`).
    if let Some(seconds) = config.soak_seconds {
        hal::exit(crate::selftest::soak(seconds))
    }
    // `axiom.bench=overhead`: the hooks' price on a CPU-bound task.
    if config.bench == Some(Bench::Overhead) {
        hal::exit(crate::selftest::overhead_bench())
    }
    if config.bench == Some(Bench::User) {
        let r = crate::selftest::run_program("/bin/bench", &["bench"]);
        hal::exit(matches!(r, Some((0, _))))
    }
    // `axiom.test=wx` writes to kernel text: W^X must stop it.
    if config.deliberate == Some(Deliberate::Wx) {
        hal::paging::poke(hal::paging::sections().1);
    }
    // `axiom.test=jitalias` writes to JIT code through the physical map:
    // the alias is read-only while the frame holds code.
    if config.deliberate == Some(Deliberate::JitAlias)
        && let Some(region) = crate::selftest::jit_region()
    {
        hal::paging::poke(hal::phys_to_virt(region.frames()[0]));
    }
    // `axiom.test=panic` panics: the handler must print the message and
    // where, and end QEMU with failure.
    if config.deliberate == Some(Deliberate::Panic) {
        panic!("deliberate panic (axiom.test=panic)");
    }
    // `axiom.test=fault` faults on purpose: the handler must report it.
    if config.deliberate == Some(Deliberate::Fault) {
        hal::fault();
    }
    // `axiom.test=fail` adds a failing test: the harness must notice.
    let fail_case: &[crate::selftest::Test] = if config.deliberate == Some(Deliberate::Fail) {
        &[("deliberate failure", || false)]
    } else {
        &[]
    };
    let mut failed = 0;
    for (name, test) in TESTS.iter().chain(fail_case) {
        let ok = test();
        println!("test {name} ... {}", if ok { "ok" } else { "FAILED" });
        failed += usize::from(!ok);
    }
    tick_metrics();
    for line in crate::sched::task_table() {
        println!("axiom: task {line}");
    }
    println!(
        "axiom: {} context switches; policy `{}`",
        crate::sched::switches(),
        crate::sched::policy_status().0
    );
    if failed == 0 {
        println!("axiom: all {} tests passed", TESTS.len());
        hal::exit(true)
    } else {
        println!("axiom: {failed} of {} tests failed", TESTS.len() + fail_case.len());
        hal::exit(false)
    }
}

/// Waits for the first 1,001 ticks and prints their interval statistics.
fn tick_metrics() {
    const N: usize = 1000;
    let give_up = hal::cycles() + CLOCK.get().map_or(0, |c| c.tsc_khz * 10_000);
    while (crate::time::ticks() as usize) <= N && hal::cycles() < give_up {
        crate::sched::sleep_ticks(10);
    }
    match crate::time::tick_stats(N) {
        Some(s) => println!(
            "axiom: timer over {} ticks: interval mean {}.{:03} us, jitter (stddev) {}.{:03} us, \
             min {}.{:03} us, max {}.{:03} us",
            s.count,
            s.mean / 1000,
            s.mean % 1000,
            s.stddev / 1000,
            s.stddev % 1000,
            s.min / 1000,
            s.min % 1000,
            s.max / 1000,
            s.max % 1000
        ),
        None => println!("axiom: timer: fewer than {} ticks in 10 s", N + 1),
    }
}
