//! The template functions, and the per-render session they read their inputs from.
//!
//! gtmpl functions are plain `fn` pointers, so they cannot capture the [`TemplateEnv`](super::TemplateEnv). They
//! read a thread-local session instead, which holds only owned data: the answers the environment gave so far.
//! When a function needs an answer the session does not have (the clock, a zone offset, an environment
//! variable, a file), it records the question and fails the pass; `render` asks the environment and runs the
//! template again. Every question is asked once and in the order Go would ask it, a pass never sees a guessed
//! value, and no `unsafe` is needed. A failing function leaves a structured [`Failure`] behind so the error
//! keeps its kind.

use std::cell::RefCell;
use std::collections::HashMap;

use base64::Engine as _;
use chrono::{DateTime, FixedOffset};
use gtmpl::{Func, FuncError, Value};

use super::golayout;

/// A question for the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Now,
    /// The local zone at this Unix time.
    Zone(i64),
    Env(String),
    File(String),
}

/// Why one of our functions failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    UnsetEnv { name: String },
    RefusedEnv { name: String, why: String },
    File { path: String, message: String },
    BadEpoch { value: String, message: String },
    Other { message: String },
}

#[derive(Debug, Default)]
pub struct Session {
    pub now: Option<(DateTime<FixedOffset>, Option<String>)>,
    pub zones: HashMap<i64, (FixedOffset, Option<String>)>,
    /// `Err` when the environment refuses the name (see [`crate::template::TemplateEnv::refuse_env_var`]).
    pub env: HashMap<String, Result<Option<String>, String>>,
    pub files: HashMap<String, Result<Vec<u8>, String>>,
    /// The question that stopped the last pass.
    pub pending: Option<Lookup>,
    /// The function that failed the last pass, and why.
    pub failure: Option<(&'static str, Failure)>,
    /// The last action marker the diagnostic pass went through.
    pub marker: Option<usize>,
}

thread_local! {
    static SESSION: RefCell<Option<Session>> = const { RefCell::new(None) };
}

/// Installs a fresh session for this thread until dropped (restoring any outer one).
pub struct SessionGuard {
    outer: Option<Session>,
}

impl SessionGuard {
    pub fn install() -> Self {
        let outer = SESSION.with(|s| s.borrow_mut().replace(Session::default()));
        SessionGuard { outer }
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut Session) -> R) -> R {
        SESSION.with(|s| {
            f(s.borrow_mut()
                .as_mut()
                .expect("a template session is installed"))
        })
    }
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        let outer = self.outer.take();
        SESSION.with(|s| *s.borrow_mut() = outer);
    }
}

const PENDING: &str = "template input pending";

fn with_session<R>(f: impl FnOnce(&mut Session) -> R) -> Result<R, FuncError> {
    SESSION.with(|s| match s.borrow_mut().as_mut() {
        Some(session) => Ok(f(session)),
        None => Err(FuncError::Generic(
            "template functions run only inside render".into(),
        )),
    })
}

/// Answers `lookup` from the session via `get`, or records it as pending and fails the pass.
fn answer<T>(lookup: Lookup, get: impl FnOnce(&Session) -> Option<T>) -> Result<T, FuncError> {
    with_session(|s| match get(s) {
        Some(v) => Ok(v),
        None => {
            s.pending = Some(lookup);
            Err(FuncError::Generic(PENDING.into()))
        }
    })?
}

fn fail(function: &'static str, failure: Failure) -> FuncError {
    let message = match &failure {
        Failure::UnsetEnv { name } => format!("environment variable {name} not set"),
        Failure::RefusedEnv { name, why } => format!("environment variable {name} refused: {why}"),
        Failure::File { path, message } => format!("open {path}: {message}"),
        Failure::BadEpoch { message, .. } | Failure::Other { message } => message.clone(),
    };
    let _ = with_session(|s| s.failure = Some((function, failure.clone())));
    FuncError::Generic(format!("error calling {function}: {message}"))
}

/// Go's type name of a value, for argument errors.
fn go_type(v: &Value) -> &'static str {
    match v {
        Value::NoValue | Value::Nil => "nil",
        Value::Bool(_) => "bool",
        Value::String(_) => "string",
        Value::Object(_) | Value::Map(_) => "map[string]string",
        Value::Array(_) => "[]interface {}",
        Value::Function(_) => "func",
        Value::Number(n) => {
            if n.as_i64().is_some() || n.as_u64().is_some() {
                "int"
            } else {
                "float64"
            }
        }
    }
}

/// Checks that `args` are exactly `N` strings, as Go checks a `func(string, ...) ` call.
fn strings<'a, const N: usize>(
    function: &'static str,
    args: &'a [Value],
) -> Result<[&'a str; N], FuncError> {
    if args.len() != N {
        return Err(fail(
            function,
            Failure::Other {
                message: format!(
                    "wrong number of args for {function}: want {N} got {}",
                    args.len()
                ),
            },
        ));
    }
    let mut out = [""; N];
    for (slot, arg) in out.iter_mut().zip(args) {
        match arg {
            Value::String(s) => *slot = s,
            other => {
                return Err(fail(
                    function,
                    Failure::Other {
                        message: format!(
                            "wrong type for value; expected string; got {}",
                            go_type(other)
                        ),
                    },
                ))
            }
        }
    }
    Ok(out)
}

/// Go's `strconv.Quote`, enough for error messages.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn now_with_format(args: &[Value]) -> Result<Value, FuncError> {
    let [layout] = strings::<1>("nowWithFormat", args)?;
    let (now, zone) = answer(Lookup::Now, |s| s.now.clone())?;
    Ok(Value::from(golayout::format(&now, zone.as_deref(), layout)))
}

fn time_with_format(args: &[Value]) -> Result<Value, FuncError> {
    const NAME: &str = "timeWithFormat";
    let [epoch, layout] = strings::<2>(NAME, args)?;
    // Go's strconv.ParseInt(s, 10, 64): an optional sign and decimal digits.
    let secs = epoch.parse::<i64>().map_err(|e| {
        let reason = match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                "value out of range"
            }
            _ => "invalid syntax",
        };
        fail(
            NAME,
            Failure::BadEpoch {
                value: epoch.to_string(),
                message: format!("strconv.ParseInt: parsing {}: {reason}", go_quote(epoch)),
            },
        )
    })?;
    let Some(instant) = DateTime::from_timestamp(secs, 0) else {
        return Err(fail(
            NAME,
            Failure::BadEpoch {
                value: epoch.to_string(),
                message: format!("epoch {secs} is outside the supported range of dates"),
            },
        ));
    };
    let (offset, zone) = answer(Lookup::Zone(secs), |s| s.zones.get(&secs).cloned())?;
    Ok(Value::from(golayout::format(
        &instant.with_timezone(&offset),
        zone.as_deref(),
        layout,
    )))
}

fn system_env(args: &[Value]) -> Result<Value, FuncError> {
    let [name] = strings::<1>("systemEnv", args)?;
    match answer(Lookup::Env(name.to_string()), |s| s.env.get(name).cloned())? {
        Ok(Some(value)) => Ok(Value::from(value)),
        Err(why) => Err(fail(
            "systemEnv",
            Failure::RefusedEnv {
                name: name.to_string(),
                why,
            },
        )),
        Ok(None) => Err(fail(
            "systemEnv",
            Failure::UnsetEnv {
                name: name.to_string(),
            },
        )),
    }
}

fn base64_string(args: &[Value]) -> Result<Value, FuncError> {
    let [s] = strings::<1>("base64", args)?;
    Ok(Value::from(
        base64::engine::general_purpose::STANDARD.encode(s),
    ))
}

fn base64_file(args: &[Value]) -> Result<Value, FuncError> {
    let [path] = strings::<1>("base64File", args)?;
    match answer(Lookup::File(path.to_string()), |s| {
        s.files.get(path).cloned()
    })? {
        Ok(bytes) => Ok(Value::from(
            base64::engine::general_purpose::STANDARD.encode(bytes),
        )),
        Err(message) => Err(fail(
            "base64File",
            Failure::File {
                path: path.to_string(),
                message,
            },
        )),
    }
}

/// Go's `evalArgs`: a single string as is, anything else through `fmt.Sprint`.
fn eval_args(args: &[Value]) -> Result<String, FuncError> {
    if let [Value::String(s)] = args {
        return Ok(s.clone());
    }
    match gtmpl::funcs::print(args)? {
        Value::String(s) => Ok(s),
        other => Ok(other.to_string()),
    }
}

/// Go's `template.HTMLEscapeString`.
fn html(args: &[Value]) -> Result<Value, FuncError> {
    let s = eval_args(args)?;
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    Ok(Value::from(out))
}

/// Go's `template.JSEscapeString`. Go keeps printable non-ASCII runes (`unicode.IsPrint`); this keeps every
/// non-ASCII rune except controls, whitespace and the invisible format characters, and escapes those.
fn js(args: &[Value]) -> Result<Value, FuncError> {
    let s = eval_args(args)?;
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u00{:02X}", c as u32)),
            c if c.is_ascii() => out.push(c),
            c if c.is_control()
                || c.is_whitespace()
                || matches!(c, '\u{AD}' | '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}') =>
            {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    Ok(Value::from(out))
}

/// Go's `url.QueryEscape` of the arguments (gtmpl's own `urlquery` leaves most reserved characters alone and
/// writes a space as `%20`).
fn urlquery(args: &[Value]) -> Result<Value, FuncError> {
    let s = eval_args(args)?;
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    Ok(Value::from(out))
}

fn index_error(message: String) -> FuncError {
    fail("index", Failure::Other { message })
}

/// Go's `index`: a missing map key gives the zero value (`""` for the vars map), not an error; gtmpl errors on
/// a missing key of the vars map.
fn index(args: &[Value]) -> Result<Value, FuncError> {
    let Some((first, keys)) = args.split_first() else {
        return Err(index_error(
            "wrong number of args for index: want at least 1 got 0".into(),
        ));
    };
    let mut item = first.clone();
    for key in keys {
        item = match (&item, key) {
            (Value::Object(m) | Value::Map(m), Value::String(k)) => {
                m.get(k).cloned().unwrap_or_else(|| Value::from(""))
            }
            (Value::Array(a), Value::Number(n)) => {
                match n.as_u64().and_then(|i| usize::try_from(i).ok()) {
                    Some(i) if i < a.len() => a[i].clone(),
                    _ => return Err(index_error(format!("index out of range: {n}"))),
                }
            }
            (Value::String(s), Value::Number(n)) => {
                match n.as_u64().and_then(|i| usize::try_from(i).ok()) {
                    Some(i) if i < s.len() => Value::from(s.as_bytes()[i]),
                    _ => return Err(index_error(format!("index out of range: {n}"))),
                }
            }
            (Value::Object(_) | Value::Map(_), k) => {
                return Err(index_error(format!(
                    "value has type {}; should be string",
                    go_type(k)
                )))
            }
            (v, _) => {
                return Err(index_error(format!(
                    "can't index item of type {}",
                    go_type(v)
                )))
            }
        };
    }
    Ok(item)
}

/// Go's `slice` (Go 1.13): `slice x 1 2` is `x[1:2]`, for strings (by bytes) and lists.
fn slice(args: &[Value]) -> Result<Value, FuncError> {
    let err = |message: String| fail("slice", Failure::Other { message });
    let Some((item, idx)) = args.split_first() else {
        return Err(err(
            "wrong number of args for slice: want at least 1 got 0".into()
        ));
    };
    let mut bounds = Vec::with_capacity(idx.len());
    for i in idx {
        match i {
            Value::Number(n) => match n.as_u64().and_then(|u| usize::try_from(u).ok()) {
                Some(u) => bounds.push(u),
                None => return Err(err(format!("index out of range: {n}"))),
            },
            other => {
                return Err(err(format!(
                    "cannot index slice/array with type {}",
                    go_type(other)
                )))
            }
        }
    }
    let len = match item {
        Value::String(s) => s.len(),
        Value::Array(a) => a.len(),
        other => return Err(err(format!("can't slice item of type {}", go_type(other)))),
    };
    if bounds.len() > 3 || (bounds.len() == 3 && matches!(item, Value::String(_))) {
        return Err(err(format!("too many slice indexes: {}", bounds.len())));
    }
    let low = bounds.first().copied().unwrap_or(0);
    let high = bounds.get(1).copied().unwrap_or(len);
    let cap = bounds.get(2).copied().unwrap_or(len);
    if high > cap || cap > len {
        return Err(err(format!("index out of range: {}", high.max(cap))));
    }
    if low > high {
        return Err(err(format!("invalid slice index: {low} > {high}")));
    }
    Ok(match item {
        Value::String(s) => {
            Value::from(String::from_utf8_lossy(&s.as_bytes()[low..high]).into_owned())
        }
        Value::Array(a) => Value::Array(a[low..high].to_vec()),
        _ => unreachable!("checked above"),
    })
}

/// Go's basic kinds, for `eq` and `ne`.
fn comparable(a: &Value, b: &Value) -> Result<bool, FuncError> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            Ok(match (x.as_i64(), y.as_i64(), x.as_f64(), y.as_f64()) {
                (Some(i), Some(j), _, _) => i == j,
                (_, _, Some(f), Some(g)) => f == g,
                _ => x == y,
            })
        }
        (Value::String(x), Value::String(y)) => Ok(x == y),
        (Value::Bool(x), Value::Bool(y)) => Ok(x == y),
        (Value::NoValue | Value::Nil, Value::NoValue | Value::Nil) => Ok(true),
        _ if std::mem::discriminant(a) == std::mem::discriminant(b) => Ok(a == b),
        _ => Err(fail(
            "eq",
            Failure::Other {
                message: "incompatible types for comparison".into(),
            },
        )),
    }
}

/// Go's `eq`: true when the first argument equals any of the others (gtmpl wants all of them to match).
fn eq(args: &[Value]) -> Result<Value, FuncError> {
    let Some((first, rest)) = args.split_first().filter(|(_, rest)| !rest.is_empty()) else {
        return Err(fail(
            "eq",
            Failure::Other {
                message: "missing argument for comparison".into(),
            },
        ));
    };
    for other in rest {
        if comparable(first, other)? {
            return Ok(Value::from(true));
        }
    }
    Ok(Value::from(false))
}

fn ne(args: &[Value]) -> Result<Value, FuncError> {
    match args {
        [a, b] => Ok(Value::from(!comparable(a, b)?)),
        _ => Err(fail(
            "ne",
            Failure::Other {
                message: format!("wrong number of args for ne: want 2 got {}", args.len()),
            },
        )),
    }
}

fn marker_index(args: &[Value]) -> Result<(), FuncError> {
    if let [Value::Number(n)] = args {
        if let Some(i) = n.as_u64().and_then(|i| usize::try_from(i).ok()) {
            return with_session(|s| s.marker = Some(i));
        }
    }
    Err(FuncError::Generic("bad marker".into()))
}

fn marker(args: &[Value]) -> Result<Value, FuncError> {
    marker_index(args)?;
    Ok(Value::from(""))
}

fn marker_if(args: &[Value]) -> Result<Value, FuncError> {
    marker_index(args)?;
    Ok(Value::from(true))
}

/// Everything registered on top of gtmpl's builtins: the five Dataflow Runner functions, Go builtins gtmpl
/// lacks (`html`, `js`, `slice`) and Go-faithful replacements (`index`, `eq`, `ne`, `urlquery`).
pub fn all() -> Vec<(&'static str, Func)> {
    vec![
        ("nowWithFormat", now_with_format as Func),
        ("timeWithFormat", time_with_format as Func),
        ("systemEnv", system_env as Func),
        ("base64", base64_string as Func),
        ("base64File", base64_file as Func),
        ("html", html as Func),
        ("js", js as Func),
        ("urlquery", urlquery as Func),
        ("index", index as Func),
        ("slice", slice as Func),
        ("eq", eq as Func),
        ("ne", ne as Func),
    ]
}

/// The marker functions of the diagnostic pass.
pub fn markers() -> Vec<(&'static str, Func)> {
    vec![
        (super::lex::MARK_FUNC, marker as Func),
        (super::lex::MARK_IF_FUNC, marker_if as Func),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_like_go() {
        assert_eq!(go_quote("x"), "\"x\"");
        assert_eq!(go_quote("a\"b\\\n"), "\"a\\\"b\\\\\\n\"");
    }

    #[test]
    fn functions_outside_a_session_fail_cleanly() {
        assert!(system_env(&[Value::from("HOME")]).is_err());
    }
}
