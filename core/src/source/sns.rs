//! The `AmazonIpSpaceChanged` notification AWS sends on the SNS topic
//! `arn:aws:sns:us-east-1:806199016981:AmazonIpSpaceChanged` each time `ip-ranges.json`
//! changes: the SNS envelope (`Type`, `TopicArn`, `Message`, `Signature`, ...) whose
//! `Message` is JSON with `create-time`, `synctoken`, `md5` and `url`; or that message on
//! its own (SQS raw delivery, a function that forwards it).
//!
//! Parsing checks shapes only. The signature is not verified here: callers must say so,
//! and trust the file for its md5, its newer syncToken and a URL they expect.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde_json::{Map, Value};

use crate::error::quote;
use crate::Error;

/// The SNS topic name of ip-ranges.json changes.
pub const TOPIC: &str = "AmazonIpSpaceChanged";

/// A notification's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// `create-time`, as sent (`2026-08-22T15:17:05+00:00`).
    pub create_time: String,
    /// `synctoken`: seconds since 1970, digits only.
    pub sync_token: String,
    /// `md5` of the new file, lowercase hexadecimal (32 digits).
    pub md5: String,
    /// `url` of the new file.
    pub url: String,
    /// The envelope's signature fields; `None` for a bare message.
    pub signature: Option<Signature>,
}

/// The SNS signature fields, present but not verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// `SignatureVersion` (`1`: SHA1withRSA, `2`: SHA256withRSA).
    pub version: String,
    /// `SigningCertURL`.
    pub cert_url: String,
}

fn err(file: &str, at: &str, msg: String) -> Error {
    Error::Parse {
        file: file.to_string(),
        at: at.to_string(),
        msg,
    }
}

fn text<'a>(obj: &'a Map<String, Value>, key: &str) -> &'a str {
    obj.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Parses a notification (envelope or bare message).
///
/// # Errors
/// [`Error::Parse`] with the JSON path and the value: not JSON, not an object, an
/// envelope of another type or topic or without its signature fields, a message field
/// missing or malformed (md5 not 32 hex digits, synctoken not digits).
pub fn parse(bytes: &[u8], file: &str) -> Result<Notification, Error> {
    let top: Value = serde_json::from_slice(bytes).map_err(|e| {
        err(
            file,
            &format!("line {}, column {}", e.line(), e.column()),
            format!("not JSON: {e}"),
        )
    })?;
    let Value::Object(obj) = top else {
        return Err(err(
            file,
            "$",
            "expected a JSON object (the SNS notification or its Message)".into(),
        ));
    };
    let (message, signature, base) = if let Some(m) = obj.get("Message") {
        let Value::String(inner) = m else {
            return Err(err(
                file,
                "$.Message",
                "expected a string holding JSON".into(),
            ));
        };
        if text(&obj, "Type") != "Notification" {
            return Err(err(
                file,
                "$.Type",
                format!(
                    "{}: expected \"Notification\" (a SubscriptionConfirmation is confirmed once, by visiting its SubscribeURL)",
                    quote(text(&obj, "Type"))
                ),
            ));
        }
        let topic = text(&obj, "TopicArn");
        if topic.rsplit(':').next() != Some(TOPIC) || !topic.starts_with("arn:") {
            return Err(err(
                file,
                "$.TopicArn",
                format!("{}: not AWS's {TOPIC} topic", quote(topic)),
            ));
        }
        let missing: Vec<&str> = ["Signature", "SignatureVersion", "SigningCertURL"]
            .into_iter()
            .filter(|k| text(&obj, k).is_empty())
            .collect();
        if !missing.is_empty() {
            return Err(err(
                file,
                "$",
                format!(
                    "the SNS envelope lacks {}: not a notification as SNS sends it",
                    missing.join(", ")
                ),
            ));
        }
        let message: Value = serde_json::from_str(inner)
            .map_err(|e| err(file, "$.Message", format!("not JSON: {e}")))?;
        let sig = Signature {
            version: text(&obj, "SignatureVersion").to_string(),
            cert_url: text(&obj, "SigningCertURL").to_string(),
        };
        (message, Some(sig), "$.Message.")
    } else {
        (Value::Object(obj), None, "$.")
    };
    let Value::Object(msg) = message else {
        return Err(err(
            file,
            base.trim_end_matches('.'),
            "expected a JSON object".into(),
        ));
    };
    let field = |k: &str| -> Result<String, Error> {
        let at = format!("{base}{k}");
        match msg.get(k) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(v) => Err(err(
                file,
                &at,
                format!("{}: expected a non-empty string", quote(&v.to_string())),
            )),
            None => Err(err(
                file,
                &at,
                format!("missing (an {TOPIC} message has create-time, synctoken, md5, url)"),
            )),
        }
    };
    let md5 = field("md5")?.to_ascii_lowercase();
    if md5.len() != 32 || !md5.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(err(
            file,
            &format!("{base}md5"),
            format!("{}: expected 32 hexadecimal digits", quote(&md5)),
        ));
    }
    let sync_token = field("synctoken")?;
    if sync_token.len() > 19 || !sync_token.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err(
            file,
            &format!("{base}synctoken"),
            format!(
                "{}: expected digits (seconds since 1970)",
                quote(&sync_token)
            ),
        ));
    }
    Ok(Notification {
        create_time: field("create-time")?,
        sync_token,
        md5,
        url: field("url")?,
        signature,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGE: &str = r#"{"create-time":"2026-08-22T15:17:05+00:00","synctoken":"1787411825","md5":"6A45316E8BC9463C9E926D5D37836D33","url":"https://ip-ranges.amazonaws.com/ip-ranges.json"}"#;

    fn envelope(message: &str, topic: &str, with_sig: bool) -> String {
        let mut v = serde_json::json!({
            "Type": "Notification",
            "TopicArn": topic,
            "Message": message,
        });
        if with_sig {
            v["SignatureVersion"] = "1".into();
            v["Signature"] = "c2ln".into();
            v["SigningCertURL"] = "https://sns.us-east-1.amazonaws.com/cert.pem".into();
        }
        v.to_string()
    }

    #[test]
    fn envelope_and_bare_message() {
        let topic = "arn:aws:sns:us-east-1:806199016981:AmazonIpSpaceChanged";
        let n = parse(envelope(MESSAGE, topic, true).as_bytes(), "n.json").unwrap();
        assert_eq!(n.sync_token, "1787411825");
        assert_eq!(n.md5, "6a45316e8bc9463c9e926d5d37836d33");
        assert_eq!(n.url, "https://ip-ranges.amazonaws.com/ip-ranges.json");
        assert_eq!(n.create_time, "2026-08-22T15:17:05+00:00");
        assert_eq!(n.signature.unwrap().version, "1");
        let bare = parse(MESSAGE.as_bytes(), "m.json").unwrap();
        assert_eq!(bare.signature, None);
        assert_eq!(bare.md5, n.md5);
    }

    #[test]
    fn errors_say_where_and_what() {
        let topic = "arn:aws:sns:us-east-1:806199016981:AmazonIpSpaceChanged";
        let cases = [
            (
                envelope(MESSAGE, "arn:aws:sns:us-east-1:1:Other", true),
                "$.TopicArn",
                "not AWS's",
            ),
            (envelope(MESSAGE, topic, false), "$", "lacks Signature"),
            (envelope("{", topic, true), "$.Message", "not JSON"),
            (MESSAGE.replace("6A45", "XYZ"), "$.md5", "32 hexadecimal"),
            (
                MESSAGE.replace("1787411825", "17874x"),
                "$.synctoken",
                "digits",
            ),
            (MESSAGE.replace("\"url\"", "\"uri\""), "$.url", "missing"),
            (
                envelope(&MESSAGE.replace("\"md5\"", "\"md6\""), topic, true),
                "$.Message.md5",
                "missing",
            ),
            ("[1]".into(), "$", "JSON object"),
            ("{\"Message\": 3}".into(), "$.Message", "string"),
        ];
        for (input, at, what) in cases {
            match parse(input.as_bytes(), "n.json") {
                Err(Error::Parse { file, at: got, msg }) => {
                    assert_eq!(file, "n.json");
                    assert_eq!(got, at, "{input}: {msg}");
                    assert!(msg.contains(what), "{input}: {msg}");
                }
                other => panic!("{input}: {other:?}"),
            }
        }
    }
}
