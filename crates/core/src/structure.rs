//! Vars give values, never structure. The text is rendered before it is parsed, so a var whose value closes a
//! string (`x", "bootstrapActionConfigs": […], "y": "z`) or an array could add fields the config does not have:
//! whoever sets only the vars (an execution input, a schedule's target) would write the config.
//!
//! The rule: JSON structure needs one of [`STRUCTURAL`] (a quote or a backslash to leave a string, a brace or a
//! bracket to nest or close, a comma to add an element, a `%` to make `printf` write any of them). Every var whose
//! value holds one is rendered a second time with each of those characters replaced by a letter, and both
//! renderings must have the same shape: the same members in every object, the same number of elements in every
//! array, the same kind of value at every place. Vars without such a character are left as they are, so a var
//! used unquoted for a number or a boolean, or compared in an `{{if}}`, renders as before, and a config whose
//! vars hold none costs no second rendering.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::diagnostics::{pointer_segment, ConfigErrors, Diagnostic, LineIndex};
use gotemplate::TemplateEnv;

/// The characters a value needs to change JSON structure (see the module docs).
pub const STRUCTURAL: [char; 8] = ['"', '\\', '{', '}', '[', ']', ',', '%'];
/// What replaces each of them: a letter, which changes no structure inside or outside a string.
const NEUTRAL: char = 'x';
/// How many vars are rendered one by one to name the one responsible when several could be.
const MAX_BLAME_RENDERS: usize = 8;

const FIX: &str = "a var may only give a value: put the field or element in the config itself, and use the var \
                   inside a JSON string or for a whole number (a quote or backslash in a string value is written \
                   \\\" or \\\\)";

fn neutral(s: &str) -> String {
    s.chars()
        .map(|c| if STRUCTURAL.contains(&c) { NEUTRAL } else { c })
        .collect()
}

/// Where the rendering with `vars` differs in shape from the rendering with some vars neutralized.
struct Difference {
    pointer: String,
    line: Option<usize>,
    what: String,
}

/// Refuses `rendered` (the text rendered with `vars`) if a var's value gives it structure. A rendering that is not
/// JSON is left to the parser's own error.
pub(crate) fn check(
    file: &str,
    text: &str,
    vars: &BTreeMap<String, String>,
    env: &dyn TemplateEnv,
    rendered: &str,
) -> Result<(), ConfigErrors> {
    let suspects: Vec<&str> = vars
        .iter()
        .filter(|(_, v)| v.contains(STRUCTURAL))
        .map(|(k, _)| k.as_str())
        .collect();
    if suspects.is_empty() {
        return Ok(());
    }
    let Ok(real) = serde_json::from_str::<Value>(rendered) else {
        return Ok(());
    };
    let lines = LineIndex::new(rendered);
    let differs = |neutralized: &[&str]| {
        let mut others = vars.clone();
        for name in neutralized {
            if let Some(v) = others.get_mut(*name) {
                *v = neutral(v);
            }
        }
        compare_rendering(file, text, &others, env, &real, &lines)
    };
    let Some(first) = differs(&suspects) else {
        return Ok(());
    };
    let (blamed, difference) = if suspects.len() == 1 {
        (format!("the var `{}`", suspects[0]), first)
    } else {
        suspects
            .iter()
            .take(MAX_BLAME_RENDERS)
            .find_map(|name| differs(&[name]).map(|d| (format!("the var `{name}`"), d)))
            .unwrap_or_else(|| {
                let names: Vec<String> = suspects.iter().map(|n| format!("`{n}`")).collect();
                (format!("one of the vars {}", names.join(", ")), first)
            })
    };
    Err(ConfigErrors::from(
        Diagnostic::new(
            file,
            difference.pointer,
            format!(
                "{blamed} gives the config structure, not only a value: {}",
                difference.what
            ),
        )
        .with_line(difference.line)
        .with_hint(FIX),
    ))
}

fn compare_rendering(
    file: &str,
    text: &str,
    vars: &BTreeMap<String, String>,
    env: &dyn TemplateEnv,
    real: &Value,
    lines: &LineIndex,
) -> Option<Difference> {
    let Ok(other) = gotemplate::render(file, text, vars, env) else {
        return Some(Difference {
            pointer: String::new(),
            line: None,
            what: "the template renders only with its value as it is".into(),
        });
    };
    match serde_json::from_str::<Value>(&other) {
        // Neutralizing keeps every line where it was: the error's line is where the value is needed.
        Err(e) => Some(Difference {
            pointer: container_on(real, lines, e.line()),
            line: Some(e.line()),
            what: "the config is JSON only with the value's quotes, brackets, braces or commas"
                .into(),
        }),
        Ok(value) => shape_difference(real, &value, String::new())
            .map(|(pointer, what)| Difference {
                line: lines.line_of(&pointer),
                pointer,
                what,
            })
            .or_else(|| repeated_member(lines, &LineIndex::new(&other))),
    }
}

/// A member the value repeats: the parser keeps one of the two, so the shapes alone look alike.
fn repeated_member(lines: &LineIndex, other: &LineIndex) -> Option<Difference> {
    if lines.duplicates().len() <= other.duplicates().len() {
        return None;
    }
    let d = lines.duplicates().first()?;
    let parent = d.pointer.rsplit_once('/').map_or("", |(p, _)| p);
    Some(Difference {
        pointer: parent.to_string(),
        line: Some(d.line),
        what: "with its value this object has a member twice (the value closes a string and repeats a field)"
            .into(),
    })
}

/// The deepest object or array that starts on `line` (or before it): a member's name there may be the value's.
fn container_on(real: &Value, lines: &LineIndex, line: usize) -> String {
    let mut pointer = lines.deepest_on(line).unwrap_or_default();
    while !matches!(
        real.pointer(&pointer),
        Some(Value::Object(_) | Value::Array(_))
    ) {
        match pointer.rsplit_once('/') {
            Some((parent, _)) => pointer = parent.to_string(),
            None => return String::new(),
        }
    }
    pointer
}

fn count(n: usize, what: &str) -> String {
    match n {
        1 => format!("1 {what}"),
        _ => format!("{n} {what}s"),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The first place where `real` and `other` differ in shape, and how. Names of members are compared neutralized
/// (a var may write a name's letters, as any string's), and never quoted: they may be the var's value.
fn shape_difference(real: &Value, other: &Value, pointer: String) -> Option<(String, String)> {
    match (real, other) {
        (Value::Object(a), Value::Object(b)) => {
            let b_names: BTreeMap<String, &Value> =
                b.iter().map(|(k, v)| (neutral(k), v)).collect();
            let same = a.len() == b.len() && a.keys().all(|k| b_names.contains_key(&neutral(k)));
            if !same {
                return Some((
                    pointer,
                    format!(
                        "with its value this object has {}, without its punctuation {} (the value closes a string \
                         and adds or hides fields)",
                        count(a.len(), "member"),
                        b.len()
                    ),
                ));
            }
            a.iter().find_map(|(k, v)| {
                shape_difference(
                    v,
                    b_names[&neutral(k)],
                    format!("{pointer}/{}", pointer_segment(k)),
                )
            })
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                return Some((
                    pointer,
                    format!(
                        "with its value this array has {}, without its punctuation {}",
                        count(a.len(), "element"),
                        b.len()
                    ),
                ));
            }
            a.iter()
                .zip(b)
                .enumerate()
                .find_map(|(i, (x, y))| shape_difference(x, y, format!("{pointer}/{i}")))
        }
        (a, b) if kind(a) == kind(b) => None,
        (a, b) => Some((
            pointer,
            format!(
                "with its value this is {}, without its punctuation {}",
                kind(a),
                kind(b)
            ),
        )),
    }
}
