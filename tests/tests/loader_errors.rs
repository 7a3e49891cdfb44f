//! The loader on bad input: every malformed, truncated or mutated object
//! is refused with a clear error, never a panic.

use axiom_loader::{LoadError, load};
use axiom_tests::bpfprogs;
use axiom_tests::paths::repo_root;
use axiom_tests::progen::Rng;
use std::panic::{AssertUnwindSafe, catch_unwind};

fn object(name: &str) -> Vec<u8> {
    let objects = bpfprogs::build().expect("bpf-progs build");
    let path = objects.iter().find(|p| p.ends_with(name)).expect("object");
    std::fs::read(path).unwrap()
}

/// `bytes` with every occurrence of `from` replaced by `to` (same length):
/// a section renamed in the ELF and BTF string tables alike.
fn replace(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let mut found = false;
    for at in 0..out.len().saturating_sub(from.len()) {
        if out[at..at + from.len()] == *from {
            out[at..at + to.len()].copy_from_slice(to);
            found = true;
        }
    }
    assert!(found, "pattern not found");
    out
}

#[test]
fn clear_errors_for_bad_files() {
    assert!(matches!(load(b""), Err(LoadError::Elf(_))));
    assert!(matches!(load(b"int main() { return 0; }"), Err(LoadError::Elf(_))));
    // A native executable is ELF, but not BPF.
    let native = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    let e = load(&native).unwrap_err();
    assert!(matches!(e, LoadError::NotBpf(_)), "{e}");
    assert!(e.to_string().contains("not EM_BPF"), "{e}");
    // No license section.
    let good = object("socket_count.bpf.o");
    let e = load(&replace(&good, b"license\0", b"lxcense\0")).unwrap_err();
    assert_eq!(e, LoadError::NoLicense);
    // A section name no program type has.
    let e = load(&replace(&good, b"socket\0", b"sockex\0")).unwrap_err();
    assert_eq!(e, LoadError::UnknownSection("sockex".into()));
    assert_eq!(e.to_string(), "section `sockex`: no program type for this SEC() name");
    // A mutation CI found: a `.bss` of 2^64 bytes once made the loader
    // allocate (and panic).
    let huge = std::fs::read(repo_root().join("tests/data/huge_bss.bpf.o")).unwrap();
    let e = load(&huge).unwrap_err();
    assert!(e.to_string().contains("bytes of global data, more than 16 MiB"), "{e}");
}

#[test]
fn core_relocations_are_named_not_ignored() {
    let obj = bpfprogs::build_one("tests/data/core_reloc.bpf.c").expect("clang-22");
    let e = load(&std::fs::read(&obj).unwrap()).unwrap_err();
    assert!(matches!(e, LoadError::CoRe(_)), "{e}");
    assert!(e.to_string().contains("section `socket`"), "{e}");
}

#[test]
fn truncated_and_mutated_objects_never_panic() {
    let objects = bpfprogs::build().expect("bpf-progs build");
    let long = std::env::var_os("AXIOM_LONG_TESTS").is_some();
    let mut rng = Rng::new(0x10ad_0001);
    let (mut tried, mut refused) = (0, 0);
    for path in &objects {
        let good = std::fs::read(path).unwrap();
        let mut inputs: Vec<Vec<u8>> = Vec::new();
        // Every truncation point in steps.
        for len in (0..good.len()).step_by(if long { 1 } else { 97 }) {
            inputs.push(good[..len].to_vec());
        }
        // Random byte flips, runs of zeros and 0xff.
        for _ in 0..if long { 20_000 } else { 500 } {
            let mut m = good.clone();
            for _ in 0..1 + rng.below(8) {
                let at = rng.below(m.len() as u64) as usize;
                m[at] = match rng.below(3) {
                    0 => rng.next_u64() as u8,
                    1 => 0,
                    _ => 0xff,
                };
            }
            inputs.push(m);
        }
        for input in inputs {
            tried += 1;
            match catch_unwind(AssertUnwindSafe(|| load(&input))) {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    refused += 1;
                    assert!(!e.to_string().is_empty());
                }
                Err(_) => {
                    let dump = std::env::temp_dir().join("axiom-loader-panic.o");
                    std::fs::write(&dump, &input).unwrap();
                    panic!(
                        "the loader panicked on a mutation of {} (saved as {})",
                        path.display(),
                        dump.display()
                    );
                }
            }
        }
    }
    println!("loader errors: {tried} bad inputs, {refused} refused, none panicked");
    assert!(refused > 0);
}
