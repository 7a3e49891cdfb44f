//! Everything a BPF program may call, one entry each: Linux's helper id,
//! the prototype the verifier checks a call against, the program types
//! that may call it, and how it runs (a native function JIT code calls,
//! or code the JIT emits in its place). The verifier's view of the kernel
//! ([`crate::verify`]), the JIT's helper addresses and the consistency
//! tests all read this one table, in the kernel and in a host process
//! alike: adding a helper is adding an entry here (and its native
//! function in [`crate::native`]).

use crate::native;
use axiom_abi::hooks::prog_type as hook;
use axiom_abi::uapi::types::{map_type, prog_type};
use axiom_verifier::platform::{Arg, HelperProto, Ret};
// The table's shorthands.
use Arg::*;
use Impl::Native as N;
use Ret::{AllocMemOrNull, CpuId, Integer, MapValueOrNull, Void};
use axiom_abi::uapi::helper::id::*;
use callers::{ALL, LINUX, SOCKET_FILTER};

/// A helper's native code: five arguments, one result (the System V and
/// AAPCS64 conventions the JITs call with).
pub type NativeFn = extern "C" fn(u64, u64, u64, u64, u64) -> u64;

/// How a callable runs.
#[derive(Clone, Copy)]
pub enum Impl {
    /// A function JIT code calls.
    Native(NativeFn),
    /// Code the JIT emits in place of the call (`bpf_tail_call`).
    Inline,
}

/// Families of program types, as a bit set: who may call a callable.
pub mod callers {
    /// `BPF_PROG_TYPE_SOCKET_FILTER`.
    pub const SOCKET_FILTER: u32 = 1 << 0;
    /// `BPF_PROG_TYPE_XDP`.
    pub const XDP: u32 = 1 << 1;
    /// Axiom's hooks: tick, IRQ, IIO and scheduler programs.
    pub const HOOKS: u32 = 1 << 2;
    /// Linux's program types Axiom runs.
    pub const LINUX: u32 = SOCKET_FILTER | XDP;
    /// Every program type.
    pub const ALL: u32 = LINUX | HOOKS;
}

/// The family bit of `prog_type` (0 for a type Axiom does not know).
pub const fn family(t: u32) -> u32 {
    match t {
        prog_type::SOCKET_FILTER => callers::SOCKET_FILTER,
        prog_type::XDP => callers::XDP,
        hook::AXIOM_SCHED | hook::AXIOM_IRQ | hook::AXIOM_IIO | hook::AXIOM_TICK => callers::HOOKS,
        _ => 0,
    }
}

/// One callable.
#[derive(Clone, Copy)]
pub struct Callable {
    /// Linux's helper id.
    pub id: i32,
    /// What the verifier checks calls against.
    pub proto: HelperProto,
    /// The program types that may call it ([`callers`] bits).
    pub callers: u32,
    /// How it runs.
    pub imp: Impl,
}

const fn args(a: &[Arg]) -> [Option<Arg>; 5] {
    let mut out = [None; 5];
    let mut i = 0;
    while i < a.len() {
        out[i] = Some(a[i]);
        i += 1;
    }
    out
}

const fn h(
    id: i32,
    name: &'static str,
    a: &[Arg],
    ret: Ret,
    map_types: &'static [u32],
    callers: u32,
    imp: Impl,
) -> Callable {
    Callable { id, proto: HelperProto { name, args: args(a), ret, map_types }, callers, imp }
}

const ANY_MAP: &[u32] = &[];
const QUEUES: &[u32] = &[map_type::QUEUE, map_type::STACK];
const RINGBUF: &[u32] = &[map_type::RINGBUF];
const PROG_ARRAYS: &[u32] = &[map_type::PROG_ARRAY];

/// Every callable: id, Linux's name, arguments, return, the map types its
/// map argument takes (empty: any but program arrays and ring buffers),
/// who may call it, its code.
#[rustfmt::skip]
pub const CALLABLES: &[Callable] = &[
    h(MAP_LOOKUP_ELEM, "bpf_map_lookup_elem", &[MapPtr, MapKey], MapValueOrNull, ANY_MAP, ALL, N(native::map_lookup_elem)),
    h(MAP_UPDATE_ELEM, "bpf_map_update_elem", &[MapPtr, MapKey, MapValue, Anything], Integer, ANY_MAP, ALL, N(native::map_update_elem)),
    h(MAP_DELETE_ELEM, "bpf_map_delete_elem", &[MapPtr, MapKey], Integer, ANY_MAP, ALL, N(native::map_delete_elem)),
    h(KTIME_GET_NS, "bpf_ktime_get_ns", &[], Integer, ANY_MAP, ALL, N(native::ktime_get_ns)),
    h(TRACE_PRINTK, "bpf_trace_printk", &[Mem, ConstSize], Integer, ANY_MAP, LINUX, N(native::trace_printk)),
    h(GET_PRANDOM_U32, "bpf_get_prandom_u32", &[], Integer, ANY_MAP, ALL, N(native::get_prandom_u32)),
    h(GET_SMP_PROCESSOR_ID, "bpf_get_smp_processor_id", &[], CpuId, ANY_MAP, ALL, N(native::get_smp_processor_id)),
    h(TAIL_CALL, "bpf_tail_call", &[Ctx, MapPtr, Anything], Void, PROG_ARRAYS, LINUX, Impl::Inline),
    h(SKB_LOAD_BYTES, "bpf_skb_load_bytes", &[Ctx, Anything, UninitMem, ConstSize], Integer, ANY_MAP, SOCKET_FILTER, N(native::skb_load_bytes)),
    h(MAP_PUSH_ELEM, "bpf_map_push_elem", &[MapPtr, MapValue, Anything], Integer, QUEUES, ALL, N(native::map_push_elem)),
    h(MAP_POP_ELEM, "bpf_map_pop_elem", &[MapPtr, MapValueUninit], Integer, QUEUES, ALL, N(native::map_pop_elem)),
    h(MAP_PEEK_ELEM, "bpf_map_peek_elem", &[MapPtr, MapValueUninit], Integer, QUEUES, ALL, N(native::map_peek_elem)),
    h(KTIME_GET_BOOT_NS, "bpf_ktime_get_boot_ns", &[], Integer, ANY_MAP, ALL, N(native::ktime_get_ns)),
    h(RINGBUF_OUTPUT, "bpf_ringbuf_output", &[MapPtr, Mem, ConstSizeOrZero, Anything], Integer, RINGBUF, ALL, N(native::ringbuf_output)),
    h(RINGBUF_RESERVE, "bpf_ringbuf_reserve", &[MapPtr, ConstAlloc, Anything], AllocMemOrNull, RINGBUF, ALL, N(native::ringbuf_reserve)),
    h(RINGBUF_SUBMIT, "bpf_ringbuf_submit", &[RingbufMem, Anything], Void, ANY_MAP, ALL, N(native::ringbuf_submit)),
    h(RINGBUF_DISCARD, "bpf_ringbuf_discard", &[RingbufMem, Anything], Void, ANY_MAP, ALL, N(native::ringbuf_discard)),
    h(RINGBUF_QUERY, "bpf_ringbuf_query", &[MapPtr, Anything], Integer, RINGBUF, ALL, N(native::ringbuf_query)),
];

/// The callable with helper id `id`.
pub fn by_id(id: i32) -> Option<&'static Callable> {
    CALLABLES.iter().find(|c| c.id == id)
}

/// The native code of helper `id`, where it has some (the JIT's helper
/// addresses).
pub fn address(id: i32) -> Option<u64> {
    match by_id(id)?.imp {
        Impl::Native(f) => Some(f as usize as u64),
        Impl::Inline => None,
    }
}

/// How many callables programs of family `family` may call.
pub const fn count_for(family: u32) -> usize {
    let (mut i, mut n) = (0, 0);
    while i < CALLABLES.len() {
        if CALLABLES[i].callers & family != 0 {
            n += 1;
        }
        i += 1;
    }
    n
}

/// The ids of the callables programs of family `family` may call (`N`
/// must be [`count_for`]`(family)`), in table order: the program types'
/// helper lists, made from the table when the crate is compiled.
pub const fn ids_for<const N: usize>(family: u32) -> [i32; N] {
    let mut out = [0; N];
    let (mut i, mut n) = (0, 0);
    while i < CALLABLES.len() {
        if CALLABLES[i].callers & family != 0 {
            out[n] = CALLABLES[i].id;
            n += 1;
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_named_as_linux_names_them() {
        for (i, c) in CALLABLES.iter().enumerate() {
            assert!(CALLABLES[..i].iter().all(|o| o.id != c.id), "{} twice", c.id);
            let linux = axiom_abi::uapi::helper::helper_name(c.id as u32);
            assert_eq!(linux, Some(c.proto.name), "helper {}", c.id);
        }
    }

    #[test]
    fn every_callable_has_code_and_a_caller() {
        for c in CALLABLES {
            assert!(c.callers != 0, "{}: nobody may call it", c.proto.name);
            match c.imp {
                Impl::Native(_) => assert!(address(c.id).is_some()),
                // The JITs expand only the tail call in place.
                Impl::Inline => assert_eq!(c.id, TAIL_CALL, "{}", c.proto.name),
            }
        }
    }

    #[test]
    fn the_family_lists_are_the_table_s() {
        const N: usize = count_for(callers::HOOKS);
        let hooks: [i32; N] = ids_for(callers::HOOKS);
        for c in CALLABLES {
            assert_eq!(hooks.contains(&c.id), c.callers & callers::HOOKS != 0, "{}", c.proto.name);
        }
        assert_eq!(family(hook::AXIOM_TICK), callers::HOOKS);
        assert_eq!(family(prog_type::KPROBE), 0);
    }
}
