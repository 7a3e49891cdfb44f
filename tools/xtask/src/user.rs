//! The kernel's initramfs: the user programs (C built with `gcc -static`,
//! Rust built with the host toolchain for `x86_64-unknown-linux-gnu` with
//! `crt-static`, `axbpf` among them), the example BPF objects in
//! `/lib/bpf`, a few files, packed by `cpio -H newc` into
//! `target-user/initramfs.cpio`, which QEMU passes with `-initrd`.

use crate::steps::repo_root;
use std::path::PathBuf;
use std::process::Command;

/// Where the archive is written.
pub fn initramfs_path() -> PathBuf {
    repo_root().join("target-user/initramfs.cpio")
}

fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let status = cmd.status().map_err(|e| format!("{what}: {e} (run `cargo xtask setup`)"))?;
    if status.success() { Ok(()) } else { Err(format!("{what} failed")) }
}

/// Builds the user programs and the archive; returns its path.
pub fn build_initramfs() -> Result<PathBuf, String> {
    let root = repo_root();
    let rootfs = root.join("target-user/rootfs");
    std::fs::create_dir_all(rootfs.join("bin")).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(rootfs.join("etc")).map_err(|e| e.to_string())?;
    std::fs::write(rootfs.join("etc/motd"), "Welcome to Axiom.\n").map_err(|e| e.to_string())?;
    run(
        Command::new("gcc")
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
            Command::new("gcc")
                .args(["-static", "-O2", "-Wall", "-o"])
                .arg(rootfs.join("bin").join(bin))
                .arg(root.join(src))
                .args(libs),
            &format!("gcc -static ({src})"),
        )?;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run(
        Command::new(cargo)
            .current_dir(&root)
            .args([
                "build",
                "--quiet",
                "--release",
                "--manifest-path",
                "user/hello-rust/Cargo.toml",
            ])
            .args(["--target", "x86_64-unknown-linux-gnu", "--target-dir", "target-user/rust"])
            .env("RUSTFLAGS", "-C target-feature=+crt-static"),
        "cargo build (user/hello-rust)",
    )?;
    std::fs::copy(
        root.join("target-user/rust/x86_64-unknown-linux-gnu/release/hello-rust"),
        rootfs.join("bin/hello-rust"),
    )
    .map_err(|e| format!("copy hello-rust: {e}"))?;
    // axbpf, the same CLI as on the host, static, and the example objects.
    run(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(&root)
            .args(["build", "--quiet", "--release", "-p", "axbpf"])
            .args(["--target", "x86_64-unknown-linux-gnu", "--target-dir", "target-user/axbpf"])
            .env("RUSTFLAGS", "-C target-feature=+crt-static"),
        "cargo build (axbpf, static)",
    )?;
    run(
        Command::new("strip")
            .arg("-o")
            .arg(rootfs.join("bin/axbpf"))
            .arg(root.join("target-user/axbpf/x86_64-unknown-linux-gnu/release/axbpf")),
        "strip (axbpf)",
    )?;
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
    let out = initramfs_path();
    run(
        Command::new("sh").current_dir(&rootfs).arg("-c").arg(format!(
            "find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet > '{}'",
            out.display()
        )),
        "cpio (the initramfs)",
    )?;
    Ok(out)
}
