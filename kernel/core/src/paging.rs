//! The kernel's page tables, in 4 KiB pages with W^X: the kernel image at
//! `KERNEL_BASE` + physical (text read+execute, read-only data read-only,
//! data and bss read+write, neither executable), and all RAM at
//! `PHYS_OFFSET` + physical, read+write and never executable, except the
//! image's text and read-only data, which are read-only there too (no
//! writable alias of code). The lower half (user space) holds nothing, so
//! null dereferences fault. JIT code has its area at [`JIT_BASE`]. Table
//! frames come from the frame allocator; `axiom-hal` writes the entries.

use crate::frames::{FRAME, Frames};
use axiom_hal::paging as hw;
pub use axiom_hal::paging::{NO_EXECUTE, UNCACHED, USER, WRITABLE};

/// Where JIT code is mapped (upper half, away from the physical map and
/// the image; images call helpers with absolute calls): `exec`'s area,
/// whose top-level entry every address space shares.
pub const JIT_BASE: u64 = 0xffff_c000_0000_0000;

/// The table an upper-level entry points at, if it is present.
fn table_of(entry: u64) -> Option<u64> {
    hw::decode(entry).map(|(phys, _)| phys)
}

/// A set of page tables.
pub struct AddressSpace {
    /// The root table's physical address (what CR3 or TTBR holds).
    pub pml4: u64,
    /// Table frames in use, the root included.
    pub tables: usize,
}

impl AddressSpace {
    /// An empty address space.
    pub fn new(frames: &mut Frames) -> Option<AddressSpace> {
        let pml4 = frames.alloc()?;
        hw::zero_frame(pml4);
        Some(AddressSpace { pml4, tables: 1 })
    }

    /// A process's address space: an empty lower half, and the kernel's
    /// upper half (its top-level entries shared, so kernel mappings made
    /// later below them show in every process).
    pub fn new_user(frames: &mut Frames, kernel: &AddressSpace) -> Option<AddressSpace> {
        let space = AddressSpace::new(frames)?;
        for i in 256..512 {
            hw::write_entry(space.pml4, i, hw::read_entry(kernel.pml4, i));
        }
        Some(space)
    }

    /// Frees the lower half: every page mapped there (a process owns its
    /// pages) and the tables holding them; returns the frames freed.
    pub fn free_user_half(&mut self, frames: &mut Frames) -> usize {
        fn free_table(frames: &mut Frames, table: u64, level: u32) -> usize {
            let mut n = 0;
            for i in 0..512 {
                let Some(next) = table_of(hw::read_entry(table, i)) else { continue };
                if level > 0 {
                    n += free_table(frames, next, level - 1);
                }
                n += usize::from(frames.free(next));
                hw::write_entry(table, i, 0);
            }
            n
        }
        let mut n = 0;
        for i in 0..256 {
            if let Some(next) = table_of(hw::read_entry(self.pml4, i)) {
                n += free_table(frames, next, 2) + usize::from(frames.free(next));
                hw::write_entry(self.pml4, i, 0);
            }
        }
        n
    }

    /// Makes sure the tables under the top-level entry for `virt` exist
    /// (so that address spaces copying the top level see what is mapped
    /// there later).
    pub fn reserve_top_level(&mut self, frames: &mut Frames, virt: u64) -> Option<()> {
        self.next_table(frames, self.pml4, ((virt >> 39) & 511) as usize).map(|_| ())
    }

    fn next_table(&mut self, frames: &mut Frames, table: u64, index: usize) -> Option<u64> {
        if let Some(next) = table_of(hw::read_entry(table, index)) {
            return Some(next);
        }
        let t = frames.alloc()?;
        hw::zero_frame(t);
        // Upper levels allow everything (user access included); the last
        // level decides.
        hw::write_entry(table, index, hw::table_entry(t));
        self.tables += 1;
        Some(t)
    }

    /// Maps the 4 KiB page at `virt` to `phys` with `flags`.
    pub fn map(&mut self, frames: &mut Frames, virt: u64, phys: u64, flags: u64) -> Option<()> {
        let idx = |level: u32| ((virt >> (12 + 9 * level)) & 511) as usize;
        let pdpt = self.next_table(frames, self.pml4, idx(3))?;
        let pd = self.next_table(frames, pdpt, idx(2))?;
        let pt = self.next_table(frames, pd, idx(1))?;
        hw::write_entry(pt, idx(0), hw::leaf_entry(phys, flags));
        Some(())
    }

    /// Maps `len` bytes from `virt` to the physical pages from `phys`, with
    /// the flags `flags_of` gives each physical page address: one table walk
    /// per 2 MiB, not per page.
    pub fn map_linear(
        &mut self,
        frames: &mut Frames,
        virt: u64,
        phys: u64,
        len: u64,
        flags_of: impl Fn(u64) -> u64,
    ) -> Option<()> {
        let mut page = virt & !(FRAME - 1);
        let end = virt + len;
        let delta = (virt & !(FRAME - 1)).wrapping_sub(phys & !(FRAME - 1));
        while page < end {
            let idx = |level: u32| ((page >> (12 + 9 * level)) & 511) as usize;
            let pdpt = self.next_table(frames, self.pml4, idx(3))?;
            let pd = self.next_table(frames, pdpt, idx(2))?;
            let pt = self.next_table(frames, pd, idx(1))?;
            for i in idx(0)..512 {
                if page >= end {
                    break;
                }
                let p = page.wrapping_sub(delta);
                hw::write_entry(pt, i, hw::leaf_entry(p, flags_of(p)));
                page += FRAME;
            }
        }
        Some(())
    }

    /// Removes the mapping of the page at `virt` (and drops this CPU's
    /// cached translation; other CPUs need a shoot-down).
    pub fn unmap(&self, virt: u64) {
        let Some(table) = self.last_table(virt) else { return };
        hw::write_entry(table, ((virt >> 12) & 511) as usize, 0);
        hw::flush(virt);
    }

    /// Changes the flags of the mapped page at `virt` (and drops this
    /// CPU's cached translation); `None` if it is not mapped.
    pub fn protect(&self, virt: u64, flags: u64) -> Option<()> {
        let table = self.last_table(virt)?;
        let index = ((virt >> 12) & 511) as usize;
        let (phys, _) = hw::decode(hw::read_entry(table, index))?;
        hw::write_entry(table, index, hw::leaf_entry(phys, flags));
        hw::flush(virt);
        Some(())
    }

    /// The physical address and flags `virt`'s page maps to.
    pub fn translate(&self, virt: u64) -> Option<(u64, u64)> {
        let table = self.last_table(virt)?;
        let (phys, flags) = hw::decode(hw::read_entry(table, ((virt >> 12) & 511) as usize))?;
        Some((phys | (virt & (FRAME - 1)), flags))
    }

    /// The last-level table holding `virt`'s entry, if the levels above
    /// are present.
    fn last_table(&self, virt: u64) -> Option<u64> {
        let mut table = self.pml4;
        for level in (1..4).rev() {
            table = table_of(hw::read_entry(table, ((virt >> (12 + 9 * level)) & 511) as usize))?;
        }
        Some(table)
    }
}

/// The kernel's address space: the image (physical `image`, virtual
/// `kernel_base()` + physical), RAM (`[base, top)`) in the physical map, and
/// the `devices` ranges (physical base, length) in the physical map,
/// uncached.
pub fn kernel_space(
    frames: &mut Frames,
    ram: (u64, u64),
    image: (u64, u64),
    devices: &[(u64, u64)],
) -> Option<AddressSpace> {
    let (rodata, text, text_end, _data) = hw::sections();
    let base = axiom_hal::kernel_base();
    let (rodata_p, text_p, text_end_p) = (rodata - base, text - base, text_end - base);
    let mut space = AddressSpace::new(frames)?;
    let code = |p: u64| (rodata_p..text_end_p).contains(&p);
    let (ram_base, ram_top) = ram;
    space.map_linear(
        frames,
        axiom_hal::phys_to_virt(ram_base),
        ram_base,
        ram_top - ram_base,
        |p| {
            if code(p) { NO_EXECUTE } else { WRITABLE | NO_EXECUTE }
        },
    )?;
    space.map_linear(frames, rodata, rodata_p, image.1 - rodata_p, |p| {
        if (text_p..text_end_p).contains(&p) {
            0
        } else if (rodata_p..text_p).contains(&p) {
            NO_EXECUTE
        } else {
            WRITABLE | NO_EXECUTE
        }
    })?;
    for &(phys, len) in devices.iter().filter(|d| d.1 != 0) {
        let virt = axiom_hal::phys_to_virt(phys);
        space.map_linear(frames, virt, phys, len, |_| WRITABLE | NO_EXECUTE | UNCACHED)?;
    }
    // The JIT area's top-level entry exists before any process copies the
    // upper half.
    space.reserve_top_level(frames, JIT_BASE)?;
    Some(space)
}
