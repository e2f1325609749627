//! Hostile and broken input through the CLI: every case exits 2 with a message that
//! says what and where, never panics, and leaves no partial output file.

use crate::util::{data, ipfence, tempdir, Run, AWS_NEW};

/// Runs `ipfence compile` on `input` into a fresh folder; checks the failure is clean.
fn compile_fails(input: &[u8], extra: &[&str]) -> Run {
    let dir = tempdir();
    let src = dir.path().join("input.json");
    std::fs::write(&src, input).unwrap();
    let out = dir.path().join("out.ipfence");
    let mut args = vec![
        "compile",
        "--input",
        src.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let r = ipfence(&args, "");
    assert_eq!(r.code, 2, "stdout {} stderr {}", r.stdout, r.stderr);
    assert!(r.stderr.starts_with("ipfence: "), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    assert!(!out.exists(), "no output file on failure");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary file left behind"
    );
    r
}

#[test]
fn truncated_json_at_many_cut_points() {
    let full = std::fs::read(data(AWS_NEW)).unwrap();
    for cut in [
        1,
        2,
        17,
        100,
        1000,
        65_536,
        full.len() / 3,
        full.len() / 2,
        full.len() - 3,
        full.len() - 1,
    ] {
        let r = compile_fails(&full[..cut], &[]);
        assert!(
            r.stderr.contains("input.json: line "),
            "cut {cut}: {}",
            r.stderr
        );
    }
}

#[test]
fn wrong_types_say_where() {
    let r = compile_fails(
        br#"{"syncToken": "1", "prefixes": {}}"#,
        &["--source-format", "aws"],
    );
    assert!(
        r.stderr.contains("line 1, column 31") && r.stderr.contains("expected a sequence"),
        "{}",
        r.stderr
    );
    let r = compile_fails(
        br#"{"prefixes": [{"ip_prefix": 167772160, "service": "X"}]}"#,
        &["--source-format", "aws"],
    );
    assert!(r.stderr.contains("invalid type: integer"), "{}", r.stderr);
    let r = compile_fails(b"", &["--source-format", "aws"]);
    assert!(r.stderr.contains("file is empty"), "{}", r.stderr);
}

#[test]
fn deeply_nested_json_is_refused_not_overflowed() {
    let mut deep = b"{\"prefixes\": ".to_vec();
    deep.extend(std::iter::repeat_n(b'[', 100_000));
    let r = compile_fails(&deep, &["--source-format", "aws"]);
    assert!(
        r.stderr.contains("recursion limit") || r.stderr.contains("not the shape"),
        "{}",
        r.stderr
    );
}

#[test]
fn invalid_cidrs_name_the_value_and_line() {
    for (bad, why) in [
        ("1.2.3.4/33", "length \"33\""),
        ("::/129", "length \"129\""),
        ("1.2.3", "\"1.2.3\" is not an IPv4"),
        ("01.2.3.4", "is not an IPv4"),
        ("1.2.3.4/08", "length \"08\""),
        ("10.0.0.1/8", "has host bits set (did you mean 10.0.0.0/8?"),
    ] {
        let r = compile_fails(format!("192.0.2.0/24\n{bad}\n").as_bytes(), &[]);
        assert!(
            r.stderr.contains("input.json: line 2, column 1: "),
            "{bad}: {}",
            r.stderr
        );
        assert!(r.stderr.contains(why), "{bad}: {}", r.stderr);
    }
}

#[test]
fn oversized_input_is_refused_before_reading() {
    let dir = tempdir();
    let big = dir.path().join("big.json");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(200 << 20).unwrap(); // sparse: 200 MB without writing them
    let r = ipfence(&["lookup", "--input", big.to_str().unwrap(), "1.2.3.4"], "");
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("209715200 bytes is larger than the limit of 67108864 bytes"),
        "{}",
        r.stderr
    );
}

#[test]
fn entry_count_is_capped() {
    let file = data(AWS_NEW);
    let r = ipfence(
        &[
            "lookup",
            "--input",
            file.to_str().unwrap(),
            "--max-input-entries",
            "1000",
            "1.2.3.4",
        ],
        "",
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("more than 1000 entries"), "{}", r.stderr);
}

#[test]
fn an_empty_selection_never_makes_an_empty_file() {
    // A text list has no services: selecting one is a typo caught by name.
    let r = compile_fails(b"192.0.2.0/24\n", &["--service", "S3"]);
    assert!(r.stderr.contains("unknown service \"S3\""), "{}", r.stderr);
    // A list with only IPv4, asked for IPv6: nothing selected, refused.
    let r = compile_fails(b"192.0.2.0/24\n", &["--ipv6"]);
    assert!(
        r.stderr.contains("holds no address") && r.stderr.contains("--allow-empty"),
        "{}",
        r.stderr
    );
    // Empty file, too.
    let r = compile_fails(b"# nothing here\n", &[]);
    assert!(r.stderr.contains("holds no address"), "{}", r.stderr);
}

#[test]
fn ipv4_mapped_addresses_and_duplicates() {
    // In a list, ::ffff:a.b.c.d/n stays IPv6 as written; in lookups an IPv4-mapped
    // address is looked up as the IPv4 address it carries.
    let list = "192.0.2.0/24\n192.0.2.0/24\n::ffff:198.51.100.0/120\n";
    let r = ipfence(
        &[
            "lookup",
            "--json",
            "--input",
            "-",
            "::ffff:192.0.2.7",
            "198.51.100.1",
            "::ffff:198.51.100.1",
        ],
        list,
    );
    let lines: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["match"]["prefix"], "192.0.2.0/24");
    assert_eq!(
        lines[0]["match"]["entries"].as_array().unwrap().len(),
        1,
        "a duplicated entry is listed once"
    );
    assert_eq!(
        lines[1]["allowed"], false,
        "198.51.100.1 is not in the IPv6 prefix ::ffff:198.51.100.0/120"
    );
    assert_eq!(
        lines[2]["allowed"], false,
        "::ffff:198.51.100.1 is looked up as IPv4 198.51.100.1"
    );
    assert_eq!(r.code, 1);
}
