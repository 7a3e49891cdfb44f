//! The x86-64 backend (issue 4): encoders now; lowering, jump convergence
//! and blinding follow.

pub mod enc;

#[cfg(test)]
mod enc_tests;
