//! Loads, stores and atomics: the checks per pointer kind (context fields
//! of the program type, map values, packets, ring-buffer memory; the
//! stack's are `stack`'s), bounds with variable offsets, and the legacy
//! packet loads (`ldabs`, `ldind`).

use super::{VResult, Verifier, acc, inval, sized_unknown};
use crate::bounds::Scalar;
use crate::log::tnum_text;
use crate::platform::{CtxField, FieldKind, ProgType};
use crate::state::{RegState, RegType, State};
use crate::tnum::Tnum;
use alloc::format;
use alloc::string::String;
use axiom_abi::instruction::{AtomicOp, Operand, PacketMode, Reg, Size};
use axiom_abi::uapi::limits::BPF_MAX_VAR_OFF;

/// A load or a store of a value.
#[derive(Clone, Copy)]
pub(super) enum Access {
    Read,
    Write(RegState),
}

impl Verifier<'_> {
    /// A load: `dst = *(size *)(src + off)`, sign-extended if `signed`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn load(
        &mut self,
        st: &mut State,
        pc: usize,
        size: Size,
        signed: bool,
        dst: Reg,
        src: Reg,
        off: i16,
    ) -> VResult<()> {
        let base = self.read(st, pc, src)?.ty;
        let mut v = self.mem_access(st, pc, src, off, size.bytes(), Access::Read)?;
        if signed && base == RegType::Ctx && v.ty != RegType::Scalar {
            // Pointer fields cannot be sign-extended.
            return Err(acc(
                pc,
                format!("invalid bpf_context access off={off} size={}", size.bytes()),
            ));
        }
        if signed && v.ty == RegType::Scalar {
            v = RegState::scalar(Scalar::sext(size.bytes() as u32 * 8, &v.var));
        }
        self.set(st, pc, dst, v)
    }

    /// A store: `*(size *)(dst + off) = src`.
    pub(super) fn store(
        &mut self,
        st: &mut State,
        pc: usize,
        size: Size,
        dst: Reg,
        off: i16,
        src: Operand,
    ) -> VResult<()> {
        let value = match src {
            Operand::Reg(r) => self.read(st, pc, r)?,
            Operand::Imm(i) => RegState::scalar(Scalar::constant(i as i64 as u64)),
        };
        self.mem_access(st, pc, dst, off, size.bytes(), Access::Write(value))?;
        Ok(())
    }

    /// An atomic read-modify-write at `dst + off`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn atomic(
        &mut self,
        st: &mut State,
        pc: usize,
        size: Size,
        op: AtomicOp,
        dst: Reg,
        src: Reg,
        off: i16,
    ) -> VResult<()> {
        let v = self.read(st, pc, src)?;
        if op == AtomicOp::CmpXchg {
            self.read(st, pc, Reg::R0)?;
        }
        let base = self.read(st, pc, dst)?;
        if !matches!(
            base.ty,
            RegType::Stack { .. } | RegType::MapValue { .. } | RegType::Mem { .. }
        ) {
            return Err(acc(
                pc,
                format!(
                    "BPF_ATOMIC stores into R{} {} is not allowed",
                    dst.num(),
                    base.ty.linux_name()
                ),
            ));
        }
        // Atomics are always aligned (Linux checks them strictly
        // even where plain accesses need not be).
        let desc = match base.ty {
            RegType::MapValue { .. } => "value ",
            RegType::Mem { .. } => "",
            _ => "stack ",
        };
        let at = base.var.var_off.add(Tnum::constant((base.off as i64 + off as i64) as u64));
        if !at.is_aligned(size.bytes() as u64) {
            return Err(acc(
                pc,
                format!(
                    "misaligned {desc}access off {}+{}+{off} size {}",
                    tnum_text(base.var.var_off),
                    base.off,
                    size.bytes()
                ),
            ));
        }
        let old = self.mem_access(st, pc, dst, off, size.bytes(), Access::Read)?;
        let stored =
            if v.ty == RegType::Scalar { RegState::scalar(sized_unknown(size.bytes())) } else { v };
        self.mem_access(st, pc, dst, off, size.bytes(), Access::Write(stored))?;
        let fetched = RegState::scalar(if old.ty == RegType::Scalar {
            sized_unknown(size.bytes())
        } else {
            Scalar::UNKNOWN
        });
        match op {
            AtomicOp::CmpXchg => self.set(st, pc, Reg::R0, fetched)?,
            op if op.fetches() => self.set(st, pc, src, fetched)?,
            _ => {}
        }
        Ok(())
    }

    /// A legacy packet load (`ldabs`, `ldind`): `r0` from the packet of
    /// the context in `r6`.
    pub(super) fn load_packet(
        &mut self,
        st: &mut State,
        pc: usize,
        mode: PacketMode,
        size: Size,
    ) -> VResult<()> {
        if !self.prog.ld_abs {
            return Err(inval(
                pc,
                "BPF_LD_[ABS|IND] instructions not allowed for this program type".into(),
            ));
        }
        if st.cur().regs[6].ty != RegType::Ctx {
            return Err(inval(pc, "at the time of BPF_LD_ABS|IND R6 != pointer to skb".into()));
        }
        if !st.refs.is_empty() {
            return Err(inval(
                pc,
                "BPF_LD_[ABS|IND] cannot be mixed with socket references".into(),
            ));
        }
        if let PacketMode::Ind(r) = mode {
            self.read(st, pc, r)?;
        }
        let f = st.cur_mut();
        for r in 1..=5 {
            f.regs[r] = RegState::NOT_INIT;
        }
        f.regs[0] = RegState::scalar(sized_unknown(size.bytes()));
        Ok(())
    }

    /// Checks a load or store through `base + off`; returns the loaded
    /// value (for writes, the unchanged value).
    pub(super) fn mem_access(
        &mut self,
        st: &mut State,
        pc: usize,
        base: Reg,
        off: i16,
        size: usize,
        access: Access,
    ) -> VResult<RegState> {
        let reg = self.read(st, pc, base)?;
        let r = base.num();
        let off = off as i64;
        let write = matches!(access, Access::Write(_));
        match reg.ty {
            RegType::Stack { frame } => {
                self.stack_access(st, pc, r, frame, &reg, off, size, access)
            }
            RegType::Ctx => {
                if self.ctx_accesses.last() != Some(&pc) {
                    self.ctx_accesses.push(pc);
                }
                if reg.off < 0 {
                    return Err(acc(
                        pc,
                        format!("negative offset ctx ptr R{r} off={} disallowed", reg.off),
                    ));
                }
                if reg.off != 0 {
                    return Err(acc(
                        pc,
                        format!("dereference of modified ctx ptr R{r} off={} disallowed", reg.off),
                    ));
                }
                if reg.var.as_const() != Some(0) {
                    return Err(acc(
                        pc,
                        format!(
                            "variable ctx access var_off={} disallowed",
                            tnum_text(reg.var.var_off)
                        ),
                    ));
                }
                let field = ctx_field(self.prog, off, size, write).ok_or_else(|| {
                    acc(pc, format!("invalid bpf_context access off={off} size={size}"))
                })?;
                // Pointers may be stored in writable fields, as Linux lets
                // privileged programs do.
                if let Access::Write(v) = access {
                    return Ok(v);
                }
                Ok(match field.kind {
                    FieldKind::Scalar => RegState::scalar(sized_unknown(size)),
                    FieldKind::PacketData => RegState::pointer(RegType::Packet),
                    FieldKind::PacketEnd => RegState::pointer(RegType::PacketEnd),
                    FieldKind::PacketMeta => RegState::pointer(RegType::PacketMeta),
                })
            }
            RegType::MapValue { map } => {
                let info = self.maps[map as usize].1;
                if write && info.read_only {
                    return Err(acc(
                        pc,
                        format!(
                            "write into map forbidden, value_size={} off={} size={size}",
                            info.value_size,
                            reg.off as i64 + off
                        ),
                    ));
                }
                let base_off = reg.off as i64 + off;
                self.bounded_access(pc, r, &reg, base_off, size, info.value_size as i64, |o| {
                    format!(
                        "invalid access to map value, value_size={} off={o} size={size}",
                        info.value_size
                    )
                })?;
                Ok(match access {
                    Access::Write(v) => v,
                    Access::Read => RegState::scalar(sized_unknown(size)),
                })
            }
            RegType::Packet | RegType::PacketMeta => {
                // The range was learnt for pointers sharing this one's
                // variable part: only the fixed offset counts against it.
                if reg.var.smin < 0 {
                    return Err(acc(
                        pc,
                        format!(
                            "R{r} min value is negative, either use unsigned index or do a if (index >=0) check."
                        ),
                    ));
                }
                let o = reg.off as i64 + off;
                if o < 0 || o + size as i64 > reg.range as i64 {
                    let (id, range) = (reg.id, reg.range);
                    self.log.line(&format!(
                        "invalid access to packet, off={o} size={size}, R{r}(id={id},off={o},r={range})"
                    ));
                    return Err(acc(pc, format!("R{r} offset is outside of the packet")));
                }
                Ok(match access {
                    Access::Write(v) => v,
                    Access::Read => RegState::scalar(sized_unknown(size)),
                })
            }
            RegType::Mem { size: mem_size } => {
                let base_off = reg.off as i64 + off;
                self.bounded_access(pc, r, &reg, base_off, size, mem_size as i64, |o| {
                    format!("invalid access to memory, mem_size={mem_size} off={o} size={size}")
                })?;
                Ok(match access {
                    Access::Write(v) => v,
                    Access::Read => RegState::scalar(sized_unknown(size)),
                })
            }
            ty => Err(acc(pc, format!("R{r} invalid mem access '{}'", ty.linux_name()))),
        }
    }

    /// `[off + var, off + var + size)` within `[0, limit)`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn bounded_access(
        &mut self,
        pc: usize,
        r: u8,
        reg: &RegState,
        off: i64,
        size: usize,
        limit: i64,
        msg: impl Fn(i64) -> String,
    ) -> VResult<()> {
        let var = &reg.var;
        if var.smin < 0 && (var.smin == i64::MIN || off + var.smin < 0) {
            return Err(acc(
                pc,
                format!(
                    "R{r} min value is negative, either use unsigned index or do a if (index >=0) check."
                ),
            ));
        }
        // Linux logs the access, then names the bound that broke it (and,
        // for packets, adds its own last line).
        let packet = matches!(reg.ty, RegType::Packet | RegType::PacketMeta);
        let fail = |this: &mut Self, at: i64, which: &str| {
            this.log.line(&msg(at));
            if packet {
                this.log
                    .line(&format!("R{r} {which} value is outside of the allowed memory range"));
                return acc(pc, format!("R{r} offset is outside of the packet"));
            }
            acc(pc, format!("R{r} {which} value is outside of the allowed memory range"))
        };
        let lo = off + var.smin.max(0);
        if lo < 0 || lo + size as i64 > limit {
            return Err(fail(self, lo, "min"));
        }
        if var.umax >= BPF_MAX_VAR_OFF as u64 {
            return Err(acc(
                pc,
                format!("R{r} unbounded memory access, make sure to bounds check any such access"),
            ));
        }
        let hi = off + var.umax as i64;
        if hi + size as i64 > limit {
            return Err(fail(self, hi, "max"));
        }
        Ok(())
    }
}

/// The context field of `prog` that an access of `size` bytes at `off`
/// may reach, if any.
fn ctx_field(prog: &ProgType, off: i64, size: usize, write: bool) -> Option<CtxField> {
    if off < 0 || off % size as i64 != 0 {
        return None;
    }
    let off = off as u32;
    let size = size as u32;
    let f = prog.fields.iter().find(|f| f.off <= off && off + size <= f.off + f.size)?;
    if write && !f.writable {
        return None;
    }
    if !f.narrow && (off != f.off || size != f.size) {
        return None;
    }
    Some(*f)
}
