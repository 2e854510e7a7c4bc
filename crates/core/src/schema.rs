//! The accepted config schemas. The JSON Schema files in `schemas/` are embedded here and are the single source of
//! truth for what a file may contain; this module turns their verdicts into located, helpful diagnostics.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value;

use crate::diagnostics::{did_you_mean, json_path, pointer_segment, Diagnostic, LineIndex};

/// Which kind of file a schema describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigKind {
    Cluster,
    Playbook,
    /// Where a playbook runs on EMR Serverless (see `crate::serverless`): given where a ClusterConfig would be.
    Serverless,
}

impl ConfigKind {
    pub fn label(self) -> &'static str {
        match self {
            Self::Cluster => "ClusterConfig",
            Self::Playbook => "PlaybookConfig",
            Self::Serverless => "ServerlessConfig",
        }
    }
}

/// One accepted self-describing schema URI.
#[derive(Debug)]
pub struct AcceptedSchema {
    pub uri: &'static str,
    pub kind: ConfigKind,
    /// File name under `schemas/`.
    pub file: &'static str,
    /// Written for the original dataflow-runner (as opposed to this project's own vendor).
    pub legacy: bool,
}

pub const NEW_CLUSTER_URI: &str =
    "iglu:com.dataflowrunner.serverless/ClusterConfig/jsonschema/1-2-0";
pub const NEW_PLAYBOOK_URI: &str =
    "iglu:com.dataflowrunner.serverless/PlaybookConfig/jsonschema/1-1-0";
pub const NEW_SERVERLESS_URI: &str =
    "iglu:com.dataflowrunner.serverless/ServerlessConfig/jsonschema/1-0-0";

/// The newest accepted schema of a kind: what a legacy file's unknown field is looked up in.
pub fn newest_uri(kind: ConfigKind) -> &'static str {
    match kind {
        ConfigKind::Cluster => NEW_CLUSTER_URI,
        ConfigKind::Playbook => NEW_PLAYBOOK_URI,
        ConfigKind::Serverless => NEW_SERVERLESS_URI,
    }
}

pub const ACCEPTED: &[AcceptedSchema] = &[
    AcceptedSchema {
        uri: "iglu:com.snowplowanalytics.dataflowrunner/ClusterConfig/avro/1-0-0",
        kind: ConfigKind::Cluster,
        file: "com.snowplowanalytics.dataflowrunner-ClusterConfig-avro-1-0-0.schema.json",
        legacy: true,
    },
    AcceptedSchema {
        uri: "iglu:com.snowplowanalytics.dataflowrunner/ClusterConfig/avro/1-1-0",
        kind: ConfigKind::Cluster,
        file: "com.snowplowanalytics.dataflowrunner-ClusterConfig-avro-1-1-0.schema.json",
        legacy: true,
    },
    AcceptedSchema {
        uri: "iglu:com.snowplowanalytics.dataflow-runner/Cluster/avro/1-0-0",
        kind: ConfigKind::Cluster,
        file: "com.snowplowanalytics.dataflow-runner-Cluster-avro-1-0-0.schema.json",
        legacy: true,
    },
    AcceptedSchema {
        uri: NEW_CLUSTER_URI,
        kind: ConfigKind::Cluster,
        file: "com.dataflowrunner.serverless-ClusterConfig-jsonschema-1-2-0.schema.json",
        legacy: false,
    },
    AcceptedSchema {
        uri: "iglu:com.snowplowanalytics.dataflowrunner/PlaybookConfig/avro/1-0-0",
        kind: ConfigKind::Playbook,
        file: "com.snowplowanalytics.dataflowrunner-PlaybookConfig-avro-1-0-0.schema.json",
        legacy: true,
    },
    AcceptedSchema {
        uri: "iglu:com.snowplowanalytics.dataflowrunner/PlaybookConfig/avro/1-0-1",
        kind: ConfigKind::Playbook,
        file: "com.snowplowanalytics.dataflowrunner-PlaybookConfig-avro-1-0-1.schema.json",
        legacy: true,
    },
    AcceptedSchema {
        uri: NEW_PLAYBOOK_URI,
        kind: ConfigKind::Playbook,
        file: "com.dataflowrunner.serverless-PlaybookConfig-jsonschema-1-1-0.schema.json",
        legacy: false,
    },
    AcceptedSchema {
        uri: NEW_SERVERLESS_URI,
        kind: ConfigKind::Serverless,
        file: "com.dataflowrunner.serverless-ServerlessConfig-jsonschema-1-0-0.schema.json",
        legacy: false,
    },
];

/// The base URI of the schema documents (their `$id`s).
pub const BASE: &str = "https://schemas.dataflowrunner.serverless/";

/// Every schema document, embedded at build time.
pub const DOCUMENTS: &[(&str, &str)] = &[
    ("legacy.schema.json", include_str!("../../../schemas/legacy.schema.json")),
    (
        "com.snowplowanalytics.dataflowrunner-ClusterConfig-avro-1-0-0.schema.json",
        include_str!("../../../schemas/com.snowplowanalytics.dataflowrunner-ClusterConfig-avro-1-0-0.schema.json"),
    ),
    (
        "com.snowplowanalytics.dataflowrunner-ClusterConfig-avro-1-1-0.schema.json",
        include_str!("../../../schemas/com.snowplowanalytics.dataflowrunner-ClusterConfig-avro-1-1-0.schema.json"),
    ),
    (
        "com.snowplowanalytics.dataflow-runner-Cluster-avro-1-0-0.schema.json",
        include_str!("../../../schemas/com.snowplowanalytics.dataflow-runner-Cluster-avro-1-0-0.schema.json"),
    ),
    (
        "com.dataflowrunner.serverless-ClusterConfig-jsonschema-1-2-0.schema.json",
        include_str!("../../../schemas/com.dataflowrunner.serverless-ClusterConfig-jsonschema-1-2-0.schema.json"),
    ),
    (
        "com.snowplowanalytics.dataflowrunner-PlaybookConfig-avro-1-0-0.schema.json",
        include_str!("../../../schemas/com.snowplowanalytics.dataflowrunner-PlaybookConfig-avro-1-0-0.schema.json"),
    ),
    (
        "com.snowplowanalytics.dataflowrunner-PlaybookConfig-avro-1-0-1.schema.json",
        include_str!("../../../schemas/com.snowplowanalytics.dataflowrunner-PlaybookConfig-avro-1-0-1.schema.json"),
    ),
    (
        "com.dataflowrunner.serverless-PlaybookConfig-jsonschema-1-1-0.schema.json",
        include_str!("../../../schemas/com.dataflowrunner.serverless-PlaybookConfig-jsonschema-1-1-0.schema.json"),
    ),
    (
        "com.dataflowrunner.serverless-ServerlessConfig-jsonschema-1-0-0.schema.json",
        include_str!("../../../schemas/com.dataflowrunner.serverless-ServerlessConfig-jsonschema-1-0-0.schema.json"),
    ),
];

/// The validators of the accepted schemas, generated at build time from the files in `schemas/` by jsonschema's
/// `validator` macro: each is the code of its schema's keywords only, so the binaries carry no schema compiler, no
/// format checkers and no second regex engine (about 1.3 MiB less than building validators at run time).
/// `tests/generated_validators.rs` proves they answer exactly as jsonschema's run-time validators do.
mod generated {
    /// One generated validator per accepted schema file, and `iter_errors` choosing by file name.
    macro_rules! validators {
        ($($name:ident => $path:tt,)*) => {
            $(
                #[jsonschema::validator(
                    path = $path,
                    draft = Draft202012,
                    resources = { "https://schemas.dataflowrunner.serverless/legacy.schema.json" => { path = "../../schemas/legacy.schema.json" } },
                    pattern_options = { engine = regex },
                    methods = { is_valid = false, validate = false, iter_errors = true }
                )]
                pub(super) struct $name;
            )*

            /// Every problem `data` has under the schema of `file` (one of [`super::ACCEPTED`]).
            pub(super) fn iter_errors<'i>(file: &str, data: &'i serde_json::Value) -> jsonschema::ErrorIterator<'i> {
                $(
                    if $path.strip_prefix("../../schemas/") == Some(file) {
                        return $name::iter_errors(data);
                    }
                )*
                unreachable!("{file} is not an accepted schema")
            }
        };
    }

    validators! {
        ClusterAvro100 => "../../schemas/com.snowplowanalytics.dataflowrunner-ClusterConfig-avro-1-0-0.schema.json",
        ClusterAvro110 => "../../schemas/com.snowplowanalytics.dataflowrunner-ClusterConfig-avro-1-1-0.schema.json",
        PreReleaseClusterAvro100 => "../../schemas/com.snowplowanalytics.dataflow-runner-Cluster-avro-1-0-0.schema.json",
        ClusterJsonschema120 => "../../schemas/com.dataflowrunner.serverless-ClusterConfig-jsonschema-1-2-0.schema.json",
        PlaybookAvro100 => "../../schemas/com.snowplowanalytics.dataflowrunner-PlaybookConfig-avro-1-0-0.schema.json",
        PlaybookAvro101 => "../../schemas/com.snowplowanalytics.dataflowrunner-PlaybookConfig-avro-1-0-1.schema.json",
        PlaybookJsonschema110 => "../../schemas/com.dataflowrunner.serverless-PlaybookConfig-jsonschema-1-1-0.schema.json",
        ServerlessJsonschema100 => "../../schemas/com.dataflowrunner.serverless-ServerlessConfig-jsonschema-1-0-0.schema.json",
    }
}

struct Schemas {
    documents: HashMap<&'static str, Value>,
}

fn schemas() -> &'static Schemas {
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        let documents: HashMap<&'static str, Value> = DOCUMENTS
            .iter()
            .map(|(name, text)| {
                (
                    *name,
                    serde_json::from_str(text).expect("embedded schema is valid JSON"),
                )
            })
            .collect();
        Schemas { documents }
    })
}

/// The accepted schema for a URI, if any.
pub fn accepted(uri: &str) -> Option<&'static AcceptedSchema> {
    ACCEPTED.iter().find(|a| a.uri == uri)
}

/// Validates `data` (the `data` member of a self-describing file) against the schema for `uri`. Every problem is
/// reported, each located under `/data`.
pub fn validate(
    schema: &AcceptedSchema,
    data: &Value,
    file: &str,
    lines: &LineIndex,
) -> Vec<Diagnostic> {
    diagnostics(
        schema,
        generated::iter_errors(schema.file, data),
        file,
        lines,
    )
}

/// The generated validator's errors for `data` under `schema`, as jsonschema reports them. Public for the test that
/// holds the generated validators to jsonschema's run-time ones.
#[doc(hidden)]
pub fn errors<'i>(schema: &AcceptedSchema, data: &'i Value) -> jsonschema::ErrorIterator<'i> {
    generated::iter_errors(schema.file, data)
}

/// The diagnostics for a validator's `errors` on a file: what [`validate`] reports. Public for the test that holds
/// the generated validators to jsonschema's run-time ones.
#[doc(hidden)]
pub fn diagnostics<'i>(
    schema: &AcceptedSchema,
    errors: impl Iterator<Item = jsonschema::ValidationError<'i>>,
    file: &str,
    lines: &LineIndex,
) -> Vec<Diagnostic> {
    let s = schemas();
    let root = Node {
        doc: schema.file,
        value: &s.documents[schema.file],
    };
    let mut out: Vec<Diagnostic> = Vec::new();
    for error in errors {
        let at = error.instance_path().as_str().to_string();
        let instance = error.instance();
        let target = root.at_pointer(&at);
        let hint_here = target.as_ref().and_then(|t| t.hint());
        let rule_here = target
            .as_ref()
            .and_then(|t| t.value.get("x-rule"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let d = match error.kind() {
            jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } => {
                for key in unexpected {
                    out.push(unknown_key(schema, root, &at, key, file));
                }
                continue;
            }
            jsonschema::error::ValidationErrorKind::Required { property } => {
                let name = property.as_str().unwrap_or_default().to_string();
                let child = format!("{at}/{}", pointer_segment(&name));
                let hint = root.at_pointer(&child).and_then(|t| t.hint());
                let d = Diagnostic::new(
                    file,
                    format!("/data{child}"),
                    format!("required field `{name}` is missing"),
                );
                match hint {
                    Some(h) => d.with_hint(format!("add `{name}`: {h}")),
                    None => d.with_hint(format!("add `{name}`")),
                }
            }
            jsonschema::error::ValidationErrorKind::Type { .. } => {
                let expected = target
                    .as_ref()
                    .map(|t| t.expected_types())
                    .unwrap_or_else(|| "another type".into());
                let d = Diagnostic::new(
                    file,
                    format!("/data{at}"),
                    format!("expected {expected}, found {}", describe(instance)),
                );
                let wants_list = target
                    .as_ref()
                    .is_some_and(|t| t.expected_types() == "an array");
                match hint_here {
                    _ if wants_list && instance.is_object() => {
                        d.with_hint("this is a list: wrap the object in [ … ]")
                    }
                    Some(h) => d.with_hint(h),
                    None if instance.is_null() => d.with_hint("give a value, or remove the field"),
                    None => d,
                }
            }
            jsonschema::error::ValidationErrorKind::Enum { options } => {
                let allowed: Vec<&str> = options
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                let got = instance.as_str().unwrap_or_default();
                if target
                    .as_ref()
                    .is_some_and(|t| t.value.get("x-secret").is_some())
                {
                    // Never echo what may be a secret key into logs or an execution history.
                    let d = Diagnostic::new(
                        file,
                        format!("/data{at}"),
                        format!("literal AWS credentials are not accepted (the value is not shown); use one of {}", allowed.join(", ")),
                    );
                    out.push(match hint_here {
                        Some(h) => d.with_hint(h),
                        None => d,
                    });
                    continue;
                }
                let d = Diagnostic::new(
                    file,
                    format!("/data{at}"),
                    format!(
                        "{} is not one of {}",
                        describe(instance),
                        allowed.join(", ")
                    ),
                );
                match (did_you_mean(got, allowed.iter().copied()), hint_here) {
                    (Some(m), _) if m != got => d.with_hint(format!("did you mean \"{m}\"?")),
                    (_, Some(h)) => d.with_hint(h),
                    _ => d,
                }
            }
            jsonschema::error::ValidationErrorKind::Not { .. } if rule_here.is_some() => {
                // A rule over several fields: the validator's message quotes the sub-schema; the schema says it in
                // words (`x-rule`).
                let d = Diagnostic::new(file, format!("/data{at}"), rule_here.unwrap_or_default());
                match hint_here {
                    Some(h) => d.with_hint(h),
                    None => d,
                }
            }
            _ => {
                let d = Diagnostic::new(file, format!("/data{at}"), message_of(&error));
                match hint_here {
                    Some(h) => d.with_hint(h),
                    None => d,
                }
            }
        };
        out.push(d);
    }
    for d in &mut out {
        d.line = lines.line_of(&d.pointer);
    }
    out.sort_by(|a, b| (a.line, &a.pointer).cmp(&(b.line, &b.pointer)));
    out
}

fn unknown_key(
    schema: &AcceptedSchema,
    root: Node<'_>,
    at: &str,
    key: &str,
    file: &str,
) -> Diagnostic {
    let pointer = format!("/data{at}/{}", pointer_segment(key));
    let d = Diagnostic::new(file, pointer, format!("unknown field `{key}`"));
    let here = root.at_pointer(at);
    let known: Vec<&str> = here
        .as_ref()
        .map(|n| n.property_names())
        .unwrap_or_default();
    if let Some(m) = did_you_mean(key, known.iter().copied()) {
        return d.with_hint(format!("did you mean `{m}`?"));
    }
    // Available in this project's newer schema at the same place?
    if schema.legacy {
        let newer_uri = newest_uri(schema.kind);
        let newer = accepted(newer_uri).expect("newer schema is accepted");
        let newer_root = Node {
            doc: newer.file,
            value: &schemas().documents[newer.file],
        };
        if newer_root
            .at_pointer(&format!("{at}/{}", pointer_segment(key)))
            .is_some()
        {
            return d.with_hint(format!(
                "`{key}` is not part of {}; to use it, set \"schema\" to \"{newer_uri}\" (a superset of the old versions)",
                schema.uri
            ));
        }
    }
    // Misplaced: the same key exists elsewhere in this schema.
    let mut places = Vec::new();
    root.find_key(key, "", 0, &mut places);
    if !places.is_empty() {
        let shown: Vec<String> = places
            .iter()
            .take(3)
            .map(|p| format!("data{}", prefix_dot(&json_path(p))))
            .collect();
        return d.with_hint(format!(
            "`{key}` belongs under {}, not here",
            shown.join(" or ")
        ));
    }
    if known.is_empty() {
        d.with_hint("remove it")
    } else {
        d.with_hint(format!(
            "remove it; the fields accepted here are: {}",
            known.join(", ")
        ))
    }
}

/// The validator's message, with a large value (a list, an object, a long string) named rather than quoted: a list
/// of 257 steps must not make a message of 257 steps.
fn message_of(error: &jsonschema::ValidationError<'_>) -> String {
    const LONG: usize = 80;
    let instance = error.instance();
    if instance.to_string().chars().count() <= LONG {
        return error.to_string();
    }
    let named = match instance.as_ref() {
        Value::Array(items) => format!("the list of {} items", items.len()),
        Value::Object(members) => format!("the object with {} fields", members.len()),
        Value::String(s) => format!("a string of {} characters", s.chars().count()),
        other => describe(other),
    };
    error.masked_with(named).to_string()
}

fn prefix_dot(path: &str) -> String {
    if path.is_empty() || path.starts_with('[') {
        path.to_string()
    } else {
        format!(".{path}")
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) if s.chars().count() > 80 => {
            format!("a string of {} characters", s.chars().count())
        }
        Value::String(s) => format!("\"{s}\""),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// A position in one of the embedded schema documents, with `$ref`s followed.
#[derive(Clone, Copy)]
struct Node<'a> {
    doc: &'a str,
    value: &'a Value,
}

impl<'a> Node<'a> {
    fn resolve(self) -> Node<'a> {
        let mut node = self;
        for _ in 0..16 {
            let Some(r) = node.value.get("$ref").and_then(Value::as_str) else {
                return node;
            };
            let (doc, fragment) = r.split_once('#').unwrap_or((r, ""));
            let doc = if doc.is_empty() { node.doc } else { doc };
            let Some((name, root)) = schemas().documents.get_key_value(doc) else {
                return node;
            };
            let target = if fragment.is_empty() {
                Some(root)
            } else {
                root.pointer(fragment)
            };
            match target {
                Some(v) => {
                    node = Node {
                        doc: name,
                        value: v,
                    }
                }
                None => return node,
            }
        }
        node
    }

    fn child(self, segment: &str) -> Option<Node<'a>> {
        let node = self.resolve();
        let v = node.value;
        let next = if let Some(p) = v.get("properties").and_then(|p| p.get(segment)) {
            p
        } else if segment.bytes().all(|b| b.is_ascii_digit()) && v.get("items").is_some() {
            &v["items"]
        } else {
            v.get("additionalProperties").filter(|ap| ap.is_object())?
        };
        Some(
            Node {
                doc: node.doc,
                value: next,
            }
            .resolve(),
        )
    }

    fn at_pointer(self, pointer: &str) -> Option<Node<'a>> {
        let mut node = self.resolve();
        for raw in pointer.split('/').skip(1) {
            let seg = raw.replace("~1", "/").replace("~0", "~");
            node = node.child(&seg)?;
        }
        Some(node)
    }

    fn hint(self) -> Option<String> {
        self.value
            .get("x-hint")
            .and_then(Value::as_str)
            .map(str::to_string)
    }

    fn property_names(self) -> Vec<&'a str> {
        let node = self.resolve();
        node.value
            .get("properties")
            .and_then(Value::as_object)
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    fn expected_types(self) -> String {
        let words = |t: &str| match t {
            "object" => "an object",
            "array" => "an array",
            "string" => "a string",
            "integer" => "a whole number",
            "number" => "a number",
            "boolean" => "true or false",
            "null" => "null",
            _ => "a value",
        };
        match self.value.get("type") {
            Some(Value::String(t)) => words(t).to_string(),
            Some(Value::Array(ts)) => ts
                .iter()
                .filter_map(Value::as_str)
                .filter(|t| *t != "null")
                .map(words)
                .collect::<Vec<_>>()
                .join(" or "),
            _ => "another type".into(),
        }
    }

    /// Every pointer (in instance terms) at which `key` is a declared property.
    fn find_key(self, key: &str, at: &str, depth: usize, out: &mut Vec<String>) {
        if depth > 8 {
            return;
        }
        let node = self.resolve();
        if let Some(props) = node.value.get("properties").and_then(Value::as_object) {
            for (name, _) in props {
                if name == key {
                    out.push(at.to_string());
                }
                if let Some(child) = node.child(name) {
                    child.find_key(
                        key,
                        &format!("{at}/{}", pointer_segment(name)),
                        depth + 1,
                        out,
                    );
                }
            }
        }
        if node.value.get("items").is_some() {
            if let Some(child) = node.child("0") {
                child.find_key(key, &format!("{at}/0"), depth + 1, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_accepted_schema_compiles_and_has_a_file() {
        for a in ACCEPTED {
            // a generated validator for each (an unknown file would panic), which refuses what is not an object
            assert!(
                generated::iter_errors(a.file, &serde_json::json!([])).count() > 0,
                "{}",
                a.uri
            );
            assert!(schemas().documents.contains_key(a.file), "{}", a.file);
        }
    }

    /// A document with every property the schema declares, filled with a valid value (`examples` where a pattern
    /// needs one), nested objects and arrays included.
    fn maximal(node: Node<'_>, depth: usize) -> Value {
        let n = node.resolve();
        let v = n.value;
        if let Some(example) = v.get("examples").and_then(|e| e.get(0)) {
            return example.clone();
        }
        if let Some(first) = v.get("enum").and_then(|e| e.get(0)) {
            return first.clone();
        }
        let ty = match v.get("type") {
            Some(Value::String(t)) => t.as_str(),
            Some(Value::Array(ts)) => ts
                .iter()
                .filter_map(Value::as_str)
                .find(|t| *t != "null")
                .unwrap_or("null"),
            _ => "object",
        };
        match ty {
            "object" => {
                let mut out = serde_json::Map::new();
                for name in n.property_names() {
                    out.insert(name.to_string(), maximal(n.child(name).unwrap(), depth + 1));
                }
                if v.get("properties").is_none() {
                    if let Some(values) = n.child("key") {
                        out.insert("key".into(), maximal(values, depth + 1));
                    }
                }
                Value::Object(out)
            }
            "array" if depth > 12 => Value::Array(vec![]),
            "array" => Value::Array(vec![maximal(n.child("0").unwrap(), depth + 1)]),
            "string" => Value::String("x".into()),
            "integer" | "number" => {
                let min = v.get("minimum").and_then(Value::as_i64).unwrap_or(1).max(1);
                Value::from(min)
            }
            "boolean" => Value::Bool(true),
            _ => Value::Null,
        }
    }

    /// The embedded schemas decide what is valid; the Rust types must then accept every field they allow
    /// (`deny_unknown_fields` fails on any field the types lack). Fails when the two drift apart.
    #[test]
    fn the_model_accepts_every_field_each_schema_allows() {
        for a in ACCEPTED {
            let root = Node {
                doc: a.file,
                value: &schemas().documents[a.file],
            };
            let full = maximal(root, 0);
            // A ServerlessConfig's application is created or reused, not both: one document for each.
            let docs: Vec<Value> = match a.kind {
                ConfigKind::Serverless => ["application", "applicationId"]
                    .iter()
                    .map(|drop| {
                        let mut doc = full.clone();
                        doc.as_object_mut().unwrap().remove(*drop);
                        doc
                    })
                    .collect(),
                _ => vec![full],
            };
            for doc in docs {
                let errors: Vec<String> = generated::iter_errors(a.file, &doc)
                    .map(|e| e.to_string())
                    .collect();
                assert!(
                    errors.is_empty(),
                    "{}: the generated document is invalid: {errors:?}\n{doc:#}",
                    a.uri
                );
                let parsed = match a.kind {
                    ConfigKind::Cluster => {
                        serde_json::from_value::<crate::model::ClusterConfig>(doc.clone())
                            .map(|_| ())
                    }
                    ConfigKind::Playbook => {
                        serde_json::from_value::<crate::model::PlaybookConfig>(doc.clone())
                            .map(|_| ())
                    }
                    ConfigKind::Serverless => {
                        serde_json::from_value::<crate::serverless::ServerlessConfig>(doc.clone())
                            .map(|_| ())
                    }
                };
                assert!(
                    parsed.is_ok(),
                    "{}: the model rejects a field the schema allows: {parsed:?}",
                    a.uri
                );
            }
        }
    }
}
