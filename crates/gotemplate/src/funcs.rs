//! The five Dataflow Runner functions, answered from the injected [`TemplateEnv`] within the one execution
//! pass (each distinct question is asked once per render, in the order Go evaluates the calls), and Go's
//! `html`, `js` and `urlquery` escapers.

use std::collections::HashMap;

use base64::Engine as _;
use chrono::{DateTime, FixedOffset};

use super::exec::{Func, Host, HostFailure};
use super::fmt::{decode_rune, is_print};
use super::golayout;
use super::value::{Bytes, Value};
use super::TemplateEnv;

/// Answers the five functions from `env`, remembering every answer for the rest of the render.
pub struct Outside<'e> {
    env: &'e dyn TemplateEnv,
    max_lookups: usize,
    now: Option<(DateTime<FixedOffset>, Option<String>)>,
    zones: HashMap<i64, (FixedOffset, Option<String>)>,
    /// `Err` when the environment refuses the name.
    vars: HashMap<String, Result<Option<String>, String>>,
    files: HashMap<String, Result<Vec<u8>, String>>,
}

impl<'e> Outside<'e> {
    pub fn new(env: &'e dyn TemplateEnv, max_lookups: usize) -> Self {
        Outside {
            env,
            max_lookups,
            now: None,
            zones: HashMap::new(),
            vars: HashMap::new(),
            files: HashMap::new(),
        }
    }

    fn count_lookup(&self) -> Result<(), HostFailure> {
        if self.vars.len() + self.files.len() >= self.max_lookups {
            return Err(HostFailure::TooExpensive {
                what: "distinct systemEnv and base64File lookups".into(),
                limit: self.max_lookups.to_string(),
            });
        }
        Ok(())
    }

    fn env_var(&mut self, name: &str) -> Result<Option<String>, String> {
        if let Some(v) = self.vars.get(name) {
            return v.clone();
        }
        let v = match self.env.refuse_env_var(name) {
            Some(why) => Err(why),
            None => Ok(self.env.env_var(name)),
        };
        self.vars.insert(name.to_string(), v.clone());
        v
    }

    fn file(&mut self, path: &str) -> Result<Vec<u8>, String> {
        if let Some(v) = self.files.get(path) {
            return v.clone();
        }
        let v = self.env.read_file(path).map_err(|e| io_message(&e));
        self.files.insert(path.to_string(), v.clone());
        v
    }

    fn now(&mut self) -> (DateTime<FixedOffset>, Option<String>) {
        if self.now.is_none() {
            let now = self.env.now();
            let zone = self.env.zone_abbreviation(&now);
            self.now = Some((now, zone));
        }
        self.now.clone().unwrap_or_else(|| (self.env.now(), None))
    }

    fn zone(&mut self, secs: i64, instant: DateTime<chrono::Utc>) -> (FixedOffset, Option<String>) {
        if let Some(z) = self.zones.get(&secs) {
            return z.clone();
        }
        let offset = self.env.local_offset(instant);
        let zone = self.env.zone_abbreviation(&instant.with_timezone(&offset));
        self.zones.insert(secs, (offset, zone.clone()));
        (offset, zone)
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Host for Outside<'_> {
    fn call(&mut self, f: Func, args: &[Bytes]) -> Result<Value, HostFailure> {
        match f {
            Func::NowWithFormat => {
                let (now, zone) = self.now();
                Ok(Value::str(
                    golayout::format(&now, zone.as_deref(), &text(&args[0])).as_bytes(),
                ))
            }
            Func::TimeWithFormat => {
                let epoch = text(&args[0]);
                // Go's strconv.ParseInt(s, 10, 64): an optional sign and decimal digits.
                let secs = epoch.parse::<i64>().map_err(|e| {
                    let reason = match e.kind() {
                        std::num::IntErrorKind::PosOverflow
                        | std::num::IntErrorKind::NegOverflow => "value out of range",
                        _ => "invalid syntax",
                    };
                    HostFailure::BadEpoch {
                        value: epoch.clone(),
                        message: format!(
                            "strconv.ParseInt: parsing {}: {reason}",
                            super::fmt::quote(&epoch)
                        ),
                    }
                })?;
                let Some(instant) = DateTime::from_timestamp(secs, 0) else {
                    return Err(HostFailure::BadEpoch {
                        value: epoch,
                        message: format!("epoch {secs} is outside the supported range of dates"),
                    });
                };
                let (offset, zone) = self.zone(secs, instant);
                Ok(Value::str(
                    golayout::format(
                        &instant.with_timezone(&offset),
                        zone.as_deref(),
                        &text(&args[1]),
                    )
                    .as_bytes(),
                ))
            }
            Func::SystemEnv => {
                let name = text(&args[0]);
                if !self.vars.contains_key(&name) {
                    self.count_lookup()?;
                }
                match self.env_var(&name) {
                    Ok(Some(v)) => Ok(Value::str(v.as_bytes())),
                    Ok(None) => Err(HostFailure::UnsetEnv { name }),
                    Err(why) => Err(HostFailure::RefusedEnv { name, why }),
                }
            }
            Func::Base64 => Ok(Value::str(
                base64::engine::general_purpose::STANDARD
                    .encode(&args[0])
                    .as_bytes(),
            )),
            Func::Base64File => {
                let path = text(&args[0]);
                if !self.files.contains_key(&path) {
                    self.count_lookup()?;
                }
                match self.file(&path) {
                    Ok(bytes) => Ok(Value::str(
                        base64::engine::general_purpose::STANDARD
                            .encode(bytes)
                            .as_bytes(),
                    )),
                    Err(message) => Err(HostFailure::File { path, message }),
                }
            }
            _ => Ok(Value::Invalid),
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

/// Go's `template.HTMLEscapeString`.
pub fn html(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    for &c in s {
        match c {
            0 => out.extend_from_slice("\u{FFFD}".as_bytes()),
            b'"' => out.extend_from_slice(b"&#34;"),
            b'\'' => out.extend_from_slice(b"&#39;"),
            b'&' => out.extend_from_slice(b"&amp;"),
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString` (printable non-ASCII runes are kept, see [`is_print`]).
pub fn js(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c < 0x80 {
            match c {
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\'' => out.extend_from_slice(b"\\'"),
                b'"' => out.extend_from_slice(b"\\\""),
                b'<' => out.extend_from_slice(b"\\u003C"),
                b'>' => out.extend_from_slice(b"\\u003E"),
                b'&' => out.extend_from_slice(b"\\u0026"),
                b'=' => out.extend_from_slice(b"\\u003D"),
                c if c < b' ' => out.extend_from_slice(format!("\\u00{c:02X}").as_bytes()),
                c => out.push(c),
            }
            i += 1;
            continue;
        }
        let (r, size) = decode_rune(&s[i..]);
        if is_print(r) {
            out.extend_from_slice(&s[i..i + size]);
        } else {
            out.extend_from_slice(format!("\\u{:04X}", u32::from(r)).as_bytes());
        }
        i += size;
    }
    out
}

/// Go's `url.QueryEscape`.
pub fn urlquery(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
