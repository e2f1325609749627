//! What the last successful sync applied: the source version, and each target's exact
//! CIDR set with its digest. Written atomically, and only after every target succeeded.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use ipfence::core::{IpNet, PrefixSet};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The state file's layout version.
pub const VERSION: u32 = 1;

/// The whole state file.
#[derive(Serialize, Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub version: u32,
    /// The applied version of the top-level `url`; `None` before the first sync, and for
    /// a configuration whose targets all name their sources.
    pub source: Option<Applied>,
    /// The applied version of each named source (absent when there is none, so that a
    /// configuration without named sources writes the state it always wrote).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sources: BTreeMap<String, Applied>,
    /// Per target name.
    pub targets: BTreeMap<String, TargetState>,
}

/// The source version every target was brought to.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct Applied {
    /// Where it came from: a URL or a file.
    pub origin: String,
    /// The HTTP validators of that download, for a conditional request next time.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub sync_token: Option<String>,
    pub create_date: Option<String>,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
    /// Unix time of the sync that applied it.
    pub applied_at: u64,
    /// A compiled blob: the version of each list it was compiled from, by name (its
    /// syncToken, else its publication time, else the SHA-256 of its bytes).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub versions: BTreeMap<String, String>,
}

/// One target's applied set.
#[derive(Serialize, Deserialize, Debug, Clone)]
#[serde(deny_unknown_fields)]
pub struct TargetState {
    pub format: String,
    /// Digest of the target's configuration when it was applied.
    pub config: String,
    /// SHA-256 of the CIDRs, one per line: catches a damaged or hand-edited state.
    pub sha256: String,
    /// The minimal cover, in order.
    pub cidrs: Vec<String>,
    /// SHA-256 of the output file last written, to notice it deleted or edited (absent
    /// in states written before it was kept, and for targets without output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_sha256: Option<String>,
    /// `cidrs` as a set, read once when the state is loaded.
    #[serde(skip)]
    pub set: PrefixSet,
}

impl TargetState {
    /// The state of `set` applied by a target of `format`.
    pub fn new(
        format: &str,
        set: &PrefixSet,
        config: String,
        output_sha256: Option<String>,
    ) -> TargetState {
        let cidrs: Vec<String> = set.cidrs().map(|n| n.to_string()).collect();
        TargetState {
            format: format.into(),
            config,
            sha256: digest_lines(&cidrs),
            cidrs,
            output_sha256,
            set: set.clone(),
        }
    }

    /// Reads `cidrs`.
    fn parse_cidrs(&self) -> Result<PrefixSet> {
        let mut nets = Vec::with_capacity(self.cidrs.len());
        for c in &self.cidrs {
            let n: IpNet = c
                .parse()
                .map_err(|_| anyhow::anyhow!("CIDR {c:?} is not a prefix"))?;
            nets.push(n);
        }
        Ok(nets.into_iter().collect())
    }
}

/// SHA-256 of the lines, each ended by `\n`, in hex.
pub fn digest_lines(lines: &[String]) -> String {
    let mut h = Sha256::new();
    for l in lines {
        h.update(l.as_bytes());
        h.update(b"\n");
    }
    hex(&h.finalize())
}

/// SHA-256 of `bytes` in hex.
pub fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl State {
    /// Reads the state; a missing file is the empty state of a first run.
    pub fn load(path: &Path) -> Result<State> {
        let shown = path.display();
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::default()),
            Err(e) => return Err(e).with_context(|| format!("{shown}: cannot read the state")),
        };
        let fix = "move it aside to start over: the next sync then applies every target in full";
        let mut state: State = serde_json::from_slice(&bytes)
            .map_err(|e| anyhow::anyhow!("{shown}: not an ipfence state file ({e}); {fix}"))?;
        if state.version != VERSION {
            bail!(
                "{shown}: state version {} (this ipfence writes {VERSION}); {fix}",
                state.version
            );
        }
        for (name, t) in &mut state.targets {
            if digest_lines(&t.cidrs) != t.sha256 {
                bail!("{shown}: target {name:?}: its CIDRs do not match their sha256 (damaged or edited); {fix}");
            }
            t.set = t
                .parse_cidrs()
                .with_context(|| format!("{shown}: target {name:?}; {fix}"))?;
        }
        Ok(state)
    }

    /// Writes the state atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut text = serde_json::to_string_pretty(self).context("cannot encode the state")?;
        text.push('\n');
        crate::cli::write_output(Some(path), text.as_bytes())
    }
}

/// Holds `<state>.lock` so two syncs (a timer and a notification) never interleave.
pub struct Lock {
    _file: File,
}

impl Lock {
    /// Takes the lock or says who holds it.
    pub fn take(state: &Path) -> Result<Lock> {
        let mut name = state.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("{}: cannot create the state folder", dir.display()))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("{}: cannot open the lock file", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(Lock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => bail!(
                "{}: another ipfence sync is running; try again when it has finished",
                path.display()
            ),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("{}: cannot lock", path.display()))
            }
        }
    }
}
