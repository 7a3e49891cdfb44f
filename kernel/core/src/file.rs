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
    fn bpf_object(&self) -> Option<axiom_bpf::command::Object> {
        None
    }
}

/// A BPF object's descriptor (a map today).
pub struct BpfFile(pub axiom_bpf::command::Object);

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
    fn bpf_object(&self) -> Option<axiom_bpf::command::Object> {
        Some(self.0.clone())
    }
}

/// The console: reads see end of file, writes go to the serial console.
pub struct Console;

impl File for Console {
    fn read(&self, _buf: &mut [u8]) -> Result<usize, Errno> {
        Ok(0)
    }
    fn write(&self, data: &[u8]) -> Result<usize, Errno> {
        hal::console(data);
        Ok(data.len())
    }
    fn stat(&self) -> Stat {
        Stat { mode: S_IFCHR | 0o620, size: 0, ino: 1 }
    }
    fn is_tty(&self) -> bool {
        true
    }
}

/// A file of the initramfs, read-only.
pub struct MemoryFile {
    data: &'static [u8],
    pos: spin::Mutex<u64>,
    ino: u64,
}

impl MemoryFile {
    /// Opens `data` at position 0.
    pub fn new(data: &'static [u8], ino: u64) -> MemoryFile {
        MemoryFile { data, pos: spin::Mutex::new(0), ino }
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
