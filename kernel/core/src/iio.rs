//! Industrial I/O, modelled on Linux's: devices with typed channels,
//! scans taken by a timer trigger, a buffer that user space reads through
//! a character device (`/dev/iio:deviceN`, Linux's scan layout), and a
//! filter hook where a BPF program (`SEC("axiom/iio")`, attached with
//! `AXIOM_IIO` and the device's index) sees each scan in a `struct
//! axiom_iio_ctx`, may rewrite its values, and keeps or drops it.
//!
//! One device today, `axiom-accel`: a virtual accelerometer with a
//! temperature channel, scanned at 100 Hz by CPU 0's tick. Its samples
//! come from the host when the machine has the feed line (COM3; QEMU
//! connects it to a socket, `cargo xtask serve` streams a real sensor's
//! recording into it): one line of text per scan
//! ([`axiom_abi::feed`]), polled every tick, queued; a scan takes the
//! next queued sample, or holds the last one for up to a second when the
//! host falls behind (as a sensor's data register does). Without the
//! feed, the signal is synthesised ([`synthesized`]): gravity on z, a 1 Hz
//! sway on x, a knock on x every second, a little noise, a slowly
//! drifting temperature. Partial: no triggers other than the timer, no
//! channel enabling (every scan has every channel), no sysfs attributes
//! beyond `name`, `sampling_frequency` and the scan elements' types and
//! indices.

use crate::file::{File, POLLIN, S_IFCHR, Stat};
use crate::wait::WaitQueue;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use axiom_abi::feed::{Line, LineReader};
use axiom_abi::hooks::{IIO_CHANNELS, IIO_SCAN_BYTES, IioCtx, hook_index, iio_verdict, prog_type};
use axiom_abi::uapi::errno::Errno;
use axiom_bpf::hook::HookSlot;
use axiom_hal as hal;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// IIO devices.
pub const DEVICES: usize = 1;
/// Ticks between scans (100 Hz at the 1 kHz tick).
pub const SCAN_TICKS: u64 = 10;
/// Scans the buffer holds before the oldest is overwritten.
const BUFFER_SCANS: usize = 512;
/// The device's name (`/sys/bus/iio/devices/iio:device0/name`).
pub const NAME: &str = "axiom-accel";
/// Its channels, in scan order: Linux's names.
pub const CHANNELS: [&str; IIO_CHANNELS] = ["accel_x", "accel_y", "accel_z", "temp"];

/// Each device's filter hook.
pub static SLOTS: [HookSlot; DEVICES] = [const { HookSlot::new("iio", prog_type::AXIOM_IIO) }];

/// A scan as the kernel keeps it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scan {
    /// Its number.
    pub seq: u64,
    /// When it was taken, ns since boot.
    pub timestamp_ns: u64,
    /// The values, after the filter.
    pub values: [i32; IIO_CHANNELS],
}

impl Scan {
    /// Linux's buffer layout: four `le:s32`, then the `le:s64` timestamp.
    pub fn to_bytes(self) -> [u8; IIO_SCAN_BYTES] {
        let mut out = [0u8; IIO_SCAN_BYTES];
        for (i, v) in self.values.iter().enumerate() {
            out[4 * i..4 * i + 4].copy_from_slice(&v.to_le_bytes());
        }
        out[16..].copy_from_slice(&self.timestamp_ns.to_le_bytes());
        out
    }
}

static BUFFER: spin::Mutex<VecDeque<Scan>> = spin::Mutex::new(VecDeque::new());
static READERS: WaitQueue = WaitQueue::new();
static SEQ: AtomicU64 = AtomicU64::new(0);
/// Scans kept, dropped by the filter, and overwritten unread.
static KEPT: AtomicU64 = AtomicU64::new(0);
static DROPPED: AtomicU64 = AtomicU64::new(0);
static OVERRUN: AtomicU64 = AtomicU64::new(0);

fn with_buffer<R>(f: impl FnOnce(&mut VecDeque<Scan>) -> R) -> R {
    hal::without_interrupts(|| f(&mut BUFFER.lock()))
}

/// Scans taken, kept and dropped so far. A scan being filtered on
/// another CPU (or interrupted mid-read) is counted as taken but not yet
/// as kept or dropped; [`take_counted`] reads a consistent pair.
pub fn counts() -> (u64, u64, u64) {
    with_buffer(|_| {
        (SEQ.load(Ordering::Relaxed), KEPT.load(Ordering::Relaxed), DROPPED.load(Ordering::Relaxed))
    })
}

/// Takes up to `max` buffered scans, with the scans kept and dropped so
/// far read under the same lock: every scan counted as kept before this
/// call is either in the returned list or was taken earlier.
pub fn take_counted(max: usize) -> (Vec<Scan>, u64, u64) {
    with_buffer(|b| {
        let n = b.len().min(max);
        (b.drain(..n).collect(), KEPT.load(Ordering::Relaxed), DROPPED.load(Ordering::Relaxed))
    })
}

/// A deterministic noise in -20..=20 for scan `seq` and channel `k`.
fn noise(seq: u64, k: u64) -> i32 {
    let mut x = seq.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ k.wrapping_mul(0xd1b5_4a32_d192_ed03);
    x ^= x >> 29;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 32;
    (x % 41) as i32 - 20
}

/// The synthesised scan `seq` (accelerations in milli-g, temperature in
/// milli-degrees): x a triangle wave of ±200 with a 1 s period and a
/// knock of +1500 for its first three scans of each second, y around 0, z around 1000
/// (gravity), each with noise of ±20; the temperature 25 °C rising by
/// 1 milli-degree every 10 scans, wrapping after 5,000.
pub fn synthesized(seq: u64) -> [i32; IIO_CHANNELS] {
    let phase = (seq % 100) as i32;
    let sway = if phase < 50 { phase * 8 - 200 } else { 600 - phase * 8 };
    let knock = if seq % 100 < 3 { 1500 } else { 0 };
    [
        sway + knock + noise(seq, 1),
        noise(seq, 2),
        1000 + noise(seq, 3),
        25_000 + ((seq / 10) % 500) as i32,
    ]
}

/// Host samples queued before the feed line is left unread (its sender
/// then waits: nothing is dropped).
const FEED_QUEUE: usize = 64;
/// Scans that repeat the last host sample when none waits, before the
/// device falls back to its synthesised signal.
const HOLD_SCANS: u64 = 100;

/// The host feed: the line's reader, samples waiting, the last one used.
struct Feed {
    reader: LineReader,
    queue: VecDeque<[i32; IIO_CHANNELS]>,
    last: Option<([i32; IIO_CHANNELS], u64)>,
}

/// Touched by CPU 0's tick, and once at boot with interrupts off.
static FEED: spin::Mutex<Feed> =
    spin::Mutex::new(Feed { reader: LineReader::new(), queue: VecDeque::new(), last: None });
static FEED_PRESENT: AtomicBool = AtomicBool::new(false);
/// Samples received, lines refused, scans from a new host sample, scans
/// that held the last one.
static FEED_RECEIVED: AtomicU64 = AtomicU64::new(0);
static FEED_REFUSED: AtomicU64 = AtomicU64::new(0);
static FEED_USED: AtomicU64 = AtomicU64::new(0);
static FEED_HELD: AtomicU64 = AtomicU64::new(0);

/// The host feed's counters.
#[derive(Clone, Copy, Debug, Default)]
pub struct FeedCounts {
    /// Whether the machine has the feed line.
    pub present: bool,
    /// Samples received.
    pub received: u64,
    /// Lines refused (malformed).
    pub refused: u64,
    /// Scans that took a new host sample.
    pub used: u64,
    /// Scans that repeated the last one.
    pub held: u64,
}

/// The host feed's counters so far.
pub fn feed_counts() -> FeedCounts {
    FeedCounts {
        present: FEED_PRESENT.load(Ordering::Relaxed),
        received: FEED_RECEIVED.load(Ordering::Relaxed),
        refused: FEED_REFUSED.load(Ordering::Relaxed),
        used: FEED_USED.load(Ordering::Relaxed),
        held: FEED_HELD.load(Ordering::Relaxed),
    }
}

/// Finds the feed line (at boot); whether the machine has it.
pub fn init() -> bool {
    let present = hal::uart::FEED.probe();
    // The host may already be sending: start at the next line. With
    // interrupts off: the tick takes this lock.
    hal::without_interrupts(|| FEED.lock().reader = LineReader::mid_stream());
    FEED_PRESENT.store(present, Ordering::Relaxed);
    present
}

/// Reads what the feed line has, while the queue has room.
fn poll_feed() {
    if !FEED_PRESENT.load(Ordering::Relaxed) {
        return;
    }
    let mut feed = FEED.lock();
    while feed.queue.len() < FEED_QUEUE {
        let Some(byte) = hal::uart::FEED.read() else { break };
        match feed.reader.push(byte) {
            Some(Ok(Line::Sample(values))) => {
                feed.queue.push_back(values);
                FEED_RECEIVED.fetch_add(1, Ordering::Relaxed);
            }
            Some(Err(_)) => {
                FEED_REFUSED.fetch_add(1, Ordering::Relaxed);
            }
            Some(Ok(Line::Skip)) | None => {}
        }
    }
}

/// Scan `seq`'s values: the next host sample, the last one held, or the
/// synthesised signal.
fn sample(seq: u64) -> [i32; IIO_CHANNELS] {
    if !FEED_PRESENT.load(Ordering::Relaxed) {
        return synthesized(seq);
    }
    let mut feed = FEED.lock();
    if let Some(values) = feed.queue.pop_front() {
        feed.last = Some((values, seq));
        FEED_USED.fetch_add(1, Ordering::Relaxed);
        return values;
    }
    match feed.last {
        Some((values, at)) if seq - at <= HOLD_SCANS => {
            FEED_HELD.fetch_add(1, Ordering::Relaxed);
            values
        }
        _ => synthesized(seq),
    }
}

/// CPU 0's tick: the feed polled, a scan every [`SCAN_TICKS`].
pub fn tick(tick: u64) {
    poll_feed();
    if tick.is_multiple_of(SCAN_TICKS) {
        scan(0);
    }
}

/// Takes a scan of `device`, runs its filter, buffers what is kept.
fn scan(device: usize) {
    let ns = crate::time::cycles_to_ns;
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let mut ctx = IioCtx {
        device: device as u32,
        channels: IIO_CHANNELS as u32,
        timestamp_ns: ns(hal::cycles()),
        seq,
        values: sample(seq),
    };
    let event = ctx.timestamp_ns;
    let verdict =
        match SLOTS[device].dispatch(&mut ctx as *mut IioCtx as u64, event, || ns(hal::cycles())) {
            Some(d) => {
                crate::hook_trace::trace(hook_index::IIO, device as u32, event, &d);
                d.r0
            }
            None => iio_verdict::KEEP,
        };
    if verdict == iio_verdict::DROP {
        with_buffer(|_| DROPPED.fetch_add(1, Ordering::Relaxed));
        return;
    }
    let scan = Scan { seq, timestamp_ns: ctx.timestamp_ns, values: ctx.values };
    // Counted under the buffer's lock, with the push, for take_counted.
    with_buffer(|b| {
        KEPT.fetch_add(1, Ordering::Relaxed);
        if b.len() >= BUFFER_SCANS {
            b.pop_front();
            OVERRUN.fetch_add(1, Ordering::Relaxed);
        }
        b.push_back(scan);
    });
    READERS.wake_all();
    crate::poll::wake_soon();
}

/// Takes up to `max` buffered scans (oldest first).
pub fn take(max: usize) -> Vec<Scan> {
    with_buffer(|b| {
        let n = b.len().min(max);
        b.drain(..n).collect()
    })
}

/// The sysfs attribute at `path`, if it is one of the device's.
pub fn sysfs(path: &str) -> Option<alloc::string::String> {
    let attr = path.strip_prefix("/sys/bus/iio/devices/iio:device0/")?;
    let text = match attr {
        "name" => alloc::format!("{NAME}\n"),
        "sampling_frequency" => alloc::format!("{}\n", crate::time::HZ / SCAN_TICKS),
        "buffer/enable" => "1\n".into(),
        "scan_elements/in_timestamp_type" => "le:s64/64>>0\n".into(),
        "scan_elements/in_timestamp_index" => alloc::format!("{IIO_CHANNELS}\n"),
        other => {
            let el = other.strip_prefix("scan_elements/in_")?;
            let (channel, what) = el.rsplit_once('_')?;
            let index = CHANNELS.iter().position(|&c| c == channel)?;
            match what {
                "type" => "le:s32/32>>0\n".into(),
                "index" => alloc::format!("{index}\n"),
                "en" => "1\n".into(),
                _ => return None,
            }
        }
    };
    Some(text)
}

/// Its character device's path.
pub const PATH: &str = "/dev/iio:device0";

/// An open `/dev/iio:device0`: reads take whole scans from the buffer.
pub struct IioBuffer;

impl File for IioBuffer {
    /// Waits for a scan, then returns as many whole scans as fit (`EINVAL`
    /// for a buffer smaller than one, as Linux answers).
    fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        if buf.len() < IIO_SCAN_BYTES {
            return Err(Errno::EINVAL);
        }
        READERS.wait_until(None, || with_buffer(|b| !b.is_empty()));
        let scans = take(buf.len() / IIO_SCAN_BYTES);
        for (chunk, s) in buf.chunks_exact_mut(IIO_SCAN_BYTES).zip(&scans) {
            chunk.copy_from_slice(&s.to_bytes());
        }
        Ok(scans.len() * IIO_SCAN_BYTES)
    }
    fn write(&self, _data: &[u8]) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }
    fn stat(&self) -> Stat {
        Stat { mode: S_IFCHR | 0o600, size: 0, ino: 70 }
    }
    fn poll(&self) -> Option<u32> {
        Some(if with_buffer(|b| b.is_empty()) { 0 } else { POLLIN })
    }
}
