//! A static Rust program for Axiom's in-kernel tests: std's start-up, the
//! heap, threads-free std I/O, the clock and a sleep.
use std::time::{Duration, Instant};

fn main() {
    println!("hello from Rust: {:?}", std::env::args().collect::<Vec<_>>());
    let v: Vec<u64> = (0..100_000).collect();
    println!("sum {}", v.iter().sum::<u64>());
    let motd = std::fs::read_to_string("/etc/motd").expect("read /etc/motd");
    println!("motd: {}", motd.trim_end());
    let t = Instant::now();
    std::thread::sleep(Duration::from_millis(3));
    let slept = t.elapsed();
    println!("slept {}", if slept >= Duration::from_millis(3) { "enough" } else { "too little" });
    std::process::exit(if slept >= Duration::from_millis(3) { 0 } else { 4 });
}
