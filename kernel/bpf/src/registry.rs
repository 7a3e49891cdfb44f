//! What a BPF descriptor refers to ([`Object`]), links as objects, and
//! the registry of every object by id: its tables, id allocation and the
//! BPF file system's entries. An object lives while a descriptor, a pin
//! or a program holds it; the tables hold only weak references.

use crate::hook::{HookSlot, Owner};
use crate::maps::Map;
use crate::object::{MapObject, MapRef, ProgObject};
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::{Arc, Weak};
use axiom_abi::uapi::errno::Errno;
use core::sync::atomic::{AtomicU32, Ordering};

/// What a BPF file descriptor refers to.
#[derive(Clone)]
pub enum Object {
    /// A map (held for user space).
    Map(MapRef),
    /// A program.
    Prog(Arc<ProgObject>),
    /// A link of a program to a hook.
    Link(Arc<LinkObject>),
}

/// A process's descriptors of BPF objects, for the command layer's
/// callers outside the kernel (a host process, the tests): 0, 1 and 2
/// are the standard streams, open but not BPF objects; a new
/// descriptor takes the lowest free number above them.
pub struct Descriptors(alloc::vec::Vec<Option<Object>>);

impl Default for Descriptors {
    fn default() -> Self {
        Descriptors(alloc::vec![None, None, None])
    }
}

impl Descriptors {
    /// The object behind `fd`: `EINVAL` for a standard stream, `EBADF`
    /// for a descriptor that is not open.
    pub fn get(&self, fd: u32) -> Result<Object, Errno> {
        match self.0.get(fd as usize) {
            Some(Some(o)) => Ok(o.clone()),
            _ if fd < 3 => Err(Errno::EINVAL),
            _ => Err(Errno::EBADF),
        }
    }

    /// A new descriptor for `object`.
    pub fn install(&mut self, object: Object) -> u32 {
        match self.0.iter().skip(3).position(Option::is_none) {
            Some(free) => {
                self.0[free + 3] = Some(object);
                free as u32 + 3
            }
            None => {
                self.0.push(Some(object));
                self.0.len() as u32 - 1
            }
        }
    }

    /// Closes `fd` (`EBADF` if it is not open).
    pub fn close(&mut self, fd: u32) -> Result<(), Errno> {
        match self.0.get_mut(fd as usize) {
            Some(slot @ Some(_)) if fd >= 3 => {
                *slot = None;
                Ok(())
            }
            _ => Err(Errno::EBADF),
        }
    }

    /// Closes every descriptor.
    pub fn close_all(&mut self) {
        self.0.truncate(3);
    }

    /// How many are open.
    pub fn open(&self) -> usize {
        self.0.iter().filter(|o| o.is_some()).count()
    }
}

/// A link: a program attached to a hook for as long as the link lives
/// (see [`crate::command::link`]).
pub struct LinkObject {
    /// Its id.
    pub id: u32,
    /// The attach type it was created with.
    pub attach_type: u32,
    /// Its target (`target_fd`: the interrupt line, the device...).
    pub target: u32,
    pub(crate) hook: &'static HookSlot,
    /// Whether it still holds its hook (`BPF_LINK_DETACH` ends that).
    pub(crate) attached: spin::Mutex<bool>,
}

impl LinkObject {
    /// A link with id `id` holding `hook` (whose program it attached).
    pub(crate) fn new(
        id: u32,
        attach_type: u32,
        target: u32,
        hook: &'static HookSlot,
    ) -> LinkObject {
        LinkObject { id, attach_type, target, hook, attached: spin::Mutex::new(true) }
    }

    /// The id of the program it holds attached (0 once detached).
    pub fn prog_id(&self) -> u32 {
        match self.hook.attached() {
            Some((id, Owner::Link(link))) if link == self.id => id,
            _ => 0,
        }
    }

    /// Lets its hook go: the program it had attached, if it still held
    /// the hook.
    pub(crate) fn detach(&self) -> Option<Arc<ProgObject>> {
        let mut attached = self.attached.lock();
        if !core::mem::take(&mut *attached) {
            return None;
        }
        self.hook.detach(Owner::Link(self.id), None).ok()
    }
}

impl Drop for LinkObject {
    fn drop(&mut self) {
        self.detach();
    }
}

/// Every BPF object, by id; an object lives while a descriptor (or a
/// program, a pin...) holds it.
pub struct Registry {
    pub(crate) maps: spin::Mutex<BTreeMap<u32, Weak<MapObject>>>,
    pub(crate) progs: spin::Mutex<BTreeMap<u32, Weak<ProgObject>>>,
    /// The BPF file system: pinned objects and directories by path (the
    /// root, [`crate::command::bpffs::BPFFS`], always exists).
    pub(crate) pins: spin::Mutex<BTreeMap<String, Option<Object>>>,
    pub(crate) links: spin::Mutex<BTreeMap<u32, Weak<LinkObject>>>,
    next_id: AtomicU32,
    next_prog_id: AtomicU32,
    next_link_id: AtomicU32,
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new()
    }
}

impl Registry {
    /// An empty registry.
    pub const fn new() -> Registry {
        Registry {
            maps: spin::Mutex::new(BTreeMap::new()),
            progs: spin::Mutex::new(BTreeMap::new()),
            pins: spin::Mutex::new(BTreeMap::new()),
            links: spin::Mutex::new(BTreeMap::new()),
            next_link_id: AtomicU32::new(1),
            next_id: AtomicU32::new(1),
            next_prog_id: AtomicU32::new(1),
        }
    }

    /// Makes `map` an object with the next id, known to the registry.
    pub(crate) fn register_map(&self, name: [u8; 16], map: Map) -> Arc<MapObject> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let object = Arc::new(MapObject::new(id, name, map));
        register(&mut self.maps.lock(), id, &object);
        object
    }

    /// Makes `loaded` (a program without its id yet) an object with the
    /// next id, known to the registry.
    pub(crate) fn register_prog(&self, loaded: ProgObject) -> Arc<ProgObject> {
        let id = self.next_prog_id.fetch_add(1, Ordering::Relaxed);
        let object = Arc::new(ProgObject { id, ..loaded });
        register(&mut self.progs.lock(), id, &object);
        object
    }

    /// The id of the next link.
    pub(crate) fn new_link_id(&self) -> u32 {
        self.next_link_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Maps alive now.
    pub fn live_maps(&self) -> usize {
        let mut maps = self.maps.lock();
        maps.retain(|_, m| m.strong_count() > 0);
        maps.len()
    }

    /// Programs alive now.
    pub fn live_progs(&self) -> usize {
        let mut progs = self.progs.lock();
        progs.retain(|_, p| p.strong_count() > 0);
        progs.len()
    }

    /// Links alive now.
    pub fn live_links(&self) -> usize {
        let mut links = self.links.lock();
        links.retain(|_, l| l.strong_count() > 0);
        links.len()
    }
}

/// Enters `object` under `id`, first dropping the entries of objects
/// that are gone: a dead `Weak` still holds its object's allocation, so
/// without this every freed map, program and link would leave its memory
/// behind for good.
pub(crate) fn register<T>(objects: &mut BTreeMap<u32, Weak<T>>, id: u32, object: &Arc<T>) {
    objects.retain(|_, o| o.strong_count() > 0);
    objects.insert(id, Arc::downgrade(object));
}

/// `BPF_*_GET_NEXT_ID` over one kind of object: the first live id after
/// `start_id`.
pub(crate) fn next_live_id<T>(
    objects: &BTreeMap<u32, Weak<T>>,
    start_id: u32,
) -> Result<u32, Errno> {
    objects
        .range(start_id.saturating_add(1)..)
        .find(|(_, o)| o.strong_count() > 0)
        .map(|(&id, _)| id)
        .ok_or(Errno::ENOENT)
}

/// The object by id in `objects`, if it is alive.
pub(crate) fn by_id<T>(objects: &spin::Mutex<BTreeMap<u32, Weak<T>>>, id: u32) -> Option<Arc<T>> {
    objects.lock().get(&id).and_then(Weak::upgrade)
}
