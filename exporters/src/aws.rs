//! AWS outputs: WAFv2 IP sets, VPC prefix lists, security-group rules. (Not built yet.)

use crate::{Error, Output, Request};

fn not_yet(what: &str) -> Error {
    Error::Option {
        format: "aws",
        msg: alloc::format!("{what} output is not built yet"),
    }
}

/// WAFv2 IP set payloads (not built yet).
///
/// # Errors
/// Always, for now.
pub fn render_waf(_req: &Request<'_>) -> Result<Output, Error> {
    Err(not_yet("aws-waf"))
}

/// VPC prefix list payloads (not built yet).
///
/// # Errors
/// Always, for now.
pub fn render_prefix_list(_req: &Request<'_>) -> Result<Output, Error> {
    Err(not_yet("aws-prefix-list"))
}

/// Security-group rule payloads (not built yet).
///
/// # Errors
/// Always, for now.
pub fn render_security_group(_req: &Request<'_>) -> Result<Output, Error> {
    Err(not_yet("aws-security-group"))
}
