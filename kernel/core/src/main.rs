//! The Axiom kernel. Today: it boots (PVH on QEMU's `microvm` and `q35`),
//! sets up memory, page tables, interrupts, the clock, the tick and the
//! scheduler, runs its in-kernel tests in the init task, prints boot
//! metrics and ends QEMU with the result. Safe code only: the hardware is reached
//! through `axiom-hal`.
#![cfg_attr(target_os = "none", no_std, no_main)]
#![deny(unsafe_code)]

#[cfg(target_os = "none")]
extern crate alloc;
#[cfg(target_os = "none")]
#[macro_use]
mod console;
#[cfg(target_os = "none")]
mod bpf_sched;
/// The command line's `axiom.*` options, parsed once.
#[cfg(target_os = "none")]
mod config;
#[cfg(target_os = "none")]
mod elf;
#[cfg(target_os = "none")]
mod exec;
#[cfg(target_os = "none")]
mod file;
#[cfg(target_os = "none")]
mod frames;
#[cfg(target_os = "none")]
mod fs;
#[cfg(target_os = "none")]
mod hook_trace;
#[cfg(target_os = "none")]
mod hooks;
#[cfg(target_os = "none")]
mod iio;
#[cfg(target_os = "none")]
mod irq;
#[cfg(target_os = "none")]
mod kernel;
#[cfg(target_os = "none")]
mod memory;
#[cfg(target_os = "none")]
mod paging;
#[cfg(target_os = "none")]
mod poll;
#[cfg(target_os = "none")]
mod process;
#[cfg(target_os = "none")]
mod sched;
#[cfg(target_os = "none")]
mod selftest;
#[cfg(target_os = "none")]
mod serial;
#[cfg(target_os = "none")]
mod syscall;
#[cfg(target_os = "none")]
mod time;
#[cfg(target_os = "none")]
mod user;
#[cfg(target_os = "none")]
mod wait;

/// Host builds only type-check the kernel.
#[cfg(not(target_os = "none"))]
fn main() {}
