//! The lists a run draws from: the top-level `url` (AWS, with its SNS notification) and
//! each named `[[source]]` of any provider, or a blob another ipfence compiled with its
//! manifest. Each is got (conditional on its last applied download), verified and parsed
//! on its own, and its version must never go back.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use ipfence::core::matcher::Matcher;
use ipfence::core::prefix::HostBits;
use ipfence::core::source::{self, azure, Format as SourceFormat, Label, Options};
use ipfence::core::{Ranges, SourceInfo};
use serde::{Deserialize, Serialize};

use super::config::{self, Config, Target};
use super::fetch::{self, Fetched};
use super::state::{self, Applied, State};

/// One list as the run sees it.
pub struct Src<'a> {
    /// `None`: the top-level `url`.
    pub name: Option<&'a str>,
    pub url: String,
    /// The named source's configuration.
    pub conf: Option<&'a config::Source>,
}

/// A new version, verified and parsed.
pub struct Version {
    pub ranges: Ranges,
    /// What the state records once it is applied.
    pub applied: Applied,
}

/// What getting a list gave.
pub enum Got {
    /// The applied version is still the published one; the line says why.
    Unchanged(String),
    New(Box<Version>),
}

/// The lists the targets draw from: the top-level `url` first when a target uses it,
/// then each named source.
pub fn list<'a>(config: &'a Config, url: &str) -> Vec<Src<'a>> {
    let mut out = Vec::new();
    if config.targets.iter().any(Target::uses_top_level) {
        out.push(Src {
            name: None,
            url: url.to_string(),
            conf: None,
        });
    }
    for s in &config.sources {
        out.push(Src {
            name: Some(&s.name),
            url: s.url().unwrap_or_default(),
            conf: Some(s),
        });
    }
    out
}

impl Src<'_> {
    /// `url` or `source NAME`, for messages.
    pub fn shown(&self) -> String {
        match self.name {
            None => "url".into(),
            Some(n) => format!("source {n}"),
        }
    }

    /// Its last applied version.
    pub fn applied<'s>(&self, state: &'s State) -> Option<&'s Applied> {
        match self.name {
            None => state.source.as_ref(),
            Some(n) => state.sources.get(n),
        }
    }

    /// Whether `t` draws from it.
    pub fn feeds(&self, t: &Target) -> bool {
        match self.name {
            None => t.uses_top_level(),
            Some(n) => t.sources.iter().any(|s| s == n),
        }
    }
}

/// Downloads `src` (conditional on the validators of its applied version when
/// `conditional`), verifies and parses it.
pub fn obtain(
    src: &Src<'_>,
    config: &Config,
    state: &State,
    conditional: bool,
    force: bool,
) -> Result<Got> {
    let applied = src.applied(state);
    let (etag, lm) = match applied {
        Some(a) if conditional && a.origin == src.url => {
            (a.etag.as_deref(), a.last_modified.as_deref())
        }
        _ => (None, None),
    };
    if src.conf.is_some_and(config::Source::is_blob) {
        return blob(src, config, applied, etag, lm, force);
    }
    match fetch::download(&src.url, config, etag, lm)? {
        Fetched::NotModified => Ok(Got::Unchanged(format!(
            "ipfence sync: {}: {} is unchanged (HTTP 304)",
            src.shown(),
            src.url
        ))),
        Fetched::New(d) => verify(
            src,
            d.bytes,
            src.url.clone(),
            d.etag,
            d.last_modified,
            applied,
            force,
        )
        .map(|v| Got::New(Box::new(v))),
    }
}

fn options() -> Options {
    Options {
        host_bits: HostBits::Reject,
        max_entries: 1_000_000,
        join: Some(crate::cli::JOIN),
    }
}

/// Parses the bytes of `src` (strictly, as the provider configured) and checks that its
/// version does not go back from the applied one.
pub fn verify(
    src: &Src<'_>,
    bytes: Vec<u8>,
    origin: String,
    etag: Option<String>,
    last_modified: Option<String>,
    applied: Option<&Applied>,
    force: bool,
) -> Result<Version> {
    let ranges = match src.conf {
        None => source::parse(&bytes, &origin, None, options())
            .context("the new version is not usable; nothing was changed")?,
        Some(c) => parse_named(c, &bytes, &origin)?,
    };
    finish(ranges, &bytes, origin, etag, last_modified, applied, force)
}

fn finish(
    ranges: Ranges,
    bytes: &[u8],
    origin: String,
    etag: Option<String>,
    last_modified: Option<String>,
    applied: Option<&Applied>,
    force: bool,
) -> Result<Version> {
    let sha = state::sha256(bytes);
    let info = ranges.sources.first().cloned().unwrap_or_default();
    fresh(&origin, &info, applied, &sha, force)?;
    Ok(Version {
        applied: Applied {
            origin,
            etag,
            last_modified,
            sync_token: info.sync_token,
            create_date: info.create_date,
            sha256: sha,
            applied_at: super::now(),
            versions: BTreeMap::new(),
        },
        ranges,
    })
}

/// A named provider's file: read as its provider (and label), which the file must not
/// contradict; an Azure file must describe the configured cloud.
fn parse_named(c: &config::Source, bytes: &[u8], origin: &str) -> Result<Ranges> {
    let unusable = "the new version is not usable; nothing was changed";
    let label = Label::new(c.label_name())?;
    let format = match c.source_format() {
        Some(f) => f,
        None => source::detect(bytes, origin).context(unusable)?,
    };
    let ranges = if format == SourceFormat::Azure {
        let (r, cloud) = azure::parse_with_cloud(bytes, origin, options()).context(unusable)?;
        let want = c.cloud.as_deref().unwrap_or("Public");
        let got = cloud.as_deref().unwrap_or("(not said)");
        if got != want {
            bail!("{origin}: the file describes Azure cloud {got:?}, but the source is set up for {want:?}: refused; its targets were not changed (set cloud = {got:?} if this is the file you want)");
        }
        r
    } else {
        source::parse_labeled(bytes, origin, Some(format), Some(&label), options())
            .context(unusable)?
    };
    if let Some(s) = ranges.sources.iter().find(|s| s.provider != label.provider) {
        bail!(
            "{origin}: the file is {} ({}'s), but the source is set up for {}'s list: refused; its targets were not changed",
            format.what(),
            s.provider,
            label.provider
        );
    }
    Ok(ranges)
}

/// The word for a list's version stamp.
fn token_word(provider: &str) -> &'static str {
    if provider == "azure" {
        "changeNumber"
    } else {
        "syncToken"
    }
}

/// Orders two version stamps of one kind: numbers as numbers, timestamps of one shape
/// (digits in the same places: `2025-07-31T18:18:01.103975`) as text. Anything else
/// has no order.
fn compare(new: &str, old: &str) -> Option<Ordering> {
    if let (Ok(n), Ok(o)) = (new.parse::<u128>(), old.parse::<u128>()) {
        return Some(n.cmp(&o));
    }
    let shape = |s: &str| -> Vec<bool> { s.bytes().map(|b| b.is_ascii_digit()).collect() };
    (shape(new) == shape(old)).then(|| new.cmp(old))
}

/// Refuses a version older than the applied one, and the applied version with other
/// content: the stamp is the file's syncToken (Azure changeNumber), else its publication
/// time (Oracle `last_updated_timestamp`). A list with neither (GitHub, Fastly,
/// Cloudflare) is told apart by the HTTP validators and its SHA-256 only.
fn fresh(
    origin: &str,
    info: &SourceInfo,
    applied: Option<&Applied>,
    sha: &str,
    force: bool,
) -> Result<()> {
    let Some(a) = applied else { return Ok(()) };
    let (kind, new, old) = match (
        &info.sync_token,
        &a.sync_token,
        &info.create_date,
        &a.create_date,
    ) {
        (Some(n), Some(o), _, _) => (token_word(&info.provider), n, o),
        (None, None, Some(n), Some(o)) => ("publication time", n, o),
        _ => return Ok(()),
    };
    match compare(new, old) {
        Some(Ordering::Less) if !force => bail!("{origin}: {kind} {new} is older than the applied {old}: a replayed or stale file, refused; nothing was changed (--force applies it anyway)"),
        Some(Ordering::Equal) if a.sha256 != sha && !force => bail!("{origin}: {kind} {new} is the applied one, but the content differs from what was applied: refused; nothing was changed (--force applies it anyway)"),
        _ => Ok(()),
    }
}

/// What `ipfence compile --manifest` writes next to the blob: what an appliance checks
/// before it trusts a downloaded blob.
#[derive(Serialize, Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`MANIFEST_FORMAT`].
    pub format: String,
    /// The blob: a file name next to the manifest, or an absolute address.
    pub blob: String,
    /// Its size and SHA-256.
    pub bytes: u64,
    pub sha256: String,
    /// When it was compiled, milliseconds since 1970: never goes back.
    pub compiled_at_ms: u64,
    /// Each list compiled in, with its version.
    pub sources: Vec<ManifestSource>,
}

/// `format` of a manifest.
pub const MANIFEST_FORMAT: &str = "ipfence-manifest-1";

/// One list compiled into a blob.
#[derive(Serialize, Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct ManifestSource {
    pub name: String,
    pub provider: String,
    pub format: String,
    pub sync_token: Option<String>,
    pub create_date: Option<String>,
    /// `sha256:<hex>` of the list's bytes.
    pub sha256: Option<String>,
}

impl ManifestSource {
    /// Its version: `syncToken N`, `created T` or the digest of its bytes.
    pub fn version(&self) -> String {
        match (&self.sync_token, &self.create_date, &self.sha256) {
            (Some(t), _, _) => format!("syncToken {t}"),
            (None, Some(d), _) => format!("created {d}"),
            (None, None, Some(h)) => h.clone(),
            (None, None, None) => "unknown".into(),
        }
    }
}

/// What names a compiled list from one manifest to the next: its provider and layout
/// (`aws aws`, `github github`), which stay when the publisher's file names carry the
/// date; with the file name too when a manifest has two such lists (goog.json and
/// cloud.json).
fn list_key(s: &ManifestSource, all: &[ManifestSource]) -> String {
    let kind = format!("{} {}", s.provider, s.format);
    let same = all
        .iter()
        .filter(|o| o.provider == s.provider && o.format == s.format)
        .count();
    if same > 1 {
        format!("{kind} {}", s.name)
    } else {
        kind
    }
}

/// Orders two manifest versions of one kind (`syncToken N`, `created T`); digests have
/// no order.
fn compare_versions(new: &str, old: &str) -> Option<Ordering> {
    let (kn, vn) = new.split_once(' ')?;
    let (ko, vo) = old.split_once(' ')?;
    (kn == ko).then(|| compare(vn, vo)).flatten()
}

/// The blob's address: absolute, or next to the manifest.
fn blob_url(manifest_url: &str, blob: &str) -> String {
    if blob.contains("://") {
        return blob.to_string();
    }
    match manifest_url.rfind('/') {
        Some(i) => format!("{}/{blob}", &manifest_url[..i]),
        None => blob.to_string(),
    }
}

/// A blob compiled by another ipfence: the manifest (conditional), then the blob it
/// names, which must have the manifest's SHA-256; neither the manifest's compile time
/// nor any list's version may go back.
fn blob(
    src: &Src<'_>,
    config: &Config,
    applied: Option<&Applied>,
    etag: Option<&str>,
    lm: Option<&str>,
    force: bool,
) -> Result<Got> {
    let murl = &src.url;
    let d = match fetch::download(murl, config, etag, lm)? {
        Fetched::NotModified => {
            return Ok(Got::Unchanged(format!(
                "ipfence sync: {}: the manifest {murl} is unchanged (HTTP 304)",
                src.shown()
            )))
        }
        Fetched::New(d) => d,
    };
    let m: Manifest = serde_json::from_slice(&d.bytes).map_err(|e| {
        anyhow::anyhow!("{murl}: not a manifest written by `ipfence compile --manifest` ({e}); nothing was changed")
    })?;
    if m.format != MANIFEST_FORMAT {
        bail!(
            "{murl}: manifest format {:?}, this ipfence reads {MANIFEST_FORMAT:?}: upgrade it, or the publisher's; nothing was changed",
            m.format
        );
    }
    let burl = blob_url(murl, &m.blob);
    let bytes = match fetch::download(&burl, config, None, None)? {
        Fetched::New(b) => b.bytes,
        Fetched::NotModified => bail!("{burl}: HTTP 304 to an unconditional request"),
    };
    let sha = state::sha256(&bytes);
    if sha != m.sha256 || bytes.len() as u64 != m.bytes {
        bail!(
            "{burl}: {} bytes with SHA-256 {sha}, but the manifest {murl} says {} bytes with {}: not the blob it describes (damaged, or published halfway), refused; nothing was changed",
            bytes.len(),
            m.bytes,
            m.sha256
        );
    }
    let ranges = Matcher::from_vec(bytes)
        .with_context(|| format!("{burl}: the blob is not usable; nothing was changed"))?
        .to_ranges();
    let versions: BTreeMap<String, String> = m
        .sources
        .iter()
        .map(|s| (list_key(s, &m.sources), s.version()))
        .collect();
    if let (Some(a), false) = (applied, force) {
        for (name, new) in &versions {
            let Some(old) = a.versions.get(name) else {
                continue;
            };
            if compare_versions(new, old) == Some(Ordering::Less) {
                bail!("{murl}: list {name}: {new} is older than the applied {old}: a replayed or stale manifest, refused; nothing was changed (--force applies it anyway)");
            }
        }
    }
    let info = SourceInfo {
        sync_token: Some(m.compiled_at_ms.to_string()),
        provider: "ipfence".into(),
        ..SourceInfo::default()
    };
    let stamp = "compiled_at_ms";
    if let Some(a) = applied {
        let (new, old) = (
            m.compiled_at_ms.to_string(),
            a.sync_token.clone().unwrap_or_default(),
        );
        match compare(&new, &old) {
            Some(Ordering::Less) if !force => bail!("{murl}: {stamp} {new} is older than the applied {old}: a replayed or stale manifest, refused; nothing was changed (--force applies it anyway)"),
            Some(Ordering::Equal) if a.sha256 != sha && !force => bail!("{murl}: {stamp} {new} is the applied one, but the blob differs from what was applied: refused; nothing was changed"),
            _ => {}
        }
    }
    Ok(Got::New(Box::new(Version {
        ranges,
        applied: Applied {
            origin: murl.clone(),
            etag: d.etag,
            last_modified: d.last_modified,
            sync_token: info.sync_token,
            create_date: None,
            sha256: sha,
            applied_at: super::now(),
            versions,
        },
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_compare_as_numbers_or_same_shaped_times_only() {
        assert_eq!(compare("1787411825", "999"), Some(Ordering::Greater));
        assert_eq!(compare("398", "399"), Some(Ordering::Less));
        assert_eq!(
            compare("2025-07-31T18:18:01.103975", "2025-08-01T00:00:00.000000"),
            Some(Ordering::Less)
        );
        assert_eq!(
            compare("2025-07-31T18:18:01", "2025-07-31T18:18:01.5"),
            None
        );
        assert_eq!(
            compare_versions("syncToken 10", "syncToken 9"),
            Some(Ordering::Greater)
        );
        assert_eq!(compare_versions("syncToken 10", "created 9"), None);
        assert_eq!(compare_versions("sha256:ab", "sha256:cd"), None);
    }

    #[test]
    fn blobs_are_found_next_to_their_manifest() {
        assert_eq!(
            blob_url("http://h:1/fleet/m.json", "aws.ipfence"),
            "http://h:1/fleet/aws.ipfence"
        );
        assert_eq!(
            blob_url("http://h/m.json", "https://cdn/x.ipfence"),
            "https://cdn/x.ipfence"
        );
    }
}
