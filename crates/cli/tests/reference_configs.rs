//! Every config under tests/reference (the original's samples and fixtures, and real-world configs) run through the
//! real `dataflow-runner` binary, with the outcome recorded in tests/reference/cases.json.
//! Set UPDATE_EXPECT=1 to rewrite the expected plans (then review the diff).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/reference")
}

#[test]
fn every_reference_config_has_the_expected_outcome() {
    let dir = reference_dir();
    let cases: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cases.json")).unwrap()).unwrap();
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut failures = Vec::new();
    for case in cases["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let cwd = dir.join(case["cwd"].as_str().unwrap_or("."));
        let args: Vec<&str> = case["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let out = Command::new(env!("CARGO_BIN_EXE_dataflow-runner"))
            .args(&args)
            .current_dir(&cwd)
            .env("TZ", "UTC")
            .env("DATAFLOW_RUNNER_NOW", "2024-03-05T06:07:08Z")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        let code = out.status.code();
        let mut fail = |why: String| {
            failures.push(format!(
                "{name}: {why}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
            ))
        };
        if let Some(errors) = case.get("errors") {
            if code != Some(1) {
                fail(format!("expected exit 1, got {code:?}"));
                continue;
            }
            for e in errors.as_array().unwrap() {
                let e = e.as_str().unwrap();
                match e.strip_prefix('!') {
                    Some(absent) if stderr.contains(absent) => {
                        fail(format!("stderr must not show {absent:?}"))
                    }
                    Some(_) => {}
                    None if !stderr.contains(e) => fail(format!("stderr lacks {e:?}")),
                    None => {}
                }
            }
            continue;
        }
        if code != Some(0) {
            fail(format!("expected exit 0, got {code:?}"));
            continue;
        }
        for w in case
            .get("warnings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !stderr.contains(&format!("warning: {}", w.as_str().unwrap())) {
                fail(format!("stderr lacks warning {w}"));
            }
        }
        if let Some(expected) = case.get("stdout") {
            if stdout.trim_end() != expected.as_str().unwrap() {
                fail(format!("stdout is not {expected}"));
            }
        }
        if let Some(plan) = case.get("plan") {
            let path = dir.join("expected").join(plan.as_str().unwrap());
            let actual: Value = match serde_json::from_str(&stdout) {
                Ok(v) => v,
                Err(e) => {
                    fail(format!("stdout is not one JSON object: {e}"));
                    continue;
                }
            };
            if update {
                std::fs::write(&path, serde_json::to_string_pretty(&actual).unwrap() + "\n")
                    .unwrap();
                continue;
            }
            let expected: Value = match std::fs::read_to_string(&path) {
                Ok(text) => serde_json::from_str(&text).unwrap(),
                Err(_) => {
                    fail(format!(
                        "{} is missing (run with UPDATE_EXPECT=1)",
                        path.display()
                    ));
                    continue;
                }
            };
            if actual != expected {
                fail(format!("plan differs from {}", path.display()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of the reference cases failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn every_reference_file_is_covered_by_a_case() {
    let dir = reference_dir();
    let cases = std::fs::read_to_string(dir.join("cases.json")).unwrap();
    let mut missing = Vec::new();
    for sub in ["real", "samples"] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name != "INDEX.md" && !cases.contains(&name) {
                missing.push(format!("{sub}/{name}"));
            }
        }
    }
    assert!(missing.is_empty(), "no case for: {missing:?}");
}
