//! `ipfence export`: firewall and AWS rules, in full or as an update from an old version.

use std::path::PathBuf;

use anyhow::{Context, Result};
use ipfence_exporters::{
    export, not_applicable, parse_ports, Format, Header, Options, PortRange, Request,
};

use super::{FilterArgs, InputArgs};

/// Arguments of `ipfence export`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  ipfence export --format nftables --service S3 --ports 443 --output /etc/nftables.d/s3.nft
      # only S3's addresses may reach tcp port 443 (each exported family; others untouched)
  ipfence export --format nftables --service CLOUDFRONT --ports 80,443-445 --ipv4
  ipfence export --format ipset --service CLOUDFRONT --name cf | ipset restore
  ipfence export --format iptables --service CLOUDFRONT --name cf --ipv4 --ports 443 \\
      | iptables-restore --noflush && iptables -I INPUT -j cf     # the jump, once
  ipfence export --format pf --service S3 --ports 443 > s3.conf      # table + block rules
  ipfence export --format pf --style table --service S3 > s3.table
      # then: pfctl -t ipfence -T replace -f s3.table
  ipfence export --format nftables --input new.json --diff-from old.json   # incremental update
  ipfence export --format nginx -i cloudflare=ips-v4 -i cloudflare=ips-v6 -o /etc/nginx/cf.conf
      # allow CIDR; ... deny all;  ->  `include /etc/nginx/cf.conf;` in a server or location
  ipfence export --format haproxy --service CLOUDFRONT -o /etc/haproxy/cloudfront.lst
      # acl cloudfront src -f /etc/haproxy/cloudfront.lst
  ipfence export --format calico --provider google --region us-central1 -n gcp-us-central1 \\
      | kubectl apply -f -       # a GlobalNetworkSet for selector ipfence/set == 'gcp-us-central1'
  ipfence export --format mikrotik --service CLOUDFRONT -n cloudfront -o cf.rsc  # /import cf.rsc
  ipfence export --format fail2ban --service CLOUDFRONT -o /etc/fail2ban/jail.d/cloudfront.local

Without --ports, nftables and pf files hold the sets (tables) only and filter nothing,
and the iptables chain drops every packet from other sources (jump to it only for the
traffic to restrict). Each file's `# enforces:` line says what it does. Options a
format does not read are refused: --ports/--protocol (nftables, iptables, pf,
aws-security-group, kubernetes), --scope/--lock-token (aws-waf), --current-version
(aws-prefix-list), --name (not apache, haproxy: their files name nothing).

Styles: nftables full (default) | sets | replace; ipset replace (default) | create;
iptables set (default) | plain; pf conf (default) | table;
aws-waf create (default) | update | cloudformation; nginx access (default) | geo |
real-ip; apache require (default) | remote-ip; caddy matcher (default) | trusted-proxies;
kubernetes ingress (default) | egress; cilium v2alpha1 (default) | v2.
AWS outputs are JSON arrays, one item per object (family, split part):
  ipfence export --format aws-waf --service API_GATEWAY --ipv4 > s.json
  jq -c '.[]' s.json | while read -r p; do aws wafv2 create-ip-set --cli-input-json \"$p\"; done
  perms=$(ipfence export --format aws-security-group --service S3 --region us-east-1 \\
      --ports 443 | jq -c '.[0].IpPermissions')
  aws ec2 authorize-security-group-ingress --group-id sg-... --ip-permissions \"$perms\"
The set is the minimal exact cover of the selection; with --diff-from, only the CIDRs
that leave or join the cover are deleted and added.")]
pub struct ExportArgs {
    /// Output format: nftables, ipset, iptables, pf, aws-waf, aws-prefix-list,
    /// aws-security-group, nginx, apache, haproxy, caddy, kubernetes, calico, cilium,
    /// mikrotik, fail2ban, crowdsec.
    #[arg(short, long, value_name = "FORMAT")]
    pub format: Format,

    /// Name of the table, set, chain, variable, matcher, object or list (checked
    /// against the tool's rules) [default: ipfence; fail2ban: DEFAULT, every jail].
    #[arg(short, long)]
    pub name: Option<String>,

    /// Variant of the output (see below).
    #[arg(long)]
    pub style: Option<String>,

    /// Write here (atomically: temporary file + rename) instead of stdout.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// Render the update from this older version (same format and filter) to the input.
    #[arg(long, value_name = "OLD")]
    pub diff_from: Option<PathBuf>,

    /// Destination ports only the selected sources may reach: ports and ranges,
    /// comma-separated (80,443-445); nftables, iptables, pf, aws-security-group.
    #[arg(long, value_name = "PORTS")]
    pub ports: Vec<String>,

    /// Protocol of the port rules [default: tcp].
    #[arg(long, value_name = "tcp|udp|sctp")]
    pub protocol: Option<String>,

    /// AWS WAF scope [default: REGIONAL].
    #[arg(long, value_name = "REGIONAL|CLOUDFRONT")]
    pub scope: Option<String>,

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

impl ExportArgs {
    /// Refuses every flag given that the format does not read, naming the formats
    /// that do, and reads the port list.
    fn check(&self) -> Result<Vec<PortRange>> {
        let f = self.format;
        let given = [
            ("name", self.name.is_some()),
            ("style", self.style.is_some()),
            ("ports", !self.ports.is_empty()),
            ("protocol", self.protocol.is_some()),
            ("scope", self.scope.is_some()),
            ("max-entries", self.max_entries.is_some()),
            ("summarize", self.summarize),
            ("split", self.split),
            ("aws-id", self.aws_id.is_some()),
            ("lock-token", self.lock_token.is_some()),
            ("current-version", self.current_version.is_some()),
            // --diff-from with iptables: the exporter says what to update instead.
        ];
        for (option, set) in given {
            if set && !f.takes(option) {
                return Err(not_applicable(f, &format!("--{option}")).into());
            }
        }
        if self.protocol.is_some() && self.ports.is_empty() {
            anyhow::bail!("{f}: --protocol applies to the port rules: give --ports too");
        }
        if self.ports.is_empty() {
            return Ok(Vec::new());
        }
        Ok(parse_ports(&self.ports.join(","))?)
    }
}

/// Runs the command.
pub fn run(args: &ExportArgs) -> Result<u8> {
    super::check_output(args.output.as_deref())?;
    let ports = args.check()?;
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
        // fail2ban's section: every jail unless one is named.
        name: args.name.clone().unwrap_or_else(|| match args.format {
            Format::Fail2ban => "DEFAULT".into(),
            _ => "ipfence".into(),
        }),
        style: args.style.clone(),
        ports,
        protocol: args.protocol.clone().unwrap_or_else(|| "tcp".into()),
        scope: args.scope.clone().unwrap_or_else(|| "REGIONAL".into()),
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
        assert_eq!(a.name, None);
        assert_eq!(a.style, None);
        assert_eq!(a.output, None);
        assert_eq!(a.diff_from, None);
        assert!(a.ports.is_empty());
        assert_eq!(a.protocol, None);
        assert_eq!(a.scope, None);
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
        assert_eq!(a.name.as_deref(), Some("aws_s3"));
        assert_eq!(a.style.as_deref(), Some("table"));
        assert_eq!(a.output, Some(PathBuf::from("out.txt")));
        assert_eq!(a.diff_from, Some(PathBuf::from("old.json")));
        assert_eq!(a.ports, ["443,80", "8443"]);
        assert_eq!(a.protocol.as_deref(), Some("udp"));
        assert_eq!(a.scope.as_deref(), Some("CLOUDFRONT"));
        assert_eq!(a.max_entries, Some(50));
        assert!(a.summarize);
        assert_eq!(a.aws_id.as_deref(), Some("pl-1"));
        assert_eq!(a.lock_token.as_deref(), Some("tok"));
        assert_eq!(a.current_version, Some(3));
        assert_eq!(a.input.inputs, [PathBuf::from("new.json")]);
        assert_eq!(a.filter.services, ["S3"]);
        assert!(a.filter.ipv4);
    }

    /// Issue 13: every flag is refused by the formats that do not read it.
    #[test]
    fn inapplicable_flags_are_refused() {
        let flags: [(&str, &[&str]); 11] = [
            ("name", &["--name", "x"]),
            ("style", &["--style", "x"]),
            ("ports", &["--ports", "443"]),
            ("protocol", &["--protocol", "udp", "--ports", "53"]),
            ("scope", &["--scope", "CLOUDFRONT"]),
            ("max-entries", &["--max-entries", "5"]),
            ("summarize", &["--summarize"]),
            ("split", &["--split"]),
            ("aws-id", &["--aws-id", "x"]),
            ("lock-token", &["--lock-token", "x"]),
            ("current-version", &["--current-version", "1"]),
        ];
        let mut refused = 0;
        for f in Format::ALL {
            for (option, args) in flags {
                let mut all = vec!["-f", f.name()];
                all.extend_from_slice(args);
                let r = parse(&all).unwrap().check();
                if f.takes(option) {
                    assert!(r.is_ok(), "{f} --{option}: {r:?}");
                } else {
                    let e = r.unwrap_err().to_string();
                    // --protocol comes with --ports, which the same formats take.
                    let named = if option == "protocol" {
                        "ports"
                    } else {
                        option
                    };
                    assert!(
                        e.starts_with(&format!("{f}: --{named} does not apply (it is for ")),
                        "{e}"
                    );
                    refused += 1;
                }
            }
        }
        assert_eq!(refused, 136);
        for f in ["nftables", "pf", "aws-security-group"] {
            let e = parse(&["-f", f, "--protocol", "udp"])
                .unwrap()
                .check()
                .unwrap_err();
            assert!(e.to_string().contains("give --ports too"), "{e}");
        }
    }

    #[test]
    fn bad_values_are_refused() {
        let ports = |p: &str| parse(&["-f", "nftables", "--ports", p]).unwrap().check();
        for (bad, why) in [
            ("70000", "\"70000\" is not a port"),
            ("http", "\"http\" is not a port"),
            ("0", "port 0 is not a destination port"),
            ("445-443", "445-443 is reversed: write 443-445"),
            ("443,443", "443 is given twice"),
            ("440-450,443", "440-450 and 443 overlap"),
            ("80,", "\"\" is not a port"),
        ] {
            let e = format!("{:#}", ports(bad).unwrap_err());
            assert!(e.starts_with("ports: "), "{bad}: {e}");
            assert!(e.contains(why), "{bad}: {e}");
        }
        assert_eq!(
            ports("8443,80,443-445,446").unwrap(),
            [
                PortRange {
                    first: 80,
                    last: 80
                },
                PortRange {
                    first: 443,
                    last: 446
                },
                PortRange {
                    first: 8443,
                    last: 8443
                }
            ]
        );
        assert!(parse(&["-f", "nftables", "--max-entries", "-1"]).is_err());
        assert!(parse(&["-f", "aws-waf", "--summarize", "--split"]).is_err());
        assert!(parse(&["-f", "aws-waf", "--split"]).unwrap().split);
    }
}
