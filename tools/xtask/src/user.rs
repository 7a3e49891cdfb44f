//! The kernel's initramfs: the user programs (C built with `gcc -static`,
//! Rust built static with `crt-static`, `axbpf` among them), the example
//! BPF objects in `/lib/bpf`, a few files, packed by `cpio -H newc`,
//! which QEMU passes with `-initrd`. For x86-64 (`target-user/`), the host
//! toolchains; for arm64 (`target-user/aarch64/`), `aarch64-linux-gnu-gcc`
//! and Debian's Rust building std for `aarch64-unknown-linux-gnu`.

use crate::workspace::Arch;
use crate::workspace::repo_root;
use std::path::PathBuf;
use std::process::Command;

/// Where the x86-64 archive is written.
pub fn initramfs_path() -> PathBuf {
    initramfs_path_for(Arch::X86_64)
}

/// Where an architecture's archive is written.
pub fn initramfs_path_for(arch: Arch) -> PathBuf {
    match arch {
        Arch::X86_64 => repo_root().join("target-user/initramfs.cpio"),
        Arch::Aarch64 => repo_root().join("target-user/aarch64/initramfs.cpio"),
    }
}

fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let status = cmd.status().map_err(|e| format!("{what}: {e} (run `cargo xtask setup`)"))?;
    if status.success() { Ok(()) } else { Err(format!("{what} failed")) }
}

/// Builds a static Rust program of the workspace (`-p package`, or the
/// crate at `manifest`) for `arch`; returns the binary's path.
fn build_rust(arch: Arch, what: (&str, &str), name: &str) -> Result<PathBuf, String> {
    let root = repo_root();
    let dir = format!("target-user/{name}");
    let mut cmd = match arch {
        Arch::X86_64 => {
            let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
            c.current_dir(&root).args(["build", "--quiet", "--release"]);
            c.args(["--target", "x86_64-unknown-linux-gnu", "--target-dir", &dir]);
            c.env("RUSTFLAGS", "-C target-feature=+crt-static");
            c
        }
        Arch::Aarch64 => {
            let mut c = crate::workspace::debian_cargo();
            c.args(["build", "--quiet", "--release", "-Zbuild-std"]);
            // Apart from the arm64 JIT tests' `target-arm64`: different
            // flags would rebuild std each time one follows the other.
            c.args(["--target", "aarch64-unknown-linux-gnu", "--target-dir", "target-user/arm64"]);
            c.env("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER", "aarch64-linux-gnu-gcc");
            c.env(
                "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS",
                "-C target-feature=+crt-static",
            );
            c
        }
    };
    cmd.args([what.0, what.1]);
    run(&mut cmd, &format!("cargo build ({name}, static, {arch})"))?;
    let target_dir = match arch {
        Arch::X86_64 => root.join(dir).join("x86_64-unknown-linux-gnu"),
        Arch::Aarch64 => root.join("target-user/arm64/aarch64-unknown-linux-gnu"),
    };
    Ok(target_dir.join("release").join(name))
}

/// Builds `arch`'s user programs and archive; returns its path (arm64's
/// libbpf program links Debian's arm64 libbpf, installed by setup).
pub fn build_initramfs_for(arch: Arch) -> Result<PathBuf, String> {
    let root = repo_root();
    let (rootfs, gcc, strip) = match arch {
        Arch::X86_64 => (root.join("target-user/rootfs"), "gcc", "strip"),
        Arch::Aarch64 => (
            root.join("target-user/aarch64/rootfs"),
            "aarch64-linux-gnu-gcc",
            "aarch64-linux-gnu-strip",
        ),
    };
    std::fs::create_dir_all(rootfs.join("bin")).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(rootfs.join("etc")).map_err(|e| e.to_string())?;
    std::fs::write(rootfs.join("etc/motd"), "Welcome to Axiom.\n").map_err(|e| e.to_string())?;
    run(
        Command::new(gcc)
            .args(["-static", "-O2", "-Wall", "-o"])
            .arg(rootfs.join("bin/hello-c"))
            .arg(root.join("user/hello-c/hello.c")),
        "gcc -static (user/hello-c)",
    )?;
    // Each program, with the libraries it links statically (Debian's
    // libbpf, with the libelf and zlib it needs).
    for (bin, src, libs) in [
        ("bpf-maps", "user/bpf-maps/bpf_maps.c", &[][..]),
        ("bpf-progs", "user/bpf-progs/bpf_progs.c", &[]),
        ("bpf-ringbuf", "user/bpf-ringbuf/bpf_ringbuf.c", &[]),
        ("libbpf-ringbuf", "user/libbpf-ringbuf/libbpf_ringbuf.c", &["-lbpf", "-lelf", "-lz"]),
        ("bpf-hooks", "user/bpf-hooks/bpf_hooks.c", &[]),
        ("bpf-fuzz", "user/bpf-fuzz/bpf_fuzz.c", &[]),
        ("bench", "user/bench/bench.c", &[]),
    ] {
        run(
            Command::new(gcc)
                .args(["-static", "-O2", "-Wall", "-o"])
                .arg(rootfs.join("bin").join(bin))
                .arg(root.join(src))
                .args(libs),
            &format!("gcc -static ({src})"),
        )?;
    }
    let hello = build_rust(arch, ("--manifest-path", "user/hello-rust/Cargo.toml"), "hello-rust")?;
    std::fs::copy(hello, rootfs.join("bin/hello-rust"))
        .map_err(|e| format!("copy hello-rust: {e}"))?;
    // axbpf, the same CLI as on the host, static, and the example objects.
    let axbpf = build_rust(arch, ("-p", "axbpf"), "axbpf")?;
    run(Command::new(strip).arg("-o").arg(rootfs.join("bin/axbpf")).arg(axbpf), "strip (axbpf)")?;
    let lib = rootfs.join("lib/bpf");
    std::fs::create_dir_all(&lib).map_err(|e| e.to_string())?;
    let prefix = format!("-ffile-prefix-map={}=.", root.display());
    // The examples (Linux's program types) and Axiom's hook programs.
    let mut sources = Vec::new();
    for dir in ["bpf-progs/examples", "bpf-progs/axiom"] {
        for entry in std::fs::read_dir(root.join(dir)).map_err(|e| e.to_string())? {
            sources.push(entry.map_err(|e| e.to_string())?.path());
        }
    }
    sources.sort();
    for src in sources {
        let Some(name) =
            src.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".bpf.c"))
        else {
            continue;
        };
        run(
            Command::new("clang-22")
                .args(["-target", "bpf", "-O2", "-g", "-Wall", "-Werror", &prefix])
                .args(["-I/usr/include/x86_64-linux-gnu", "-c"])
                .arg(&src)
                .arg("-o")
                .arg(lib.join(format!("{name}.bpf.o"))),
            &format!("clang-22 ({})", src.display()),
        )?;
    }
    let out = initramfs_path_for(arch);
    run(
        Command::new("sh").current_dir(&rootfs).arg("-c").arg(format!(
            "find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet > '{}'",
            out.display()
        )),
        "cpio (the initramfs)",
    )?;
    Ok(out)
}
