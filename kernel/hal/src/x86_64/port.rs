//! Port I/O, the time-stamp counter and `hlt`.
#![allow(unsafe_code)]

use core::arch::asm;

/// `out dx, al`.
pub fn outb(port: u16, value: u8) {
    // SAFETY: writes one byte to an I/O port; the ports used (the UARTs,
    // the PICs, the CMOS clock, the debug-exit device) have no memory
    // side effects.
    unsafe {
        asm!("out dx, al", in("dx") port, in("al") value, options(nomem, nostack, preserves_flags))
    };
}

/// `in al, dx`.
pub fn inb(port: u16) -> u8 {
    let v: u8;
    // SAFETY: reads one byte from an I/O port (a UART's or the CMOS
    // clock's register); no memory is touched.
    unsafe {
        asm!("in al, dx", in("dx") port, out("al") v, options(nomem, nostack, preserves_flags))
    };
    v
}

/// Sends a byte on COM1 once its transmitter is empty.
pub fn serial_write(b: u8) {
    const COM1: u16 = 0x3f8;
    while inb(COM1 + 5) & 0x20 == 0 {}
    outb(COM1, b);
}

/// `rdtsc`.
pub fn rdtsc() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: reads the time-stamp counter; no memory is touched.
    unsafe {
        asm!("rdtsc", out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags))
    };
    (hi as u64) << 32 | lo as u64
}

/// `hlt`.
pub fn halt() {
    // SAFETY: waits for an interrupt; nothing else changes.
    unsafe { asm!("hlt", options(nomem, nostack, preserves_flags)) };
}
