//! x86-64: the PVH entry (32-bit protected mode to long mode, the kernel
//! in the top 2 GiB, physical memory mapped at [`PHYS_OFFSET`]), the 16550 serial console on COM1,
//! QEMU's `isa-debug-exit` device, the ACPI MADT, the local and I/O APICs
//! and the TSC. The unsafe code of this architecture is in [`boot`] (the
//! entry), [`cpu`] (GDT, TSS, IDT, interrupt stubs), [`acpi`] (reading
//! the firmware's tables), [`apic`] (the APICs' registers), [`context`]
//! (thread contexts and the switch), [`exec`] (calling JIT code), [`smp`] (starting the other
//! processors), [`paging`]
//! (page-table memory) and [`port`] (I/O instructions).

mod acpi;
mod apic;
mod boot;
mod clock;
pub mod context;
mod cpu;
pub mod exec;
pub mod paging;
mod port;
pub mod smp;
pub mod user;

pub use acpi::MAX_CPUS;
pub use boot::{Region, cmdline, kernel_image, memory_map, module, module_range};
pub use clock::Calibration;
pub use cpu::{
    UserFault, breakpoint, breakpoints, cpu_index, disable_interrupts, enable_interrupts, fault,
    init, set_handler, set_user_fault_handler, unhandled_interrupts, wait_for_interrupt,
};

use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// Where the kernel sees physical memory: physical address `p` is at
/// `PHYS_OFFSET + p` (the first GiB from boot; all RAM and the device
/// pages once the kernel's own tables are on). The lower half of the
/// address space is left to user processes.
pub const PHYS_OFFSET: u64 = 0xffff_8000_0000_0000;
/// Where the kernel image runs: physical address `p` of the image is at
/// `KERNEL_BASE + p` (the top 2 GiB).
pub const KERNEL_BASE: u64 = 0xffff_ffff_8000_0000;

/// The offset from a physical address of the image to its virtual one
/// ([`KERNEL_BASE`]; a function because arm64's depends on where the
/// image was loaded).
pub const fn kernel_base() -> u64 {
    KERNEL_BASE
}

/// The kernel's virtual address of physical address `p`.
pub const fn phys_to_virt(p: u64) -> u64 {
    PHYS_OFFSET + p
}

/// Writes bytes to COM1 (the 16550 at 0x3f8), `\n` as `\r\n`.
pub fn console(bytes: &[u8]) {
    for &b in bytes {
        if b == b'\n' {
            port::serial_write(b'\r');
        }
        port::serial_write(b);
    }
}

/// Ends QEMU through `isa-debug-exit` (port 0xf4) with the status of
/// [`axiom_abi::verdict`] (`PASS` or `FAIL`, statuses QEMU never gives on
/// its own). Halts if the device is missing.
pub fn exit(success: bool) -> ! {
    use axiom_abi::verdict::{FAIL, PASS, debug_exit_byte};
    port::outb(0xf4, debug_exit_byte(if success { PASS } else { FAIL }));
    loop {
        port::halt();
    }
}

/// Whether the CPU has arm64's LSE atomics: never, on x86-64 (the
/// arm64 JIT's option, which the x86-64 JIT ignores).
pub const fn atomics_lse() -> bool {
    false
}

/// The time-stamp counter.
pub fn cycles() -> u64 {
    port::rdtsc()
}

static MACHINE: spin::Once<acpi::Machine> = spin::Once::new();

/// Reads the firmware's description of the machine (the ACPI MADT) and
/// returns how many processors it has; 1 if there are no tables. Runs
/// before the kernel's page tables are on.
pub fn discover(boot_info: u64) -> usize {
    let m = MACHINE.call_once(|| {
        acpi::machine(boot_info).unwrap_or(acpi::Machine {
            apic_ids: [apic::boot_apic_id(); MAX_CPUS],
            cpus: 1,
            lapic: 0xfee0_0000,
            ioapic: None,
            overrides: [(0, 0, 0); 16],
            override_count: 0,
            has_8259: true,
        })
    });
    apic::locate(phys_to_virt(m.lapic), m.ioapic.map_or(0, |i| phys_to_virt(i.0)));
    m.cpus
}

/// The local APIC id of processor `index` (in MADT order, the boot one
/// first).
fn apic_id(index: usize) -> Option<u32> {
    let m = MACHINE.get()?;
    (index < m.cpus).then(|| m.apic_ids[index])
}

/// Processors found by [`discover`].
pub fn cpu_count() -> usize {
    MACHINE.get().map_or(1, |m| m.cpus)
}

/// Device registers the kernel must map uncached, at their
/// [`phys_to_virt`] addresses, before [`start_interrupts`]: (physical
/// base, length) pairs; length 0 is none.
pub fn device_ranges() -> [(u64, u64); 2] {
    let m = MACHINE.get();
    [
        (m.map_or(0xfee0_0000, |m| m.lapic), 4096),
        m.and_then(|m| m.ioapic).map_or((0, 0), |(a, _)| (a, 4096)),
    ]
}

/// Turns on this CPU's interrupt controller with every external line
/// masked (and the legacy PICs masked).
pub fn start_interrupts() {
    if MACHINE.get().is_none_or(|m| m.has_8259) {
        port::outb(0x21, 0xff);
        port::outb(0xa1, 0xff);
    }
    apic::enable();
    apic::ioapic_mask_all();
    set_handler(smp::SHOOTDOWN_VECTOR, smp::shootdown_handler);
}

/// The console UART's interrupt line (COM1: ISA IRQ 4).
pub const CONSOLE_IRQ: u8 = 4;

/// The interrupt vector of external line `irq`.
pub const fn irq_vector(irq: u8) -> u8 {
    48 + irq
}

/// The external line whose vector is `vector` (the inverse of
/// [`irq_vector`]).
pub const fn irq_line(vector: u8) -> Option<u8> {
    match vector.checked_sub(48) {
        Some(line) if line < 24 => Some(line),
        _ => None,
    }
}

/// Routes external interrupt line `irq` (an ISA IRQ, remapped by the
/// MADT's overrides) to [`irq_vector`]`(irq)` on the boot CPU; `false` if
/// the machine has no I/O APIC or the line is outside it.
pub fn route_irq(irq: u8) -> bool {
    let Some(m) = MACHINE.get() else { return false };
    let Some((_, gsi_base)) = m.ioapic else { return false };
    // ISA defaults: active high, edge-triggered; an override may change the
    // line (GSI) and both (MPS flags: polarity bits 0-1, trigger 2-3).
    let (gsi, flags) = m.overrides[..m.override_count]
        .iter()
        .find(|o| o.0 == irq)
        .map_or((irq as u32, 0), |o| (o.1, o.2));
    let Some(line) = gsi.checked_sub(gsi_base).filter(|&l| l < apic::ioapic_lines()) else {
        return false;
    };
    apic::ioapic_route(line, irq_vector(irq), m.apic_ids[0], flags & 3 == 3, (flags >> 2) & 3 == 3);
    true
}

/// Masks external interrupt line `irq` again.
pub fn mask_irq(irq: u8) {
    let Some(m) = MACHINE.get() else { return };
    let Some((_, gsi_base)) = m.ioapic else { return };
    let gsi =
        m.overrides[..m.override_count].iter().find(|o| o.0 == irq).map_or(irq as u32, |o| o.1);
    if let Some(line) = gsi.checked_sub(gsi_base).filter(|&l| l < apic::ioapic_lines()) {
        apic::ioapic_mask(line);
    }
}

/// Turns the console UART's "transmitter empty" interrupt on or off.
pub fn console_tx_interrupt(on: bool) {
    // COM1's interrupt enable register (IER), bit 1; OUT2 (MCR bit 3)
    // gates the UART's interrupt output on PCs.
    port::outb(0x3f8 + 4, if on { 0x0b } else { 0x03 });
    port::outb(0x3f8 + 1, if on { 0x02 } else { 0 });
}

/// The extra 16550 UARTs: COM2 (0x2f8), the remote `bpf()` agent's line,
/// received by interrupt; COM3 (0x3e8), the IIO device's host feed,
/// polled by the tick. Raw bytes both ways, 115200 8N1.
pub mod uart {
    use super::port::{inb, outb};

    /// A 16550 at an I/O port base.
    #[derive(Clone, Copy, Debug)]
    pub struct Uart {
        base: u16,
        /// Its ISA interrupt line.
        pub irq: u8,
    }

    /// The remote `bpf()` agent's line: COM2 (ISA IRQ 3).
    pub const REMOTE: Uart = Uart { base: 0x2f8, irq: 3 };
    /// The IIO host feed's line: COM3 (QEMU wires it to ISA IRQ 5;
    /// polled).
    pub const FEED: Uart = Uart { base: 0x3e8, irq: 5 };
    /// The remote line's name, for messages.
    pub const REMOTE_NAME: &str = "COM2";
    /// The feed line's name, for messages.
    pub const FEED_NAME: &str = "COM3";
    /// The remote line is a UART of its own, not the console's.
    pub const SHARES_CONSOLE: bool = false;

    impl Uart {
        /// Whether the UART is there (its scratch register keeps a
        /// value); if so, sets it up: 115200 8N1, FIFOs on, no
        /// interrupts yet.
        pub fn probe(self) -> bool {
            let base = self.base;
            for v in [0xa5, 0x5a] {
                outb(base + 7, v);
                if inb(base + 7) != v {
                    return false;
                }
            }
            outb(base + 1, 0); // no interrupts
            outb(base + 3, 0x80); // divisor latch
            outb(base, 1); // 115200 baud
            outb(base + 1, 0);
            outb(base + 3, 0x03); // 8N1
            outb(base + 2, 0xc7); // FIFOs on and cleared, 14-byte trigger
            outb(base + 4, 0x0b); // DTR, RTS, OUT2 (the interrupt gate)
            true
        }

        /// Turns the "data received" interrupt on or off.
        pub fn rx_interrupt(self, on: bool) {
            outb(self.base + 1, u8::from(on));
        }

        /// A received byte, if one waits.
        pub fn read(self) -> Option<u8> {
            (inb(self.base + 5) & 1 != 0).then(|| inb(self.base))
        }

        /// Sends a byte once the transmitter has room.
        pub fn write(self, b: u8) {
            while inb(self.base + 5) & 0x20 == 0 {
                core::hint::spin_loop();
            }
            outb(self.base, b);
        }
    }
}

/// The periodic device's interrupt line: the CMOS real-time clock's
/// (ISA IRQ 8).
pub const PERIODIC_IRQ: u8 = 8;
/// What the periodic device is, for messages.
pub const PERIODIC_DEVICE: &str = "RTC";
/// How the kernel was started, for messages.
pub const BOOT_PROTOCOL: &str = "PVH";
/// The architecture's name, as `uname` gives it.
pub const ARCH: &str = "x86_64";
/// The ELF machine of this architecture's programs (EM_X86_64).
pub const ELF_MACHINE: u16 = 62;
/// The cycle counter's name, for messages.
pub const CYCLE_COUNTER: &str = "TSC";
/// The tick's timer, for messages.
pub const TICK_TIMER: &str = "APIC timer";

fn cmos_write(register: u8, value: u8) {
    // Bit 7 of the index port keeps NMIs masked while we talk to the RTC.
    port::outb(0x70, 0x80 | register);
    port::outb(0x71, value);
}

fn cmos_read(register: u8) -> u8 {
    port::outb(0x70, 0x80 | register);
    port::inb(0x71)
}

/// Starts the periodic device's interrupt at about `hz` (the RTC's
/// periodic interrupt: a power of two from 2 to 8192 Hz, the nearest at
/// or below); `None` stops it.
pub fn periodic_irq(hz: Option<u32>) {
    let on = disable_interrupts();
    let b = cmos_read(0x0b);
    match hz {
        Some(hz) => {
            // 32768 >> (rate - 1) Hz, rate 3 (8192 Hz) to 15 (2 Hz).
            let rate = (16 - hz.clamp(2, 8192).ilog2()) as u8;
            let a = cmos_read(0x0a);
            cmos_write(0x0a, (a & 0xf0) | (rate & 0x0f));
            cmos_write(0x0b, b | 0x40);
        }
        None => cmos_write(0x0b, b & !0x40),
    }
    // Reading register C acknowledges anything pending.
    cmos_read(0x0c);
    if on {
        enable_interrupts();
    }
}

/// Acknowledges the periodic device's interrupt; its state (the RTC's
/// register C: bit 6 periodic, 5 alarm, 4 update ended, 7 any).
pub fn periodic_ack() -> u64 {
    cmos_read(0x0c) as u64
}

/// Opens the clock's calibration window (early in boot; see [`calibrate`]).
pub fn start_clock() {
    clock::begin();
}

/// Measures the clock and timer rates (see [`Calibration`]); `None` if no
/// reference counts.
pub fn calibrate() -> Option<Calibration> {
    clock::calibrate()
}

/// The vector of the periodic tick.
pub const TICK_VECTOR: u8 = 32;

static TICK_HANDLER: AtomicUsize = AtomicUsize::new(0);
static TICK_PERIOD: AtomicU64 = AtomicU64::new(0);
/// Each CPU's next tick deadline (TSC-deadline mode).
static TICK_DEADLINE: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
static DEADLINE_MODE: AtomicBool = AtomicBool::new(false);
/// Each CPU's last tick: when its timer was due (cycles).
static TICK_DUE: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
/// Periodic mode: the timer's initial count and the cycles per 1,000 of
/// its counts (to turn a count into cycles).
static TICK_COUNT: AtomicU64 = AtomicU64::new(0);
static CYCLES_PER_KCOUNT: AtomicU64 = AtomicU64::new(0);

fn tick(_vector: u8) {
    let cpu = cpu::cpu_index();
    if DEADLINE_MODE.load(Ordering::Relaxed) {
        // Absolute deadlines: the next tick does not drift with this one's
        // lateness.
        let period = TICK_PERIOD.load(Ordering::Relaxed);
        let deadline = &TICK_DEADLINE[cpu];
        TICK_DUE[cpu].store(deadline.load(Ordering::Relaxed), Ordering::Relaxed);
        let mut next = deadline.load(Ordering::Relaxed) + period;
        let now = port::rdtsc();
        if next <= now {
            next = now + period;
        }
        deadline.store(next, Ordering::Relaxed);
        apic::set_deadline(next);
    } else {
        // Periodic: the counter reloaded when the tick was due; what it
        // has counted down since is how late this handler is.
        let now = port::rdtsc();
        let counted =
            TICK_COUNT.load(Ordering::Relaxed).saturating_sub(apic::timer_current() as u64);
        let late = counted * CYCLES_PER_KCOUNT.load(Ordering::Relaxed) / 1000;
        TICK_DUE[cpu].store(now.saturating_sub(late), Ordering::Relaxed);
    }
    let h = TICK_HANDLER.load(Ordering::Acquire);
    if h != 0 {
        // SAFETY: only `start_tick` stores here, and it stores a `fn()`.
        let handler: fn() = unsafe { core::mem::transmute::<usize, fn()>(h) };
        handler();
    }
}

/// Starts this CPU's periodic tick at `hz`, calling `handler` from the
/// interrupt each time; returns the timer mode used: `"tsc-deadline"`
/// where the CPU has it, else `"apic-periodic"`.
pub fn start_tick(hz: u64, cal: &Calibration, handler: fn()) -> &'static str {
    TICK_HANDLER.store(handler as usize, Ordering::Release);
    set_handler(TICK_VECTOR, tick);
    if apic::has_tsc_deadline() {
        let period = cal.tsc_khz * 1000 / hz;
        TICK_PERIOD.store(period, Ordering::Relaxed);
        DEADLINE_MODE.store(true, Ordering::Relaxed);
        apic::timer_deadline_mode(TICK_VECTOR);
        let first = port::rdtsc() + period;
        TICK_DEADLINE[cpu::cpu_index()].store(first, Ordering::Relaxed);
        apic::set_deadline(first);
        "tsc-deadline"
    } else {
        let count = (cal.lapic_khz * 1000 / hz).min(u32::MAX as u64) as u32;
        TICK_COUNT.store(count as u64, Ordering::Relaxed);
        CYCLES_PER_KCOUNT.store(cal.tsc_khz * 1000 / cal.lapic_khz.max(1), Ordering::Relaxed);
        apic::timer_periodic(TICK_VECTOR, count);
        "apic-periodic"
    }
}

/// When this CPU's current tick was due (cycles): its TSC deadline, or
/// in periodic mode when its counter reloaded. Valid in the tick handler.
pub fn tick_due() -> u64 {
    TICK_DUE[cpu::cpu_index()].load(Ordering::Relaxed)
}

/// Stops this CPU's tick.
pub fn stop_tick() {
    DEADLINE_MODE.store(false, Ordering::Relaxed);
    apic::timer_stop();
}
