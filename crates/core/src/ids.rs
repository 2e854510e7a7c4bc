//! The one home of the id rules: what a cluster id and a step id look like, as EMR and `up`'s output spell them. The
//! functions refuse anything else before asking EMR, the CLI before starting an execution, and the execution-input
//! schema says the same in its `pattern` (a test compares them by value).

/// `j-` and 1 to 32 capital letters or digits.
pub fn is_cluster_id(id: &str) -> bool {
    id_with_prefix(id, "j-")
}

/// `s-` and 1 to 32 capital letters or digits.
pub fn is_step_id(id: &str) -> bool {
    id_with_prefix(id, "s-")
}

/// An EMR Serverless application (or job run) id: 1 to 64 lowercase letters or digits.
pub fn is_application_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

fn id_with_prefix(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix).is_some_and(|rest| {
        (1..=32).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::execution::{validate_input, StateMachine};

    /// The ids a user or an event may bring, good and bad.
    const CANDIDATES: [&str; 14] = [
        "j-1ABCDEFGHIJKL",
        "j-2AB",
        "j-abc",
        "j-",
        "j-ABC-1",
        "J-ABC",
        "j-ABCDEFGHIJKLMNOPQRSTUVWXYZ012345",
        "j-ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456",
        "j-É",
        "s-1ABC",
        "../j-1",
        "j-1 ",
        " j-1",
        "",
    ];

    #[test]
    fn the_cluster_id_rule_is_the_execution_input_schemas() {
        for id in CANDIDATES {
            let input = json!({"clusterId": id});
            let schema_accepts = validate_input(StateMachine::Down, &input)
                .iter()
                .all(|d| !d.to_string().contains("clusterId"));
            assert_eq!(
                is_cluster_id(id),
                schema_accepts,
                "{id:?}: the rule and the schema's clusterId pattern disagree"
            );
        }
    }

    #[test]
    fn the_application_id_rule_is_the_execution_input_schemas() {
        let long = "a".repeat(65);
        for id in [
            "00fabc123",
            "0",
            "00F",
            "00-f",
            "../00f",
            " 00f",
            "",
            "é",
            &long[..64],
            &long,
        ] {
            let input = json!({"applicationId": id});
            let schema_accepts = validate_input(StateMachine::Down, &input)
                .iter()
                .all(|d| !d.to_string().contains("applicationId"));
            assert_eq!(is_application_id(id), schema_accepts, "{id:?}");
        }
    }

    #[test]
    fn step_ids_follow_the_same_shape_with_their_own_prefix() {
        assert!(is_step_id("s-1ABC"));
        assert!(!is_step_id("j-1ABC"));
        assert!(!is_step_id("s-abc"));
        assert!(!is_step_id(&format!("s-{}", "A".repeat(33))));
    }
}
