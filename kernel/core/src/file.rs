//! Open files: what a process's file descriptors refer to. The console
//! (standard input, output, error) and read-only initramfs files today.

use alloc::vec::Vec;
use axiom_abi::uapi::errno::Errno;
use axiom_hal as hal;

/// What `fstat` reports.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stat {
    /// `st_mode` (type and permissions).
    pub mode: u32,
    /// `st_size`.
    pub size: u64,
    /// `st_ino`.
    pub ino: u64,
}

/// `S_IFCHR` and `S_IFREG`.
pub const S_IFCHR: u32 = 0o020_000;
/// A regular file.
pub const S_IFREG: u32 = 0o100_000;
/// A directory.
pub const S_IFDIR: u32 = 0o040_000;

/// An open file.
pub trait File: Send + Sync {
    /// Reads at the file's position.
    fn read(&self, buf: &mut [u8]) -> Result<usize, Errno>;
    /// Writes at the file's position.
    fn write(&self, data: &[u8]) -> Result<usize, Errno>;
    /// Its metadata.
    fn stat(&self) -> Stat;
    /// Moves the position (`whence`: 0 set, 1 current, 2 end).
    fn seek(&self, _offset: i64, _whence: u32) -> Result<u64, Errno> {
        Err(Errno::ESPIPE)
    }
    /// Whether it is a terminal-like device (`ioctl(TCGETS)`).
    fn is_tty(&self) -> bool {
        false
    }
    /// The BPF object it is, if it is one.
    fn bpf_object(&self) -> Option<axiom_bpf::registry::Object> {
        None
    }
    /// Its readiness for `poll`/`epoll` (`EPOLLIN`, `EPOLLOUT`, ...), or
    /// `None` if it does not support polling (always ready to `poll`,
    /// refused by `epoll_ctl`, as Linux treats regular files).
    fn poll(&self) -> Option<u32> {
        None
    }
    /// The physical frames of its pages `first..first + count` for a
    /// shared mapping (`write`: a writable one).
    fn mmap_frames(&self, _first: u64, _count: u64, _write: bool) -> Result<Vec<u64>, Errno> {
        Err(Errno::ENODEV)
    }
    /// Itself as `Any`, for the kinds of file a system call tells apart
    /// by type (an epoll instance), if it is one of those.
    fn as_any(&self) -> Option<&dyn core::any::Any> {
        None
    }
}

/// `EPOLLIN` / `POLLIN`: readable.
pub const POLLIN: u32 = 0x1;
/// `EPOLLOUT` / `POLLOUT`: writable.
pub const POLLOUT: u32 = 0x4;
/// `EPOLLERR` / `POLLERR`.
pub const POLLERR: u32 = 0x8;
/// `EPOLLRDNORM` / `POLLRDNORM`.
pub const POLLRDNORM: u32 = 0x40;

/// A BPF object's descriptor (a map today).
pub struct BpfFile(pub axiom_bpf::registry::Object);

impl File for BpfFile {
    fn read(&self, _buf: &mut [u8]) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }
    fn write(&self, _data: &[u8]) -> Result<usize, Errno> {
        Err(Errno::EINVAL)
    }
    fn stat(&self) -> Stat {
        // Linux shows BPF objects as anonymous inodes.
        Stat { mode: 0o600, size: 0, ino: 0 }
    }
    fn bpf_object(&self) -> Option<axiom_bpf::registry::Object> {
        Some(self.0.clone())
    }
    /// A ring buffer is readable when records wait; other maps do not
    /// poll (Linux: `EPOLLERR`).
    fn poll(&self) -> Option<u32> {
        let axiom_bpf::registry::Object::Map(m) = &self.0 else { return Some(POLLERR) };
        let map = m.map.lock();
        Some(match map.ring() {
            Some(r) if r.available() > 0 => POLLIN | POLLRDNORM,
            Some(_) => 0,
            None => POLLERR,
        })
    }
    /// A ring buffer's pages as Linux lays them out for `mmap`: the
    /// consumer page (the only one that may be mapped writable), the
    /// producer page, then the data pages twice in a row.
    fn mmap_frames(&self, first: u64, count: u64, write: bool) -> Result<Vec<u64>, Errno> {
        let axiom_bpf::registry::Object::Map(m) = &self.0 else { return Err(Errno::ENODEV) };
        let map = m.map.lock();
        // Linux: arrays map only when made with BPF_F_MMAPABLE (which
        // Axiom does not offer yet, partial); other kinds never.
        let is_array = map.value_address().is_some();
        let ring = map.ring().ok_or(if is_array { Errno::EINVAL } else { Errno::ENOTSUPP })?;
        const PAGE: u64 = 4096;
        let data_pages = ring.size() / PAGE;
        let end = first.checked_add(count).ok_or(Errno::EINVAL)?;
        if write && (first != 0 || count > 1) {
            return Err(Errno::EPERM);
        }
        if end > 2 + 2 * data_pages {
            return Err(Errno::EINVAL);
        }
        (first..end)
            .map(|i| {
                let page = if i < 2 { i } else { 2 + (i - 2) % data_pages };
                let virt = ring.base() + page * PAGE;
                hal::paging::lookup(virt).map(|(phys, _)| phys).ok_or(Errno::EFAULT)
            })
            .collect()
    }
}

/// `/dev/null` (reads see end of file, writes vanish) and `/dev/zero`
/// (reads fill with zeros, writes vanish).
pub struct Device {
    zero: bool,
}

impl Device {
    /// The device at `path`, if there is one.
    pub fn open(path: &str) -> Option<Device> {
        match path {
            "/dev/null" => Some(Device { zero: false }),
            "/dev/zero" => Some(Device { zero: true }),
            _ => None,
        }
    }
}

impl File for Device {
    fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        if !self.zero {
            return Ok(0);
        }
        buf.fill(0);
        Ok(buf.len())
    }
    fn write(&self, data: &[u8]) -> Result<usize, Errno> {
        Ok(data.len())
    }
    fn stat(&self) -> Stat {
        Stat { mode: S_IFCHR | 0o666, size: 0, ino: if self.zero { 5 } else { 3 } }
    }
    fn seek(&self, _offset: i64, _whence: u32) -> Result<u64, Errno> {
        Ok(0)
    }
    fn poll(&self) -> Option<u32> {
        Some(POLLIN | POLLOUT)
    }
}

/// The console: reads see end of file, writes go to the serial console.
pub struct Console;

impl File for Console {
    fn read(&self, _buf: &mut [u8]) -> Result<usize, Errno> {
        Ok(0)
    }
    fn write(&self, data: &[u8]) -> Result<usize, Errno> {
        // Whole, between the kernel's lines (and, where the remote line
        // shares the console, between the agent's frames).
        crate::console::held(|| hal::console(data));
        Ok(data.len())
    }
    fn stat(&self) -> Stat {
        Stat { mode: S_IFCHR | 0o620, size: 0, ino: 1 }
    }
    fn is_tty(&self) -> bool {
        true
    }
    fn poll(&self) -> Option<u32> {
        // Reads see end of file at once; writes never block.
        Some(POLLIN | POLLOUT)
    }
}

/// A file of the initramfs, read-only.
pub struct MemoryFile {
    data: alloc::borrow::Cow<'static, [u8]>,
    pos: spin::Mutex<u64>,
    ino: u64,
}

impl MemoryFile {
    /// Opens `data` at position 0.
    pub fn new(data: &'static [u8], ino: u64) -> MemoryFile {
        MemoryFile { data: alloc::borrow::Cow::Borrowed(data), pos: spin::Mutex::new(0), ino }
    }

    /// A read-only file the kernel generates at `path`, if it is one of
    /// the CPU ranges: `/sys/devices/system/cpu/possible` and
    /// `.../online` (as libbpf reads them to size per-CPU map values).
    /// Devices generate their own (see [`MemoryFile::generated_text`]).
    pub fn generated(path: &str) -> Option<MemoryFile> {
        let text = match path {
            "/sys/devices/system/cpu/possible" | "/sys/devices/system/cpu/online" => {
                match hal::cpu_count() {
                    0 | 1 => alloc::string::String::from("0\n"),
                    n => alloc::format!("0-{}\n", n - 1),
                }
            }
            _ => return None,
        };
        Some(MemoryFile::generated_text(text))
    }

    /// A read-only file of text the kernel generated.
    pub fn generated_text(text: alloc::string::String) -> MemoryFile {
        let data = alloc::borrow::Cow::Owned(text.into_bytes());
        MemoryFile { data, pos: spin::Mutex::new(0), ino: 6 }
    }
}

impl File for MemoryFile {
    fn read(&self, buf: &mut [u8]) -> Result<usize, Errno> {
        let mut pos = self.pos.lock();
        let start = (*pos).min(self.data.len() as u64) as usize;
        let n = buf.len().min(self.data.len() - start);
        buf[..n].copy_from_slice(&self.data[start..start + n]);
        *pos += n as u64;
        Ok(n)
    }
    fn write(&self, _data: &[u8]) -> Result<usize, Errno> {
        Err(Errno::EBADF)
    }
    fn stat(&self) -> Stat {
        Stat { mode: S_IFREG | 0o555, size: self.data.len() as u64, ino: self.ino }
    }
    fn seek(&self, offset: i64, whence: u32) -> Result<u64, Errno> {
        let mut pos = self.pos.lock();
        let base = match whence {
            0 => 0,
            1 => *pos as i64,
            2 => self.data.len() as i64,
            _ => return Err(Errno::EINVAL),
        };
        let new = base.checked_add(offset).filter(|&p| p >= 0).ok_or(Errno::EINVAL)?;
        *pos = new as u64;
        Ok(new as u64)
    }
}

/// A process's file descriptors.
#[derive(Default)]
pub struct FdTable {
    files: Vec<Option<alloc::sync::Arc<dyn File>>>,
}

/// The most descriptors a process may have open.
pub const MAX_FDS: usize = 1024;

impl FdTable {
    /// Standard input, output and error on the console.
    pub fn with_console() -> FdTable {
        let c: alloc::sync::Arc<dyn File> = alloc::sync::Arc::new(Console);
        FdTable { files: alloc::vec![Some(c.clone()), Some(c.clone()), Some(c)] }
    }

    /// The file behind `fd`.
    pub fn get(&self, fd: u64) -> Result<alloc::sync::Arc<dyn File>, Errno> {
        self.files.get(fd as usize).and_then(|f| f.clone()).ok_or(Errno::EBADF)
    }

    /// Installs `file` at the lowest free descriptor.
    pub fn insert(&mut self, file: alloc::sync::Arc<dyn File>) -> Result<u64, Errno> {
        if let Some(i) = self.files.iter().position(|f| f.is_none()) {
            self.files[i] = Some(file);
            return Ok(i as u64);
        }
        if self.files.len() >= MAX_FDS {
            return Err(Errno::EMFILE);
        }
        self.files.push(Some(file));
        Ok(self.files.len() as u64 - 1)
    }

    /// Closes `fd`.
    pub fn close(&mut self, fd: u64) -> Result<(), Errno> {
        match self.files.get_mut(fd as usize) {
            Some(slot @ Some(_)) => {
                *slot = None;
                Ok(())
            }
            _ => Err(Errno::EBADF),
        }
    }
}
