//! The validators the binaries use are generated at build time by jsonschema's `validator` macro
//! (`dfr_core::schema`); this test holds them to jsonschema's run-time validators, built from the same embedded
//! documents as the functions built them before: over every JSON config of tests/reference/ and tests/corpus/, and
//! over broken variants of each (every value replaced by values of every type and out of every bound, unknown keys
//! added and known keys removed at every level), under its own schema and the newest of its kind, both must report
//! the same errors (instance path, kind, message) and lead to the same diagnostics.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use dfr_core::diagnostics::LineIndex;
use dfr_core::schema::{self, AcceptedSchema, ConfigKind, ACCEPTED, BASE, DOCUMENTS};
use serde_json::{json, Value};

fn runtime_validators() -> HashMap<&'static str, jsonschema::Validator> {
    let documents: HashMap<&str, Value> = DOCUMENTS
        .iter()
        .map(|(name, text)| (*name, serde_json::from_str(text).unwrap()))
        .collect();
    let mut registry = jsonschema::Registry::new();
    for (name, doc) in &documents {
        registry = registry.add(format!("{BASE}{name}"), doc.clone()).unwrap();
    }
    let registry = registry.prepare().unwrap();
    ACCEPTED
        .iter()
        .map(|a| {
            let validator = jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .with_registry(&registry)
                .build(&documents[a.file])
                .unwrap();
            (a.uri, validator)
        })
        .collect()
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

/// The `data` of every self-describing config among the reference and corpus files, with its schema.
fn configs() -> Vec<(String, &'static AcceptedSchema, Value)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    json_files(&root.join("tests/reference"), &mut files);
    json_files(&root.join("tests/corpus"), &mut files);
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Ok(value) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        // configs, and configs inside corpus cases and execution inputs
        let mut found = Vec::new();
        collect_configs(&value, &mut found);
        for (accepted, data) in found {
            out.push((path.display().to_string(), accepted, data));
        }
    }
    out
}

fn collect_configs(value: &Value, out: &mut Vec<(&'static AcceptedSchema, Value)>) {
    match value {
        Value::Object(map) => {
            if let (Some(uri), Some(data)) =
                (map.get("schema").and_then(Value::as_str), map.get("data"))
            {
                if let Some(accepted) = schema::accepted(uri) {
                    out.push((accepted, data.clone()));
                }
            }
            map.values().for_each(|v| collect_configs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_configs(v, out)),
        _ => {}
    }
}

/// Values of every JSON type, and numbers and strings at and beyond the schemas' bounds.
fn replacements() -> Vec<Value> {
    vec![
        Value::Null,
        json!(true),
        json!(0),
        json!(-1),
        json!(1.5),
        json!(257),
        json!(604801),
        json!(1e20),
        json!(""),
        json!("x"),
        json!("emr-7.5.0"),
        json!("sg-0abc"),
        json!("SPOT"),
        json!([]),
        json!(["x"]),
        json!([{}]),
        json!({}),
        json!({"unknown": 1}),
    ]
}

/// Broken variants of `data`: at every position, each replacement; in every object an unknown key, and each key
/// removed; in every array one more item of each kind.
fn variants(data: &Value) -> Vec<Value> {
    let mut pointers = Vec::new();
    positions(data, String::new(), &mut pointers);
    let mut out = Vec::new();
    for pointer in &pointers {
        for r in replacements() {
            let mut v = data.clone();
            *v.pointer_mut(pointer).unwrap() = r;
            out.push(v);
        }
        match data.pointer(pointer).unwrap() {
            Value::Object(map) => {
                let mut v = data.clone();
                v.pointer_mut(pointer)
                    .unwrap()
                    .as_object_mut()
                    .unwrap()
                    .insert("unexpectedKey".into(), json!(1));
                out.push(v);
                for key in map.keys() {
                    let mut v = data.clone();
                    v.pointer_mut(pointer)
                        .unwrap()
                        .as_object_mut()
                        .unwrap()
                        .shift_remove(key);
                    out.push(v);
                }
            }
            Value::Array(items) => {
                for extra in [
                    json!("x"),
                    json!({}),
                    items.first().cloned().unwrap_or(Value::Null),
                ] {
                    let mut v = data.clone();
                    v.pointer_mut(pointer)
                        .unwrap()
                        .as_array_mut()
                        .unwrap()
                        .push(extra);
                    out.push(v);
                }
            }
            _ => {}
        }
    }
    out
}

fn positions(value: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                positions(
                    v,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                positions(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn error_set<'i>(errors: impl Iterator<Item = jsonschema::ValidationError<'i>>) -> Vec<String> {
    let mut out: Vec<String> = errors
        .map(|e| format!("{} | {:?} | {}", e.instance_path().as_str(), e.kind(), e))
        .collect();
    out.sort();
    out
}

fn newest(kind: ConfigKind) -> &'static AcceptedSchema {
    schema::accepted(schema::newest_uri(kind)).unwrap()
}

#[test]
fn generated_validators_answer_as_jsonschemas_runtime_validators() {
    let runtime = runtime_validators();
    let configs = configs();
    assert!(configs.len() >= 40, "only {} configs found", configs.len());
    let (mut checked, mut invalid) = (0usize, 0usize);
    for (file, accepted, data) in &configs {
        let mut instances = vec![data.clone()];
        instances.extend(variants(data));
        for instance in &instances {
            for schema in [*accepted, newest(accepted.kind)] {
                let text =
                    serde_json::to_string_pretty(&json!({"schema": schema.uri, "data": instance}))
                        .unwrap();
                let lines = LineIndex::new(&text);
                let generated = schema::validate(schema, instance, "f.json", &lines);
                let expected = schema::diagnostics(
                    schema,
                    runtime[schema.uri].iter_errors(instance),
                    "f.json",
                    &lines,
                );
                assert_eq!(
                    generated, expected,
                    "{file} under {}: diagnostics differ for\n{instance:#}",
                    schema.uri
                );
                let raw_runtime = error_set(runtime[schema.uri].iter_errors(instance));
                let raw_generated = error_set(schema::errors(schema, instance));
                assert_eq!(
                    raw_generated, raw_runtime,
                    "{file} under {}: errors differ for\n{instance:#}",
                    schema.uri
                );
                checked += 1;
                invalid += usize::from(!raw_runtime.is_empty());
            }
        }
    }
    assert!(
        invalid > checked / 2,
        "the variants should mostly be invalid: {invalid} of {checked}"
    );
    eprintln!(
        "{checked} validations compared over {} configs, {invalid} of them invalid",
        configs.len()
    );
}
