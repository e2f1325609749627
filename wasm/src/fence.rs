//! The package's work in plain Rust: each method maps one JS call onto the core and the
//! exporters and returns either a value or JSON text for JS. Nothing here touches JS,
//! so it is tested natively (`cargo test -p ipfence-wasm`).

use std::collections::BTreeSet;
use std::fmt::Write;

use ipfence_core::prefix::{canonical, parse_addr, HostBits};
use ipfence_core::ranges::extra_name;
use ipfence_core::source::{self, Format, Label};
use ipfence_core::{diff, Family, Filter, Match, Matcher, Ranges, Tags};
use ipfence_exporters::{export, Header, Options, Output};

use crate::json;

/// A JS filter object (`{ providers, services, excludeServices, regions, borderGroups,
/// extras, family }`), read and checked for types.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterSpec {
    /// Providers to keep (empty: any).
    pub providers: Vec<String>,
    /// Services to keep (empty: any).
    pub services: Vec<String>,
    /// Services whose addresses are removed.
    pub exclude_services: Vec<String>,
    /// Regions to keep (empty: any).
    pub regions: Vec<String>,
    /// Values of the provider's extra field to keep (AWS network border groups,
    /// Atlassian directions, Azure system services; empty: any).
    pub extras: Vec<String>,
    /// One family, or both.
    pub family: Option<Family>,
}

impl FilterSpec {
    /// The core filter.
    #[cfg_attr(target_arch = "wasm32", optimize(size))]
    pub fn to_filter(&self) -> Filter {
        Filter {
            providers: self.providers.clone(),
            services: self.services.clone(),
            exclude_services: self.exclude_services.clone(),
            regions: self.regions.clone(),
            extras: self.extras.clone(),
            family: self.family,
        }
    }
}

/// The JS key of a provider's extra field: the core's name in camelCase
/// (`networkBorderGroup` for AWS, `direction`, `systemService`, `type`, `extra`).
pub fn extra_key(provider: &str) -> &'static str {
    match extra_name(provider) {
        "network_border_group" => "networkBorderGroup",
        "system_service" => "systemService",
        // One-word names are their own camelCase.
        one => one,
    }
}

/// Appends `"provider":..,"service":..,"region":..,"<extra key>":..` (no braces).
fn tags_json(out: &mut String, t: &Tags<'_>) {
    json::key(out, "provider");
    json::string(out, t.provider);
    out.push(',');
    json::key(out, "service");
    json::string(out, t.service);
    out.push(',');
    json::key(out, "region");
    json::string(out, t.region);
    out.push(',');
    json::key(out, extra_key(t.provider));
    json::string(out, t.extra);
}

/// The core's diff provider by provider (the core's entries carry no provider): every
/// entry with its provider, sorted by provider, then as the core sorts.
#[cfg_attr(target_arch = "wasm32", optimize(size))]
fn diff_by_provider(old: &Ranges, new: &Ranges) -> Vec<(String, diff::Diff)> {
    let providers: BTreeSet<&str> = [old, new]
        .iter()
        .flat_map(|r| r.entries.iter().map(|e| r.tags(e).provider))
        .collect();
    providers
        .into_iter()
        .map(|p| {
            let only = Filter::default().providers([p]);
            (
                p.to_string(),
                diff::diff(&only.select(old), &only.select(new)),
            )
        })
        .collect()
}

/// A compiled matcher plus the filter words that made it.
#[derive(Debug, Clone)]
pub struct Fence {
    matcher: Matcher<Vec<u8>>,
    filter: String,
}

/// Parses an address for a lookup: strict (no leading zeros), IPv4-mapped IPv6 as IPv4.
pub fn addr(ip: &str) -> Result<std::net::IpAddr, String> {
    parse_addr(ip).map(canonical)
}

#[cfg_attr(target_arch = "wasm32", optimize(size))]
fn select(ranges: ipfence_core::Ranges, spec: &FilterSpec) -> Result<Fence, String> {
    let filter = spec.to_filter();
    let matcher = if filter.is_everything() {
        Matcher::build(&ranges)
    } else {
        filter.check(&ranges).map_err(|e| e.to_string())?;
        Matcher::build(&filter.select(&ranges))
    }
    .map_err(|e| e.to_string())?;
    Ok(Fence {
        matcher,
        filter: filter.to_string(),
    })
}

#[cfg_attr(target_arch = "wasm32", optimize(size))]
fn match_json(out: &mut String, m: &Match<'_>) {
    let _ = write!(out, "{{\"prefix\":\"{}\",\"entries\":[", m.prefix());
    for (i, t) in m.entries().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('{');
        tags_json(out, &t);
        out.push('}');
    }
    out.push_str("]}");
}

impl Fence {
    /// Parses published ranges (`format` `None` detects it; `label` names the input,
    /// as `--input googlebot=FILE` does), keeps what `spec` selects and compiles them.
    ///
    /// # Errors
    /// The core's parse error (file, JSON path or line and column, value, why), a
    /// malformed label, or an unknown filter name.
    #[cfg_attr(target_arch = "wasm32", optimize(size))]
    pub fn from_source(
        bytes: &[u8],
        name: &str,
        format: Option<Format>,
        label: Option<&str>,
        spec: &FilterSpec,
        mask_host_bits: bool,
    ) -> Result<Fence, String> {
        let label = label
            .map(Label::new)
            .transpose()
            .map_err(|e| e.to_string())?;
        let opts = source::Options {
            host_bits: if mask_host_bits {
                HostBits::Mask
            } else {
                HostBits::Reject
            },
            ..source::Options::default()
        };
        let ranges = source::parse_labeled(bytes, name, format, label.as_ref(), opts)
            .map_err(|e| e.to_string())?;
        select(ranges, spec)
    }

    /// Loads a compiled blob (copied; validated whole, so later lookups cannot fail).
    ///
    /// # Errors
    /// The core's blob error with the offset of the problem.
    pub fn from_blob(bytes: &[u8]) -> Result<Fence, String> {
        Fence::from_vec(bytes.to_vec())
    }

    /// [`Fence::from_blob`] taking ownership of the bytes (no copy).
    ///
    /// # Errors
    /// The core's blob error with the offset of the problem.
    pub fn from_vec(bytes: Vec<u8>) -> Result<Fence, String> {
        let matcher = Matcher::from_vec(bytes).map_err(|e| e.to_string())?;
        Ok(Fence {
            matcher,
            filter: "as compiled in the blob".into(),
        })
    }

    /// The compiled matcher.
    pub fn matcher(&self) -> &Matcher<Vec<u8>> {
        &self.matcher
    }

    /// A new fence with what `spec` selects from this one's entries.
    ///
    /// # Errors
    /// An unknown filter name.
    #[cfg_attr(target_arch = "wasm32", optimize(size))]
    pub fn select(&self, spec: &FilterSpec) -> Result<Fence, String> {
        select(self.matcher.to_ranges(), spec)
    }

    /// Whether `ip` is in the allowlist.
    ///
    /// # Errors
    /// `ip` is not an address.
    pub fn contains(&self, ip: &str) -> Result<bool, String> {
        Ok(self.matcher.contains(addr(ip)?))
    }

    /// The longest match of `ip`.
    ///
    /// # Errors
    /// `ip` is not an address.
    pub fn lookup(&self, ip: &str) -> Result<Option<Match<'_>>, String> {
        Ok(self.matcher.lookup(addr(ip)?))
    }

    /// Appends the longest match of `ip` as JSON (`null` when none).
    ///
    /// # Errors
    /// `ip` is not an address.
    pub fn lookup_json(&self, ip: &str, out: &mut String) -> Result<(), String> {
        match self.matcher.lookup(addr(ip)?) {
            Some(m) => match_json(out, &m),
            None => out.push_str("null"),
        }
        Ok(())
    }

    /// The longest match of each address, as a JSON array.
    ///
    /// # Errors
    /// The first item that is not an address, with its index.
    #[cfg_attr(target_arch = "wasm32", optimize(size))]
    pub fn lookup_many_json<S: AsRef<str>>(&self, ips: &[S]) -> Result<String, String> {
        let mut out = String::with_capacity(16 + ips.len() * 96);
        out.push('[');
        for (i, ip) in ips.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            self.lookup_json(ip.as_ref(), &mut out)
                .map_err(|why| format!("ips[{i}]: {why}"))?;
        }
        out.push(']');
        Ok(out)
    }

    /// Whether each address is in the allowlist (1 or 0).
    ///
    /// # Errors
    /// The first item that is not an address, with its index.
    pub fn contains_many<S: AsRef<str>>(&self, ips: &[S]) -> Result<Vec<u8>, String> {
        ips.iter()
            .enumerate()
            .map(|(i, ip)| {
                self.contains(ip.as_ref())
                    .map(u8::from)
                    .map_err(|why| format!("ips[{i}]: {why}"))
            })
            .collect()
    }

    /// Renders every address in `format` (any exporter), as an update from `old` when
    /// given.
    ///
    /// # Errors
    /// An unknown format, a name or option the format refuses (the exporter's message).
    #[cfg_attr(target_arch = "wasm32", optimize(size))]
    pub fn export(
        &self,
        format: &str,
        opts: &Options,
        old: Option<&Fence>,
    ) -> Result<Output, String> {
        let format: ipfence_exporters::Format = format.parse().map_err(|e| format!("{e}"))?;
        let set = self.matcher.to_ranges().to_set();
        let old_set = old.map(|o| o.matcher.to_ranges().to_set());
        let sources = self.matcher.sources();
        let req = ipfence_exporters::Request {
            set: &set,
            old: old_set.as_ref(),
            header: Header {
                sources: &sources,
                filter: &self.filter,
            },
            options: opts,
        };
        export(format, &req).map_err(|e| e.to_string())
    }

    /// What changed from `self` (the older version) to `newer`, as JSON:
    /// `{ added, removed: [{prefix, provider, service, region, <extra key>}], summary:
    /// [{provider, service, region, added, removed}], addedAddresses, removedAddresses }`.
    #[cfg_attr(target_arch = "wasm32", optimize(size))]
    pub fn diff_json(&self, newer: &Fence) -> String {
        let (old, new) = (self.matcher.to_ranges(), newer.matcher.to_ranges());
        let per = diff_by_provider(&old, &new);
        let mut out = String::from("{");
        for name in ["added", "removed"] {
            json::key(&mut out, name);
            out.push('[');
            let mut first = true;
            for (provider, d) in &per {
                let list = if name == "added" {
                    &d.added
                } else {
                    &d.removed
                };
                for e in list {
                    if !first {
                        out.push(',');
                    }
                    first = false;
                    let _ = write!(out, "{{\"prefix\":\"{}\",", e.prefix);
                    let t = Tags {
                        provider,
                        service: &e.service,
                        region: &e.region,
                        extra: &e.extra,
                    };
                    tags_json(&mut out, &t);
                    out.push('}');
                }
            }
            out.push_str("],");
        }
        json::key(&mut out, "summary");
        out.push('[');
        let mut first = true;
        for (provider, d) in &per {
            for r in d.summary() {
                if !first {
                    out.push(',');
                }
                first = false;
                out.push('{');
                json::key(&mut out, "provider");
                json::string(&mut out, provider);
                out.push(',');
                json::key(&mut out, "service");
                json::string(&mut out, &r.service);
                out.push(',');
                json::key(&mut out, "region");
                json::string(&mut out, &r.region);
                let _ = write!(out, ",\"added\":{},\"removed\":{}}}", r.added, r.removed);
            }
        }
        out.push_str("],");
        // The address sets of the whole versions, across providers. IPv6 counts can pass
        // 2^53, so they are strings; IPv4 counts fit a JS number.
        let (so, sn) = (old.to_set(), new.to_set());
        for (name, set) in [
            ("addedAddresses", sn.difference(&so)),
            ("removedAddresses", so.difference(&sn)),
        ] {
            json::key(&mut out, name);
            let v6 = set
                .count_v6()
                .map_or(String::from("2^128"), |n| n.to_string());
            let _ = write!(out, "{{\"ipv4\":{},\"ipv6\":\"{v6}\"}},", set.count_v4());
        }
        out.pop();
        out.push('}');
        out
    }

    /// What the fence holds, as JSON: `{ sources: [{name, format, provider, createDate,
    /// syncToken}], filter, prefixCount, entryCount, blobBytes }`.
    #[cfg_attr(target_arch = "wasm32", optimize(size))]
    pub fn info_json(&self) -> String {
        let mut out = String::from("{\"sources\":[");
        for (i, s) in self.matcher.sources().iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('{');
            json::key(&mut out, "name");
            json::string(&mut out, &s.name);
            out.push(',');
            json::key(&mut out, "format");
            json::string(&mut out, &s.format);
            out.push(',');
            json::key(&mut out, "provider");
            json::string(&mut out, &s.provider);
            out.push(',');
            json::key(&mut out, "createDate");
            json::opt_string(&mut out, s.create_date.as_deref());
            out.push(',');
            json::key(&mut out, "syncToken");
            json::opt_string(&mut out, s.sync_token.as_deref());
            out.push('}');
        }
        out.push_str("],");
        json::key(&mut out, "filter");
        json::string(&mut out, &self.filter);
        let _ = write!(
            out,
            ",\"prefixCount\":{},\"entryCount\":{},\"blobBytes\":{}}}",
            self.matcher.prefix_count(),
            self.matcher.entry_count(),
            self.matcher.as_bytes().len()
        );
        out
    }

    /// The providers, services, regions and extra values (AWS border groups, ...)
    /// present, sorted, as JSON `{ providers, services, regions, borderGroups }` (for
    /// building filter choices).
    #[cfg_attr(target_arch = "wasm32", optimize(size))]
    pub fn names_json(&self) -> String {
        let ranges = self.matcher.to_ranges();
        let mut sets: [BTreeSet<&str>; 4] = Default::default();
        for e in &ranges.entries {
            let t = ranges.tags(e);
            for (set, v) in sets
                .iter_mut()
                .zip([t.provider, t.service, t.region, t.extra])
            {
                if !v.is_empty() {
                    set.insert(v);
                }
            }
        }
        let mut out = String::from("{");
        for (i, (name, set)) in ["providers", "services", "regions", "borderGroups"]
            .iter()
            .zip(&sets)
            .enumerate()
        {
            if i > 0 {
                out.push(',');
            }
            json::key(&mut out, name);
            json::strings(&mut out, set.iter().copied());
        }
        out.push('}');
        out
    }

    /// The compiled blob (a copy).
    pub fn to_blob(&self) -> Vec<u8> {
        self.matcher.to_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const AWS: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/data/aws/ip-ranges-2026-08-22-15-17-05.json"
    );
    const AWS_OLDER: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/data/aws/ip-ranges-2026-08-22-11-57-05.json"
    );

    fn aws(path: &str, spec: &FilterSpec) -> Fence {
        let bytes = std::fs::read(path).unwrap();
        Fence::from_source(
            &bytes,
            "ip-ranges.json",
            Some(Format::Aws),
            None,
            spec,
            false,
        )
        .unwrap()
    }

    fn lookup(f: &Fence, ip: &str) -> Value {
        let mut out = String::new();
        f.lookup_json(ip, &mut out).unwrap();
        serde_json::from_str(&out).unwrap()
    }

    #[test]
    fn lookup_json_is_the_matchers_answer() {
        let f = aws(AWS, &FilterSpec::default());
        let ranges =
            source::aws::parse(&std::fs::read(AWS).unwrap(), "x", Default::default()).unwrap();
        let m = Matcher::build(&ranges).unwrap();
        for e in ranges.entries.iter().step_by(37) {
            let ip = e.prefix.network();
            let want = m.lookup(ip).unwrap();
            let got = lookup(&f, &ip.to_string());
            assert_eq!(got["prefix"], want.prefix().to_string());
            let entries = got["entries"].as_array().unwrap();
            assert_eq!(entries.len(), want.entries().count());
            for (g, w) in entries.iter().zip(want.entries()) {
                assert_eq!(g["provider"], "aws");
                assert_eq!(g["service"], w.service);
                assert_eq!(g["region"], w.region);
                assert_eq!(g["networkBorderGroup"], w.extra);
            }
        }
        assert_eq!(lookup(&f, "192.0.2.1"), Value::Null);
        // IPv4-mapped IPv6 is looked up as IPv4.
        assert_eq!(lookup(&f, "::ffff:3.5.140.2"), lookup(&f, "3.5.140.2"));
        assert_ne!(lookup(&f, "3.5.140.2"), Value::Null);
    }

    #[test]
    fn bad_input_is_an_error_naming_it() {
        let f = aws(AWS, &FilterSpec::default());
        assert_eq!(
            f.contains("3.5.140.x").unwrap_err(),
            "\"3.5.140.x\" is not an IPv4 or IPv6 address"
        );
        let e = f
            .lookup_many_json(&["3.5.140.2", "", "1.1.1.1"])
            .unwrap_err();
        assert!(e.starts_with("ips[1]: "), "{e}");
        let e = f.contains_many(&["1.1.1.1", "01.1.1.1"]).unwrap_err();
        assert!(e.starts_with("ips[1]: "), "{e}");
        let spec = FilterSpec {
            services: vec!["NO_SUCH".into()],
            ..FilterSpec::default()
        };
        assert!(f.select(&spec).unwrap_err().contains("NO_SUCH"));
        assert!(Fence::from_blob(&[0; 10])
            .unwrap_err()
            .starts_with("blob: offset"));
        let e = Fence::from_source(b"{", "x.json", None, None, &FilterSpec::default(), false);
        assert!(e.unwrap_err().starts_with("x.json: "));
        let e = Fence::from_source(b"", "x", None, Some("Bad"), &FilterSpec::default(), false);
        assert!(e.unwrap_err().starts_with("unknown source name \"Bad\""));
        assert!(f.export("nope", &Options::default(), None).is_err());
    }

    #[test]
    fn filter_words_and_selection() {
        let spec = FilterSpec {
            providers: vec!["aws".into()],
            services: vec!["S3".into()],
            regions: vec!["us-east-1".into(), "eu-west-1".into()],
            family: Some(Family::V4),
            ..FilterSpec::default()
        };
        let all = aws(AWS, &FilterSpec::default());
        let info: Value = serde_json::from_str(&all.info_json()).unwrap();
        assert_eq!(info["filter"], "everything");
        let picked = all.select(&spec).unwrap();
        let direct = aws(AWS, &spec);
        assert_eq!(picked.to_blob(), direct.to_blob());
        let info: Value = serde_json::from_str(&picked.info_json()).unwrap();
        // The core's words for the filter, as the CLI and the C API write them.
        assert_eq!(info["filter"], spec.to_filter().to_string());
        assert_eq!(
            info["filter"],
            "provider=aws service=S3 region=us-east-1,eu-west-1 family=ipv4"
        );
        assert_eq!(info["sources"][0]["provider"], "aws");
        let names: Value = serde_json::from_str(&picked.names_json()).unwrap();
        assert_eq!(names["services"], serde_json::json!(["S3"]));
        assert_eq!(names["providers"], serde_json::json!(["aws"]));
        assert!(!picked.contains("2600:1f18::1").unwrap() || all.contains("2600:1f18::1").unwrap());
    }

    #[test]
    fn blob_round_trip_and_info() {
        let f = aws(AWS, &FilterSpec::default());
        let g = Fence::from_blob(&f.to_blob()).unwrap();
        assert_eq!(g.to_blob(), f.to_blob());
        let doc: Value = serde_json::from_slice(&std::fs::read(AWS).unwrap()).unwrap();
        let info: Value = serde_json::from_str(&g.info_json()).unwrap();
        assert_eq!(info["sources"][0]["createDate"], doc["createDate"]);
        assert_eq!(info["sources"][0]["syncToken"], doc["syncToken"]);
        assert_eq!(info["blobBytes"], f.to_blob().len());
    }

    #[test]
    fn diff_of_the_consecutive_pair() {
        let old = aws(AWS_OLDER, &FilterSpec::default());
        let new = aws(AWS, &FilterSpec::default());
        let d: Value = serde_json::from_str(&old.diff_json(&new)).unwrap();
        let added = d["added"].as_array().unwrap();
        assert!(
            added
                .iter()
                .all(|e| e["prefix"] == "1.178.86.0/24" && e["provider"] == "aws"),
            "{added:?}"
        );
        assert!(added.iter().all(|e| e["networkBorderGroup"].is_string()));
        assert_eq!(d["summary"][0]["provider"], "aws");
        assert!(!added.is_empty());
        assert_eq!(d["removed"], serde_json::json!([]));
        assert_eq!(d["addedAddresses"]["ipv4"], 256);
        assert_eq!(d["addedAddresses"]["ipv6"], "0");
        let back: Value = serde_json::from_str(&new.diff_json(&old)).unwrap();
        assert_eq!(back["removed"], d["added"]);
        let up = new
            .export("nftables", &Options::default(), Some(&old))
            .unwrap();
        assert!(up.text.contains("1.178.86.0/24"));
    }
}

#[cfg(test)]
mod provider_tests {
    use super::*;
    use serde_json::Value;

    fn data(path: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/../tests/data/{path}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn extra_keys_follow_the_core_names() {
        assert_eq!(extra_key("aws"), "networkBorderGroup");
        assert_eq!(extra_key("azure"), "systemService");
        assert_eq!(extra_key("atlassian"), "direction");
        assert_eq!(extra_key("google"), "extra");
        for p in ["aws", "azure", "atlassian", "zscaler", "google", "corp"] {
            let k = extra_key(p);
            assert!(!k.contains('_'), "{p}: {k} is not camelCase");
        }
    }

    #[test]
    fn a_labelled_crawler_list_answers_with_its_provider() {
        let bot = data("google/googlebot.json");
        let spec = FilterSpec::default();
        let e = Fence::from_source(&bot, "googlebot.json", None, None, &spec, false).unwrap_err();
        assert!(e.starts_with("googlebot.json: "), "{e}");
        let f = Fence::from_source(
            &bot,
            "googlebot.json",
            None,
            Some("googlebot"),
            &spec,
            false,
        )
        .unwrap();
        let mut out = String::new();
        f.lookup_json("192.178.4.1", &mut out).unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["prefix"], "192.178.4.0/27");
        assert_eq!(
            v["entries"][0],
            serde_json::json!({"provider": "google", "service": "googlebot", "region": "", "extra": ""})
        );
        let only = FilterSpec {
            providers: vec!["aws".into()],
            ..FilterSpec::default()
        };
        let e = f.select(&only).unwrap_err();
        assert!(e.starts_with("unknown provider \"aws\""), "{e}");
    }

    #[test]
    fn a_diff_across_providers_names_them() {
        let spec = FilterSpec::default();
        let text = |t: &str, label| {
            Fence::from_source(t.as_bytes(), "l", None, Some(label), &spec, false).unwrap()
        };
        // The same prefix moving from one provider to another is a removal and an
        // addition, not "no change".
        let old = text("10.0.0.0/8\n", "corp");
        let new = text("10.0.0.0/8\n", "lab");
        let d: Value = serde_json::from_str(&old.diff_json(&new)).unwrap();
        assert_eq!(d["added"][0]["provider"], "lab");
        assert_eq!(d["removed"][0]["provider"], "corp");
        assert_eq!(d["addedAddresses"]["ipv4"], 0);
    }
}
