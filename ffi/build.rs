//! Gives libipfence.so an ABI soname on Linux, so programs linked against it load only
//! an ABI-compatible library (`libipfence.so.<IPFENCE_ABI_VERSION>`).
fn main() {
    // Keep in step with `IPFENCE_ABI_VERSION` in src/lib.rs (a unit test checks it).
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libipfence.so.1");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
