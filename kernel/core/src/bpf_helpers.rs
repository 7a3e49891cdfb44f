//! The kernel's BPF helpers: native functions JIT code calls with the
//! System V convention (five arguments, one result): the map helpers
//! (`axiom_bpf::native`), the clock and the CPU id. The ring-buffer
//! helpers come with the hooks.

use axiom_hal as hal;

/// `bpf_ktime_get_ns()` (5) and `bpf_ktime_get_boot_ns()` (125):
/// nanoseconds since boot.
pub extern "C" fn ktime_get_ns(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    crate::time::cycles_to_ns(hal::cycles())
}

/// `bpf_get_smp_processor_id()` (8).
pub extern "C" fn smp_processor_id(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    hal::cpu_index() as u64
}

/// A helper's address by Linux's number, if the kernel has it.
pub fn address(id: i32) -> Option<u64> {
    type Helper = extern "C" fn(u64, u64, u64, u64, u64) -> u64;
    let f: Helper = match id {
        5 | 125 => ktime_get_ns,
        8 => smp_processor_id,
        _ => return axiom_bpf::native::address(id),
    };
    Some(f as usize as u64)
}
