//! Getting the new version: the SNS notification AWS sends on each change, and the
//! download itself (conditional, bounded, retried).

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Result};
use ipfence::core::source::sns;

use super::config::Config;

/// An `AmazonIpSpaceChanged` notification, with its signature status in words.
#[derive(Debug, Clone)]
pub struct Notification {
    pub create_time: String,
    pub sync_token: String,
    /// MD5 of the new file, lowercase hex.
    pub md5: String,
    pub url: String,
    /// What is known of its signature, in words, for the log.
    pub signature: String,
}

/// Reads a notification (the SNS envelope or its bare `Message`; the core parses it).
pub fn read_notification(path: &Path) -> Result<Notification> {
    let (bytes, name) = crate::cli::read_input(path, 1 << 20)?;
    let n = sns::parse(&bytes, &name)?;
    let trust = "the file is trusted for its md5, a newer syncToken and the configured URL";
    let signature = match &n.signature {
        Some(s) => format!(
            "SNS signature (version {}, certificate {}) present but NOT verified: {trust}",
            s.version, s.cert_url
        ),
        None => format!("a bare message without SNS signature: {trust}"),
    };
    Ok(Notification {
        create_time: n.create_time,
        sync_token: n.sync_token,
        md5: n.md5,
        url: n.url,
        signature,
    })
}

/// A completed download.
#[derive(Debug)]
pub struct Download {
    pub bytes: Vec<u8>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// What a conditional GET gave.
#[derive(Debug)]
pub enum Fetched {
    /// 304: the file is the one already applied.
    NotModified,
    New(Download),
}

/// Why one attempt failed, and whether another may succeed.
struct Failure {
    msg: String,
    retry: bool,
}

/// Refuses what is not an `https://`, `http://` or `file:///absolute/path` address, or
/// not a well-formed one, before any attempt: such an error cannot heal by retrying.
pub fn check_url(url: &str) -> Result<()> {
    if let Some(path) = url.strip_prefix("file://") {
        let path = path.strip_prefix("localhost").unwrap_or(path);
        if !path.starts_with('/') {
            bail!("{url:?}: a file URL names an absolute path on this machine: file:///path/ip-ranges.json");
        }
        if path.contains('%') || path.contains('?') || path.contains('#') {
            bail!("{url:?}: percent-escapes, queries and fragments are not read in file URLs; write the path as it is");
        }
        return Ok(());
    }
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        bail!("{url:?}: not an https://, http:// or file:/// address");
    }
    match url.parse::<ureq::http::Uri>() {
        Ok(u) if u.host().is_some_and(|h| !h.is_empty()) => {
            // The parser takes any text after the host's ':'; a port must be a number.
            let authority = u.authority().map_or("", |a| a.as_str());
            let host_port = authority.rsplit('@').next().unwrap_or("");
            if !host_port.ends_with(']') && host_port.contains(':') && u.port_u16().is_none() {
                bail!("{url:?}: the port is not a number from 0 to 65535");
            }
            Ok(())
        }
        Ok(_) => bail!("{url:?}: the address has no host"),
        Err(e) => bail!("{url:?}: not a well-formed address ({e})"),
    }
}

/// Whether a transport error may heal on its own: connection failures, timeouts, a
/// body cut short. A bad address, a TLS or certificate error, too many redirects do
/// not, and are not retried.
fn transient(e: &ureq::Error) -> bool {
    matches!(
        e,
        ureq::Error::Io(_)
            | ureq::Error::Timeout(_)
            | ureq::Error::HostNotFound
            | ureq::Error::ConnectionFailed
            | ureq::Error::Protocol(_)
            | ureq::Error::BodyStalled
    )
}

/// GETs `url`, conditional on the validators of the last applied download, retrying
/// transient failures with exponential backoff.
pub fn download(
    url: &str,
    config: &Config,
    etag: Option<&str>,
    last_modified: Option<&str>,
) -> Result<Fetched> {
    check_url(url)?;
    if let Some(path) = url.strip_prefix("file://") {
        // A local mirror: read like --input, never retried (a missing file stays missing).
        let path = path.strip_prefix("localhost").unwrap_or(path);
        let (bytes, _) = crate::cli::read_input(Path::new(path), config.max_bytes)?;
        return Ok(Fetched::New(Download {
            bytes,
            etag: None,
            last_modified: None,
        }));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(config.timeout_seconds)))
        .http_status_as_error(false)
        .user_agent(concat!("ipfence/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    let attempts = config.retries.saturating_add(1);
    let mut delay = Duration::from_millis(config.retry_delay_ms);
    let mut last = String::new();
    for attempt in 1..=attempts {
        match attempt_once(&agent, url, config.max_bytes, etag, last_modified) {
            Ok(f) => return Ok(f),
            Err(Failure { msg, retry }) => {
                if !retry {
                    bail!("{url}: {msg}");
                }
                last = msg;
                if attempt < attempts {
                    eprintln!(
                        "ipfence: {url}: {last}; retrying in {} ms ({attempt} of {} retries)",
                        delay.as_millis(),
                        config.retries
                    );
                    std::thread::sleep(delay);
                    delay = delay.saturating_mul(2);
                }
            }
        }
    }
    bail!(
        "{url}: {last} (gave up after {attempts} attempts; the last applied state is unchanged, the next run tries again)"
    )
}

fn attempt_once(
    agent: &ureq::Agent,
    url: &str,
    max: u64,
    etag: Option<&str>,
    last_modified: Option<&str>,
) -> Result<Fetched, Failure> {
    let mut req = agent.get(url);
    if let Some(e) = etag {
        req = req.header("If-None-Match", e);
    }
    if let Some(m) = last_modified {
        req = req.header("If-Modified-Since", m);
    }
    let mut resp = req.call().map_err(|e| Failure {
        retry: transient(&e),
        msg: e.to_string(),
    })?;
    let status = resp.status().as_u16();
    if status == 304 {
        return Ok(Fetched::NotModified);
    }
    if status != 200 {
        return Err(Failure {
            msg: format!("HTTP status {status}"),
            retry: status >= 500 || status == 429 || status == 408,
        });
    }
    let header = |k: &str| {
        resp.headers()
            .get(k)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (etag, last_modified) = (header("etag"), header("last-modified"));
    let bytes = resp
        .body_mut()
        .with_config()
        .limit(max)
        .read_to_vec()
        .map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => Failure {
                msg: format!("the body is larger than the limit of {max} bytes (max_bytes in the configuration)"),
                retry: false,
            },
            e => Failure {
                msg: format!("the body was cut short or unreadable: {e}"),
                retry: transient(&e),
            },
        })?;
    Ok(Fetched::New(Download {
        bytes,
        etag,
        last_modified,
    }))
}

/// MD5 of `bytes`, lowercase hex.
pub fn md5(bytes: &[u8]) -> String {
    use md5::{Digest, Md5};
    super::state::hex(&Md5::digest(bytes))
}
