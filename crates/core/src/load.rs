//! From the text of a config file to a validated config: render the template (its vars giving values only, see
//! [`crate::structure`]), parse JSON, check the self-describing envelope, validate against the schema,
//! deserialize, then the cross-field checks.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::checks;
use crate::diagnostics::{ConfigErrors, Diagnostic, LineIndex};
use crate::model::{ClusterConfig, PlaybookConfig};
use crate::schema::{self, AcceptedSchema, ConfigKind, ACCEPTED};
use crate::serverless::ServerlessConfig;
use gotemplate::TemplateEnv;

/// A validated config and what is worth telling the user about it.
#[derive(Debug, Clone)]
pub struct Loaded<T> {
    pub config: T,
    pub schema: &'static AcceptedSchema,
    pub warnings: Vec<Diagnostic>,
    /// The JSON document the config was read from, after templating: what the dataflow-runner CLI sends, so the
    /// functions need not render it again.
    pub document: serde_json::Value,
    /// The line each JSON path of the rendered text starts on: for the checks made after loading (the EMR
    /// Serverless translation of a playbook) to locate their problems as loading does.
    pub lines: std::sync::Arc<LineIndex>,
    /// Each value `systemEnv` gave the config, with its label: what a message about the config made after loading
    /// must not echo either (see [`ConfigErrors::redact`]). The values are in the config already.
    pub redactions: Vec<(String, String)>,
}

/// The largest config file, before and after templating, in bytes. Real configs are a few kilobytes; EMR's own
/// request limits are far below this; and a bound keeps a hostile or runaway file (or what a template makes of
/// it) from costing a Lambda its memory and time.
pub const MAX_CONFIG_BYTES: usize = 1024 * 1024;

/// A config file's bytes as text. Configs are UTF-8 (as JSON is); anything else is refused with the line and
/// column of the first byte that is not, before anything else reads the file.
pub fn text_from_bytes(file: &str, bytes: Vec<u8>) -> Result<String, ConfigErrors> {
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let at = e.utf8_error().valid_up_to();
        let line_start = bytes[..at]
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        let line = bytes[..at].iter().filter(|b| **b == b'\n').count() + 1;
        ConfigErrors::from(
            Diagnostic::new(
                file,
                "",
                format!(
                    "not UTF-8 text: byte 0x{:02X} at column {} is not valid UTF-8",
                    bytes[at],
                    at - line_start + 1
                ),
            )
            .with_line(Some(line))
            .with_hint(
                "save the file as UTF-8 (it may have been saved as Latin-1 or Windows-1252); to pass binary \
                 content, read it with base64File",
            ),
        )
    })
}

/// Refuses a config text larger than [`MAX_CONFIG_BYTES`]; `stage` says whether it is the file or its rendering.
fn check_size(file: &str, text: &str, stage: &str) -> Result<(), ConfigErrors> {
    if text.len() <= MAX_CONFIG_BYTES {
        return Ok(());
    }
    Err(ConfigErrors::from(
        Diagnostic::new(
            file,
            "",
            format!(
                "{stage} is {} bytes: too large (a config is at most {} bytes)",
                text.len(),
                MAX_CONFIG_BYTES
            ),
        )
        .with_hint(
            "a config is a few kilobytes: move large content out of it (a file on S3 the step reads, rather than \
             base64File of it), and check that no template repeats more than intended",
        ),
    ))
}

/// Renders, parses and validates a ClusterConfig file. No message quotes a value read with `systemEnv`.
pub fn load_cluster(
    file: &str,
    text: &str,
    vars: &BTreeMap<String, String>,
    env: &dyn TemplateEnv,
) -> Result<Loaded<ClusterConfig>, ConfigErrors> {
    let env = RecordingEnv::new(env);
    let loaded = render(file, text, vars, &env).and_then(|r| cluster_from_text(file, &r));
    env.redact(loaded)
}

/// Where a playbook runs: an EMR cluster or EMR Serverless, as the file's schema says.
#[derive(Debug, Clone)]
pub enum RunPlace {
    Cluster(Box<Loaded<ClusterConfig>>),
    Serverless(Box<Loaded<ServerlessConfig>>),
}

impl RunPlace {
    pub fn schema(&self) -> &'static AcceptedSchema {
        match self {
            Self::Cluster(c) => c.schema,
            Self::Serverless(s) => s.schema,
        }
    }

    pub fn warnings(&self) -> &[Diagnostic] {
        match self {
            Self::Cluster(c) => &c.warnings,
            Self::Serverless(s) => &s.warnings,
        }
    }
}

/// Renders, parses and validates a ClusterConfig or a ServerlessConfig file, told apart by its schema URI. No
/// message quotes a value read with `systemEnv`.
pub fn load_run_place(
    file: &str,
    text: &str,
    vars: &BTreeMap<String, String>,
    env: &dyn TemplateEnv,
) -> Result<RunPlace, ConfigErrors> {
    let env = RecordingEnv::new(env);
    let rendered = match render(file, text, vars, &env) {
        Ok(r) => r,
        Err(e) => {
            return env
                .redact::<ClusterConfig>(Err(e))
                .map(|c| RunPlace::Cluster(Box::new(c)))
        }
    };
    let serverless = serde_json::from_str::<Value>(&rendered).is_ok_and(|v| {
        v.get("schema")
            .and_then(Value::as_str)
            .and_then(schema::accepted)
            .is_some_and(|a| a.kind == ConfigKind::Serverless)
    });
    if serverless {
        env.redact(serverless_from_text(file, &rendered))
            .map(|s| RunPlace::Serverless(Box::new(s)))
    } else {
        env.redact(run_place_from_text(file, &rendered))
            .map(|c| RunPlace::Cluster(Box::new(c)))
    }
}

/// Renders, parses and validates a PlaybookConfig file. No message quotes a value read with `systemEnv`.
pub fn load_playbook(
    file: &str,
    text: &str,
    vars: &BTreeMap<String, String>,
    env: &dyn TemplateEnv,
) -> Result<Loaded<PlaybookConfig>, ConfigErrors> {
    let env = RecordingEnv::new(env);
    let loaded = render(file, text, vars, &env).and_then(|r| playbook_from_text(file, &r));
    env.redact(loaded)
}

/// Notes every value `systemEnv` hands out, so that no error or warning echoes one: environment variables
/// are where secrets live, and messages end up in terminals, logs and execution histories.
struct RecordingEnv<'a> {
    inner: &'a dyn TemplateEnv,
    read: std::cell::RefCell<Vec<(String, String)>>,
}

impl<'a> RecordingEnv<'a> {
    fn new(inner: &'a dyn TemplateEnv) -> Self {
        Self {
            inner,
            read: Default::default(),
        }
    }

    fn redact<T>(self, loaded: Result<Loaded<T>, ConfigErrors>) -> Result<Loaded<T>, ConfigErrors> {
        let secrets = self.read.into_inner();
        if secrets.is_empty() {
            return loaded;
        }
        match loaded {
            Ok(mut ok) => {
                for w in &mut ok.warnings {
                    w.redact(&secrets);
                }
                ok.redactions = secrets;
                Ok(ok)
            }
            Err(e) => Err(e.redact(&secrets)),
        }
    }
}

impl TemplateEnv for RecordingEnv<'_> {
    fn now(&self) -> chrono::DateTime<chrono::FixedOffset> {
        self.inner.now()
    }

    fn env_var(&self, name: &str) -> Option<String> {
        let value = self.inner.env_var(name);
        if let Some(v) = value.as_ref().filter(|v| !v.is_empty()) {
            let label = format!("value of systemEnv {name}");
            self.read.borrow_mut().push((v.clone(), label));
        }
        value
    }

    fn refuse_env_var(&self, name: &str) -> Option<String> {
        self.inner.refuse_env_var(name)
    }

    fn read_file(&self, path: &str) -> std::io::Result<Vec<u8>> {
        self.inner.read_file(path)
    }

    fn local_offset(&self, instant: chrono::DateTime<chrono::Utc>) -> chrono::FixedOffset {
        self.inner.local_offset(instant)
    }

    fn zone_abbreviation(&self, time: &chrono::DateTime<chrono::FixedOffset>) -> Option<String> {
        self.inner.zone_abbreviation(time)
    }
}

/// Validates an already rendered ClusterConfig text.
pub fn cluster_from_text(file: &str, text: &str) -> Result<Loaded<ClusterConfig>, ConfigErrors> {
    cluster_of_kinds(file, text, &[ConfigKind::Cluster])
}

/// A rendered text that is not a ServerlessConfig, read as a ClusterConfig, its errors saying that either was
/// expected.
fn run_place_from_text(file: &str, text: &str) -> Result<Loaded<ClusterConfig>, ConfigErrors> {
    cluster_of_kinds(file, text, &[ConfigKind::Cluster, ConfigKind::Serverless])
}

fn cluster_of_kinds(
    file: &str,
    text: &str,
    expected: &[ConfigKind],
) -> Result<Loaded<ClusterConfig>, ConfigErrors> {
    checked(file, text, expected, |c, schema, lines| {
        checks::cluster(file, c, schema, lines)
    })
}

/// Validates an already rendered PlaybookConfig text.
pub fn playbook_from_text(file: &str, text: &str) -> Result<Loaded<PlaybookConfig>, ConfigErrors> {
    checked(file, text, &[ConfigKind::Playbook], |p, _, lines| {
        checks::playbook(file, p, lines)
    })
}

/// Validates an already rendered ServerlessConfig text.
pub fn serverless_from_text(
    file: &str,
    text: &str,
) -> Result<Loaded<ServerlessConfig>, ConfigErrors> {
    checked(file, text, &[ConfigKind::Serverless], |c, _, lines| {
        checks::serverless(file, c, lines)
    })
}

/// A rendered text parsed, validated against its schema (one of the `expected` kinds), deserialized, then put
/// through its kind's cross-field `checks`, whose warnings it keeps.
fn checked<T: DeserializeOwned>(
    file: &str,
    text: &str,
    expected: &[ConfigKind],
    checks: impl FnOnce(
        &mut T,
        &'static AcceptedSchema,
        &LineIndex,
    ) -> Result<Vec<Diagnostic>, ConfigErrors>,
) -> Result<Loaded<T>, ConfigErrors> {
    let value = parse_json(file, text)?;
    let lines = LineIndex::new(text);
    no_duplicates(file, &lines)?;
    let mut loaded: Loaded<T> = from_value(file, &value, &lines, expected)?;
    let warnings = checks(&mut loaded.config, loaded.schema, &lines)?;
    loaded.warnings.extend(warnings);
    loaded.lines = std::sync::Arc::new(lines);
    Ok(loaded)
}

/// Refuses a member given twice in one object: the parser would keep the last one without a word, so a copy-paste
/// slip (or a var that closes its string and repeats a field) would silently replace what the file says.
fn no_duplicates(file: &str, lines: &LineIndex) -> Result<(), ConfigErrors> {
    let problems: Vec<Diagnostic> = lines
        .duplicates()
        .iter()
        .map(|d| {
            let name = crate::diagnostics::json_path(&d.pointer);
            Diagnostic::new(
                file,
                d.pointer.clone(),
                format!(
                    "given twice (first on line {}); only one value can hold",
                    d.first_line
                ),
            )
            .with_line(Some(d.line))
            .with_hint(format!("keep one `{name}` and remove the other"))
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ConfigErrors(problems))
    }
}

fn render(
    file: &str,
    text: &str,
    vars: &BTreeMap<String, String>,
    env: &dyn TemplateEnv,
) -> Result<String, ConfigErrors> {
    check_size(file, text, "the file")?;
    let rendered = gotemplate::render(file, text, vars, env).map_err(|e| {
        let d = Diagnostic::new(file, "", format!("template: {}", e.problem())).with_line(e.line());
        let d = match e.fix() {
            Some(fix) => d.with_hint(fix),
            None => d,
        };
        ConfigErrors::from(d)
    })?;
    check_size(file, &rendered, "the file after templating")?;
    crate::structure::check(file, text, vars, env, &rendered)?;
    Ok(rendered)
}

fn parse_json(file: &str, text: &str) -> Result<Value, ConfigErrors> {
    serde_json::from_str(text).map_err(|e| {
        let message = e.to_string();
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_string();
        let hint = if message.contains("recursion limit exceeded") {
            // serde_json's own bound, which keeps parsing (and everything after it) off the stack's edge.
            "values are nested more than 128 deep here: no config nests that deep; check what generated the file"
        } else if message.contains("control character") {
            "a control character (a tab, a line break, a NUL byte) inside a string must be escaped: \\t, \\n, \\u0000"
        } else if message.contains("expected `,`") {
            "a comma is probably missing between this element and the previous one"
        } else if message.contains("trailing comma") {
            "remove the comma after the last element"
        } else if text.trim().is_empty() {
            "the file is empty: a config is {\"schema\": \"iglu:…\", \"data\": {…}}"
        } else if message.contains("EOF") {
            "the file ends early: check that every { and [ is closed"
        } else {
            "fix the JSON syntax at this position (after templating)"
        };
        ConfigErrors::from(
            Diagnostic::new(
                file,
                "",
                format!("invalid JSON at column {}: {message}", e.column()),
            )
            .with_line(Some(e.line()))
            .with_hint(hint),
        )
    })
}

fn from_value<T: DeserializeOwned>(
    file: &str,
    value: &Value,
    lines: &LineIndex,
    expected: &[ConfigKind],
) -> Result<Loaded<T>, ConfigErrors> {
    let schema = envelope(file, value, lines, expected)?;
    let data = &value["data"];
    let diagnostics = schema::validate(schema, data, file, lines);
    if !diagnostics.is_empty() {
        return Err(ConfigErrors(diagnostics));
    }
    let config = serde_json::from_value(data.clone()).map_err(|e| {
        // The schema and the types agree (a test checks it); this is a defect, reported rather than hidden.
        ConfigErrors::from(Diagnostic::new(
            file,
            "/data",
            format!("internal: schema accepted what the model rejects: {e}"),
        ))
    })?;
    Ok(Loaded {
        config,
        schema,
        warnings: Vec::new(),
        document: value.clone(),
        lines: Default::default(),
        redactions: Vec::new(),
    })
}

fn envelope(
    file: &str,
    value: &Value,
    lines: &LineIndex,
    expected: &[ConfigKind],
) -> Result<&'static AcceptedSchema, ConfigErrors> {
    let at = |pointer: &str, message: String, hint: String| {
        ConfigErrors::from(
            Diagnostic::new(file, pointer, message)
                .with_line(lines.line_of(pointer))
                .with_hint(hint),
        )
    };
    let accepted_list = || {
        ACCEPTED
            .iter()
            .filter(|a| expected.contains(&a.kind))
            .map(|a| a.uri)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(obj) = value.as_object() else {
        return Err(at(
            "",
            "a config file must be a JSON object".into(),
            "wrap it as {\"schema\": \"iglu:…\", \"data\": {…}}".into(),
        ));
    };
    let mut problems = Vec::new();
    for key in obj.keys().filter(|k| *k != "schema" && *k != "data") {
        problems.push(
            Diagnostic::new(
                file,
                format!("/{key}"),
                format!("unknown field `{key}` next to `schema` and `data`"),
            )
            .with_line(lines.line_of(&format!("/{key}")))
            .with_hint("move it inside `data`, or remove it"),
        );
    }
    let uri = match obj.get("schema") {
        Some(Value::String(s)) => s.as_str(),
        Some(_) => {
            return Err(at(
                "/schema",
                "`schema` must be a string".into(),
                format!("use one of: {}", accepted_list()),
            ))
        }
        None => {
            return Err(at(
                "",
                "this is not a self-describing config: `schema` is missing".into(),
                format!("add \"schema\" with one of: {}", accepted_list()),
            ))
        }
    };
    let Some(schema) = schema::accepted(uri) else {
        let close = crate::diagnostics::did_you_mean(
            uri,
            ACCEPTED
                .iter()
                .filter(|a| expected.contains(&a.kind))
                .map(|a| a.uri),
        );
        let hint = match close {
            Some(c) => format!("did you mean \"{c}\"? Accepted: {}", accepted_list()),
            None => format!("use one of: {}", accepted_list()),
        };
        return Err(at("/schema", format!("unknown schema \"{uri}\""), hint));
    };
    if !expected.contains(&schema.kind) {
        let hint = match schema.kind {
            ConfigKind::Cluster => {
                "pass this file as --emr-config (in the Lambdas: the execution input's \"cluster\")"
            }
            ConfigKind::Playbook => {
                "pass this file as --emr-playbook (in the Lambdas: the execution input's \"playbook\")"
            }
            ConfigKind::Serverless => {
                "a ServerlessConfig is read by `dataflow-runner validate` and `plan` (--emr-config); runs on EMR \
                 Serverless are not started yet: use a ClusterConfig to run the playbook"
            }
        };
        let labels: Vec<&str> = expected.iter().map(|k| k.label()).collect();
        return Err(at(
            "/schema",
            format!(
                "this file is a {}, but a {} was expected here",
                schema.kind.label(),
                labels.join(" or ")
            ),
            hint.to_string(),
        ));
    }
    if !obj.get("data").is_some_and(Value::is_object) {
        problems.push(
            Diagnostic::new(file, "/data", "`data` must be an object holding the config")
                .with_line(lines.line_of("/data"))
                .with_hint("put the config fields inside \"data\": {…}"),
        );
    }
    if problems.is_empty() {
        Ok(schema)
    } else {
        Err(ConfigErrors(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_is_not_utf8_is_refused_at_its_first_bad_byte() {
        let err = text_from_bytes("c.json", b"{\n  \"name\": \"donn\xe9es\"\n}".to_vec())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("c.json:2: not UTF-8 text: byte 0xE9 at column 16"),
            "{err}"
        );
        assert_eq!(text_from_bytes("c.json", b"{}".to_vec()).unwrap(), "{}");
    }

    /// A template environment that must not be asked anything.
    struct NeverAsked;

    impl TemplateEnv for NeverAsked {
        fn now(&self) -> chrono::DateTime<chrono::FixedOffset> {
            unreachable!("the clock was read")
        }
        fn env_var(&self, name: &str) -> Option<String> {
            unreachable!("systemEnv {name} was read")
        }
        fn read_file(&self, path: &str) -> std::io::Result<Vec<u8>> {
            unreachable!("base64File {path} was read")
        }
    }

    #[test]
    fn a_config_larger_than_the_bound_is_refused_before_rendering() {
        let text = format!(
            "{{\"schema\": \"x\", \"data\": {{}}}}{}",
            " ".repeat(MAX_CONFIG_BYTES)
        );
        let err = load_cluster("big.json", &text, &BTreeMap::new(), &NeverAsked)
            .unwrap_err()
            .to_string();
        assert!(err.contains("big.json: the file is"), "{err}");
        assert!(err.contains("too large"), "{err}");
    }
}
