//! Linux's errno values, as the `bpf()` system call returns them.

use core::fmt;

/// A Linux errno.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Errno(pub i32);

macro_rules! errnos {
    ($($name:ident = $v:expr, $text:expr;)*) => {
        impl Errno {
            $(
                #[doc = $text]
                pub const $name: Errno = Errno($v);
            )*

            /// The symbolic name (`EINVAL`), if known.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($v => Some(stringify!($name)),)*
                    _ => None,
                }
            }
        }
    };
}

errnos! {
    EPERM = 1, "Operation not permitted.";
    ENOENT = 2, "No such file or directory (no such element, id or object).";
    ESRCH = 3, "No such process.";
    EINTR = 4, "Interrupted system call.";
    EIO = 5, "I/O error.";
    ENXIO = 6, "No such device or address.";
    E2BIG = 7, "Argument list too long (attribute with unknown non-zero bytes; program too large).";
    ENOEXEC = 8, "Exec format error.";
    EBADF = 9, "Bad file descriptor.";
    ECHILD = 10, "No child processes.";
    EAGAIN = 11, "Try again.";
    ENOMEM = 12, "Out of memory.";
    EACCES = 13, "Permission denied (the verifier refused an unsafe program).";
    EFAULT = 14, "Bad address (user memory could not be copied).";
    EBUSY = 16, "Device or resource busy.";
    EEXIST = 17, "File exists (element already present).";
    EXDEV = 18, "Cross-device link.";
    ENODEV = 19, "No such device.";
    ENOTDIR = 20, "Not a directory.";
    EISDIR = 21, "Is a directory.";
    EINVAL = 22, "Invalid argument (malformed attribute or program).";
    ENFILE = 23, "File table overflow.";
    EMFILE = 24, "Too many open files.";
    ENOTTY = 25, "Not a typewriter.";
    EFBIG = 27, "File too large.";
    ENOSPC = 28, "No space left on device (log buffer too small, map full).";
    ESPIPE = 29, "Illegal seek.";
    EROFS = 30, "Read-only file system.";
    EPIPE = 32, "Broken pipe.";
    ERANGE = 34, "Result out of range.";
    EDEADLK = 35, "Resource deadlock would occur.";
    ENAMETOOLONG = 36, "File name too long.";
    ENOSYS = 38, "Function not implemented.";
    ENOTEMPTY = 39, "Directory not empty.";
    ELOOP = 40, "Too many symbolic links (or nesting too deep).";
    ENODATA = 61, "No data available.";
    ENOLINK = 67, "Link has been severed.";
    EOVERFLOW = 75, "Value too large for defined data type.";
    EBADFD = 77, "File descriptor in bad state.";
    EOPNOTSUPP = 95, "Operation not supported.";
    EADDRINUSE = 98, "Address already in use.";
    ENOBUFS = 105, "No buffer space available.";
    ETIMEDOUT = 110, "Connection timed out.";
    EALREADY = 114, "Operation already in progress.";
    ECANCELED = 125, "Operation canceled.";
    ENOTSUPP = 524, "Operation is not supported (kernel-internal, seen by BPF users).";
}

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n}"),
            None => write!(f, "Errno({})", self.0),
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
