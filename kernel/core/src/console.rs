//! The console: `println!` to the boot console, one line at a time (a
//! lock keeps lines from different CPUs and tasks whole).

use axiom_hal as hal;
use core::fmt::Write;

/// Console output.
pub struct Console;

impl Write for Console {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        hal::console(s.as_bytes());
        Ok(())
    }
}

/// Held while a line is written.
pub static LOCK: spin::Mutex<()> = spin::Mutex::new(());

/// Writes a formatted line with the console lock held and interrupts off.
pub fn print_line(args: core::fmt::Arguments) {
    let _off = hal::InterruptsOff::new();
    let _held = LOCK.lock();
    let _ = Console.write_fmt(args);
    let _ = Console.write_str("\n");
}

/// Runs `f` with the console held and interrupts off: what it writes to
/// the console's UART stays whole between console lines.
pub fn held<R>(f: impl FnOnce() -> R) -> R {
    let _off = hal::InterruptsOff::new();
    let _held = LOCK.lock();
    f()
}

/// Prints a line on the console.
macro_rules! println {
    ($($t:tt)*) => {
        $crate::console::print_line(format_args!($($t)*))
    };
}
