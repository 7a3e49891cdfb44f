//! The remote line, `/dev/ttyS1`: raw bytes to and from the host (x86-64:
//! the second UART; arm64: the console's, shared: see `hal::uart`).
//! The remote `bpf()` agent (`axbpf agent /dev/ttyS1`) reads its requests
//! here; QEMU connects the line to a Unix socket on the host (`cargo
//! xtask run`), a board to its UART.
//!
//! Received bytes are taken by the interrupt handler into a buffer that
//! readers drain. When the buffer is full the receive interrupt is turned
//! off, so the UART's FIFO fills and the sender waits (QEMU stops reading
//! its socket): nothing received is ever dropped. Writes wait for the
//! transmitter byte by byte. There is no line discipline: no echo, no
//! line editing, every byte as it is.

use crate::file::{File, POLLIN, POLLOUT, S_IFCHR, Stat};
use crate::wait::WaitQueue;
use alloc::collections::VecDeque;
use axiom_abi::uapi::errno::Errno;
use axiom_hal as hal;
use core::sync::atomic::{AtomicBool, Ordering};
use hal::uart::REMOTE as LINE;

/// Its path.
pub const PATH: &str = "/dev/ttyS1";
/// Bytes buffered before the receiver is paused.
const CAPACITY: usize = 64 * 1024;

static RX: spin::Mutex<VecDeque<u8>> = spin::Mutex::new(VecDeque::new());
static READERS: WaitQueue = WaitQueue::new();
static PRESENT: AtomicBool = AtomicBool::new(false);
/// The receive interrupt is off because the buffer is full.
static PAUSED: AtomicBool = AtomicBool::new(false);

/// Runs `f` on the buffer with interrupts off (the handler takes it too).
fn with_rx<R>(f: impl FnOnce(&mut VecDeque<u8>) -> R) -> R {
    hal::without_interrupts(|| f(&mut RX.lock()))
}

/// Finds the UART and starts receiving; whether it is there.
pub fn init() -> bool {
    if !LINE.probe() {
        return false;
    }
    hal::set_handler(hal::irq_vector(LINE.irq), on_interrupt);
    if !hal::route_irq(LINE.irq) {
        return false;
    }
    PRESENT.store(true, Ordering::Release);
    LINE.rx_interrupt(true);
    true
}

fn on_interrupt(_vector: u8) {
    let got = with_rx(|q| {
        let before = q.len();
        while q.len() < CAPACITY {
            match LINE.read() {
                Some(b) => q.push_back(b),
                None => break,
            }
        }
        if q.len() >= CAPACITY {
            PAUSED.store(true, Ordering::Relaxed);
            LINE.rx_interrupt(false);
        }
        q.len() > before
    });
    if got {
        READERS.wake_all();
        crate::poll::wake_soon();
    }
}

/// An open `/dev/ttyS1`.
pub struct SerialLine;

impl SerialLine {
    /// Opens the line: `ENXIO` when the machine has no second UART (as
    /// Linux answers for a port without hardware).
    pub fn open() -> Result<SerialLine, Errno> {
        if PRESENT.load(Ordering::Acquire) { Ok(SerialLine) } else { Err(Errno::ENXIO) }
    }
}

impl File for SerialLine {
    /// Waits for at least one byte; returns what is there, up to
    /// `buf.len()`.
    fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        if buf.is_empty() {
            return Ok(0);
        }
        READERS.wait_until(None, || with_rx(|q| !q.is_empty()));
        Ok(with_rx(|q| {
            let n = q.len().min(buf.len());
            for (d, s) in buf.iter_mut().zip(q.drain(..n)) {
                *d = s;
            }
            if q.len() < CAPACITY / 2 && PAUSED.swap(false, Ordering::Relaxed) {
                LINE.rx_interrupt(true);
            }
            n
        }))
    }
    fn write(&self, data: &[u8]) -> Result<usize, Errno> {
        let send = || {
            for &b in data {
                LINE.write(b);
            }
        };
        // On a line shared with the console, a write (the agent writes a
        // frame at a time) goes out whole, between console lines.
        if hal::uart::SHARES_CONSOLE {
            crate::console::held(send)
        } else {
            send()
        }
        Ok(data.len())
    }
    fn stat(&self) -> Stat {
        Stat { mode: S_IFCHR | 0o600, size: 0, ino: 65 }
    }
    fn poll(&self) -> Option<u32> {
        Some(POLLOUT | if with_rx(|q| q.is_empty()) { 0 } else { POLLIN })
    }
}
