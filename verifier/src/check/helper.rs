//! Helper calls, checked against the platform's prototype: the program
//! type may call it; each argument's kind (map, key and value buffers,
//! memory with its size, context, ring-buffer record to release, constant
//! allocation size); the map's type; then the result in `r0` and the
//! arguments' registers cleared.

use super::{VResult, Verifier, acc, inval};
use crate::bounds::Scalar;
use crate::platform::{Arg, MapInfo, Ret};
use crate::state::{Ref, RegState, RegType, State};
use alloc::format;
use axiom_abi::instruction::Reg;
use axiom_abi::uapi::helper;
use axiom_abi::uapi::limits::BPF_MAX_VAR_OFF;
use axiom_abi::uapi::types::map_type;

impl Verifier<'_> {
    /// A call of helper `id`.
    pub(super) fn call_helper(&mut self, st: &mut State, pc: usize, id: i32) -> VResult<()> {
        let Some(proto) = self.platform.helper(id).copied() else {
            return Err(inval(pc, format!("invalid func unknown#{id}")));
        };
        if !self.prog.helpers.contains(&id) {
            return Err(inval(
                pc,
                format!("program of this type cannot use helper {}#{id}", proto.name),
            ));
        }
        let mut map: Option<MapInfo> = None;
        let mut alloc_size = 0u32;
        let mut release: Option<u32> = None;
        let regs = st.cur().regs;
        for (i, arg) in proto.args.iter().enumerate() {
            let Some(arg) = *arg else { break };
            let rn = Reg::new(i as u8 + 1).expect("argument registers are r1..r5");
            let reg = self.read(st, pc, rn)?;
            let r = rn.num();
            let expect =
                |want: &str| acc(pc, format!("R{r} type={} expected={want}", reg.ty.linux_name()));
            match arg {
                Arg::Anything => {}
                Arg::MapPtr => {
                    let RegType::MapPtr { map: m } = reg.ty else { return Err(expect("map_ptr")) };
                    map = Some(self.maps[m as usize].1);
                }
                Arg::MapKey | Arg::MapValue | Arg::MapValueUninit => {
                    let info =
                        map.ok_or_else(|| inval(pc, "invalid map_ptr to access map->key".into()))?;
                    let size = if arg == Arg::MapKey { info.key_size } else { info.value_size };
                    if size == 0 {
                        return Err(acc(pc, "invalid zero-sized read".into()));
                    }
                    self.helper_mem(st, pc, rn, &reg, size as usize, arg == Arg::MapValueUninit)?;
                }
                Arg::Mem | Arg::UninitMem => {
                    let size_reg = regs[i + 2];
                    if size_reg.ty != RegType::Scalar {
                        return Err(acc(
                            pc,
                            format!("R{} type={} expected=scalar", r + 1, size_reg.ty.linux_name()),
                        ));
                    }
                    let s = size_reg.var;
                    if s.smin < 0 {
                        return Err(acc(
                            pc,
                            format!(
                                "R{} min value is negative, either use unsigned or 'var &= const'",
                                r + 1
                            ),
                        ));
                    }
                    let zero_ok =
                        proto.args.get(i + 1).copied().flatten() == Some(Arg::ConstSizeOrZero);
                    if s.umin == 0 && !zero_ok {
                        return Err(acc(
                            pc,
                            format!(
                                "R{} invalid zero-sized read: u64=[{},{}]",
                                r + 1,
                                s.umin,
                                s.umax
                            ),
                        ));
                    }
                    if s.umax >= BPF_MAX_VAR_OFF as u64 {
                        return Err(acc(
                            pc,
                            format!(
                                "R{} unbounded memory access, use 'var &= const' or 'if (var < const)'",
                                r + 1
                            ),
                        ));
                    }
                    self.mark_precise(pc, 1 << (r + 1));
                    if s.umax > 0 {
                        self.helper_mem(st, pc, rn, &reg, s.umax as usize, arg == Arg::UninitMem)?;
                    }
                }
                Arg::ConstSize | Arg::ConstSizeOrZero => {}
                Arg::Ctx => {
                    if reg.ty != RegType::Ctx || reg.off != 0 {
                        return Err(expect("ctx"));
                    }
                }
                Arg::RingbufMem => {
                    let RegType::Mem { .. } = reg.ty else { return Err(expect("ringbuf_mem")) };
                    if reg.ref_id == 0 {
                        return Err(expect("ringbuf_mem"));
                    }
                    // A record is released by its start alone: a moved
                    // pointer would make the helper trust the program's
                    // data as the record's header (CVE-2021-4204).
                    if reg.off != 0 {
                        return Err(inval(
                            pc,
                            format!(
                                "R{r} must have zero offset when passed to release func or trusted arg to kfunc"
                            ),
                        ));
                    }
                    if reg.var.as_const() != Some(0) {
                        let t = reg.var.var_off;
                        return Err(acc(
                            pc,
                            format!(
                                "variable {} access var_off=({:#x}; {:#x}) disallowed",
                                reg.ty.linux_name(),
                                t.value,
                                t.mask
                            ),
                        ));
                    }
                    release = Some(reg.ref_id);
                }
                Arg::ConstAlloc => {
                    let Some(c) = (reg.ty == RegType::Scalar).then(|| reg.var.as_const()).flatten()
                    else {
                        return Err(acc(pc, format!("R{r} is not a known constant'")));
                    };
                    alloc_size = c as u32;
                    self.mark_precise(pc, 1 << r);
                }
            }
        }
        // Map compatibility is checked after the arguments, as in Linux.
        if let Some(info) = map {
            let allowed = if proto.map_types.is_empty() {
                // Program arrays and ring buffers only to the helpers that
                // name them.
                !matches!(info.map_type, map_type::PROG_ARRAY | map_type::RINGBUF)
            } else {
                proto.map_types.contains(&info.map_type)
            };
            if !allowed {
                if id == helper::id::TAIL_CALL {
                    return Err(inval(pc, "expected prog array map for tail call".into()));
                }
                return Err(inval(
                    pc,
                    format!("cannot pass map_type {} into func {}#{id}", info.map_type, proto.name),
                ));
            }
        }
        if id == helper::id::TAIL_CALL && !st.refs.is_empty() {
            return Err(inval(pc, "tail_call would lead to reference leak".into()));
        }
        if let Some(ref_id) = release {
            st.refs.retain(|r| r.id != ref_id);
            for f in st.frames.iter_mut() {
                for reg in f.regs.iter_mut() {
                    if reg.ref_id == ref_id {
                        *reg = RegState::scalar(Scalar::UNKNOWN);
                    }
                }
                for slot in f.stack.iter_mut() {
                    if slot.spill.ref_id == ref_id {
                        slot.spill = RegState::scalar(Scalar::UNKNOWN);
                    }
                }
            }
        }
        let r0 = match proto.ret {
            Ret::Integer => RegState::scalar(Scalar::UNKNOWN),
            // Linux leaves r0 unreadable after a helper that returns nothing.
            Ret::Void => RegState::NOT_INIT,
            Ret::CpuId => RegState::scalar(match self.platform.possible_cpus() {
                Some(n) if n > 0 => Scalar::unsigned_range(0, u64::from(n) - 1),
                _ => Scalar::UNKNOWN,
            }),
            Ret::MapValueOrNull => {
                let m = self.maps.len().saturating_sub(1) as u16;
                // The map is the one passed in r1: find its number.
                let m = match st.cur().regs[1].ty {
                    RegType::MapPtr { map } => map,
                    _ => m,
                };
                RegState {
                    id: self.new_id(),
                    ..RegState::pointer(RegType::MapValueOrNull { map: m })
                }
            }
            Ret::AllocMemOrNull => {
                let id = self.new_id();
                st.refs.push(Ref { id, insn: pc });
                RegState {
                    id,
                    ref_id: id,
                    ..RegState::pointer(RegType::MemOrNull { size: alloc_size })
                }
            }
        };
        let f = st.cur_mut();
        f.regs[0] = r0;
        for r in 1..=5 {
            f.regs[r] = RegState::NOT_INIT;
        }
        Ok(())
    }

    /// A helper reads (or, `uninit`, writes) `size` bytes at register `rn`.
    fn helper_mem(
        &mut self,
        st: &mut State,
        pc: usize,
        rn: Reg,
        reg: &RegState,
        size: usize,
        uninit: bool,
    ) -> VResult<()> {
        let r = rn.num();
        match reg.ty {
            RegType::Stack { frame } => {
                self.helper_stack_access(st, pc, r, frame, reg, size, uninit)
            }
            RegType::MapValue { .. } | RegType::Packet | RegType::Mem { .. } => {
                // The whole range, checked as one access of `size` bytes.
                let (limit, name) = match reg.ty {
                    RegType::MapValue { map } => {
                        let info = self.maps[map as usize].1;
                        if uninit && info.read_only {
                            return Err(acc(pc, "write into map forbidden".into()));
                        }
                        (info.value_size as i64, "map value")
                    }
                    RegType::Packet => (reg.range as i64, "packet"),
                    RegType::Mem { size } => (size as i64, "memory"),
                    _ => (0, "memory"),
                };
                self.bounded_access(pc, r, reg, reg.off as i64, size, limit, |o| {
                    format!("invalid access to {name}, off={o} size={size}")
                })
            }
            _ => Err(acc(
                pc,
                format!(
                    "R{r} type={} expected=fp, pkt, pkt_meta, map_key, map_value, mem, ringbuf_mem, buf, trusted_ptr_",
                    reg.ty.linux_name()
                ),
            )),
        }
    }
}
