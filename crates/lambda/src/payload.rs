//! Step Functions' 256 KiB limit on every state's data (input, output, a task's result): past it an execution fails
//! with `States.DataLimitExceeded`. The state data of a run is its execution input plus what the functions answer,
//! so each part gets a budget that keeps the sum under the limit with room to spare.

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
    fn cut_text_says_how_much_was_cut() {
        assert_eq!(cut("abc", 5), "abc");
        assert_eq!(cut("abcdef", 2), "ab… [4 more characters]");
    }
}
