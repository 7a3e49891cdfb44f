//! Program sections: a `SEC()` name to Linux's program type, expected
//! attach type and attach target, as libbpf maps them (its `section_defs`
//! table; `docs/abi.md` lists what Axiom supports).

use alloc::string::{String, ToString};
use axiom_abi::hooks;
use axiom_abi::uapi::types::{attach_type as at, prog_type as pt};

/// (prefix, whether a `/target` follows, program type, attach type)
const SECTIONS: &[(&str, bool, u32, u32)] = &[
    ("socket", false, pt::SOCKET_FILTER, 0),
    ("xdp.frags", false, pt::XDP, at::XDP),
    ("xdp", false, pt::XDP, at::XDP),
    ("tc", false, pt::SCHED_CLS, 0),
    ("classifier", false, pt::SCHED_CLS, 0),
    ("action", false, pt::SCHED_ACT, 0),
    ("kprobe", true, pt::KPROBE, 0),
    ("kretprobe", true, pt::KPROBE, 0),
    ("uprobe", true, pt::KPROBE, 0),
    ("uretprobe", true, pt::KPROBE, 0),
    ("tracepoint", true, pt::TRACEPOINT, 0),
    ("tp", true, pt::TRACEPOINT, 0),
    ("raw_tracepoint", true, pt::RAW_TRACEPOINT, 0),
    ("raw_tp", true, pt::RAW_TRACEPOINT, 0),
    ("tp_btf", true, pt::TRACING, at::TRACE_RAW_TP),
    ("fentry", true, pt::TRACING, at::TRACE_FENTRY),
    ("fexit", true, pt::TRACING, at::TRACE_FEXIT),
    ("lsm", true, pt::LSM, at::LSM_MAC),
    ("perf_event", false, pt::PERF_EVENT, 0),
    ("cgroup_skb/ingress", false, pt::CGROUP_SKB, at::CGROUP_INET_INGRESS),
    ("cgroup_skb/egress", false, pt::CGROUP_SKB, at::CGROUP_INET_EGRESS),
    // Axiom's own hooks (`axiom_abi::hooks`).
    ("axiom/sched", false, hooks::prog_type::AXIOM_SCHED, hooks::attach_type::AXIOM_SCHED),
    ("axiom/tick", false, hooks::prog_type::AXIOM_TICK, hooks::attach_type::AXIOM_TICK),
    ("axiom/irq", false, hooks::prog_type::AXIOM_IRQ, hooks::attach_type::AXIOM_IRQ),
    ("axiom/iio", false, hooks::prog_type::AXIOM_IIO, hooks::attach_type::AXIOM_IIO),
];

/// The program type, expected attach type and attach target of section
/// `name`, or `None` if no program type has that name.
pub fn program_type(name: &str) -> Option<(u32, u32, Option<String>)> {
    for &(prefix, targeted, prog, attach) in SECTIONS {
        if name == prefix && !targeted {
            return Some((prog, attach, None));
        }
        if let Some(rest) = name.strip_prefix(prefix).and_then(|r| r.strip_prefix('/')) {
            if targeted && !rest.is_empty() {
                return Some((prog, attach, Some(rest.to_string())));
            }
            // libbpf accepts extra text after '/' on these (`xdp/...`).
            if !targeted && matches!(prog, pt::XDP | pt::SCHED_CLS) {
                return Some((prog, attach, None));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libbpf_names_map_to_linux_types() {
        assert_eq!(program_type("socket"), Some((1, 0, None)));
        assert_eq!(program_type("xdp"), Some((6, 37, None)));
        assert_eq!(program_type("tracepoint/sched/sched_switch").map(|t| t.0), Some(5));
        assert_eq!(
            program_type("tp_btf/sched_switch"),
            Some((26, 23, Some("sched_switch".into())))
        );
        assert_eq!(
            program_type("kprobe/do_sys_open").map(|t| t.2),
            Some(Some("do_sys_open".into()))
        );
        assert_eq!(program_type("tracepoint"), None);
        assert_eq!(program_type("socketx"), None);
        assert_eq!(program_type("nonsense"), None);
    }
}
