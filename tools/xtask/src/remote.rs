//! Axiom running under QEMU with its remote `bpf()` line: on x86-64, a
//! second serial port (COM2) connected to a Unix socket on the host,
//! where the guest's agent answers `axbpf --remote SOCKET`, and a third
//! (COM3), the IIO host feed, into which the host streams a real
//! accelerometer recording; on arm64, the one PL011, shared by the
//! console and the agent: xtask reads it, keeps the console text, and
//! relays the bytes between it and an `axbpf` connected to the same
//! socket path (frames are found by their magic; the rest is skipped).
//! [`Guest`] is such a running system; [`test`] steers it from the host
//! as a user would.

use crate::bare::Arch;
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running guest: QEMU, its console as it comes, its agent's socket.
pub struct Guest {
    child: Child,
    console: Arc<Mutex<String>>,
    /// The Unix socket of the guest's agent.
    pub socket: PathBuf,
    /// The Unix socket of the IIO feed (none on arm64).
    feed: Option<PathBuf>,
}

/// Appends what the console sent to `sink`, as text.
fn append_console(sink: &Mutex<String>, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes).replace('\r', "");
    if let Ok(mut c) = sink.lock() {
        c.push_str(&text);
    }
}

/// Splits what a shared console line carries into console text and the
/// agent's response frames (`axiom_abi::remote`: magic, body length,
/// body, CRC), keeping a frame's start until it is whole.
#[derive(Default)]
struct SharedLine {
    pending: Vec<u8>,
}

impl SharedLine {
    /// Takes `bytes`; returns the console text among what is whole so far.
    fn text(&mut self, bytes: &[u8]) -> Vec<u8> {
        use axiom_abi::remote::RESPONSE_MAGIC;
        self.pending.extend_from_slice(bytes);
        let mut text = Vec::new();
        loop {
            let at = self.pending.windows(4).position(|w| w == RESPONSE_MAGIC);
            let Some(at) = at else {
                // Keep a tail that may be the magic's first bytes.
                let keep = (1..4)
                    .rev()
                    .find(|&k| self.pending.ends_with(&RESPONSE_MAGIC[..k]))
                    .unwrap_or(0);
                let cut = self.pending.len() - keep;
                text.extend(self.pending.drain(..cut));
                return text;
            };
            text.extend(self.pending.drain(..at));
            if self.pending.len() < 8 {
                return text;
            }
            let len = u32::from_le_bytes(self.pending[4..8].try_into().unwrap_or_default());
            let whole = 12 + len as usize;
            if len as usize > axiom_abi::remote::MAX_BODY {
                // Not a frame after all: the magic is text.
                text.extend(self.pending.drain(..4));
                continue;
            }
            if self.pending.len() < whole {
                return text;
            }
            self.pending.drain(..whole);
        }
    }
}

impl Guest {
    /// Boots `kernel` with `cpus` vCPUs, the agent's line and `append`:
    /// x86-64 on `microvm`, arm64 on `virt` (the agent on the console's
    /// line); returns once the agent and the serving loop are up.
    pub fn start_on(arch: Arch, kernel: &Path, cpus: u32, append: &str) -> Result<Guest, String> {
        if arch == Arch::Aarch64 {
            return Guest::start_arm64(kernel, cpus, append);
        }
        let socket = crate::workspace::repo_root().join("target/axiom-agent.sock");
        let feed = crate::workspace::repo_root().join("target/axiom-iio.sock");
        let samples = crate::feed::recording()?;
        let _ = std::fs::remove_file(&socket);
        let _ = std::fs::remove_file(&feed);
        let chardev = format!("socket,id=agent,path={},server=on,wait=off", socket.display());
        let feed_chardev = format!("socket,id=iio,path={},server=on,wait=off", feed.display());
        let mut child = Command::new("qemu-system-x86_64")
            .args(["-M", "microvm", "-m", "32M", "-smp", &cpus.to_string()])
            .args(["-accel", crate::qemu::accel()])
            .arg("-kernel")
            .arg(kernel)
            .arg("-initrd")
            .arg(crate::user::initramfs_path())
            .args(["-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio"])
            .args(["-chardev", &chardev])
            .args(["-device", "isa-serial,chardev=agent,iobase=0x2f8,irq=3"])
            .args(["-chardev", &feed_chardev])
            .args(["-device", "isa-serial,chardev=iio,iobase=0x3e8,irq=5"])
            .args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"])
            .args(["-append", &format!("axiom.serve {append}")])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("qemu-system-x86_64: {e} (run `cargo xtask setup`)"))?;
        let console = Arc::new(Mutex::new(String::new()));
        let mut stdout = child.stdout.take().ok_or("no QEMU stdout")?;
        let sink = console.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                append_console(&sink, &buf[..n]);
            }
        });
        let mut guest = Guest { child, console, socket, feed: Some(feed) };
        if let Some(feed) = &guest.feed {
            crate::feed::stream(feed, samples)?;
        }
        guest.wait_for("axiom: serving", 0, Duration::from_secs(60))?;
        if !guest.console().contains("remote bpf() agent on") {
            return Err(format!("the guest started no agent:\n{}", guest.console()));
        }
        Ok(guest)
    }

    /// arm64: QEMU's one PL011 on a socket xtask reads; the agent's
    /// socket a listener whose client's bytes go to the guest, and which
    /// gets everything the guest sends (its reader skips the console text
    /// between frames).
    fn start_arm64(kernel: &Path, cpus: u32, append: &str) -> Result<Guest, String> {
        let root = crate::workspace::repo_root();
        let socket = root.join("target/axiom-agent.sock");
        let line = root.join("target/axiom-console.sock");
        let _ = std::fs::remove_file(&socket);
        let _ = std::fs::remove_file(&line);
        let chardev = format!("socket,id=con,path={},server=on,wait=on", line.display());
        let child = Command::new("qemu-system-aarch64")
            .args(["-M", "virt", "-cpu", "cortex-a76", "-m", "64M", "-smp", &cpus.to_string()])
            .args(["-accel", "tcg", "-semihosting"])
            .arg("-kernel")
            .arg(kernel)
            .arg("-initrd")
            .arg(crate::user::initramfs_path_for(Arch::Aarch64))
            .args(["-nodefaults", "-no-user-config", "-nographic"])
            .args(["-chardev", &chardev, "-serial", "chardev:con"])
            .args(["-append", &format!("axiom.serve {append}")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("qemu-system-aarch64: {e} (run `cargo xtask setup`)"))?;
        let console = Arc::new(Mutex::new(String::new()));
        let mut guest =
            Guest { child, console: console.clone(), socket: socket.clone(), feed: None };
        // QEMU waits for this connection before it starts the guest.
        let until = Instant::now() + Duration::from_secs(10);
        let uart = loop {
            match UnixStream::connect(&line) {
                Ok(s) => break s,
                Err(e) if Instant::now() > until => {
                    return Err(format!("QEMU's console socket {}: {e}", line.display()));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        let client: Arc<Mutex<Option<UnixStream>>> = Arc::new(Mutex::new(None));
        let (mut from_guest, to_guest) =
            (uart.try_clone().map_err(|e| e.to_string())?, Arc::new(Mutex::new(uart)));
        let relay = client.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            let mut shared = SharedLine::default();
            while let Ok(n) = from_guest.read(&mut buf) {
                if n == 0 {
                    break;
                }
                append_console(&console, &shared.text(&buf[..n]));
                if let Ok(mut c) = relay.lock()
                    && let Some(s) = c.as_mut()
                    && s.write_all(&buf[..n]).is_err()
                {
                    *c = None;
                }
            }
        });
        let listener =
            UnixListener::bind(&socket).map_err(|e| format!("{}: {e}", socket.display()))?;
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let Ok(reader) = stream.try_clone() else { continue };
                if let Ok(mut c) = client.lock() {
                    *c = Some(stream);
                }
                let to_guest = to_guest.clone();
                std::thread::spawn(move || {
                    let mut reader = reader;
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = reader.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        let Ok(mut g) = to_guest.lock() else { break };
                        if g.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        guest.wait_for("axiom: serving", 0, Duration::from_secs(60))?;
        if !guest.console().contains("remote bpf() agent on") {
            return Err(format!("the guest started no agent:\n{}", guest.console()));
        }
        Ok(guest)
    }

    /// The console so far.
    pub fn console(&self) -> String {
        self.console.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// Waits for a whole console line containing `text` past byte `from`;
    /// returns the line and where it ends.
    pub fn wait_for(
        &mut self,
        text: &str,
        from: usize,
        within: Duration,
    ) -> Result<(String, usize), String> {
        let until = Instant::now() + within;
        loop {
            let c = self.console();
            // A whole line: the console may have only part of it yet.
            let found = c.get(from..).and_then(|rest| rest.find(text)).and_then(|at| {
                let end = from + at + c[from + at..].find('\n')?;
                Some((from + at, end))
            });
            if let Some((at, end)) = found {
                let start = c[..at].rfind('\n').map_or(0, |i| i + 1);
                return Ok((c[start..end].to_string(), end));
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("QEMU ended ({status}) before `{text}`:\n{c}"));
            }
            if Instant::now() > until {
                return Err(format!("no `{text}` within {within:?}:\n{c}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.socket);
        if let Some(feed) = &self.feed {
            let _ = std::fs::remove_file(feed);
        }
    }
}

/// The host's `axbpf` (built for the host by `cargo build -p axbpf`).
fn host_axbpf() -> Result<PathBuf, String> {
    crate::workspace::cargo_host(&["build", "--quiet", "-p", "axbpf"], &[])?;
    Ok(crate::workspace::repo_root().join("target/debug/axbpf"))
}

/// `axbpf --remote <socket> <args>`, with its wall time.
fn remote(axbpf: &Path, guest: &Guest, args: &[&str]) -> Result<(Output, Duration), String> {
    let start = Instant::now();
    let out = Command::new(axbpf)
        .arg("--remote")
        .arg(&guest.socket)
        .args(args)
        .output()
        .map_err(|e| format!("{}: {e}", axbpf.display()))?;
    Ok((out, start.elapsed()))
}

fn show(args: &[&str], out: &Output) -> String {
    let text = format!(
        "host$ axbpf --remote … {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    print!("{text}");
    text
}

/// Runs `axbpf --remote` and requires success; its output.
fn ok(axbpf: &Path, guest: &Guest, args: &[&str]) -> Result<(String, Duration), String> {
    let (out, took) = remote(axbpf, guest, args)?;
    let text = show(args, &out);
    if !out.status.success() {
        return Err(format!("axbpf --remote {} failed:\n{text}", args.join(" ")));
    }
    Ok((String::from_utf8_lossy(&out.stdout).into_owned(), took))
}

/// The per-CPU tick counts of the map named `tick_stats`, summed.
fn ticks_counted(axbpf: &Path, guest: &Guest, id: &str) -> Result<u64, String> {
    let (out, _) = ok(axbpf, guest, &["--json", "map", "dump", id])?;
    // `[{"key":[0,0,0,0],"value":[...]}]`: the first u64 of each CPU's
    // 16-byte value is its tick count.
    let value = out.split("\"value\":[").nth(1).ok_or("no value in the dump")?;
    let bytes: Vec<u8> =
        value.split(']').next().unwrap_or("").split(',').filter_map(|b| b.parse().ok()).collect();
    Ok(bytes
        .chunks(16)
        .filter(|c| c.len() >= 8)
        .map(|c| u64::from_le_bytes(c[..8].try_into().unwrap_or([0; 8])))
        .sum())
}

/// The values in a console line's `last kept Some([a, b, c, d])`.
fn last_kept(line: &str) -> Option<[i32; 4]> {
    let inner = line.split("last kept Some([").nth(1)?.split(']').next()?;
    let v: Vec<i32> = inner.split(',').filter_map(|f| f.trim().parse().ok()).collect();
    v.try_into().ok()
}

/// A number in `line` just before `what` (as in `12 dropped`).
fn count_before(line: &str, what: &str) -> Option<u64> {
    line.split(what).next()?.split([' ', '(', ',']).rev().find(|w| !w.is_empty())?.parse().ok()
}

/// Attaches the IIO filter in `obj` (program `name`) from the host; the
/// first whole second of the device's console line under it.
fn swap_iio_filter(
    axbpf: &Path,
    guest: &mut Guest,
    obj: &str,
    name: &str,
) -> Result<String, String> {
    let mark = guest.console().len();
    ok(axbpf, guest, &["load", obj, "--attach", "iio:0"])?;
    let (_, mark) = guest.wait_for("iio:device0, last second", mark, Duration::from_secs(30))?;
    let (line, _) = guest.wait_for("iio:device0, last second", mark, Duration::from_secs(30))?;
    println!("guest: {line}");
    if !line.contains(&format!("`{name}`")) {
        return Err(format!("{name} is not the IIO filter: {line}"));
    }
    Ok(line)
}

/// x86-64's IIO steps: the scans are the host's recording, and the
/// threshold filter keeps only movement.
fn iio_threshold(
    axbpf: &Path,
    guest: &mut Guest,
    threshold: &str,
    first: &str,
    recording: &[[i32; 4]],
) -> Result<(), String> {
    let line = first.to_string();
    let from_recording = last_kept(&line).is_some_and(|v| recording.contains(&v));
    if !line.contains("host feed") || !from_recording {
        return Err(format!("the IIO scans are not the host's recording: {line}"));
    }
    let mut line = swap_iio_filter(axbpf, guest, threshold, "threshold")?;
    let beyond = |v: [i32; 4]| {
        let m: i64 = v[..3].iter().map(|&a| (a as i64).pow(2)).sum();
        !(600 * 600..=1400 * 1400).contains(&m)
    };
    // The recording is calm, then vigorous: wait (one loop of it at
    // most) for a second where the filter keeps something.
    for _ in 0..25 {
        let kept = count_before(&line, " kept").unwrap_or(u64::MAX);
        let scans = count_before(&line, " scans").unwrap_or(0);
        if kept >= scans || last_kept(&line).is_some_and(|v| !beyond(v)) {
            return Err(format!("the threshold filter kept a scan within 1 g ± 0.4: {line}"));
        }
        if kept > 0 {
            break;
        }
        let mark = guest.console().len();
        (line, _) = guest.wait_for("iio:device0, last second", mark, Duration::from_secs(30))?;
    }
    println!("guest: {line}");
    if last_kept(&line).is_none() {
        return Err(format!("the threshold filter kept nothing in 25 s of the recording: {line}"));
    }
    Ok(())
}

/// From the host, into a running guest, as a user would: the default
/// policy seen at work; a tick program loaded and seen counting; the
/// scheduler policy swapped and the workload's order seen to change; an
/// IRQ filter dropping the RTC's 1024 Hz storm; IIO filters on the
/// recording the host feeds; a policy the verifier refuses coming back
/// with its log and errno while the running one stays; the latency table
/// of the hooks at work. Every step checked; the console lines shown.
pub fn test() -> Result<(), String> {
    test_on(Arch::X86_64)
}

/// The same tour on `arch`. On arm64 the agent shares the console's
/// line and there is no IIO feed yet: the IIO device's scans are
/// synthesised, and the decimator is swapped in on them.
pub fn test_on(arch: Arch) -> Result<(), String> {
    let axbpf = host_axbpf()?;
    let kernel = crate::bare::build_kernel_for(arch)?;
    let archive = crate::user::initramfs_path_for(arch);
    let lib = archive.parent().ok_or("no initramfs folder")?.join("rootfs/lib/bpf");
    let obj = |name: &str| lib.join(format!("{name}.bpf.o")).display().to_string();
    let recording = crate::feed::recording()?;
    let started = Instant::now();
    let mut guest = Guest::start_on(arch, &kernel, 1, "")?;
    let (accel, machine) = match arch {
        Arch::X86_64 => (crate::qemu::accel(), "microvm"),
        Arch::Aarch64 => ("tcg", "virt, Cortex-A76, the agent on the console's PL011"),
    };
    println!(
        "host: QEMU ({accel}, {machine}, 1 vCPU) serving after {:.2} s, agent on {}",
        started.elapsed().as_secs_f64(),
        guest.socket.display()
    );
    let (line, _) = guest.wait_for("default scheduler policy", 0, Duration::from_secs(30))?;
    println!("guest: {line}");
    let (line, _) = guest.wait_for("finished in order", 0, Duration::from_secs(30))?;
    println!("guest: {line}");
    ok(&axbpf, &guest, &["prog", "list"])?;

    // A tick program, loaded from the host, counting in the guest.
    let (_, took) = ok(&axbpf, &guest, &["load", &obj("tick_count"), "--attach", "tick"])?;
    println!("host: tick_count loaded and attached in {:.1} ms", took.as_secs_f64() * 1000.0);
    let (maps, _) = ok(&axbpf, &guest, &["map", "list"])?;
    let id = maps
        .lines()
        .find(|l| l.ends_with("name tick_stats"))
        .and_then(|l| l.split(':').next())
        .ok_or("no tick_stats map in the guest")?
        .to_string();
    let before = ticks_counted(&axbpf, &guest, &id)?;
    std::thread::sleep(Duration::from_millis(500));
    let after = ticks_counted(&axbpf, &guest, &id)?;
    println!("host: the guest's tick program counted {before} then {after} ticks");
    if after <= before {
        return Err("the tick program loaded from the host does not run".into());
    }

    // The scheduler policy, swapped from the host: the next workload
    // finishes by priority.
    let mark = guest.console().len();
    let (out, took) = ok(&axbpf, &guest, &["load", &obj("sched_prio"), "--attach", "sched"])?;
    if !out.contains("replaced the program on sched") {
        return Err(format!("sched_prio did not replace the running policy:\n{out}"));
    }
    println!("host: sched_prio swapped in in {:.1} ms", took.as_secs_f64() * 1000.0);
    // The first workload under it may have started under the old one.
    let (_, mark) = guest.wait_for("priority", mark, Duration::from_secs(30))?;
    let (line, _) = guest.wait_for("finished in order", mark, Duration::from_secs(30))?;
    println!("guest: {line}");
    if !line.contains("finished in order Some([3, 3,") {
        return Err(format!("the workload did not follow the priority policy: {line}"));
    }

    // The periodic device's line (the RTC; arm64: the virtual timer)
    // storms at 1024 Hz: a filter from the host drops it.
    let (line, _) = guest.wait_for("irq 8 (", 0, Duration::from_secs(30))?;
    println!("guest: {line}");
    let mark = guest.console().len();
    ok(&axbpf, &guest, &["load", &obj("irq_storm"), "--attach", "irq:8"])?;
    let (_, mark) = guest.wait_for("irq 8 (", mark, Duration::from_secs(30))?;
    let (line, _) = guest.wait_for("irq 8 (", mark, Duration::from_secs(30))?;
    println!("guest: {line}");
    let dropped = count_before(&line, " dropped").unwrap_or(0);
    if !line.contains("`drop_storm`") || dropped < 100 {
        return Err(format!("the storm filter did not drop the storm: {line}"));
    }

    // IIO: the scans are the recording the host feeds; the threshold
    // filter keeps only those beyond gravity, the decimator one in four.
    // (arm64: no feed yet, the scans are synthesised.)
    let (line, _) = guest.wait_for("iio:device0, last second", 0, Duration::from_secs(30))?;
    println!("guest: {line}");
    if arch == Arch::X86_64 {
        iio_threshold(&axbpf, &mut guest, &obj("iio_threshold"), &line, &recording)?;
    } else if !line.contains("synthesised") {
        return Err(format!("the arm64 guest's IIO scans are not synthesised: {line}"));
    }
    let line = swap_iio_filter(&axbpf, &mut guest, &obj("iio_decimate"), "decimate")?;
    let kept = count_before(&line, " kept").unwrap_or(0);
    let scans = count_before(&line, " scans").unwrap_or(0);
    if scans < 40 || kept.abs_diff(scans / 4) > 2 {
        return Err(format!("the decimator did not keep one scan in four: {line}"));
    }

    // A policy the verifier refuses: its log and errno come back, and the
    // guest keeps the running one.
    let mark = guest.console().len();
    let args = ["load", &obj("sched_bad"), "--attach", "sched"];
    let (out, _) = remote(&axbpf, &guest, &args)?;
    let text = show(&args, &out);
    let refused = out.status.code() == Some(1)
        && text.contains("the remote kernel refused it")
        && text.contains("(errno ")
        && text.lines().count() > 3;
    if !refused {
        return Err(format!("sched_bad was not refused with a log and an errno:\n{text}"));
    }
    let (line, _) = guest.wait_for("finished in order", mark, Duration::from_secs(30))?;
    println!("guest: {line}");
    if !line.contains("priority") {
        return Err(format!("the refused policy displaced the running one: {line}"));
    }

    // The hooks at work, from the kernel's histograms.
    let (table, _) = ok(&axbpf, &guest, &["trace", "--duration", "2000"])?;
    let row = |hook: &str| {
        table.lines().any(|l| l.starts_with(hook) && l.split_whitespace().count() == 8)
    };
    for hook in ["tick", "sched", "irq", "iio"] {
        if !row(hook) {
            return Err(format!("no `{hook}` row in the remote latency table:\n{table}"));
        }
    }
    ok(&axbpf, &guest, &["detach", "tick"])?;
    Ok(())
}

/// `cargo xtask serve`: a guest kept running for `axbpf --remote`, its
/// console shown as it comes.
pub fn serve(arch: Arch, cpus: u32) -> Result<(), String> {
    let kernel = crate::bare::build_kernel_for(arch)?;
    let guest = Guest::start_on(arch, &kernel, cpus, "")?;
    print!("{}", guest.console());
    println!(
        "\nxtask: the guest's agent listens on {}: run `axbpf --remote {} prog list` \
         (or `load OBJ --attach sched|tick|irq:N|iio:0`) from another terminal; its IIO device \
         takes the recording {} from {}; Ctrl-C ends QEMU.",
        guest.socket.display(),
        guest.socket.display(),
        crate::feed::recording_path().display(),
        guest.feed.as_ref().map_or("".into(), |f| f.display().to_string())
    );
    let mut shown = guest.console().len();
    loop {
        std::thread::sleep(Duration::from_millis(200));
        let c = guest.console();
        if c.len() > shown {
            print!("{}", &c[shown..]);
            shown = c.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_line_gives_the_console_text_without_frames() {
        let frame = axiom_abi::remote::frame(axiom_abi::remote::RESPONSE_MAGIC, b"body\n\x00AX");
        let mut stream = b"axiom: one\n".to_vec();
        stream.extend_from_slice(&frame);
        stream.extend_from_slice(b"axiom: two\nAXBRx");
        let mut line = SharedLine::default();
        // Fed a byte at a time: frames split anywhere are still removed.
        let text: Vec<u8> = stream.iter().flat_map(|&b| line.text(&[b])).collect();
        assert_eq!(text, b"axiom: one\naxiom: two\n");
        // A magic followed by an impossible length is text.
        let mut line = SharedLine::default();
        let mut odd = b"AXBR".to_vec();
        odd.extend_from_slice(&u32::MAX.to_le_bytes());
        odd.extend_from_slice(b" tail");
        assert_eq!(line.text(&odd), [&odd[..4], &odd[4..]].concat());
    }

    #[test]
    fn console_lines_are_read_for_their_figures() {
        let irq = "axiom: irq 8 (RTC at 1024 Hz), last second: 1020 interrupts, 200 handled, 820 \
                   dropped, 0 deferred, 0 rate-limited; filter `drop_storm` (program 7)";
        assert_eq!(count_before(irq, " dropped"), Some(820));
        assert_eq!(count_before(irq, " handled"), Some(200));
        let iio = "axiom: iio:device0, last second: 101 scans (host feed: 100 samples received, \
                   101 scans took a new one, 0 held the last, 1 lines refused), 25 kept, 76 \
                   dropped; filter `decimate` (program 9); last kept Some([-512, -965, 418, 25000])";
        assert_eq!(count_before(iio, " scans"), Some(101));
        assert_eq!(count_before(iio, " kept"), Some(25));
        assert_eq!(last_kept(iio), Some([-512, -965, 418, 25000]));
        assert_eq!(last_kept("last kept None"), None);
        assert_eq!(count_before("no figure here", " kept"), None);
    }
}
