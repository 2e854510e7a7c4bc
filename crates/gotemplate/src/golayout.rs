//! Go's `time.Time.Format`: formatting with a reference-time layout such as `"2006-01-02 15:04:05"`.
//!
//! No maintained Rust crate formats Go layouts, so this follows Go's own tokenizer (`nextStdChunk` in
//! `time/format.go`) rule by rule, including its quirks:
//!
//! * `Jan` and `Mon` are tokens only when not followed by a lowercase ASCII letter (`Janet` is literal text),
//!   while `January` and `Monday` always are;
//! * every `1`, `2`, `3`, `4`, `5` that does not start a longer token is a token (month, day, hour, minute,
//!   second), so digits in literal text get replaced exactly as Go replaces them;
//! * `_2006` is a literal `_` followed by the year; `__2` is the space-padded day of the year;
//! * `.000` / `,000` / `.999` / `,999` are fractional seconds only when the run of digits ends the number.
//!
//! The zone name (`MST`) is the abbreviation the caller passes; without one Go prints the numeric offset in the
//! `-0700` form, and so does this.

use chrono::{DateTime, Datelike, FixedOffset, Timelike};

const LONG_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

const LONG_DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// One layout element (Go's `std*` constants).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    TZ,
    Iso8601TZ,
    Iso8601SecondsTZ,
    Iso8601ShortTZ,
    Iso8601ColonTZ,
    Iso8601ColonSecondsTZ,
    NumTZ,
    NumSecondsTZ,
    NumShortTZ,
    NumColonTZ,
    NumColonSecondsTZ,
    /// Fractional seconds: `trim` for the `9` form, `digits` as written, `sep` is `.` or `,`.
    Frac {
        trim: bool,
        digits: usize,
        sep: u8,
    },
}

/// Finds the first layout element in `layout`: `(prefix_end, element, suffix_start)`.
fn next_std_chunk(layout: &str) -> Option<(usize, Std, usize)> {
    let b = layout.as_bytes();
    let at = |i: usize, s: &str| b.len() >= i + s.len() && &b[i..i + s.len()] == s.as_bytes();
    let starts_lower = |i: usize| i < b.len() && b[i].is_ascii_lowercase();
    let is_digit = |i: usize| i < b.len() && b[i].is_ascii_digit();
    for i in 0..b.len() {
        match b[i] {
            b'J' if at(i, "Jan") => {
                if at(i, "January") {
                    return Some((i, Std::LongMonth, i + 7));
                }
                if !starts_lower(i + 3) {
                    return Some((i, Std::Month, i + 3));
                }
            }
            b'M' => {
                if at(i, "Mon") {
                    if at(i, "Monday") {
                        return Some((i, Std::LongWeekDay, i + 6));
                    }
                    if !starts_lower(i + 3) {
                        return Some((i, Std::WeekDay, i + 3));
                    }
                }
                if at(i, "MST") {
                    return Some((i, Std::TZ, i + 3));
                }
            }
            b'0' => {
                if i + 1 < b.len() && (b'1'..=b'6').contains(&b[i + 1]) {
                    let std = [
                        Std::ZeroMonth,
                        Std::ZeroDay,
                        Std::ZeroHour12,
                        Std::ZeroMinute,
                        Std::ZeroSecond,
                        Std::Year,
                    ][usize::from(b[i + 1] - b'1')];
                    return Some((i, std, i + 2));
                }
                if at(i, "002") {
                    return Some((i, Std::ZeroYearDay, i + 3));
                }
            }
            b'1' => {
                if at(i, "15") {
                    return Some((i, Std::Hour, i + 2));
                }
                return Some((i, Std::NumMonth, i + 1));
            }
            b'2' => {
                if at(i, "2006") {
                    return Some((i, Std::LongYear, i + 4));
                }
                return Some((i, Std::Day, i + 1));
            }
            b'_' => {
                if at(i, "_2") {
                    // `_2006` is a literal `_` followed by the long year.
                    if at(i, "_2006") {
                        return Some((i + 1, Std::LongYear, i + 5));
                    }
                    return Some((i, Std::UnderDay, i + 2));
                }
                if at(i, "__2") {
                    return Some((i, Std::UnderYearDay, i + 3));
                }
            }
            b'3' => return Some((i, Std::Hour12, i + 1)),
            b'4' => return Some((i, Std::Minute, i + 1)),
            b'5' => return Some((i, Std::Second, i + 1)),
            b'P' if at(i, "PM") => return Some((i, Std::PM, i + 2)),
            b'p' if at(i, "pm") => return Some((i, Std::Pm, i + 2)),
            b'-' => {
                for (token, std) in [
                    ("-070000", Std::NumSecondsTZ),
                    ("-07:00:00", Std::NumColonSecondsTZ),
                    ("-0700", Std::NumTZ),
                    ("-07:00", Std::NumColonTZ),
                    ("-07", Std::NumShortTZ),
                ] {
                    if at(i, token) {
                        return Some((i, std, i + token.len()));
                    }
                }
            }
            b'Z' => {
                for (token, std) in [
                    ("Z070000", Std::Iso8601SecondsTZ),
                    ("Z07:00:00", Std::Iso8601ColonSecondsTZ),
                    ("Z0700", Std::Iso8601TZ),
                    ("Z07:00", Std::Iso8601ColonTZ),
                    ("Z07", Std::Iso8601ShortTZ),
                ] {
                    if at(i, token) {
                        return Some((i, std, i + token.len()));
                    }
                }
            }
            sep @ (b'.' | b',') if i + 1 < b.len() && (b[i + 1] == b'0' || b[i + 1] == b'9') => {
                let ch = b[i + 1];
                let mut j = i + 1;
                while j < b.len() && b[j] == ch {
                    j += 1;
                }
                // Only a fractional second if the run of equal digits ends the number.
                if !is_digit(j) {
                    let frac = Std::Frac {
                        trim: ch == b'9',
                        digits: j - (i + 1),
                        sep,
                    };
                    return Some((i, frac, j));
                }
            }
            _ => {}
        }
    }
    None
}

/// Go's `appendInt`: `x` in decimal, zero-padded to `width` digits, a leading `-` when negative.
fn push_int(out: &mut String, x: i64, width: usize) {
    if x < 0 {
        out.push('-');
    }
    let digits = x.unsigned_abs().to_string();
    for _ in digits.len()..width {
        out.push('0');
    }
    out.push_str(&digits);
}

/// Formats `t` with the Go layout `layout`. `zone` is the zone abbreviation printed for `MST`; `None` prints the
/// numeric offset (`+0100`), as Go does for a zone without a name.
pub fn format(t: &DateTime<FixedOffset>, zone: Option<&str>, layout: &str) -> String {
    let mut out = String::with_capacity(layout.len() + 10);
    let year = i64::from(t.year());
    let month0 = t.month0() as usize;
    let day = i64::from(t.day());
    let hour = i64::from(t.hour());
    let minute = i64::from(t.minute());
    let second = i64::from(t.second());
    let nanos = i64::from(t.nanosecond() % 1_000_000_000);
    let year_day = i64::from(t.ordinal());
    let weekday = t.weekday().num_days_from_sunday() as usize;
    let offset = i64::from(t.offset().local_minus_utc());

    let mut rest = layout;
    while let Some((prefix_end, std, suffix_start)) = next_std_chunk(rest) {
        out.push_str(&rest[..prefix_end]);
        match std {
            Std::Year => push_int(&mut out, year.abs() % 100, 2),
            Std::LongYear => push_int(&mut out, year, 4),
            Std::Month => out.push_str(&LONG_MONTHS[month0][..3]),
            Std::LongMonth => out.push_str(LONG_MONTHS[month0]),
            Std::NumMonth => push_int(&mut out, month0 as i64 + 1, 0),
            Std::ZeroMonth => push_int(&mut out, month0 as i64 + 1, 2),
            Std::WeekDay => out.push_str(&LONG_DAYS[weekday][..3]),
            Std::LongWeekDay => out.push_str(LONG_DAYS[weekday]),
            Std::Day => push_int(&mut out, day, 0),
            Std::UnderDay => {
                if day < 10 {
                    out.push(' ');
                }
                push_int(&mut out, day, 0);
            }
            Std::ZeroDay => push_int(&mut out, day, 2),
            Std::UnderYearDay => {
                if year_day < 100 {
                    out.push(' ');
                    if year_day < 10 {
                        out.push(' ');
                    }
                }
                push_int(&mut out, year_day, 0);
            }
            Std::ZeroYearDay => push_int(&mut out, year_day, 3),
            Std::Hour => push_int(&mut out, hour, 2),
            Std::Hour12 | Std::ZeroHour12 => {
                let hr = match hour % 12 {
                    0 => 12,
                    h => h,
                };
                push_int(&mut out, hr, if std == Std::Hour12 { 0 } else { 2 });
            }
            Std::Minute => push_int(&mut out, minute, 0),
            Std::ZeroMinute => push_int(&mut out, minute, 2),
            Std::Second => push_int(&mut out, second, 0),
            Std::ZeroSecond => push_int(&mut out, second, 2),
            Std::PM => out.push_str(if hour >= 12 { "PM" } else { "AM" }),
            Std::Pm => out.push_str(if hour >= 12 { "pm" } else { "am" }),
            Std::TZ => match zone {
                Some(name) if !name.is_empty() => out.push_str(name),
                _ => {
                    let mut minutes = offset / 60;
                    if minutes < 0 {
                        out.push('-');
                        minutes = -minutes;
                    } else {
                        out.push('+');
                    }
                    push_int(&mut out, minutes / 60, 2);
                    push_int(&mut out, minutes % 60, 2);
                }
            },
            Std::Iso8601TZ
            | Std::Iso8601SecondsTZ
            | Std::Iso8601ShortTZ
            | Std::Iso8601ColonTZ
            | Std::Iso8601ColonSecondsTZ
            | Std::NumTZ
            | Std::NumSecondsTZ
            | Std::NumShortTZ
            | Std::NumColonTZ
            | Std::NumColonSecondsTZ => push_zone(&mut out, std, offset),
            Std::Frac { trim, digits, sep } => push_nanos(&mut out, nanos, trim, digits, sep),
        }
        rest = &rest[suffix_start..];
    }
    out.push_str(rest);
    out
}

fn push_zone(out: &mut String, std: Std, offset: i64) {
    let iso = matches!(
        std,
        Std::Iso8601TZ
            | Std::Iso8601SecondsTZ
            | Std::Iso8601ShortTZ
            | Std::Iso8601ColonTZ
            | Std::Iso8601ColonSecondsTZ
    );
    if offset == 0 && iso {
        out.push('Z');
        return;
    }
    let mut minutes = offset / 60;
    let mut abs_offset = offset;
    if minutes < 0 {
        out.push('-');
        minutes = -minutes;
        abs_offset = -abs_offset;
    } else {
        out.push('+');
    }
    push_int(out, minutes / 60, 2);
    let colon = matches!(
        std,
        Std::Iso8601ColonTZ | Std::NumColonTZ | Std::Iso8601ColonSecondsTZ | Std::NumColonSecondsTZ
    );
    if colon {
        out.push(':');
    }
    if !matches!(std, Std::NumShortTZ | Std::Iso8601ShortTZ) {
        push_int(out, minutes % 60, 2);
    }
    if matches!(
        std,
        Std::Iso8601SecondsTZ
            | Std::NumSecondsTZ
            | Std::NumColonSecondsTZ
            | Std::Iso8601ColonSecondsTZ
    ) {
        if colon {
            out.push(':');
        }
        push_int(out, abs_offset % 60, 2);
    }
}

/// Go's `appendNano`.
fn push_nanos(out: &mut String, nanos: i64, trim: bool, digits: usize, sep: u8) {
    if trim && (digits == 0 || nanos == 0) {
        return;
    }
    let mut s = String::with_capacity(10);
    s.push(char::from(sep));
    push_int(&mut s, nanos, 9);
    if digits < 9 {
        s.truncate(1 + digits);
    }
    if trim {
        while s.ends_with('0') {
            s.pop();
        }
        if s.len() == 1 {
            s.pop();
        }
    }
    out.push_str(&s);
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// 2017-05-24 10:33:44.012345678 UTC, a Wednesday, day 144 of the year.
    fn utc() -> DateTime<FixedOffset> {
        FixedOffset::east_opt(0)
            .unwrap()
            .with_ymd_and_hms(2017, 5, 24, 10, 33, 44)
            .unwrap()
            .with_nanosecond(12_345_678)
            .unwrap()
    }

    /// 2009-01-03 07:04:05 at UTC-03:30, a Saturday, day 3 of the year, no fraction.
    fn west() -> DateTime<FixedOffset> {
        FixedOffset::west_opt(3 * 3600 + 1800)
            .unwrap()
            .with_ymd_and_hms(2009, 1, 3, 7, 4, 5)
            .unwrap()
    }

    fn f(t: &DateTime<FixedOffset>, layout: &str) -> String {
        format(
            t,
            Some("UTC").filter(|_| t.offset().local_minus_utc() == 0),
            layout,
        )
    }

    #[test]
    fn every_token() {
        let u = utc();
        let w = west();
        let cases: &[(&DateTime<FixedOffset>, &str, &str)] = &[
            (&u, "2006", "2017"),
            (&u, "06", "17"),
            (&u, "01", "05"),
            (&u, "1", "5"),
            (&u, "Jan", "May"),
            (&u, "January", "May"),
            (&w, "Jan", "Jan"),
            (&w, "January", "January"),
            (&u, "02", "24"),
            (&w, "02", "03"),
            (&u, "2", "24"),
            (&w, "2", "3"),
            (&u, "_2", "24"),
            (&w, "_2", " 3"),
            (&u, "Mon", "Wed"),
            (&u, "Monday", "Wednesday"),
            (&w, "Monday", "Saturday"),
            (&u, "15", "10"),
            (&w, "15", "07"),
            (&u, "03", "10"),
            (&w, "03", "07"),
            (&u, "3", "10"),
            (&w, "3", "7"),
            (&u, "04", "33"),
            (&w, "04", "04"),
            (&u, "4", "33"),
            (&w, "4", "4"),
            (&u, "05", "44"),
            (&w, "05", "05"),
            (&u, "5", "44"),
            (&w, "5", "5"),
            (&u, "PM", "AM"),
            (&u, "pm", "am"),
            (&u, "MST", "UTC"),
            (&w, "MST", "-0330"),
            (&u, "-0700", "+0000"),
            (&w, "-0700", "-0330"),
            (&u, "-07:00", "+00:00"),
            (&w, "-07:00", "-03:30"),
            (&w, "-07", "-03"),
            (&w, "-070000", "-033000"),
            (&w, "-07:00:00", "-03:30:00"),
            (&u, "Z07:00", "Z"),
            (&w, "Z07:00", "-03:30"),
            (&u, "Z0700", "Z"),
            (&w, "Z0700", "-0330"),
            (&u, "Z07", "Z"),
            (&w, "Z07:00:00", "-03:30:00"),
            (&u, ".000", ".012"),
            (&u, ".000000", ".012345"),
            (&u, ".000000000", ".012345678"),
            (&u, ",000", ",012"),
            (&u, ".999", ".012"),
            (&u, ".999999999", ".012345678"),
            (&w, ".000", ".000"),
            (&w, ".999", ""),
            (&u, "002", "144"),
            (&w, "002", "003"),
            (&w, "__2", "  3"),
            (&u, "__2", "144"),
        ];
        for (t, layout, want) in cases {
            assert_eq!(&f(t, layout), want, "layout {layout:?} for {t}");
        }
    }

    #[test]
    fn afternoon_twelve_hour_clock() {
        let t = FixedOffset::east_opt(3600)
            .unwrap()
            .with_ymd_and_hms(2020, 2, 29, 12, 5, 9)
            .unwrap();
        assert_eq!(
            format(&t, Some("CET"), "3:04:05 PM pm 03 MST"),
            "12:05:09 PM pm 12 CET"
        );
        let t = FixedOffset::east_opt(3600)
            .unwrap()
            .with_ymd_and_hms(2020, 2, 29, 0, 5, 9)
            .unwrap();
        assert_eq!(
            format(&t, None, "3 03 PM MST -07:00"),
            "12 12 AM +0100 +01:00"
        );
        let t = FixedOffset::east_opt(3600)
            .unwrap()
            .with_ymd_and_hms(2020, 2, 29, 23, 0, 0)
            .unwrap();
        assert_eq!(format(&t, None, "3 PM 002"), "11 PM 060");
    }

    #[test]
    fn documented_layouts() {
        let u = utc();
        assert_eq!(
            f(&u, "Mon Jan _2 15:04:05 2006"),
            "Wed May 24 10:33:44 2017"
        );
        assert_eq!(f(&u, "2006-01-02-15-04-05"), "2017-05-24-10-33-44");
        assert_eq!(f(&u, "2006-01-02T15:04:05Z07:00"), "2017-05-24T10:33:44Z");
        assert_eq!(
            f(&u, "2006-01-02T15:04:05.999999999Z07:00"),
            "2017-05-24T10:33:44.012345678Z"
        );
        assert_eq!(
            f(&u, "Mon, 02 Jan 2006 15:04:05 MST"),
            "Wed, 24 May 2017 10:33:44 UTC"
        );
        assert_eq!(f(&west(), "02 Jan 06 15:04 -0700"), "03 Jan 09 07:04 -0330");
        assert_eq!(f(&u, "3:04PM"), "10:33AM");
    }

    #[test]
    fn literal_text_follows_go_quirks() {
        let u = utc();
        // Lowercase after Jan/Mon keeps them literal; January/Monday always match.
        assert_eq!(f(&u, "Janet Monk"), "Janet Monk");
        assert_eq!(f(&u, "JanX MonX"), "MayX WedX");
        assert_eq!(f(&u, "Januaryx Mondayx"), "Mayx Wednesdayx");
        // Lone digits are tokens, other digits and letters are literal.
        assert_eq!(f(&u, "run-7 v9 x0"), "run-7 v9 x0");
        assert_eq!(f(&u, "v1"), "v5");
        assert_eq!(f(&u, "_2006"), "_2017");
        // `__2` is the padded day of the year; then a literal `0` and `06`.
        assert_eq!(f(&u, "__2006"), "144017");
        // A fraction must end the number.
        // `.0001` is no fraction, so its `01` is the zero-padded month.
        assert_eq!(f(&u, "05.0001"), "44.0005");
        assert_eq!(f(&u, "05.0"), "44.0");
        assert_eq!(f(&u, "05.09"), "44.09");
        assert_eq!(f(&u, ".x"), ".x");
        // Unicode text is passed through.
        assert_eq!(f(&u, "année 2006 ✓"), "année 2017 ✓");
        assert_eq!(f(&u, ""), "");
        assert_eq!(f(&u, "P M Z"), "P M Z");
    }

    #[test]
    fn far_years() {
        let t = FixedOffset::east_opt(0)
            .unwrap()
            .with_ymd_and_hms(7, 3, 4, 5, 6, 7)
            .unwrap();
        assert_eq!(f(&t, "2006 06"), "0007 07");
        let t = FixedOffset::east_opt(0)
            .unwrap()
            .with_ymd_and_hms(12345, 3, 4, 5, 6, 7)
            .unwrap();
        assert_eq!(f(&t, "2006 06"), "12345 45");
    }
}
