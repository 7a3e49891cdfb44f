//! What every comparison collects and shows: a figure's samples per
//! kernel (the columns), values in their units, the host's CPU.

/// Axiom's column.
pub const AXIOM: usize = 0;
/// Linux's column.
pub const LINUX: usize = 1;
/// Axiom hardened's column.
pub const HARDENED: usize = 2;
/// Linux booted with `nokaslr`'s column (arm64).
pub const LINUX_NOKASLR: usize = 3;

/// One kernel's samples of one figure.
#[derive(Debug, Default)]
pub struct Figure {
    /// The figure's name (a `BENCH` name, or `host_first_line_ns`).
    pub name: String,
    /// Per kernel ([`AXIOM`], [`LINUX`], [`HARDENED`],
    /// [`LINUX_NOKASLR`]): one value per boot, ns (KiB for `_kib` figures).
    pub samples: [Vec<f64>; 4],
}

/// A value in ns, in the unit that reads best.
pub fn human(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.1} ms", ns / 1e6)
    } else if ns >= 1e4 {
        format!("{:.1} us", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// Whether a figure is a size in KiB rather than a time in ns.
pub fn is_kib(name: &str) -> bool {
    name.ends_with("_kib")
}

/// A figure's value in its unit.
pub fn show(name: &str, v: f64) -> String {
    if is_kib(name) { format!("{:.0} KiB", v) } else { human(v) }
}

/// The host's CPU model, as /proc/cpuinfo names it.
pub fn host_cpu() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}
