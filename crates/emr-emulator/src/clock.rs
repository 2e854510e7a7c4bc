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
}
