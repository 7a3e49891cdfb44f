//! Limits on the static call graph, checked after the state exploration
//! accepted every path (Linux's `check_max_stack_depth`).
//!
//! The exploration counts frames only along paths it explores; this walk
//! counts them along every chain of `call local` instructions in the
//! program text, reachable or not, and follows recursion (a function
//! calling itself is entered again, one frame deeper), so recursion the
//! exploration could bound still meets the limits:
//!
//! - each frame adds its function's stack depth rounded up to 16 bytes
//!   (Linux's rounding for JIT-compiled programs, as Axiom's all are);
//!   more than [`MAX_BPF_STACK`] bytes in all is `EACCES` `combined stack
//!   size of N calls is M. Too large`;
//! - a call that would make a ninth frame is `E2BIG` `the call stack of 8
//!   frames is too deep !` (the exploration's own message has no `!`);
//! - a function other than the main one that makes tail calls may not be
//!   entered while the frames below it hold [`TAIL_CALL_STACK_LIMIT`]
//!   bytes or more (`EACCES`): a tail call unwinds only its own frame, so
//!   33 tail calls from deep frames would otherwise pile up stacks.
//!
//! Linux walks the call tree depth first, call sites in instruction
//! order, and reports the first limit it meets; so does this walk. It
//! remembers which (function, frame, depth below) entries it has already
//! walked without meeting a limit and does not walk them again: the
//! outcome of an entry depends on nothing else, so the verdict is the
//! same, and the walk is linear in the program's size instead of
//! exponential in its call depth.

use crate::cfg::Cfg;
use crate::error::{E2BIG, EACCES, VerifyError};
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;
use axiom_abi::instruction::{CallTarget, Instruction};
use axiom_abi::uapi::helper;
use axiom_abi::uapi::limits::{MAX_BPF_STACK, MAX_CALL_FRAMES, TAIL_CALL_STACK_LIMIT};

/// A function's stack as it counts in the combined stack: its depth
/// rounded up to 16 bytes.
pub fn frame_size(depth: u32) -> u32 {
    depth.div_ceil(16) * 16
}

/// One frame of the walk.
struct Frame {
    func: usize,
    /// The next instruction of `func` to look at for calls.
    pc: usize,
}

/// Checks the call-graph limits of a program whose functions are laid
/// out as in `cfg` and use `depth[f]` bytes of stack each.
pub fn check(cfg: &Cfg, depth: &[u32]) -> Result<(), VerifyError> {
    let funcs = cfg.subprogs.len();
    let tail_calls: Vec<bool> = (0..funcs)
        .map(|f| {
            (cfg.subprogs[f]..cfg.subprog_end(f)).any(|pc| {
                matches!(cfg.insns[pc], Some(Instruction::Call(CallTarget::Helper(id))) if id == helper::id::TAIL_CALL)
            })
        })
        .collect();
    // Entries walked without meeting a limit, by function, frame index
    // and stack below in 16-byte units (at most 512 / 16).
    let units = MAX_BPF_STACK / 16 + 1;
    let key = |f: usize, frame: usize, below: u32| {
        (f * MAX_CALL_FRAMES + frame) * units + (below / 16) as usize
    };
    let mut done = vec![false; funcs * MAX_CALL_FRAMES * units];
    let mut frames: Vec<Frame> = Vec::with_capacity(MAX_CALL_FRAMES);
    // Bytes the frames on the walk hold, and what each frame started on.
    let mut total = 0u32;
    let mut below: Vec<u32> = Vec::with_capacity(MAX_CALL_FRAMES);
    let enter = |f: usize, frames: &mut Vec<Frame>, below: &mut Vec<u32>, total: &mut u32| {
        if f != 0 && tail_calls[f] && *total >= TAIL_CALL_STACK_LIMIT {
            return Err(VerifyError::new(
                EACCES,
                None,
                format!(
                    "tail_calls are not allowed when call stack of previous frames is {} bytes. Too large",
                    *total
                ),
            ));
        }
        below.push(*total);
        *total += frame_size(depth[f]);
        frames.push(Frame { func: f, pc: cfg.subprogs[f] });
        if *total > MAX_BPF_STACK as u32 {
            return Err(VerifyError::new(
                EACCES,
                None,
                format!("combined stack size of {} calls is {}. Too large", frames.len(), *total),
            ));
        }
        Ok(())
    };
    enter(0, &mut frames, &mut below, &mut total)?;
    while let Some(top) = frames.last_mut() {
        let end = cfg.subprog_end(top.func);
        let call = (top.pc..end).find_map(|pc| match cfg.insns[pc] {
            Some(Instruction::Call(CallTarget::Local(rel))) => {
                Some((pc, pc as i64 + 1 + rel as i64))
            }
            _ => None,
        });
        if let Some((pc, target)) = call {
            top.pc = pc + 1;
            let callee = cfg.subprog_of(target as usize);
            if frames.len() >= MAX_CALL_FRAMES {
                return Err(VerifyError::new(
                    E2BIG,
                    Some(pc),
                    format!("the call stack of {} frames is too deep !", frames.len()),
                ));
            }
            if !done[key(callee, frames.len(), total)] {
                enter(callee, &mut frames, &mut below, &mut total)?;
            }
            continue;
        }
        // Every call of this function is walked: it meets no limit when
        // entered at this frame with this stack below it.
        let f = frames.pop().expect("a frame on the walk");
        let start = below.pop().expect("one entry per frame");
        done[key(f.func, frames.len(), start)] = true;
        total = start;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cfg::build;
    use alloc::string::String;
    use axiom_abi::asm::assemble;

    fn walk(text: &str, depth: &[u32]) -> Result<(), VerifyError> {
        let slots = assemble(text).unwrap();
        let cfg = build(&slots).unwrap();
        assert_eq!(cfg.subprogs.len(), depth.len(), "one depth per function");
        check(&cfg, depth)
    }

    fn message(r: Result<(), VerifyError>) -> (i32, alloc::string::String) {
        let e = r.unwrap_err();
        (e.errno, e.message)
    }

    const CHAIN: &str = "call local f\nexit\nf:\ncall local g\nexit\ng:\nmov %r0, 0\nexit";

    #[test]
    fn frames_add_their_rounded_depths() {
        assert_eq!(frame_size(0), 0);
        assert_eq!(frame_size(1), 16);
        assert_eq!(frame_size(16), 16);
        assert_eq!(frame_size(504), 512);
        assert!(walk(CHAIN, &[256, 128, 128]).is_ok());
        // 256 + 144 + 128: one byte too many after rounding.
        assert_eq!(
            message(walk(CHAIN, &[256, 129, 128])),
            (EACCES, "combined stack size of 3 calls is 528. Too large".into())
        );
        assert_eq!(
            message(walk(CHAIN, &[512, 8, 0])),
            (EACCES, "combined stack size of 2 calls is 528. Too large".into())
        );
    }

    #[test]
    fn recursion_adds_a_frame_per_call() {
        let rec = "call local f\nexit\nf:\njeq %r1, 0, +1\ncall local f\nmov %r0, 0\nexit";
        // Without stack, recursion runs into the frame limit.
        assert_eq!(
            message(walk(rec, &[0, 0])),
            (E2BIG, "the call stack of 8 frames is too deep !".into())
        );
        // 64 bytes a frame: 7 frames of f are 448 bytes, the eighth call
        // is one frame too many; 80 bytes: the seventh makes 560.
        assert_eq!(message(walk(rec, &[0, 64])).1, "the call stack of 8 frames is too deep !");
        assert_eq!(
            message(walk(rec, &[0, 80])),
            (EACCES, "combined stack size of 8 calls is 560. Too large".into())
        );
        assert_eq!(
            message(walk(rec, &[0, 512])).1,
            "combined stack size of 3 calls is 1024. Too large"
        );
        // Mutual recursion too.
        let mutual = "call local f\nexit\nf:\ncall local g\nexit\ng:\ncall local f\nexit";
        assert_eq!(message(walk(mutual, &[0, 0, 0])).0, E2BIG);
    }

    /// A main function and `n` more, each calling the next.
    fn chain(n: usize) -> String {
        let mut text = String::new();
        for k in 1..=n {
            text.push_str(&alloc::format!("call local f{k}\nmov %r0, 0\nexit\nf{k}:\n"));
        }
        text.push_str("mov %r0, 0\nexit");
        text
    }

    #[test]
    fn eight_frames_fit_and_a_ninth_does_not() {
        assert!(walk(&chain(7), &[0; 8]).is_ok());
        assert!(walk(&chain(7), &[64; 8]).is_ok());
        assert_eq!(
            message(walk(&chain(8), &[0; 9])),
            (E2BIG, "the call stack of 8 frames is too deep !".into())
        );
        // The walk reads the text, not the paths: a call no path reaches
        // counts the same.
        let guarded = chain(8).replacen("call local f8", "jne %r1, 0, +1\ncall local f8", 1);
        assert_eq!(message(walk(&guarded, &[0; 9])).0, E2BIG);
    }

    #[test]
    fn tail_calls_need_a_small_stack_below() {
        let text = "call local f\nexit\nf:\nmov %r0, 0\nlddw %r2, 0\nmov %r3, 0\ncall 12\nexit";
        assert!(walk(text, &[240, 272]).is_ok());
        assert_eq!(
            message(walk(text, &[248, 0])),
            (
                EACCES,
                "tail_calls are not allowed when call stack of previous frames is 256 bytes. Too large"
                    .into()
            )
        );
        // The main function's own tail calls are not limited.
        let main = "lddw %r2, 0\nmov %r3, 0\ncall 12\ncall local f\nexit\nf:\nmov %r0, 0\nexit";
        assert!(walk(main, &[512, 0]).is_ok());
        // The rule is met before the callee's own stack is added.
        assert_eq!(message(walk(text, &[256, 512])).0, EACCES);
        assert!(message(walk(text, &[256, 512])).1.starts_with("tail_calls"));
    }

    #[test]
    fn wide_call_trees_are_walked_once_per_entry() {
        // Eight functions, each calling the next 200 times: 200^7 chains,
        // which the walk must not enumerate.
        let mut text = String::new();
        for k in 1..=7 {
            for _ in 0..200 {
                text.push_str(&alloc::format!("call local f{k}\n"));
            }
            text.push_str(&alloc::format!("mov %r0, 0\nexit\nf{k}:\n"));
        }
        text.push_str("mov %r0, 0\nexit");
        assert!(walk(&text, &[16; 8]).is_ok());
        // And still finds a limit deep inside: the last function's stack
        // pushes the innermost chain past 512 bytes.
        let mut depth = [16; 8];
        depth[7] = 512 - 16 * 7 + 1;
        assert_eq!(
            message(walk(&text, &depth)).1,
            "combined stack size of 8 calls is 528. Too large"
        );
    }
}
