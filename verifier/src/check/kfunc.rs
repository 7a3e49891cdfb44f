//! Kernel function calls (`call` with a BTF id). Axiom passes no BTF yet
//! (issue 23), so each is refused; a kfunc's prototype will be checked
//! here, as a helper's is in `helper`.

use super::{VResult, Verifier, inval};
use crate::state::State;

impl Verifier<'_> {
    /// A call of kernel function `btf_id` from the BTF of module `module`
    /// (0: the kernel's own).
    pub(super) fn call_kfunc(
        &mut self,
        _st: &mut State,
        pc: usize,
        _btf_id: i32,
        _module: i16,
    ) -> VResult<()> {
        Err(inval(pc, "kernel function calls are not supported by Axiom yet".into()))
    }
}
