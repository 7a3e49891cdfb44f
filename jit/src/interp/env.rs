//! [`HostEnv`]: an interpreter environment made of byte regions and a helper
//! table, for tests, conformance runs and tools.

use super::{Env, EnvError, Stack, TailCallSlot};
use alloc::collections::BTreeMap;
use alloc::rc::Rc;
use alloc::vec::Vec;
use axiom_abi::Insn;
use axiom_abi::instruction::{Pseudo, Size};

/// A helper implementation: it gets `r1`..`r5` and the environment's
/// regions and stack for pointer arguments, and returns `r0`.
pub type HelperFn =
    fn(args: [u64; 5], regions: &mut [Region], stack: &mut Stack) -> Result<u64, EnvError>;

/// A block of memory at a virtual address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    /// Address of the first byte.
    pub base: u64,
    /// The bytes.
    pub data: Vec<u8>,
    /// Whether programs may write it.
    pub writable: bool,
}

impl Region {
    fn range(&self, addr: u64, len: usize) -> Option<core::ops::Range<usize>> {
        let start = usize::try_from(addr.checked_sub(self.base)?).ok()?;
        let end = start.checked_add(len)?;
        (end <= self.data.len()).then_some(start..end)
    }
}

/// Regions, helpers and tail-call targets.
#[derive(Default)]
pub struct HostEnv {
    /// The memory programs may touch besides their stack.
    pub regions: Vec<Region>,
    /// Helpers by id.
    pub helpers: BTreeMap<i32, HelperFn>,
    /// Program arrays by address, for `bpf_tail_call`.
    pub prog_arrays: BTreeMap<u64, Vec<Option<Rc<[Insn]>>>>,
    /// Values of `lddw` pseudo forms, by kind and `imm`.
    pub pseudo_values: BTreeMap<(u8, i32), u64>,
}

impl HostEnv {
    /// Adds a region and returns its base address.
    pub fn add_region(&mut self, base: u64, data: Vec<u8>, writable: bool) -> u64 {
        self.regions.push(Region { base, data, writable });
        base
    }

    fn find(&mut self, addr: u64, len: usize) -> Option<(&mut Region, core::ops::Range<usize>)> {
        self.regions.iter_mut().find_map(|r| {
            let range = r.range(addr, len)?;
            Some((r, range))
        })
    }
}

impl Env for HostEnv {
    type Prog = Rc<[Insn]>;

    fn load(&mut self, addr: u64, size: Size) -> Result<u64, EnvError> {
        let (region, range) = self.find(addr, size.bytes()).ok_or(EnvError::OutOfBounds)?;
        let mut b = [0u8; 8];
        b[..size.bytes()].copy_from_slice(&region.data[range]);
        Ok(u64::from_le_bytes(b))
    }

    fn store(&mut self, addr: u64, size: Size, value: u64) -> Result<(), EnvError> {
        let (region, range) = self.find(addr, size.bytes()).ok_or(EnvError::OutOfBounds)?;
        if !region.writable {
            return Err(EnvError::OutOfBounds);
        }
        region.data[range].copy_from_slice(&value.to_le_bytes()[..size.bytes()]);
        Ok(())
    }

    fn call_helper(&mut self, id: i32, args: [u64; 5], stack: &mut Stack) -> Result<u64, EnvError> {
        let f = self.helpers.get(&id).ok_or(EnvError::UnknownHelper)?;
        f(args, &mut self.regions, stack)
    }

    fn resolve_lddw(&mut self, kind: Pseudo, imm: i32, next_imm: i32) -> Result<u64, EnvError> {
        let base = self.pseudo_values.get(&(kind as u8, imm)).ok_or(EnvError::Unresolved)?;
        Ok(match kind {
            Pseudo::MapValue | Pseudo::MapIdxValue => base.wrapping_add(next_imm as u32 as u64),
            _ => *base,
        })
    }

    fn tail_call_target(&mut self, map: u64, index: u32) -> TailCallSlot<Self::Prog> {
        match self.prog_arrays.get(&map).and_then(|a| a.get(index as usize)) {
            None => TailCallSlot::OutOfRange,
            Some(None) => TailCallSlot::Empty,
            Some(Some(p)) => TailCallSlot::Prog(p.clone()),
        }
    }
}
