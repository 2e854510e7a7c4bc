//! A port of Go 1.19's `text/template`, and of the parts of `fmt` and `strconv` it uses, with Dataflow Runner's
//! five template functions (`nowWithFormat`, `timeWithFormat`, `systemEnv`, `base64`, `base64File`): [`render`]
//! gives the text Go gives, or the error Go gives ([`TemplateError::go_message`]), within counted bounds (the
//! `MAX_*` constants). A language runtime that knows nothing of its users: no config, schema or AWS. [`render`]
//! reads nothing of the machine itself: the clock, environment variables and files reach it only through the
//! [`TemplateEnv`] its caller passes, so each caller decides what a template may see ([`Clock`] is the narrow part
//! a caller gives when it gives only its clock; [`SystemClock`], the machine's, is for callers to pass on, never
//! read by [`render`]). The crate's README says what is implemented, how the differential test holds it to Go,
//! its limits and its deliberate differences from Go.

mod exec;
mod fmt;
mod funcs;
mod golayout;
mod lex;
mod parse;
mod value;

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, Local, Offset, Utc};

/// Everything the templates read from the outside world, injected so that each caller decides what a template
/// sees (the CLI: the user's machine; the Lambdas: the execution input) and tests need no real clock, environment or
/// files.
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

/// The clock a template reads: the instant of `nowWithFormat` and the local zone of `timeWithFormat`. All a
/// caller gives when it gives a template its clock and nothing else of its machine (the Lambdas).
pub trait Clock {
    /// The current time in the local time zone (Go's `time.Now()`).
    fn now(&self) -> DateTime<FixedOffset>;

    /// The local time zone's offset at an instant (Go's `time.Unix(s, 0)` is in local time). Defaults to the
    /// offset of [`now`](Self::now).
    fn local_offset(&self, instant: DateTime<Utc>) -> FixedOffset {
        let _ = instant;
        self.now().offset().fix()
    }
}

/// The machine's clock in its local time zone. [`render`] never reads it; a caller passes it on.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<FixedOffset> {
        Local::now().fixed_offset()
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
    /// Rendering would cost more than a config may: `what` (e.g. `rendered output`) is over `limit`
    /// (e.g. `5 MiB`). Go has no such limits; see the module docs.
    TooExpensive { what: String, limit: String },
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
    /// The template executing when it differs from the file (a `{{define}}`d one).
    executing: Option<String>,
    kind: TemplateErrorKind,
}

impl TemplateError {
    fn new(file: &str, kind: TemplateErrorKind) -> Self {
        TemplateError(Box::new(Details {
            file: file.to_string(),
            line: None,
            column: None,
            context: None,
            executing: None,
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
                format!("map has no entry for key {}", fmt::quote(name))
            }
            TemplateErrorKind::UnknownFunction { name } => {
                format!("function {} not defined", fmt::quote(name))
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
            TemplateErrorKind::TooExpensive { what, limit } => {
                format!("{what} exceeds the limit of {limit}")
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
            TemplateErrorKind::TooExpensive { what, .. } => Some(
                match what.as_str() {
                    "template size" => "a config file may be at most 1 MiB: shrink it or split it",
                    "rendered output" | "a string value" => {
                        "a rendered config may be at most 5 MiB: check for a {{range}} that repeats more than \
                         intended, or a base64File of a large file"
                    }
                    "nesting depth" => {
                        "nest {{if}}, {{range}}, {{with}}, {{block}} and parentheses at most 100 levels deep"
                    }
                    "template call nesting" | "nesting depth across {{template}} calls" => {
                        "a {{template}} calls itself (directly or not) more than 100 levels deep: check for \
                         unbounded recursion"
                    }
                    "evaluation" => {
                        "the template takes too long to render (nested {{range}}s or {{template}} calls multiply): \
                         simplify it"
                    }
                    _ => "read fewer distinct environment variables and files in one config",
                }
                .into(),
            ),
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
            TemplateErrorKind::Parse { .. }
            | TemplateErrorKind::UnknownFunction { .. }
            | TemplateErrorKind::TooExpensive { .. } => {
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
                let executing = self.0.executing.as_deref().unwrap_or(self.file());
                format!(
                    "template: {location}: executing {}{at}: {}",
                    fmt::quote(executing),
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

/// The largest config text rendered (larger files are refused before parsing).
pub const MAX_TEMPLATE_BYTES: usize = 1 << 20;
/// The largest rendered text, and the largest string any function may produce.
pub const MAX_OUTPUT_BYTES: usize = 5 << 20;
/// Evaluation steps per render (each node walked, command run or function called is one step); real configs
/// take a few thousand.
pub const MAX_STEPS: u64 = 1_000_000;
/// How deep `{{template}}` calls may nest.
pub const MAX_TEMPLATE_CALLS: usize = 100;
/// How deep blocks may nest while executing, counting every `{{template}}` call's body as one more level (the
/// parser already bounds one template's nesting to 100 levels); keeps the stack bounded.
pub const MAX_EXEC_NESTING: usize = 300;
/// Distinct environment variables and files one render may read.
pub const MAX_LOOKUPS: usize = 10_000;

/// Renders `text` as a Go template named `file_name` with `vars` and the five Dataflow Runner functions,
/// reading the clock, environment variables and files through `env`. Values are inserted raw (not
/// JSON-escaped), as Go does. Text without `{{` is returned unchanged. The cost is bounded: see the
/// `MAX_*` constants and [`TemplateErrorKind::TooExpensive`].
pub fn render(
    file_name: &str,
    text: &str,
    vars: &BTreeMap<String, String>,
    env: &dyn TemplateEnv,
) -> Result<String, TemplateError> {
    if text.len() > MAX_TEMPLATE_BYTES {
        return Err(TemplateError::new(
            file_name,
            TemplateErrorKind::TooExpensive {
                what: "template size".into(),
                limit: "1 MiB".into(),
            },
        ));
    }
    if !text.contains("{{") {
        return Ok(text.to_string());
    }
    let trees =
        parse::parse(file_name, text, &|name| exec::Func::lookup(name).is_some()).map_err(|e| {
            let kind = match e.kind {
                parse::ParseErrorKind::UnknownFunction(name) => {
                    TemplateErrorKind::UnknownFunction { name }
                }
                parse::ParseErrorKind::TooDeep => TemplateErrorKind::TooExpensive {
                    what: "nesting depth".into(),
                    limit: format!("{} levels", parse::MAX_NESTING),
                },
                parse::ParseErrorKind::Syntax => TemplateErrorKind::Parse { message: e.message },
            };
            let mut error = TemplateError::new(file_name, kind);
            error.0.line = Some(e.line);
            error
        })?;
    let limits = exec::Limits {
        max_output: MAX_OUTPUT_BYTES,
        max_steps: MAX_STEPS,
        max_depth: MAX_TEMPLATE_CALLS,
        max_nesting: MAX_EXEC_NESTING,
    };
    let mut outside = funcs::Outside::new(env, MAX_LOOKUPS);
    match exec::execute(&trees, file_name, vars, limits, &mut outside) {
        Ok(bytes) => Ok(match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }),
        Err(e) => Err(exec_error(file_name, text, *e)),
    }
}

/// A [`TemplateError`] from an execution error.
fn exec_error(file_name: &str, text: &str, e: exec::ExecError) -> TemplateError {
    use exec::{ExecErrorKind, HostFailure};
    let kind = match e.kind {
        ExecErrorKind::MissingKey(name) => TemplateErrorKind::MissingVariable { name },
        ExecErrorKind::Host(HostFailure::UnsetEnv { name }) => {
            TemplateErrorKind::UnsetEnvVar { name }
        }
        ExecErrorKind::Host(HostFailure::RefusedEnv { name, why }) => {
            TemplateErrorKind::RefusedEnvVar { name, why }
        }
        ExecErrorKind::Host(HostFailure::File { path, message }) => {
            TemplateErrorKind::UnreadableFile { path, message }
        }
        ExecErrorKind::Host(HostFailure::BadEpoch { value, message }) => {
            TemplateErrorKind::BadEpoch { value, message }
        }
        ExecErrorKind::Host(HostFailure::TooExpensive { what, limit })
        | ExecErrorKind::TooExpensive { what, limit } => {
            TemplateErrorKind::TooExpensive { what, limit }
        }
        ExecErrorKind::Other => TemplateErrorKind::Exec { message: e.message },
    };
    let mut error = TemplateError::new(file_name, kind);
    if let Some(pos) = e.pos {
        error = error.at(text, pos);
    }
    error.0.context = e.context;
    if e.name != file_name {
        error.0.executing = Some(e.name);
    }
    error
}

#[cfg(test)]
mod tests;
