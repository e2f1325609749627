//! `ipfence compile`: write the compiled matcher blob.

use anyhow::Result;
use ipfence::core::matcher::Matcher;

use super::{FilterArgs, InputArgs};

/// Arguments of `ipfence compile`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  ipfence compile --output aws.ipfence
  ipfence compile --input ip-ranges.json --service CLOUDFRONT --output cf.ipfence

The blob is versioned, checksummed and little-endian; the wasm package
(IpFence.fromBlob) and the C API (ipfence_matcher_from_bytes) load it without parsing
JSON, validating it fully first.")]
pub struct CompileArgs {
    /// Where to write the blob (atomically).
    #[arg(short, long, value_name = "PATH")]
    pub output: std::path::PathBuf,

    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub filter: FilterArgs,
}

/// Runs the command.
pub fn run(args: &CompileArgs) -> Result<u8> {
    super::check_output(Some(&args.output))?;
    let (selected, _, words) = super::load_selected(&args.input, &args.filter)?;
    let m = Matcher::build(&selected)?;
    super::write_output(Some(&args.output), m.as_bytes())?;
    eprintln!(
        "ipfence: wrote {} ({} bytes: {} entries, {} prefixes; {words}) from {}",
        args.output.display(),
        m.as_bytes().len(),
        m.entry_count(),
        m.prefix_count(),
        super::describe_sources(&selected.sources)
    );
    Ok(0)
}
