//! The `bpf-progs/` objects, built from their C sources with clang-22
//! against libbpf's headers into `target/bpf-progs/` (rebuilt when a source
//! is newer than its object).

use crate::paths::repo_root;
use std::path::PathBuf;
use std::process::Command;

/// Builds every `bpf-progs/**/*.bpf.c`; returns the objects' paths, sorted.
pub fn build() -> Result<Vec<PathBuf>, String> {
    let root = repo_root();
    let out = root.join("target/bpf-progs");
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut objects = Vec::new();
    let mut dirs = vec![root.join("bpf-progs")];
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
                // Paths relative to the repository: the same bytes in every
                // checkout, so mutation tests see the same inputs in CI.
                let prefix = format!("-ffile-prefix-map={}=.", root.display());
                let status = Command::new("clang-22")
                    .args(["-target", "bpf", "-O2", "-g", "-Wall", "-Werror", &prefix])
                    .args(["-I/usr/include/x86_64-linux-gnu", "-c"])
                    .arg(&path)
                    .arg("-o")
                    .arg(&obj)
                    .status()
                    .map_err(|e| format!("clang-22: {e} (run `cargo xtask setup`)"))?;
                if !status.success() {
                    return Err(format!("clang-22 failed on {}", path.display()));
                }
            }
            objects.push(obj);
        }
    }
    objects.sort();
    Ok(objects)
}
