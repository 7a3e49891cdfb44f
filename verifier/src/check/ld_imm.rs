//! `lddw`: a 64-bit constant, or a map named by fd or by index (resolved
//! before the exploration, by [`crate::maps`]) as a map pointer or a
//! pointer into its value.

use super::{VResult, Verifier, inval};
use crate::bounds::Scalar;
use crate::state::{RegState, RegType};
use alloc::format;
use axiom_abi::instruction::{Instruction, Pseudo};

impl Verifier<'_> {
    /// The value `lddw` of kind `kind` loads.
    pub(super) fn ld_imm64(
        &mut self,
        pc: usize,
        kind: Pseudo,
        imm: i32,
        next_imm: i32,
    ) -> VResult<RegState> {
        // Every map was resolved (and its direct value checked) before the
        // exploration: the same map is the same number however often it
        // is named.
        let map = |this: &mut Self, by_index: bool| -> VResult<u16> {
            match this.maps.iter().position(|(k, _)| *k == (by_index, imm)) {
                Some(m) => Ok(m as u16),
                None => Err(crate::maps::bad_map(pc, imm, by_index)),
            }
        };
        match kind {
            Pseudo::Imm64 => {
                Ok(RegState::scalar(Scalar::constant(Instruction::imm64(imm, next_imm))))
            }
            Pseudo::MapFd | Pseudo::MapIdx => {
                let m = map(self, kind == Pseudo::MapIdx)?;
                Ok(RegState::pointer(RegType::MapPtr { map: m }))
            }
            Pseudo::MapValue | Pseudo::MapIdxValue => {
                let m = map(self, kind == Pseudo::MapIdxValue)?;
                Ok(RegState { off: next_imm, ..RegState::pointer(RegType::MapValue { map: m }) })
            }
            Pseudo::Func | Pseudo::BtfId => {
                Err(inval(pc, format!("lddw {kind:?} is not supported by Axiom yet")))
            }
        }
    }
}
