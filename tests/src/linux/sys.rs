//! The raw `bpf()` system call: the tests crate's only unsafe code.
#![allow(unsafe_code)]

use std::fmt;
use std::os::fd::{FromRawFd, OwnedFd};

/// A Linux errno value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub i32);

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (errno {})", std::io::Error::from_raw_os_error(self.0), self.0)
    }
}

/// `bpf(cmd, attr, sizeof attr)`; returns the non-negative result.
pub fn bpf(cmd: u32, attr: &mut [u8; 128]) -> Result<i64, Errno> {
    // SAFETY: `attr` is a live, writable buffer of the size passed; every
    // pointer stored inside it was built by the caller from a live buffer
    // that outlives this call.
    let r =
        unsafe { libc::syscall(libc::SYS_bpf, cmd as libc::c_long, attr.as_mut_ptr(), attr.len()) };
    if r < 0 {
        Err(Errno(std::io::Error::last_os_error().raw_os_error().unwrap_or(0)))
    } else {
        Ok(r)
    }
}

/// `bpf()` for commands that return a new file descriptor.
pub fn bpf_fd(cmd: u32, attr: &mut [u8; 128]) -> Result<OwnedFd, Errno> {
    let fd = bpf(cmd, attr)?;
    // SAFETY: the kernel returned a new file descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}
