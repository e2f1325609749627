//! Getting the new version: the SNS notification AWS sends on each change, and the
//! download itself (conditional, bounded, retried).

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use super::config::Config;

/// The SNS topic AWS publishes ip-ranges.json changes on.
pub const TOPIC: &str = "AmazonIpSpaceChanged";

/// An `AmazonIpSpaceChanged` message.
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

/// Reads a notification: the SNS envelope (`Type`, `Message`, `Signature`, ...) or the
/// bare `Message` (SQS raw delivery, a Lambda that forwards it).
pub fn read_notification(path: &Path) -> Result<Notification> {
    let (bytes, name) = crate::cli::read_input(path, 1 << 20)?;
    let top: Value = serde_json::from_slice(&bytes)
        .map_err(|e| anyhow::anyhow!("{name}: not a JSON notification: {e}"))?;
    let Some(obj) = top.as_object() else {
        bail!("{name}: expected a JSON object (the SNS notification or its Message)");
    };
    let (message, signature) = if let Some(m) = obj.get("Message") {
        let text = m
            .as_str()
            .with_context(|| format!("{name}: $.Message: expected a string holding JSON"))?;
        let field = |k: &str| obj.get(k).and_then(Value::as_str).unwrap_or("");
        if field("Type") != "Notification" {
            bail!(
                "{name}: $.Type is {:?}: expected \"Notification\" (a SubscriptionConfirmation is confirmed once, by visiting its SubscribeURL)",
                field("Type")
            );
        }
        let topic = field("TopicArn");
        if !topic.ends_with(&format!(":{TOPIC}")) {
            bail!("{name}: $.TopicArn is {topic:?}: not AWS's {TOPIC} topic");
        }
        let missing: Vec<&str> = ["Signature", "SignatureVersion", "SigningCertURL"]
            .into_iter()
            .filter(|k| field(k).is_empty())
            .collect();
        if !missing.is_empty() {
            bail!(
                "{name}: the SNS envelope lacks {}: not a notification as SNS sends it",
                missing.join(", ")
            );
        }
        let message: Value = serde_json::from_str(text)
            .map_err(|e| anyhow::anyhow!("{name}: $.Message: not JSON: {e}"))?;
        let signature = format!(
            "SNS signature (version {}, certificate {}) present but NOT verified: the file is trusted for its md5, a newer syncToken and the configured URL",
            field("SignatureVersion"),
            field("SigningCertURL")
        );
        (message, signature)
    } else {
        (
            top.clone(),
            "a bare message without SNS signature: the file is trusted for its md5, a newer syncToken and the configured URL".to_string(),
        )
    };
    let field = |k: &str| -> Result<String> {
        match message.get(k) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(v) => bail!("{name}: message field {k:?} is {v}: expected a non-empty string"),
            None => bail!(
                "{name}: message field {k:?} is missing (an {TOPIC} message has create-time, synctoken, md5, url)"
            ),
        }
    };
    let md5 = field("md5")?.to_ascii_lowercase();
    if md5.len() != 32 || !md5.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!("{name}: md5 {md5:?}: expected 32 hexadecimal digits");
    }
    let sync_token = field("synctoken")?;
    if !sync_token.bytes().all(|b| b.is_ascii_digit()) {
        bail!("{name}: synctoken {sync_token:?}: expected digits (seconds since 1970)");
    }
    Ok(Notification {
        create_time: field("create-time")?,
        sync_token,
        md5,
        url: field("url")?,
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

/// GETs `url`, conditional on the validators of the last applied download, retrying
/// transient failures with exponential backoff.
pub fn download(
    url: &str,
    config: &Config,
    etag: Option<&str>,
    last_modified: Option<&str>,
) -> Result<Fetched> {
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
        retry: !matches!(e, ureq::Error::BadUri(_) | ureq::Error::RequireHttpsOnly(_)),
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
                retry: true,
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
