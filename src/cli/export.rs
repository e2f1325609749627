//! `ipfence export` (placeholder until the exporters land: helper E1 replaces this file).

use anyhow::{bail, Result};

/// Arguments of `ipfence export`.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {}

/// Runs the command.
pub fn run(_args: &ExportArgs) -> Result<u8> {
    bail!("export is not available in this build yet")
}
