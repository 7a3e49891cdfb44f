//! The `bpf-progs/` objects, built from their C sources with clang-22
//! against libbpf's headers into `target/bpf-progs/` (rebuilt when a source
//! is newer than its object).

use crate::paths::repo_root;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds every `bpf-progs/examples/**/*.bpf.c` (Linux's program types,
/// loadable by Axiom and Linux alike); returns the objects' paths, sorted.
pub fn build() -> Result<Vec<PathBuf>, String> {
    build_dir("bpf-progs/examples")
}

/// Builds every `bpf-progs/axiom/*.bpf.c` (programs for Axiom's hooks).
pub fn build_axiom() -> Result<Vec<PathBuf>, String> {
    build_dir("bpf-progs/axiom")
}

fn build_dir(top: &str) -> Result<Vec<PathBuf>, String> {
    let root = repo_root();
    let out = root.join("target/bpf-progs");
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut objects = Vec::new();
    let mut dirs = vec![root.join(top)];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
            let Some(stem) = name.strip_suffix(".bpf.c") else { continue };
            let obj = out.join(format!("{stem}.bpf.o"));
            let fresh = |p: &PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
            if fresh(&obj).is_none() || fresh(&obj) < fresh(&path) {
                compile(&root, &path, &obj)?;
            }
            objects.push(obj);
        }
    }
    objects.sort();
    Ok(objects)
}

/// Compiles one C source to a BPF object, with paths relative to the
/// repository: the same bytes in every checkout, so mutation tests see the
/// same inputs in CI.
fn compile(root: &Path, src: &Path, obj: &Path) -> Result<(), String> {
    let prefix = format!("-ffile-prefix-map={}=.", root.display());
    let status = Command::new("clang-22")
        .args(["-target", "bpf", "-O2", "-g", "-Wall", "-Werror", &prefix])
        .args(["-I/usr/include/x86_64-linux-gnu", "-c"])
        .arg(src)
        .arg("-o")
        .arg(obj)
        .status()
        .map_err(|e| format!("clang-22: {e} (run `cargo xtask setup`)"))?;
    if status.success() { Ok(()) } else { Err(format!("clang-22 failed on {}", src.display())) }
}

/// Builds one BPF C source of the repository (`tests/data/x.bpf.c`) into
/// `target/bpf-progs/x.bpf.o`; returns the object's path.
pub fn build_one(src: &str) -> Result<PathBuf, String> {
    let root = repo_root();
    let out = root.join("target/bpf-progs");
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let name = Path::new(src).file_name().map(|n| n.to_string_lossy().replace(".bpf.c", ".bpf.o"));
    let obj = out.join(name.ok_or_else(|| format!("{src}: no file name"))?);
    compile(&root, &root.join(src), &obj)?;
    Ok(obj)
}

/// The verifier's view of an object's maps (map `i` as fd `i`; frozen
/// global data read-only), with the host's number of possible CPUs.
pub fn platform(maps: &[axiom_loader::MapDef]) -> axiom_bpf::verify::KernelPlatform {
    use axiom_loader::MapOrigin;
    use axiom_verifier::platform::MapInfo;
    let info = |m: &axiom_loader::MapDef| {
        MapInfo::new(m.map_type, m.key_size, m.value_size, m.max_entries)
            .read_only(matches!(m.origin, MapOrigin::Data { frozen: true, .. }))
    };
    axiom_bpf::verify::KernelPlatform::numbered(
        maps.iter().map(info),
        crate::linux::possible_cpus(),
    )
}
