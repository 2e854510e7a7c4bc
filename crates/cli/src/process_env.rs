//! What a template reads when the CLI renders a config: the user's own machine. The one place that gives a template
//! the process environment, files on disk and the machine's clock (the Lambdas give theirs the execution input).

use chrono::{DateTime, FixedOffset, Local, Utc};
use gotemplate::{Clock, SystemClock, TemplateEnv};

/// The user's environment: the system clock in the local time zone, the process environment, and files relative
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
            None => SystemClock.now(),
        }
    }

    fn env_var(&self, name: &str) -> Option<String> {
        std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
    }

    fn read_file(&self, path: &str) -> std::io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn local_offset(&self, instant: DateTime<Utc>) -> FixedOffset {
        SystemClock.local_offset(instant)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use gotemplate::{render, TemplateErrorKind};

    use super::*;

    #[test]
    fn process_env_reads_the_real_world() {
        let out = render(
            "p.json",
            r#"{{nowWithFormat "2006"}} {{base64File "Cargo.toml" | len | printf "%d" | ne "0"}}"#,
            &BTreeMap::new(),
            &ProcessEnv,
        )
        .unwrap();
        let (year, nonempty) = out.split_once(' ').unwrap();
        assert!(
            year.len() == 4 && year.chars().all(|c| c.is_ascii_digit()),
            "{out}"
        );
        assert_eq!(nonempty, "true");
        let e = render(
            "p.json",
            r#"{{base64File "no-such-file.json"}}"#,
            &BTreeMap::new(),
            &ProcessEnv,
        )
        .unwrap_err();
        assert_eq!(
            *e.kind(),
            TemplateErrorKind::UnreadableFile {
                path: "no-such-file.json".into(),
                message: "no such file or directory".into()
            }
        );
    }
}
