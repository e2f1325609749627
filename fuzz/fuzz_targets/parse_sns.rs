//! The SNS notification parser never panics, whatever the bytes; what it accepts is
//! well formed (32 hex digits of md5, a digits-only syncToken).
#![no_main]

use ipfence_core::source::sns;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(n) = sns::parse(data, "fuzz") {
        assert_eq!(n.md5.len(), 32);
        assert!(n.md5.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert!(!n.sync_token.is_empty() && n.sync_token.bytes().all(|b| b.is_ascii_digit()));
        assert!(!n.url.is_empty() && !n.create_time.is_empty());
    }
});
