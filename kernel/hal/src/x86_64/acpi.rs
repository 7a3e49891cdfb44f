//! The machine's processors and interrupt controllers from the ACPI MADT
//! (parsed by the `acpi` crate). Tables are read through the boot
//! physical map of the first GiB, so this runs before the kernel's own
//! page tables are switched on.
#![allow(unsafe_code)]

use acpi::madt::{Madt, MadtEntry};
use acpi::{AcpiHandler, AcpiTables, PhysicalMapping};
use core::ptr::NonNull;

/// The most processors Axiom starts.
pub const MAX_CPUS: usize = 8;

/// What the MADT says about the machine.
#[derive(Clone, Copy, Debug)]
pub struct Machine {
    /// Local APIC ids of the enabled processors, the boot one first.
    pub apic_ids: [u32; MAX_CPUS],
    /// How many of `apic_ids` are valid.
    pub cpus: usize,
    /// The local APIC's physical address.
    pub lapic: u64,
    /// The first I/O APIC's physical address and first interrupt (GSI).
    pub ioapic: Option<(u64, u32)>,
    /// ISA IRQ → (GSI, MPS flags) overrides.
    pub overrides: [(u8, u32, u16); 16],
    /// How many of `overrides` are valid.
    pub override_count: usize,
    /// Legacy 8259 PICs present (they must be masked).
    pub has_8259: bool,
}

/// The ACPI tables lie in the boot physical map: a mapping is the
/// physical address plus the map's offset.
#[derive(Clone, Copy)]
struct IdentityMap;

/// Where the boot physical map ends.
const MAPPED: usize = 1 << 30;

impl AcpiHandler for IdentityMap {
    unsafe fn map_physical_region<T>(&self, phys: usize, size: usize) -> PhysicalMapping<Self, T> {
        assert!(phys != 0 && phys.saturating_add(size) <= MAPPED, "ACPI table outside the map");
        let virt = super::phys_to_virt(phys as u64) as *mut T;
        // SAFETY: the boot physical map covers [0, 1 GiB); `phys` is in it
        // (checked above), so `virt` is mapped and not null.
        unsafe { PhysicalMapping::new(phys, NonNull::new_unchecked(virt), size, size, *self) }
    }

    fn unmap_physical_region<T>(_region: &PhysicalMapping<Self, T>) {}
}

/// Reads the MADT; `None` if the machine has no ACPI tables (or they are
/// outside the boot map).
pub fn machine(start_info: u64) -> Option<Machine> {
    let rsdp = super::boot::rsdp(start_info) as usize;
    // SAFETY: the RSDP address came from the loader, or is searched for in
    // the BIOS areas below 1 MiB, both inside the physical map; the crate
    // validates signatures and checksums before it reads further.
    let tables = unsafe {
        if rsdp != 0 && rsdp < MAPPED {
            AcpiTables::from_rsdp(IdentityMap, rsdp)
        } else {
            AcpiTables::search_for_rsdp_bios(IdentityMap)
        }
    }
    .ok()?;
    let madt = tables.find_table::<Madt>().ok()?;
    let mut m = Machine {
        apic_ids: [0; MAX_CPUS],
        cpus: 0,
        lapic: madt.get().local_apic_address as u64,
        ioapic: None,
        overrides: [(0, 0, 0); 16],
        override_count: 0,
        has_8259: madt.get().supports_8259(),
    };
    let boot_id = super::apic::boot_apic_id();
    let push_cpu = |id: u32, m: &mut Machine| {
        if m.cpus < MAX_CPUS && !m.apic_ids[..m.cpus].contains(&id) {
            m.apic_ids[m.cpus] = id;
            m.cpus += 1;
        }
    };
    push_cpu(boot_id, &mut m);
    for entry in madt.get().entries() {
        match entry {
            MadtEntry::LocalApic(e) if e.flags & 1 != 0 => push_cpu(e.apic_id as u32, &mut m),
            MadtEntry::LocalX2Apic(e) if e.flags & 1 != 0 => push_cpu(e.x2apic_id, &mut m),
            MadtEntry::IoApic(e) if m.ioapic.is_none() => {
                m.ioapic = Some((e.io_apic_address as u64, e.global_system_interrupt_base))
            }
            MadtEntry::InterruptSourceOverride(e) if m.override_count < 16 => {
                m.overrides[m.override_count] = (e.irq, e.global_system_interrupt, e.flags);
                m.override_count += 1;
            }
            MadtEntry::LocalApicAddressOverride(e) => m.lapic = e.local_apic_address,
            _ => {}
        }
    }
    Some(m)
}
