//! Where the repository and the shared data live.

use std::path::PathBuf;

/// The repository root (the workspace directory).
pub fn repo_root() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    root.canonicalize().unwrap_or(root)
}

/// The `shared/` directory: `$AXIOM_SHARED` if set, else `../shared` beside
/// the repository, as CI lays it out.
pub fn shared_dir() -> PathBuf {
    match std::env::var_os("AXIOM_SHARED") {
        Some(p) => PathBuf::from(p),
        None => {
            let shared = repo_root().join("../shared");
            shared.canonicalize().unwrap_or(shared)
        }
    }
}

/// The directory of the BPF conformance suite's `.data` files.
pub fn conformance_dir() -> PathBuf {
    shared_dir().join("conformance/bpf_conformance")
}
