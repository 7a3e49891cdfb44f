//! Loading static x86-64 Linux executables (`ET_EXEC`, and static-pie
//! `ET_DYN` placed at [`PIE_BASE`]) with `goblin`: their `PT_LOAD`
//! segments, entry point and program headers (which the C library finds
//! through the auxiliary vector). Anything else is refused with `ENOEXEC`.
//! What it makes is an [`Image`], the program a process is created from.

use alloc::vec::Vec;
use goblin::elf::Elf;
use goblin::elf::header::{ET_DYN, ET_EXEC};
use goblin::elf::program_header::{PF_W, PF_X, PT_INTERP, PT_LOAD, PT_PHDR};

/// One loadable piece of a program.
pub struct Segment {
    /// Where it goes.
    pub vaddr: u64,
    /// Its initial bytes (the rest up to `memsz` is zero), borrowed from
    /// the initramfs (or the kernel image), never copied to the heap.
    pub bytes: &'static [u8],
    /// Its size in memory.
    pub memsz: u64,
    /// Writable.
    pub write: bool,
    /// Executable.
    pub exec: bool,
}

/// A program ready to load.
pub struct Image {
    /// Its segments.
    pub segments: Vec<Segment>,
    /// Where it starts.
    pub entry: u64,
}

/// Where a position-independent executable is placed (Linux puts it at
/// two thirds of the address space; any page-aligned base works).
pub const PIE_BASE: u64 = 0x5555_5555_4000;

/// Why a file is not a program Axiom can run.
#[derive(Debug, PartialEq, Eq)]
pub enum ElfError {
    /// Not an ELF file, or a malformed one.
    Malformed,
    /// Not x86-64, not an executable, or dynamically linked.
    Unsupported(&'static str),
}

/// A program and where its program headers are in memory.
pub struct Program {
    /// What to map.
    pub image: Image,
    /// `AT_PHDR`, `AT_PHENT`, `AT_PHNUM`.
    pub phdr: u64,
    /// Size of one program header.
    pub phent: u64,
    /// Number of program headers.
    pub phnum: u64,
}

/// Reads an executable.
pub fn load(bytes: &'static [u8]) -> Result<Program, ElfError> {
    let elf = Elf::parse(bytes).map_err(|_| ElfError::Malformed)?;
    if !elf.is_64 || elf.header.e_machine != axiom_hal::ELF_MACHINE {
        return Err(ElfError::Unsupported("not an x86-64 ELF64 file"));
    }
    let base = match elf.header.e_type {
        ET_EXEC => 0,
        ET_DYN => PIE_BASE,
        _ => return Err(ElfError::Unsupported("not an executable")),
    };
    if elf.program_headers.iter().any(|p| p.p_type == PT_INTERP) {
        return Err(ElfError::Unsupported("dynamically linked (has an interpreter)"));
    }
    let mut segments = Vec::new();
    let mut phdr = None;
    for ph in &elf.program_headers {
        match ph.p_type {
            PT_LOAD => {
                let end = ph.p_offset.checked_add(ph.p_filesz).ok_or(ElfError::Malformed)?;
                let data =
                    bytes.get(ph.p_offset as usize..end as usize).ok_or(ElfError::Malformed)?;
                if ph.p_filesz > ph.p_memsz {
                    return Err(ElfError::Malformed);
                }
                let vaddr = ph.p_vaddr.checked_add(base).ok_or(ElfError::Malformed)?;
                // The program headers, if this segment holds them.
                let phoff = elf.header.e_phoff;
                if phdr.is_none() && (ph.p_offset..end).contains(&phoff) {
                    phdr = Some(vaddr + (phoff - ph.p_offset));
                }
                segments.push(Segment {
                    vaddr,
                    bytes: data,
                    memsz: ph.p_memsz,
                    write: ph.p_flags & PF_W != 0,
                    exec: ph.p_flags & PF_X != 0,
                });
            }
            PT_PHDR => phdr = Some(ph.p_vaddr.wrapping_add(base)),
            _ => {}
        }
    }
    if segments.is_empty() {
        return Err(ElfError::Malformed);
    }
    let entry = elf.entry.checked_add(base).ok_or(ElfError::Malformed)?;
    Ok(Program {
        image: Image { segments, entry },
        phdr: phdr.unwrap_or(0),
        phent: elf.header.e_phentsize as u64,
        phnum: elf.header.e_phnum as u64,
    })
}
