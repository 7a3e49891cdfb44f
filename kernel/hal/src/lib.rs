//! Axiom's hardware layer. Every architecture folder exports the same
//! names: [`console`] (write bytes to the boot console), [`exit`] (end the
//! machine with a status the harness reads), [`cycles`] (the cycle
//! counter), [`cmdline`] and [`memory_map`] (what the boot loader said),
//! [`kernel_image`] (where the kernel lies), [`init`] (the CPU's tables:
//! exceptions are reported and end the machine; [`breakpoint`] returns),
//! [`init_heap`] (the kernel heap), [`entry!`] (the kernel's entry symbol),
//! the machine's processors and interrupt controller ([`discover`],
//! [`device_ranges`], [`start_interrupts`], [`set_handler`]), the clock
//! and tick ([`calibrate`], [`start_tick`]) and the boot entry that
//! calls the kernel's `kernel_main(boot_info)`; [`IrqMutex`] and
//! [`InterruptsOff`] for data interrupt handlers share. The
//! rest of the kernel is safe code on top of these.
#![no_std]

#[cfg(target_os = "none")]
extern crate alloc;

mod irq_lock;
pub use irq_lock::{InterruptsOff, IrqGuard, IrqMutex, without_interrupts};

#[cfg(target_os = "none")]
mod heap;
#[cfg(target_os = "none")]
mod placed;
#[cfg(target_os = "none")]
mod uaccess;
#[cfg(target_os = "none")]
pub use heap::{HEAP_SIZE, grow_heap, heap_size, heap_used, init_heap};
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
mod aarch64;
#[cfg(all(target_arch = "x86_64", target_os = "none"))]
mod x86_64;

/// Defines the symbol the boot code calls, `kernel_main(boot_info)`, as a
/// call of `$start`: the kernel itself stays free of unsafe attributes.
#[macro_export]
macro_rules! entry {
    ($start:path) => {
        /// The boot code's call into the kernel.
        #[allow(unsafe_code)]
        // SAFETY: the one symbol the boot code calls; nothing else is
        // exported under that name.
        #[unsafe(no_mangle)]
        pub extern "C" fn kernel_main(boot_info: u64) -> ! {
            $start(boot_info)
        }
    };
}
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub use aarch64::{
    ARCH, BOOT_PROTOCOL, CONSOLE_IRQ, CYCLE_COUNTER, Calibration, ELF_MACHINE, MAX_CPUS,
    PERIODIC_DEVICE, PERIODIC_IRQ, PHYS_OFFSET, Region, TICK_TIMER, TICK_VECTOR, UserFault,
    atomics_lse, breakpoint, breakpoints, calibrate, cmdline, console, console_tx_interrupt,
    cpu_count, cpu_index, cycles, device_ranges, disable_interrupts, discover, enable_interrupts,
    exit, fault, init, irq_line, irq_vector, kernel_base, kernel_image, mask_irq, memory_map,
    module, module_range, periodic_ack, periodic_irq, phys_to_virt, route_irq, set_handler,
    set_user_fault_handler, start_clock, start_interrupts, start_tick, stop_tick, tick_due,
    unhandled_interrupts, wait_for_interrupt,
};
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub use aarch64::{context, exec, paging, smp, uart, user};
#[cfg(all(target_arch = "x86_64", target_os = "none"))]
pub use x86_64::{
    ARCH, BOOT_PROTOCOL, CONSOLE_IRQ, CYCLE_COUNTER, Calibration, ELF_MACHINE, MAX_CPUS,
    PERIODIC_DEVICE, PERIODIC_IRQ, PHYS_OFFSET, Region, TICK_TIMER, TICK_VECTOR, UserFault,
    atomics_lse, breakpoint, breakpoints, calibrate, cmdline, console, console_tx_interrupt,
    cpu_count, cpu_index, cycles, device_ranges, disable_interrupts, discover, enable_interrupts,
    exit, fault, init, irq_line, irq_vector, kernel_base, kernel_image, mask_irq, memory_map,
    module, module_range, periodic_ack, periodic_irq, phys_to_virt, route_irq, set_handler,
    set_user_fault_handler, start_clock, start_interrupts, start_tick, stop_tick, tick_due,
    unhandled_interrupts, wait_for_interrupt,
};
#[cfg(all(target_arch = "x86_64", target_os = "none"))]
pub use x86_64::{context, exec, paging, smp, uart, user};

/// Stand-ins on hosts (where the kernel is only type-checked).
#[cfg(not(target_os = "none"))]
mod host {
    /// Writes bytes to the console (nothing on a host build).
    pub fn console(_bytes: &[u8]) {}
    /// Ends the machine (a host build only type-checks the kernel).
    pub fn exit(success: bool) -> ! {
        panic!("axiom-hal: exit({success}) on a host build")
    }
    /// The cycle counter (0 on a host build).
    pub fn cycles() -> u64 {
        0
    }
    /// The kernel command line (empty on a host build).
    pub fn cmdline(_boot_info: u64) -> &'static str {
        ""
    }
    /// A range of physical memory.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct Region {
        /// First byte.
        pub base: u64,
        /// Length in bytes.
        pub len: u64,
        /// RAM the kernel may use.
        pub usable: bool,
    }
    /// The memory map (none on a host build).
    pub fn memory_map(_boot_info: u64, _out: &mut [Region]) -> usize {
        0
    }
    /// The kernel image's range (none on a host build).
    pub fn kernel_image() -> (u64, u64) {
        (0, 0)
    }
    /// Sets up the CPU's tables (nothing on a host build).
    pub fn init() {}
    /// Raises a breakpoint (nothing on a host build).
    pub fn breakpoint() {}
    /// Breakpoints handled (none on a host build).
    pub fn breakpoints() -> u64 {
        0
    }
    /// Faults deliberately (nothing on a host build).
    pub fn fault() {}
    /// The most processors the kernel starts.
    pub const MAX_CPUS: usize = 8;
    /// The tick's interrupt vector.
    pub const TICK_VECTOR: u8 = 32;
    /// Clock calibration results.
    #[derive(Clone, Copy, Debug)]
    pub struct Calibration {
        /// Cycle-counter rate, kHz.
        pub tsc_khz: u64,
        /// Timer rate, kHz.
        pub lapic_khz: u64,
        /// The reference used.
        pub source: &'static str,
    }
    /// Calibrates the clock (nothing on a host build).
    pub fn calibrate() -> Option<Calibration> {
        None
    }
    /// This CPU's index (0 on a host build).
    pub fn cpu_index() -> usize {
        0
    }
    /// Processors (one on a host build).
    pub fn cpu_count() -> usize {
        1
    }
    /// Device registers to map (none on a host build).
    pub fn device_ranges() -> [(u64, u64); 2] {
        [(0, 0); 2]
    }
    /// Interrupts off; whether they were on (never, on a host build).
    pub fn disable_interrupts() -> bool {
        false
    }
    /// Interrupts on (nothing on a host build).
    pub fn enable_interrupts() {}
    /// Reads the machine description (one CPU on a host build).
    pub fn discover(_boot_info: u64) -> usize {
        1
    }
    /// Registers an interrupt handler (nothing on a host build).
    pub fn set_handler(_vector: u8, _handler: fn(u8)) {}
    /// Starts the interrupt controller (nothing on a host build).
    pub fn start_interrupts() {}
    /// Starts the tick (nothing on a host build).
    pub fn start_tick(_hz: u64, _cal: &Calibration, _handler: fn()) -> &'static str {
        "none"
    }
    /// Stops the tick (nothing on a host build).
    pub fn stop_tick() {}
    /// Interrupts without a handler (none on a host build).
    pub fn unhandled_interrupts() -> u64 {
        0
    }
    /// Waits for an interrupt (returns at once on a host build).
    pub fn wait_for_interrupt() {}
    /// Heap size (a host build uses the host's allocator).
    pub const HEAP_SIZE: usize = 0;
    /// Gives the heap its memory (nothing on a host build).
    pub fn init_heap() {}
    /// Heap bytes in use (none on a host build).
    pub fn heap_used() -> usize {
        0
    }
}
#[cfg(not(target_os = "none"))]
pub use host::{
    Calibration, HEAP_SIZE, MAX_CPUS, Region, TICK_VECTOR, breakpoint, breakpoints, calibrate,
    cmdline, console, cpu_count, cpu_index, cycles, device_ranges, disable_interrupts, discover,
    enable_interrupts, exit, fault, heap_used, init, init_heap, kernel_image, memory_map,
    set_handler, start_interrupts, start_tick, stop_tick, unhandled_interrupts, wait_for_interrupt,
};
