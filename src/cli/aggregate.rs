//! `ipfence aggregate`: the minimal exact CIDR cover, or the best fit into a budget.

use std::fmt::Write;

use anyhow::Result;
use ipfence::core::budget;

use super::{FilterArgs, InputArgs};

/// Arguments of `ipfence aggregate`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  printf '10.0.0.0/25\\n10.0.0.128/25\\n' | ipfence aggregate        # -> 10.0.0.0/24
  ipfence aggregate --input ip-ranges.json --service S3 --ipv4
  ipfence aggregate --input ip-ranges.json --service S3 --max 60  # fit into 60 prefixes

The cover is exact: the same list netaddr.cidr_merge gives. With --max, the result is
the cover with at most N prefixes that admits the fewest extra addresses (an exact
optimum, never dropping a listed address); the extra count goes to stderr.")]
pub struct AggregateArgs {
    /// Fit into at most this many prefixes (both families together), admitting the fewest
    /// extra addresses.
    #[arg(long, value_name = "N")]
    pub max: Option<usize>,

    /// Write here (atomically) instead of stdout.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<std::path::PathBuf>,

    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub filter: FilterArgs,
}

/// Runs the command.
pub fn run(args: &AggregateArgs) -> Result<u8> {
    let mut input = args.input.clone();
    if input.inputs.is_empty() {
        // aggregate reads CIDRs from stdin, as a filter in a pipeline would.
        input.inputs.push("-".into());
    }
    let (_, set, _) = super::load_selected(&input, &args.filter)?;
    let set = match args.max {
        None => set,
        Some(max) => {
            let before = set.cidr_count();
            let fit = budget::fit(&set, max)?;
            eprintln!(
                "ipfence: {before} prefixes fitted into {}: {} extra IPv4 and {} extra IPv6 addresses allowed",
                fit.set.cidr_count(),
                fit.extra_v4,
                fit.extra_v6
            );
            fit.set
        }
    };
    let mut text = String::with_capacity(set.cidr_count() * 20);
    for net in set.cidrs() {
        let _ = writeln!(text, "{net}");
    }
    super::write_output(args.output.as_deref(), text.as_bytes())?;
    Ok(0)
}
