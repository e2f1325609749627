//! The aws parser never panics, whatever the bytes; what it accepts is normalized.
#![no_main]

use ipfence_core::source::{aws, Options};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = aws::parse(data, "fuzz", Options::default()) {
        for e in &r.entries {
            assert_eq!(e.prefix, e.prefix.trunc(), "host bits survived parsing");
        }
    }
});
