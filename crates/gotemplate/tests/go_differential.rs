//! Differential test of the template engine against Go itself: `tests/gotemplate/main.go` renders every case
//! of `tests/gotemplate/corpus.json` with Go's `text/template` exactly as Dataflow Runner's Go CLI did (same
//! options, same five functions, a fixed clock, zone, environment and files), and each case must render to the
//! same bytes here, or fail here where it fails in Go with the same message (`TemplateError::go_message`).
//!
//! A case with a `"note"` documents a deliberate difference in the message only; it must still fail in both.
//! The engine follows Go 1.19 (Debian 12's `golang-go`, and what the original was built with in spirit); a case
//! with `"before_go": "1.22"` shows behaviour that later Go changed and is only compared with older Go.
//!
//! Needs the Go toolchain (`go` on PATH, Go 1.19 or later). Without it the test is skipped with a message,
//! unless `DFR_REQUIRE_GO=1`, where it fails.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use chrono::{DateTime, FixedOffset, Utc};
use gotemplate::{render, TemplateEnv};
use serde_json::Value;

struct CorpusEnv {
    now: DateTime<FixedOffset>,
    zone: String,
    env: HashMap<String, String>,
    files: HashMap<String, Vec<u8>>,
}

impl TemplateEnv for CorpusEnv {
    fn now(&self) -> DateTime<FixedOffset> {
        self.now
    }

    fn env_var(&self, name: &str) -> Option<String> {
        self.env.get(name).cloned()
    }

    fn read_file(&self, path: &str) -> std::io::Result<Vec<u8>> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| std::io::Error::from_raw_os_error(2))
    }

    fn local_offset(&self, _instant: DateTime<Utc>) -> FixedOffset {
        *self.now.offset()
    }

    fn zone_abbreviation(&self, _time: &DateTime<FixedOffset>) -> Option<String> {
        Some(self.zone.clone())
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `(major, minor)` of a `go version` line such as `go version go1.19.8 linux/amd64`.
fn parse_go_version(line: &str) -> Option<(u32, u32)> {
    let v = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("go1."))?;
    let minor: String = v.chars().take_while(char::is_ascii_digit).collect();
    Some((1, minor.parse().ok()?))
}

/// `Some((path of the built harness, Go version))`, or `None` when Go is not installed (and not required).
fn build_harness() -> Option<(PathBuf, (u32, u32))> {
    let required = std::env::var("DFR_REQUIRE_GO").is_ok_and(|v| v == "1");
    let version = Command::new("go").arg("version").output();
    let version = match version {
        Ok(out) if out.status.success() => {
            let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
            eprintln!("using {line}");
            parse_go_version(&line).unwrap_or((1, 19))
        }
        _ => {
            assert!(
                !required,
                "DFR_REQUIRE_GO=1 but the Go toolchain is not installed (apt-get install -y golang-go)"
            );
            eprintln!("skipped: go not installed (apt-get install golang-go); set DFR_REQUIRE_GO=1 to require it");
            return None;
        }
    };
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let binary = tmp.join("gotemplate");
    let mut build = Command::new("go");
    build
        .arg("build")
        .arg("-o")
        .arg(&binary)
        .arg(workspace_root().join("tests/gotemplate/main.go"))
        .env("GO111MODULE", "off")
        .env("CGO_ENABLED", "0");
    if std::env::var_os("GOCACHE").is_none() {
        build.env("GOCACHE", tmp.join("go-build-cache"));
    }
    let out = build.output().expect("run go build");
    assert!(
        out.status.success(),
        "go build of the harness failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some((binary, version))
}

#[test]
fn templates_render_exactly_as_go_does() {
    let Some((harness, go_version)) = build_harness() else {
        return;
    };
    // Another corpus (e.g. generated cases) can be checked with DFR_GO_CORPUS=path.
    let corpus_path = std::env::var_os("DFR_GO_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("tests/gotemplate/corpus.json"));
    let out = Command::new(&harness)
        .arg(&corpus_path)
        .output()
        .expect("run the Go harness");
    assert!(
        out.status.success(),
        "the Go harness failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let go_results: Vec<Value> =
        serde_json::from_slice(&out.stdout).expect("harness output is JSON");
    let corpus: Value =
        serde_json::from_str(&std::fs::read_to_string(&corpus_path).unwrap()).unwrap();
    let cases = corpus["cases"].as_array().unwrap();
    assert_eq!(cases.len(), go_results.len());
    if std::env::var_os("DFR_GO_CORPUS").is_none() {
        assert!(cases.len() >= 150, "the corpus keeps at least 150 cases");
    }

    let strings = |v: &Value| -> HashMap<String, String> {
        v.as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let now = DateTime::parse_from_rfc3339(corpus["now"].as_str().unwrap()).unwrap();
    let offset = FixedOffset::east_opt(corpus["offset"].as_i64().unwrap() as i32).unwrap();
    let env = CorpusEnv {
        now: now.with_timezone(&offset),
        zone: corpus["zone"].as_str().unwrap().to_string(),
        env: strings(&corpus["env"]),
        files: strings(&corpus["files"])
            .into_iter()
            .map(|(k, v)| (k, v.into_bytes()))
            .collect(),
    };

    let mut failures = Vec::new();
    let (mut ok_cases, mut err_cases, mut skipped) = (0, 0, 0);
    for (i, (case, go)) in cases.iter().zip(&go_results).enumerate() {
        let template = case["template"].as_str().unwrap();
        if let Some(before) = case.get("before_go").and_then(Value::as_str) {
            if parse_go_version(&format!("go{before}")).is_some_and(|b| go_version >= b) {
                skipped += 1;
                continue;
            }
        }
        let vars: BTreeMap<String, String> = strings(&case["vars"]).into_iter().collect();
        let ours = render("t.json", template, &vars, &env);
        let note = case.get("note").and_then(Value::as_str);
        match (
            go.get("out").and_then(Value::as_str),
            go.get("err").and_then(Value::as_str),
            ours,
        ) {
            (Some(b64), _, Ok(text)) => {
                ok_cases += 1;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap();
                let expected = String::from_utf8_lossy(&bytes);
                if text != expected {
                    failures.push(format!(
                        "case {i} {template:?}\n   go: {expected:?}\n  ours: {text:?}"
                    ));
                }
            }
            (Some(b64), _, Err(e)) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap();
                failures.push(format!(
                    "case {i} {template:?}\n   go: renders {:?}\n  ours: fails: {}",
                    String::from_utf8_lossy(&bytes),
                    e.go_message()
                ));
            }
            (None, Some(go_err), Ok(text)) => failures.push(format!(
                "case {i} {template:?}\n   go: fails: {go_err}\n  ours: renders {text:?}"
            )),
            (None, Some(go_err), Err(e)) => {
                err_cases += 1;
                if note.is_none() && e.go_message() != go_err {
                    failures.push(format!(
                        "case {i} {template:?}\n   go: {go_err}\n  ours: {}",
                        e.go_message()
                    ));
                }
            }
            _ => failures.push(format!("case {i}: unreadable harness result {go}")),
        }
    }
    eprintln!(
        "{} cases: {ok_cases} render, {err_cases} fail, as in Go; {skipped} not compared with this Go version",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from Go:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
