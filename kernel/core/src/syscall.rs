//! Linux's x86-64 system calls: numbers, arguments and `-errno` results.
//! `docs/syscalls.md` lists what is implemented.

use crate::process;
use axiom_abi::uapi::errno::Errno;
use axiom_hal as hal;
use axiom_hal::user::SyscallFrame;
use core::sync::atomic::Ordering;

/// The result of a system call: a value, or an errno.
type SysResult = Result<u64, Errno>;

/// The entry from `syscall`.
pub fn handle(f: &mut SyscallFrame) {
    let args = [f.rdi, f.rsi, f.rdx, f.r10, f.r8, f.r9];
    let result = match f.rax {
        1 => write(args[0], args[1], args[2]),
        39 => getpid(),
        60 | 231 => process::exit(args[0] as i32),
        _ => Err(Errno::ENOSYS),
    };
    f.rax = match result {
        Ok(v) => v,
        Err(e) => (-(e.0 as i64)) as u64,
    };
}

fn write(fd: u64, buf: u64, len: u64) -> SysResult {
    if fd != 1 && fd != 2 {
        return Err(Errno::EBADF);
    }
    let mut done = 0u64;
    let mut chunk = [0u8; 256];
    while done < len {
        let n = (len - done).min(chunk.len() as u64) as usize;
        if !hal::user::copy_from_user(buf + done, &mut chunk[..n]) {
            return if done > 0 { Ok(done) } else { Err(Errno::EFAULT) };
        }
        hal::console(&chunk[..n]);
        done += n as u64;
    }
    if let Some(p) = process::current() {
        p.written.fetch_add(done, Ordering::Relaxed);
    }
    Ok(done)
}

fn getpid() -> SysResult {
    process::current().map(|p| p.pid as u64).ok_or(Errno::ESRCH)
}
