//! Step Functions' 256 KiB limit on every state's data (input, output, a task's result): past it an execution fails
//! with `States.DataLimitExceeded`. The state data of a run is its execution input plus what the functions answer,
//! so each part gets a budget that keeps the sum under the limit with room to spare.

use crate::error::Error;

/// Step Functions' limit on a state's input or output, UTF-8 bytes.
pub const STATE_LIMIT: usize = 256 * 1024;
/// What the configs, vars, files and env of an execution may take together. The state machines carry them until
/// the run ends (a relaunch needs them again), beside check-status's answer.
pub const INPUT_BUDGET: usize = 160 * 1024;
/// What one check-status answer may take.
pub const STATUS_BUDGET: usize = 64 * 1024;
/// Step Functions keeps at most 32,768 characters of an error's cause (a Task's, the execution's). An error message
/// is cut to half that, so the state machines can quote it in their own cause with room to spare.
pub const MESSAGE_LIMIT: usize = 16 * 1024;
/// How much of a failed run's cause the failed steps may take (the state machines add a few fields to it).
pub const CAUSE_STEPS_BUDGET: usize = 16 * 1024;

/// Refuses an execution input whose configs would leave no room for the run's status in the state data.
pub fn check_input(parts: &[(&str, usize)]) -> Result<(), Error> {
    let total: usize = parts.iter().map(|(_, n)| n).sum();
    if total <= INPUT_BUDGET {
        return Ok(());
    }
    let mut sizes: Vec<String> = parts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(name, n)| format!("{name} {} KiB", n.div_ceil(1024)))
        .collect();
    sizes.sort();
    Err(Error::InvalidConfig(format!(
        "the execution input's configs take {} KiB ({}), more than the {} KiB a run can carry within Step \
         Functions' {} KiB state limit; pass large configs and files as s3:// URIs instead of inline text",
        total.div_ceil(1024),
        sizes.join(", "),
        INPUT_BUDGET / 1024,
        STATE_LIMIT / 1024,
    )))
}

/// The serialized size of a value, in bytes.
pub fn size_of<T: serde::Serialize>(value: &T) -> usize {
    serde_json::to_vec(value)
        .map(|v| v.len())
        .unwrap_or(usize::MAX)
}

/// `text` cut to at most `max` characters, saying how much was cut.
pub fn cut(text: &str, max: usize) -> String {
    let n = text.chars().count();
    if n <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max).collect();
    format!("{kept}… [{} more characters]", n - max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_input_over_budget_is_refused_with_its_sizes_and_the_fix() {
        assert!(check_input(&[("cluster", 4000), ("files", 100_000)]).is_ok());
        let err = check_input(&[("cluster", 4000), ("files", 200_000)]).unwrap_err();
        assert_eq!(err.name(), "InvalidConfig");
        let text = err.to_string();
        assert!(
            text.contains("files 196 KiB") && text.contains("s3:// URIs"),
            "{text}"
        );
    }

    #[test]
    fn cut_text_says_how_much_was_cut() {
        assert_eq!(cut("abc", 5), "abc");
        assert_eq!(cut("abcdef", 2), "ab… [4 more characters]");
    }
}
