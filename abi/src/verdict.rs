//! How a kernel booted under QEMU tells the host whether its tests passed:
//! through QEMU's exit status, with values QEMU never gives on its own.
//!
//! QEMU exits with 0 when the guest powers off and with 1 when it cannot
//! start (a bad option, a missing file), and `timeout` answers 124, so
//! neither 0 nor 1 can mean "passed". x86-64 writes a byte to
//! `isa-debug-exit`, whose status is `(byte << 1) | 1`; arm64 passes the
//! status itself through semihosting's `SYS_EXIT`. Both end in the same
//! statuses.

/// QEMU's exit status when the kernel's tests passed.
pub const PASS: i32 = 0x21;

/// QEMU's exit status when a test, a panic or an exception failed.
pub const FAIL: i32 = 0x23;

/// The byte to write to `isa-debug-exit` for `status` (odd, as the device
/// makes every status).
pub const fn debug_exit_byte(status: i32) -> u8 {
    (status >> 1) as u8
}

/// A boot's verdict read from QEMU's exit status (`None`: QEMU was killed
/// by the timeout).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The kernel said its tests passed.
    Passed,
    /// The kernel said something failed.
    Failed,
    /// Not a status the kernel gives: QEMU's own (it could not start, or
    /// the guest powered off without a verdict), a crash, or a timeout.
    NoVerdict(Option<i32>),
}

impl Verdict {
    /// The verdict QEMU's exit status `status` carries.
    pub fn of(status: Option<i32>) -> Verdict {
        match status {
            Some(PASS) => Verdict::Passed,
            Some(FAIL) => Verdict::Failed,
            other => Verdict::NoVerdict(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_s_own_statuses_are_never_a_verdict() {
        // 0: powered off; 1: QEMU could not start; 124: timeout's kill.
        for own in [Some(0), Some(1), Some(124), None] {
            assert!(matches!(Verdict::of(own), Verdict::NoVerdict(_)), "{own:?}");
        }
        assert_eq!(Verdict::of(Some(PASS)), Verdict::Passed);
        assert_eq!(Verdict::of(Some(FAIL)), Verdict::Failed);
    }

    #[test]
    fn the_debug_exit_device_gives_back_the_statuses() {
        for status in [PASS, FAIL] {
            assert_eq!(((debug_exit_byte(status) as i32) << 1) | 1, status);
        }
    }
}
