//! The helpers' native code, which JIT code calls with five arguments and
//! one result, the same in the kernel and in a host process: what differs
//! between them (the clock, the CPU, waking readers, where traces go) is
//! asked of [`crate::platform`]. [`crate::callable`] lists them with their
//! prototypes. The only unsafe code here turns the addresses a verified
//! program passes into references.
//!
//! What the verifier guarantees, and this module relies on: a map
//! argument is the address of a [`MapObject`] the program's `lddw` named,
//! which the program object keeps alive while it can run; a key or value
//! pointer covers the map's key or value size; a memory argument covers
//! its size argument; a context argument is the context the program was
//! given, of its type's layout; a ring-buffer record was reserved from
//! that map and not yet released.
#![allow(unsafe_code)]

use crate::ctx::SkbCtx;
use crate::object::MapObject;
use crate::platform;
use axiom_abi::uapi::errno::Errno;
use core::sync::atomic::{AtomicU64, Ordering};

fn map<'a>(addr: u64) -> &'a MapObject {
    // SAFETY: see the module comment: a live `MapObject`'s address, held
    // by the running program's object.
    unsafe { &*(addr as *const MapObject) }
}

fn bytes<'a>(addr: u64, len: usize) -> &'a [u8] {
    // SAFETY: see the module comment: the verifier checked that `addr`
    // covers `len` readable bytes (stack, map value or context memory).
    unsafe { core::slice::from_raw_parts(addr as *const u8, len) }
}

fn bytes_mut<'a>(addr: u64, len: usize) -> &'a mut [u8] {
    // SAFETY: see the module comment: the verifier checked that `addr`
    // covers `len` writable bytes (the program's stack or a map value),
    // which nothing else references during the call.
    unsafe { core::slice::from_raw_parts_mut(addr as *mut u8, len) }
}

fn skb<'a>(ctx: u64) -> (&'a SkbCtx, &'a [u8]) {
    // SAFETY: see the module comment: only socket filters may pass their
    // context here, and theirs is an `SkbCtx` whose `data` holds `len`
    // bytes for the run.
    unsafe {
        let skb = &*(ctx as *const SkbCtx);
        (skb, core::slice::from_raw_parts(skb.data, skb.len as usize))
    }
}

fn neg(e: Errno) -> u64 {
    (-(e.0 as i64)) as u64
}

/// `bpf_map_lookup_elem(map, key)`: the value's address (stable for the
/// map's life), or 0.
pub extern "C" fn map_lookup_elem(m: u64, key: u64, _: u64, _: u64, _: u64) -> u64 {
    let mut guard = map(m).map.lock();
    let k = bytes(key, guard.spec.key_size as usize);
    guard.lookup(k).unwrap_or(0)
}

/// `bpf_map_update_elem(map, key, value, flags)`.
pub extern "C" fn map_update_elem(m: u64, key: u64, value: u64, flags: u64, _: u64) -> u64 {
    let mut guard = map(m).map.lock();
    let (ks, vs) = (guard.spec.key_size as usize, guard.spec.value_size as usize);
    guard.update(bytes(key, ks), bytes(value, vs), flags).map_or_else(neg, |()| 0)
}

/// `bpf_map_delete_elem(map, key)`.
pub extern "C" fn map_delete_elem(m: u64, key: u64, _: u64, _: u64, _: u64) -> u64 {
    let mut guard = map(m).map.lock();
    let ks = guard.spec.key_size as usize;
    guard.delete(bytes(key, ks)).map_or_else(neg, |()| 0)
}

/// `bpf_map_push_elem(map, value, flags)`.
pub extern "C" fn map_push_elem(m: u64, value: u64, flags: u64, _: u64, _: u64) -> u64 {
    let mut guard = map(m).map.lock();
    let vs = guard.spec.value_size as usize;
    guard.push(bytes(value, vs), flags).map_or_else(neg, |()| 0)
}

fn take(m: u64, value: u64, pop: bool) -> u64 {
    let mut guard = map(m).map.lock();
    let vs = guard.spec.value_size as usize;
    if guard.take_into(pop, bytes_mut(value, vs)) { 0 } else { neg(Errno::ENOENT) }
}

/// `bpf_map_pop_elem(map, value)`.
pub extern "C" fn map_pop_elem(m: u64, value: u64, _: u64, _: u64, _: u64) -> u64 {
    take(m, value, true)
}

/// `bpf_map_peek_elem(map, value)`.
pub extern "C" fn map_peek_elem(m: u64, value: u64, _: u64, _: u64, _: u64) -> u64 {
    take(m, value, false)
}

/// `bpf_ktime_get_ns()` and `bpf_ktime_get_boot_ns()`: the platform's
/// monotonic clock (Axiom does not suspend, so the two agree).
pub extern "C" fn ktime_get_ns(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    platform::now_ns()
}

/// `bpf_get_smp_processor_id()`.
pub extern "C" fn get_smp_processor_id(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    platform::cpu_id() as u64
}

/// `bpf_get_prandom_u32()`: a 32-bit pseudo-random number (SplitMix64 over
/// one shared counter, lock-free from any CPU or interrupt; not for
/// cryptography, as Linux's is not either).
pub extern "C" fn get_prandom_u32(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    static STATE: AtomicU64 = AtomicU64::new(0x243f_6a88_85a3_08d3);
    let mut z = STATE.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed) ^ platform::now_ns();
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) & 0xffff_ffff
}

/// `bpf_trace_printk(fmt, size, a, b, c)`: the formatted message to the
/// platform's trace output; its length, or `-EINVAL` for a format Linux
/// refuses or Axiom does not support (see [`crate::printk`]).
pub extern "C" fn trace_printk(fmt: u64, size: u64, a: u64, b: u64, c: u64) -> u64 {
    match crate::printk::format(bytes(fmt, size as usize), [a, b, c]) {
        Some(text) => {
            platform::trace(&text);
            text.len() as u64
        }
        None => neg(Errno::EINVAL),
    }
}

/// `bpf_skb_load_bytes(skb, offset, to, len)`: packet bytes after the
/// Ethernet header, `-EFAULT` past the packet's end.
pub extern "C" fn skb_load_bytes(ctx: u64, off: u64, to: u64, len: u64, _: u64) -> u64 {
    let (_, data) = skb(ctx);
    let (off, len) = (off as u32 as usize, len as usize);
    match off.checked_add(len).and_then(|end| data.get(off..end)) {
        Some(from) => {
            bytes_mut(to, len).copy_from_slice(from);
            0
        }
        None => {
            // Linux clears the destination when it fails.
            bytes_mut(to, len).fill(0);
            neg(Errno::EFAULT)
        }
    }
}

/// `bpf_ringbuf_output(ringbuf, data, size, flags)`.
pub extern "C" fn ringbuf_output(m: u64, data: u64, size: u64, flags: u64, _: u64) -> u64 {
    let r = map(m).map.lock().output(bytes(data, size as usize), flags);
    match r {
        Ok(wake) => {
            platform::wake_readers(wake);
            0
        }
        Err(e) => neg(e),
    }
}

/// `bpf_ringbuf_reserve(ringbuf, size, flags)`.
pub extern "C" fn ringbuf_reserve(m: u64, size: u64, _: u64, _: u64, _: u64) -> u64 {
    map(m).map.lock().reserve(size).unwrap_or(0)
}

/// `bpf_ringbuf_submit(data, flags)`.
pub extern "C" fn ringbuf_submit(rec: u64, flags: u64, _: u64, _: u64, _: u64) -> u64 {
    platform::wake_readers(crate::ring::commit(rec, false, flags));
    0
}

/// `bpf_ringbuf_discard(data, flags)`.
pub extern "C" fn ringbuf_discard(rec: u64, flags: u64, _: u64, _: u64, _: u64) -> u64 {
    platform::wake_readers(crate::ring::commit(rec, true, flags));
    0
}

/// `bpf_ringbuf_query(ringbuf, flags)`.
pub extern "C" fn ringbuf_query(m: u64, flags: u64, _: u64, _: u64, _: u64) -> u64 {
    map(m).map.lock().query(flags)
}
