//! Everything a run will need, checked before anything is changed: each name and option
//! under its tool's rules (the exporter's own validation), output folders that exist
//! and take files, the apply commands on PATH, AWS ids in the form AWS gives them, the
//! url, and the state's folder. Every problem is one line naming the target and field.

use std::path::{Path, PathBuf};

use ipfence::core::PrefixSet;
use ipfence_exporters::{export, Format, Header, Request};

use super::apply;
use super::config::{Config, Target};
use super::fetch;

/// Every problem found, one line each (empty: the run has what it needs).
pub fn check(config: &Config, urls: &[(String, String)], state: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for (field, url) in urls {
        if let Err(e) = fetch::check_url(url) {
            problems.push(format!("{field}: {e:#}"));
        }
    }
    if let Some(why) = folder_problem(state, true) {
        problems.push(format!("state = {:?}: {why}", state.display().to_string()));
    }
    for t in &config.targets {
        target(config, t, &mut problems);
    }
    problems
}

fn target(config: &Config, t: &Target, problems: &mut Vec<String>) {
    let head = format!("target {} ({})", t.name, t.format.name());
    // The exporter's own rules for names and options, on an empty set: the same checks
    // the run makes when it renders the file.
    let options = apply::options(t);
    let req = Request {
        set: &PrefixSet::new(),
        old: None,
        header: Header {
            sources: &[],
            filter: "",
        },
        options: &options,
    };
    if let Err(e) = export(t.format, &req) {
        problems.push(format!("{head}: {e}"));
    }
    if let Some(out) = &t.output {
        if let Some(why) = folder_problem(out, false) {
            problems.push(format!(
                "{head}: output = {:?}: {why}",
                out.display().to_string()
            ));
        }
    }
    if t.apply {
        let (field, program) = match (&t.command, t.is_aws()) {
            (Some(c), _) => ("command", c.first().cloned().unwrap_or_default()),
            (None, true) => ("[aws] command", config.aws.command[0].clone()),
            (None, false) => (
                "apply = true",
                match t.format {
                    Format::Ipset => "ipset",
                    Format::Pf => "pfctl",
                    _ => "nft",
                }
                .to_string(),
            ),
        };
        if find_program(&program).is_none() {
            problems.push(format!(
                "{head}: {field}: {program:?} is not an executable file{} (install it, or name it with its full path in {})",
                if program.contains('/') { "" } else { " on PATH" },
                if t.is_aws() { "[aws] command" } else { "command = [...]" }
            ));
        }
    }
    if let (true, Some(id)) = (t.is_aws(), &t.id) {
        if let Some(why) = id_problem(t.format, id) {
            problems.push(format!("{head}: id = {id:?}: {why}"));
        }
    }
}

/// Why a file cannot be written at `path` (atomically: a temporary file in the same
/// folder, then a rename), if it cannot. The state's folder may be created by the run.
fn folder_problem(path: &Path, may_create: bool) -> Option<String> {
    if path.is_dir() {
        return Some("is a folder; name a file in it".into());
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut probe = dir.as_path();
    if may_create {
        // The nearest folder that exists must take the new ones.
        while !probe.exists() {
            match probe.parent() {
                Some(p) if !p.as_os_str().is_empty() => probe = p,
                _ => return None,
            }
        }
    }
    if !probe.is_dir() {
        return Some(if probe.exists() {
            format!("{} is not a folder", probe.display())
        } else {
            format!(
                "the folder {} does not exist (create it first)",
                probe.display()
            )
        });
    }
    // An unnamed temporary file (O_TMPFILE where there is one): nothing is left behind.
    match tempfile::tempfile_in(probe) {
        Ok(_) => None,
        Err(e) => Some(format!(
            "cannot create files in the folder {} ({e})",
            probe.display()
        )),
    }
}

/// The executable `program` names: a path, or the first match on PATH.
pub fn find_program(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.is_empty() {
        return None;
    }
    if program.contains('/') {
        let p = PathBuf::from(program);
        return executable(&p).then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| executable(p))
}

/// Why `id` is not an id of this kind of AWS object, if it is not. WAF: botocore's
/// `EntityId` pattern; EC2 ids: the prefix, then 8 or 17 lowercase hex digits (AWS's
/// resource id formats; botocore gives EC2 ids no pattern).
pub fn id_problem(format: Format, id: &str) -> Option<String> {
    let hex = |s: &str, n: usize| {
        s.len() == n && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    match format {
        Format::AwsWaf => {
            let parts: Vec<&str> = id.split('-').collect();
            let lens = [8, 4, 4, 4, 12];
            let ok = parts.len() == 5 && parts.iter().zip(lens).all(|(p, n)| hex(p, n));
            (!ok).then(|| "not a WAF IP set id: 8-4-4-4-12 lowercase hex digits, as wafv2 create-ip-set and list-ip-sets give it".into())
        }
        Format::AwsPrefixList | Format::AwsSecurityGroup => {
            let prefix = if format == Format::AwsPrefixList {
                "pl-"
            } else {
                "sg-"
            };
            let ok = id
                .strip_prefix(prefix)
                .is_some_and(|rest| hex(rest, 8) || hex(rest, 17));
            (!ok).then(|| {
                format!(
                    "not a {} id: {prefix} then 8 or 17 lowercase hex digits",
                    if format == Format::AwsPrefixList {
                        "prefix list"
                    } else {
                        "security group"
                    }
                )
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_ids_in_the_form_aws_gives_them() {
        let waf = Format::AwsWaf;
        assert_eq!(
            id_problem(waf, "a1b2c3d4-5678-90ab-cdef-0123456789ab"),
            None
        );
        for bad in [
            "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
            "a1b2c3d4567890abcdef0123456789ab",
            "pl-0123456789abcdef0",
            "",
        ] {
            assert!(id_problem(waf, bad).is_some(), "{bad}");
        }
        let pl = Format::AwsPrefixList;
        assert_eq!(id_problem(pl, "pl-0123456789abcdef0"), None);
        assert_eq!(id_problem(pl, "pl-6da54006"), None);
        for bad in [
            "sg-0123456789abcdef0",
            "pl-0123",
            "pl-0123456789ABCDEF0",
            "pl-",
        ] {
            assert!(id_problem(pl, bad).is_some(), "{bad}");
        }
        let sg = Format::AwsSecurityGroup;
        assert_eq!(id_problem(sg, "sg-0123456789abcdef0"), None);
        assert!(id_problem(sg, "pl-0123456789abcdef0").is_some());
    }
}
