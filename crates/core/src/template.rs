//! Templating of config files, compatible with Dataflow Runner's Go `text/template` pass.
//!
//! The original renders the raw text of both config files with Go's `text/template` before JSON parsing, with
//! `Option("missingkey=error")`, the `--vars` pairs as a `map[string]string` and five functions:
//! `nowWithFormat`, `timeWithFormat`, `systemEnv`, `base64` and `base64File`. [`render`] does the same on top
//! of the `gtmpl` crate (a Rust port of `text/template`). Text without `{{` is returned untouched without
//! involving gtmpl at all.
//!
//! # What gtmpl 0.7.1 lacks against Go, and how it is covered here
//!
//! * **`missingkey=error`**: gtmpl prints `<no value>` for a missing key of a map. The vars are passed as a
//!   gtmpl *object* instead, whose missing fields are an execution error, so exactly the keys Go would
//!   evaluate fail (a key used only in a branch that does not run is fine, as in Go). `index . "k"` still
//!   gives `""` for a missing key, as in Go (`index` is replaced for that).
//! * **Error positions**: gtmpl's execution errors carry no position and its parse errors carry a line that
//!   is off (its lexer counts lines wrongly). Positions are computed here from the source: a lexer that
//!   mirrors Go's (module `lex`) finds every action; a parse error is pinned to the first action whose prefix of
//!   the file no longer parses; an execution error is pinned by rendering again an instrumented copy in which
//!   each action first records its index (`{{__dfrAt N}}`; inside `{{else if}}` conditions via
//!   `and (__dfrIf N) (…)`), then the failing field or function is found in that action. Lines are 1-based,
//!   columns are Go's (0-based byte offset in the line).
//! * **Lexer and literal bugs**: gtmpl rejects newlines inside actions (Go allows them since 1.16), trims
//!   Unicode whitespace at trim markers (Go only trims ASCII space, tab, CR and LF), handles escapes inside raw
//!   strings, mis-decodes `\x`/`\u`/`\U` escapes (and loops forever on some), treats a literal ending in
//!   `\\` as unterminated, and reads hex integers as 0. The source handed to gtmpl is normalized by the `lex` module:
//!   trim markers and comments applied with Go's rules, action whitespace collapsed to single spaces,
//!   literals decoded with Go's rules and re-encoded safely, character constants and integers in decimal.
//! * **Builtins**: gtmpl lacks `html`, `js` and `slice` (added with Go's semantics); its `eq` requires all
//!   arguments to match (Go: any), its `urlquery` is not Go's `url.QueryEscape` and its `index` errors on a
//!   missing map key; these are replaced. `printf`, `print`, `println`, `len`, `not`, `and`, `or`, `if`,
//!   `range`, `with`, `define`/`template`/`block`, variables and trim markers are gtmpl's.
//! * **Functions and the environment**: gtmpl functions are plain `fn` pointers; the injected
//!   [`TemplateEnv`] is reached through a per-render session (see `funcs`), so no global state leaks between
//!   renders and tests need no real clock, environment or files.
//!
//! # Known remaining differences (none matter for the real-world configs)
//!
//! * `and`/`or` evaluate all their arguments (Go 1.18+ stops early), so `{{if and .a .b}}` with `.a` false
//!   and `.b` missing is an error here but not in Go.
//! * `{{range .}}` over the vars map iterates in hash order (Go sorts the keys); `{{.}}` prints the map in
//!   Rust debug form instead of Go's `map[k:v]`.
//! * `printf` is gtmpl's: `%q` and some float verbs differ from Go; `break`/`continue` (Go 1.18) and
//!   `else with` (Go 1.23) are not supported.
//! * `MST` prints the zone abbreviation from [`TemplateEnv::zone_abbreviation`]: `UTC` for a zero offset by
//!   default, otherwise the numeric `+0100` form that Go uses for zones without a name (Go would print e.g.
//!   `CET` on a machine whose local zone has that name).
//! * `js` keeps non-ASCII characters except controls, whitespace and invisible format characters, an
//!   approximation of Go's `unicode.IsPrint`.

mod funcs;
mod golayout;
mod lex;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, FixedOffset, Local, Offset, Utc};
use gtmpl::error::{ExecError, ParseError};
use gtmpl::{Context, Template, Value};

use funcs::{Failure, Lookup, SessionGuard};
use lex::{Emit, Segment, TokKind};

/// Everything the templates read from the outside world, injected so the core stays pure and testable, and so
/// the Lambda functions can supply their own.
pub trait TemplateEnv {
    /// The current time in the local time zone (Go's `time.Now()`), used by `nowWithFormat`.
    fn now(&self) -> DateTime<FixedOffset>;

    /// An environment variable for `systemEnv`; `None` when unset (an error), `Some("")` when empty (fine).
    fn env_var(&self, name: &str) -> Option<String>;

    /// Why `systemEnv` may not read `name` at all, whatever its value (a Lambda refuses its own credentials);
    /// `None` to allow it.
    fn refuse_env_var(&self, name: &str) -> Option<String> {
        let _ = name;
        None
    }

    /// The bytes of a file for `base64File`; the path is as written in the template.
    fn read_file(&self, path: &str) -> std::io::Result<Vec<u8>>;

    /// The local time zone's offset at an instant (Go's `time.Unix(s, 0)` is in local time), used by
    /// `timeWithFormat`. Defaults to the offset of [`now`](Self::now).
    fn local_offset(&self, instant: DateTime<Utc>) -> FixedOffset {
        let _ = instant;
        self.now().offset().fix()
    }

    /// The zone abbreviation printed for the `MST` layout element. Defaults to `UTC` for a zero offset and
    /// `None` otherwise, which prints the numeric offset (`+0100`) as Go does for zones without a name.
    fn zone_abbreviation(&self, time: &DateTime<FixedOffset>) -> Option<String> {
        (time.offset().local_minus_utc() == 0).then(|| "UTC".to_string())
    }
}

/// The real environment: the system clock in the local time zone, the process environment, and files relative
/// to the working directory. `DATAFLOW_RUNNER_NOW` (RFC 3339) fixes the clock, so that a plan can be reproduced
/// for a given moment (the reference tests rely on it).
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

/// The variable that fixes [`ProcessEnv`]'s clock.
pub const FIXED_NOW_VAR: &str = "DATAFLOW_RUNNER_NOW";

impl TemplateEnv for ProcessEnv {
    fn now(&self) -> DateTime<FixedOffset> {
        match std::env::var(FIXED_NOW_VAR)
            .ok()
            .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
        {
            Some(fixed) => fixed.with_timezone(&Local).fixed_offset(),
            None => Local::now().fixed_offset(),
        }
    }

    fn env_var(&self, name: &str) -> Option<String> {
        std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
    }

    fn read_file(&self, path: &str) -> std::io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn local_offset(&self, instant: DateTime<Utc>) -> FixedOffset {
        instant.with_timezone(&Local).offset().fix()
    }
}

/// What went wrong in a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateErrorKind {
    /// The template does not parse (Go's message, e.g. `unexpected {{end}}`).
    Parse { message: String },
    /// `{{.name}}` was evaluated but `name` was not given with `--vars`.
    MissingVariable { name: String },
    /// A function that is neither one of the five nor a Go builtin.
    UnknownFunction { name: String },
    /// `systemEnv` of an unset variable.
    UnsetEnvVar { name: String },
    /// `systemEnv` of a name the environment refuses to give out (`why` says which rule and the fix).
    RefusedEnvVar { name: String, why: String },
    /// `base64File` of a file that cannot be read.
    UnreadableFile { path: String, message: String },
    /// `timeWithFormat` of something that is not epoch seconds.
    BadEpoch { value: String, message: String },
    /// Any other execution error (wrong argument types, `index` out of range, …).
    Exec { message: String },
    /// `--vars` with an odd number of items.
    InvalidVars { count: usize },
}

/// A template error: the file, the position when known, and what went wrong. Displays as
/// `cluster.json:3: map has no entry for key "owner" (pass it with --vars owner,VALUE)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct TemplateError(Box<Details>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Details {
    file: String,
    line: Option<usize>,
    column: Option<usize>,
    context: Option<String>,
    kind: TemplateErrorKind,
}

impl TemplateError {
    fn new(file: &str, kind: TemplateErrorKind) -> Self {
        TemplateError(Box::new(Details {
            file: file.to_string(),
            line: None,
            column: None,
            context: None,
            kind,
        }))
    }

    fn at(mut self, src: &str, pos: usize) -> Self {
        let (line, column) = lex::line_col(src, pos);
        self.0.line = Some(line);
        self.0.column = Some(column);
        self
    }

    /// The template name used in messages (the original uses the file's base name).
    pub fn file(&self) -> &str {
        &self.0.file
    }

    /// The 1-based line, when known.
    pub fn line(&self) -> Option<usize> {
        self.0.line
    }

    /// Go's column, the 0-based byte offset in the line, when known (Go reports none for parse errors).
    pub fn column(&self) -> Option<usize> {
        self.0.column
    }

    /// The source text of the failing node (`.owner`, `systemEnv`), Go's `at <…>`, when known.
    pub fn context(&self) -> Option<&str> {
        self.0.context.as_deref()
    }

    pub fn kind(&self) -> &TemplateErrorKind {
        &self.0.kind
    }

    /// What is wrong, without file, line or fix: `map has no entry for key "owner"`.
    pub fn problem(&self) -> String {
        match self.kind() {
            TemplateErrorKind::Parse { message } | TemplateErrorKind::Exec { message } => {
                message.clone()
            }
            TemplateErrorKind::MissingVariable { name } => {
                format!("map has no entry for key {}", funcs::go_quote(name))
            }
            TemplateErrorKind::UnknownFunction { name } => {
                format!("function {} not defined", funcs::go_quote(name))
            }
            TemplateErrorKind::UnsetEnvVar { name } => {
                format!("error calling systemEnv: environment variable {name} not set")
            }
            TemplateErrorKind::RefusedEnvVar { name, .. } => {
                format!("error calling systemEnv: environment variable {name} may not be read here")
            }
            TemplateErrorKind::UnreadableFile { path, message } => {
                format!("error calling base64File: open {path}: {message}")
            }
            TemplateErrorKind::BadEpoch { message, .. } => {
                format!("error calling timeWithFormat: {message}")
            }
            TemplateErrorKind::InvalidVars { .. } => {
                "--vars must have an even number of keys and values".into()
            }
        }
    }

    /// How to fix it, when there is a clear fix.
    pub fn fix(&self) -> Option<String> {
        match self.kind() {
            TemplateErrorKind::MissingVariable { name } => Some(format!(
                "pass it with --vars {name},VALUE (or --vars-file, or the execution input's \"vars\")"
            )),
            TemplateErrorKind::UnknownFunction { .. } => Some(
                "the functions are nowWithFormat, timeWithFormat, systemEnv, base64 and base64File, \
                 plus Go's builtins"
                    .into(),
            ),
            TemplateErrorKind::UnsetEnvVar { name } => Some(format!(
                "set {name} in the runner's environment (in the Lambdas: the execution input's \"env\")"
            )),
            TemplateErrorKind::RefusedEnvVar { why, .. } => Some(why.clone()),
            TemplateErrorKind::UnreadableFile { .. } => {
                Some("check the path; a relative path is relative to the working directory (in the Lambdas, the path \
                      must be a key of the execution input's \"files\")".into())
            }
            TemplateErrorKind::BadEpoch { .. } => {
                Some("the first argument must be Unix epoch seconds as a string, e.g. \"1495622024\"".into())
            }
            TemplateErrorKind::InvalidVars { .. } => Some("give key,value pairs: --vars k1,v1,k2,v2".into()),
            TemplateErrorKind::Parse { .. } => Some(
                "check the {{ … }} actions on this line: each needs its closing }}, and strings inside use double \
                 quotes; to write {{ literally, use {{\"{{\"}}"
                    .into(),
            ),
            TemplateErrorKind::Exec { .. } => None,
        }
    }

    /// The message Go's `text/template` prints for this error, e.g.
    /// `template: cluster.json:3:15: executing "cluster.json" at <.owner>: map has no entry for key "owner"`.
    pub fn go_message(&self) -> String {
        let mut location = self.file().to_string();
        if let Some(line) = self.line() {
            location.push_str(&format!(":{line}"));
        }
        match self.kind() {
            TemplateErrorKind::Parse { .. } | TemplateErrorKind::UnknownFunction { .. } => {
                format!("template: {location}: {}", self.problem())
            }
            TemplateErrorKind::InvalidVars { .. } => self.problem(),
            _ => {
                if let (Some(_), Some(column)) = (self.line(), self.column()) {
                    location.push_str(&format!(":{column}"));
                }
                let at = self
                    .context()
                    .map(|c| format!(" at <{c}>"))
                    .unwrap_or_default();
                format!(
                    "template: {location}: executing {}{at}: {}",
                    funcs::go_quote(self.file()),
                    self.problem()
                )
            }
        }
    }
}

impl TemplateError {
    /// The one-line message: `file:line: problem (fix)`.
    fn message(&self) -> String {
        if let TemplateErrorKind::InvalidVars { .. } = self.kind() {
            return self.problem();
        }
        let mut out = self.file().to_string();
        if let Some(line) = self.line() {
            out.push_str(&format!(":{line}"));
        }
        out.push_str(&format!(": {}", self.problem()));
        if let Some(fix) = self.fix() {
            out.push_str(&format!(" ({fix})"));
        }
        out
    }
}

/// Parses `--vars k1,v1,k2,v2` into a map: split on commas, an even count is required, a later duplicate key
/// wins, an empty string is an empty map. Keys and values are taken as written (no trimming), as the original.
pub fn parse_vars(s: &str) -> Result<BTreeMap<String, String>, TemplateError> {
    let mut vars = BTreeMap::new();
    if s.is_empty() {
        return Ok(vars);
    }
    let items: Vec<&str> = s.split(',').collect();
    if !items.len().is_multiple_of(2) {
        return Err(TemplateError::new(
            "--vars",
            TemplateErrorKind::InvalidVars { count: items.len() },
        ));
    }
    for pair in items.chunks(2) {
        vars.insert(pair[0].to_string(), pair[1].to_string());
    }
    Ok(vars)
}

/// Renders `text` as a Go template named `file_name` with `vars` and the five Dataflow Runner functions,
/// reading the clock, environment variables and files through `env`. Values are inserted raw (not
/// JSON-escaped), as Go does. Text without `{{` is returned unchanged.
pub fn render(
    file_name: &str,
    text: &str,
    vars: &BTreeMap<String, String>,
    env: &dyn TemplateEnv,
) -> Result<String, TemplateError> {
    if !text.contains("{{") {
        return Ok(text.to_string());
    }
    let segments = lex::scan(text).map_err(|e| {
        TemplateError::new(file_name, TemplateErrorKind::Parse { message: e.message })
            .at(text, e.pos)
    })?;
    let template = parse(
        file_name,
        &lex::emit(text, &segments, Emit::default()),
        false,
    )
    .map_err(|e| parse_error(file_name, text, &segments, &e))?;

    let data: HashMap<String, Value> = vars
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
        .collect();
    let context = Context::from(Value::Object(data));
    let session = SessionGuard::install();
    match execute(&template, &context, &session, env) {
        Ok(out) => Ok(out),
        Err(e) => {
            let error = exec_error(file_name, &e, &session);
            Err(locate_exec_error(
                error, text, &segments, &context, &session, env,
            ))
        }
    }
}

/// gtmpl's error types are large, so they travel boxed.
fn parse(file_name: &str, source: &str, markers: bool) -> Result<Template, Box<ParseError>> {
    let mut template = Template::with_name(file_name);
    template.add_funcs(&funcs::all());
    if markers {
        template.add_funcs(&funcs::markers());
    }
    template.parse(source).map_err(Box::new)?;
    Ok(template)
}

/// Renders, answering the session's questions from `env` until a pass needs nothing new.
fn execute(
    template: &Template,
    context: &Context,
    session: &SessionGuard,
    env: &dyn TemplateEnv,
) -> Result<String, Box<ExecError>> {
    loop {
        session.with(|s| {
            s.pending = None;
            s.failure = None;
            s.marker = None;
        });
        let result = template.render(context);
        let Some(lookup) = session.with(|s| s.pending.take()) else {
            return result.map_err(Box::new);
        };
        // The environment is asked outside the session's borrow, so it may do anything (even render).
        match lookup {
            Lookup::Now => {
                let now = env.now();
                let zone = env.zone_abbreviation(&now);
                session.with(|s| s.now = Some((now, zone)));
            }
            Lookup::Zone(secs) => {
                let instant = DateTime::from_timestamp(secs, 0).unwrap_or_default();
                let offset = env.local_offset(instant);
                let zone = env.zone_abbreviation(&instant.with_timezone(&offset));
                session.with(|s| s.zones.insert(secs, (offset, zone)));
            }
            Lookup::Env(name) => {
                let value = match env.refuse_env_var(&name) {
                    Some(why) => Err(why),
                    None => Ok(env.env_var(&name)),
                };
                session.with(|s| s.env.insert(name, value));
            }
            Lookup::File(path) => {
                let bytes = env.read_file(&path).map_err(|e| io_message(&e));
                session.with(|s| s.files.insert(path, bytes));
            }
        }
    }
}

/// An I/O error as Go words it (`no such file or directory`), without Rust's `(os error 2)`.
fn io_message(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = match text.find(" (os error") {
        Some(i) => &text[..i],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => text.to_string(),
    }
}

/// The kind of an execution error.
fn exec_error(file_name: &str, e: &ExecError, session: &SessionGuard) -> TemplateError {
    let kind = match e {
        ExecError::NoFiledFor(name, _) => TemplateErrorKind::MissingVariable { name: name.clone() },
        ExecError::FuncError(_) => match session.with(|s| s.failure.clone()) {
            Some((_, Failure::UnsetEnv { name })) => TemplateErrorKind::UnsetEnvVar { name },
            Some((_, Failure::RefusedEnv { name, why })) => {
                TemplateErrorKind::RefusedEnvVar { name, why }
            }
            Some((_, Failure::File { path, message })) => {
                TemplateErrorKind::UnreadableFile { path, message }
            }
            Some((_, Failure::BadEpoch { value, message })) => {
                TemplateErrorKind::BadEpoch { value, message }
            }
            Some((_, Failure::Other { .. })) | None => TemplateErrorKind::Exec {
                message: e.to_string(),
            },
        },
        ExecError::OnlyMapsAndObjectsHaveFields => TemplateErrorKind::Exec {
            message:
                "can't evaluate a field of a value that is not a map (only the vars map has fields)"
                    .into(),
        },
        other => TemplateErrorKind::Exec {
            message: other.to_string(),
        },
    };
    TemplateError::new(file_name, kind)
}

/// Finds where an execution error happened by rendering the instrumented copy (see the module docs).
fn locate_exec_error(
    error: TemplateError,
    text: &str,
    segments: &[Segment],
    context: &Context,
    session: &SessionGuard,
    env: &dyn TemplateEnv,
) -> TemplateError {
    let function = session.with(|s| s.failure.as_ref().map(|(f, _)| *f));
    let Ok(instrumented) = parse(
        error.file(),
        &lex::emit(
            text,
            segments,
            Emit {
                markers: true,
                upto: None,
            },
        ),
        true,
    ) else {
        return error;
    };
    let Err(again) = execute(&instrumented, context, session, env) else {
        return error;
    };
    let same = exec_error(error.file(), &again, session);
    let marker = session.with(|s| s.marker);
    let (Some(index), true) = (marker, same.kind() == error.kind()) else {
        return error;
    };
    let Some(action) = lex::actions(segments).nth(index) else {
        return error;
    };
    // The failing node in that action: the field for a missing key, the function for a function error.
    let word = |want: &dyn Fn(&lex::Token, &str) -> bool| {
        action
            .words()
            .find(|t| want(t, &text[t.start..t.end]))
            .cloned()
    };
    let node = match error.kind() {
        TemplateErrorKind::MissingVariable { name } => {
            word(&|t, s| t.kind == TokKind::Field && &s[1..] == name).map(|field| {
                // A chained field (`$.owner`, `$x.owner`) is one node starting at the variable.
                let start = action
                    .tokens
                    .iter()
                    .rev()
                    .skip_while(|t| t.start >= field.start)
                    .take_while(|t| matches!(t.kind, TokKind::Variable | TokKind::Field))
                    .last()
                    .filter(|t| t.kind == TokKind::Variable)
                    .map_or(field.start, |t| t.start);
                (start, text[start..field.end].to_string())
            })
        }
        _ => function
            .and_then(|f| word(&|t, s| t.kind == TokKind::Ident && s == f))
            .map(|t| (t.start, text[t.start..t.end].to_string())),
    };
    let (pos, context_text) = node.unwrap_or_else(|| {
        let end = action.words().last().map_or(action.end, |t| t.end);
        (
            action.first_pos(),
            text[action.first_pos()..end].to_string(),
        )
    });
    let mut located = error.at(text, pos);
    located.0.context = Some(context_text);
    located
}

/// Is this parse error only "the input ended too early"? (Then a longer prefix may still parse.)
fn is_incomplete(e: &ParseError) -> bool {
    match e {
        ParseError::UnexpectedEnd => true,
        ParseError::WithContext(_, message) => {
            message.contains("EOF")
                || message.starts_with("unexpected end in ")
                || message == "unexpected end of input"
        }
        _ => false,
    }
}

/// Places a gtmpl parse error (whose own line numbers are unreliable) on the first action after which the
/// file no longer parses; an error only at the end of the file (an unclosed `{{if}}`) goes on the last line.
fn parse_error(file_name: &str, text: &str, segments: &[Segment], e: &ParseError) -> TemplateError {
    let message = match e {
        ParseError::WithContext(_, message) => message.clone(),
        other => other.to_string(),
    };
    let unknown_function = message
        .strip_prefix("function ")
        .and_then(|rest| rest.strip_suffix(" not defined"))
        .map(str::to_string);
    let kind = match &unknown_function {
        Some(name) => TemplateErrorKind::UnknownFunction { name: name.clone() },
        None => TemplateErrorKind::Parse { message },
    };
    let error = TemplateError::new(file_name, kind);

    // Binary search for the smallest number of actions whose prefix fails with a real (not end-of-input) error.
    let total = lex::actions(segments).count();
    let fails = |n: usize| match parse(
        file_name,
        &lex::emit(
            text,
            segments,
            Emit {
                markers: false,
                upto: Some(n),
            },
        ),
        false,
    ) {
        Ok(_) => false,
        Err(e) => !is_incomplete(&e),
    };
    let (mut low, mut high) = (1usize, total);
    if total == 0 || !fails(total) {
        return error.at(text, text.len());
    }
    while low < high {
        let mid = low + (high - low) / 2;
        if fails(mid) {
            high = mid;
        } else {
            low = mid + 1;
        }
    }
    let Some(action) = lex::actions(segments).nth(low - 1) else {
        return error.at(text, text.len());
    };
    let pos = unknown_function
        .and_then(|name| {
            action
                .words()
                .find(|t| t.kind == TokKind::Ident && text[t.start..t.end] == name)
        })
        .map_or(action.first_pos(), |t| t.start);
    let mut located = error.at(text, pos);
    // Go reports parse errors with a line only.
    located.0.column = None;
    located
}

#[cfg(test)]
mod tests;
