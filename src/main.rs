//! The `ipfence` command-line tool.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

/// Turn published cloud IP ranges (AWS ip-ranges.json, the CloudFront list, CIDR lists)
/// into firewall rules and fast membership answers.
///
/// Every command reads the embedded snapshot of AWS ip-ranges.json unless given
/// --input (`-i -` for stdin), and selects with --service, --region, --border-group,
/// --exclude-service, --ipv4, --ipv6. Data published more than 30 days ago gets a
/// warning on stderr (IPFENCE_NOW=YYYY-MM-DD sets "today" for reproducible runs).
#[derive(Parser, Debug)]
#[command(name = "ipfence", version, propagate_version = true)]
#[command(after_help = "Examples:
  ipfence lookup 3.5.140.2
  ipfence services
  ipfence aggregate --input ip-ranges.json --service S3 --ipv4 --max 100
  ipfence diff old/ip-ranges.json new/ip-ranges.json
  ipfence export --format nftables --service API_GATEWAY
  ipfence compile --output aws.ipfence
  ipfence sync --config /etc/ipfence/sync.toml --dry-run

Exit status: 0 yes / success, 1 no (an address not allowed, versions differ), 2 error.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Is an address allowed, and by which service, region and border group?
    Lookup(cli::lookup::LookupArgs),
    /// Print the minimal exact CIDR cover, or the best fit into --max prefixes.
    Aggregate(cli::aggregate::AggregateArgs),
    /// Show what changed between two versions of a source.
    Diff(cli::diff::DiffArgs),
    /// List the services and regions in the data, with counts.
    Services(cli::services::ServicesArgs),
    /// Write the compiled matcher blob for the wasm package and the C API.
    Compile(cli::compile::CompileArgs),
    /// Render firewall or AWS rules (nftables, ipset, iptables, pf, aws-waf, ...).
    Export(Box<cli::export::ExportArgs>),
    /// Keep firewalls and AWS objects in sync with the newest published ranges.
    Sync(cli::sync::SyncArgs),
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Lookup(a) => cli::lookup::run(a),
        Command::Aggregate(a) => cli::aggregate::run(a),
        Command::Diff(a) => cli::diff::run(a),
        Command::Services(a) => cli::services::run(a),
        Command::Compile(a) => cli::compile::run(a),
        Command::Export(a) => cli::export::run(a),
        Command::Sync(a) => cli::sync::run(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ipfence: {e:#}");
            ExitCode::from(2)
        }
    }
}
