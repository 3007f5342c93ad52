//! The offline subcommands: the whole engine from the command line, no database or server.

pub mod assign;
pub mod cluster;
pub mod sample_data;

use std::path::Path;

/// Refuses to write `output` when it is the file `input` (by whatever path it was named): the
/// file the user gave would be replaced by the results. An output that does not exist yet
/// cannot be the input.
pub(crate) fn refuse_overwriting(input: &Path, output: &Path) -> anyhow::Result<()> {
    match (input.canonicalize(), output.canonicalize()) {
        (Ok(a), Ok(b)) if a == b => anyhow::bail!(
            "`{}` would be written over the input `{}`; choose another --out",
            output.display(),
            input.display()
        ),
        _ => Ok(()),
    }
}
