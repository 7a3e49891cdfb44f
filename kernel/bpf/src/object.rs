//! The BPF objects a descriptor, a pin or a program holds: maps and
//! programs with their ids, the code a platform placed for a program, and
//! user space's references to a map ([`MapRef`]), which decide when a
//! program array lets its programs go. Nothing here reads an attribute:
//! the command families make and use these objects.

use crate::maps::Map;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ops::Deref;
use core::sync::atomic::{AtomicUsize, Ordering};

/// A map as a kernel object.
pub struct MapObject {
    /// Its id (`BPF_MAP_GET_NEXT_ID` order).
    pub id: u32,
    /// Its name (`map_name`, NUL-padded).
    pub name: [u8; 16],
    /// The map (locked with interrupts off: hook programs use it from
    /// interrupt handlers).
    pub map: crate::platform::IrqMutex<Map>,
    /// Descriptors and pins holding it (see [`MapRef`]).
    users: AtomicUsize,
    /// A program array's programs (empty for other maps).
    pub(crate) prog_slots: spin::Mutex<ProgSlots>,
}

/// Code a platform placed for running (the kernel's read+execute pages,
/// a host's mapping).
pub trait Code: Send + Sync {
    /// Runs it with `ctx` in r1; its r0.
    fn run(&self, ctx: u64) -> u64;
    /// Bytes of machine code.
    fn len(&self) -> usize;
    /// The machine code (for `OBJ_GET_INFO_BY_FD`'s jited image).
    fn bytes(&self) -> &[u8];
    /// Where a tail call into it jumps.
    fn tail_call_entry(&self) -> u64;
    /// Whether there is none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A loaded program as a kernel object.
pub struct ProgObject {
    /// Its id.
    pub id: u32,
    /// Linux's tag (see [`crate::command::prog::tag`]).
    pub tag: [u8; 8],
    /// Its name.
    pub name: [u8; 16],
    /// `BPF_PROG_TYPE_*`.
    pub prog_type: u32,
    /// The instructions as verified.
    pub insns: Vec<axiom_abi::Insn>,
    /// The compiled code.
    pub code: alloc::boxed::Box<dyn Code>,
    /// The maps it uses (kept alive while it lives).
    pub maps: Vec<Arc<MapObject>>,
    /// Instructions the verifier processed.
    pub verified_insns: u32,
    /// Whether its licence is GPL-compatible.
    pub gpl: bool,
    /// When it was loaded (ns).
    pub load_time: u64,
}

/// What a program array's object keeps besides its table (see
/// [`crate::prog_array`]).
#[derive(Default)]
pub struct ProgSlots {
    /// The program type every entry has.
    pub(crate) owner_type: Option<u32>,
    /// The program in each slot.
    pub(crate) progs: BTreeMap<u32, Arc<ProgObject>>,
    /// Programs taken out while a program may have been running (one
    /// could be executing their code through a tail call): dropped once
    /// none runs.
    retired: Vec<Arc<ProgObject>>,
}

impl ProgSlots {
    /// Lets `prog` go once no program runs.
    pub(crate) fn retire(&mut self, prog: Arc<ProgObject>) {
        self.retired.push(prog);
        if !crate::platform::programs_running() {
            self.retired.clear();
        }
    }
}

impl MapObject {
    /// A map object with id `id`, held by no one in user space yet.
    pub(crate) fn new(id: u32, name: [u8; 16], map: Map) -> MapObject {
        MapObject {
            id,
            name,
            map: crate::platform::IrqMutex::new(map),
            users: AtomicUsize::new(0),
            prog_slots: spin::Mutex::new(ProgSlots::default()),
        }
    }

    /// Empties every slot of a program array: user space no longer holds
    /// it.
    fn release_programs(&self) {
        let mut slots = self.prog_slots.lock();
        let indexes: Vec<u32> = slots.progs.keys().copied().collect();
        for index in indexes {
            let _ = self.map.lock().set_prog(index, 0);
            if let Some(old) = slots.progs.remove(&index) {
                slots.retire(old);
            }
        }
    }
}

/// A reference to a map held for user space: a descriptor or a pin.
/// While any exists the map is in use by user space; when the last goes,
/// a program array lets its programs go (Linux's `usercnt`).
pub struct MapRef(Arc<MapObject>);

impl MapRef {
    /// A new user reference to `map`.
    pub fn new(map: Arc<MapObject>) -> MapRef {
        map.users.fetch_add(1, Ordering::AcqRel);
        MapRef(map)
    }

    /// The map object itself (a reference that is not user space's).
    pub fn object(&self) -> &Arc<MapObject> {
        &self.0
    }
}

impl Clone for MapRef {
    fn clone(&self) -> MapRef {
        MapRef::new(self.0.clone())
    }
}

impl Drop for MapRef {
    fn drop(&mut self) {
        if self.0.users.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.release_programs();
        }
    }
}

impl Deref for MapRef {
    type Target = MapObject;
    fn deref(&self) -> &MapObject {
        &self.0
    }
}
