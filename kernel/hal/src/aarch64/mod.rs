//! arm64: the Image entry (EL2 or EL1 to EL1, the kernel in the top 2 GiB,
//! physical memory mapped at [`PHYS_OFFSET`]), the device tree, the PL011
//! console, the GIC (v2 or v3), the generic timer (the cycle counter, the
//! tick and the periodic device), PSCI and semihosting. The unsafe code
//! of this architecture is in [`boot`] (the entry), [`cpu`] (exception
//! vectors, system registers), [`gic`] and [`pl011`] (device registers),
//! [`context`] (thread contexts and the switch), [`exec`] (calling JIT
//! code), [`paging`] (page-table memory), [`smp`] (PSCI), [`user`] (EL0)
//! and [`dt`]'s reading of the tree's memory.

mod boot;
mod clock;
pub mod context;
mod cpu;
mod dt;
pub mod exec;
mod gic;
pub mod paging;
mod pl011;
pub mod smp;
pub mod user;

pub use boot::{kernel_base, kernel_image};
pub use clock::{
    Calibration, calibrate, cycles, periodic_ack, periodic_irq, start_clock, start_tick, stop_tick,
    tick_due,
};
pub use cpu::{
    UserFault, breakpoint, breakpoints, cpu_index, disable_interrupts, enable_interrupts, fault,
    init, set_handler, set_user_fault_handler, unhandled_interrupts, wait_for_interrupt,
};

/// The most processors the kernel starts.
pub const MAX_CPUS: usize = 8;

/// Where the kernel sees physical memory: physical address `p` is at
/// `PHYS_OFFSET + p` (the GiBs of the image and the device tree from
/// boot; all RAM and the device pages once the kernel's own tables are
/// on). The lower half of the address space (TTBR0) is user space's.
pub const PHYS_OFFSET: u64 = 0xffff_8000_0000_0000;

/// The kernel's virtual address of physical address `p`.
pub const fn phys_to_virt(p: u64) -> u64 {
    PHYS_OFFSET + p
}

/// The periodic device's interrupt line (the kernel's line numbers are
/// its own, as Linux's are: line 8 is the EL1 virtual timer here).
pub const PERIODIC_IRQ: u8 = 8;
/// What the periodic device is, for messages.
pub const PERIODIC_DEVICE: &str = "virtual timer";
/// How the kernel was started, for messages.
pub const BOOT_PROTOCOL: &str = "arm64 Image";
/// The architecture's name, as `uname` gives it.
pub const ARCH: &str = "aarch64";
/// The ELF machine of this architecture's programs (EM_AARCH64).
pub const ELF_MACHINE: u16 = 183;
/// The cycle counter's name, for messages.
pub const CYCLE_COUNTER: &str = "CNTVCT";
/// The tick's timer, for messages.
pub const TICK_TIMER: &str = "generic timer";
/// The console UART's line (kernel numbering, as on x86-64).
pub const CONSOLE_IRQ: u8 = 4;
/// The tick's interrupt (the EL1 physical timer's usual INTID).
pub const TICK_VECTOR: u8 = 30;

/// The machine the device tree describes (read once, on first need).
static MACHINE: spin::Once<dt::Machine> = spin::Once::new();
/// The device tree's physical address (the boot code's `x0`).
static DTB: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

fn tree(boot_info: u64) -> Option<fdt::Fdt<'static>> {
    if boot_info != 0 {
        DTB.store(boot_info, core::sync::atomic::Ordering::Relaxed);
    }
    dt::tree(DTB.load(core::sync::atomic::Ordering::Relaxed))
}

fn machine() -> Option<&'static dt::Machine> {
    if let Some(m) = MACHINE.get() {
        return Some(m);
    }
    let fdt = tree(0)?;
    Some(MACHINE.call_once(|| dt::machine(&fdt)))
}

/// Writes bytes to the console PL011 (the device tree's `stdout-path`),
/// `\n` as `\r\n`. Nothing before the device tree is known.
pub fn console(bytes: &[u8]) {
    let Some((base, _)) = machine().and_then(|m| m.uart) else { return };
    pl011::write(base, bytes);
}

/// Ends the machine: through semihosting where the host offers it
/// (QEMU's `-semihosting`), with the status of [`axiom_abi::verdict`]
/// (`PASS` or `FAIL`, as on x86-64); else PSCI `SYSTEM_OFF`; else parks
/// the CPU.
pub fn exit(success: bool) -> ! {
    use axiom_abi::verdict::{FAIL, PASS};
    cpu::semihosting_exit(if success { PASS } else { FAIL } as u64);
    if let Some(smc) = machine().and_then(|m| m.psci) {
        smp::psci(smc, smp::PSCI_SYSTEM_OFF, 0, 0, 0);
    }
    loop {
        cpu::park();
    }
}

/// Whether the CPU has the LSE atomics (ARMv8.1; `ID_AA64ISAR0_EL1`'s
/// Atomic field): the JIT uses them for BPF's atomic instructions, else
/// exclusive load/store loops.
pub fn atomics_lse() -> bool {
    (cpu::sysreg_read!("id_aa64isar0_el1") >> 20) & 0xf >= 2
}

/// The kernel command line (`/chosen`'s `bootargs`).
pub fn cmdline(boot_info: u64) -> &'static str {
    tree(boot_info).map_or("", |t| dt::bootargs(&t))
}

/// A range of physical memory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Region {
    /// First byte.
    pub base: u64,
    /// Length in bytes.
    pub len: u64,
    /// RAM the kernel may use (reserved ranges inside RAM are listed as
    /// regions not usable, and win).
    pub usable: bool,
}

/// The memory map: RAM, then what is reserved in it (the tree itself
/// included); returns how many entries were written.
pub fn memory_map(boot_info: u64, out: &mut [Region]) -> usize {
    let dtb = DTB.load(core::sync::atomic::Ordering::Relaxed);
    tree(boot_info).map_or(0, |t| dt::memory(&t, dtb, out))
}

/// The initramfs's physical range, `[start, end)`.
pub fn module_range(boot_info: u64) -> Option<(u64, u64)> {
    tree(boot_info).and_then(|t| dt::initrd(&t))
}

/// The initramfs, through the physical map (which covers RAM below
/// `ram_top` once the kernel's tables are on).
pub fn module(boot_info: u64, ram_top: u64) -> Option<&'static [u8]> {
    let (start, end) = module_range(boot_info)?;
    if end > ram_top {
        return None;
    }
    // SAFETY: the range lies in RAM the physical map covers, and the
    // kernel reserved its frames (it is never handed out or written).
    Some(unsafe {
        core::slice::from_raw_parts(phys_to_virt(start) as *const u8, (end - start) as usize)
    })
}

/// Reads the device tree and returns how many processors it lists;
/// 1 if there is none.
pub fn discover(boot_info: u64) -> usize {
    tree(boot_info);
    machine().map_or(1, |m| m.cpus)
}

/// Processors found by [`discover`].
pub fn cpu_count() -> usize {
    MACHINE.get().map_or(1, |m| m.cpus)
}

/// Device registers the kernel must map uncached, at their
/// [`phys_to_virt`] addresses, before [`start_interrupts`]: (physical
/// base, length) pairs; length 0 is none.
pub fn device_ranges() -> [(u64, u64); 3] {
    let Some(m) = MACHINE.get() else { return [(0, 0); 3] };
    let gic_cpu = if m.gic.version == 3 {
        // The redistributors: 128 KiB per CPU listed.
        (m.gic.cpu.0, m.gic.cpu.1.min(0x20000 * m.cpus as u64))
    } else {
        (m.gic.cpu.0, m.gic.cpu.1.min(0x2000))
    };
    [m.uart.map_or((0, 0), |(b, _)| (b & !0xfff, 4096)), m.gic.dist, gic_cpu]
}

/// Turns on the interrupt controller (distributor once, this CPU's
/// interface) with every line masked.
pub fn start_interrupts() {
    if let Some(m) = machine() {
        gic::init(&m.gic, &m.mpidr[..m.cpus]);
        gic::init_cpu();
        gic::enable(m.timer.1, true);
    }
}

/// The interrupt vector of the kernel's line `irq` (vectors are GIC
/// INTIDs here): the console's UART (line 4) and the periodic device
/// (line 8); 0 (none) for other lines.
pub fn irq_vector(irq: u8) -> u8 {
    let m = MACHINE.get();
    match irq {
        CONSOLE_IRQ => m.and_then(|m| m.uart).map_or(0, |(_, i)| u8::try_from(i).unwrap_or(0)),
        PERIODIC_IRQ => m.map_or(27, |m| m.timer.1 as u8),
        _ => 0,
    }
}

/// The kernel's line whose vector is `vector` (the inverse of
/// [`irq_vector`]).
pub fn irq_line(vector: u8) -> Option<u8> {
    [CONSOLE_IRQ, PERIODIC_IRQ].into_iter().find(|&l| irq_vector(l) == vector && vector != 0)
}

/// Unmasks the kernel's line `irq`: an SPI at the GIC (it goes to the
/// boot CPU); the periodic device at the timer of the CPU that runs it
/// (its PPI is enabled on every CPU); `false` for a line this machine
/// does not have.
pub fn route_irq(irq: u8) -> bool {
    match irq_vector(irq) {
        0 => false,
        _ if irq == PERIODIC_IRQ => {
            clock::periodic_mask(false);
            true
        }
        v => {
            gic::enable(v as u32, true);
            true
        }
    }
}

/// Masks the kernel's line `irq` again.
pub fn mask_irq(irq: u8) {
    match irq_vector(irq) {
        0 => {}
        _ if irq == PERIODIC_IRQ => clock::periodic_mask(true),
        v => gic::enable(v as u32, false),
    }
}

/// Turns the console UART's "transmitter ready" interrupt on or off. A
/// PL011 raises it when its FIFO drains past the trigger level, so
/// turning it on also sends a carriage return (invisible) to start one.
pub fn console_tx_interrupt(on: bool) {
    if let Some((base, _)) = MACHINE.get().and_then(|m| m.uart) {
        pl011::tx_interrupt(base, on);
    }
}

/// The remote `bpf()` agent's line and the IIO feed's. QEMU's `virt`
/// (like the Raspberry Pi 5's debug connector) has one PL011, the
/// console: the agent shares it ([`uart::SHARES_CONSOLE`]), its frames
/// written whole between console lines and found by their magic on the
/// host, which takes everything else as console text; the host sends
/// only frames. The IIO feed has no line on arm64 yet.
pub mod uart {
    /// A UART: the console's PL011, or none.
    #[derive(Clone, Copy, Debug)]
    pub struct Uart {
        /// Its interrupt line (the kernel's numbering).
        pub irq: u8,
        console: bool,
    }

    /// The remote `bpf()` agent's line: the console's PL011.
    pub const REMOTE: Uart = Uart { irq: super::CONSOLE_IRQ, console: true };
    /// The IIO host feed's line: none on arm64 yet.
    pub const FEED: Uart = Uart { irq: 0, console: false };
    /// The remote line's name, for messages.
    pub const REMOTE_NAME: &str = "the console UART";
    /// The feed line's name, for messages.
    pub const FEED_NAME: &str = "none";
    /// The remote line is the console's: the kernel writes the agent's
    /// frames with the console held, and starts the agent only when no
    /// tests share the line (`axiom.serve`).
    pub const SHARES_CONSOLE: bool = true;

    fn base(u: Uart) -> Option<u64> {
        if !u.console {
            return None;
        }
        super::MACHINE.get().and_then(|m| m.uart).map(|(b, _)| b)
    }

    impl Uart {
        /// Whether the UART is there.
        pub fn probe(self) -> bool {
            base(self).is_some()
        }
        /// Turns the "data received" (and receive timeout) interrupts on
        /// or off.
        pub fn rx_interrupt(self, on: bool) {
            if let Some(b) = base(self) {
                super::pl011::rx_interrupt(b, on);
            }
        }
        /// A received byte, if one waits.
        pub fn read(self) -> Option<u8> {
            base(self).and_then(super::pl011::read)
        }
        /// Sends a byte once the transmitter has room.
        pub fn write(self, b: u8) {
            if let Some(base) = base(self) {
                super::pl011::write_raw(base, b);
            }
        }
    }
}
