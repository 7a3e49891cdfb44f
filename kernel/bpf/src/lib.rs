//! Axiom's BPF runtime, one for the kernel and for a host process. From
//! the bottom up: [`maps`] and [`ring`] buffers; the objects a descriptor
//! holds ([`object`]: maps and programs, with program arrays' behaviour in
//! [`prog_array`]); [`hook`] slots; what a descriptor refers to and the
//! id tables ([`registry`], with links as objects); what a command asks of
//! the calling process and the attribute rules ([`env`](mod@env)); the `bpf()`
//! command families and their dispatcher ([`command`]). Beside them, one
//! table of what programs may call ([`callable`], with the helpers' code in
//! [`native`], the test runs' contexts in [`ctx`] and the verifier's view
//! of the kernel in [`verify`]). What differs between the kernel and a
//! process is asked of [`platform`] (clock, CPU, wake-ups, traces) and of
//! the [`env::Env`]. With the `host` feature, `process::Process` is a host
//! process calling the same command layer (what `axbpf --backend axiom`
//! and the tests load into), and `host::ExecImage` places JIT code in its
//! memory: written while mapped read+write, then mapped read+execute,
//! never both.
#![cfg_attr(not(any(test, feature = "host")), no_std)]
#![deny(unsafe_code)]

extern crate alloc;

pub mod callable;
pub mod command;
pub mod ctx;
pub mod env;
pub mod hook;
pub mod maps;
pub mod native;
pub mod object;
pub mod platform;
pub mod printk;
pub mod prog_array;
pub mod registry;
pub mod ring;
pub mod verify;

#[cfg(feature = "host")]
pub mod host;
#[cfg(feature = "host")]
pub mod process;
#[cfg(feature = "host")]
mod raw;
