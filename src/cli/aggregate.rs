//! `ipfence aggregate`: the minimal exact CIDR cover, or the best fit into a budget.

use std::fmt::Write;

use anyhow::{bail, Result};
use ipfence::core::budget::{self, Bounds, Refusal};

use super::{FilterArgs, InputArgs};

/// Arguments of `ipfence aggregate`.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  printf '10.0.0.0/25\\n10.0.0.128/25\\n' | ipfence aggregate -i -   # -> 10.0.0.0/24
  ipfence aggregate --service S3 --ipv4                  # on the embedded lists
  ipfence aggregate --input ip-ranges.json --service S3 --ipv4 --max 60

The cover is exact: the same list netaddr.cidr_merge gives. With --max, each family is
fitted into at most N prefixes admitting the fewest extra addresses (an exact optimum,
never dropping a listed address); the extra addresses of each family go to stderr.
A fit is refused when it would allow more extra addresses than the family holds
(--max-extra-ratio) or need a prefix shorter than /8 (IPv4) or /16 (IPv6) that the input
does not hold (--min-prefix-len-v4, --min-prefix-len-v6): raise the bound only if that
widening is really intended.")]
pub struct AggregateArgs {
    /// Fit each family into at most this many prefixes, admitting the fewest extra
    /// addresses.
    #[arg(long, value_name = "N")]
    pub max: Option<usize>,

    /// With --max: refuse a fit whose extra addresses in a family exceed R times the
    /// addresses the family holds.
    #[arg(long, value_name = "R", default_value_t = Bounds::DEFAULT.max_extra_ratio, requires = "max", value_parser = ratio)]
    pub max_extra_ratio: f64,

    /// With --max: the shortest IPv4 prefix a fit may add (0 allows 0.0.0.0/0).
    #[arg(long, value_name = "LEN", default_value_t = Bounds::DEFAULT.min_prefix_len_v4, requires = "max", value_parser = clap::value_parser!(u8).range(0..=32))]
    pub min_prefix_len_v4: u8,

    /// With --max: the shortest IPv6 prefix a fit may add (0 allows ::/0).
    #[arg(long, value_name = "LEN", default_value_t = Bounds::DEFAULT.min_prefix_len_v6, requires = "max", value_parser = clap::value_parser!(u8).range(0..=128))]
    pub min_prefix_len_v6: u8,

    /// Write here (atomically) instead of stdout.
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<std::path::PathBuf>,

    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub filter: FilterArgs,
}

fn ratio(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if r >= 0.0 && !r.is_nan() => Ok(r),
        _ => Err(format!(
            "{s:?} is not a ratio: give a number of at least 0 (e.g. 1, 2.5, inf)"
        )),
    }
}

/// The refusal in the command's words: which flag raises the bound that was hit.
fn refusal(r: &Refusal) -> String {
    let hint = match r {
        Refusal::NoRoom { .. } => "give --max at least 1".to_string(),
        Refusal::TooShort {
            family, min_len, ..
        } => {
            let flag = if *family == "IPv4" { "v4" } else { "v6" };
            format!(
                "raise --max, or pass --min-prefix-len-{flag} {} or less if a prefix that short is really intended",
                min_len.saturating_sub(1)
            )
        }
        Refusal::TooWide { extra, held, .. } => {
            #[allow(clippy::cast_precision_loss)]
            let need = (*extra as f64 / (*held).max(1) as f64 * 100.0).ceil() / 100.0;
            format!(
                "raise --max, or pass --max-extra-ratio {need} or more if that widening is really intended"
            )
        }
    };
    format!("{r}; {hint}")
}

/// One family's line for stderr.
fn report(family: &str, before: usize, after: usize, extra: u128, held: u128) -> String {
    if extra == 0 && before == after {
        return format!("{family}: {before} prefixes, exact");
    }
    #[allow(clippy::cast_precision_loss)]
    let pct = extra as f64 / held.max(1) as f64 * 100.0;
    format!(
        "{family}: {before} prefixes fitted into {after}, allowing {extra} extra addresses ({pct:.2}% of the {held} it holds)"
    )
}

/// Runs the command.
pub fn run(args: &AggregateArgs) -> Result<u8> {
    super::check_output(args.output.as_deref())?;
    let (selected, set, _) = super::load_selected(&args.input, &args.filter)?;
    super::note_sources(&args.input, &selected);
    let set = match args.max {
        None => set,
        Some(max) => {
            let bounds = Bounds {
                max_extra_ratio: args.max_extra_ratio,
                min_prefix_len_v4: args.min_prefix_len_v4,
                min_prefix_len_v6: args.min_prefix_len_v6,
            };
            let fit = match budget::fit_within(&set, max, &bounds) {
                Ok(fit) => fit,
                Err(r) => bail!("{}", refusal(&r)),
            };
            let (v4, v6) = (set.ipv4(), set.ipv6());
            let lines = [
                (
                    "IPv4",
                    &v4,
                    fit.set.ipv4(),
                    u128::from(fit.extra_v4),
                    u128::from(set.count_v4()),
                ),
                (
                    "IPv6",
                    &v6,
                    fit.set.ipv6(),
                    fit.extra_v6,
                    set.count_v6().unwrap_or(u128::MAX),
                ),
            ];
            let parts: Vec<String> = lines
                .iter()
                .filter(|(_, before, ..)| !before.is_empty())
                .map(|(fam, before, after, extra, held)| {
                    report(fam, before.cidr_count(), after.cidr_count(), *extra, *held)
                })
                .collect();
            eprintln!("ipfence: --max {max} per family: {}", parts.join("; "));
            fit.set
        }
    };
    let mut text = String::with_capacity(set.cidr_count() * 20);
    for net in set.cidrs() {
        let _ = writeln!(text, "{net}");
    }
    super::write_output(args.output.as_deref(), text.as_bytes())?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cmd {
        #[command(flatten)]
        args: AggregateArgs,
    }

    fn parse(args: &[&str]) -> Result<AggregateArgs, clap::Error> {
        Cmd::try_parse_from(std::iter::once("aggregate").chain(args.iter().copied()))
            .map(|c| c.args)
    }

    #[test]
    fn bounds_default_to_the_core_and_need_max() {
        let a = parse(&["--max", "60"]).unwrap();
        assert_eq!(a.max, Some(60));
        assert_eq!(a.max_extra_ratio, Bounds::DEFAULT.max_extra_ratio);
        assert_eq!(a.min_prefix_len_v4, 8);
        assert_eq!(a.min_prefix_len_v6, 16);
        let a = parse(&[
            "--max",
            "1",
            "--max-extra-ratio",
            "2.5",
            "--min-prefix-len-v4",
            "0",
            "--min-prefix-len-v6",
            "12",
        ])
        .unwrap();
        assert_eq!(
            (a.max_extra_ratio, a.min_prefix_len_v4, a.min_prefix_len_v6),
            (2.5, 0, 12)
        );
        assert!(parse(&["--max-extra-ratio", "2"]).is_err(), "needs --max");
        assert!(parse(&["--max", "1", "--min-prefix-len-v4", "33"]).is_err());
        assert!(parse(&["--max", "1", "--min-prefix-len-v6", "129"]).is_err());
        assert!(parse(&[]).unwrap().input.inputs.is_empty());
    }

    #[test]
    fn ratio_must_be_a_non_negative_number() {
        assert_eq!(ratio("1.5"), Ok(1.5));
        assert_eq!(ratio("inf"), Ok(f64::INFINITY));
        assert!(ratio("-1").unwrap_err().contains("at least 0"));
        assert!(ratio("NaN").is_err());
        assert!(ratio("x").is_err());
    }

    #[test]
    fn refusals_name_the_flag_that_raises_the_bound() {
        let r = Refusal::TooWide {
            family: "IPv6",
            prefixes: 451,
            max: 60,
            extra: 30,
            held: 10,
            ratio: 1.0,
        };
        assert!(
            refusal(&r)
                .ends_with("pass --max-extra-ratio 3 or more if that widening is really intended"),
            "{}",
            refusal(&r)
        );
        let r = Refusal::TooShort {
            family: "IPv4",
            prefixes: 3,
            max: 1,
            min_len: 8,
        };
        assert!(refusal(&r).contains("--min-prefix-len-v4 7 or less"));
    }

    #[test]
    fn per_family_report() {
        assert_eq!(report("IPv4", 3, 3, 0, 10), "IPv4: 3 prefixes, exact");
        assert_eq!(
            report("IPv4", 3, 1, 5, 10),
            "IPv4: 3 prefixes fitted into 1, allowing 5 extra addresses (50.00% of the 10 it holds)"
        );
    }
}
