//! The `ipfence` command-line tool.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

mod cli;

/// Turn published IP range lists (AWS, Google and its crawlers, Azure, GitHub, Oracle,
/// Fastly, Cloudflare, Atlassian, Zscaler, RFC 8805 geofeeds, CIDR lists) into firewall
/// rules and fast membership answers.
///
/// Every command reads the embedded data (every supported list; `ipfence sources`) unless
/// given --input (`-i -` for stdin, `-i NAME=FILE` to name a list), and selects with
/// --provider, --service, --region, --border-group, --exclude-service, --ipv4, --ipv6. Data published more than 30 days ago gets a
/// warning on stderr (IPFENCE_NOW=YYYY-MM-DD sets "today" for reproducible runs).
#[derive(Parser, Debug)]
#[command(name = "ipfence", version, propagate_version = true)]
#[command(after_help = "Examples:
  ipfence lookup 3.5.140.2 140.82.112.3
  ipfence services --provider github
  ipfence export --format nftables --provider cloudflare --ports 443
  ipfence aggregate --input ip-ranges.json --service S3 --ipv4 --max 100
  ipfence diff old/ip-ranges.json new/ip-ranges.json
  ipfence export --format nftables --service API_GATEWAY
  ipfence compile --output aws.ipfence
  ipfence sync --config /etc/ipfence/sync.toml --dry-run
  ipfence completions bash > /usr/share/bash-completion/completions/ipfence
  ipfence man --dir /usr/local/share/man/man1

Exit status: 0 yes / success, 1 no (an address not allowed, versions differ), 2 error.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Is an address listed, and by which provider, service and region?
    Lookup(cli::lookup::LookupArgs),
    /// Print the minimal exact CIDR cover, or the best fit into --max prefixes.
    Aggregate(cli::aggregate::AggregateArgs),
    /// Show what changed between two versions of a source.
    Diff(cli::diff::DiffArgs),
    /// List the services and regions in the data, with counts.
    Services(cli::services::ServicesArgs),
    /// List the published lists the data holds: provider, version, date, age.
    Sources(cli::sources::SourcesArgs),
    /// Write the compiled matcher blob for the wasm package and the C API.
    Compile(cli::compile::CompileArgs),
    /// Render firewall or AWS rules (nftables, ipset, iptables, pf, aws-waf, ...).
    Export(Box<cli::export::ExportArgs>),
    /// Keep firewalls and AWS objects in sync with the newest published ranges.
    Sync(cli::sync::SyncArgs),
    /// Is a request from a genuine Googlebot, Bingbot, GPTBot, ... or an impostor?
    VerifyBot(cli::verify_bot::VerifyBotArgs),
    /// Print the lines of logs whose address is in the selection (like grepcidr -f).
    Grep(cli::grep::GrepArgs),
    /// Print the shell completion script for bash, zsh or fish.
    Completions(CompletionsArgs),
    /// Print the man page ipfence(1), or write it and one page per subcommand to --dir.
    Man(ManArgs),
}

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  ipfence completions bash > /usr/share/bash-completion/completions/ipfence
  ipfence completions zsh > \"${fpath[1]}/_ipfence\"
  ipfence completions fish > ~/.config/fish/completions/ipfence.fish")]
struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: Shell,
}

/// The shells `completions` writes for.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  ipfence man | man -l -
  ipfence man --dir /usr/local/share/man/man1")]
struct ManArgs {
    /// Write ipfence.1 and ipfence-<command>.1 for every subcommand into this existing
    /// folder (each file atomically) instead of printing ipfence.1.
    #[arg(long, value_name = "DIR")]
    dir: Option<std::path::PathBuf>,
}

fn completions(a: &CompletionsArgs) -> anyhow::Result<u8> {
    let shell = match a.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "ipfence", &mut out);
    cli::write_output(None, &out)?;
    Ok(0)
}

fn man(a: &ManArgs) -> anyhow::Result<u8> {
    let mut cmd = Cli::command();
    cmd.build();
    let Some(dir) = &a.dir else {
        let mut out = Vec::new();
        clap_mangen::Man::new(cmd).render(&mut out)?;
        cli::write_output(None, &out)?;
        return Ok(0);
    };
    // A page per subcommand, named as git names its own (ipfence-lookup.1).
    let mut pages = vec![("ipfence".to_string(), cmd.clone())];
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("ipfence-{}", sub.get_name());
        pages.push((name.clone(), sub.clone().name(name)));
    }
    for (name, page) in pages {
        let path = dir.join(format!("{name}.1"));
        let mut text = Vec::new();
        clap_mangen::Man::new(page).render(&mut text)?;
        cli::write_output(Some(&path), &text)?;
    }
    Ok(0)
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Lookup(a) => cli::lookup::run(a),
        Command::Aggregate(a) => cli::aggregate::run(a),
        Command::Diff(a) => cli::diff::run(a),
        Command::Services(a) => cli::services::run(a),
        Command::Sources(a) => cli::sources::run(a),
        Command::Compile(a) => cli::compile::run(a),
        Command::Export(a) => cli::export::run(a),
        Command::Sync(a) => cli::sync::run(a),
        Command::VerifyBot(a) => cli::verify_bot::run(a),
        Command::Grep(a) => cli::grep::run(a),
        Command::Completions(a) => completions(a),
        Command::Man(a) => man(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ipfence: {e:#}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// clap wraps help text at 100 columns: a longer example line would be broken where a
    /// reader copies it from. (A Rust string's `\` at a line end joins the next line on:
    /// shell continuations are written `\\`.)
    #[test]
    fn help_examples_fit_in_100_columns() {
        let cmd = Cli::command();
        let texts = std::iter::once(&cmd)
            .chain(cmd.get_subcommands())
            .filter_map(|c| c.get_after_help().map(|h| (c.get_name(), h.to_string())));
        for (name, text) in texts {
            for line in text.lines() {
                assert!(line.len() <= 100, "{name}: {} columns: {line}", line.len());
            }
        }
    }
}
