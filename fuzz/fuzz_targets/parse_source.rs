//! Every layout of the format registry never panics, whatever the bytes, named or not;
//! what it accepts is normalized. The first byte picks the format (0 and 1: detection) and
//! whether the input is named, so one target covers every parser the registry lists.
#![no_main]

use ipfence_core::source::{parse_labeled, Format, Label, Options};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    // 0 (and 1, named) detect; then each format of the registry in turn.
    let formats = Format::ALL;
    let format = match usize::from(pick >> 1) % (formats.len() + 1) {
        0 => None,
        i => formats.get(i - 1).copied(),
    };
    let label = Label::new("googlebot").ok();
    let label = if pick & 1 == 1 { label.as_ref() } else { None };
    if let Ok(r) = parse_labeled(bytes, "fuzz", format, label, Options::default()) {
        for e in &r.entries {
            assert_eq!(e.prefix, e.prefix.trunc(), "host bits survived parsing");
        }
    }
});
