//! The EMR Serverless port ([`crate::serverless::EmrServerless`]) over `aws-sdk-emrserverless`, one client per
//! region. Unlike EMR's writes, CreateApplication and StartJobRun carry a client token, so the SDK's retries stay on
//! for them: a retry after a lost answer gets the first call's application or job run back.

use aws_sdk_emrserverless::types::{ApplicationState, JobRunState};
use aws_sdk_emrserverless::Client;
use dfr_core::serverless::status::{ApplicationPhase, JobRunPhase};

use super::emr::to_chrono;
use crate::error::Error;
use crate::serverless::{self, ApplicationInfo, EmrServerless, JobRunInfo, JobRunSummary};

/// The port over the real SDK client for one region.
#[derive(Clone, Debug)]
pub struct SdkEmrServerless {
    client: Client,
}

impl SdkEmrServerless {
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_string())
}

/// vCPU-, memory GB- and storage GB-hours (a figure not given is 0).
fn hours(
    vcpu: Option<f64>,
    memory: Option<f64>,
    storage: Option<f64>,
) -> serverless::ResourceUtilization {
    serverless::ResourceUtilization {
        vcpu_hour: vcpu.unwrap_or(0.0),
        memory_gb_hour: memory.unwrap_or(0.0),
        storage_gb_hour: storage.unwrap_or(0.0),
    }
}

impl EmrServerless for SdkEmrServerless {
    async fn create_application(
        &self,
        request: &serde_json::Value,
        client_token: &str,
    ) -> Result<String, Error> {
        let call = super::serverless_requests::create_application(
            self.client.create_application(),
            request,
            client_token,
        )?;
        let resp = call
            .send()
            .await
            .map_err(|e| Error::from_serverless_sdk("CreateApplication", true, e))?;
        Ok(resp.application_id().to_string())
    }

    async fn get_application(&self, id: &str) -> Result<ApplicationInfo, Error> {
        let resp = self
            .client
            .get_application()
            .application_id(id)
            .send()
            .await
            .map_err(|e| Error::from_serverless_sdk("GetApplication", false, e))?;
        let a = resp.application().ok_or_else(|| {
            Error::Internal(format!(
                "GetApplication answered without the application {id}"
            ))
        })?;
        let mut tags: Vec<(String, String)> = a
            .tags()
            .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        tags.sort();
        Ok(ApplicationInfo {
            id: a.application_id().to_string(),
            name: a.name().map(str::to_string),
            state: a.state().as_str().to_string(),
            state_details: a.state_details().and_then(non_empty),
            release_label: a.release_label().to_string(),
            kind: a.r#type().to_string(),
            architecture: a.architecture().map(|x| x.as_str().to_string()),
            tags,
            created_at: to_chrono(Some(a.created_at())),
            updated_at: to_chrono(Some(a.updated_at())),
        })
    }

    async fn start_application(&self, id: &str) -> Result<(), Error> {
        self.client
            .start_application()
            .application_id(id)
            .send()
            .await
            .map_err(|e| Error::from_serverless_sdk("StartApplication", false, e))?;
        Ok(())
    }

    async fn stop_application(&self, id: &str) -> Result<(), Error> {
        self.client
            .stop_application()
            .application_id(id)
            .send()
            .await
            .map_err(|e| Error::from_serverless_sdk("StopApplication", false, e))?;
        Ok(())
    }

    async fn delete_application(&self, id: &str) -> Result<(), Error> {
        let refused = match self
            .client
            .delete_application()
            .application_id(id)
            .send()
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) => Error::from_serverless_sdk("DeleteApplication", false, e),
        };
        // A retried delete whose first answer was lost finds the application TERMINATED: done.
        if matches!(refused, Error::EmrRejected(_)) {
            let app = self.get_application(id).await?;
            if ApplicationPhase::of(&app.state) == ApplicationPhase::Ended {
                return Ok(());
            }
        }
        Err(refused)
    }

    async fn start_job_run(
        &self,
        application_id: &str,
        request: &serde_json::Value,
        client_token: &str,
    ) -> Result<String, Error> {
        let call = super::serverless_requests::start_job_run(
            self.client.start_job_run(),
            application_id,
            request,
            client_token,
        )?;
        let resp = call
            .send()
            .await
            .map_err(|e| Error::from_serverless_sdk("StartJobRun", true, e))?;
        Ok(resp.job_run_id().to_string())
    }

    async fn get_job_run(
        &self,
        application_id: &str,
        job_run_id: &str,
    ) -> Result<JobRunInfo, Error> {
        let resp = self
            .client
            .get_job_run()
            .application_id(application_id)
            .job_run_id(job_run_id)
            .send()
            .await
            .map_err(|e| Error::from_serverless_sdk("GetJobRun", false, e))?;
        let r = resp.job_run().ok_or_else(|| {
            Error::Internal(format!(
                "GetJobRun answered without the job run {job_run_id}"
            ))
        })?;
        let log_uri = r
            .configuration_overrides()
            .and_then(|o| o.monitoring_configuration())
            .and_then(|m| m.s3_monitoring_configuration())
            .and_then(|s| s.log_uri())
            .map(str::to_string);
        Ok(JobRunInfo {
            application_id: r.application_id().to_string(),
            id: r.job_run_id().to_string(),
            name: r.name().map(str::to_string),
            state: r.state().as_str().to_string(),
            state_details: non_empty(r.state_details()),
            billed: r
                .billed_resource_utilization()
                .map(|u| hours(u.v_cpu_hour(), u.memory_gb_hour(), u.storage_gb_hour())),
            total: r
                .total_resource_utilization()
                .map(|u| hours(u.v_cpu_hour(), u.memory_gb_hour(), u.storage_gb_hour())),
            total_execution_duration_seconds: r.total_execution_duration_seconds().map(i64::from),
            created_at: to_chrono(Some(r.created_at())),
            updated_at: to_chrono(Some(r.updated_at())),
            started_at: to_chrono(r.started_at()),
            ended_at: to_chrono(r.ended_at()),
            log_uri,
            tags: {
                let mut tags: Vec<(String, String)> = r
                    .tags()
                    .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default();
                tags.sort();
                tags
            },
        })
    }

    async fn cancel_job_run(&self, application_id: &str, job_run_id: &str) -> Result<(), Error> {
        let call = self
            .client
            .cancel_job_run()
            .application_id(application_id)
            .job_run_id(job_run_id)
            .send()
            .await;
        let refused = match call {
            Ok(_) => return Ok(()),
            Err(e) => Error::from_serverless_sdk("CancelJobRun", false, e),
        };
        // EMR Serverless refuses to cancel a run that has ended: nothing is left to cancel.
        if matches!(refused, Error::EmrRejected(_)) {
            let run = self.get_job_run(application_id, job_run_id).await?;
            let phase = JobRunPhase::of(&run.state);
            if phase.is_final() || phase == JobRunPhase::Cancelling {
                return Ok(());
            }
        }
        Err(refused)
    }

    async fn list_applications(
        &self,
        states: &[&str],
    ) -> Result<Vec<serverless::ApplicationSummary>, Error> {
        let states: Option<Vec<ApplicationState>> = (!states.is_empty())
            .then(|| states.iter().map(|s| ApplicationState::from(*s)).collect());
        let states = &states;
        dfr_locks::all_pages::<_, _, Error, _, _>(|token| async move {
            let resp = self
                .client
                .list_applications()
                .set_states(states.clone())
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| Error::from_serverless_sdk("ListApplications", false, e))?;
            let page = resp
                .applications()
                .iter()
                .map(|a| serverless::ApplicationSummary {
                    id: a.id().to_string(),
                    state: a.state().as_str().to_string(),
                    created_at: to_chrono(Some(a.created_at())),
                });
            Ok((page.collect(), resp.next_token().map(str::to_string)))
        })
        .await
    }

    async fn list_job_runs(
        &self,
        application_id: &str,
        states: &[&str],
    ) -> Result<Vec<JobRunSummary>, Error> {
        let states: Option<Vec<JobRunState>> =
            (!states.is_empty()).then(|| states.iter().map(|s| JobRunState::from(*s)).collect());
        let states = &states;
        dfr_locks::all_pages::<_, _, Error, _, _>(|token| async move {
            let resp = self
                .client
                .list_job_runs()
                .application_id(application_id)
                .set_states(states.clone())
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| Error::from_serverless_sdk("ListJobRuns", false, e))?;
            let page = resp.job_runs().iter().map(|r| JobRunSummary {
                id: r.id().to_string(),
                name: r.name().map(str::to_string),
                state: r.state().as_str().to_string(),
                state_details: non_empty(r.state_details()),
                created_at: to_chrono(Some(r.created_at())),
            });
            Ok((page.collect(), resp.next_token().map(str::to_string)))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every state the SDK's model names has a phase in the core: a state the core did not know would keep a run
    /// waiting (`Unknown` is never final), so a newer SDK's new state shows here first.
    #[test]
    fn every_state_of_the_sdk_has_a_phase_in_the_core() {
        for state in JobRunState::values() {
            assert_ne!(JobRunPhase::of(state), JobRunPhase::Unknown, "{state}");
        }
        for state in ApplicationState::values() {
            assert_ne!(
                ApplicationPhase::of(state),
                ApplicationPhase::Unknown,
                "{state}"
            );
        }
        let not_ended: Vec<&str> = JobRunState::values()
            .iter()
            .copied()
            .filter(|s| JobRunPhase::of(s).is_cancellable())
            .collect();
        let mut listed = dfr_core::serverless::status::JOB_RUN_NOT_ENDED.to_vec();
        listed.sort();
        let mut not_ended = not_ended;
        not_ended.sort();
        assert_eq!(listed, not_ended, "the states a cleanup lists to cancel");
        let mut not_terminated: Vec<&str> = ApplicationState::values()
            .iter()
            .copied()
            .filter(|s| ApplicationPhase::of(s) != ApplicationPhase::Ended)
            .collect();
        not_terminated.sort();
        let mut looked_at = crate::serverless::ended::APPLICATION_NOT_ENDED.to_vec();
        looked_at.sort();
        assert_eq!(
            looked_at, not_terminated,
            "the application states the end of an execution looks at"
        );
    }
}
