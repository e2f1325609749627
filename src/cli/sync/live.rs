//! What a target holds now: the kernel's sets (`nft -j list set`, `ipset save`, `pfctl
//! -T show`), the AWS object (through the `aws` CLI), or the output file's digest; and
//! how it differs from what the state says was applied last.
//!
//! The kernel loses its tables on a reboot, a `nft flush ruleset` or in a fresh network
//! namespace while the state file still names the last version; comparing the two on
//! every run is what makes the state trustworthy. Both sides are compared as address
//! sets, never as text: nft may merge adjacent intervals or show single addresses and
//! ranges, and AWS may order or spell entries its own way.

use std::path::Path;

use anyhow::{Context, Result};
use ipfence::core::{IpNet, PrefixSet};
use ipfence_exporters::{ipset, Format};
use serde_json::Value;

use super::apply;
use super::config::{AwsCli, Target};
use super::state::{self, TargetState};

/// How one target differs from its last applied state.
#[derive(Debug, Default)]
pub struct Drift {
    /// The live sets (kernel or AWS) differ: what is missing and what is extra.
    pub live: Option<(PrefixSet, PrefixSet)>,
    /// The output file is missing or is not the file last written.
    pub file: Option<String>,
}

impl Drift {
    pub fn any(&self) -> bool {
        self.live.is_some() || self.file.is_some()
    }

    /// `the live sets lack 57 CIDRs (1234 IPv4 addresses) and hold 0 extra; the output
    /// file was deleted`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some((missing, extra)) = &self.live {
            parts.push(format!(
                "the live sets lack {} and hold {} not applied",
                amount(missing),
                amount(extra)
            ));
        }
        if let Some(f) = &self.file {
            parts.push(f.clone());
        }
        parts.join("; ")
    }
}

/// `57 CIDRs (1234 IPv4, 2^80 IPv6 addresses)`.
fn amount(s: &PrefixSet) -> String {
    if s.is_empty() {
        return "0 CIDRs".into();
    }
    let v6 = s.count_v6().map_or("2^128".into(), |n| n.to_string());
    format!(
        "{} CIDRs ({} IPv4, {v6} IPv6 addresses)",
        s.cidr_count(),
        s.count_v4()
    )
}

/// Compares `t` with its last applied state `last`: the live sets when the target is
/// applied, the output file when it has one.
pub fn drift(t: &Target, last: &TargetState, cli: &AwsCli) -> Result<Drift> {
    let mut d = Drift::default();
    if t.apply {
        let parts = read(t, cli)?;
        let (mut missing, mut extra) = (PrefixSet::new(), PrefixSet::new());
        for p in &parts {
            missing = missing.union(&last.set.difference(p));
            extra = extra.union(&p.difference(&last.set));
        }
        if !missing.is_empty() || !extra.is_empty() {
            d.live = Some((missing, extra));
        }
    }
    if let Some(out) = &t.output {
        d.file = file_drift(out, last.output_sha256.as_deref());
    }
    Ok(d)
}

/// Whether the output file is the one last written (by its digest, when the state
/// recorded one; a state written before digests were kept only knows it existed).
fn file_drift(path: &Path, digest: Option<&str>) -> Option<String> {
    let shown = path.display();
    match std::fs::read(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Some(format!("the output file {shown} is missing"))
        }
        Err(e) => Some(format!("the output file {shown} cannot be read ({e})")),
        Ok(bytes) => match digest {
            Some(want) if state::sha256(&bytes) != want => Some(format!(
                "the output file {shown} is not the one last written (edited or replaced)"
            )),
            _ => None,
        },
    }
}

/// The live sets of an applied target: one set, or for a security group one per port
/// range (each must hold the whole set).
pub fn read(t: &Target, cli: &AwsCli) -> Result<Vec<PrefixSet>> {
    let what = || format!("reading what target {} holds now", t.name);
    match t.format {
        Format::AwsWaf | Format::AwsPrefixList | Format::AwsSecurityGroup => {
            apply::aws_live(t, cli).with_context(what)
        }
        _ => Ok(vec![read_local(t).with_context(what)?]),
    }
}

/// A local tool's answer, with "no such table/set" read as an empty set: after a reboot
/// or a flush, the table is simply gone.
fn ask(t: &Target, default: &str, args: &[&str], missing: &[&str]) -> Result<Option<String>> {
    let cmd = t.command.clone().unwrap_or_else(|| vec![default.into()]);
    match apply::run(&cmd, args) {
        Ok(out) => Ok(Some(out)),
        Err(e) => {
            let msg = format!("{e:#}");
            if msg.contains("failed (") && missing.iter().any(|m| msg.contains(m)) {
                Ok(None)
            } else {
                Err(e)
            }
        }
    }
}

fn read_local(t: &Target) -> Result<PrefixSet> {
    let name = t.name.as_str();
    let mut nets = Vec::new();
    let (mut v4, mut v6) = (Vec::new(), Vec::new());
    match t.format {
        Format::Nftables => {
            for set in [format!("{name}_v4"), format!("{name}_v6")] {
                let args = ["-j", "list", "set", "inet", name, &set];
                if let Some(out) = ask(t, "nft", &args, &["No such file or directory"])? {
                    nft_elements(&out, &mut nets, &mut v4, &mut v6)
                        .with_context(|| format!("nft -j list set inet {name} {set}"))?;
                }
            }
        }
        Format::Ipset => {
            let (a, b) = ipset::set_names(name);
            for set in [a, b] {
                if let Some(out) = ask(t, "ipset", &["save", &set], &["does not exist"])? {
                    for line in out.lines() {
                        let mut words = line.split_whitespace();
                        if words.next() == Some("add") && words.next() == Some(set.as_str()) {
                            let w = words.next().unwrap_or_default();
                            nets.push(net(w).with_context(|| format!("ipset save {set}"))?);
                        }
                    }
                }
            }
        }
        Format::Pf => {
            let args = ["-t", name, "-T", "show"];
            if let Some(out) = ask(t, "pfctl", &args, &["does not exist"])? {
                for line in out.lines().map(str::trim).filter(|l| !l.is_empty()) {
                    nets.push(net(line).with_context(|| format!("pfctl -t {name} -T show"))?);
                }
            }
        }
        f => anyhow::bail!("{} targets have no local sets", f.name()),
    }
    let ranges = PrefixSet::from_ranges(v4, v6);
    Ok(nets.into_iter().collect::<PrefixSet>().union(&ranges))
}

/// An address or CIDR as a prefix (an address is its /32 or /128).
fn net(s: &str) -> Result<IpNet> {
    let text = if s.contains('/') {
        s.to_string()
    } else {
        format!("{s}/{}", if s.contains(':') { 128 } else { 32 })
    };
    text.parse()
        .map_err(|_| anyhow::anyhow!("{s:?} is not an address or CIDR"))
}

/// The elements of `nft -j list set` output: addresses, prefixes and ranges (nft shows
/// merged intervals as ranges), each possibly wrapped in `{"elem": {"val": ...}}`.
fn nft_elements(
    json: &str,
    nets: &mut Vec<IpNet>,
    v4: &mut Vec<(u32, u32)>,
    v6: &mut Vec<(u128, u128)>,
) -> Result<()> {
    let v: Value = serde_json::from_str(json).context("the answer is not JSON")?;
    for item in v["nftables"].as_array().into_iter().flatten() {
        for e in item["set"]["elem"].as_array().into_iter().flatten() {
            let e = e.get("elem").map_or(e, |w| &w["val"]);
            if let Some(s) = e.as_str() {
                nets.push(net(s)?);
            } else if let Some(p) = e.get("prefix") {
                let addr = p["addr"].as_str().unwrap_or_default();
                nets.push(net(&format!("{addr}/{}", p["len"]))?);
            } else if let Some([a, b]) = e.get("range").and_then(Value::as_array).map(Vec::as_slice)
            {
                let parse = |x: &Value| -> Result<std::net::IpAddr> {
                    x.as_str()
                        .and_then(|s| s.parse().ok())
                        .with_context(|| format!("range end {x} is not an address"))
                };
                match (parse(a)?, parse(b)?) {
                    (std::net::IpAddr::V4(a), std::net::IpAddr::V4(b)) => {
                        v4.push((a.into(), b.into()));
                    }
                    (std::net::IpAddr::V6(a), std::net::IpAddr::V6(b)) => {
                        v6.push((a.into(), b.into()));
                    }
                    _ => anyhow::bail!("range {e} mixes address families"),
                }
            } else {
                anyhow::bail!("element {e} is not an address, prefix or range");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nft_elements_read_addresses_prefixes_and_merged_ranges() {
        let json = r#"{"nftables": [{"metainfo": {}}, {"set": {"name": "t_v4", "elem": [
            {"prefix": {"addr": "10.0.0.0", "len": 25}}, "10.0.1.5",
            {"range": ["10.0.0.128", "10.0.0.255"]},
            {"elem": {"val": {"prefix": {"addr": "2001:db8::", "len": 32}}, "counter": {}}}]}}]}"#;
        let (mut nets, mut v4, mut v6) = (Vec::new(), Vec::new(), Vec::new());
        nft_elements(json, &mut nets, &mut v4, &mut v6).unwrap();
        let got = nets
            .into_iter()
            .collect::<PrefixSet>()
            .union(&PrefixSet::from_ranges(v4, v6));
        let want: PrefixSet = ["10.0.0.0/24", "10.0.1.5/32", "2001:db8::/32"]
            .iter()
            .map(|c| c.parse::<IpNet>().unwrap())
            .collect();
        assert_eq!(got, want, "a /25 and the range of the next /25 are one /24");
        let bad = r#"{"nftables": [{"set": {"elem": [{"range": ["10.0.0.1", "::1"]}]}}]}"#;
        assert!(nft_elements(bad, &mut Vec::new(), &mut Vec::new(), &mut Vec::new()).is_err());
    }
}
