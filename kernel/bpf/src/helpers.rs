//! The BPF helpers of the in-process runtime, as native functions JIT code
//! calls with the System V / AAPCS64 convention. The addresses a verified
//! program passes become references in `raw`.
//!
//! What the verifier guarantees (and `raw` relies on): a map
//! argument is the address of a live [`Map`](crate::maps::Map) of the right kind; a key or
//! value pointer covers the map's key or value size; a memory argument
//! covers its size argument; a ring-buffer record was reserved from that
//! map and not yet released.

use crate::raw::{bytes_at as bytes, bytes_mut_at as bytes_mut, map_at as map, skb_at, skb_data};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

pub use crate::prog::SkbCtx;

fn neg(e: axiom_abi::uapi::errno::Errno) -> u64 {
    (-(e.0 as i64)) as u64
}

/// `bpf_map_lookup_elem(map, key)`.
pub extern "C" fn map_lookup_elem(m: u64, key: u64, _: u64, _: u64, _: u64) -> u64 {
    let m = map(m);
    let k = bytes(key, m.spec.key_size as usize);
    m.lookup(k).unwrap_or(0)
}

/// `bpf_map_update_elem(map, key, value, flags)`.
pub extern "C" fn map_update_elem(m: u64, key: u64, value: u64, flags: u64, _: u64) -> u64 {
    let m = map(m);
    let (k, v) = (bytes(key, m.spec.key_size as usize), bytes(value, m.spec.value_size as usize));
    m.update(k, v, flags).map_or_else(neg, |()| 0)
}

/// `bpf_map_delete_elem(map, key)`.
pub extern "C" fn map_delete_elem(m: u64, key: u64, _: u64, _: u64, _: u64) -> u64 {
    let m = map(m);
    let k = bytes(key, m.spec.key_size as usize);
    m.delete(k).map_or_else(neg, |()| 0)
}

/// `bpf_map_push_elem(map, value, flags)`.
pub extern "C" fn map_push_elem(m: u64, value: u64, flags: u64, _: u64, _: u64) -> u64 {
    let m = map(m);
    let v = bytes(value, m.spec.value_size as usize);
    m.push(v, flags).map_or_else(neg, |()| 0)
}

fn take(m: u64, value: u64, pop: bool) -> u64 {
    let m = map(m);
    let vs = m.spec.value_size as usize;
    if m.take_into(pop, bytes_mut(value, vs)) {
        0
    } else {
        neg(axiom_abi::uapi::errno::Errno::ENOENT)
    }
}

/// `bpf_map_pop_elem(map, value)`.
pub extern "C" fn map_pop_elem(m: u64, value: u64, _: u64, _: u64, _: u64) -> u64 {
    take(m, value, true)
}

/// `bpf_map_peek_elem(map, value)`.
pub extern "C" fn map_peek_elem(m: u64, value: u64, _: u64, _: u64, _: u64) -> u64 {
    take(m, value, false)
}

fn clock() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// `bpf_ktime_get_ns()` and `bpf_ktime_get_boot_ns()`: a monotonic clock.
pub extern "C" fn ktime_get_ns(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    clock()
}

/// `bpf_get_prandom_u32()`.
pub extern "C" fn get_prandom_u32(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    static STATE: AtomicU64 = AtomicU64::new(0x9e37_79b9_7f4a_7c15);
    let mut x = STATE.load(Ordering::Relaxed);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    STATE.store(x, Ordering::Relaxed);
    x & 0xffff_ffff
}

/// `bpf_get_smp_processor_id()`: the runtime runs programs on one CPU.
pub extern "C" fn get_smp_processor_id(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    0
}

/// `bpf_trace_printk(fmt, size, ...)`: the format is not expanded; returns
/// the bytes it would write.
pub extern "C" fn trace_printk(_fmt: u64, size: u64, _: u64, _: u64, _: u64) -> u64 {
    size
}

/// `bpf_skb_load_bytes(skb, offset, to, len)`.
pub extern "C" fn skb_load_bytes(ctx: u64, off: u64, to: u64, len: u64, _: u64) -> u64 {
    let skb = skb_at(ctx);
    let (off, len) = (off as u32 as usize, len as usize);
    if off.checked_add(len).is_none_or(|end| end as u64 > skb.len) {
        return neg(axiom_abi::uapi::errno::Errno::EFAULT);
    }
    let data = skb_data(skb);
    bytes_mut(to, len).copy_from_slice(&data[off..off + len]);
    0
}

/// `bpf_ringbuf_output(ringbuf, data, size, flags)`.
pub extern "C" fn ringbuf_output(m: u64, data: u64, size: u64, flags: u64, _: u64) -> u64 {
    map(m).output(bytes(data, size as usize), flags).map_or_else(neg, |_| 0)
}

/// `bpf_ringbuf_reserve(ringbuf, size, flags)`.
pub extern "C" fn ringbuf_reserve(m: u64, size: u64, _: u64, _: u64, _: u64) -> u64 {
    map(m).reserve(size).unwrap_or(0)
}

/// `bpf_ringbuf_submit(data, flags)`.
pub extern "C" fn ringbuf_submit(rec: u64, flags: u64, _: u64, _: u64, _: u64) -> u64 {
    crate::ring::commit(rec, false, flags);
    0
}

/// `bpf_ringbuf_discard(data, flags)`.
pub extern "C" fn ringbuf_discard(rec: u64, flags: u64, _: u64, _: u64, _: u64) -> u64 {
    crate::ring::commit(rec, true, flags);
    0
}

/// `bpf_ringbuf_query(ringbuf, flags)`.
pub extern "C" fn ringbuf_query(m: u64, flags: u64, _: u64, _: u64, _: u64) -> u64 {
    map(m).query(flags)
}

/// A helper function's address, by Linux's helper id.
pub fn address(id: i32) -> Option<u64> {
    type Helper = extern "C" fn(u64, u64, u64, u64, u64) -> u64;
    let f: Helper = match id {
        1 => map_lookup_elem,
        2 => map_update_elem,
        3 => map_delete_elem,
        5 | 125 => ktime_get_ns,
        6 => trace_printk,
        7 => get_prandom_u32,
        8 => get_smp_processor_id,
        26 => skb_load_bytes,
        87 => map_push_elem,
        88 => map_pop_elem,
        89 => map_peek_elem,
        130 => ringbuf_output,
        131 => ringbuf_reserve,
        132 => ringbuf_submit,
        133 => ringbuf_discard,
        134 => ringbuf_query,
        _ => return None,
    };
    Some(f as usize as u64)
}
