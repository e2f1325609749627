//! The sync configuration file (TOML): where the ranges come from, the guards, and the
//! targets. `examples/sync.toml` shows every key.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use ipfence_exporters::Format;
use serde::{Deserialize, Deserializer};

use ipfence::core::source::{official_url, Format as SourceFormat, Label, KNOWN_LABELS};

use crate::cli::FilterArgs;

/// The official address of AWS ip-ranges.json.
pub const AWS_URL: &str = "https://ip-ranges.amazonaws.com/ip-ranges.json";

/// The whole file.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the published ranges are downloaded from.
    #[serde(default = "default_url")]
    pub url: String,
    /// The state file (default: `ipfence-state.json` next to the config).
    pub state: Option<PathBuf>,
    /// Refuse to shrink a target's addresses (per family) by more than this fraction.
    #[serde(default = "default_max_shrink")]
    pub max_shrink: f64,
    /// Connect and whole-download timeout, seconds.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// Retries after a failed download (connection error, timeout, 5xx, short body).
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Delay before the first retry, doubled for each further one, milliseconds.
    #[serde(default = "default_retry_delay")]
    pub retry_delay_ms: u64,
    /// Refuse a download larger than this many bytes.
    #[serde(default = "default_max_bytes")]
    pub max_bytes: u64,
    /// How the `aws` CLI is run for AWS targets.
    #[serde(default)]
    pub aws: AwsCli,
    /// Named lists a target can draw from (`sources = [...]`), each of any provider.
    #[serde(rename = "source", default)]
    pub sources: Vec<Source>,
    /// What to keep in sync.
    #[serde(rename = "target", default)]
    pub targets: Vec<Target>,
}

/// The `format` of a compiled blob published by another ipfence, with its manifest.
pub const BLOB_FORMAT: &str = "ipfence-blob";

/// A named list: a provider's published file, or a blob another ipfence compiled.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Names it in `sources = [...]`, in the state and in messages.
    pub name: String,
    /// Who publishes it (`aws`, `google`, `azure`, `github`, `oracle`, `atlassian`,
    /// `fastly`, `cloudflare`, `zscaler`, or the owner of a CIDR text list or geofeed).
    pub provider: Option<String>,
    /// One of the provider's lists that stands for one service (`googlebot`,
    /// `special-crawlers`, `bingbot`, `gptbot`, ...).
    pub label: Option<String>,
    /// Where it is published (default: the provider's or label's official address).
    pub url: Option<String>,
    /// The layout (detected when not given), or `ipfence-blob`: `url` is then the
    /// manifest written by `ipfence compile --manifest`.
    pub format: Option<String>,
    /// Azure: the cloud the file must describe, as its `cloud` key says (default `Public`).
    pub cloud: Option<String>,
}

impl Source {
    /// Whether it is a blob compiled by another ipfence.
    pub fn is_blob(&self) -> bool {
        self.format.as_deref() == Some(BLOB_FORMAT)
    }

    /// The name its entries are read under: the label, else the provider.
    pub fn label_name(&self) -> &str {
        self.label
            .as_deref()
            .or(self.provider.as_deref())
            .unwrap_or("")
    }

    /// The configured address, else the official one.
    pub fn url(&self) -> Option<String> {
        self.url
            .clone()
            .or_else(|| official_url(self.label_name()).map(str::to_string))
    }

    /// The layout to read it as, when configured (not for blobs).
    pub fn source_format(&self) -> Option<SourceFormat> {
        self.format
            .as_deref()
            .filter(|_| !self.is_blob())
            .and_then(|f| f.parse().ok())
    }

    fn check(&self) -> Result<()> {
        Label::new(&self.name).context("name")?;
        if self.is_blob() {
            if self.provider.is_some() || self.label.is_some() || self.cloud.is_some() {
                bail!("format = \"{BLOB_FORMAT}\": a compiled blob keeps the providers it was compiled with: drop provider, label and cloud");
            }
            if self.url.is_none() {
                bail!("format = \"{BLOB_FORMAT}\" needs url = the manifest written by `ipfence compile --manifest` (e.g. \"https://fw-publisher.example/aws.ipfence.manifest.json\")");
            }
            return Ok(());
        }
        if let Some(f) = &self.format {
            f.parse::<SourceFormat>().map_err(|_| {
                anyhow::anyhow!(
                    "format = {f:?}: expected one of {}, or {BLOB_FORMAT}",
                    SourceFormat::names()
                )
            })?;
        }
        let Some(provider) = &self.provider else {
            bail!("no provider: name who publishes it (aws, google, azure, github, oracle, atlassian, fastly, cloudflare, zscaler, or a text list's owner)");
        };
        Label::new(provider).context("provider")?;
        if let Some(l) = &self.label {
            let known = Label::new(l).context("label")?;
            if known.service.is_none() || known.provider != provider {
                let fits: Vec<&str> = KNOWN_LABELS
                    .iter()
                    .filter(|(_, p, s)| p == provider && s.is_some())
                    .map(|(n, _, _)| *n)
                    .collect();
                bail!(
                    "label = {l:?}: not one of {provider}'s single-service lists ({})",
                    if fits.is_empty() {
                        "it has none".to_string()
                    } else {
                        fits.join(", ")
                    }
                );
            }
        }
        if self.cloud.is_some() && provider != "azure" {
            bail!("cloud: only Azure's Service Tags name their cloud; drop it");
        }
        if self.url().is_none() {
            if provider == "azure" {
                bail!("no url: Azure's weekly file has no stable address; set url to the file you mirror (docs/sync.md says how)");
            }
            bail!("no url, and {provider:?} has no official address ipfence knows: set url");
        }
        Ok(())
    }
}

/// How the `aws` CLI is run.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct AwsCli {
    /// The program and any leading arguments.
    #[serde(default = "default_aws_command")]
    pub command: Vec<String>,
    /// `--region`.
    pub region: Option<String>,
    /// `--profile`.
    pub profile: Option<String>,
    /// `--endpoint-url` (a local emulator, a VPC endpoint).
    pub endpoint_url: Option<String>,
}

impl Default for AwsCli {
    fn default() -> Self {
        AwsCli {
            command: default_aws_command(),
            region: None,
            profile: None,
            endpoint_url: None,
        }
    }
}

/// One thing kept in sync: a firewall file, a set in the kernel, an AWS object.
#[derive(Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Names the target in the state and in messages; also the table, set or object name
    /// in the output (checked against the tool's rules).
    pub name: String,
    /// nftables, ipset, iptables, pf, aws-waf, aws-prefix-list, aws-security-group.
    #[serde(deserialize_with = "format_name")]
    pub format: Format,
    /// The named sources it draws from (none: the top-level `url`).
    #[serde(default)]
    pub sources: Vec<String>,
    /// Write the full rules here (atomically).
    pub output: Option<PathBuf>,
    /// Keep entries of these services (none: every service).
    #[serde(default)]
    pub services: Vec<String>,
    /// Remove every address of these services.
    #[serde(default)]
    pub exclude_services: Vec<String>,
    /// Keep entries of these regions.
    #[serde(default)]
    pub regions: Vec<String>,
    /// Keep entries of these network border groups.
    #[serde(default)]
    pub border_groups: Vec<String>,
    /// `ipv4` or `ipv6` (both when not given).
    pub family: Option<Family>,
    /// Destination ports the rules allow (all when empty).
    #[serde(default)]
    pub ports: Vec<u16>,
    /// Protocol for port rules.
    #[serde(default = "default_protocol")]
    pub protocol: String,
    /// Apply the change: run nft / ipset / pfctl, or call AWS.
    #[serde(default)]
    pub apply: bool,
    /// The program (and leading arguments) that applies a local target instead of
    /// `nft`, `ipset` or `pfctl`: e.g. `["ip", "netns", "exec", "edge", "nft"]`.
    pub command: Option<Vec<String>>,
    /// AWS: the WAF IP set id, prefix list id (pl-...) or security group id (sg-...).
    pub id: Option<String>,
    /// AWS WAF scope: REGIONAL or CLOUDFRONT.
    #[serde(default = "default_scope")]
    pub scope: String,
    /// Most CIDRs per family the target takes (format default when not given).
    pub max_entries: Option<usize>,
    /// Over the quota: `refuse` (default) or `summarize` (fit into it, admitting the
    /// fewest extra addresses, reported).
    #[serde(default)]
    pub over_quota: OverQuota,
    /// Accept a selection with no address at all.
    #[serde(default)]
    pub allow_empty: bool,
}

/// One address family.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Ipv4,
    Ipv6,
}

/// What a target over its quota does.
#[derive(Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum OverQuota {
    #[default]
    Refuse,
    Summarize,
}

/// `format = "..."`, read with the exporters' names.
fn format_name<'de, D: Deserializer<'de>>(d: D) -> Result<Format, D::Error> {
    let s = String::deserialize(d)?;
    s.parse().map_err(|_| {
        serde::de::Error::custom(format!(
            "format = {s:?}: expected one of nftables, ipset, iptables, pf, aws-waf, aws-prefix-list, aws-security-group"
        ))
    })
}

fn default_url() -> String {
    AWS_URL.into()
}
fn default_max_shrink() -> f64 {
    0.10
}
fn default_timeout() -> u64 {
    30
}
fn default_retries() -> u32 {
    3
}
fn default_retry_delay() -> u64 {
    1000
}
fn default_max_bytes() -> u64 {
    64 << 20
}
fn default_aws_command() -> Vec<String> {
    vec!["aws".into()]
}
fn default_protocol() -> String {
    "tcp".into()
}
fn default_scope() -> String {
    "REGIONAL".into()
}

impl Config {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Config> {
        let shown = path.display();
        let text = std::fs::read_to_string(path).with_context(|| {
            format!("{shown}: cannot read the sync configuration (examples/sync.toml shows one)")
        })?;
        let config: Config = toml::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "{shown}: {}",
                e.to_string().trim_end().replace('\n', "\n  ")
            )
        })?;
        config.check().with_context(|| format!("{shown}"))?;
        Ok(config)
    }

    /// The state file: configured, or `ipfence-state.json` next to the config.
    pub fn state_path(&self, config_path: &Path) -> PathBuf {
        match &self.state {
            Some(p) if p.is_absolute() => p.clone(),
            Some(p) => config_dir(config_path).join(p),
            None => config_dir(config_path).join("ipfence-state.json"),
        }
    }

    fn check(&self) -> Result<()> {
        if self.targets.is_empty() {
            bail!("no [[target]]: nothing to keep in sync (examples/sync.toml shows one)");
        }
        if !(0.0..=1.0).contains(&self.max_shrink) {
            bail!(
                "max_shrink = {}: expected a fraction between 0 and 1 (0.10 refuses to drop more than 10% of a target's addresses)",
                self.max_shrink
            );
        }
        if self.timeout_seconds == 0 {
            bail!("timeout_seconds = 0: expected at least 1");
        }
        if self.aws.command.is_empty() {
            bail!("[aws] command = []: name the program, e.g. [\"aws\"]");
        }
        for (i, s) in self.sources.iter().enumerate() {
            s.check()
                .with_context(|| format!("source {} ({:?})", i + 1, s.name))?;
            if self.sources[..i].iter().any(|o| o.name == s.name) {
                bail!(
                    "source {} ({:?}): two sources have this name; each needs its own",
                    i + 1,
                    s.name
                );
            }
            if !self.targets.iter().any(|t| t.sources.contains(&s.name)) {
                bail!(
                    "source {} ({:?}): no target draws from it (add it to a target's sources = [...], or remove it)",
                    i + 1,
                    s.name
                );
            }
        }
        for (i, t) in self.targets.iter().enumerate() {
            t.check()
                .with_context(|| format!("target {} ({:?})", i + 1, t.name))?;
            for n in &t.sources {
                if !self.sources.iter().any(|s| &s.name == n) {
                    let known: Vec<&str> = self.sources.iter().map(|s| s.name.as_str()).collect();
                    bail!(
                        "target {} ({:?}): sources: no [[source]] is named {n:?} (named: {})",
                        i + 1,
                        t.name,
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    );
                }
            }
            if t.sources
                .iter()
                .enumerate()
                .any(|(j, n)| t.sources[..j].contains(n))
            {
                bail!(
                    "target {} ({:?}): sources: a source is named twice",
                    i + 1,
                    t.name
                );
            }
            if self.targets[..i].iter().any(|o| o.name == t.name) {
                bail!(
                    "target {} ({:?}): two targets have this name; each needs its own",
                    i + 1,
                    t.name
                );
            }
        }
        Ok(())
    }
}

fn config_dir(config_path: &Path) -> PathBuf {
    match config_path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

impl Target {
    /// Whether it draws from the top-level `url` (it names no sources).
    pub fn uses_top_level(&self) -> bool {
        self.sources.is_empty()
    }

    /// Whether this is an AWS object (applied through the `aws` CLI).
    pub fn is_aws(&self) -> bool {
        matches!(
            self.format,
            Format::AwsWaf | Format::AwsPrefixList | Format::AwsSecurityGroup
        )
    }

    /// The selection as the CLI's filter flags.
    pub fn filter(&self) -> FilterArgs {
        FilterArgs {
            providers: Vec::new(),
            services: self.services.clone(),
            exclude_services: self.exclude_services.clone(),
            regions: self.regions.clone(),
            border_groups: self.border_groups.clone(),
            ipv4: self.family == Some(Family::Ipv4),
            ipv6: self.family == Some(Family::Ipv6),
            allow_empty: true,
        }
    }

    fn check(&self) -> Result<()> {
        if self.output.is_none() && !self.apply {
            bail!("neither output nor apply = true: the target would do nothing");
        }
        if self.command.as_ref().is_some_and(Vec::is_empty) {
            bail!("command = []: name the program, e.g. [\"nft\"]");
        }
        let format = self.format;
        match format {
            Format::Iptables if self.apply => bail!(
                "apply = true: iptables rules are loaded with iptables-restore by you, once; keep the changing addresses in an ipset target (format = \"ipset\", apply = true) that the rules match"
            ),
            Format::AwsWaf | Format::AwsPrefixList if self.apply && self.family.is_none() => {
                bail!(
                    "a {} holds one address family: set family = \"ipv4\" or \"ipv6\" (one target per family)",
                    if format == Format::AwsWaf {
                        "WAF IP set"
                    } else {
                        "prefix list"
                    }
                )
            }
            Format::AwsWaf | Format::AwsPrefixList | Format::AwsSecurityGroup
                if self.apply && self.id.is_none() =>
            {
                bail!("apply = true needs the id of the existing AWS object (id = \"...\"); create it once with `ipfence export --format {}`", format.name())
            }
            _ => {}
        }
        if self.command.is_some() && self.is_aws() {
            bail!("command: AWS targets use the [aws] command");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config> {
        let c: Config = toml::from_str(text)?;
        c.check()?;
        Ok(c)
    }

    fn repo(rel: &str) -> String {
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
    }

    /// The shipped examples, the fleet block commented in one, and every TOML block in
    /// docs/sync.md are configurations this ipfence takes.
    #[test]
    fn the_examples_and_the_documented_configurations_load() {
        parse(&repo("examples/sync.toml")).unwrap();
        let providers = repo("examples/sync-providers.toml");
        let c = parse(&providers).unwrap();
        assert_eq!(
            c.sources
                .iter()
                .find(|s| s.name == "googlebot")
                .and_then(Source::url)
                .as_deref(),
            Some("https://developers.google.com/static/search/apis/ipranges/googlebot.json")
        );
        let fleet: String = providers
            .split_once("# [[source]]")
            .map(|(_, rest)| format!("[[source]]{rest}"))
            .unwrap()
            .lines()
            .map(|l| l.strip_prefix("# ").unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(parse(&fleet).unwrap().sources[0].is_blob());
        let docs = repo("docs/sync.md");
        let blocks: Vec<&str> = docs
            .split("```toml\n")
            .skip(1)
            .map(|b| b.split("```").next().unwrap())
            .collect();
        assert!(blocks.len() >= 3, "docs/sync.md shows its configurations");
        for b in blocks {
            if let Err(e) = parse(b) {
                panic!("docs/sync.md:\n{b}\n{e:#}");
            }
        }
    }

    #[test]
    fn sources_are_checked_with_what_to_do() {
        let base =
            "[[target]]\nname = \"t\"\nformat = \"nftables\"\noutput = \"x\"\nsources = [\"s\"]\n";
        let err = |source: &str| {
            format!(
                "{:#}",
                parse(&format!("{base}[[source]]\nname = \"s\"\n{source}")).unwrap_err()
            )
        };
        assert!(err("provider = \"azure\"").contains("Azure's weekly file has no stable address"));
        assert!(err("provider = \"google\"\nlabel = \"gptbot\"").contains("not one of google's single-service lists (googlebot, special-crawlers, user-triggered-fetchers"));
        assert!(err("provider = \"github\"\ncloud = \"Public\"").contains("only Azure"));
        assert!(err("url = \"https://x/\"").contains("no provider"));
        assert!(err("provider = \"corp\"").contains("no official address"));
        assert!(err("format = \"ipfence-blob\"").contains("needs url"));
        assert!(err("provider = \"github\"\nformat = \"yaml\"").contains("expected one of"));
        let unknown = parse(&base.replace("[\"s\"]", "[\"nope\"]")).unwrap_err();
        assert!(format!("{unknown:#}").contains("no [[source]] is named \"nope\""));
        let unused = parse(&format!("{base}[[source]]\nname = \"s\"\nprovider = \"github\"\n[[source]]\nname = \"u\"\nprovider = \"fastly\"\n")).unwrap_err();
        assert!(format!("{unused:#}").contains("no target draws from it"));
        // A provider's official address is the default.
        let c = parse(&format!(
            "{base}[[source]]\nname = \"s\"\nprovider = \"github\"\n"
        ))
        .unwrap();
        assert_eq!(
            c.sources[0].url().as_deref(),
            Some("https://api.github.com/meta")
        );
    }
}
