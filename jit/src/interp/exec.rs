//! The interpreter's execution loop.

use super::{Env, EnvError, Fault, Stack, TailCallSlot};
use alloc::vec::Vec;
use axiom_abi::alu;
use axiom_abi::instruction::{
    CallTarget, EndianOp, Instruction, Operand, PacketMode, Pseudo, Reg, Size, Width, decode,
};
use axiom_abi::uapi::helper;
use axiom_abi::uapi::limits::{MAX_CALL_FRAMES, MAX_TAIL_CALL_CNT};

/// Interpreter settings.
#[derive(Clone, Copy, Debug)]
pub struct Interpreter {
    /// Maximum instructions executed in one run before it stops with
    /// [`Fault::BudgetExhausted`].
    pub budget: u64,
}

impl Default for Interpreter {
    fn default() -> Self {
        Self { budget: 1 << 24 }
    }
}

/// The result of a run that reached its final `exit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The full 64-bit `r0`.
    pub r0: u64,
    /// Instructions executed.
    pub executed: u64,
    /// Tail calls taken.
    pub tail_calls: u32,
}

/// A caller's state saved by a bpf-to-bpf call.
struct Frame<P> {
    prog: P,
    return_pc: usize,
    callee_saved: [u64; 4],
}

impl Interpreter {
    /// Runs `prog` with `r1`..`r5` set from `args` (missing ones are 0) and
    /// `r10` at the top of a zeroed stack.
    pub fn run<E: Env>(&self, env: &mut E, prog: E::Prog, args: &[u64]) -> Result<Outcome, Fault> {
        let mut stack = Stack::new();
        let mut regs = [0u64; Reg::COUNT];
        for (i, a) in args.iter().take(5).enumerate() {
            regs[i + 1] = *a;
        }
        regs[10] = Stack::frame_pointer(0);
        let mut frames: Vec<Frame<E::Prog>> = Vec::new();
        let mut prog = prog;
        let mut pc = 0usize;
        let mut executed = 0u64;
        let mut tail_calls = 0u32;

        loop {
            if executed >= self.budget {
                return Err(Fault::BudgetExhausted { executed });
            }
            executed += 1;
            let slots = prog.as_ref();
            if pc >= slots.len() {
                return Err(Fault::PcOutOfRange { pc });
            }
            let (insn, len) = decode(slots, pc).map_err(Fault::Decode)?;
            let here = pc;
            pc += len;
            let env_err = |e: EnvError, addr: u64, len: usize, write: bool| match e {
                EnvError::OutOfBounds => Fault::OutOfBounds { pc: here, addr, len, write },
                EnvError::UnknownHelper => Fault::UnknownHelper { pc: here, id: 0 },
                EnvError::Helper(reason) => Fault::Helper { pc: here, reason },
                EnvError::Unresolved => Fault::Unresolved { pc: here, kind: Pseudo::Imm64 },
                EnvError::NoPacket => Fault::NoPacket { pc: here },
            };
            let set = |regs: &mut [u64; Reg::COUNT], r: Reg, v: u64| {
                if r == Reg::R10 {
                    return Err(Fault::FramePointerWrite { pc: here });
                }
                regs[r.idx()] = v;
                Ok(())
            };
            // `callx` calls the helper whose id is in its register.
            let insn = match insn {
                Instruction::CallX { reg } => {
                    let v = regs[reg.idx()];
                    let id = i32::try_from(v as i64)
                        .map_err(|_| Fault::UnknownHelper { pc: here, id: v as i64 })?;
                    Instruction::Call(CallTarget::Helper(id))
                }
                other => other,
            };
            match insn {
                Instruction::CallX { .. } => unreachable_callx(here)?,
                Instruction::Alu { width, op, dst, src } => {
                    let b = match src {
                        Operand::Reg(r) => regs[r.idx()],
                        Operand::Imm(i) => i as i64 as u64,
                    };
                    let v = alu::alu(width, op, regs[dst.idx()], b);
                    set(&mut regs, dst, v)?;
                }
                Instruction::MovSx { width, dst, src, bits } => {
                    let v = alu::movsx(width, bits, regs[src.idx()]);
                    set(&mut regs, dst, v)?;
                }
                Instruction::Neg { width, dst } => {
                    let v = alu::neg(width, regs[dst.idx()]);
                    set(&mut regs, dst, v)?;
                }
                Instruction::Endian { op, dst, bits } => {
                    let v = alu::endian(op, bits, regs[dst.idx()]);
                    set(&mut regs, dst, v)?;
                }
                Instruction::LoadImm64 { dst, kind, imm, next_imm } => {
                    let v = match kind {
                        Pseudo::Imm64 => Instruction::imm64(imm, next_imm),
                        _ => env.resolve_lddw(kind, imm, next_imm).map_err(|e| match e {
                            EnvError::Unresolved => Fault::Unresolved { pc: here, kind },
                            e => env_err(e, 0, 0, false),
                        })?,
                    };
                    set(&mut regs, dst, v)?;
                }
                Instruction::LoadPacket { mode, size, imm } => {
                    let base = match mode {
                        PacketMode::Abs => 0,
                        PacketMode::Ind(r) => regs[r.idx()] as i32,
                    };
                    let off = base.wrapping_add(imm);
                    let loaded = if off < 0 {
                        None
                    } else {
                        env.load_packet(off as u64, size)
                            .map_err(|e| env_err(e, off as u64, size.bytes(), false))?
                    };
                    match loaded {
                        Some(raw) => {
                            // Packet data is in network byte order.
                            regs[0] = match size {
                                Size::B => raw as u8 as u64,
                                Size::H => alu::endian(EndianOp::ToBe, 16, raw),
                                _ => alu::endian(EndianOp::ToBe, 32, raw),
                            };
                        }
                        None => {
                            // Linux ends the program with r0 = 0.
                            return Ok(Outcome { r0: 0, executed, tail_calls });
                        }
                    }
                }
                Instruction::Load { size, signed, dst, src, off } => {
                    let addr = regs[src.idx()].wrapping_add(off as i64 as u64);
                    let raw = mem_load(env, &stack, addr, size)
                        .map_err(|e| env_err(e, addr, size.bytes(), false))?;
                    let v =
                        if signed { alu::sign_extend(size.bytes() as u8 * 8, raw) } else { raw };
                    set(&mut regs, dst, v)?;
                }
                Instruction::Store { size, dst, off, src } => {
                    let addr = regs[dst.idx()].wrapping_add(off as i64 as u64);
                    let v = match src {
                        Operand::Reg(r) => regs[r.idx()],
                        Operand::Imm(i) => i as i64 as u64,
                    };
                    mem_store(env, &mut stack, addr, size, v)
                        .map_err(|e| env_err(e, addr, size.bytes(), true))?;
                }
                Instruction::Atomic { size, op, dst, src, off } => {
                    let addr = regs[dst.idx()].wrapping_add(off as i64 as u64);
                    let operand = regs[src.idx()];
                    let expected = regs[0];
                    let old = if let Some(bytes) = stack.get_mut(addr, size.bytes()) {
                        let old = read_le(bytes);
                        if let Some(new) = super::atomic_result(op, size, old, operand, expected) {
                            write_le(bytes, new);
                        }
                        old
                    } else {
                        env.atomic(addr, size, op, operand, expected)
                            .map_err(|e| env_err(e, addr, size.bytes(), true))?
                    };
                    match op {
                        axiom_abi::instruction::AtomicOp::CmpXchg => regs[0] = old,
                        op if op.fetches() => set(&mut regs, src, old)?,
                        _ => {}
                    }
                }
                Instruction::Ja { off } => pc = jump(here, off as i64),
                Instruction::Gotol { imm } => pc = jump(here, imm as i64),
                Instruction::Jump { width, cond, dst, src, off } => {
                    let a = regs[dst.idx()];
                    let b = match src {
                        Operand::Reg(r) => regs[r.idx()],
                        Operand::Imm(i) => i as i64 as u64,
                    };
                    let taken = match width {
                        Width::W64 => cond.eval64(a, b),
                        Width::W32 => cond.eval32(a, b),
                    };
                    if taken {
                        pc = jump(here, off as i64);
                    }
                }
                Instruction::Call(CallTarget::Local(rel)) => {
                    if frames.len() + 1 >= MAX_CALL_FRAMES {
                        return Err(Fault::CallDepth { pc: here });
                    }
                    frames.push(Frame {
                        prog: prog.clone(),
                        return_pc: pc,
                        callee_saved: [regs[6], regs[7], regs[8], regs[9]],
                    });
                    regs[10] = Stack::frame_pointer(frames.len());
                    pc = jump(here, rel as i64);
                }
                Instruction::Call(CallTarget::Kfunc { .. }) => {
                    return Err(Fault::Kfunc { pc: here });
                }
                Instruction::Call(CallTarget::Helper(id)) => {
                    let args = [regs[1], regs[2], regs[3], regs[4], regs[5]];
                    // The interpreter performs tail calls itself.
                    if id == helper::id::TAIL_CALL {
                        // Linux's order: the index is checked, then the count is
                        // checked and incremented, then the slot is read.
                        let slot = env.tail_call_target(args[1], args[2] as u32);
                        if !matches!(slot, TailCallSlot::OutOfRange)
                            && tail_calls < MAX_TAIL_CALL_CNT
                        {
                            tail_calls += 1;
                            if let TailCallSlot::Prog(target) = slot {
                                prog = target;
                                pc = 0;
                                regs[1] = args[0];
                                continue;
                            }
                        }
                        // A failed tail call falls through and leaves r0 alone.
                    } else {
                        let r0 = env.call_helper(id, args, &mut stack).map_err(|e| match e {
                            EnvError::UnknownHelper => {
                                Fault::UnknownHelper { pc: here, id: id as i64 }
                            }
                            e => env_err(e, 0, 0, false),
                        })?;
                        regs[0] = r0;
                    }
                    // r1-r5 are caller-saved: clobber them so no program
                    // can rely on a helper preserving them.
                    regs[1..=5].fill(0);
                }
                Instruction::Exit => match frames.pop() {
                    None => return Ok(Outcome { r0: regs[0], executed, tail_calls }),
                    Some(frame) => {
                        prog = frame.prog;
                        pc = frame.return_pc;
                        regs[6..=9].copy_from_slice(&frame.callee_saved);
                        regs[10] = Stack::frame_pointer(frames.len());
                    }
                },
            }
        }
    }
}

/// `callx` was rewritten into a helper call before dispatch; reaching it is
/// an interpreter bug, reported as a fault rather than a panic.
fn unreachable_callx(pc: usize) -> Result<(), Fault> {
    Err(Fault::Helper { pc, reason: "internal: callx not rewritten" })
}

/// The slot index `off` after the instruction at `pc`; wrapping garbage is
/// caught by the range check at the next fetch.
fn jump(pc: usize, off: i64) -> usize {
    (pc as i64).wrapping_add(1).wrapping_add(off) as usize
}

fn read_le(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    b[..bytes.len()].copy_from_slice(bytes);
    u64::from_le_bytes(b)
}

fn write_le(bytes: &mut [u8], v: u64) {
    let n = bytes.len();
    bytes.copy_from_slice(&v.to_le_bytes()[..n]);
}

fn mem_load<E: Env>(env: &mut E, stack: &Stack, addr: u64, size: Size) -> Result<u64, EnvError> {
    match stack.get(addr, size.bytes()) {
        Some(bytes) => Ok(read_le(bytes)),
        None => env.load(addr, size),
    }
}

fn mem_store<E: Env>(
    env: &mut E,
    stack: &mut Stack,
    addr: u64,
    size: Size,
    v: u64,
) -> Result<(), EnvError> {
    match stack.get_mut(addr, size.bytes()) {
        Some(bytes) => {
            write_le(bytes, v);
            Ok(())
        }
        None => env.store(addr, size, v),
    }
}
