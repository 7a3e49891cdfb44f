//! Boot, heap, tests.

use crate::frames::{FRAME, Frames};
use alloc::boxed::Box;
use alloc::vec::Vec;
use axiom_hal as hal;
use core::fmt::Write;

/// Console output.
struct Console;

impl Write for Console {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        hal::console(s.as_bytes());
        Ok(())
    }
}

macro_rules! println {
    ($($t:tt)*) => {{
        let _ = writeln!(Console, $($t)*);
    }};
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    println!("axiom: PANIC: {info}");
    hal::exit(false)
}

/// The kernel's in-QEMU tests.
const TESTS: &[(&str, fn() -> bool)] = &[
    ("heap: boxes and growing vectors", heap_test),
    ("cycle counter advances", cycles_test),
    ("frames: distinct, aligned, outside the kernel, returned", frames_test),
    ("exceptions: breakpoints are handled and return", breakpoint_test),
    ("paging: text read+execute, rodata read-only, data no-execute, page 0 unmapped", wx_test),
    ("clock: calibrated against a reference", clock_test),
    ("timer: ticks arrive at the programmed rate", tick_test),
];

/// The clock calibration, once done.
static CLOCK: spin::Once<hal::Calibration> = spin::Once::new();

fn clock_test() -> bool {
    // A TSC between 100 MHz and 20 GHz, and an APIC timer that counted.
    CLOCK.get().is_some_and(|c| (100_000..20_000_000).contains(&c.tsc_khz) && c.lapic_khz > 0)
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

/// The kernel's page tables, once built.
static SPACE: spin::Once<crate::paging::AddressSpace> = spin::Once::new();

fn wx_test() -> bool {
    use crate::paging::{NO_EXECUTE, WRITABLE};
    let Some(space) = SPACE.get() else { return false };
    let (rodata, text, _, data) = hal::paging::sections();
    let flags = |a: u64| space.translate(a).map(|(p, f)| (p == a, f));
    let text_ok = matches!(flags(text), Some((true, f)) if f & (WRITABLE | NO_EXECUTE) == 0);
    let rodata_ok =
        matches!(flags(rodata), Some((true, f)) if f & WRITABLE == 0 && f & NO_EXECUTE != 0);
    let data_ok =
        matches!(flags(data), Some((true, f)) if f & WRITABLE != 0 && f & NO_EXECUTE != 0);
    text_ok && rodata_ok && data_ok && space.translate(0).is_none()
}

fn breakpoint_test() -> bool {
    let before = hal::breakpoints();
    hal::breakpoint();
    hal::breakpoint();
    hal::breakpoints() == before + 2
}

/// The memory map and kernel range, saved at boot for the tests.
static BOOT: spin::Once<(Vec<hal::Region>, (u64, u64))> = spin::Once::new();

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

hal::entry!(kernel_start);

/// Entered from the boot code with the PVH start info's address.
fn kernel_start(start_info: u64) -> ! {
    let entry = hal::cycles();
    hal::init();
    hal::init_heap();
    let cpus = hal::discover(start_info);
    let cmdline = hal::cmdline(start_info);
    let mut regions = [hal::Region::default(); 64];
    let n = hal::memory_map(start_info, &mut regions);
    let image = hal::kernel_image();
    BOOT.call_once(|| (regions[..n].to_vec(), image));
    let mut frames = Frames::new(&regions[..n], &[image]);
    let ram_top =
        regions[..n].iter().filter(|r| r.usable).map(|r| r.base + r.len).max().unwrap_or(0);
    let Some(space) = crate::paging::kernel_space(&mut frames, ram_top, &hal::device_ranges())
    else {
        println!("axiom: out of frames for the page tables");
        hal::exit(false)
    };
    hal::paging::activate(space.pml4);
    let tables = space.tables;
    SPACE.call_once(|| space);
    hal::start_interrupts();
    let Some(clock) = hal::calibrate() else {
        println!("axiom: no clock reference counts (PIT, CPUID 0x15): cannot calibrate the TSC");
        hal::exit(false)
    };
    CLOCK.call_once(|| clock);
    crate::time::set_rate(clock.tsc_khz);
    let mode = hal::start_tick(crate::time::HZ, &clock, crate::time::tick);
    hal::enable_interrupts();
    let init = hal::cycles();

    println!("axiom: booted (PVH), {cpus} CPU(s), command line `{cmdline}`");
    println!(
        "axiom: init reached {} us after kernel entry",
        crate::time::cycles_to_ns(init - entry) / 1000
    );
    println!(
        "axiom: clock TSC {} kHz (reference: {}), APIC timer {} kHz; tick {} Hz ({mode})",
        clock.tsc_khz,
        clock.source,
        clock.lapic_khz,
        crate::time::HZ
    );
    let usable: u64 = regions[..n].iter().filter(|r| r.usable).map(|r| r.len).sum();
    let (rodata, text, text_end, data) = hal::paging::sections();
    let footprint = (image.1 - image.0) + tables as u64 * 4096;
    println!(
        "axiom: memory: image {} KiB (rodata {} KiB, text {} KiB, data+bss {} KiB incl. a {} KiB \
         heap, {} KiB in use), page tables {} KiB; footprint {} KiB; {} of {} KiB usable RAM free",
        (image.1 - image.0) / 1024,
        (text - rodata) / 1024,
        (text_end - text) / 1024,
        (image.1 - data) / 1024,
        hal::HEAP_SIZE / 1024,
        hal::heap_used() / 1024,
        tables * 4,
        footprint / 1024,
        frames.available as u64 * 4,
        usable / 1024,
    );
    // `axiom.test=wx` writes to kernel text: W^X must stop it.
    if cmdline.split(' ').any(|w| w == "axiom.test=wx") {
        hal::paging::poke(hal::paging::sections().1);
    }
    // `axiom.test=fault` faults on purpose: the handler must report it.
    if cmdline.split(' ').any(|w| w == "axiom.test=fault") {
        hal::fault();
    }
    // `axiom.test=fail` adds a failing test: the harness must notice.
    let fail_case: &[(&str, fn() -> bool)] = if cmdline.split(' ').any(|w| w == "axiom.test=fail") {
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
        hal::wait_for_interrupt();
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
