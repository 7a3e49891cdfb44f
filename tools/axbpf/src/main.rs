//! `axbpf`: loads clang-built `.bpf.o` files the way libbpf does into
//! Axiom's runtime or the host Linux kernel, with bpftool's verbs.
//! Every failure ends with a one-line reason on stderr and exit status 1.

#![deny(unsafe_code)]

mod agent;
mod backend;
mod failure;
mod kernel;
mod sys;
mod trace;
mod transport;

use axiom_abi::uapi::attr::{GetIdAttr, InfoAttr, MapInfo, ProgInfo};
use axiom_abi::uapi::types::{MAP_TYPE_NAMES, PROG_TYPE_NAMES, cmd};
use axiom_loader::Object;
use backend::{Backend, Bpf};
use clap::{Parser, Subcommand, ValueEnum};
use failure::Failure;
use std::path::PathBuf;
use std::process::ExitCode;
use transport::Kernel;

/// Axiom's BPF tool.
#[derive(Parser)]
#[command(
    name = "axbpf",
    version,
    about = "Load, verify, run and inspect BPF objects on Axiom or Linux"
)]
struct Cli {
    /// Print listings as JSON.
    #[arg(long, global = true)]
    json: bool,
    /// Send every kernel command to the agent at PATH (a Unix socket, as
    /// `cargo xtask run` exposes the guest's, or a serial device): loads,
    /// pins, attachments and the map and program verbs go to the system
    /// behind it.
    #[arg(long, global = true, value_name = "PATH")]
    remote: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Target {
    /// Axiom's runtime in this process.
    Axiom,
    /// A kernel's `bpf()`: this machine's Linux, or the system behind
    /// `--remote`.
    Linux,
}

#[derive(Clone, Copy, ValueEnum)]
enum Arch {
    /// x86-64.
    X86_64,
    /// arm64.
    Aarch64,
}

#[derive(Subcommand)]
enum Command {
    /// Verify every program of an object (Linux-format log with source lines).
    Verify {
        /// The object file.
        obj: PathBuf,
        /// Only this program.
        #[arg(long)]
        prog: Option<String>,
        /// Verifier log level (1: the failing path, 2: everything).
        #[arg(long, default_value_t = 0)]
        log_level: u32,
        /// Where to verify.
        #[arg(long, value_enum, default_value = "axiom")]
        backend: Target,
    },
    /// Load an object: create its maps and load every program.
    Load {
        /// The object file.
        obj: PathBuf,
        /// Where to load it.
        #[arg(long, value_enum, default_value = "linux")]
        backend: Target,
        /// Pin every program as DIR/<program> (Linux, on a bpffs).
        #[arg(long)]
        pin: Option<PathBuf>,
        /// Attach the object's program for HOOK to it (Axiom's hooks:
        /// `sched`, `tick`, `irq:LINE`, `iio:DEVICE`): the program replaces the running one in one
        /// step, or is attached by a link pinned at
        /// /sys/fs/bpf/axiom/HOOK. A program that fails to load leaves
        /// the running one in place.
        #[arg(long, value_name = "HOOK")]
        attach: Option<String>,
    },
    /// Trace Axiom's hook dispatches: turn tracing on for a while, print
    /// the first events and a latency table per hook (p50, p99, max).
    Trace {
        /// How long to trace, in milliseconds.
        #[arg(long, default_value_t = 1000)]
        duration: u64,
        /// Events to print.
        #[arg(long, default_value_t = 10)]
        show: usize,
        /// Also print a `BENCH` line per hook and measure (start latency,
        /// run time: count, total, mean, min, median, p99, max).
        #[arg(long)]
        bench: bool,
    },
    /// Serve `bpf()` commands from a host's `axbpf --remote` over DEVICE
    /// (the guest's end of the remote transport).
    Agent {
        /// The serial device (`/dev/ttyS1`), or with `--listen` the Unix
        /// socket to create.
        device: PathBuf,
        /// Listen on a Unix socket at DEVICE instead (for tests, and for
        /// guests whose line comes through a socket).
        #[arg(long)]
        listen: bool,
    },
    /// Detach what `load --attach HOOK` attached (Axiom's hooks).
    Detach {
        /// The hook: `sched`, `tick`, `irq:LINE`, `iio:DEVICE`.
        hook: String,
    },
    /// Run a program on input data (like BPF_PROG_TEST_RUN).
    Run {
        /// The object file.
        obj: PathBuf,
        /// The program.
        #[arg(long)]
        prog: String,
        /// Input packet data (default: 64 zero bytes).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Runs to average over.
        #[arg(long, default_value_t = 1)]
        repeat: u32,
        /// Where to run it.
        #[arg(long, value_enum, default_value = "linux")]
        backend: Target,
    },
    /// Programs.
    Prog {
        #[command(subcommand)]
        what: ProgCommand,
    },
    /// Maps.
    Map {
        #[command(subcommand)]
        what: MapCommand,
    },
}

#[derive(Subcommand)]
enum ProgCommand {
    /// The host kernel's loaded programs.
    List,
    /// One of the host kernel's programs, by id.
    Show {
        /// Program id.
        id: u32,
    },
    /// An object's program after loading: its instructions (`xlated`) or
    /// Axiom's native code (`jited`).
    Dump {
        /// `xlated` or `jited`.
        #[arg(value_parser = ["xlated", "jited"])]
        kind: String,
        /// The object file.
        obj: PathBuf,
        /// The program.
        #[arg(long)]
        prog: String,
        /// Native code for this architecture.
        #[arg(long, value_enum, default_value = "x86-64")]
        arch: Arch,
    },
}

#[derive(Subcommand)]
enum MapCommand {
    /// The host kernel's maps.
    List,
    /// Every entry of a map, by id.
    Dump {
        /// Map id.
        id: u32,
    },
    /// One entry.
    Lookup {
        /// Map id.
        id: u32,
        /// The key, as hex bytes (`01 00 00 00` or `01000000`).
        #[arg(long)]
        key: String,
    },
    /// Create or replace an entry.
    Update {
        /// Map id.
        id: u32,
        /// The key, as hex bytes.
        #[arg(long)]
        key: String,
        /// The value, as hex bytes.
        #[arg(long)]
        value: String,
        /// `any`, `noexist` or `exist`.
        #[arg(long, default_value = "any", value_parser = ["any", "noexist", "exist"])]
        flags: String,
    },
    /// Delete an entry.
    Delete {
        /// Map id.
        id: u32,
        /// The key, as hex bytes.
        #[arg(long)]
        key: String,
    },
}

fn main() -> ExitCode {
    sys::default_sigpipe();
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            if !f.log.is_empty() {
                eprint!("{}", f.log);
                if !f.log.ends_with('\n') {
                    eprintln!();
                }
            }
            eprintln!("axbpf: {}", f.message);
            ExitCode::FAILURE
        }
    }
}

fn fail(message: String) -> Failure {
    Failure { message, log: String::new() }
}

/// Reads and links an object for `target`: CO-RE relocations are applied
/// against the running kernel's BTF for Linux; Axiom has no kernel types
/// to apply them against.
fn open_for(path: &PathBuf, target: Target) -> Result<Object, Failure> {
    let bytes =
        std::fs::read(path).map_err(|e| fail(format!("{}: cannot read: {e}", path.display())))?;
    let loaded = match (axiom_loader::load(&bytes), target) {
        // Read the kernel's BTF (megabytes) only for objects that need it.
        (Err(axiom_loader::LoadError::CoRe(_)), Target::Linux) => {
            match std::fs::read("/sys/kernel/btf/vmlinux") {
                Ok(vmlinux) => axiom_loader::load_for(&bytes, Some(&vmlinux)),
                Err(_) => axiom_loader::load(&bytes),
            }
        }
        (r, _) => r,
    };
    loaded.map_err(|e| fail(format!("{}: {e}", path.display())))
}

/// Whose types an object's CO-RE relocations are applied against: the
/// host kernel's only when its programs go to the host kernel.
fn source_target(cli: &Cli, t: Target) -> Target {
    if cli.remote.is_some() { Target::Axiom } else { t }
}

fn open(path: &PathBuf) -> Result<Object, Failure> {
    open_for(path, Target::Axiom)
}

fn backend(t: Target, remote: Option<&PathBuf>) -> Result<Box<dyn Backend>, Failure> {
    Ok(match (t, remote) {
        (Target::Axiom, _) => Box::new(Bpf::in_process()),
        (Target::Linux, None) => Box::new(Bpf::local()),
        (Target::Linux, Some(path)) => Box::new(Bpf::remote(path)?),
    })
}

/// The kernel the object verbs talk to: this machine's, or the one
/// behind `--remote`.
fn kernel_for(cli: &Cli) -> Result<Kernel, Failure> {
    match &cli.remote {
        Some(path) => Kernel::remote(path),
        None => Ok(Kernel::local()),
    }
}

fn find<'o>(obj: &'o Object, name: &str) -> Result<&'o axiom_loader::Program, Failure> {
    obj.programs.iter().find(|p| p.name == name).ok_or_else(|| {
        let names: Vec<&str> = obj.programs.iter().map(|p| p.name.as_str()).collect();
        fail(format!("no program `{name}` (the object has: {})", names.join(", ")))
    })
}

fn run(cli: &Cli) -> Result<(), Failure> {
    match &cli.command {
        Command::Verify { obj, prog, log_level, backend: t } => {
            let o = open_for(obj, source_target(cli, *t))?;
            let chosen = o.programs.iter().filter(|p| prog.as_ref().is_none_or(|n| *n == p.name));
            if matches!(t, Target::Axiom) {
                // The verifier alone, with the object's source lines.
                for p in chosen {
                    print!("{}", backend::verify_in_process(p, &o.maps, *log_level)?);
                    println!("axiom: {} accepted ({} insns)", p.name, p.insns.len());
                }
            } else {
                let mut b = backend(*t, cli.remote.as_ref())?;
                let maps = b.create_maps(&o.maps)?;
                for p in chosen {
                    let loaded = b.load(p, &maps, *log_level)?;
                    print!("{}", loaded.log);
                    println!("{}: {} accepted ({} insns)", b.name(), p.name, p.insns.len());
                }
            }
            if let Some(n) = prog {
                find(&o, n)?;
            }
            Ok(())
        }
        Command::Load { obj, backend: t, pin, attach } => {
            let hook = attach.as_deref().map(kernel::Hook::parse).transpose()?;
            if (pin.is_some() || hook.is_some()) && matches!(t, Target::Axiom) {
                return Err(fail(
                    "--pin and --attach need the linux backend (a kernel's bpf())".into(),
                ));
            }
            let o = open_for(obj, source_target(cli, *t))?;
            if let Some(h) = &hook
                && !o.programs.iter().any(|p| p.prog_type == h.prog_type)
            {
                return Err(fail(format!(
                    "--attach {}: no program in the object for that hook",
                    h.name
                )));
            }
            let mut b = backend(*t, cli.remote.as_ref())?;
            let maps = b.create_maps(&o.maps)?;
            for p in &o.programs {
                let loaded = b.load(p, &maps, 0)?;
                println!(
                    "{}: loaded {} ({}, {} insns)",
                    b.name(),
                    p.name,
                    p.section,
                    p.insns.len()
                );
                let (Some(fd), Some(k)) = (loaded.fd, b.kernel()) else { continue };
                if let Some(dir) = pin {
                    let path = dir.join(&p.name);
                    kernel::pin(k, fd, &path)?;
                    println!("pinned {} (program id {})", path.display(), kernel::prog_id(k, fd)?);
                }
                if let Some(h) = &hook
                    && p.prog_type == h.prog_type
                {
                    println!("{}: {}", p.name, kernel::attach(k, fd, h)?);
                }
            }
            println!("{}: {} maps, {} programs", b.name(), o.maps.len(), o.programs.len());
            Ok(())
        }
        Command::Trace { duration, show, bench } => {
            trace::run(&mut kernel_for(cli)?, *duration, *show, *bench)
        }
        Command::Agent { device, listen } => agent::Agent::serve(device, *listen),
        Command::Detach { hook } => {
            let h = kernel::Hook::parse(hook)?;
            kernel::detach(&mut kernel_for(cli)?, &h)?;
            println!("detached {}", h.name);
            Ok(())
        }
        Command::Run { obj, prog, data, repeat, backend: t } => {
            let o = open_for(obj, source_target(cli, *t))?;
            let p = find(&o, prog)?;
            let input = match data {
                Some(path) => std::fs::read(path)
                    .map_err(|e| fail(format!("{}: cannot read: {e}", path.display())))?,
                None => vec![0u8; 64],
            };
            let mut b = backend(*t, cli.remote.as_ref())?;
            let maps = b.create_maps(&o.maps)?;
            let loaded = b.load(p, &maps, 0)?;
            let r = b.run(&loaded, &input, *repeat)?;
            if cli.json {
                println!("{{\"retval\":{},\"duration_ns\":{}}}", r.retval, r.duration_ns);
            } else {
                println!("retval {} duration {} ns", r.retval, r.duration_ns);
            }
            Ok(())
        }
        Command::Prog { what: ProgCommand::Dump { kind, obj, prog, arch } } => {
            let o = open(obj)?;
            let p = find(&o, prog)?;
            // Maps get placeholder handles: the dump shows the code shape.
            let insns = p.with_map_handles(|i| i as i32);
            if kind == "xlated" {
                let text = axiom_abi::llvm::disassemble_program(&insns)
                    .map_err(|e| fail(format!("{}: {e}", p.name)))?;
                print!("{text}");
                return Ok(());
            }
            let env = DumpEnv;
            let opts = axiom_jit::program::JitOptions::default();
            let (image, text) = match arch {
                Arch::X86_64 => {
                    let i = axiom_jit::x86_64::compile(&insns, &env, &opts)
                        .map_err(|e| fail(format!("{}: {e}", p.name)))?;
                    let t = axiom_jit::x86_64::disasm::disassemble(&i.code, 0, &i.insn_offsets);
                    (i, t)
                }
                Arch::Aarch64 => {
                    let i = axiom_jit::aarch64::compile(&insns, &env, &opts)
                        .map_err(|e| fail(format!("{}: {e}", p.name)))?;
                    let t = axiom_jit::aarch64::disasm::disassemble(&i.code, 0, &i.insn_offsets);
                    (i, t)
                }
            };
            print!("{text}");
            println!("; {} bytes for {} BPF instructions", image.code.len(), insns.len());
            Ok(())
        }
        Command::Prog { what: ProgCommand::List } => list(&mut kernel_for(cli)?, cli.json, true),
        Command::Map { what: MapCommand::List } => list(&mut kernel_for(cli)?, cli.json, false),
        Command::Prog { what: ProgCommand::Show { id } } => {
            kernel::prog_show(&mut kernel_for(cli)?, *id, cli.json)
        }
        Command::Map { what: MapCommand::Dump { id } } => {
            kernel::map_dump(&mut kernel_for(cli)?, *id, cli.json)
        }
        Command::Map { what: MapCommand::Lookup { id, key } } => {
            kernel::map_lookup(&mut kernel_for(cli)?, *id, &kernel::hex(key)?, cli.json)
        }
        Command::Map { what: MapCommand::Update { id, key, value, flags } } => {
            let f = match flags.as_str() {
                "noexist" => 1,
                "exist" => 2,
                _ => 0,
            };
            kernel::map_update(
                &mut kernel_for(cli)?,
                *id,
                &kernel::hex(key)?,
                &kernel::hex(value)?,
                f,
            )
        }
        Command::Map { what: MapCommand::Delete { id, key } } => {
            kernel::map_delete(&mut kernel_for(cli)?, *id, &kernel::hex(key)?)
        }
    }
}

/// Helper and map addresses for dumps: placeholders, the code is not run.
struct DumpEnv;

impl axiom_jit::program::JitEnv for DumpEnv {
    fn helper_address(&self, id: i32) -> Option<u64> {
        Some(0x1000_0000 + id as u64 * 0x10)
    }
    fn resolve_lddw(&self, _: axiom_abi::instruction::Pseudo, imm: i32, next: i32) -> Option<u64> {
        Some(0x2000_0000 + imm as u64 * 0x1000 + next as u64)
    }
    fn helper_table(&self) -> Option<(u64, u32)> {
        Some((0x3000_0000, 256))
    }
}

fn cstr(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]).into_owned()
}

fn type_name(table: &[(u32, &'static str)], t: u32, prefix: &str) -> String {
    table
        .iter()
        .find(|(n, _)| *n == t)
        .map_or(t.to_string(), |(_, s)| s.trim_start_matches(prefix).to_lowercase())
}

/// Lists a kernel's programs or maps through their ids.
fn list(k: &mut Kernel, json: bool, progs: bool) -> Result<(), Failure> {
    let (next_cmd, fd_cmd) = if progs {
        (cmd::PROG_GET_NEXT_ID, cmd::PROG_GET_FD_BY_ID)
    } else {
        (cmd::MAP_GET_NEXT_ID, cmd::MAP_GET_FD_BY_ID)
    };
    let mut rows = Vec::new();
    let mut id = 0u32;
    loop {
        let mut buf = [0u8; 128];
        GetIdAttr { start_id: id, ..GetIdAttr::default() }.write_to(&mut buf);
        match k.call(next_cmd, &mut buf, &mut []) {
            Ok(_) => id = GetIdAttr::from_bytes(&buf).next_id,
            Err(e) if e.errno == libc::ENOENT => break,
            Err(e) => return Err(fail(format!("listing refused: {e}"))),
        }
        let mut buf = [0u8; 128];
        GetIdAttr { start_id: id, ..GetIdAttr::default() }.write_to(&mut buf);
        // Gone between the two calls: skip it.
        let Ok(fd) = k.call_fd(fd_cmd, &mut buf, &mut []) else { continue };
        let size = if progs { ProgInfo::SIZE } else { MapInfo::SIZE };
        let mut buf = [0u8; 128];
        InfoAttr { bpf_fd: fd as u32, info_len: size as u32, info: 0 }.write_to(&mut buf);
        let mut bufs = [transport::Buf {
            parent: 0,
            offset: 8,
            dir: axiom_abi::remote::Dir::InOut,
            data: vec![0u8; size],
        }];
        let got = k.call(cmd::OBJ_GET_INFO_BY_FD, &mut buf, &mut bufs);
        k.close(fd);
        if got.is_err() {
            continue;
        }
        let info = &bufs[0].data;
        rows.push(if progs {
            let p = ProgInfo::from_bytes(info);
            (p.id, type_name(PROG_TYPE_NAMES, p.type_, "BPF_PROG_TYPE_"), cstr(&p.name))
        } else {
            let m = MapInfo::from_bytes(info);
            (m.id, type_name(MAP_TYPE_NAMES, m.type_, "BPF_MAP_TYPE_"), cstr(&m.name))
        });
    }
    if json {
        let items: Vec<String> = rows
            .iter()
            .map(|(id, t, n)| format!("{{\"id\":{id},\"type\":\"{t}\",\"name\":\"{n}\"}}"))
            .collect();
        println!("[{}]", items.join(","));
    } else {
        for (id, t, n) in rows {
            println!("{id}: {t}  name {n}");
        }
    }
    Ok(())
}
