//! The raw `bpf()` system call: axbpf's only unsafe code.
#![allow(unsafe_code)]

use std::os::fd::{FromRawFd, OwnedFd};

/// `bpf(cmd, attr, sizeof attr)`; the non-negative result or the errno.
pub fn bpf(cmd: u32, attr: &mut [u8]) -> Result<i64, i32> {
    // SAFETY: `attr` is a live, writable buffer of the size passed; every
    // pointer stored inside it was built by the caller from a live buffer
    // that outlives this call.
    let r =
        unsafe { libc::syscall(libc::SYS_bpf, cmd as libc::c_long, attr.as_mut_ptr(), attr.len()) };
    if r < 0 { Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0)) } else { Ok(r) }
}

/// `bpf()` for commands that return a new file descriptor.
pub fn bpf_fd(cmd: u32, attr: &mut [u8]) -> Result<OwnedFd, i32> {
    let fd = bpf(cmd, attr)?;
    // SAFETY: the kernel returned a new file descriptor nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Restores the default action of `SIGPIPE`, so that `axbpf ... | head`
/// ends quietly like other command-line tools instead of failing to print.
pub fn default_sigpipe() {
    // SAFETY: sets a signal disposition to its default; no handler runs.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
}
