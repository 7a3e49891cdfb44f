//! x86-64: the PVH entry (32-bit protected mode to long mode with an
//! identity map of the first GiB), the 16550 serial console on COM1, and
//! QEMU's `isa-debug-exit` device. The unsafe code of this architecture is
//! in [`boot`] (the entry), [`cpu`] (GDT, TSS, IDT, exception stubs) and
//! [`port`] (I/O instructions).

mod boot;
mod cpu;
pub mod paging;
mod port;

pub use boot::{Region, cmdline, kernel_image, memory_map};
pub use cpu::{breakpoint, breakpoints, fault, init};

/// Writes bytes to COM1 (the 16550 at 0x3f8), `\n` as `\r\n`.
pub fn console(bytes: &[u8]) {
    for &b in bytes {
        if b == b'\n' {
            port::serial_write(b'\r');
        }
        port::serial_write(b);
    }
}

/// Ends QEMU through `isa-debug-exit` (port 0xf4): the process exits with
/// status 1 (success) or 3 (failure); `(value << 1) | 1` as QEMU reports
/// it. Halts if the device is missing.
pub fn exit(success: bool) -> ! {
    port::outb(0xf4, if success { 0 } else { 1 });
    loop {
        port::halt();
    }
}

/// The time-stamp counter.
pub fn cycles() -> u64 {
    port::rdtsc()
}
