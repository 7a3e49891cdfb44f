//! The maps a program names (`lddw` of a map fd, an `fd_array` index, or
//! a map value's address), resolved once before the exploration, as
//! Linux's `resolve_pseudo_ldimm64` does: every named map must exist,
//! a map named many times counts once, a program names at most
//! [`MAX_USED_MAPS`], and a direct value address must lie inside the
//! value of a single-element array.

use crate::error::{E2BIG, EBADF, EINVAL, ENOTSUPP, VerifyError};
use crate::platform::{MapInfo, Platform};
use alloc::format;
use alloc::vec::Vec;
use axiom_abi::instruction::{Instruction, Pseudo};
use axiom_abi::uapi::limits::MAX_USED_MAPS;
use axiom_abi::uapi::types::map_type;

/// A map as the program names it: by index in `fd_array` (true) or by
/// fd, and the number.
pub type MapKey = (bool, i32);

/// Linux's refusal of a `lddw` naming no map.
pub fn bad_map(pc: usize, imm: i32, by_index: bool) -> VerifyError {
    let m = if by_index {
        format!("fd_idx {imm} is not pointing to valid bpf_map")
    } else {
        format!("fd {imm} is not pointing to valid bpf_map")
    };
    VerifyError::new(EBADF, Some(pc), m)
}

/// Resolves every map `insns` name, in instruction order, into `maps`
/// (each once).
pub fn resolve(
    insns: &[Option<Instruction>],
    platform: &dyn Platform,
    maps: &mut Vec<(MapKey, MapInfo)>,
) -> Result<(), VerifyError> {
    for (pc, insn) in insns.iter().enumerate() {
        let Some(Instruction::LoadImm64 { kind, imm, next_imm, .. }) = *insn else { continue };
        let by_index = match kind {
            Pseudo::MapFd | Pseudo::MapValue => false,
            Pseudo::MapIdx | Pseudo::MapIdxValue => true,
            _ => continue,
        };
        let key = (by_index, imm);
        let info = match maps.iter().find(|(k, _)| *k == key) {
            Some((_, info)) => *info,
            None => {
                let info = platform.map(imm, by_index).ok_or_else(|| bad_map(pc, imm, by_index))?;
                if maps.len() >= MAX_USED_MAPS {
                    return Err(VerifyError::new(
                        E2BIG,
                        Some(pc),
                        format!(
                            "The total number of maps per program has reached the limit of {MAX_USED_MAPS}"
                        ),
                    ));
                }
                maps.push((key, info));
                info
            }
        };
        if matches!(kind, Pseudo::MapValue | Pseudo::MapIdxValue) {
            direct_value(pc, &info, next_imm)?;
        }
    }
    Ok(())
}

/// Checks a direct value address: only plain arrays have one in Linux,
/// and only with a single element.
fn direct_value(pc: usize, info: &MapInfo, off: i32) -> Result<(), VerifyError> {
    if info.map_type != map_type::ARRAY {
        return Err(VerifyError::new(
            EINVAL,
            Some(pc),
            "no direct value access support for this map type".into(),
        ));
    }
    let bad = format!(
        "invalid access to map value pointer, value_size={} off={}",
        info.value_size, off as u32
    );
    if info.max_entries != 1 {
        return Err(VerifyError::new(ENOTSUPP, Some(pc), bad));
    }
    if off < 0 || off as u32 >= info.value_size {
        return Err(VerifyError::new(EINVAL, Some(pc), bad));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::{HelperProto, ProgType};
    use axiom_abi::asm::assemble;

    /// Maps 0..count as fds: single-element arrays of 8-byte values.
    struct Maps(i32);

    impl Platform for Maps {
        fn prog_type(&self, _: u32) -> Option<&ProgType> {
            None
        }
        fn helper(&self, _: i32) -> Option<&HelperProto> {
            None
        }
        fn map(&self, imm: i32, by_index: bool) -> Option<MapInfo> {
            (!by_index && (0..self.0).contains(&imm)).then_some(MapInfo {
                map_type: map_type::ARRAY,
                key_size: 4,
                value_size: 8,
                max_entries: 1,
                read_only: false,
            })
        }
    }

    fn resolve_text(text: &str, maps: i32) -> Result<Vec<(MapKey, MapInfo)>, VerifyError> {
        let slots = assemble(text).unwrap();
        let mut insns = alloc::vec![None; slots.len()];
        let mut pc = 0;
        while pc < slots.len() {
            let (i, len) = axiom_abi::instruction::decode(&slots, pc).unwrap();
            insns[pc] = Some(i);
            pc += len;
        }
        let mut out = Vec::new();
        resolve(&insns, &Maps(maps), &mut out).map(|()| out)
    }

    fn naming(count: i32, extra: &str) -> String {
        let mut text = String::new();
        for k in 0..count {
            text.push_str(&format!("lddw %r1, map:{k}\n"));
        }
        text + extra + "mov %r0, 0\nexit"
    }

    #[test]
    fn a_program_names_at_most_64_maps_each_counted_once() {
        assert_eq!(resolve_text(&naming(64, ""), 65).unwrap().len(), 64);
        let again = naming(64, "lddw %r2, map:3\nlddw %r2, mapvalue:5+4\n");
        assert_eq!(resolve_text(&again, 65).unwrap().len(), 64);
        let e = resolve_text(&naming(65, ""), 65).unwrap_err();
        assert_eq!(
            (e.errno, e.pc, e.message.as_str()),
            (E2BIG, Some(128), "The total number of maps per program has reached the limit of 64")
        );
    }

    #[test]
    fn every_named_map_must_exist_and_direct_values_stay_inside() {
        let e = resolve_text("mov %r0, 0\nexit\nlddw %r1, map:7\nexit", 2).unwrap_err();
        assert_eq!((e.errno, e.message.as_str()), (EBADF, "fd 7 is not pointing to valid bpf_map"));
        assert!(resolve_text("lddw %r1, mapvalue:0+7\nmov %r0, 0\nexit", 1).is_ok());
        let e = resolve_text("lddw %r1, mapvalue:0+8\nmov %r0, 0\nexit", 1).unwrap_err();
        assert_eq!(
            (e.errno, e.message.as_str()),
            (EINVAL, "invalid access to map value pointer, value_size=8 off=8")
        );
    }
}
