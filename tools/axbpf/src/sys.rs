//! The raw `bpf()` system call: axbpf's only unsafe code.
#![allow(unsafe_code)]

/// `bpf(cmd, attr, sizeof attr)`; the non-negative result or the errno.
pub fn bpf(cmd: u32, attr: &mut [u8]) -> Result<i64, i32> {
    // SAFETY: `attr` is a live, writable buffer of the size passed; every
    // pointer stored inside it was built by the caller from a live buffer
    // that outlives this call.
    let r =
        unsafe { libc::syscall(libc::SYS_bpf, cmd as libc::c_long, attr.as_mut_ptr(), attr.len()) };
    if r < 0 { Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0)) } else { Ok(r) }
}

/// Closes a descriptor this process got from `bpf()`.
pub fn close(fd: i32) {
    // SAFETY: `fd` came from the kernel for this process and is closed
    // once, by the session that owns it.
    unsafe { libc::close(fd) };
}

/// Puts a terminal into raw mode at 115200 baud (no echo, no line
/// editing, 8-bit bytes), so a serial line carries frames untouched;
/// anything that is not a terminal is left alone.
pub fn raw_tty(file: &std::fs::File) {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: termios is plain data filled by tcgetattr before use, for a
    // descriptor `file` keeps open.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(fd, &mut t) == 0 {
            libc::cfmakeraw(&mut t);
            // The kernels' UARTs run at 115200 8N1 (the speed set in the
            // flags directly: libc's arm64 speed setters are versioned
            // symbols a static build cannot link).
            t.c_cflag = (t.c_cflag & !libc::CBAUD) | libc::B115200;
            libc::tcsetattr(fd, libc::TCSANOW, &t);
        }
    }
}

/// Restores the default action of `SIGPIPE`, so that `axbpf ... | head`
/// ends quietly like other command-line tools instead of failing to print.
pub fn default_sigpipe() {
    // SAFETY: sets a signal disposition to its default; no handler runs.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
}

/// A BPF ring buffer read through its mapping, as libbpf reads one: the
/// consumer page mapped read+write, the producer page and the data
/// (twice in a row) read-only.
pub struct RingReader {
    consumer: *mut u8,
    producer: *mut u8,
    size: usize,
    page: usize,
}

impl RingReader {
    /// Maps the ring buffer behind `fd` (this process's descriptor), whose data area is `size` bytes.
    pub fn new(fd: i32, size: usize) -> Result<RingReader, i32> {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        let map = |len: usize, prot: i32, offset: usize| -> Result<*mut u8, i32> {
            // SAFETY: a new shared mapping of the descriptor at an address
            // the kernel chooses; the result is checked.
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    prot,
                    libc::MAP_SHARED,
                    fd,
                    offset as libc::off_t,
                )
            };
            if p == libc::MAP_FAILED {
                Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
            } else {
                Ok(p as *mut u8)
            }
        };
        let consumer = map(page, libc::PROT_READ | libc::PROT_WRITE, 0)?;
        let producer = map(page + 2 * size, libc::PROT_READ, page)?;
        Ok(RingReader { consumer, producer, size, page })
    }

    /// The next committed record (discarded ones skipped), or `None` when
    /// there is none yet.
    pub fn next(&mut self) -> Option<Vec<u8>> {
        use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
        // SAFETY: the first words of the consumer and producer pages are
        // the 8-aligned positions, mapped for the reader's life.
        let (cons, prod) = unsafe {
            (
                AtomicU64::from_ptr(self.consumer as *mut u64),
                AtomicU64::from_ptr(self.producer as *mut u64),
            )
        };
        let mut c = cons.load(Ordering::Acquire);
        while c < prod.load(Ordering::Acquire) {
            let offset = self.page + (c as usize & (self.size - 1));
            // SAFETY: a record header inside the mapped data area (8-aligned).
            let word = unsafe { AtomicU32::from_ptr(self.producer.add(offset) as *mut u32) }
                .load(Ordering::Acquire);
            if word & (1 << 31) != 0 {
                return None;
            }
            let len = (word & !(3 << 30)) as usize;
            // SAFETY: the record's bytes follow its header inside the data
            // area, mapped twice in a row, so they never run past it.
            let data = unsafe { std::slice::from_raw_parts(self.producer.add(offset + 8), len) };
            let record = (word & (1 << 30) == 0).then(|| data.to_vec());
            c += (len as u64 + 8 + 7) & !7;
            cons.store(c, Ordering::Release);
            if record.is_some() {
                return record;
            }
        }
        None
    }

    /// Waits up to `ms` for `fd` (the ring's descriptor) to be readable.
    pub fn wait(fd: i32, ms: i32) {
        let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd for the duration of the call.
        unsafe { libc::poll(&mut p, 1, ms) };
    }
}

impl Drop for RingReader {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the two mappings `new` made.
        unsafe {
            libc::munmap(self.consumer as *mut libc::c_void, self.page);
            libc::munmap(self.producer as *mut libc::c_void, self.page + 2 * self.size);
        }
    }
}
