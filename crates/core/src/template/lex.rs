//! A scanner for Go `text/template` source that mirrors Go's lexer (`text/template/parse/lex.go`), used to
//!
//! * find every action with its exact byte position, so errors get Go's line and column;
//! * hand `gtmpl` a normalized copy of the source that avoids its lexer and unquoting bugs: trim markers and
//!   comments are applied here with Go's rules, whitespace runs inside actions (newlines included, allowed since
//!   Go 1.16) become one space, string and raw-string literals are decoded with Go's rules and re-encoded in the
//!   only escapes `gtmpl` decodes correctly, character constants and non-decimal integers become decimal numbers;
//! * build the instrumented copy used to find where execution failed (see `Emit::markers`).

use std::ops::Range;

/// A lexical error, with the byte position Go's lexer would report it at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    pub pos: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokKind {
    /// A run of spaces, tabs, carriage returns and newlines.
    Space,
    /// `.name` (one element of a field chain).
    Field,
    /// `$` or `$name`.
    Variable,
    /// `.` alone.
    Dot,
    /// A function name, keyword, `true`, `false` or `nil`.
    Ident,
    /// A string or raw string literal, decoded.
    Str(String),
    /// A number, normalized for gtmpl; a character constant becomes its code point.
    Number(String),
    /// `(`, `)`, `|`, `:=`, `=`, `,` and other punctuation.
    Punct,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub kind: TokKind,
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// Position of `{{`.
    pub start: usize,
    /// Position after `}}`.
    pub end: usize,
    pub trim_left: bool,
    pub trim_right: bool,
    pub comment: bool,
    pub tokens: Vec<Token>,
}

impl Action {
    /// The tokens other than spaces.
    pub fn words(&self) -> impl Iterator<Item = &Token> {
        self.tokens.iter().filter(|t| t.kind != TokKind::Space)
    }

    /// Position of the first token (Go's position for the action's pipeline), or of `{{`.
    pub fn first_pos(&self) -> usize {
        self.words().next().map_or(self.start, |t| t.start)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Text(Range<usize>),
    Action(Action),
}

/// Go's `isSpace`.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.src.as_bytes()
    }

    fn peek_char(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    /// Go's `atRightDelim` at `pos`: `Some(trim)` when a right delimiter (with or without trim marker) starts there.
    fn right_delim_at(&self, pos: usize) -> Option<bool> {
        let b = &self.bytes()[pos..];
        if b.len() >= 4 && is_space(b[0]) && b[1] == b'-' && &b[2..4] == b"}}" {
            return Some(true);
        }
        if b.starts_with(b"}}") {
            return Some(false);
        }
        None
    }

    /// Go's `atTerminator`.
    fn at_terminator(&self) -> bool {
        match self.bytes().get(self.pos) {
            None => true,
            Some(&b) if is_space(b) => true,
            Some(b'.' | b',' | b'|' | b':' | b')' | b'(') => true,
            Some(_) => self.rest().starts_with("}}"),
        }
    }

    fn err<T>(&self, pos: usize, message: impl Into<String>) -> Result<T, LexError> {
        Err(LexError {
            pos,
            message: message.into(),
        })
    }

    fn scan_alnum(&mut self) {
        while let Some(c) = self.peek_char() {
            if !is_alnum(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
    }

    fn bad_character(&self) -> Result<(), LexError> {
        let c = self.peek_char().unwrap_or('\0');
        self.err(self.pos, format!("bad character {}", go_rune(c)))
    }

    /// The inside of a non-comment action, from after `{{` (and its trim marker) to `}}`.
    fn action(&mut self, action_start: usize) -> Result<(Vec<Token>, bool), LexError> {
        let mut tokens = Vec::new();
        let mut depth = 0usize;
        loop {
            if let Some(trim) = self.right_delim_at(self.pos) {
                if depth > 0 {
                    return self.err(self.pos, "unclosed left paren");
                }
                self.pos += if trim { 4 } else { 2 };
                return Ok((tokens, trim));
            }
            let start = self.pos;
            let Some(c) = self.peek_char() else {
                return self.err(action_start, "unclosed action");
            };
            self.pos += c.len_utf8();
            let kind = match c {
                ' ' | '\t' | '\r' | '\n' => {
                    while self.bytes().get(self.pos).is_some_and(|&b| is_space(b)) {
                        self.pos += 1;
                    }
                    // The last space may belong to a trim-marked right delimiter (" -}}").
                    if self.right_delim_at(self.pos - 1) == Some(true) {
                        self.pos -= 1;
                        if self.pos == start {
                            continue;
                        }
                    }
                    TokKind::Space
                }
                '=' | '|' | ',' => TokKind::Punct,
                ':' => {
                    if self.bytes().get(self.pos) != Some(&b'=') {
                        return self.err(start, "expected :=");
                    }
                    self.pos += 1;
                    TokKind::Punct
                }
                '"' => self.quote(start)?,
                '`' => {
                    let Some(len) = self.rest().find('`') else {
                        return self.err(start, "unterminated raw quoted string");
                    };
                    let raw = &self.src[self.pos..self.pos + len];
                    self.pos += len + 1;
                    // Go drops carriage returns from raw strings.
                    TokKind::Str(raw.replace('\r', ""))
                }
                '$' => {
                    if !self.at_terminator() {
                        self.scan_alnum();
                        if !self.at_terminator() {
                            self.bad_character()?;
                        }
                    }
                    TokKind::Variable
                }
                '\'' => self.char_constant(start)?,
                '.' if !self.bytes().get(self.pos).is_some_and(u8::is_ascii_digit) => {
                    if self.at_terminator() {
                        TokKind::Dot
                    } else {
                        self.scan_alnum();
                        if !self.at_terminator() {
                            self.bad_character()?;
                        }
                        TokKind::Field
                    }
                }
                '.' | '+' | '-' | '0'..='9' => self.number(start),
                '(' => {
                    depth += 1;
                    TokKind::Punct
                }
                ')' => {
                    if depth == 0 {
                        return self.err(start, "unexpected right paren");
                    }
                    depth -= 1;
                    TokKind::Punct
                }
                c if is_alnum(c) => {
                    self.scan_alnum();
                    if !self.at_terminator() {
                        self.bad_character()?;
                    }
                    TokKind::Ident
                }
                c if c.is_ascii_graphic() => TokKind::Punct,
                c => {
                    return self.err(
                        start,
                        format!("unrecognized character in action: {}", go_rune(c)),
                    );
                }
            };
            tokens.push(Token {
                kind,
                start,
                end: self.pos,
            });
        }
    }

    fn quote(&mut self, start: usize) -> Result<TokKind, LexError> {
        loop {
            match self.peek_char() {
                Some('\\') => {
                    self.pos += 1;
                    match self.peek_char() {
                        None | Some('\n') => return self.err(start, "unterminated quoted string"),
                        Some(c) => self.pos += c.len_utf8(),
                    }
                }
                None | Some('\n') => return self.err(start, "unterminated quoted string"),
                Some('"') => {
                    self.pos += 1;
                    break;
                }
                Some(c) => self.pos += c.len_utf8(),
            }
        }
        let literal = &self.src[start..self.pos];
        match unquote(&literal[1..literal.len() - 1], b'"') {
            Some(bytes) => Ok(TokKind::Str(String::from_utf8_lossy(&bytes).into_owned())),
            None => self.err(start, format!("invalid syntax in string {literal}")),
        }
    }

    fn char_constant(&mut self, start: usize) -> Result<TokKind, LexError> {
        loop {
            match self.peek_char() {
                Some('\\') => {
                    self.pos += 1;
                    match self.peek_char() {
                        None | Some('\n') => {
                            return self.err(start, "unterminated character constant")
                        }
                        Some(c) => self.pos += c.len_utf8(),
                    }
                }
                None | Some('\n') => return self.err(start, "unterminated character constant"),
                Some('\'') => {
                    self.pos += 1;
                    break;
                }
                Some(c) => self.pos += c.len_utf8(),
            }
        }
        let literal = &self.src[start..self.pos];
        let inner = &literal[1..literal.len() - 1];
        match unquote_char(inner, b'\'') {
            Some((value, used)) if used == inner.len() => Ok(TokKind::Number(value.to_string())),
            _ => self.err(start, format!("malformed character constant: {literal}")),
        }
    }

    /// Scans a number loosely (gtmpl validates it) and normalizes integer literals to decimal.
    fn number(&mut self, start: usize) -> TokKind {
        let b = self.bytes();
        while self.pos < b.len() {
            let c = b[self.pos];
            let exponent_sign =
                matches!(c, b'+' | b'-') && matches!(b[self.pos - 1], b'e' | b'E' | b'p' | b'P');
            if c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || exponent_sign {
                self.pos += 1;
            } else {
                break;
            }
        }
        let text = &self.src[start..self.pos];
        TokKind::Number(normalize_int(text).unwrap_or_else(|| text.to_string()))
    }
}

/// Go's `%#U`-like rendering of a rune for messages.
fn go_rune(c: char) -> String {
    format!("U+{:04X} {c:?}", u32::from(c))
}

/// An integer literal in Go syntax (`0x1F`, `0o17`, `017`, `0b101`, `1_000`, signed) as plain decimal, which is
/// all gtmpl reads correctly; `None` for anything else (floats pass through unchanged).
fn normalize_int(text: &str) -> Option<String> {
    let (negative, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    let digits: String = digits.chars().filter(|&c| c != '_').collect();
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let value = u128::from_str_radix(&digits, radix).ok()?;
    Some(if negative && value != 0 {
        format!("-{value}")
    } else {
        value.to_string()
    })
}

/// Go's `strconv.UnquoteChar`: one (possibly escaped) character at the start of `s` inside `quote`-delimited
/// text: `(value, bytes used)`. Values from `\x` and octal escapes are bytes.
fn unquote_char(s: &str, quote: u8) -> Option<(u32, usize)> {
    let b = s.as_bytes();
    let first = *b.first()?;
    if first == quote && (quote == b'\'' || quote == b'"') {
        return None;
    }
    if first != b'\\' {
        let c = s.chars().next()?;
        return Some((u32::from(c), c.len_utf8()));
    }
    let esc = *b.get(1)?;
    let simple = match esc {
        b'a' => Some(7),
        b'b' => Some(8),
        b'f' => Some(12),
        b'n' => Some(10),
        b'r' => Some(13),
        b't' => Some(9),
        b'v' => Some(11),
        b'\\' => Some(u32::from(b'\\')),
        b'\'' | b'"' if esc == quote => Some(u32::from(esc)),
        _ => None,
    };
    if let Some(v) = simple {
        return Some((v, 2));
    }
    let hex = |n: usize| -> Option<u32> {
        let digits = s.get(2..2 + n)?;
        if !digits.bytes().all(|d| d.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(digits, 16).ok()
    };
    match esc {
        b'x' => hex(2).map(|v| (v, 4)),
        b'u' => hex(4)
            .filter(|&v| char::from_u32(v).is_some())
            .map(|v| (v, 6)),
        b'U' => hex(8)
            .filter(|&v| char::from_u32(v).is_some())
            .map(|v| (v, 10)),
        b'0'..=b'7' => {
            let digits = s.get(1..4)?;
            if !digits.bytes().all(|d| (b'0'..=b'7').contains(&d)) {
                return None;
            }
            let v = u32::from_str_radix(digits, 8).ok()?;
            (v <= 255).then_some((v, 4))
        }
        _ => None,
    }
}

/// Go's `strconv.Unquote` of the inside of a double-quoted literal, as bytes (`\x` and octal escapes are bytes).
fn unquote(mut s: &str, quote: u8) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    while !s.is_empty() {
        let b = s.as_bytes();
        let byte_escape = b[0] == b'\\'
            && b.get(1)
                .is_some_and(|&e| e == b'x' || (b'0'..=b'7').contains(&e));
        let (value, used) = unquote_char(s, quote)?;
        if byte_escape {
            out.push(u8::try_from(value).ok()?);
        } else {
            let mut buf = [0u8; 4];
            out.extend_from_slice(char::from_u32(value)?.encode_utf8(&mut buf).as_bytes());
        }
        s = &s[used..];
    }
    Some(out)
}

/// A string literal `gtmpl` reads back as exactly `s`. Its lexer takes `\\` before the closing quote for an
/// escaped quote and its `\x`, `\u` escapes are broken, so only `\\ \" \n \r \t` are used, and a final
/// backslash is written `\U0000005C` (the one form it decodes correctly at the end of a literal).
pub fn encode_for_gtmpl(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let last = s.len().saturating_sub(1);
    for (i, c) in s.char_indices() {
        match c {
            '\\' if i == last => out.push_str("\\U0000005C"),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Splits template source into text and actions, with Go's lexical rules.
pub fn scan(src: &str) -> Result<Vec<Segment>, LexError> {
    let mut lx = Lexer { src, pos: 0 };
    let mut segments = Vec::new();
    loop {
        let Some(found) = lx.rest().find("{{") else {
            if lx.pos < src.len() {
                segments.push(Segment::Text(lx.pos..src.len()));
            }
            return Ok(segments);
        };
        let start = lx.pos + found;
        if start > lx.pos {
            segments.push(Segment::Text(lx.pos..start));
        }
        lx.pos = start + 2;
        let b = lx.bytes();
        let trim_left = b.len() >= lx.pos + 2 && b[lx.pos] == b'-' && is_space(b[lx.pos + 1]);
        if trim_left {
            lx.pos += 2;
        }
        if lx.rest().starts_with("/*") {
            let Some(close) = lx.rest()[2..].find("*/") else {
                return lx.err(start, "unclosed comment");
            };
            lx.pos += 2 + close + 2;
            let Some(trim_right) = lx.right_delim_at(lx.pos) else {
                return lx.err(start, "comment ends before closing delimiter");
            };
            lx.pos += if trim_right { 4 } else { 2 };
            segments.push(Segment::Action(Action {
                start,
                end: lx.pos,
                trim_left,
                trim_right,
                comment: true,
                tokens: Vec::new(),
            }));
            continue;
        }
        let (tokens, trim_right) = lx.action(start)?;
        segments.push(Segment::Action(Action {
            start,
            end: lx.pos,
            trim_left,
            trim_right,
            comment: false,
            tokens,
        }));
    }
}

/// The actions of scanned source, in order.
pub fn actions(segments: &[Segment]) -> impl Iterator<Item = &Action> {
    segments.iter().filter_map(|s| match s {
        Segment::Action(a) => Some(a),
        Segment::Text(_) => None,
    })
}

/// Names of the functions the instrumented copy calls: `{{__dfrAt N}}` before action `N` prints nothing and
/// records `N`; `__dfrIf N` does the same and returns `true`, for `{{else if}}` pipelines (see [`emit`]).
pub const MARK_FUNC: &str = "__dfrAt";
pub const MARK_IF_FUNC: &str = "__dfrIf";

/// How to write the source for gtmpl.
#[derive(Debug, Clone, Copy, Default)]
pub struct Emit {
    /// Instrument every action so execution records which one runs (the diagnostic pass).
    pub markers: bool,
    /// Stop after this many actions (to find which action a parse error belongs to).
    pub upto: Option<usize>,
}

fn push_tokens(out: &mut String, src: &str, tokens: &[Token]) {
    for t in tokens {
        match &t.kind {
            TokKind::Space => out.push(' '),
            TokKind::Str(s) => out.push_str(&encode_for_gtmpl(s)),
            TokKind::Number(n) => out.push_str(n),
            _ => out.push_str(&src[t.start..t.end]),
        }
    }
}

/// Writes normalized source for gtmpl (see the module documentation).
pub fn emit(src: &str, segments: &[Segment], opts: Emit) -> String {
    let mut out = String::with_capacity(src.len() + 16);
    let mut action_index = 0usize;
    for (i, segment) in segments.iter().enumerate() {
        match segment {
            Segment::Text(range) => {
                let mut text = &src[range.clone()];
                if let Some(Segment::Action(prev)) = i.checked_sub(1).map(|p| &segments[p]) {
                    if prev.trim_right {
                        text = text.trim_start_matches([' ', '\t', '\r', '\n']);
                    }
                }
                if let Some(Segment::Action(next)) = segments.get(i + 1) {
                    if next.trim_left {
                        text = text.trim_end_matches([' ', '\t', '\r', '\n']);
                    }
                }
                out.push_str(text);
            }
            Segment::Action(action) => {
                if opts.upto == Some(action_index) {
                    break;
                }
                let n = action_index;
                action_index += 1;
                if action.comment {
                    continue;
                }
                if opts.markers {
                    out.push_str(&format!("{{{{{MARK_FUNC} {n}}}}}"));
                }
                out.push_str("{{");
                let words: Vec<&Token> = action.words().collect();
                let is_else_if = opts.markers
                    && words.len() > 2
                    && &src[words[0].start..words[0].end] == "else"
                    && &src[words[1].start..words[1].end] == "if"
                    && !words[2..]
                        .iter()
                        .any(|t| matches!(&src[t.start..t.end], ":=" | "="));
                if is_else_if {
                    // The marker before `{{else if}}` sits in the previous branch, which did not run; record the
                    // position from inside the condition instead: `and` evaluates its arguments in order and
                    // returns the last one when all are true, so the condition keeps its value.
                    let first = action
                        .tokens
                        .iter()
                        .position(|t| t.start == words[2].start)
                        .unwrap_or(0);
                    out.push_str(&format!("else if and ({MARK_IF_FUNC} {n}) ("));
                    push_tokens(&mut out, src, &action.tokens[first..]);
                    out.push(')');
                } else {
                    push_tokens(&mut out, src, &action.tokens);
                }
                out.push_str("}}");
            }
        }
    }
    out
}

/// 1-based line and Go-style column (0-based byte offset in the line) of a byte position.
pub fn line_col(src: &str, pos: usize) -> (usize, usize) {
    let before = &src[..pos.min(src.len())];
    let line = 1 + before.bytes().filter(|&b| b == b'\n').count();
    let col = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1);
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalized(src: &str) -> String {
        emit(src, &scan(src).unwrap(), Emit::default())
    }

    #[test]
    fn splits_text_and_actions() {
        let src = "a {{ .x }} b {{/* c */}}";
        let segments = scan(src).unwrap();
        assert_eq!(segments.len(), 4);
        assert_eq!(segments[0], Segment::Text(0..2));
        let Segment::Action(a) = &segments[1] else {
            panic!()
        };
        assert_eq!((a.start, a.end, a.comment), (2, 10, false));
        let words: Vec<_> = a
            .words()
            .map(|t| (&src[t.start..t.end], t.kind.clone()))
            .collect();
        assert_eq!(words, vec![(".x", TokKind::Field)]);
        let Segment::Action(c) = &segments[3] else {
            panic!()
        };
        assert!(c.comment);
    }

    #[test]
    fn trims_and_comments_like_go() {
        assert_eq!(normalized("a \n\t{{- .x -}} \n b"), "a{{.x}}b");
        assert_eq!(normalized("a {{ .x }} b"), "a {{ .x }} b");
        assert_eq!(normalized("a  {{- /* c */ -}}  b"), "ab");
        assert_eq!(normalized("a {{/* c\n d */}} b"), "a  b");
        // `{{-3}}` is the number -3, not a trim marker.
        assert_eq!(normalized("a {{-3}}"), "a {{-3}}");
        // Trim markers take any Go space, and only Go spaces are trimmed.
        assert_eq!(
            normalized("a\u{a0} {{-\t.x\n-}}\u{a0}"),
            "a\u{a0}{{.x}}\u{a0}"
        );
    }

    #[test]
    fn multi_line_actions_become_one_line() {
        assert_eq!(normalized("{{if\n  .x\n}}y{{end}}"), "{{if .x }}y{{end}}");
    }

    #[test]
    fn literals_are_reencoded() {
        assert_eq!(
            normalized(r#"{{"a\x41\u00e9\101\\"}}"#),
            r#"{{"aAéA\U0000005C"}}"#
        );
        assert_eq!(normalized("{{`C:\\dir\\x`}}"), r#"{{"C:\\dir\\x"}}"#);
        assert_eq!(normalized("{{`a\r\nb`}}"), r#"{{"a\nb"}}"#);
        assert_eq!(normalized(r#"{{"{{f \"x\"}}"}}"#), r#"{{"{{f \"x\"}}"}}"#);
        assert_eq!(normalized("{{'a'}} {{'\\n'}}"), "{{97}} {{10}}");
        assert_eq!(
            normalized("{{0x1F}} {{-0b11}} {{0o17}} {{017}} {{1_000}} {{1.5}} {{0}}"),
            "{{31}} {{-3}} {{15}} {{15}} {{1000}} {{1.5}} {{0}}"
        );
    }

    #[test]
    fn lexical_errors_have_positions() {
        let e = scan("x\n{{ .a").unwrap_err();
        assert_eq!((e.pos, e.message.as_str()), (2, "unclosed action"));
        let e = scan("{{ \"abc }}").unwrap_err();
        assert_eq!(
            (e.pos, e.message.as_str()),
            (3, "unterminated quoted string")
        );
        let e = scan("{{ `abc }}").unwrap_err();
        assert_eq!(e.message, "unterminated raw quoted string");
        let e = scan("{{/* x }}").unwrap_err();
        assert_eq!(e.message, "unclosed comment");
        let e = scan("{{/* x */ }}").unwrap_err();
        assert_eq!(e.message, "comment ends before closing delimiter");
        let e = scan("{{ (x }}").unwrap_err();
        assert_eq!(e.message, "unclosed left paren");
        let e = scan("{{ x) }}").unwrap_err();
        assert_eq!(e.message, "unexpected right paren");
        let e = scan(r#"{{ "\q" }}"#).unwrap_err();
        assert_eq!(e.message, r#"invalid syntax in string "\q""#);
        let e = scan("{{ 'ab' }}").unwrap_err();
        assert_eq!(e.message, "malformed character constant: 'ab'");
        let e = scan("{{ .a# }}").unwrap_err();
        assert!(e.message.starts_with("bad character"), "{}", e.message);
        let e = scan("{{ a : b }}").unwrap_err();
        assert_eq!(e.message, "expected :=");
    }

    #[test]
    fn markers_instrument_every_action() {
        let src = "{{if .a}}x{{else if .b}}y{{end}}{{/* c */}}{{.c}}";
        let out = emit(
            src,
            &scan(src).unwrap(),
            Emit {
                markers: true,
                upto: None,
            },
        );
        assert_eq!(
            out,
            "{{__dfrAt 0}}{{if .a}}x{{__dfrAt 1}}{{else if and (__dfrIf 1) (.b)}}y{{__dfrAt 2}}{{end}}{{__dfrAt 4}}{{.c}}"
        );
        let out = emit(
            src,
            &scan(src).unwrap(),
            Emit {
                markers: false,
                upto: Some(2),
            },
        );
        assert_eq!(out, "{{if .a}}x{{else if .b}}y");
    }

    #[test]
    fn positions() {
        let src = "ab\ncd{{.x}}\n";
        assert_eq!(line_col(src, 0), (1, 0));
        assert_eq!(line_col(src, 5), (2, 2));
        assert_eq!(line_col(src, src.len()), (3, 0));
    }
}
