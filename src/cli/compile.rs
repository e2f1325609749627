//! `ipfence compile`: write the compiled matcher blob.

use std::path::Path;

use anyhow::{bail, Result};
use ipfence::core::matcher::Matcher;

use super::sync::sources::{Manifest, ManifestSource, MANIFEST_FORMAT};

use super::{FilterArgs, InputArgs};

/// Arguments of `ipfence compile`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  ipfence compile --output aws.ipfence
  ipfence compile --input ip-ranges.json --service CLOUDFRONT --output cf.ipfence
  ipfence compile --input ip-ranges.json --input github=meta.json \\
      --output /srv/fleet/allow.ipfence --manifest /srv/fleet/allow.manifest.json

The blob is versioned, checksummed and little-endian; the wasm package
(IpFence.fromBlob) and the C API (ipfence_matcher_from_bytes) load it without parsing
JSON, validating it fully first.

--manifest writes, next to the blob, what appliances check before they trust it: its
size and SHA-256, when it was compiled and each list's version. `ipfence sync` follows
it with a [[source]] of format = \"ipfence-blob\" whose url is the manifest
(docs/sync.md, Fleets). Publish the blob first, then the manifest.")]
pub struct CompileArgs {
    /// Where to write the blob (atomically).
    #[arg(short, long, value_name = "PATH")]
    pub output: std::path::PathBuf,

    /// Also write a manifest for `ipfence sync` (a source of format = "ipfence-blob"):
    /// the blob's SHA-256 and each list's version. It must sit in the blob's folder.
    #[arg(long, value_name = "PATH")]
    pub manifest: Option<std::path::PathBuf>,

    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub filter: FilterArgs,
}

/// Runs the command.
pub fn run(args: &CompileArgs) -> Result<u8> {
    super::check_output(Some(&args.output))?;
    let blob_name = match &args.manifest {
        Some(path) => Some(manifest_blob_name(&args.output, path)?),
        None => None,
    };
    let loaded = super::load_sources(&args.input)?;
    let listed = loaded.ranges.sources.clone();
    let (selected, _, words) = super::select(loaded.ranges, &args.filter)?;
    let m = Matcher::build(&selected)?;
    super::write_output(Some(&args.output), m.as_bytes())?;
    if let (Some(path), Some(blob)) = (&args.manifest, blob_name) {
        let manifest = Manifest {
            format: MANIFEST_FORMAT.into(),
            blob,
            bytes: m.as_bytes().len() as u64,
            sha256: sha256_hex(m.as_bytes()),
            compiled_at_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            sources: listed
                .iter()
                .zip(&loaded.digests)
                .map(|(s, digest)| ManifestSource {
                    name: s.name.clone(),
                    provider: s.provider.clone(),
                    format: s.format.clone(),
                    sync_token: s.sync_token.clone(),
                    create_date: s.create_date.clone(),
                    sha256: digest.clone(),
                })
                .collect(),
        };
        let mut text = serde_json::to_string_pretty(&manifest)?;
        text.push('\n');
        super::write_output(Some(path), text.as_bytes())?;
        eprintln!(
            "ipfence: wrote {} (SHA-256 {})",
            path.display(),
            manifest.sha256
        );
    }
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

/// The blob's file name as the manifest names it: both in one folder, so that a
/// publisher serving the folder serves both.
fn manifest_blob_name(blob: &Path, manifest: &Path) -> Result<String> {
    let folder = |p: &Path| {
        p.parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map_or_else(|| Path::new(".").to_path_buf(), Path::to_path_buf)
    };
    if folder(blob) != folder(manifest) {
        bail!(
            "--manifest {}: put it in the blob's folder ({}): it names the blob by its file name",
            manifest.display(),
            folder(blob).display()
        );
    }
    if blob.file_name() == manifest.file_name() {
        bail!(
            "--manifest {}: the same file as --output",
            manifest.display()
        );
    }
    match blob.file_name().and_then(|n| n.to_str()) {
        Some(n) => Ok(n.to_string()),
        None => bail!(
            "--output {}: the blob needs a UTF-8 file name",
            blob.display()
        ),
    }
}

/// SHA-256 of `bytes` in hex, as a manifest holds it.
fn sha256_hex(bytes: &[u8]) -> String {
    super::sync::state::sha256(bytes)
}
