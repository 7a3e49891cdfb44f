//! What Axiom's verifier is told about this kernel: its program types
//! (Linux's socket filters and XDP, Axiom's hooks), each with its context
//! layout and the helpers it may call, read from [`crate::callable`]'s
//! table, and the maps a program names. `PROG_LOAD` verifies through it,
//! in the kernel and in a host process; tools and tests use it to verify
//! without loading.

use crate::callable::{self, callers, count_for, ids_for};
use alloc::vec::Vec;
use axiom_abi::hooks::prog_type as hook;
use axiom_abi::uapi::types::prog_type;
use axiom_verifier::platform::{HelperProto, MapInfo, Platform, ProgType};
use axiom_verifier::{axiom as hook_ctx, linux as linux_ctx};

const SOCKET_FILTER_N: usize = count_for(callers::SOCKET_FILTER);
const XDP_N: usize = count_for(callers::XDP);
const HOOKS_N: usize = count_for(callers::HOOKS);
/// What each family may call, made from the table at compile time.
static SOCKET_FILTER_HELPERS: [i32; SOCKET_FILTER_N] = ids_for(callers::SOCKET_FILTER);
static XDP_HELPERS: [i32; XDP_N] = ids_for(callers::XDP);
static HOOK_HELPERS: [i32; HOOKS_N] = ids_for(callers::HOOKS);

const fn hook_type(
    name: &'static str,
    fields: &'static [axiom_verifier::platform::CtxField],
) -> ProgType {
    ProgType { name, fields, helpers: &HOOK_HELPERS, ld_abs: false, ret_range: None }
}

/// The program types Axiom loads, by number.
pub static PROG_TYPES: [(u32, ProgType); 6] = [
    (
        prog_type::SOCKET_FILTER,
        ProgType {
            name: "socket_filter",
            fields: linux_ctx::SK_BUFF,
            helpers: &SOCKET_FILTER_HELPERS,
            ld_abs: true,
            ret_range: None,
        },
    ),
    (
        prog_type::XDP,
        ProgType {
            name: "xdp",
            fields: linux_ctx::XDP_MD,
            helpers: &XDP_HELPERS,
            ld_abs: false,
            ret_range: None,
        },
    ),
    (hook::AXIOM_TICK, hook_type("axiom_tick", hook_ctx::TICK_CTX)),
    (hook::AXIOM_IRQ, hook_type("axiom_irq", hook_ctx::IRQ_CTX)),
    (hook::AXIOM_IIO, hook_type("axiom_iio", hook_ctx::IIO_CTX)),
    (hook::AXIOM_SCHED, hook_type("axiom_sched", hook_ctx::SCHED_CTX)),
];

/// The kernel as the verifier sees it, with a fixed list of maps.
#[derive(Clone, Debug, Default)]
pub struct KernelPlatform {
    /// Maps by fd.
    pub maps_by_fd: Vec<(i32, MapInfo)>,
    /// Maps by `fd_array` index.
    pub maps_by_index: Vec<MapInfo>,
    /// The number of possible CPUs, if known (bounds CPU numbers).
    pub possible_cpus: Option<u32>,
}

impl KernelPlatform {
    /// A platform whose program names map `i` of `maps` by fd `i` (an
    /// object's maps, numbered before they exist), with `possible_cpus`.
    pub fn numbered(
        maps: impl IntoIterator<Item = MapInfo>,
        possible_cpus: Option<u32>,
    ) -> KernelPlatform {
        let maps_by_fd = maps.into_iter().enumerate().map(|(i, m)| (i as i32, m)).collect();
        KernelPlatform { maps_by_fd, maps_by_index: Vec::new(), possible_cpus }
    }
}

impl Platform for KernelPlatform {
    fn prog_type(&self, t: u32) -> Option<&ProgType> {
        PROG_TYPES.iter().find(|(n, _)| *n == t).map(|(_, p)| p)
    }

    fn helper(&self, id: i32) -> Option<&HelperProto> {
        callable::by_id(id).map(|c| &c.proto)
    }

    fn map(&self, imm: i32, by_index: bool) -> Option<MapInfo> {
        if by_index {
            self.maps_by_index.get(usize::try_from(imm).ok()?).copied()
        } else {
            self.maps_by_fd.iter().find(|(fd, _)| *fd == imm).map(|(_, m)| *m)
        }
    }

    fn possible_cpus(&self) -> Option<u32> {
        self.possible_cpus
    }
}

/// Linux's name of helper `id`, where Axiom has the helper.
pub fn helper_name(id: i32) -> Option<&'static str> {
    callable::by_id(id).map(|c| c.proto.name)
}

/// Every (program type, helper id) pair the verifier allows: what the
/// consistency tests check has code behind it.
pub fn allowed_calls() -> impl Iterator<Item = (u32, i32)> {
    PROG_TYPES.iter().flat_map(|(t, p)| p.helpers.iter().map(move |&id| (*t, id)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callable::CALLABLES;

    /// The bug this table was made for: the verifier allowed hook
    /// programs `bpf_get_prandom_u32` and socket filters
    /// `bpf_trace_printk` and `bpf_skb_load_bytes`, and the kernel had no
    /// code for them, so such programs passed verification and failed to
    /// load with `ENOTSUPP`. Every call the verifier allows has code.
    #[test]
    fn every_call_the_verifier_allows_has_code() {
        let mut n = 0;
        for (t, id) in allowed_calls() {
            let c = callable::by_id(id).unwrap_or_else(|| panic!("type {t}: helper {id} unknown"));
            assert!(c.callers & callable::family(t) != 0, "type {t} may not call {}", c.proto.name);
            let inline = matches!(c.imp, callable::Impl::Inline);
            assert!(inline || callable::address(id).is_some(), "{} has no code", c.proto.name);
            n += 1;
        }
        assert!(n >= 40, "{n} allowed calls");
        let prandom = axiom_abi::uapi::helper::id::GET_PRANDOM_U32;
        assert!(allowed_calls().any(|(t, id)| t == hook::AXIOM_SCHED && id == prandom));
    }

    #[test]
    fn every_table_entry_is_somebody_s() {
        for c in CALLABLES {
            let types: Vec<u32> =
                allowed_calls().filter(|(_, id)| *id == c.id).map(|(t, _)| t).collect();
            assert!(!types.is_empty(), "{} is callable by no program type", c.proto.name);
        }
    }
}
