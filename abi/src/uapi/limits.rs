//! Linux's limits on BPF programs, as its verifier and runtime apply them
//! (Linux 6.18; `include/linux/bpf.h`, `include/linux/filter.h`,
//! `kernel/bpf/verifier.c`), and `BPF_MAXINSNS` of the user ABI.

/// Bytes of stack per function frame, and of all frames of a call chain
/// together (`MAX_BPF_STACK`).
pub const MAX_BPF_STACK: usize = 512;
/// Call frames at most, the main program's included (`MAX_CALL_FRAMES`).
pub const MAX_CALL_FRAMES: usize = 8;
/// Tail calls one run may take (`MAX_TAIL_CALL_CNT`).
pub const MAX_TAIL_CALL_CNT: u32 = 33;
/// Bytes of stack the frames below a function that may tail call may hold
/// (a literal 256 in Linux's `check_max_stack_depth`: 33 tail calls of
/// frames below it stay within 8 KiB).
pub const TAIL_CALL_STACK_LIMIT: u32 = 256;
/// Instructions the verifier processes at most, for privileged programs
/// (`BPF_COMPLEXITY_LIMIT_INSNS`).
pub const BPF_COMPLEXITY_LIMIT_INSNS: u32 = 1_000_000;
/// Branches waiting to be explored at once
/// (`BPF_COMPLEXITY_LIMIT_JMP_SEQ`).
pub const BPF_COMPLEXITY_LIMIT_JMP_SEQ: usize = 8192;
/// Functions in a program, the main one included (`BPF_MAX_SUBPROGS`).
pub const BPF_MAX_SUBPROGS: usize = 256;
/// Different maps one program may name (`MAX_USED_MAPS`).
pub const MAX_USED_MAPS: usize = 64;
/// Instructions Linux accepts in `BPF_PROG_LOAD` from anyone
/// (`BPF_MAXINSNS`, the unprivileged limit).
pub const BPF_MAXINSNS: u32 = 4096;
/// The largest variable offset a pointer may have (`BPF_MAX_VAR_OFF`).
pub const BPF_MAX_VAR_OFF: i64 = 1 << 29;
/// No packet range is learnt beyond this offset (`MAX_PACKET_OFF`).
pub const MAX_PACKET_OFF: u64 = 0xffff;
