//! `ipfence export`: firewall and AWS rules, in full or as an update from an old version.

use std::path::PathBuf;

use anyhow::{Context, Result};
use ipfence_exporters::{export, Format, Header, Options, Request};

use super::{FilterArgs, InputArgs};

/// Arguments of `ipfence export`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  ipfence export --format nftables --service API_GATEWAY            # embedded snapshot
  ipfence export --format nftables --service S3 --ports 443 --output /etc/nftables.d/s3.nft
  ipfence export --format ipset --service CLOUDFRONT --name cf | ipset restore
  ipfence export --format iptables --service CLOUDFRONT --name cf --ipv4 | iptables-restore --noflush
  ipfence export --format pf --style table --service S3 > s3.table   # pfctl -t ipfence -T replace -f s3.table
  ipfence export --format nftables --input new.json --diff-from old.json   # incremental update

Styles: nftables full (default) | sets | replace; ipset replace (default) | create;
iptables set (default) | plain; pf conf (default) | table;
aws-waf create (default) | update | cloudformation.
AWS outputs are JSON arrays, one item per object (family, split part):
  ipfence export --format aws-waf --service API_GATEWAY --ipv4 > s.json
  jq -c '.[]' s.json | while read -r p; do aws wafv2 create-ip-set --cli-input-json \"$p\"; done
  aws ec2 authorize-security-group-ingress --group-id sg-... \
      --ip-permissions \"$(ipfence export --format aws-security-group --service S3 --region us-east-1 --ports 443 | jq -c '.[0].IpPermissions')\"
The set is the minimal exact cover of the selection; with --diff-from, only the CIDRs
that leave or join the cover are deleted and added.")]
pub struct ExportArgs {
    /// Output format.
    #[arg(
        short,
        long,
        value_name = "nftables|ipset|iptables|pf|aws-waf|aws-prefix-list|aws-security-group"
    )]
    pub format: Format,

    /// Name of the table, set, chain or AWS object (checked against the tool's rules).
    #[arg(short, long, default_value = "ipfence")]
    pub name: String,

    /// Variant of the output (see below).
    #[arg(long)]
    pub style: Option<String>,

    /// Write here (atomically: temporary file + rename) instead of stdout.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// Render the update from this older version (same format and filter) to the input.
    #[arg(long, value_name = "OLD")]
    pub diff_from: Option<PathBuf>,

    /// Destination ports the rules allow (comma-separated); all ports when not given.
    #[arg(long, value_delimiter = ',', value_name = "PORT")]
    pub ports: Vec<u16>,

    /// Protocol for port rules.
    #[arg(long, default_value = "tcp")]
    pub protocol: String,

    /// AWS WAF scope.
    #[arg(long, default_value = "REGIONAL", value_name = "REGIONAL|CLOUDFRONT")]
    pub scope: String,

    /// Maximum entries per object (format default when not given).
    #[arg(long, value_name = "N")]
    pub max_entries: Option<usize>,

    /// When over --max-entries, fit into the budget (admits extra addresses, reported)
    /// instead of splitting across several objects.
    #[arg(long)]
    pub summarize: bool,

    /// AWS: id of the existing WAF IP set or prefix list (pl-...) an update targets.
    #[arg(long, value_name = "ID")]
    pub aws_id: Option<String>,

    /// AWS WAF: the LockToken from `aws wafv2 get-ip-set`, for the update style.
    #[arg(long, value_name = "TOKEN")]
    pub lock_token: Option<String>,

    /// AWS prefix list: its current version (describe-managed-prefix-lists), for an update.
    #[arg(long, value_name = "N")]
    pub current_version: Option<u64>,

    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub filter: FilterArgs,
}

/// Runs the command.
pub fn run(args: &ExportArgs) -> Result<u8> {
    let (selected, set, words) = super::load_selected(&args.input, &args.filter)?;
    super::note_sources(&args.input, &selected);
    let old = match &args.diff_from {
        None => None,
        Some(path) => {
            let input = InputArgs {
                inputs: vec![path.clone()],
                ..args.input.clone()
            };
            let filter = FilterArgs {
                allow_empty: true,
                ..args.filter.clone()
            };
            let (_, old, _) =
                super::load_selected(&input, &filter).with_context(|| "--diff-from")?;
            Some(old)
        }
    };
    let options = Options {
        name: args.name.clone(),
        style: args.style.clone(),
        ports: args.ports.clone(),
        protocol: args.protocol.clone(),
        scope: args.scope.clone(),
        max_entries: args.max_entries,
        summarize: args.summarize,
        aws_id: args.aws_id.clone(),
        lock_token: args.lock_token.clone(),
        current_version: args.current_version,
    };
    let req = Request {
        set: &set,
        old: old.as_ref(),
        header: Header {
            sources: &selected.sources,
            filter: &words,
        },
        options: &options,
    };
    let out = export(args.format, &req)?;
    for note in &out.notes {
        eprintln!("ipfence: {note}");
    }
    super::write_output(args.output.as_deref(), out.text.as_bytes())?;
    Ok(0)
}
