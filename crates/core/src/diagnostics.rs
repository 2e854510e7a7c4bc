//! Located problems in a config file: which file, which JSON path, which line, what is wrong and how to fix it.

use std::collections::HashMap;
use std::fmt;

use jsonc_parser::ast::Value as Ast;
use jsonc_parser::common::Ranged;

/// One problem in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file name as the user gave it (or a label such as `execution input $.cluster`).
    pub file: String,
    /// JSON Pointer to the offending value (`/data/ec2/instances/core/bid`); empty for the whole file.
    pub pointer: String,
    /// 1-based line in the (rendered) file, when known.
    pub line: Option<usize>,
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn new(file: &str, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: file.to_string(),
            pointer: pointer.into(),
            line: None,
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_line(mut self, line: Option<usize>) -> Self {
        self.line = line;
        self
    }

    /// The JSON path a person reads: `data.steps[2].actionOnFailure`.
    pub fn json_path(&self) -> String {
        json_path(&self.pointer)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.pointer.is_empty() {
            write!(f, ": {}", self.json_path())?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n    fix: {hint}")?;
        }
        Ok(())
    }
}

/// Every problem found in the configs, reported together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors(pub Vec<Diagnostic>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(f, "{n} problem{} found:", if n == 1 { "" } else { "s" })?;
        for d in &self.0 {
            writeln!(f, "  {d}")?;
        }
        Ok(())
    }
}

impl Diagnostic {
    /// Replaces every occurrence of each secret (and of its JSON-escaped form) in the message and hint.
    pub fn redact(&mut self, secrets: &[(String, String)]) {
        for text in [Some(&mut self.message), self.hint.as_mut()]
            .into_iter()
            .flatten()
        {
            *text = redact(text, secrets);
        }
    }
}

/// `text` with each `(value, label)` value replaced by `«label»`. Values are also matched as they appear
/// JSON-escaped, which is how a rendered value is quoted back in messages.
pub fn redact(text: &str, secrets: &[(String, String)]) -> String {
    let mut out = text.to_string();
    for (value, label) in secrets {
        if value.is_empty() {
            continue;
        }
        let escaped = serde_json::to_string(value).unwrap_or_default();
        let escaped = escaped.trim_matches('"');
        for form in [value.as_str(), escaped] {
            if !form.is_empty() && out.contains(form) {
                out = out.replace(form, &format!("«{label}»"));
            }
        }
    }
    out
}

impl ConfigErrors {
    /// See [`Diagnostic::redact`].
    pub fn redact(mut self, secrets: &[(String, String)]) -> Self {
        for d in &mut self.0 {
            d.redact(secrets);
        }
        self
    }
}

impl From<Diagnostic> for ConfigErrors {
    fn from(d: Diagnostic) -> Self {
        Self(vec![d])
    }
}

/// Renders a JSON Pointer as a dotted path with `[i]` for array indexes.
pub fn json_path(pointer: &str) -> String {
    let mut out = String::new();
    for raw in pointer.split('/').skip(1) {
        let seg = raw.replace("~1", "/").replace("~0", "~");
        if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{seg}]"));
        } else if seg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            && !seg.is_empty()
        {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        } else {
            out.push_str(&format!("[{seg:?}]"));
        }
    }
    out
}

/// Escapes one segment of a JSON Pointer.
pub fn pointer_segment(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// Maps every JSON Pointer in a document to the line its value (or, for object members, its key) starts on.
#[derive(Debug, Default)]
pub struct LineIndex {
    lines: HashMap<String, usize>,
    duplicates: Vec<Duplicate>,
}

/// A member given twice in one object: JSON parsers keep only the last, so the first is silently lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    pub pointer: String,
    pub line: usize,
    pub first_line: usize,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut index = Self {
            lines: HashMap::new(),
            duplicates: Vec::new(),
        };
        let options = jsonc_parser::ParseOptions::default();
        if let Ok(parsed) = jsonc_parser::parse_to_ast(text, &Default::default(), &options) {
            if let Some(value) = &parsed.value {
                let starts = line_starts(text);
                walk(value, String::new(), value.start(), &starts, &mut index);
            }
        }
        index
    }

    /// The members given more than once, in document order.
    pub fn duplicates(&self) -> &[Duplicate] {
        &self.duplicates
    }

    /// The line of the value at `pointer`, or of its nearest ancestor that exists.
    pub fn line_of(&self, pointer: &str) -> Option<usize> {
        let mut p = pointer;
        loop {
            if let Some(line) = self.lines.get(p) {
                return Some(*line);
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return None,
            }
        }
    }

    /// The deepest value that starts on `line`, or else the last one that starts before it: where a problem
    /// known only by its line is.
    pub fn deepest_on(&self, line: usize) -> Option<String> {
        self.lines
            .iter()
            .filter(|(_, l)| **l <= line)
            .max_by_key(|(p, l)| (**l, p.matches('/').count(), std::cmp::Reverse((*p).clone())))
            .map(|(p, _)| p.clone())
    }
}

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

fn line_at(starts: &[usize], offset: usize) -> usize {
    match starts.binary_search(&offset) {
        Ok(i) => i + 1,
        Err(i) => i,
    }
}

fn walk(value: &Ast<'_>, pointer: String, start: usize, starts: &[usize], out: &mut LineIndex) {
    out.lines
        .entry(pointer.clone())
        .or_insert(line_at(starts, start));
    match value {
        Ast::Object(obj) => {
            let mut seen: HashMap<&str, usize> = HashMap::new();
            for prop in &obj.properties {
                let child = format!("{pointer}/{}", pointer_segment(prop.name.as_str()));
                let line = line_at(starts, prop.range.start);
                if let Some(first_line) = seen.insert(prop.name.as_str(), line) {
                    out.duplicates.push(Duplicate {
                        pointer: child.clone(),
                        line,
                        first_line,
                    });
                }
                walk(&prop.value, child, prop.range.start, starts, out);
            }
        }
        Ast::Array(arr) => {
            for (i, el) in arr.elements.iter().enumerate() {
                walk(el, format!("{pointer}/{i}"), el.start(), starts, out);
            }
        }
        _ => {}
    }
}

/// The closest candidate by edit distance, if it is close enough to be a plausible typo.
pub fn did_you_mean<'a>(
    wrong: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = wrong.to_ascii_lowercase();
    let candidates: Vec<&'a str> = candidates.into_iter().collect();
    let close = candidates
        .iter()
        .map(|c| {
            (
                *c,
                strsim::damerau_levenshtein(&lower, &c.to_ascii_lowercase()),
            )
        })
        .filter(|(c, d)| *d <= (c.chars().count().max(wrong.chars().count()) / 3).max(1))
        .min_by_key(|(_, d)| *d)
        .map(|(c, _)| c);
    // An abbreviation ("args" for "arguments") is too far by edit distance, but plainly meant.
    close.or_else(|| {
        candidates
            .into_iter()
            .find(|c| abbreviates(&lower, &c.to_ascii_lowercase()))
    })
}

/// `short` starts like `long` (three letters at least) and the rest of its letters appear in `long` in order.
fn abbreviates(short: &str, long: &str) -> bool {
    // By characters: `short` is the user's text, whose third byte may be inside a character.
    let head: String = short.chars().take(3).collect();
    if head.chars().count() < 3 || long.len() <= short.len() || !long.starts_with(&head) {
        return false;
    }
    let mut rest = long.chars();
    short.chars().all(|c| rest.any(|l| l == c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_path_reads_like_code() {
        assert_eq!(
            json_path("/data/steps/2/actionOnFailure"),
            "data.steps[2].actionOnFailure"
        );
        assert_eq!(
            json_path("/data/configurations/0/properties/a.b"),
            "data.configurations[0].properties[\"a.b\"]"
        );
        assert_eq!(json_path(""), "");
    }

    #[test]
    fn line_index_finds_members_and_elements() {
        let text = "{\n  \"data\": {\n    \"steps\": [\n      {\"name\": 1},\n      {\"name\": 2}\n    ]\n  }\n}";
        let idx = LineIndex::new(text);
        assert_eq!(idx.line_of("/data"), Some(2));
        assert_eq!(idx.line_of("/data/steps/1/name"), Some(5));
        // a missing member is reported at its parent
        assert_eq!(idx.line_of("/data/steps/1/jar"), Some(5));
    }

    #[test]
    fn line_index_finds_members_given_twice() {
        let text = "{\n  \"data\": {\n    \"name\": \"a\",\n    \"logUri\": \"x\",\n    \"name\": \"b\"\n  }\n}";
        let idx = LineIndex::new(text);
        assert_eq!(
            idx.duplicates(),
            [Duplicate {
                pointer: "/data/name".into(),
                line: 5,
                first_line: 3
            }]
        );
        assert_eq!(idx.line_of("/data/name"), Some(3), "the first one's line");
    }

    #[test]
    fn did_you_mean_finds_typos_not_strangers() {
        let keys = ["actionOnFailure", "arguments", "jar", "name", "type"];
        assert_eq!(did_you_mean("argumnets", keys), Some("arguments"));
        assert_eq!(
            did_you_mean("ActionOnFailure", keys),
            Some("actionOnFailure")
        );
        assert_eq!(did_you_mean("zzzzzz", keys), None);
        assert_eq!(did_you_mean("args", keys), Some("arguments"));
    }

    #[test]
    fn when_a_wrong_name_has_multibyte_characters_did_you_mean_should_answer_without_panicking() {
        let keys = ["actionOnFailure", "arguments", "jar", "name", "type"];
        // Byte 3 is inside the character in each.
        for wrong in ["ar€", "aé€", "€€€€", "jé"] {
            assert_eq!(did_you_mean(wrong, keys), None, "{wrong}");
        }
        assert_eq!(did_you_mean("argumenté", keys), Some("arguments"));
    }

    #[test]
    fn display_names_file_line_path_and_fix() {
        let d = Diagnostic::new("playbook.json", "/data/steps/0/jar", "missing")
            .with_line(Some(9))
            .with_hint("add it");
        assert_eq!(
            d.to_string(),
            "playbook.json:9: data.steps[0].jar: missing\n    fix: add it"
        );
    }
}
