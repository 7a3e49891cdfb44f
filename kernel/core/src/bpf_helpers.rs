//! The kernel's BPF helpers: native functions JIT code calls with the
//! System V convention (five arguments, one result): the map helpers
//! (`axiom_bpf::native`), the clock, the CPU id, and the ring-buffer
//! commits, which wake readers waiting in `poll`/`epoll_wait`.

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

/// Readers are woken at the next tick, never here: a scheduler program's
/// commit runs under the scheduler's lock.
fn wake_readers(wake: bool) {
    if wake {
        crate::poll::wake_soon();
    }
}

/// `bpf_ringbuf_output(ringbuf, data, size, flags)` (130).
pub extern "C" fn ringbuf_output(m: u64, data: u64, size: u64, flags: u64, _: u64) -> u64 {
    let (r, wake) = axiom_bpf::native::ringbuf_output(m, data, size, flags);
    wake_readers(wake);
    r
}

/// `bpf_ringbuf_submit(data, flags)` (132).
pub extern "C" fn ringbuf_submit(rec: u64, flags: u64, _: u64, _: u64, _: u64) -> u64 {
    wake_readers(axiom_bpf::ring::commit(rec, false, flags));
    0
}

/// `bpf_ringbuf_discard(data, flags)` (133).
pub extern "C" fn ringbuf_discard(rec: u64, flags: u64, _: u64, _: u64, _: u64) -> u64 {
    wake_readers(axiom_bpf::ring::commit(rec, true, flags));
    0
}

/// A helper's address by Linux's number, if the kernel has it.
pub fn address(id: i32) -> Option<u64> {
    type Helper = extern "C" fn(u64, u64, u64, u64, u64) -> u64;
    let f: Helper = match id {
        5 | 125 => ktime_get_ns,
        8 => smp_processor_id,
        130 => ringbuf_output,
        132 => ringbuf_submit,
        133 => ringbuf_discard,
        _ => return axiom_bpf::native::address(id),
    };
    Some(f as usize as u64)
}
