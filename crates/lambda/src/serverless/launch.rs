//! launch-cluster, `"target": "serverless"`: load and translate the ServerlessConfig and playbook once, then create
//! the run's application (or find the reused one). A retry answers the same application: CreateApplication takes
//! the execution's client token.

use std::collections::BTreeMap;

use dfr_core::serverless::{self as core, OnFailure, TokenFor};
use gotemplate::Clock;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{EmrServerless, Target};
use crate::error::Error;
use crate::event::ExecutionOptions;
use crate::payload::{size_of, INPUT_BUDGET, STATE_LIMIT, STATUS_BUDGET};
use crate::run::Run;
use crate::source::{self, ConfigInput, ObjectStore};
use crate::stack::Stack;

/// What launch-cluster's answer may take: it stays in the state data beside the execution input and a check's
/// answer, until the run ends.
pub const LAUNCH_BUDGET: usize = STATE_LIMIT - INPUT_BUDGET - STATUS_BUDGET;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LaunchEvent {
    pub target: Target,
    /// The ServerlessConfig.
    pub cluster: ConfigInput,
    /// `None` for serverless-up: the application alone, no job runs.
    #[serde(default)]
    pub playbook: Option<ConfigInput>,
    /// Run on this application (one serverless-up created: `run --emr-application`), reused, instead of the
    /// config's `application` or `applicationId`.
    #[serde(default, deserialize_with = "optional_application_id")]
    pub application_id: Option<String>,
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub rendered: bool,
    pub run: Run,
    #[serde(default)]
    pub execution: Option<ExecutionOptions>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFailureInput {
    Stop,
    Continue,
}

impl From<OnFailure> for OnFailureInput {
    fn from(o: OnFailure) -> Self {
        match o {
            OnFailure::Stop => Self::Stop,
            OnFailure::Continue => Self::Continue,
        }
    }
}

/// One job run to start: its step's name, what the run does if it fails, and its StartJobRun body (without
/// `applicationId` and `clientToken`, which add-steps gives it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JobRunInput {
    pub name: String,
    pub on_failure: OnFailureInput,
    pub request: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LaunchOutput {
    pub application_id: String,
    pub region: Option<String>,
    /// The application was created for this run (terminate-cluster stops and deletes it), not reused.
    pub created: bool,
    pub application_name: Option<String>,
    /// `X86_64` or `ARM64`: what the job runs are priced as (check-status then needs no GetApplication).
    pub architecture: String,
    pub log_uri: Option<String>,
    pub job_runs: Vec<JobRunInput>,
}

fn optional_application_id<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(transparent)]
    struct Id(#[serde(deserialize_with = "super::application_id")] String);
    Ok(Option::<Id>::deserialize(d)?.map(|Id(id)| id))
}

/// The run's tags as a request's `tags` members, added to (and winning over) the config's.
fn with_run_tags(tags: &mut serde_json::Map<String, Value>, run: &Run) {
    for t in run.tags() {
        tags.insert(t.key, Value::String(t.value));
    }
}

/// The job runs of the plan: each request without the members add-steps sets, with the run's tags (so IAM and the
/// cleanup know them as this stack's).
fn job_runs(plan: &core::ServerlessPlan, run: &Run) -> Result<Vec<JobRunInput>, Error> {
    plan.start_job_runs
        .iter()
        .map(|r| {
            let mut request =
                serde_json::to_value(r).map_err(|e| Error::Internal(e.to_string()))?;
            let body = request
                .as_object_mut()
                .ok_or_else(|| Error::Internal("StartJobRun is not an object".into()))?;
            body.remove("applicationId");
            body.remove("clientToken");
            let tags = body
                .entry("tags")
                .or_insert_with(|| Value::Object(Default::default()));
            if let Value::Object(tags) = tags {
                with_run_tags(tags, run);
            }
            Ok(JobRunInput {
                name: r.name.clone(),
                on_failure: r.on_failure.into(),
                request,
            })
        })
        .collect()
}

/// Creates the application of `event.run` (or answers the one its first try created), or finds the reused one.
pub async fn launch<S: EmrServerless>(
    event: &LaunchEvent,
    serverless_for: impl Fn(Option<&str>) -> S,
    store: &impl ObjectStore,
    clock: &dyn Clock,
    stack: &Stack,
) -> Result<LaunchOutput, Error> {
    if let Some(execution) = &event.execution {
        execution.check()?;
    }
    let execution = event.run.execution_arn.as_deref().ok_or_else(|| {
        Error::InvalidConfig(
            "$.run.executionArn: a run on EMR Serverless needs its execution ARN ($$.Execution.Id): its client \
             tokens and tags are made from it"
                .into(),
        )
    })?;
    let configs = [
        ("cluster", size_of(&event.cluster)),
        ("playbook", size_of(&event.playbook)),
    ];
    let env = &mut source::prepare(clock, &configs, &event.vars, &event.files, &event.env)?;
    let mut config =
        source::load_serverless(&event.cluster, &event.vars, store, env, event.rendered).await?;
    let playbook = match &event.playbook {
        Some(p) => Some(source::load_playbook(p, &event.vars, store, env, event.rendered).await?),
        None => None,
    };
    for w in config
        .warnings
        .iter()
        .chain(playbook.iter().flat_map(|p| &p.warnings))
    {
        tracing::warn!(warning = %w, "config warning");
    }
    if event.playbook.is_none() && config.config.application.is_none() {
        return Err(Error::InvalidConfig(
            "$.cluster: up creates an application: give the ServerlessConfig an \"application\"; one with \
             \"applicationId\" exists already (run on it with run)"
                .into(),
        ));
    }
    if let Some(id) = &event.application_id {
        config.config.application = None;
        config.config.application_id = Some(id.clone());
    }
    let c = &config.config;
    stack.regions.check(c.region.as_deref())?;
    let file = event
        .playbook
        .as_ref()
        .map(|p| source::name_of("$.playbook", p));
    let (plan, warnings) = core::plan(c, file.as_deref().zip(playbook.as_ref()), execution)?;
    for w in &warnings {
        tracing::warn!(warning = %w, "translation warning");
    }
    let mut output = LaunchOutput {
        application_id: String::new(),
        region: c.region.clone(),
        created: c.application.is_some(),
        application_name: None,
        architecture: core::Architecture::default().as_str().into(),
        log_uri: c.log_uri.clone(),
        job_runs: job_runs(&plan, &event.run)?,
    };
    let size = size_of(&output) + 64;
    if size > LAUNCH_BUDGET {
        return Err(Error::InvalidConfig(format!(
            "$.playbook: its {} job runs take {size} bytes in the run's state, more than the {LAUNCH_BUDGET} bytes \
             Step Functions leaves them beside the execution input; split the playbook or shorten its arguments",
            output.job_runs.len()
        )));
    }
    let serverless = serverless_for(c.region.as_deref());
    match (&plan.create_application, &c.application_id) {
        (Some(create), _) => {
            let mut request =
                serde_json::to_value(create).map_err(|e| Error::Internal(e.to_string()))?;
            if let Some(body) = request.as_object_mut() {
                let tags = body
                    .entry("tags")
                    .or_insert_with(|| Value::Object(Default::default()));
                if let Value::Object(tags) = tags {
                    with_run_tags(tags, &event.run);
                }
            }
            let token = core::client_token(execution, TokenFor::CreateApplication);
            let id = serverless.create_application(&request, &token).await?;
            tracing::info!(application_id = %id, run_key = %event.run.launch_key(), "application created (or found by its client token)");
            output.application_id = id;
            output.application_name = create.name.clone();
            if let Some(a) = create.architecture {
                output.architecture = a.as_str().into();
            }
        }
        (None, Some(id)) => {
            let app = serverless.get_application(id).await?;
            if dfr_core::serverless::status::ApplicationPhase::of(&app.state)
                == dfr_core::serverless::status::ApplicationPhase::Ended
            {
                return Err(Error::ClusterNotActive(format!(
                    "$.cluster: application {id} is TERMINATED: give an application that exists, or an \
                     \"application\" to create one for each run"
                )));
            }
            output.application_id = app.id;
            output.application_name = app.name;
            if let Some(a) = app.architecture {
                output.architecture = a;
            }
        }
        (None, None) => {
            return Err(Error::InvalidConfig(
                "$.cluster: a ServerlessConfig gives \"application\" (created for the run) or \"applicationId\" \
                 (reused)"
                    .into(),
            ))
        }
    }
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run() -> Run {
        Run {
            key: "k".into(),
            attempt: 1,
            execution_arn: Some(
                "arn:aws:states:eu-west-1:1:execution:s-serverless-run-transient:k".into(),
            ),
            started_at: None,
        }
    }

    #[test]
    fn run_tags_are_added_to_a_requests_tags_and_win_over_the_configs() {
        let mut tags = serde_json::Map::new();
        tags.insert("team".into(), "data".into());
        tags.insert(crate::run::TAG_MANAGED.into(), "false".into());
        with_run_tags(&mut tags, &run());
        assert_eq!(tags["team"], "data");
        assert_eq!(tags[crate::run::TAG_MANAGED], "true");
        assert_eq!(tags[crate::run::TAG_RUN_KEY], "k#1");
        assert!(tags[crate::run::TAG_EXECUTION]
            .as_str()
            .unwrap()
            .ends_with(":k"));
    }

    #[test]
    fn the_launch_budget_leaves_room_for_the_input_and_a_check() {
        assert_eq!(LAUNCH_BUDGET + INPUT_BUDGET + STATUS_BUDGET, STATE_LIMIT);
    }
}
