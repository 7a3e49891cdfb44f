//! Linux's BPF user ABI (6.18), as Rust types and constants.
//!
//! * [`types`]: `bpf_cmd` and the map, program, attach and link types,
//!   with Linux's names.
//! * [`attr`]: one `#[repr(C)]` struct per `union bpf_attr` member and the
//!   `bpf_*_info` structures; sizes and offsets asserted at compile time.
//! * [`helper`]: every helper id with its name.
//! * [`flags`]: the flag values of the attributes.
//! * [`errno`]: Linux's errno values.
//! * [`limits`]: the limits Linux puts on programs (stack, call frames,
//!   tail calls, verifier complexity, offsets).
//! * [`ringbuf`]: the ring buffer's record and mmap format.
//! * [`btf`]: BTF and `.BTF.ext` records.

pub mod attr;
pub mod btf;
pub mod errno;
pub mod flags;
pub mod helper;
pub mod layout;
pub mod limits;
pub mod ringbuf;
pub mod syscall;
pub mod types;

#[cfg(test)]
mod layout_test;
