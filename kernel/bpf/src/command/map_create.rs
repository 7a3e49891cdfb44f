//! `BPF_MAP_CREATE`: Linux's checks of a new map's name, kind, shape and
//! flags, the memory it takes up front, then a map object with its id.

use crate::env::{Attr, Env, check_attr};
use crate::maps::{Map, MapSpec};
use crate::object::MapRef;
use crate::registry::{Object, Registry};
use axiom_abi::uapi::attr::MapCreateAttr;
use axiom_abi::uapi::errno::Errno;
use axiom_abi::uapi::types::map_type as mt;

/// A map name: at most 15 bytes of letters, digits, `_` and `.`, NUL after.
fn check_name(name: &[u8; 16]) -> Result<(), Errno> {
    let len = name.iter().position(|&b| b == 0).ok_or(Errno::EINVAL)?;
    if name[..len].iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.') {
        Ok(())
    } else {
        Err(Errno::EINVAL)
    }
}

/// `map_flags` each map kind accepts: `BPF_F_NO_PREALLOC` (1),
/// `BPF_F_NO_COMMON_LRU` (2), `BPF_F_NUMA_NODE` (4), `BPF_F_RDONLY` (8),
/// `BPF_F_WRONLY` (16), `BPF_F_ZERO_SEED` (64), `BPF_F_RDONLY_PROG` (128),
/// `BPF_F_WRONLY_PROG` (256).
fn flags_ok(map_type: u32, flags: u32) -> bool {
    let access = 8 | 16 | 128 | 256;
    let allowed = match map_type {
        mt::HASH | mt::PERCPU_HASH => 1 | 4 | 64 | access,
        mt::LRU_HASH | mt::LRU_PERCPU_HASH => 2 | 4 | access,
        mt::ARRAY | mt::PERCPU_ARRAY => 4 | access,
        mt::PROG_ARRAY => 4 | 8 | 16,
        mt::RINGBUF => 4,
        mt::QUEUE | mt::STACK => 4 | access,
        _ => 0,
    };
    flags & !allowed == 0 && flags & (8 | 16) != (8 | 16) && flags & (128 | 256) != (128 | 256)
}

impl Registry {
    /// `BPF_MAP_CREATE`.
    pub(crate) fn map_create(&self, env: &mut dyn Env, attr: &Attr) -> Result<u64, Errno> {
        check_attr(attr, MapCreateAttr::SIZE)?;
        let a = MapCreateAttr::from_bytes(attr);
        check_name(&a.map_name)?;
        if !flags_ok(a.map_type, a.map_flags) {
            return Err(Errno::EINVAL);
        }
        // Not yet: BTF-described maps, inner maps, offload, tokens.
        if a.btf_fd != 0 || a.inner_map_fd != 0 || a.map_ifindex != 0 || a.map_token_fd != 0 {
            return Err(Errno::EINVAL);
        }
        let spec = MapSpec {
            map_type: a.map_type,
            key_size: a.key_size,
            value_size: a.value_size,
            max_entries: a.max_entries,
            flags: a.map_flags,
        };
        let cpus = env.possible_cpus().max(1) as usize;
        let upfront = match a.map_type {
            mt::ARRAY => (a.max_entries as usize).saturating_mul(a.value_size as usize),
            mt::PERCPU_ARRAY => {
                (a.max_entries as usize).saturating_mul(a.value_size as usize).saturating_mul(cpus)
            }
            mt::PROG_ARRAY => (a.max_entries as usize).saturating_mul(8),
            mt::QUEUE | mt::STACK => (a.max_entries as usize).saturating_mul(a.value_size as usize),
            _ => 0,
        };
        if !env.memory_ok(upfront) {
            return Err(Errno::ENOMEM);
        }
        let object = self.register_map(a.map_name, Map::with_cpus(spec, cpus as u32)?);
        env.install(Object::Map(MapRef::new(object))).map(u64::from)
    }
}
