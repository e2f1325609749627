//! Fails when the committed `include/ipfence.h` differs from what cbindgen 0.29.4 (the
//! pinned dev-dependency, the same as `cargo install cbindgen --version 0.29.4`)
//! generates from the sources and `cbindgen.toml`.
//!
//! Regenerate: `IPFENCE_UPDATE_HEADER=1 cargo test -p ipfence-ffi --test header`.

use std::path::Path;

#[test]
fn committed_header_is_up_to_date() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("ffi/cbindgen.toml");
    let mut fresh = Vec::new();
    cbindgen::Builder::new()
        .with_config(config)
        .with_crate(dir)
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut fresh);
    let path = dir.join("include/ipfence.h");
    if std::env::var_os("IPFENCE_UPDATE_HEADER").is_some() {
        std::fs::write(&path, &fresh).expect("write include/ipfence.h");
        return;
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    if committed != fresh {
        let c = String::from_utf8_lossy(&committed);
        let f = String::from_utf8_lossy(&fresh);
        let first = c
            .lines()
            .zip(f.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| c.lines().count().min(f.lines().count()));
        panic!(
            "ffi/include/ipfence.h is out of date (first difference at line {}: committed {:?}, \
             generated {:?}); regenerate with IPFENCE_UPDATE_HEADER=1 cargo test -p ipfence-ffi --test header",
            first + 1,
            c.lines().nth(first).unwrap_or("<end of file>"),
            f.lines().nth(first).unwrap_or("<end of file>"),
        );
    }
}
