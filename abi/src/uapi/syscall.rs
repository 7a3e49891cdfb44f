//! Linux's system call numbers for the two architectures Axiom runs on:
//! x86-64's own table (`arch/x86/entry/syscalls/syscall_64.tbl`) and
//! arm64's, the generic table (`include/uapi/asm-generic/unistd.h`). The
//! kernel decodes a number into a [`Sys`] and dispatches on that, so one
//! dispatcher serves both. Calls that exist in one table only (x86-64's
//! `open`, `stat`, `poll`, `arch_prctl`...) have no number in the other.

/// A system call Axiom knows, whatever its number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Sys {
    Read,
    Write,
    Open,
    Close,
    Fstat,
    Poll,
    Lseek,
    Mmap,
    Mprotect,
    Munmap,
    Brk,
    RtSigaction,
    RtSigprocmask,
    Sigaltstack,
    Ioctl,
    Writev,
    SchedYield,
    Madvise,
    Nanosleep,
    Getpid,
    Uname,
    Getcwd,
    Readlink,
    Readlinkat,
    Gettimeofday,
    Getuid,
    Getgid,
    Geteuid,
    Getegid,
    Getppid,
    ArchPrctl,
    Gettid,
    Futex,
    SchedGetaffinity,
    SetTidAddress,
    ClockGettime,
    ClockNanosleep,
    Openat,
    Newfstatat,
    SetRobustList,
    Prlimit64,
    Mkdir,
    Unlink,
    Rmdir,
    Mkdirat,
    Unlinkat,
    Getrandom,
    Bpf,
    EpollCreate,
    EpollCreate1,
    EpollCtl,
    EpollWait,
    EpollPwait,
    Ppoll,
    Exit,
    ExitGroup,
}

/// x86-64's numbers.
pub const X86_64: &[(u64, Sys)] = &[
    (0, Sys::Read),
    (1, Sys::Write),
    (2, Sys::Open),
    (3, Sys::Close),
    (5, Sys::Fstat),
    (7, Sys::Poll),
    (8, Sys::Lseek),
    (9, Sys::Mmap),
    (10, Sys::Mprotect),
    (11, Sys::Munmap),
    (12, Sys::Brk),
    (13, Sys::RtSigaction),
    (14, Sys::RtSigprocmask),
    (16, Sys::Ioctl),
    (20, Sys::Writev),
    (24, Sys::SchedYield),
    (28, Sys::Madvise),
    (35, Sys::Nanosleep),
    (39, Sys::Getpid),
    (60, Sys::Exit),
    (63, Sys::Uname),
    (79, Sys::Getcwd),
    (83, Sys::Mkdir),
    (84, Sys::Rmdir),
    (87, Sys::Unlink),
    (89, Sys::Readlink),
    (96, Sys::Gettimeofday),
    (102, Sys::Getuid),
    (104, Sys::Getgid),
    (107, Sys::Geteuid),
    (108, Sys::Getegid),
    (110, Sys::Getppid),
    (131, Sys::Sigaltstack),
    (158, Sys::ArchPrctl),
    (186, Sys::Gettid),
    (202, Sys::Futex),
    (204, Sys::SchedGetaffinity),
    (213, Sys::EpollCreate),
    (218, Sys::SetTidAddress),
    (228, Sys::ClockGettime),
    (230, Sys::ClockNanosleep),
    (231, Sys::ExitGroup),
    (232, Sys::EpollWait),
    (233, Sys::EpollCtl),
    (257, Sys::Openat),
    (258, Sys::Mkdirat),
    (262, Sys::Newfstatat),
    (263, Sys::Unlinkat),
    (267, Sys::Readlinkat),
    (271, Sys::Ppoll),
    (273, Sys::SetRobustList),
    (281, Sys::EpollPwait),
    (291, Sys::EpollCreate1),
    (302, Sys::Prlimit64),
    (318, Sys::Getrandom),
    (321, Sys::Bpf),
];

/// arm64's numbers (the generic table).
pub const AARCH64: &[(u64, Sys)] = &[
    (17, Sys::Getcwd),
    (20, Sys::EpollCreate1),
    (21, Sys::EpollCtl),
    (22, Sys::EpollPwait),
    (29, Sys::Ioctl),
    (34, Sys::Mkdirat),
    (35, Sys::Unlinkat),
    (56, Sys::Openat),
    (57, Sys::Close),
    (62, Sys::Lseek),
    (63, Sys::Read),
    (64, Sys::Write),
    (66, Sys::Writev),
    (73, Sys::Ppoll),
    (78, Sys::Readlinkat),
    (79, Sys::Newfstatat),
    (80, Sys::Fstat),
    (93, Sys::Exit),
    (94, Sys::ExitGroup),
    (96, Sys::SetTidAddress),
    (98, Sys::Futex),
    (99, Sys::SetRobustList),
    (101, Sys::Nanosleep),
    (113, Sys::ClockGettime),
    (115, Sys::ClockNanosleep),
    (123, Sys::SchedGetaffinity),
    (124, Sys::SchedYield),
    (132, Sys::Sigaltstack),
    (134, Sys::RtSigaction),
    (135, Sys::RtSigprocmask),
    (160, Sys::Uname),
    (169, Sys::Gettimeofday),
    (172, Sys::Getpid),
    (173, Sys::Getppid),
    (174, Sys::Getuid),
    (175, Sys::Geteuid),
    (176, Sys::Getgid),
    (177, Sys::Getegid),
    (178, Sys::Gettid),
    (214, Sys::Brk),
    (215, Sys::Munmap),
    (222, Sys::Mmap),
    (226, Sys::Mprotect),
    (233, Sys::Madvise),
    (261, Sys::Prlimit64),
    (278, Sys::Getrandom),
    (280, Sys::Bpf),
];

/// The system call `nr` names in `table`.
pub fn decode(table: &[(u64, Sys)], nr: u64) -> Option<Sys> {
    table.iter().find(|&&(n, _)| n == nr).map(|&(_, s)| s)
}

/// `call`'s number in `table`, if it has one.
pub fn number(table: &[(u64, Sys)], call: Sys) -> Option<u64> {
    table.iter().find(|&&(_, s)| s == call).map(|&(n, _)| n)
}

/// The table of the architecture this code is built for.
#[cfg(target_arch = "aarch64")]
pub const NATIVE: &[(u64, Sys)] = AARCH64;
/// The table of the architecture this code is built for.
#[cfg(not(target_arch = "aarch64"))]
pub const NATIVE: &[(u64, Sys)] = X86_64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_unique_in_each_table() {
        for table in [X86_64, AARCH64] {
            for (i, &(n, s)) in table.iter().enumerate() {
                for &(m, t) in &table[i + 1..] {
                    assert!(n != m && s != t, "{n}/{s:?} twice");
                }
            }
        }
    }

    #[test]
    fn linux_numbers_the_kernel_relies_on() {
        assert_eq!(number(X86_64, Sys::Bpf), Some(321));
        assert_eq!(number(AARCH64, Sys::Bpf), Some(280));
        assert_eq!(decode(AARCH64, 93), Some(Sys::Exit));
        assert_eq!(decode(AARCH64, 222), Some(Sys::Mmap));
        assert_eq!(decode(X86_64, 9), Some(Sys::Mmap));
        // arm64 has no open, poll or arch_prctl: programs use openat, ppoll
        // and TPIDR_EL0.
        assert_eq!(number(AARCH64, Sys::Open), None);
        assert_eq!(number(AARCH64, Sys::ArchPrctl), None);
        assert_eq!(decode(AARCH64, 1000), None);
    }
}
