//! Rendering cost is bounded by counted limits (bytes, nesting, template calls, evaluation steps, distinct
//! lookups): hostile or runaway templates end with the named limit, and no input panics or overflows the stack.
//! Nothing here is timed (a loaded machine would fail at random); how fast a render is belongs to `make bench`.

use std::cell::Cell;
use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use gotemplate::{render, TemplateEnv, TemplateError, TemplateErrorKind};

/// Every environment variable is set (to its own name) and every file exists (holding its own path).
struct Everything;

impl TemplateEnv for Everything {
    fn now(&self) -> DateTime<FixedOffset> {
        Utc.timestamp_opt(1_495_622_024, 0).unwrap().fixed_offset()
    }

    fn env_var(&self, name: &str) -> Option<String> {
        Some(name.to_string())
    }

    fn read_file(&self, path: &str) -> std::io::Result<Vec<u8>> {
        Ok(path.as_bytes().to_vec())
    }
}

fn ten_vars() -> BTreeMap<String, String> {
    (0..10)
        .map(|i| (format!("k{i}"), format!("v{i}")))
        .collect()
}

fn rendered(text: &str, vars: &BTreeMap<String, String>) -> Result<String, TemplateError> {
    render("t.json", text, vars, &Everything)
}

fn too_expensive(result: Result<String, TemplateError>, what: &str, limit: &str) -> TemplateError {
    let e = match result {
        Ok(out) => panic!("rendered {} bytes instead of failing", out.len()),
        Err(e) => e,
    };
    assert_eq!(
        *e.kind(),
        TemplateErrorKind::TooExpensive {
            what: what.into(),
            limit: limit.into()
        },
        "{e}"
    );
    let message = e.to_string();
    assert!(
        message.contains(&format!("{what} exceeds the limit of {limit}")),
        "{message}"
    );
    assert!(e.fix().is_some(), "a fix is named: {message}");
    e
}

#[test]
fn ten_thousand_nested_ifs_are_refused_by_depth() {
    let text = format!(
        "{}x{}",
        "{{if true}}".repeat(10_000),
        "{{end}}".repeat(10_000)
    );
    let e = too_expensive(
        rendered(&text, &BTreeMap::new()),
        "nesting depth",
        "100 levels",
    );
    assert_eq!(e.line(), Some(1));
    // The same with ranges, withs, parentheses and an unclosed tail.
    for text in [
        "{{range .}}".repeat(5_000),
        "{{with 1}}".repeat(5_000),
        format!("{{{{{}1{}}}}}", "(".repeat(10_000), ")".repeat(10_000)),
        format!("{{{{{}", "(".repeat(10_000)),
        format!("{}{{{{end}}}}", "{{block \"b\" .}}".repeat(5_000)),
    ] {
        too_expensive(
            rendered(&text, &BTreeMap::new()),
            "nesting depth",
            "100 levels",
        );
    }
    // A hundred levels are fine.
    let text = format!("{}x{}", "{{if true}}".repeat(99), "{{end}}".repeat(99));
    assert_eq!(rendered(&text, &BTreeMap::new()).unwrap(), "x");
}

#[test]
fn a_five_megabyte_template_is_refused_by_size() {
    let text = format!("{{{{\"x\"}}}}{}", " ".repeat(5 << 20));
    too_expensive(rendered(&text, &BTreeMap::new()), "template size", "1 MiB");
    let plain = "x".repeat(5 << 20);
    too_expensive(rendered(&plain, &BTreeMap::new()), "template size", "1 MiB");
}

/// [`Everything`], counting the questions asked of it.
#[derive(Default)]
struct Counting {
    env_vars: Cell<usize>,
    files: Cell<usize>,
}

impl TemplateEnv for Counting {
    fn now(&self) -> DateTime<FixedOffset> {
        Everything.now()
    }

    fn env_var(&self, name: &str) -> Option<String> {
        self.env_vars.set(self.env_vars.get() + 1);
        Everything.env_var(name)
    }

    fn read_file(&self, path: &str) -> std::io::Result<Vec<u8>> {
        self.files.set(self.files.get() + 1);
        Everything.read_file(path)
    }
}

#[test]
fn each_distinct_lookup_is_asked_once_and_more_than_ten_thousand_are_refused() {
    let text: String = (0..5_000)
        .map(|i| format!("{{{{systemEnv \"V{i}\"}}}}{{{{base64File \"f{i}\"}}}}\n"))
        .collect();
    let counting = Counting::default();
    let out = render("t.json", &text, &BTreeMap::new(), &counting).unwrap();
    assert!(out.starts_with("V0ZjA=\nV1ZjE=\n"), "{}", &out[..20]);
    assert_eq!(
        (counting.env_vars.get(), counting.files.get()),
        (5_000, 5_000)
    );
    // The same name read again and again is one lookup.
    let text = "{{systemEnv \"SAME\"}}".repeat(40_000);
    let counting = Counting::default();
    let out = render("t.json", &text, &BTreeMap::new(), &counting).unwrap();
    assert_eq!(out.len(), 4 * 40_000);
    assert_eq!(counting.env_vars.get(), 1);
    // Over ten thousand distinct names is refused.
    let text: String = (0..10_001)
        .map(|i| format!("{{{{systemEnv \"V{i}\"}}}}"))
        .collect();
    let counting = Counting::default();
    too_expensive(
        render("t.json", &text, &BTreeMap::new(), &counting),
        "distinct systemEnv and base64File lookups",
        "10000",
    );
    assert!(
        counting.env_vars.get() <= 10_000,
        "{}",
        counting.env_vars.get()
    );
}

#[test]
fn a_range_that_would_run_for_minutes_is_refused_by_steps() {
    // 10^8 iterations.
    let text = format!("{}x{}", "{{range $}}".repeat(8), "{{end}}".repeat(8));
    too_expensive(rendered(&text, &ten_vars()), "evaluation", "1000000 steps");
    // Template calls that double at each level: 2^40 calls.
    let mut text: String = (0..40)
        .map(|i| format!("{{{{define \"t{i}\"}}}}{{{{template \"t{}\"}}}}{{{{template \"t{}\"}}}}{{{{end}}}}", i + 1, i + 1))
        .collect();
    text.push_str("{{define \"t40\"}}{{end}}{{template \"t0\"}}");
    too_expensive(
        rendered(&text, &BTreeMap::new()),
        "evaluation",
        "1000000 steps",
    );
}

#[test]
fn runaway_output_and_values_are_refused_by_size() {
    // 100 × 1 MB of output.
    let text = "{{range $}}{{range $}}{{printf \"%1000000s\" \"\"}}{{end}}{{end}}";
    too_expensive(rendered(text, &ten_vars()), "rendered output", "5 MiB");
    // A string that doubles at every iteration, never printed.
    let text = "{{$x := \"ab\"}}{{range $}}{{range $}}{{$x = printf \"%s%s\" $x $x}}{{end}}{{end}}";
    too_expensive(rendered(text, &ten_vars()), "a string value", "5 MiB");
    // One printf asking for 80,000 million-wide fields stops at the limit (Go would build 80 GB).
    let text = format!("{{{{printf \"{}\" 1}}}}", "%1000000[1]d".repeat(80_000));
    too_expensive(rendered(&text, &BTreeMap::new()), "a string value", "5 MiB");
    let text = format!(
        "{{{{$x := printf \"%1000000d\" 1}}}}{{{{print{}}}}}",
        " $x".repeat(100_000)
    );
    too_expensive(rendered(&text, &BTreeMap::new()), "a string value", "5 MiB");
    // A loop with an empty body still counts its iterations.
    let text = format!("{}{}", "{{range $}}".repeat(9), "{{end}}".repeat(9));
    too_expensive(rendered(&text, &ten_vars()), "evaluation", "1000000 steps");
    // A large file: its base64 is a large value.
    struct BigFile;
    impl TemplateEnv for BigFile {
        fn now(&self) -> DateTime<FixedOffset> {
            Everything.now()
        }
        fn env_var(&self, _: &str) -> Option<String> {
            None
        }
        fn read_file(&self, _: &str) -> std::io::Result<Vec<u8>> {
            Ok(vec![b'x'; 4 << 20])
        }
    }
    let e = render(
        "t.json",
        "{{base64File \"big\"}}",
        &BTreeMap::new(),
        &BigFile,
    )
    .unwrap_err();
    assert!(
        matches!(e.kind(), TemplateErrorKind::TooExpensive { what, .. } if what == "a string value"),
        "{e}"
    );
}

#[test]
fn unbounded_template_recursion_is_refused_by_depth() {
    let text = "{{define \"r\"}}{{template \"r\" .}}{{end}}{{template \"r\" .}}";
    let e = too_expensive(
        rendered(text, &BTreeMap::new()),
        "template call nesting",
        "100 levels",
    );
    assert!(
        e.go_message().starts_with("template: t.json:1:"),
        "{}",
        e.go_message()
    );
}

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_input_never_panics() {
    const TOKENS: &[&str] = &[
        "{{",
        "}}",
        "{{- ",
        " -}}",
        "if ",
        "else ",
        "end",
        "range ",
        "with ",
        "define ",
        "template ",
        "block ",
        "break",
        "continue",
        ".",
        ".k1",
        ".nope",
        "$",
        "$x",
        "$y",
        " := ",
        " = ",
        " | ",
        "(",
        ")",
        "\"s\"",
        "\"%d\"",
        "\"%*.*s\"",
        "\"%[2]v\"",
        "`r`",
        "'c'",
        "'\\x41'",
        "1",
        "-1",
        "1.5",
        "0x1p3",
        "1i",
        "1e400",
        "08",
        "nil",
        "true",
        "printf ",
        "index ",
        "slice ",
        "len ",
        "and ",
        "or ",
        "not ",
        "eq ",
        "ne ",
        "lt ",
        "ge ",
        "html ",
        "js ",
        "urlquery ",
        "print ",
        "println ",
        "call ",
        "systemEnv ",
        "base64File ",
        "nowWithFormat ",
        "timeWithFormat ",
        "base64 ",
        " ",
        "\n",
        "/*",
        "*/",
        ",",
        "x",
        "é",
        "\"",
        "'",
        "`",
        "\\",
        "@",
        "\u{0}",
    ];
    let vars = ten_vars();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut ok, mut err) = (0, 0);
    for _ in 0..4_000 {
        let n = 1 + rng.below(40);
        let text: String = (0..n).map(|_| TOKENS[rng.below(TOKENS.len())]).collect();
        match render("t.json", &text, &vars, &Everything) {
            Ok(_) => ok += 1,
            Err(e) => {
                // Every error has a message and a Go-style form.
                assert!(!e.to_string().is_empty());
                assert!(
                    e.go_message().starts_with("template: t.json:"),
                    "{text:?}: {}",
                    e.go_message()
                );
                err += 1;
            }
        }
    }
    for _ in 0..1_000 {
        let n = rng.below(200);
        let bytes: Vec<u8> = (0..n)
            .map(|_| match rng.below(4) {
                0 => b'{',
                1 => b'}',
                _ => rng.next() as u8,
            })
            .collect();
        let text = String::from_utf8_lossy(&bytes);
        let _ = render("t.json", &text, &vars, &Everything);
    }
    assert!(
        ok > 50 && err > 50,
        "a useful mix: {ok} rendered, {err} failed"
    );
}

#[test]
fn nesting_across_template_calls_is_bounded() {
    // Each of up to 100 nested calls nests 50 blocks and 45 parentheses: without a bound across calls, 5,000
    // nested blocks would overflow the stack.
    let expr = format!("{}1{}", "(".repeat(45), ")".repeat(45));
    let text = format!(
        "{{{{define \"r\"}}}}{}{{{{{expr}}}}}{{{{template \"r\"}}}}{}{{{{end}}}}{{{{template \"r\"}}}}",
        "{{if true}}".repeat(50),
        "{{end}}".repeat(50)
    );
    too_expensive(
        rendered(&text, &BTreeMap::new()),
        "nesting depth across {{template}} calls",
        "300 levels",
    );
    // The bounds hold on a small stack (the Lambda runtime's worker threads have 2 MiB), also with the deepest
    // expressions at the deepest level.
    let deepest = |ifs: usize, parens: usize| {
        format!(
            "{{{{define \"r\"}}}}{}{{{{{}1{}}}}}{{{{template \"r\"}}}}{}{{{{end}}}}{{{{template \"r\"}}}}",
            "{{if true}}".repeat(ifs),
            "(".repeat(parens),
            ")".repeat(parens),
            "{{end}}".repeat(ifs)
        )
    };
    let cases = [
        text,
        deepest(2, 96),
        deepest(1, 97),
        format!("{{{{{}1{}}}}}", "(".repeat(99), ")".repeat(99)),
    ];
    std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(move || {
            for text in cases {
                let _ = render("t.json", &text, &BTreeMap::new(), &Everything);
            }
        })
        .unwrap()
        .join()
        .unwrap();
}
