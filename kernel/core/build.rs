//! Links the bare-metal kernel with its architecture's linker script.

fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    if target == "x86_64-unknown-none" {
        let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
        println!("cargo:rustc-link-arg-bins=-T{dir}/link-x86_64.ld");
        println!("cargo:rustc-link-arg-bins=--no-pie");
        println!("cargo:rerun-if-changed={dir}/link-x86_64.ld");
    }
    if target.starts_with("aarch64-unknown-none") {
        let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
        println!("cargo:rustc-link-arg-bins=-T{dir}/link-aarch64.ld");
        println!("cargo:rustc-link-arg-bins=--no-pie");
        println!("cargo:rerun-if-changed={dir}/link-aarch64.ld");
    }
}
