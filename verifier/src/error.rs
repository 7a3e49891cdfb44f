//! Verification failures: Linux's errno and message.

use alloc::string::String;
use axiom_abi::uapi::errno::Errno;

// The errnos the verifier answers with, as `VerifyError::errno` carries
// them: Linux's values, from `axiom_abi`.

/// `EINVAL`: a malformed program.
pub const EINVAL: i32 = Errno::EINVAL.0;
/// `EACCES`: an unsafe program.
pub const EACCES: i32 = Errno::EACCES.0;
/// `E2BIG`: too complex.
pub const E2BIG: i32 = Errno::E2BIG.0;
/// `ENOSPC`: the log buffer was too small.
pub const ENOSPC: i32 = Errno::ENOSPC.0;
/// `EFAULT`: a bad address (older Linux's errno for too many pending
/// branches, now `E2BIG`).
pub const EFAULT: i32 = Errno::EFAULT.0;
/// `ENOTSUPP` (Linux-internal 524): a map without a direct value address.
pub const ENOTSUPP: i32 = Errno::ENOTSUPP.0;
/// `EBADF`: a `lddw` names no map.
pub const EBADF: i32 = Errno::EBADF.0;

/// Why a program was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyError {
    /// Linux's errno for it.
    pub errno: i32,
    /// The instruction, if one is to blame.
    pub pc: Option<usize>,
    /// Linux's message (the last line of its log).
    pub message: String,
}

impl VerifyError {
    /// A new error.
    pub fn new(errno: i32, pc: Option<usize>, message: String) -> Self {
        Self { errno, pc, message }
    }
}

impl core::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.message)
    }
}

impl core::error::Error for VerifyError {}
