//! What every axbpf command fails with: a sentence, and the verifier's
//! log when a verifier refused a program.

use std::fmt;

/// A failure, with the verifier's log when it refused a program.
#[derive(Debug)]
pub struct Failure {
    /// What failed, in a sentence.
    pub message: String,
    /// The verifier's log, if any.
    pub log: String,
}

impl Failure {
    /// A failure with no log.
    pub fn new(message: String) -> Self {
        Failure { message, log: String::new() }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
