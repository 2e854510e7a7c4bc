//! What the stack tells its functions about where they work: the regions clusters may be launched in, and how long
//! a launch may still be in flight after its execution ended. Read from the environment the template sets.

use std::time::Duration;

use crate::error::Error;

/// The regions this stack launches clusters in (its `EmrRegions` parameter, `DFR_EMR_REGIONS`; the function's own
/// region when unset). A launch elsewhere is refused before anything is spent, and the cleanup sweep looks in each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Regions {
    allowed: Vec<String>,
}

impl Regions {
    pub fn new<S: AsRef<str>>(allowed: &[S]) -> Self {
        Self {
            allowed: allowed.iter().map(|r| r.as_ref().to_string()).collect(),
        }
    }

    pub fn from_process_env() -> Self {
        let list = std::env::var("DFR_EMR_REGIONS")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .or_else(|| std::env::var("AWS_REGION").ok())
            .unwrap_or_default();
        let allowed: Vec<&str> = list
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .collect();
        Self::new(&allowed)
    }

    pub fn all(&self) -> &[String] {
        &self.allowed
    }

    /// A config's region (`None`: the function's own, always allowed).
    pub fn check(&self, region: Option<&str>) -> Result<(), Error> {
        match region {
            Some(r) if !self.allowed.iter().any(|a| a == r) => Err(Error::InvalidConfig(format!(
                "region \"{r}\": this stack launches clusters in {} only (the cleanup of a stopped run looks there); \
                 use one of them, or deploy the stack with {r} in its EmrRegions parameter",
                self.allowed.join(", ")
            ))),
            _ => Ok(()),
        }
    }
}

/// What the stack tells its functions (read once per process from the variables the template sets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    pub regions: Regions,
    /// How long after its execution ended a launch-cluster (or lock) invocation may still be running (its Lambda
    /// timeout and a margin): the cleanup of a stopped execution looks again once this has passed, so a cluster whose
    /// RunJobFlow, or a lock whose acquire, was in flight when the execution was stopped is found too.
    /// `DFR_LAUNCH_WINDOW_SECONDS` (default 75).
    pub launch_window: Duration,
}

impl Stack {
    /// After the end of an execution with `status` at `stopped_at`: how long until no function invocation of it can
    /// still be in flight (a stopped or timed-out execution leaves its running Task's invocation running: a launch,
    /// a lock acquired), if that is still to come. A FAILED or SUCCEEDED execution ended through its own states,
    /// after its tasks.
    pub fn in_flight_wait(
        &self,
        status: &str,
        stopped_at: Option<chrono::DateTime<chrono::Utc>>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<Duration> {
        let interrupted = status == "ABORTED" || status == "TIMED_OUT";
        let stopped = stopped_at.filter(|_| interrupted)?;
        let until = stopped + chrono::Duration::from_std(self.launch_window).unwrap_or_default();
        let wait = (until - now).to_std().unwrap_or_default();
        (!wait.is_zero()).then_some(wait)
    }

    pub fn from_process_env() -> Self {
        let seconds = std::env::var("DFR_LAUNCH_WINDOW_SECONDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(75);
        Self {
            regions: Regions::from_process_env(),
            launch_window: Duration::from_secs(seconds),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_outside_the_stacks_is_refused_with_the_fix() {
        let regions = Regions::new(&["eu-west-1", "us-east-1"]);
        assert!(regions.check(None).is_ok());
        assert!(regions.check(Some("us-east-1")).is_ok());
        let err = regions.check(Some("ap-south-1")).unwrap_err();
        assert_eq!(err.name(), "InvalidConfig");
        assert!(err.to_string().contains("EmrRegions"), "{err}");
    }
}
