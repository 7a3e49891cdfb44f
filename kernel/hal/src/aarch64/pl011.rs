//! The PL011 UART's registers (the console): data (0x00), flags (0x18:
//! bit 5 transmit FIFO full), interrupt mask (0x38: bit 5 transmit) and
//! clear (0x44). The firmware or QEMU has set its baud rate; the kernel
//! only writes. Registers are reached through the physical map, where
//! the kernel maps them as device memory.
#![allow(unsafe_code)]

const DR: u64 = 0x00;
const FR: u64 = 0x18;
const IMSC: u64 = 0x38;
const ICR: u64 = 0x44;
const TXFF: u32 = 1 << 5;
const TXIM: u32 = 1 << 5;
const RXFE: u32 = 1 << 4;
/// Receive and receive-timeout interrupts.
const RXIM: u32 = 1 << 4 | 1 << 6;

fn reg(base: u64, offset: u64) -> *mut u32 {
    super::phys_to_virt(base + offset) as *mut u32
}

fn read_reg(base: u64, offset: u64) -> u32 {
    // SAFETY: `base` is the console PL011's from the device tree, mapped
    // as device memory (by the boot code's early mapping, then the
    // kernel's tables); its registers are 32 bits wide.
    unsafe { reg(base, offset).read_volatile() }
}

fn write_reg(base: u64, offset: u64, value: u32) {
    // SAFETY: as in `read_reg`.
    unsafe { reg(base, offset).write_volatile(value) }
}

fn put(base: u64, b: u8) {
    while read_reg(base, FR) & TXFF != 0 {
        core::hint::spin_loop();
    }
    write_reg(base, DR, b as u32);
}

/// Writes `bytes`, `\n` as `\r\n`, waiting for room in the FIFO.
pub fn write(base: u64, bytes: &[u8]) {
    if !super::paging::early_device(base) {
        return;
    }
    for &b in bytes {
        if b == b'\n' {
            put(base, b'\r');
        }
        put(base, b);
    }
}

/// Sends one byte as it is.
pub fn write_raw(base: u64, b: u8) {
    put(base, b);
}

/// A received byte, if one waits.
pub fn read(base: u64) -> Option<u8> {
    (read_reg(base, FR) & RXFE == 0).then(|| read_reg(base, DR) as u8)
}

/// Turns the receive interrupts on or off.
pub fn rx_interrupt(base: u64, on: bool) {
    let mask = read_reg(base, IMSC);
    write_reg(base, IMSC, if on { mask | RXIM } else { mask & !RXIM });
}

/// Turns the transmit interrupt on (sending a carriage return so that
/// the FIFO drains past its trigger level) or off (and clears it).
pub fn tx_interrupt(base: u64, on: bool) {
    let mask = read_reg(base, IMSC);
    if on {
        write_reg(base, IMSC, mask | TXIM);
        put(base, b'\r');
    } else {
        write_reg(base, IMSC, mask & !TXIM);
        write_reg(base, ICR, TXIM);
    }
}
