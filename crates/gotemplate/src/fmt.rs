//! Go's `fmt` (`Sprint`, `Sprintln`, `Sprintf`) and the parts of `strconv` it uses, for the values a template
//! can hold: `bool`, `int`, `uint8`, `float64`, `complex128`, `string`, the vars map (`map[string]interface {}`)
//! and `nil`. Ported rule by rule from Go 1.19's `fmt/print.go` and `fmt/format.go`: flags, width and
//! precision (also from `*` arguments), argument indexes (`%[2]d`), and the `%!verb(type=value)`,
//! `%!verb(MISSING)`, `%!(EXTRA …)`, `%!(BADWIDTH)`, `%!(BADPREC)`, `%!(BADINDEX)` and `%!(NOVERB)` forms.

use super::value::Value;

const LDIGITS: &[u8; 17] = b"0123456789abcdefx";
const UDIGITS: &[u8; 17] = b"0123456789ABCDEFX";

/// Go's `tooLarge`: widths and precisions beyond a million are refused.
const MAX_WIDTH: i64 = 1_000_000;

#[derive(Default, Clone, Copy)]
struct Flags {
    wid_present: bool,
    prec_present: bool,
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    plus_v: bool,
    sharp_v: bool,
}

struct Printer {
    buf: Vec<u8>,
    f: Flags,
    wid: i64,
    prec: i64,
    erroring: bool,
    /// The argument being printed (for `badVerb`): `None` means no argument is current.
    arg: Option<Value>,
    /// Printing stops once the text is longer than this (a format can ask for many million-wide fields).
    limit: usize,
}

/// The dynamic value of an `interface{}` argument: `None` for nil.
fn dynamic(v: &Value) -> Option<&Value> {
    match v {
        Value::Invalid | Value::NilIface => None,
        other => Some(other),
    }
}

impl Printer {
    fn new(limit: usize) -> Self {
        Printer {
            buf: Vec::new(),
            f: Flags::default(),
            wid: 0,
            prec: 0,
            erroring: false,
            arg: None,
            limit,
        }
    }

    fn over(&self) -> bool {
        self.buf.len() > self.limit
    }

    fn result(self) -> Option<Vec<u8>> {
        (!self.over()).then_some(self.buf)
    }

    fn clear_flags(&mut self) {
        self.f = Flags::default();
    }

    fn write_padding(&mut self, n: i64) {
        if n <= 0 {
            return;
        }
        let pad = if self.f.zero { b'0' } else { b' ' };
        self.buf
            .extend(std::iter::repeat_n(pad, usize::try_from(n).unwrap_or(0)));
    }

    fn pad(&mut self, b: &[u8]) {
        if !self.f.wid_present || self.wid == 0 {
            self.buf.extend_from_slice(b);
            return;
        }
        let width = self.wid - rune_count(b) as i64;
        if !self.f.minus {
            self.write_padding(width);
            self.buf.extend_from_slice(b);
        } else {
            self.buf.extend_from_slice(b);
            self.write_padding(width);
        }
    }

    fn fmt_boolean(&mut self, v: bool) {
        self.pad(if v { b"true" } else { b"false" });
    }

    fn fmt_unicode(&mut self, u: u64) {
        let mut prec = 4;
        if self.f.prec_present && self.prec > 4 {
            prec = self.prec;
        }
        let mut digits = Vec::new();
        let mut v = u;
        loop {
            digits.push(UDIGITS[(v & 0xF) as usize]);
            v >>= 4;
            prec -= 1;
            if v == 0 {
                break;
            }
        }
        while prec > 0 {
            digits.push(b'0');
            prec -= 1;
        }
        let mut out = b"U+".to_vec();
        out.extend(digits.iter().rev());
        if self.f.sharp {
            if let Some(c) = u32::try_from(u).ok().and_then(char::from_u32) {
                if is_print(c) {
                    out.extend_from_slice(b" '");
                    let mut tmp = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
                    out.push(b'\'');
                }
            }
        }
        let old_zero = self.f.zero;
        self.f.zero = false;
        self.pad(&out);
        self.f.zero = old_zero;
    }

    fn fmt_integer(&mut self, u: u64, base: u64, signed: bool, verb: char, digits: &[u8; 17]) {
        let negative = signed && (u as i64) < 0;
        let mut u = if negative {
            (u as i64).unsigned_abs()
        } else {
            u
        };
        let mut prec: i64 = 0;
        if self.f.prec_present {
            prec = self.prec;
            if prec == 0 && u == 0 {
                let old_zero = self.f.zero;
                self.f.zero = false;
                self.write_padding(self.wid);
                self.f.zero = old_zero;
                return;
            }
        } else if self.f.zero && self.f.wid_present {
            prec = self.wid;
            if negative || self.f.plus || self.f.space {
                prec -= 1;
            }
        }
        // Digits in reverse order.
        let mut rev: Vec<u8> = Vec::new();
        loop {
            rev.push(digits[(u % base) as usize]);
            u /= base;
            if u == 0 {
                break;
            }
        }
        while (rev.len() as i64) < prec {
            rev.push(b'0');
        }
        if self.f.sharp {
            match base {
                2 => rev.extend_from_slice(b"b0"),
                8 if rev.last() != Some(&b'0') => rev.push(b'0'),
                16 => {
                    rev.push(digits[16]);
                    rev.push(b'0');
                }
                _ => {}
            }
        }
        if verb == 'O' {
            rev.extend_from_slice(b"o0");
        }
        if negative {
            rev.push(b'-');
        } else if self.f.plus {
            rev.push(b'+');
        } else if self.f.space {
            rev.push(b' ');
        }
        rev.reverse();
        let old_zero = self.f.zero;
        self.f.zero = false;
        self.pad(&rev);
        self.f.zero = old_zero;
    }

    fn truncate<'a>(&self, s: &'a [u8]) -> &'a [u8] {
        if self.f.prec_present {
            let mut n = self.prec;
            let mut i = 0;
            while i < s.len() {
                n -= 1;
                if n < 0 {
                    return &s[..i];
                }
                i += decode_rune(&s[i..]).1;
            }
        }
        s
    }

    fn fmt_s(&mut self, s: &[u8]) {
        let s = self.truncate(s);
        self.pad(s);
    }

    fn fmt_sx(&mut self, s: &[u8], digits: &[u8; 17]) {
        let mut length = s.len() as i64;
        if self.f.prec_present && self.prec < length {
            length = self.prec;
        }
        let mut width = 2 * length;
        if width > 0 {
            if self.f.space {
                if self.f.sharp {
                    width *= 2;
                }
                width += length - 1;
            } else if self.f.sharp {
                width += 2;
            }
        } else {
            if self.f.wid_present {
                self.write_padding(self.wid);
            }
            return;
        }
        if self.f.wid_present && self.wid > width && !self.f.minus {
            self.write_padding(self.wid - width);
        }
        if self.f.sharp {
            self.buf.push(b'0');
            self.buf.push(digits[16]);
        }
        for (i, &c) in s.iter().take(length as usize).enumerate() {
            if self.f.space && i > 0 {
                self.buf.push(b' ');
                if self.f.sharp {
                    self.buf.push(b'0');
                    self.buf.push(digits[16]);
                }
            }
            self.buf.push(digits[(c >> 4) as usize]);
            self.buf.push(digits[(c & 0xF) as usize]);
        }
        if self.f.wid_present && self.wid > width && self.f.minus {
            self.write_padding(self.wid - width);
        }
    }

    fn fmt_q(&mut self, s: &[u8]) {
        let s = self.truncate(s);
        if self.f.sharp && can_backquote(s) {
            let mut out = vec![b'`'];
            out.extend_from_slice(s);
            out.push(b'`');
            self.pad(&out);
            return;
        }
        let quoted = quote_with(s, b'"', self.f.plus);
        self.pad(quoted.as_bytes());
    }

    fn fmt_c(&mut self, c: u64) {
        let r = u32::try_from(c)
            .ok()
            .and_then(char::from_u32)
            .unwrap_or('\u{FFFD}');
        let mut tmp = [0u8; 4];
        let s = r.encode_utf8(&mut tmp).as_bytes().to_vec();
        self.pad(&s);
    }

    fn fmt_qc(&mut self, c: u64) {
        let r = u32::try_from(c)
            .ok()
            .and_then(char::from_u32)
            .unwrap_or('\u{FFFD}');
        let mut tmp = [0u8; 4];
        let q = quote_with(r.encode_utf8(&mut tmp).as_bytes(), b'\'', self.f.plus);
        self.pad(q.as_bytes());
    }

    fn fmt_float_inner(&mut self, v: f64, verb: u8, prec: i64) {
        let prec = if self.f.prec_present { self.prec } else { prec };
        let formatted = format_float(v, verb, prec);
        let mut num: Vec<u8> = Vec::with_capacity(formatted.len() + 1);
        if formatted.starts_with('-') || formatted.starts_with('+') {
            num.extend_from_slice(formatted.as_bytes());
        } else {
            num.push(b'+');
            num.extend_from_slice(formatted.as_bytes());
        }
        if self.f.space && num[0] == b'+' && !self.f.plus {
            num[0] = b' ';
        }
        if num[1] == b'I' || num[1] == b'N' {
            let old_zero = self.f.zero;
            self.f.zero = false;
            if num[1] == b'N' && !self.f.space && !self.f.plus {
                num.remove(0);
            }
            self.pad(&num);
            self.f.zero = old_zero;
            return;
        }
        if self.f.sharp && verb != b'b' {
            let mut digits: i64 = 0;
            if matches!(verb, b'v' | b'g' | b'G' | b'x') {
                digits = if prec == -1 { 6 } else { prec };
            }
            let mut tail: Vec<u8> = Vec::new();
            let mut has_decimal_point = false;
            let mut saw_nonzero = false;
            let mut i = 1;
            while i < num.len() {
                match num[i] {
                    b'.' => has_decimal_point = true,
                    b'p' | b'P' => {
                        tail.extend_from_slice(&num[i..]);
                        num.truncate(i);
                        break;
                    }
                    b'e' | b'E' if verb != b'x' && verb != b'X' => {
                        tail.extend_from_slice(&num[i..]);
                        num.truncate(i);
                        break;
                    }
                    c => {
                        if c != b'0' {
                            saw_nonzero = true;
                        }
                        if saw_nonzero {
                            digits -= 1;
                        }
                    }
                }
                i += 1;
            }
            if !has_decimal_point {
                if num.len() == 2 && num[1] == b'0' {
                    digits -= 1;
                }
                num.push(b'.');
            }
            while digits > 0 {
                num.push(b'0');
                digits -= 1;
            }
            num.extend_from_slice(&tail);
        }
        if self.f.plus || num[0] != b'+' {
            if self.f.zero && self.f.wid_present && self.wid > num.len() as i64 {
                self.buf.push(num[0]);
                self.write_padding(self.wid - num.len() as i64);
                self.buf.extend_from_slice(&num[1..]);
                return;
            }
            self.pad(&num);
            return;
        }
        self.pad(&num[1..]);
    }

    fn bad_verb(&mut self, verb: char) {
        self.erroring = true;
        self.buf.extend_from_slice(b"%!");
        push_rune(&mut self.buf, verb);
        self.buf.push(b'(');
        match self.arg.clone() {
            Some(arg) => {
                self.buf.extend_from_slice(type_name(&arg).as_bytes());
                self.buf.push(b'=');
                self.print_arg(&arg, 'v');
            }
            None => self.buf.extend_from_slice(b"<nil>"),
        }
        self.buf.push(b')');
        self.erroring = false;
    }

    fn fmt_bool(&mut self, v: bool, verb: char) {
        match verb {
            't' | 'v' => self.fmt_boolean(v),
            _ => self.bad_verb(verb),
        }
    }

    fn fmt_int(&mut self, v: u64, signed: bool, verb: char) {
        match verb {
            'v' => {
                if self.f.sharp_v && !signed {
                    let sharp = self.f.sharp;
                    self.f.sharp = true;
                    self.fmt_integer(v, 16, false, 'v', LDIGITS);
                    self.f.sharp = sharp;
                } else {
                    self.fmt_integer(v, 10, signed, verb, LDIGITS);
                }
            }
            'd' => self.fmt_integer(v, 10, signed, verb, LDIGITS),
            'b' => self.fmt_integer(v, 2, signed, verb, LDIGITS),
            'o' | 'O' => self.fmt_integer(v, 8, signed, verb, LDIGITS),
            'x' => self.fmt_integer(v, 16, signed, verb, LDIGITS),
            'X' => self.fmt_integer(v, 16, signed, verb, UDIGITS),
            'c' => self.fmt_c(v),
            'q' => self.fmt_qc(v),
            'U' => self.fmt_unicode(v),
            _ => self.bad_verb(verb),
        }
    }

    fn fmt_float(&mut self, v: f64, verb: char) {
        match verb {
            'v' => self.fmt_float_inner(v, b'g', -1),
            'b' | 'g' | 'G' | 'x' | 'X' => self.fmt_float_inner(v, verb as u8, -1),
            'f' | 'e' | 'E' => self.fmt_float_inner(v, verb as u8, 6),
            'F' => self.fmt_float_inner(v, b'f', 6),
            _ => self.bad_verb(verb),
        }
    }

    fn fmt_complex(&mut self, re: f64, im: f64, verb: char) {
        match verb {
            'v' | 'b' | 'g' | 'G' | 'x' | 'X' | 'f' | 'F' | 'e' | 'E' => {
                let old_plus = self.f.plus;
                self.buf.push(b'(');
                self.fmt_float(re, verb);
                self.f.plus = true;
                self.fmt_float(im, verb);
                self.buf.extend_from_slice(b"i)");
                self.f.plus = old_plus;
            }
            _ => self.bad_verb(verb),
        }
    }

    fn fmt_string(&mut self, v: &[u8], verb: char) {
        match verb {
            'v' => {
                if self.f.sharp_v {
                    self.fmt_q(v)
                } else {
                    self.fmt_s(v)
                }
            }
            's' => self.fmt_s(v),
            'x' => self.fmt_sx(v, LDIGITS),
            'X' => self.fmt_sx(v, UDIGITS),
            'q' => self.fmt_q(v),
            _ => self.bad_verb(verb),
        }
    }

    /// Go's `printArg` for an `interface{}` argument.
    fn print_arg(&mut self, arg: &Value, verb: char) {
        let Some(arg) = dynamic(arg) else {
            self.arg = None;
            match verb {
                'T' | 'v' => self.pad(b"<nil>"),
                _ => self.bad_verb(verb),
            }
            return;
        };
        self.arg = Some(arg.clone());
        if verb == 'T' {
            let name = type_name(arg);
            self.fmt_s(name.as_bytes());
            return;
        }
        if verb == 'p' {
            // Only the map is a pointer-like value here; its address means nothing in a template.
            match arg {
                Value::Map(_) => self.pad(b"0xc000010000"),
                _ => self.bad_verb(verb),
            }
            return;
        }
        self.print_value(arg, verb, 0);
    }

    fn print_value(&mut self, v: &Value, verb: char, depth: usize) {
        self.arg = Some(v.clone());
        match v {
            Value::Invalid | Value::NilIface => {
                if depth == 0 {
                    self.buf.extend_from_slice(b"<invalid reflect.Value>");
                } else if verb == 'v' {
                    self.buf.extend_from_slice(b"<nil>");
                } else {
                    self.bad_verb(verb);
                }
            }
            Value::Bool(b) => self.fmt_bool(*b, verb),
            Value::Int(i) => self.fmt_int(*i as u64, true, verb),
            Value::Uint8(u) => self.fmt_int(u64::from(*u), false, verb),
            Value::Float(f) => self.fmt_float(*f, verb),
            Value::Complex(re, im) => self.fmt_complex(*re, *im, verb),
            Value::Str(s) | Value::IfaceStr(s) => self.fmt_string(s, verb),
            Value::Map(m) => {
                if self.f.sharp_v {
                    self.buf.extend_from_slice(b"map[string]interface {}{");
                } else {
                    self.buf.extend_from_slice(b"map[");
                }
                for (i, (k, val)) in m.iter().enumerate() {
                    if i > 0 {
                        if self.f.sharp_v {
                            self.buf.extend_from_slice(b", ");
                        } else {
                            self.buf.push(b' ');
                        }
                    }
                    self.print_value(&Value::Str(k.as_bytes().into()), verb, depth + 1);
                    self.buf.push(b':');
                    self.print_value(&Value::Str(val.as_bytes().into()), verb, depth + 1);
                }
                self.buf.push(if self.f.sharp_v { b'}' } else { b']' });
            }
        }
    }

    /// Go's `argNumber`: `(new arg index, new i, found)`; clears `good` on a bad index.
    fn arg_number(
        &mut self,
        arg_num: usize,
        format: &[u8],
        i: usize,
        num_args: usize,
        reordered: &mut bool,
        good: &mut bool,
    ) -> (usize, usize, bool) {
        if format.len() <= i || format[i] != b'[' {
            return (arg_num, i, false);
        }
        *reordered = true;
        let (index, wid, ok) = parse_arg_number(&format[i..]);
        if ok && index >= 0 && (index as usize) < num_args {
            return (index as usize, i + wid, true);
        }
        *good = false;
        (arg_num, i + wid, ok)
    }

    fn do_printf(&mut self, format: &[u8], a: &[Value]) {
        let end = format.len();
        let mut arg_num = 0usize;
        let mut after_index;
        let mut reordered = false;
        let mut i = 0;
        'format: while i < end {
            if self.over() {
                return;
            }
            let mut good = true;
            let lasti = i;
            while i < end && format[i] != b'%' {
                i += 1;
            }
            if i > lasti {
                self.buf.extend_from_slice(&format[lasti..i]);
            }
            if i >= end {
                break;
            }
            i += 1;
            self.clear_flags();
            while i < end {
                let c = format[i];
                match c {
                    b'#' => self.f.sharp = true,
                    b'0' => self.f.zero = !self.f.minus,
                    b'+' => self.f.plus = true,
                    b'-' => {
                        self.f.minus = true;
                        self.f.zero = false;
                    }
                    b' ' => self.f.space = true,
                    _ => {
                        if c.is_ascii_lowercase() && arg_num < a.len() {
                            if c == b'v' {
                                self.f.sharp_v = self.f.sharp;
                                self.f.sharp = false;
                                self.f.plus_v = self.f.plus;
                                self.f.plus = false;
                            }
                            self.print_arg(&a[arg_num], char::from(c));
                            arg_num += 1;
                            i += 1;
                            continue 'format;
                        }
                        break;
                    }
                }
                i += 1;
            }
            (arg_num, i, after_index) =
                self.arg_number(arg_num, format, i, a.len(), &mut reordered, &mut good);
            if i < end && format[i] == b'*' {
                i += 1;
                let (n, ok, next) = int_from_arg(a, arg_num);
                self.wid = n;
                self.f.wid_present = ok;
                arg_num = next;
                if !ok {
                    self.buf.extend_from_slice(b"%!(BADWIDTH)");
                }
                if self.wid < 0 {
                    self.wid = -self.wid;
                    self.f.minus = true;
                    self.f.zero = false;
                }
                after_index = false;
            } else {
                let (n, ok, next) = parsenum(format, i, end);
                self.wid = n;
                self.f.wid_present = ok;
                i = next;
                if after_index && self.f.wid_present {
                    good = false;
                }
            }
            if i + 1 < end && format[i] == b'.' {
                i += 1;
                if after_index {
                    good = false;
                }
                (arg_num, i, after_index) =
                    self.arg_number(arg_num, format, i, a.len(), &mut reordered, &mut good);
                if i < end && format[i] == b'*' {
                    i += 1;
                    let (n, ok, next) = int_from_arg(a, arg_num);
                    self.prec = n;
                    self.f.prec_present = ok;
                    arg_num = next;
                    if self.prec < 0 {
                        self.prec = 0;
                        self.f.prec_present = false;
                    }
                    if !self.f.prec_present {
                        self.buf.extend_from_slice(b"%!(BADPREC)");
                    }
                    after_index = false;
                } else {
                    let (n, ok, next) = parsenum(format, i, end);
                    self.prec = n;
                    self.f.prec_present = ok;
                    i = next;
                    if !self.f.prec_present {
                        self.prec = 0;
                        self.f.prec_present = true;
                    }
                }
            }
            if !after_index {
                (arg_num, i, _) =
                    self.arg_number(arg_num, format, i, a.len(), &mut reordered, &mut good);
            }
            if i >= end {
                self.buf.extend_from_slice(b"%!(NOVERB)");
                break;
            }
            let (verb, size) = decode_rune(&format[i..]);
            i += size;
            match verb {
                '%' => self.buf.push(b'%'),
                _ if !good => {
                    self.buf.extend_from_slice(b"%!");
                    push_rune(&mut self.buf, verb);
                    self.buf.extend_from_slice(b"(BADINDEX)");
                }
                _ if arg_num >= a.len() => {
                    self.buf.extend_from_slice(b"%!");
                    push_rune(&mut self.buf, verb);
                    self.buf.extend_from_slice(b"(MISSING)");
                }
                _ => {
                    if verb == 'v' {
                        self.f.sharp_v = self.f.sharp;
                        self.f.sharp = false;
                        self.f.plus_v = self.f.plus;
                        self.f.plus = false;
                    }
                    self.print_arg(&a[arg_num], verb);
                    arg_num += 1;
                }
            }
        }
        if !reordered && arg_num < a.len() {
            self.clear_flags();
            self.buf.extend_from_slice(b"%!(EXTRA ");
            for (i, arg) in a[arg_num..].iter().enumerate() {
                if i > 0 {
                    self.buf.extend_from_slice(b", ");
                }
                match dynamic(arg) {
                    None => self.buf.extend_from_slice(b"<nil>"),
                    Some(v) => {
                        self.buf.extend_from_slice(type_name(v).as_bytes());
                        self.buf.push(b'=');
                        self.print_arg(v, 'v');
                    }
                }
            }
            self.buf.push(b')');
        }
    }
}

fn int_from_arg(a: &[Value], arg_num: usize) -> (i64, bool, usize) {
    if arg_num >= a.len() {
        return (0, false, arg_num);
    }
    let (mut num, mut is_int) = match dynamic(&a[arg_num]) {
        Some(Value::Int(i)) => (*i, true),
        Some(Value::Uint8(u)) => (i64::from(*u), true),
        _ => (0, false),
    };
    if !(-MAX_WIDTH..=MAX_WIDTH).contains(&num) {
        num = 0;
        is_int = false;
    }
    (num, is_int, arg_num + 1)
}

/// Go's `parsenum`.
fn parsenum(s: &[u8], start: usize, end: usize) -> (i64, bool, usize) {
    if start >= end {
        return (0, false, end);
    }
    let mut num: i64 = 0;
    let mut isnum = false;
    let mut i = start;
    while i < end && s[i].is_ascii_digit() {
        if !(-MAX_WIDTH..=MAX_WIDTH).contains(&num) {
            return (0, false, end);
        }
        num = num * 10 + i64::from(s[i] - b'0');
        isnum = true;
        i += 1;
    }
    (num, isnum, i)
}

fn parse_arg_number(format: &[u8]) -> (i64, usize, bool) {
    if format.len() < 3 {
        return (0, 1, false);
    }
    for i in 1..format.len() {
        if format[i] == b']' {
            let (width, ok, newi) = parsenum(format, 1, i);
            if !ok || newi != i {
                return (0, i + 1, false);
            }
            return (width - 1, i + 1, true);
        }
    }
    (0, 1, false)
}

/// Go's `%T` name of a value.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Invalid | Value::NilIface => "<nil>",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Uint8(_) => "uint8",
        Value::Float(_) => "float64",
        Value::Complex(..) => "complex128",
        Value::Str(_) | Value::IfaceStr(_) => "string",
        Value::Map(_) => "map[string]interface {}",
    }
}

/// `fmt.Sprintf`; `None` when the text would be longer than `limit` bytes.
pub fn sprintf(format: &[u8], args: &[Value], limit: usize) -> Option<Vec<u8>> {
    let mut p = Printer::new(limit);
    p.do_printf(format, args);
    p.result()
}

/// `fmt.Sprint`: spaces between operands when neither side is a string; `None` when the text would be longer
/// than `limit` bytes.
pub fn sprint(args: &[Value], limit: usize) -> Option<Vec<u8>> {
    let mut p = Printer::new(limit);
    let mut prev_string = false;
    for (i, arg) in args.iter().enumerate() {
        if p.over() {
            return None;
        }
        let is_string = matches!(dynamic(arg), Some(Value::Str(_) | Value::IfaceStr(_)));
        if i > 0 && !is_string && !prev_string {
            p.buf.push(b' ');
        }
        p.clear_flags();
        p.print_arg(arg, 'v');
        prev_string = is_string;
    }
    p.result()
}

/// `fmt.Sprintln`: spaces between all operands and a newline; `None` when the text would be longer than `limit`
/// bytes.
pub fn sprintln(args: &[Value], limit: usize) -> Option<Vec<u8>> {
    let mut p = Printer::new(limit);
    for (i, arg) in args.iter().enumerate() {
        if p.over() {
            return None;
        }
        if i > 0 {
            p.buf.push(b' ');
        }
        p.clear_flags();
        p.print_arg(arg, 'v');
    }
    p.buf.push(b'\n');
    p.result()
}

/// `fmt.Sprintf("%v", v)` of one value, as Go's error messages print values.
pub fn sprint_v(v: &Value) -> String {
    let text = sprintf(b"%v", std::slice::from_ref(v), usize::MAX).unwrap_or_default();
    String::from_utf8_lossy(&text).into_owned()
}

fn push_rune(buf: &mut Vec<u8>, c: char) {
    let mut tmp = [0u8; 4];
    buf.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
}

/// Go's `utf8.DecodeRune`: the rune and its width; invalid bytes are U+FFFD of width 1.
pub fn decode_rune(b: &[u8]) -> (char, usize) {
    if b.is_empty() {
        return ('\u{FFFD}', 0);
    }
    if b[0] < 0x80 {
        return (char::from(b[0]), 1);
    }
    let len = match b[0] {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return ('\u{FFFD}', 1),
    };
    if b.len() >= len {
        if let Ok(s) = std::str::from_utf8(&b[..len]) {
            if let Some(c) = s.chars().next() {
                return (c, len);
            }
        }
    }
    ('\u{FFFD}', 1)
}

fn rune_count(b: &[u8]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < b.len() {
        i += decode_rune(&b[i..]).1;
        n += 1;
    }
    n
}

/// Go's `unicode.IsPrint`, approximated without Unicode tables: every rune is printable except controls,
/// spaces other than U+0020, the format characters (category Cf), private-use runes and noncharacters.
/// Unassigned code points count as printable here (Go says no).
pub fn is_print(c: char) -> bool {
    let u = u32::from(c);
    if c.is_ascii() {
        return (0x20..0x7F).contains(&u);
    }
    if c.is_control() || c.is_whitespace() || c == '\u{A0}' {
        return false;
    }
    !matches!(u,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x890..=0x891 | 0x8E2 | 0x180E
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F
        | 0xFEFF | 0xFFF0..=0xFFFB | 0xFFFE | 0xFFFF | 0x110BD | 0x110CD | 0x13430..=0x1343F
        | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F
        | 0xE000..=0xF8FF | 0xF0000..=0x10FFFF)
        && (u & 0xFFFE) != 0xFFFE
}

/// Go's `strconv.CanBackquote`.
fn can_backquote(s: &[u8]) -> bool {
    let mut i = 0;
    while i < s.len() {
        let (c, w) = decode_rune(&s[i..]);
        if w == 1 && c == '\u{FFFD}' && s[i] >= 0x80 {
            return false;
        }
        if c == '\u{FEFF}' {
            return false;
        }
        if w == 1 && ((s[i] < b' ' && s[i] != b'\t') || s[i] == b'`' || s[i] == 0x7F) {
            return false;
        }
        i += w;
    }
    true
}

/// Go's `strconv.Quote` (`ascii`: `QuoteToASCII`) with the given quote character.
pub fn quote_with(s: &[u8], quote: u8, ascii: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(char::from(quote));
    let mut i = 0;
    while i < s.len() {
        let (c, w) = decode_rune(&s[i..]);
        if w == 1 && c == '\u{FFFD}' && s[i] >= 0x80 {
            out.push_str(&format!("\\x{:02x}", s[i]));
            i += 1;
            continue;
        }
        i += w;
        if u32::from(c) == u32::from(quote) || c == '\\' {
            out.push('\\');
            out.push(c);
            continue;
        }
        if (ascii && c.is_ascii() && is_print(c)) || (!ascii && is_print(c)) {
            out.push(c);
            continue;
        }
        match c {
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{C}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{B}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7F => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push(char::from(quote));
    out
}

/// Go's `strconv.Quote`.
pub fn quote(s: &str) -> String {
    quote_with(s.as_bytes(), b'"', false)
}

// ---- strconv.FormatFloat ----

/// Decimal digits (no leading or trailing zeros) and the decimal point position: value = 0.d1d2… × 10^dp.
struct Decimal {
    d: Vec<u8>,
    dp: i64,
}

/// The exact decimal expansion of a finite, non-negative `v`.
fn exact_decimal(v: f64) -> Decimal {
    if v == 0.0 {
        return Decimal {
            d: Vec::new(),
            dp: 0,
        };
    }
    // 1100 digits after the point is more than any f64 needs (at most 767 significant digits).
    let s = format!("{v:.1100e}");
    decimal_from_sci(&s)
}

/// The shortest decimal that reads back as `v` (Go's shortest formatting).
fn shortest_decimal(v: f64) -> Decimal {
    if v == 0.0 {
        return Decimal {
            d: Vec::new(),
            dp: 0,
        };
    }
    decimal_from_sci(&format!("{v:e}"))
}

fn decimal_from_sci(s: &str) -> Decimal {
    let (mant, exp) = s.split_once('e').unwrap_or((s, "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let mut d: Vec<u8> = mant.bytes().filter(u8::is_ascii_digit).collect();
    while d.last() == Some(&b'0') {
        d.pop();
    }
    let lead = d.iter().take_while(|&&c| c == b'0').count();
    d.drain(..lead);
    Decimal {
        d,
        dp: exp + 1 - lead as i64,
    }
}

impl Decimal {
    /// Go's `decimal.Round(nd)`: round to `nd` digits, half to even.
    fn round(&mut self, nd: i64) {
        if nd < 0 || nd >= self.d.len() as i64 {
            return;
        }
        let n = nd as usize;
        let up = if self.d[n] == b'5' && n + 1 == self.d.len() {
            n > 0 && (self.d[n - 1] - b'0') % 2 == 1
        } else {
            self.d[n] >= b'5'
        };
        if up {
            let mut i = n;
            loop {
                if i == 0 {
                    self.d = vec![b'1'];
                    self.dp += 1;
                    return;
                }
                i -= 1;
                if self.d[i] < b'9' {
                    self.d[i] += 1;
                    self.d.truncate(i + 1);
                    return;
                }
            }
        } else {
            self.d.truncate(n);
            while self.d.last() == Some(&b'0') {
                self.d.pop();
            }
            if self.d.is_empty() {
                self.dp = 0;
            }
        }
    }

    fn digit(&self, i: i64) -> u8 {
        if i >= 0 && (i as usize) < self.d.len() {
            self.d[i as usize]
        } else {
            b'0'
        }
    }
}

fn fmt_e(out: &mut String, digs: &Decimal, prec: i64, fmt: u8) {
    out.push(char::from(digs.digit(0)));
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            out.push(char::from(digs.digit(i)));
        }
    }
    out.push(char::from(fmt));
    let exp = if digs.d.is_empty() { 0 } else { digs.dp - 1 };
    out.push(if exp < 0 { '-' } else { '+' });
    let exp = exp.abs();
    if exp < 10 {
        out.push('0');
    }
    out.push_str(&exp.to_string());
}

fn fmt_f(out: &mut String, digs: &Decimal, prec: i64) {
    if digs.dp > 0 {
        for i in 0..digs.dp {
            out.push(char::from(digs.digit(i)));
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            out.push(char::from(digs.digit(digs.dp + i - 1)));
        }
    }
}

/// Go's `strconv.FormatFloat(v, fmt, prec, 64)`.
pub fn format_float(v: f64, fmt: u8, prec: i64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let neg = v.is_sign_negative();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    let a = v.abs();
    match fmt {
        b'b' => {
            let bits = v.to_bits();
            let mut exp = ((bits >> 52) & 0x7FF) as i64;
            let mut mant = bits & ((1u64 << 52) - 1);
            if exp == 0 {
                exp += 1;
            } else {
                mant |= 1u64 << 52;
            }
            exp += -1023 - 52;
            out.push_str(&mant.to_string());
            out.push('p');
            if exp >= 0 {
                out.push('+');
            }
            out.push_str(&exp.to_string());
            return out;
        }
        b'x' | b'X' => {
            let bits = v.to_bits();
            let mut exp = ((bits >> 52) & 0x7FF) as i64;
            let mut mant = bits & ((1u64 << 52) - 1);
            if exp == 0 {
                exp += 1;
            } else {
                mant |= 1u64 << 52;
            }
            exp -= 1023;
            return fmt_x(out, prec, fmt, mant, exp);
        }
        _ => {}
    }
    let shortest = prec < 0;
    let mut prec = prec;
    let digs = if shortest {
        let digs = shortest_decimal(a);
        let nd = digs.d.len() as i64;
        prec = match fmt {
            b'e' | b'E' => (nd - 1).max(0),
            b'f' => (nd - digs.dp).max(0),
            _ => nd,
        };
        digs
    } else {
        let mut digs = exact_decimal(a);
        match fmt {
            b'e' | b'E' => digs.round(prec + 1),
            b'f' => digs.round(digs.dp + prec),
            _ => {
                if prec == 0 {
                    prec = 1;
                }
                digs.round(prec)
            }
        }
        digs
    };
    match fmt {
        b'e' | b'E' => fmt_e(&mut out, &digs, prec, fmt),
        b'f' => fmt_f(&mut out, &digs, prec),
        _ => {
            let nd = digs.d.len() as i64;
            let mut eprec = prec;
            if eprec > nd && nd >= digs.dp {
                eprec = nd;
            }
            if shortest {
                eprec = 6;
            }
            let exp = digs.dp - 1;
            if exp < -4 || exp >= eprec {
                if prec > nd {
                    prec = nd;
                }
                fmt_e(&mut out, &digs, prec - 1, fmt + b'e' - b'g');
            } else {
                if prec > digs.dp {
                    prec = nd;
                }
                fmt_f(&mut out, &digs, (prec - digs.dp).max(0));
            }
        }
    }
    out
}

/// Go's `fmtX`: `-0x1.yyyyp±dd`.
fn fmt_x(mut out: String, prec: i64, fmt: u8, mut mant: u64, mut exp: i64) -> String {
    if mant == 0 {
        exp = 0;
    }
    mant <<= 60 - 52;
    while mant != 0 && mant & (1 << 60) == 0 {
        mant <<= 1;
        exp -= 1;
    }
    if (0..15).contains(&prec) {
        let shift = (prec * 4) as u32;
        let extra = (mant << shift) & ((1 << 60) - 1);
        mant >>= 60 - shift;
        if extra | (mant & 1) > 1 << 59 {
            mant += 1;
        }
        mant <<= 60 - shift;
        if mant & (1 << 61) != 0 {
            mant >>= 1;
            exp += 1;
        }
    }
    let hex: &[u8] = if fmt == b'X' {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    out.push('0');
    out.push(char::from(fmt));
    out.push(char::from(b'0' + ((mant >> 60) & 1) as u8));
    mant <<= 4;
    if prec < 0 && mant != 0 {
        out.push('.');
        while mant != 0 {
            out.push(char::from(hex[((mant >> 60) & 15) as usize]));
            mant <<= 4;
        }
    } else if prec > 0 {
        out.push('.');
        for _ in 0..prec {
            out.push(char::from(hex[((mant >> 60) & 15) as usize]));
            mant <<= 4;
        }
    }
    out.push(if fmt == b'X' { 'P' } else { 'p' });
    out.push(if exp < 0 { '-' } else { '+' });
    let exp = exp.abs();
    if exp < 10 {
        out.push('0');
    }
    out.push_str(&exp.to_string());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(format: &str, args: &[Value]) -> String {
        String::from_utf8(sprintf(format.as_bytes(), args, usize::MAX).unwrap()).unwrap()
    }

    #[test]
    fn integers_and_flags() {
        let n = Value::Int(42);
        assert_eq!(
            f(
                "%05d|%-5d|%5d|%+d|% d",
                &[n.clone(), n.clone(), n.clone(), n.clone(), n.clone()]
            ),
            "00042|42   |   42|+42| 42"
        );
        assert_eq!(
            f(
                "%x %X %o %O %b %#x %#o",
                &[
                    Value::Int(255),
                    Value::Int(255),
                    Value::Int(8),
                    Value::Int(8),
                    Value::Int(5),
                    Value::Int(255),
                    Value::Int(8)
                ]
            ),
            "ff FF 10 0o10 101 0xff 010"
        );
        assert_eq!(
            f("%d %s", &[Value::Str(b"x".as_slice().into())]),
            "%!d(string=x) %!s(MISSING)"
        );
        assert_eq!(f("%d", &[Value::Int(1), Value::Int(2)]), "1%!(EXTRA int=2)");
    }

    #[test]
    fn floats() {
        let v = Value::Float(3.14259);
        assert_eq!(
            f(
                "%f %.2f %e %g %v",
                &[v.clone(), v.clone(), v.clone(), v.clone(), v]
            ),
            "3.142590 3.14 3.142590e+00 3.14259 3.14259"
        );
        assert_eq!(
            f(
                "%v %v %v",
                &[
                    Value::Float(1e6),
                    Value::Float(1e20),
                    Value::Float(100000.0)
                ]
            ),
            "1e+06 1e+20 100000"
        );
        assert_eq!(
            f("%.0f %.1f", &[Value::Float(2.5), Value::Float(0.25)]),
            "2 0.2"
        );
        assert_eq!(
            f("%x %b", &[Value::Float(1.0), Value::Float(1.0)]),
            "0x1p+00 4503599627370496p-52"
        );
    }
}
