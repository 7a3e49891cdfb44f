//! The stack: loads and stores at constant and variable offsets, spills
//! and fills of registers (narrow ones too, as Linux allows privileged
//! programs), helpers reading and writing stack buffers, and each
//! function's stack depth.

use super::mem::Access;
use super::{VResult, Verifier, acc, inval, sized_unknown};
use crate::bounds::Scalar;
use crate::log::tnum_text;
use crate::state::{ByteKind, Frame, RegState, RegType, Slot, State};
use crate::tnum::Tnum;
use alloc::format;
use axiom_abi::uapi::limits::{BPF_MAX_VAR_OFF, MAX_BPF_STACK};

impl Verifier<'_> {
    /// A load or store at `off` from `reg`, a pointer into the stack of
    /// frame `frame`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn stack_access(
        &mut self,
        st: &mut State,
        pc: usize,
        r: u8,
        frame: u8,
        reg: &RegState,
        off: i64,
        size: usize,
        access: Access,
    ) -> VResult<RegState> {
        let write = matches!(access, Access::Write(_));
        let fixed = reg.off as i64 + off;
        // Stack accesses are always aligned (Linux's strict check).
        if !reg.var.var_off.add(Tnum::constant(fixed as u64)).is_aligned(size as u64) {
            return Err(acc(
                pc,
                format!(
                    "misaligned stack access off {}+{}+{off} size {size}",
                    tnum_text(reg.var.var_off),
                    reg.off
                ),
            ));
        }
        if frame as usize >= st.frames.len() {
            // Ruled out by the checks below and at exits; refused
            // rather than trusted.
            return Err(acc(pc, format!("R{r} points into a returned frame")));
        }
        if let Access::Write(v) = access {
            if v.ty.is_pointer() && size != 8 {
                return Err(acc(pc, "invalid size of register spill".into()));
            }
            if matches!(v.ty, RegType::Stack { .. }) && frame as usize + 1 != st.frames.len() {
                return Err(inval(
                    pc,
                    "cannot spill pointers to stack into stack frame of the caller".into(),
                ));
            }
        }
        let Some(c) = reg.var.as_const() else {
            return self.stack_var_access(st, pc, r, frame, reg, fixed, size, access);
        };
        let total = fixed + c as i64;
        if total < -(MAX_BPF_STACK as i64) || total + size as i64 > 0 {
            return Err(acc(
                pc,
                if write {
                    format!("invalid write to stack R{r} off={total} size={size}")
                } else {
                    format!("invalid read from stack R{r} off={total} size={size}")
                },
            ));
        }
        self.note_stack_depth(st, frame, total);
        if self.log.level >= 1 && frame as usize + 1 == st.frames.len() {
            self.scratch_slots |= 1 << ((-total - 1) / 8);
        }
        let f = &mut st.frames[frame as usize];
        match access {
            Access::Write(v) => {
                stack_write(f, total, size, v);
                Ok(v)
            }
            Access::Read => {
                stack_read(f, total, size, self.allow_uninit_stack).map_err(|e| match e {
                    StackReadError::Uninit(i) => {
                        acc(pc, format!("invalid read from stack R{r} off {total}+{i} size {size}"))
                    }
                    StackReadError::FillSize => acc(pc, "invalid size of register fill".into()),
                })
            }
        }
    }

    /// A helper reads (or, `uninit`, writes) `size` bytes of the stack of
    /// frame `frame` at `reg`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn helper_stack_access(
        &mut self,
        st: &mut State,
        pc: usize,
        r: u8,
        frame: u8,
        reg: &RegState,
        size: usize,
        uninit: bool,
    ) -> VResult<()> {
        let Some(c) = reg.var.as_const() else {
            // Linux lets a helper reach a variable stack range only
            // to read it, never as memory it fills.
            let (lo, hi) = self.stack_var_bounds(
                pc,
                r,
                reg,
                reg.off as i64,
                size,
                if uninit { " write to" } else { " read from" },
            )?;
            self.note_stack_depth(st, frame, lo);
            let f = &mut st.frames[frame as usize];
            for o in lo..hi {
                let (si, b) = locate(o);
                let slot = f.slot_mut(si);
                if uninit {
                    // The helper may write any of these bytes.
                    if slot.bytes[b] == ByteKind::Spill {
                        scrub_spill(slot);
                    }
                    if slot.bytes[b] == ByteKind::Zero {
                        slot.bytes[b] = ByteKind::Misc;
                    }
                }
                if !self.allow_uninit_stack && slot.bytes[b] == ByteKind::Invalid {
                    return Err(acc(
                        pc,
                        format!(
                            "invalid indirect read from stack R{r} var_off {}+{} size {size}",
                            tnum_text(reg.var.var_off),
                            reg.off
                        ),
                    ));
                }
            }
            return Ok(());
        };
        let start = reg.off as i64 + c as i64;
        let what = if uninit { "write to" } else { "read from" };
        let message = format!("invalid {what} stack R{r} off={start} size={size}");
        if start < -(MAX_BPF_STACK as i64) {
            return Err(acc(pc, message));
        }
        if start + size as i64 > 0 {
            return Err(inval(pc, message));
        }
        let f = &mut st.frames[frame as usize];
        let fi = self.cfg.subprog_of(f.subprog);
        self.depth[fi] = self.depth[fi].max((-start) as u32);
        for o in start..start + size as i64 {
            let (slot, byte) = locate(o);
            if uninit {
                let s = f.slot_mut(slot);
                if s.bytes[byte] == ByteKind::Spill {
                    for b in s.bytes.iter_mut() {
                        if *b == ByteKind::Spill {
                            *b = ByteKind::Misc;
                        }
                    }
                }
                s.bytes[byte] = ByteKind::Misc;
            } else if !self.allow_uninit_stack && f.slot(slot).bytes[byte] == ByteKind::Invalid {
                return Err(acc(
                    pc,
                    format!(
                        "invalid indirect read from stack R{r} off {start}+{} size {size}",
                        o - start
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Records that the frame's function uses the stack down to `lowest`.
    fn note_stack_depth(&mut self, st: &mut State, frame: u8, lowest: i64) {
        let f = &mut st.frames[frame as usize];
        f.depth = f.depth.max((-lowest) as u32);
        let fi = self.cfg.subprog_of(f.subprog);
        self.depth[fi] = self.depth[fi].max((-lowest) as u32);
    }

    /// A load or store at a variable stack offset (`fixed` plus the
    /// register's variable part), as Linux allows privileged programs: every
    /// byte it may touch must lie inside the stack; a store turns them all
    /// into data (keeping known zeros and spilled zeros when it writes
    /// zero), a load returns an unknown value (zero if every byte is zero).
    #[allow(clippy::too_many_arguments)]
    fn stack_var_access(
        &mut self,
        st: &mut State,
        pc: usize,
        r: u8,
        frame: u8,
        reg: &RegState,
        fixed: i64,
        size: usize,
        access: Access,
    ) -> VResult<RegState> {
        let what = match access {
            Access::Write(_) => " write to",
            Access::Read => " read from",
        };
        let (lo, hi) = self.stack_var_bounds(pc, r, reg, fixed, size, what)?;
        self.note_stack_depth(st, frame, lo);
        let f = &mut st.frames[frame as usize];
        match access {
            Access::Write(v) => {
                let zero = v.is_zero();
                for o in lo..hi {
                    let (si, b) = locate(o);
                    let slot = f.slot_mut(si);
                    if slot.bytes[b] == ByteKind::Spill {
                        if zero && slot.spill.is_zero() {
                            continue;
                        }
                        scrub_spill(slot);
                    }
                    slot.bytes[b] = if zero && slot.bytes[b] == ByteKind::Zero {
                        ByteKind::Zero
                    } else {
                        ByteKind::Misc
                    };
                }
                Ok(v)
            }
            Access::Read => {
                let mut all_zero = true;
                for o in lo..hi {
                    let (si, b) = locate(o);
                    let slot = f.slot(si);
                    match slot.bytes[b] {
                        ByteKind::Invalid if !self.allow_uninit_stack => {
                            return Err(acc(
                                pc,
                                format!(
                                    "invalid read from stack R{r} var_off {}+{fixed} size {size}",
                                    tnum_text(reg.var.var_off)
                                ),
                            ));
                        }
                        ByteKind::Zero => {}
                        ByteKind::Spill if slot.spill.is_zero() => {}
                        _ => all_zero = false,
                    }
                }
                Ok(RegState::scalar(if all_zero {
                    Scalar::constant(0)
                } else {
                    sized_unknown(size)
                }))
            }
        }
    }

    /// The byte range `[lo, hi)` a variable-offset stack access may touch,
    /// or Linux's error when it may leave the stack.
    fn stack_var_bounds(
        &self,
        pc: usize,
        r: u8,
        reg: &RegState,
        fixed: i64,
        size: usize,
        what: &str,
    ) -> VResult<(i64, i64)> {
        let v = &reg.var;
        if v.smax >= BPF_MAX_VAR_OFF || v.smin <= -BPF_MAX_VAR_OFF {
            return Err(acc(pc, format!("invalid unbounded variable-offset{what} stack R{r}")));
        }
        let (lo, hi) = (v.smin + fixed, v.smax + fixed + size as i64);
        let message = || {
            format!(
                "invalid variable-offset{what} stack R{r} var_off={} off={fixed} size={size}",
                tnum_text(v.var_off)
            )
        };
        // Below the stack is unsafe; above the frame, malformed (Linux's
        // errnos).
        if lo < -(MAX_BPF_STACK as i64) {
            return Err(acc(pc, message()));
        }
        if hi > 0 {
            return Err(inval(pc, message()));
        }
        Ok((lo, hi))
    }
}

/// Slot and byte index of stack offset `o` (negative).
fn locate(o: i64) -> (usize, usize) {
    let slot = ((-o - 1) / 8) as usize;
    let byte = (o + 8 * (slot as i64 + 1)) as usize;
    (slot, byte)
}

/// A spilled register's slot becomes plain data: its spilled bytes are
/// now unknown data (Linux's `scrub_spilled_slot`).
fn scrub_spill(slot: &mut Slot) {
    for b in slot.bytes.iter_mut() {
        if *b != ByteKind::Invalid {
            *b = ByteKind::Misc;
        }
    }
    slot.spill = RegState::NOT_INIT;
}

/// A store of `size` bytes at stack offset `o` (aligned). As Linux does for
/// privileged programs, a store at the start of a slot spills the register:
/// any pointer (8 bytes) or any scalar, of any size, which a fill of the
/// same or a narrower size at the slot's start gives back.
fn stack_write(f: &mut Frame, o: i64, size: usize, v: RegState) {
    let (slot, byte) = locate(o);
    let s = f.slot_mut(slot);
    if byte == 0 && (size == 8 || v.ty == RegType::Scalar) {
        for b in s.bytes[size..].iter_mut() {
            if *b == ByteKind::Spill {
                *b = ByteKind::Misc;
            }
        }
        s.bytes[..size].fill(ByteKind::Spill);
        s.spill = v;
        return;
    }
    if s.bytes[0] == ByteKind::Spill {
        scrub_spill(s);
    }
    let kind = if v.is_zero() { ByteKind::Zero } else { ByteKind::Misc };
    s.bytes[byte..byte + size].fill(kind);
}

/// Why a stack load is refused.
enum StackReadError {
    /// The byte at this distance from the highest one was never written.
    Uninit(i64),
    /// A narrow load of part of a spilled pointer.
    FillSize,
}

/// The value of a `size`-byte load at stack offset `o` (aligned), as Linux
/// computes it: a fill of a spilled register at the slot's start gives the
/// register (a narrower one its low bytes); any other load gives an unknown
/// value, or zero when every byte is a known zero.
fn stack_read(
    f: &Frame,
    o: i64,
    size: usize,
    allow_uninit: bool,
) -> Result<RegState, StackReadError> {
    let (slot, byte) = locate(o);
    let s = f.slot(slot);
    if s.bytes[0] == ByteKind::Spill {
        let spill_size = s.bytes.iter().take_while(|b| **b == ByteKind::Spill).count();
        if size == 8 && spill_size == 8 {
            return Ok(s.spill);
        }
        if s.spill.ty != RegType::Scalar {
            return Err(StackReadError::FillSize);
        }
        if size <= spill_size && byte == 0 {
            return Ok(RegState::scalar(truncate(s.spill.var, size)));
        }
    }
    let (mut zeros, mut spills) = (0, 0);
    for k in (0..size).rev() {
        match s.bytes[byte + k] {
            ByteKind::Invalid if !allow_uninit => {
                return Err(StackReadError::Uninit((size - 1 - k) as i64));
            }
            ByteKind::Zero => zeros += 1,
            ByteKind::Spill => spills += 1,
            _ => {}
        }
    }
    let zero = zeros == size || (spills == size && s.spill.is_zero());
    Ok(RegState::scalar(if zero { Scalar::constant(0) } else { sized_unknown(size) }))
}

/// The low `size` bytes of `v`, zero-extended (Linux's
/// `coerce_reg_to_size`).
fn truncate(v: Scalar, size: usize) -> Scalar {
    if size >= 8 || v.umax >> (size * 8) == 0 {
        return v;
    }
    Scalar::from_tnum(v.var_off.cast(size as u32))
}
