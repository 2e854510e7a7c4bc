//! The virtual clock: `now = anchor + real elapsed × time_scale`, in epoch seconds.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

#[derive(Clone, Debug)]
pub struct Clock {
    anchor_real: Instant,
    anchor_virtual: f64,
    scale: f64,
}

impl Clock {
    /// Starts at the real wall-clock time (or `start`, epoch seconds).
    pub fn new(scale: f64, start: Option<f64>) -> Self {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        Clock {
            anchor_real: Instant::now(),
            anchor_virtual: start.unwrap_or(wall),
            scale,
        }
    }

    pub fn now(&self) -> f64 {
        self.anchor_virtual + self.anchor_real.elapsed().as_secs_f64() * self.scale
    }

    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Change the speed from now on; time already passed is kept.
    pub fn set_scale(&mut self, scale: f64) {
        self.anchor_virtual = self.now();
        self.anchor_real = Instant::now();
        self.scale = scale;
    }

    /// Jump forward by `seconds` of virtual time.
    pub fn advance(&mut self, seconds: f64) {
        self.anchor_virtual += seconds.max(0.0);
    }

    /// Jump forward to exactly `t` (nothing if it is already past). Unlike `advance(t - now)`, not
    /// off by a rounding error, so a change scheduled at `t` is due afterwards.
    pub fn advance_to(&mut self, t: f64) {
        if t > self.now() {
            self.anchor_virtual = t;
            self.anchor_real = Instant::now();
        }
    }
}

/// `2026-12-02T10:00:00Z`: the envelope's `time`, whole seconds (rounded down).
pub fn iso8601(t: f64) -> String {
    let (date, h, m, s) = civil(t);
    format!("{date}T{h:02}:{m:02}:{s:02}Z")
}

/// Epoch seconds → (`YYYY-MM-DD`, hour, minute, second), UTC, proleptic Gregorian calendar
/// (days-to-civil after Howard Hinnant's `chrono`-compatible algorithms).
pub(crate) fn civil(t: f64) -> (String, i64, i64, i64) {
    let secs = t.floor() as i64;
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        format!("{year:04}-{month:02}-{day:02}"),
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60,
    )
}

/// `2023-11-14T22:13:20.000Z`: EC2's timestamps, to the millisecond.
pub fn iso8601_millis(t: f64) -> String {
    let millis = (t * 1000.0).round() as i64;
    let (date, h, m, s) = civil(millis.div_euclid(1000) as f64);
    format!(
        "{date}T{h:02}:{m:02}:{s:02}.{:03}Z",
        millis.rem_euclid(1000)
    )
}

/// Epoch seconds of an ISO 8601 UTC time as the SDKs send it: `YYYY-MM-DDThh:mm:ss`, optional fraction, then `Z`
/// (or `+00:00`). `None` for anything else.
pub fn parse_iso8601(text: &str) -> Option<f64> {
    let text = text.trim();
    let body = text
        .strip_suffix('Z')
        .or_else(|| text.strip_suffix("+00:00"))?;
    let (date, time) = body.split_once('T')?;
    let mut d = date.splitn(3, '-').map(str::parse::<i64>);
    let (year, month, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let (clock, fraction) = match time.split_once('.') {
        Some((c, f)) => (c, format!("0.{f}").parse::<f64>().ok()?),
        None => (time, 0.0),
    };
    let mut c = clock.splitn(3, ':').map(str::parse::<i64>);
    let (h, m, s) = (c.next()?.ok()?, c.next()?.ok()?, c.next()?.ok()?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    // days-from-civil, the inverse of `civil`.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + h * 3600 + m * 60 + s) as f64 + fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_scale_is_zero_should_only_move_on_advance() {
        let mut c = Clock::new(0.0, Some(1_000.0));
        assert_eq!(c.now(), 1_000.0);
        c.advance(60.0);
        assert_eq!(c.now(), 1_060.0);
        c.set_scale(0.0);
        assert_eq!(c.now(), 1_060.0);
        c.advance_to(1_000.0);
        assert_eq!(c.now(), 1_060.0);
        c.advance_to(1_060.1);
        assert_eq!(c.now(), 1_060.1);
    }

    #[test]
    fn when_formatting_virtual_times_should_give_utc_seconds() {
        assert_eq!(iso8601(0.0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_700_000_000.9), "2023-11-14T22:13:20Z");
        // A leap day, and the end of a century year.
        assert_eq!(iso8601(951_782_400.0), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(978_307_199.0), "2000-12-31T23:59:59Z");
        assert_eq!(iso8601_millis(1_700_000_000.25), "2023-11-14T22:13:20.250Z");
    }

    #[test]
    fn when_parsing_iso_times_should_invert_formatting() {
        for t in [
            0.0,
            951_782_400.0,
            978_307_199.0,
            1_700_000_000.0,
            1_709_251_199.0,
        ] {
            assert_eq!(parse_iso8601(&iso8601(t)), Some(t), "{t}");
        }
        assert_eq!(
            parse_iso8601("2023-11-14T22:13:20.250Z"),
            Some(1_700_000_000.25)
        );
        assert_eq!(
            parse_iso8601("2023-11-14T22:13:20+00:00"),
            Some(1_700_000_000.0)
        );
        for bad in [
            "",
            "2023-11-14",
            "2023-13-01T00:00:00Z",
            "2023-11-14T22:13:20",
            "x-11-14T22:13:20Z",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
    }
}
