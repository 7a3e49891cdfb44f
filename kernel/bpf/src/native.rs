//! The map helpers as native functions for JIT code (System V calling
//! convention), for any platform whose maps are [`MapObject`]s: the
//! kernel's. The only unsafe code here turns the addresses a verified
//! program passes into references.
//!
//! What the verifier guarantees, and this module relies on: a map
//! argument is the address of a [`MapObject`] the program's `lddw` named,
//! which the program object keeps alive while it can run; a key or value
//! pointer covers the map's key or value size.
#![allow(unsafe_code)]

use crate::command::MapObject;
use axiom_abi::uapi::errno::Errno;

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

fn neg(e: Errno) -> u64 {
    (-(e.0 as i64)) as u64
}

/// `bpf_map_lookup_elem(map, key)`: the value's address (stable for the
/// map's life), or 0.
pub extern "C" fn map_lookup_elem(m: u64, key: u64, _: u64, _: u64, _: u64) -> u64 {
    let m = map(m);
    let mut guard = m.map.lock();
    let k = bytes(key, guard.spec.key_size as usize);
    guard.lookup(k).unwrap_or(0)
}

/// `bpf_map_update_elem(map, key, value, flags)`.
pub extern "C" fn map_update_elem(m: u64, key: u64, value: u64, flags: u64, _: u64) -> u64 {
    let m = map(m);
    let mut guard = m.map.lock();
    let (ks, vs) = (guard.spec.key_size as usize, guard.spec.value_size as usize);
    guard.update(bytes(key, ks), bytes(value, vs), flags).map_or_else(neg, |()| 0)
}

/// `bpf_map_delete_elem(map, key)`.
pub extern "C" fn map_delete_elem(m: u64, key: u64, _: u64, _: u64, _: u64) -> u64 {
    let m = map(m);
    let mut guard = m.map.lock();
    let ks = guard.spec.key_size as usize;
    guard.delete(bytes(key, ks)).map_or_else(neg, |()| 0)
}

/// `bpf_map_push_elem(map, value, flags)`.
pub extern "C" fn map_push_elem(m: u64, value: u64, flags: u64, _: u64, _: u64) -> u64 {
    let m = map(m);
    let mut guard = m.map.lock();
    let vs = guard.spec.value_size as usize;
    guard.push(bytes(value, vs), flags).map_or_else(neg, |()| 0)
}

fn take(m: u64, value: u64, pop: bool) -> u64 {
    let m = map(m);
    let mut guard = m.map.lock();
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

/// `bpf_ringbuf_output(ringbuf, data, size, flags)`: the result for the
/// program, and whether readers should be woken.
pub fn ringbuf_output(m: u64, data: u64, size: u64, flags: u64) -> (u64, bool) {
    let m = map(m);
    let mut guard = m.map.lock();
    match guard.output(bytes(data, size as usize), flags) {
        Ok(wake) => (0, wake),
        Err(e) => (neg(e), false),
    }
}

/// `bpf_ringbuf_reserve(ringbuf, size, flags)`.
pub extern "C" fn ringbuf_reserve(m: u64, size: u64, _: u64, _: u64, _: u64) -> u64 {
    map(m).map.lock().reserve(size).unwrap_or(0)
}

/// `bpf_ringbuf_query(ringbuf, flags)`.
pub extern "C" fn ringbuf_query(m: u64, flags: u64, _: u64, _: u64, _: u64) -> u64 {
    map(m).map.lock().query(flags)
}

/// The address of map helper `id` (1, 2, 3, 87, 88, 89, 131, 134; the
/// platform wraps the ones that may wake readers).
pub fn address(id: i32) -> Option<u64> {
    type Helper = extern "C" fn(u64, u64, u64, u64, u64) -> u64;
    let f: Helper = match id {
        1 => map_lookup_elem,
        2 => map_update_elem,
        3 => map_delete_elem,
        87 => map_push_elem,
        88 => map_pop_elem,
        89 => map_peek_elem,
        131 => ringbuf_reserve,
        134 => ringbuf_query,
        _ => return None,
    };
    Some(f as usize as u64)
}
