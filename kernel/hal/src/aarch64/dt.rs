//! The machine, as the device tree the loader passed describes it (read
//! with the `fdt` crate): RAM and what is reserved in it, the command line
//! and the initramfs (`/chosen`), the console's PL011, the GIC (v2 or v3),
//! the generic timer's interrupts, PSCI's calling method and the CPUs.
//! Device addresses are translated through their parents' `ranges` (the
//! Raspberry Pi 5's peripherals sit behind bus nodes). The tree lives in
//! RAM the kernel never hands out (see [`super::memory_map`]).

use super::{MAX_CPUS, phys_to_virt};
use fdt::Fdt;
use fdt::node::FdtNode;

/// The interrupt controller.
#[derive(Clone, Copy, Debug, Default)]
pub struct Gic {
    /// 2 or 3.
    pub version: u8,
    /// The distributor's registers (physical base, length).
    pub dist: (u64, u64),
    /// GICv2: the CPU interface's; GICv3: the redistributors'.
    pub cpu: (u64, u64),
}

/// What the kernel needs of the machine.
#[derive(Clone, Copy, Debug, Default)]
pub struct Machine {
    /// The console PL011's registers and interrupt (INTID).
    pub uart: Option<(u64, u32)>,
    /// The interrupt controller.
    pub gic: Gic,
    /// The generic timer's non-secure physical and virtual timer INTIDs.
    pub timer: (u32, u32),
    /// PSCI: present, and called with `smc` (else `hvc`).
    pub psci: Option<bool>,
    /// The CPUs' MPIDR affinity values, the boot CPU's first.
    pub mpidr: [u64; MAX_CPUS],
    /// CPUs listed.
    pub cpus: usize,
}

/// The device tree at physical address `dtb`, if it is one.
pub fn tree(dtb: u64) -> Option<Fdt<'static>> {
    if dtb == 0 {
        return None;
    }
    let header = phys_to_virt(dtb) as *const u8;
    // SAFETY: the boot code mapped the GiB holding `dtb` in the physical
    // map; the header's 40 bytes are read first to learn the total size.
    let head = unsafe { core::slice::from_raw_parts(header, 8) };
    if head[..4] != [0xd0, 0x0d, 0xfe, 0xed] {
        return None;
    }
    let size = u32::from_be_bytes([head[4], head[5], head[6], head[7]]) as usize;
    if size > 4 << 20 {
        return None;
    }
    // SAFETY: as above, for the size the header gives (at most 4 MiB,
    // inside the same mapping); the memory is never handed out.
    Fdt::new(unsafe { core::slice::from_raw_parts(header, size) }).ok()
}

/// The node at `path` (`/a/b@1`; a name without its unit address
/// matches the first node of that name), found by walking children from
/// the root: the `fdt` crate's own `find_node` misses nodes in some
/// trees (met with a bus node added before `/chosen`).
fn node_at<'b, 'a>(fdt: &'b Fdt<'a>, path: &str) -> Option<FdtNode<'b, 'a>> {
    let mut node = fdt.find_node("/")?;
    for part in path.split('/').filter(|p| !p.is_empty()) {
        node = node.children().find(|c| {
            c.name == part || (!part.contains('@') && c.name.split('@').next() == Some(part))
        })?;
    }
    Some(node)
}

/// Big-endian 32-bit cells of a property.
fn cells(value: &[u8]) -> impl Iterator<Item = u32> + '_ {
    value.chunks_exact(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
}

/// A number of `n` cells from `it`.
fn read_cells(it: &mut impl Iterator<Item = u32>, n: usize) -> Option<u64> {
    (0..n).try_fold(0u64, |acc, _| Some(acc << 32 | it.next()? as u64))
}

fn cell_counts(node: FdtNode) -> (usize, usize) {
    let get = |name| node.property(name).and_then(|p| cells(p.value).next()).map(|v| v as usize);
    (get("#address-cells").unwrap_or(2), get("#size-cells").unwrap_or(1))
}

/// Visits every node with its ancestors (root first); stops when `visit`
/// returns `true`.
fn walk<'b, 'a: 'b>(
    node: FdtNode<'b, 'a>,
    ancestors: &mut [Option<FdtNode<'b, 'a>>; 8],
    depth: usize,
    visit: &mut dyn FnMut(FdtNode<'b, 'a>, &[Option<FdtNode<'b, 'a>>]) -> bool,
) -> bool {
    if visit(node, &ancestors[..depth]) {
        return true;
    }
    if depth >= ancestors.len() {
        return false;
    }
    ancestors[depth] = Some(node);
    for child in node.children() {
        if walk(child, ancestors, depth + 1, visit) {
            return true;
        }
    }
    false
}

/// `node`'s `reg` entries, translated to CPU physical addresses through
/// every ancestor's `ranges`.
fn regs(node: FdtNode, ancestors: &[Option<FdtNode>], out: &mut [(u64, u64)]) -> usize {
    let Some(parent) = ancestors.last().copied().flatten() else { return 0 };
    let (ac, sc) = cell_counts(parent);
    let Some(reg) = node.property("reg") else { return 0 };
    let mut it = cells(reg.value);
    let mut n = 0;
    while n < out.len() {
        let (Some(mut addr), Some(size)) = (read_cells(&mut it, ac), read_cells(&mut it, sc))
        else {
            break;
        };
        // Up through the buses: each maps its children's addresses into
        // its parent's.
        for depth in (1..ancestors.len()).rev() {
            let (Some(bus), Some(above)) = (ancestors[depth], ancestors[depth - 1]) else {
                break;
            };
            let Some(ranges) = bus.property("ranges") else { break };
            if ranges.value.is_empty() {
                continue; // identity
            }
            let (child_ac, child_sc) = cell_counts(bus);
            let (parent_ac, _) = cell_counts(above);
            let mut r = cells(ranges.value);
            let mut mapped = None;
            while let (Some(child), Some(parent), Some(len)) = (
                read_cells(&mut r, child_ac),
                read_cells(&mut r, parent_ac),
                read_cells(&mut r, child_sc),
            ) {
                if (child..child.saturating_add(len)).contains(&addr) {
                    mapped = Some(parent + (addr - child));
                    break;
                }
            }
            match mapped {
                Some(a) => addr = a,
                None => break,
            }
        }
        out[n] = (addr, size);
        n += 1;
    }
    n
}

/// A node found by [`find`]: its translated `reg` entries (up to 2), how
/// many there are, and its `interrupts` property.
type Found<'a> = ([(u64, u64); 2], usize, Option<&'a [u8]>);

/// The first node compatible with one of `with`.
fn find<'a>(fdt: &Fdt<'a>, with: &[&str]) -> Option<Found<'a>> {
    let root = fdt.find_node("/")?;
    let mut ancestors = [None; 8];
    let mut found = None;
    walk(root, &mut ancestors, 0, &mut |node, above| {
        let hit = node.compatible().is_some_and(|c| c.all().any(|c| with.contains(&c)));
        if hit {
            let mut r = [(0, 0); 2];
            let n = regs(node, above, &mut r);
            let irq = node.property("interrupts").map(|p| p.value);
            found = Some((r, n, irq));
        }
        hit
    });
    found
}

/// The INTID of a GIC interrupt specifier's first interrupt (three cells:
/// type 0 SPI, 1 PPI; number; flags).
fn intid(spec: &[u8], index: usize) -> Option<u32> {
    let mut it = cells(spec).skip(3 * index);
    let (kind, number) = (it.next()?, it.next()?);
    Some(if kind == 1 { 16 + number } else { 32 + number })
}

/// Reads the machine from the tree.
pub fn machine(fdt: &Fdt<'static>) -> Machine {
    let mut m = Machine { timer: (30, 27), ..Machine::default() };
    m.uart = console_uart(fdt);
    if let Some((r, n, _)) = find(fdt, &["arm,gic-v3"])
        && n >= 2
    {
        m.gic = Gic { version: 3, dist: r[0], cpu: r[1] };
    } else if let Some((r, n, _)) =
        find(fdt, &["arm,gic-400", "arm,cortex-a15-gic", "arm,cortex-a9-gic"])
        && n >= 2
    {
        m.gic = Gic { version: 2, dist: r[0], cpu: r[1] };
    }
    if let Some((_, _, Some(irqs))) = find(fdt, &["arm,armv8-timer", "arm,armv7-timer"]) {
        m.timer = (intid(irqs, 1).unwrap_or(30), intid(irqs, 2).unwrap_or(27));
    }
    m.psci = node_at(fdt, "/psci")
        .and_then(|n| n.property("method"))
        .and_then(|p| p.as_str())
        .map(|method| method == "smc");
    if let Some(cpus) = node_at(fdt, "/cpus") {
        for cpu in cpus.children().filter(|c| c.name.split('@').next() == Some("cpu")) {
            if m.cpus == MAX_CPUS {
                break;
            }
            let Some(reg) = cpu.property("reg") else { continue };
            let (ac, _) = cell_counts(cpus);
            if let Some(id) = read_cells(&mut cells(reg.value), ac) {
                m.mpidr[m.cpus] = id;
                m.cpus += 1;
            }
        }
    }
    m.cpus = m.cpus.max(1);
    m
}

/// The console's PL011: `/chosen`'s `stdout-path` (an alias or a path,
/// options after `:` ignored), else the first PL011.
fn console_uart(fdt: &Fdt<'static>) -> Option<(u64, u32)> {
    let path = node_at(fdt, "/chosen")
        .and_then(|c| c.property("stdout-path"))
        .and_then(|p| p.as_str())
        .map(|s| s.split(':').next().unwrap_or(s));
    let target = path.and_then(|p| {
        if p.starts_with('/') { Some(p) } else { node_at(fdt, "/aliases")?.property(p)?.as_str() }
    });
    let root = fdt.find_node("/")?;
    let mut ancestors = [None; 8];
    let mut found = None;
    let mut trail: [&str; 8] = [""; 8];
    walk(root, &mut ancestors, 0, &mut |node, above| {
        let depth = above.len();
        if depth < trail.len() {
            trail[depth] = node.name;
        }
        let pl011 = node.compatible().is_some_and(|c| c.all().any(|c| c == "arm,pl011"));
        if !pl011 {
            return false;
        }
        let is_target = target.is_none_or(|t| path_matches(t, &trail[1..=depth.min(7)]));
        if is_target {
            let mut r = [(0, 0); 1];
            if regs(node, above, &mut r) == 1 {
                let irq = node.property("interrupts").and_then(|p| intid(p.value, 0));
                found = Some((r[0].0, irq.unwrap_or(0)));
                return true;
            }
        }
        false
    });
    found
}

/// Whether the node path `path` (`/a/b@1`) names the node whose names
/// from the root down are `trail`.
fn path_matches(path: &str, trail: &[&str]) -> bool {
    let mut parts = path.split('/').filter(|p| !p.is_empty());
    for name in trail {
        match parts.next() {
            Some(p) if p == *name || (!p.contains('@') && name.split('@').next() == Some(p)) => {}
            _ => return false,
        }
    }
    parts.next().is_none()
}

/// `/chosen`'s `bootargs`.
pub fn bootargs(fdt: &Fdt<'static>) -> &'static str {
    node_at(fdt, "/chosen")
        .and_then(|c| c.property("bootargs"))
        .and_then(|p| p.as_str())
        .unwrap_or("")
}

/// `/chosen`'s initramfs range, `[start, end)`.
pub fn initrd(fdt: &Fdt<'static>) -> Option<(u64, u64)> {
    let chosen = node_at(fdt, "/chosen")?;
    let get = |name| {
        let p = chosen.property(name)?;
        read_cells(&mut cells(p.value), p.value.len() / 4)
    };
    let (start, end) = (get("linux,initrd-start")?, get("linux,initrd-end")?);
    (end > start).then_some((start, end))
}

/// RAM (`/memory` nodes' `reg`), then what is reserved in it: the
/// memory reservation block, `/reserved-memory`'s children and the tree
/// itself (`dtb`, `size`), as regions not usable.
pub fn memory(fdt: &Fdt<'static>, dtb: u64, out: &mut [super::Region]) -> usize {
    let mut n = 0;
    let mut push = |base: u64, len: u64, usable: bool| {
        if n < out.len() && len != 0 {
            out[n] = super::Region { base, len, usable };
            n += 1;
        }
    };
    if let Some(root) = fdt.find_node("/") {
        let (ac, sc) = cell_counts(root);
        for node in root.children().filter(|c| c.name.split('@').next() == Some("memory")) {
            let Some(reg) = node.property("reg") else { continue };
            let mut it = cells(reg.value);
            while let (Some(base), Some(len)) = (read_cells(&mut it, ac), read_cells(&mut it, sc)) {
                push(base, len, true);
            }
        }
    }
    for r in fdt.memory_reservations() {
        push(r.address() as u64, r.size() as u64, false);
    }
    if let Some(reserved) = node_at(fdt, "/reserved-memory") {
        let (ac, sc) = cell_counts(reserved);
        for child in reserved.children() {
            let Some(reg) = child.property("reg") else { continue };
            let mut it = cells(reg.value);
            while let (Some(base), Some(len)) = (read_cells(&mut it, ac), read_cells(&mut it, sc)) {
                push(base, len, false);
            }
        }
    }
    push(dtb & !0xfff, (fdt.total_size() as u64 + (dtb & 0xfff)).next_multiple_of(4096), false);
    n
}
