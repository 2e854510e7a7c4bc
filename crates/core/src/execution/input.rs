//! The execution input as a type: one shape per state machine, as the schema's `$defs` name them, which the
//! dataflow-runner CLI builds and serializes for StartExecution. The schema stays the one statement of the rules:
//! [`ExecutionInput::validate`] checks the serialized input against it (and the history budget), and the CLI's tests
//! build the input of every command this way and validate it.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use super::StateMachine;
use crate::diagnostics::Diagnostic;

/// An execution input of one of the state machines (each serverless machine takes its EMR counterpart's).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ExecutionInput {
    RunTransient(RunTransientInput),
    Up(UpInput),
    Run(RunInput),
    Down(DownInput),
    /// `$defs/down` with an application: serverless-down.
    ServerlessDown(ServerlessDownInput),
}

/// `$defs/runTransient`: launch a cluster with the playbook's steps embedded.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunTransientInput {
    pub cluster: Value,
    /// serverless-run-transient only: the application to run on (one `up` created), instead of the config's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_id: Option<String>,
    pub playbook: Value,
    #[serde(flatten)]
    pub shared: Shared,
}

/// `$defs/up`: launch a long-running cluster (a playbook, if given, is validated against it).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpInput {
    pub cluster: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub playbook: Option<Value>,
    #[serde(flatten)]
    pub shared: Shared,
}

/// `$defs/run`: add the playbook's steps to a cluster.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunInput {
    pub cluster_id: String,
    pub playbook: Value,
    #[serde(flatten)]
    pub shared: Shared,
}

/// `$defs/down`: terminate a cluster.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DownInput {
    pub cluster_id: String,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub options: Options,
}

/// `$defs/down` for serverless-down: stop and delete an application `up` created.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerlessDownInput {
    pub application_id: String,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub options: Options,
}

/// What run-transient, up and run take beside their configs: how the configs become their final text (rendered by
/// the functions with `vars`, `files` and `env`, or already `rendered`: what the CLI sends, as it renders where it
/// runs), the run's lock and its options.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Shared {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub rendered: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock: Option<Lock>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub options: Options,
}

impl Shared {
    /// Configs rendered already (the functions validate them as they are), with this lock and these options.
    pub fn rendered(lock: Option<Lock>, options: Options) -> Self {
        Self {
            rendered: true,
            lock,
            options,
            ..Self::default()
        }
    }
}

/// `$defs/lock`: the original's `--lock NAME` (hard) or `--softLock NAME` (soft).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Lock {
    pub name: String,
    pub kind: LockKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LockKind {
    Hard,
    Soft,
}

/// The options, as given: a JSON object the schema checks as a whole (which options each machine takes, their
/// types and bounds), so that a wrong one is reported with its JSON path and fix rather than as a parse error.
pub type Options = Map<String, Value>;

impl ExecutionInput {
    pub fn machine(&self) -> StateMachine {
        match self {
            Self::RunTransient(_) => StateMachine::RunTransient,
            Self::Up(_) => StateMachine::Up,
            Self::Run(_) => StateMachine::Run,
            Self::Down(_) | Self::ServerlessDown(_) => StateMachine::Down,
        }
    }

    pub fn options_mut(&mut self) -> &mut Options {
        match self {
            Self::RunTransient(RunTransientInput { shared, .. })
            | Self::Up(UpInput { shared, .. })
            | Self::Run(RunInput { shared, .. }) => &mut shared.options,
            Self::Down(i) => &mut i.options,
            Self::ServerlessDown(i) => &mut i.options,
        }
    }

    /// The JSON text's value, as StartExecution sends it.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("an execution input serializes")
    }

    /// Every problem of the input for its state machine (the schema, then the history budget).
    pub fn validate(&self) -> Vec<Diagnostic> {
        super::validate_input(self.machine(), &self.to_json())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn config() -> Value {
        json!({"schema": "iglu:com.dataflowrunner.serverless/ClusterConfig/jsonschema/1-2-0", "data": {}})
    }

    /// Every field of every shape, serialized, is what the schema accepts for its machine (the CLI's tests cover the
    /// inputs it builds; this covers the fields it leaves out: vars, files, env, configs to render).
    #[test]
    fn every_shape_with_every_field_is_valid_for_its_machine_and_only_for_it() {
        let options: Options = json!({"completion": "poll", "maxFailedChecks": 3})
            .as_object()
            .cloned()
            .unwrap();
        let shared = Shared {
            vars: BTreeMap::from([("bucket".into(), "acme".into())]),
            files: BTreeMap::from([("/etc/app.conf".into(), "text".into())]),
            env: BTreeMap::from([("OWNER".into(), "data".into())]),
            rendered: false,
            lock: Some(Lock {
                name: "snowplow/enrich".into(),
                kind: LockKind::Soft,
            }),
            options,
        };
        let inputs = [
            ExecutionInput::RunTransient(RunTransientInput {
                cluster: config(),
                application_id: Some("00fabc123".into()),
                playbook: json!("s3://acme-configs/playbook.json"),
                shared: shared.clone(),
            }),
            ExecutionInput::Up(UpInput {
                cluster: json!("{\"schema\": \"iglu:…\"}"),
                playbook: None,
                shared: shared.clone(),
            }),
            ExecutionInput::Run(RunInput {
                cluster_id: "j-1ABC".into(),
                playbook: json!("s3://acme-configs/playbook.json"),
                shared,
            }),
            ExecutionInput::Down(DownInput {
                cluster_id: "j-1ABC".into(),
                options: json!({"force": true}).as_object().cloned().unwrap(),
            }),
            ExecutionInput::ServerlessDown(ServerlessDownInput {
                application_id: "00fabc123".into(),
                options: json!({"region": "eu-west-1"}).as_object().cloned().unwrap(),
            }),
        ];
        for input in &inputs {
            assert_eq!(input.validate(), [], "{:?}", input.machine());
            let json = input.to_json();
            for other in StateMachine::ALL {
                if other != input.machine() && other != StateMachine::Up {
                    assert!(
                        !super::super::validate_input(other, &json).is_empty(),
                        "a {:?} input is not a {other:?} input",
                        input.machine()
                    );
                }
            }
        }
        assert_eq!(
            inputs[0].to_json()["lock"],
            json!({"name": "snowplow/enrich", "kind": "soft"})
        );
        assert_eq!(inputs[0].to_json()["vars"], json!({"bucket": "acme"}));
        assert!(inputs[3].to_json().get("rendered").is_none());
    }

    #[test]
    fn down_takes_a_cluster_or_an_application_never_both_and_only_well_formed_ids() {
        let down = |v: serde_json::Value| super::super::validate_input(StateMachine::Down, &v);
        assert_eq!(down(json!({"applicationId": "00fabc123"})), []);
        assert_eq!(down(json!({"clusterId": "j-1ABC"})), []);
        for bad in [
            json!({}),
            json!({"clusterId": "j-1ABC", "applicationId": "00fabc123"}),
            json!({"applicationId": "../00f"}),
            json!({"applicationId": "00FABC"}),
        ] {
            assert!(!down(bad.clone()).is_empty(), "{bad}");
        }
    }
}
