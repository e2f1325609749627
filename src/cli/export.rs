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
    #[arg(long, conflicts_with = "split")]
    pub summarize: bool,

    /// When over --max-entries, split across several objects, exact (the default).
    #[arg(long)]
    pub split: bool,

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
    super::check_output(args.output.as_deref())?;
    let (selected, set, words) = super::load_selected(&args.input, &args.filter)?;
    super::note_sources(&args.input, &selected);
    let old = match &args.diff_from {
        None => None,
        Some(path) => {
            let input = InputArgs {
                inputs: vec![path.clone()],
                ..args.input.clone()
            };
            let old = super::load(&input).context("--diff-from")?;
            // The filter's names were checked against the new input; the old one may
            // lack a service or region that has just been added (then it held nothing).
            Some(args.filter.to_filter().select_set(&old))
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cmd {
        #[command(flatten)]
        args: ExportArgs,
    }

    fn parse(args: &[&str]) -> Result<ExportArgs, clap::Error> {
        Cmd::try_parse_from(std::iter::once("export").chain(args.iter().copied())).map(|c| c.args)
    }

    #[test]
    fn format_is_required_and_checked() {
        assert!(parse(&[]).is_err());
        let e = parse(&["--format", "xml"]).unwrap_err().to_string();
        assert!(e.contains("expected one of nftables"), "{e}");
        for f in Format::ALL {
            assert_eq!(parse(&["-f", f.name()]).unwrap().format, f);
        }
    }

    #[test]
    fn defaults() {
        let a = parse(&["--format", "nftables"]).unwrap();
        assert_eq!(a.name, "ipfence");
        assert_eq!(a.style, None);
        assert_eq!(a.output, None);
        assert_eq!(a.diff_from, None);
        assert!(a.ports.is_empty());
        assert_eq!(a.protocol, "tcp");
        assert_eq!(a.scope, "REGIONAL");
        assert_eq!(a.max_entries, None);
        assert!(!a.summarize && !a.split);
        assert!(a.input.inputs.is_empty());
    }

    #[test]
    fn every_flag_is_read() {
        let a = parse(&[
            "-f",
            "pf",
            "-n",
            "aws_s3",
            "--style",
            "table",
            "-o",
            "out.txt",
            "--diff-from",
            "old.json",
            "--ports",
            "443,80",
            "--ports",
            "8443",
            "--protocol",
            "udp",
            "--scope",
            "CLOUDFRONT",
            "--max-entries",
            "50",
            "--summarize",
            "--aws-id",
            "pl-1",
            "--lock-token",
            "tok",
            "--current-version",
            "3",
            "--input",
            "new.json",
            "--service",
            "S3",
            "--ipv4",
        ])
        .unwrap();
        assert_eq!(a.format, Format::Pf);
        assert_eq!(a.name, "aws_s3");
        assert_eq!(a.style.as_deref(), Some("table"));
        assert_eq!(a.output, Some(PathBuf::from("out.txt")));
        assert_eq!(a.diff_from, Some(PathBuf::from("old.json")));
        assert_eq!(a.ports, [443, 80, 8443]);
        assert_eq!(a.protocol, "udp");
        assert_eq!(a.scope, "CLOUDFRONT");
        assert_eq!(a.max_entries, Some(50));
        assert!(a.summarize);
        assert_eq!(a.aws_id.as_deref(), Some("pl-1"));
        assert_eq!(a.lock_token.as_deref(), Some("tok"));
        assert_eq!(a.current_version, Some(3));
        assert_eq!(a.input.inputs, [PathBuf::from("new.json")]);
        assert_eq!(a.filter.services, ["S3"]);
        assert!(a.filter.ipv4);
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(parse(&["-f", "nftables", "--ports", "70000"]).is_err());
        assert!(parse(&["-f", "nftables", "--ports", "http"]).is_err());
        assert!(parse(&["-f", "nftables", "--max-entries", "-1"]).is_err());
        assert!(parse(&["-f", "aws-waf", "--summarize", "--split"]).is_err());
        assert!(parse(&["-f", "aws-waf", "--split"]).unwrap().split);
    }
}
