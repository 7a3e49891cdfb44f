//! Where the repository and the shared data live.

use std::path::PathBuf;

/// The repository root (the workspace directory).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `shared/` directory: `$AXIOM_SHARED` if set, else `../shared` beside
/// the repository, as CI lays it out.
pub fn shared_dir() -> PathBuf {
    match std::env::var_os("AXIOM_SHARED") {
        Some(p) => PathBuf::from(p),
        None => repo_root().join("../shared"),
    }
}

/// The directory of the BPF conformance suite's `.data` files.
pub fn conformance_dir() -> PathBuf {
    shared_dir().join("conformance/bpf_conformance")
}
