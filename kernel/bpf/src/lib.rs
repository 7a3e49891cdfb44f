//! Axiom's BPF runtime, one for the kernel and for a host process: the
//! `bpf()` command layer ([`command`]: objects, ids, every command over
//! an [`command::Env`] for the calling process), [`maps`], programs
//! ([`prog`]: load through the verifier and the JIT, test runs), links
//! and hooks, ring buffers, and one table of what programs may call
//! ([`callable`], with the helpers' code in [`native`] and the verifier's
//! view of the kernel in [`verify`]). What differs between the kernel and
//! a process is asked of [`platform`] (clock, CPU, wake-ups, traces) and
//! of the `Env`. With the `host` feature, [`process::Process`] is a host
//! process calling the same command layer (what `axbpf --backend axiom`
//! and the tests load into), and [`host::ExecImage`] places JIT code in
//! its memory: written while mapped read+write, then mapped
//! read+execute, never both.
#![cfg_attr(not(any(test, feature = "host")), no_std)]
#![deny(unsafe_code)]

extern crate alloc;

pub mod callable;
pub mod command;
pub mod hook;
pub mod link;
pub mod maps;
pub mod native;
pub mod platform;
pub mod printk;
pub mod prog;
pub mod prog_array;
pub mod ring;
pub mod verify;

#[cfg(feature = "host")]
pub mod host;
#[cfg(feature = "host")]
pub mod process;
#[cfg(feature = "host")]
mod raw;
