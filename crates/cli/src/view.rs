//! What a person sees while a run goes on: on a terminal, a block redrawn in place; piped or in CI, one plain line
//! per change. Both end with the step table and the outcome (on stderr, so stdout stays for what scripts read).

use std::io::Write;

use serde_json::Value;

use dfr_core::error_names::ErrorName;

use crate::cost::JobRunCost;
use crate::follow::{Change, Outcome, Progress};

pub trait View {
    fn changed(&mut self, progress: &Progress, changes: &[Change]);
    /// Called between looks, so a live view can count time.
    fn tick(&mut self, _progress: &Progress) {}
    fn finish(&mut self, progress: &Progress);
}

/// A duration as people read it: `45s`, `12m 05s`, `3h 07m`.
pub fn duration(seconds: i64) -> String {
    match seconds {
        s if s >= 3600 => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
        s if s >= 60 => format!("{}m {:02}s", s / 60, s % 60),
        s => format!("{s}s"),
    }
}

fn change_line(change: &Change) -> String {
    match change {
        Change::Entered(state) => format!("→ {state}"),
        Change::Launched {
            cluster_id,
            attempt,
        } if *attempt > 1 => {
            format!("cluster {cluster_id} launched (attempt {attempt})")
        }
        Change::Launched { cluster_id, .. } => format!("cluster {cluster_id} launched"),
        Change::Cluster {
            state,
            reason: Some(r),
        } if !r.is_empty() => format!("cluster {state}: {r}"),
        Change::Cluster { state, .. } => format!("cluster {state}"),
        Change::Application { id, event } => format!("application {id} {event}"),
        Change::Step(s) => match s.duration_seconds {
            Some(d) => format!("step \"{}\" {} after {}", s.name, s.state, duration(d)),
            None => format!("step \"{}\" {}", s.name, s.state),
        },
        Change::FunctionFailed { state, error } => format!("{state}: {error} (retried)"),
    }
}

/// One line per step, names aligned: `  Name  STATE  duration`, with a mark in front in the live view.
fn step_rows(progress: &Progress, marks: bool) -> Vec<String> {
    let width = progress
        .steps
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(0)
        .min(60);
    progress
        .steps
        .iter()
        .map(|s| {
            // A job run on EMR Serverless: what it cost, once it ended.
            let took = match (&s.cost, s.duration_seconds) {
                (Some(cost), _) => cost.text(),
                (None, d) => d.map(duration).unwrap_or_default(),
            };
            let name: String = s.name.chars().take(width).collect();
            let mark = match (marks, s.state.as_str()) {
                (false, _) => "",
                (true, "COMPLETED" | "SUCCESS") => "✓ ",
                (true, "RUNNING") => "▶ ",
                (true, "FAILED" | "CANCELLED" | "INTERRUPTED") => "✗ ",
                (true, _) => "  ",
            };
            format!("  {mark}{name:<width$}  {:<11} {took}", s.state)
                .trim_end()
                .to_string()
        })
        .collect()
}

/// The lines under the step table once the run ended with a cost (on EMR Serverless: its job runs' together).
fn cost_rows(progress: &Progress) -> Vec<String> {
    let job_runs: Vec<&JobRunCost> = progress
        .steps
        .iter()
        .filter_map(|s| s.cost.as_ref())
        .collect();
    progress
        .cost
        .iter()
        .flat_map(|c| c.lines())
        .chain(JobRunCost::total_line(&job_runs))
        .map(|line| format!("  {line}"))
        .collect()
}

/// The step table printed at the end, and what the run cost.
pub fn step_table(progress: &Progress) -> String {
    step_rows(progress, false)
        .iter()
        .chain(&cost_rows(progress))
        .map(|row| format!("{row}\n"))
        .collect()
}

/// A moment as the CLI prints it: `2026-12-02 03:00:00Z`.
pub fn moment(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%SZ").to_string()
}

/// One line per change, with the time: for pipes, CI logs and cron mail.
pub struct Plain<W: Write> {
    pub out: W,
}

impl<W: Write> View for Plain<W> {
    fn changed(&mut self, _progress: &Progress, changes: &[Change]) {
        let now = chrono::Utc::now().format("%H:%M:%SZ");
        for c in changes {
            let _ = writeln!(self.out, "{now} {}", change_line(c));
        }
    }

    fn finish(&mut self, progress: &Progress) {
        let _ = write!(self.out, "{}", step_table(progress));
    }
}

/// A block redrawn in place: where the run is, the cluster, every step, and when the next check comes.
pub struct Live<W: Write> {
    pub out: W,
    pub title: String,
    pub started: std::time::Instant,
    drawn: usize,
    finished: bool,
}

impl<W: Write> Live<W> {
    pub fn new(out: W, title: String) -> Self {
        Self {
            out,
            title,
            started: std::time::Instant::now(),
            drawn: 0,
            finished: false,
        }
    }

    fn draw(&mut self, progress: &Progress) {
        let mut lines = vec![format!(
            "{}  {}  {}",
            self.title,
            progress.state.as_deref().unwrap_or("starting"),
            duration(self.started.elapsed().as_secs() as i64)
        )];
        if let Some(id) = &progress.cluster_id {
            let state = progress.cluster_state.as_deref().unwrap_or("launching");
            let reason = progress
                .reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            let attempt = if progress.launch_attempt > 1 {
                format!(", attempt {}", progress.launch_attempt)
            } else {
                String::new()
            };
            lines.push(format!("  cluster {id}  {state}{reason}{attempt}"));
        }
        if let Some(id) = &progress.application_id {
            lines.push(format!("  EMR Serverless application {id}"));
        }
        lines.extend(step_rows(progress, true));
        lines.extend(cost_rows(progress));
        if let Some(backstop) = progress.waiting_for_events.filter(|_| !self.finished) {
            lines.push(format!(
                "  waiting for EMR's events (a check within {backstop}s if none comes)"
            ));
        } else if let Some(next) = progress.next_check_seconds.filter(|_| !self.finished) {
            lines.push(format!("  next check within {next}s"));
        }
        if let Some(e) = &progress.last_error {
            lines.push(format!("  last function error: {e} (retried)"));
        }
        let mut frame = String::new();
        if self.drawn > 0 {
            // Back to the top of the last frame, and clear it.
            frame.push_str(&format!("\x1b[{}A\x1b[J", self.drawn));
        }
        for l in &lines {
            frame.push_str(l);
            frame.push('\n');
        }
        let _ = self.out.write_all(frame.as_bytes());
        let _ = self.out.flush();
        self.drawn = lines.len();
    }
}

impl<W: Write> View for Live<W> {
    fn changed(&mut self, progress: &Progress, _changes: &[Change]) {
        self.draw(progress);
    }

    fn tick(&mut self, progress: &Progress) {
        self.draw(progress);
    }

    fn finish(&mut self, progress: &Progress) {
        self.finished = true;
        self.draw(progress);
    }
}

/// The outcome as a person reads it: what ended, and on failure the error, the cluster, and each failed step's
/// reason, message and log file.
pub fn outcome_text(command: &str, outcome: &Outcome) -> String {
    match outcome {
        Outcome::Succeeded(out)
            if out.get("applicationId").is_some() && out.get("jobRuns").is_none() =>
        {
            let id = out["applicationId"].as_str().unwrap_or("?");
            match command {
                "down" => format!("EMR Serverless application deleted: {id}"),
                _ => format!("EMR Serverless application started; Application ID: {id}"),
            }
        }
        Outcome::Succeeded(out) if out.get("applicationId").is_some() => {
            let runs = out["jobRuns"].as_array().map(Vec::as_slice).unwrap_or(&[]);
            let succeeded = runs
                .iter()
                .filter(|r| r["state"].as_str() == Some("SUCCESS"))
                .count();
            format!(
                "{command} succeeded: EMR Serverless application {}, {succeeded} of {} job runs succeeded",
                out["applicationId"].as_str().unwrap_or("?"),
                runs.len()
            )
        }
        Outcome::Succeeded(out) => match command {
            // The line the original printed, which scripts grep for.
            "up" => format!(
                "EMR cluster launched successfully; Jobflow ID: {}",
                out["clusterId"].as_str().unwrap_or("?")
            ),
            "down" => format!(
                "EMR cluster terminated: {}",
                out["clusterId"].as_str().unwrap_or("?")
            ),
            "run" if out.get("steps").is_none() => format!(
                "steps submitted to {} (not followed: --async)",
                out["clusterId"].as_str().unwrap_or("?")
            ),
            _ => format!(
                "{command} succeeded: cluster {}, {} steps completed",
                out["clusterId"].as_str().unwrap_or("?"),
                out["steps"].as_array().map(Vec::len).unwrap_or(0)
            ),
        },
        Outcome::Failed { error, cause } => {
            let mut text = format!("{command} failed: {error}");
            let cause: Value = serde_json::from_str(cause).unwrap_or(Value::String(cause.clone()));
            if let Some(id) = cause["clusterId"].as_str() {
                text.push_str(&format!("\n  cluster {id}"));
                if let Some(state) = cause["clusterState"].as_str() {
                    text.push_str(&format!(" {state}"));
                }
                if let Some(r) = cause["reason"]["message"].as_str() {
                    text.push_str(&format!(": {r}"));
                }
            }
            if let Some(id) = cause["applicationId"].as_str() {
                text.push_str(&format!("\n  EMR Serverless application {id}"));
            }
            let job_runs = crate::logs::failed_job_runs(&cause).unwrap_or_default();
            for r in &job_runs {
                // A job run no check read (its checks failed) has no state to show.
                let state = r["state"]
                    .as_str()
                    .map(|s| format!(" {s}"))
                    .unwrap_or_default();
                text.push_str(&format!(
                    "\n  job run \"{}\"{state}",
                    r["name"].as_str().unwrap_or("?"),
                ));
                for (label, key) in [
                    ("id", "jobRunId"),
                    ("details", "stateDetails"),
                    ("logs", "logUri"),
                ] {
                    if let Some(v) = r[key].as_str() {
                        text.push_str(&format!("\n    {label}: {v}"));
                    }
                }
            }
            for s in cause["failedSteps"].as_array().into_iter().flatten() {
                text.push_str(&format!(
                    "\n  step \"{}\" {}",
                    s["name"].as_str().unwrap_or("?"),
                    s["state"].as_str().unwrap_or("?")
                ));
                let f = &s["failure"];
                for (label, key) in [
                    ("reason", "reason"),
                    ("message", "message"),
                    ("log", "logFile"),
                ] {
                    if let Some(v) = f[key].as_str() {
                        text.push_str(&format!("\n    {label}: {v}"));
                    }
                }
            }
            // A failed job run's message (check-status's) says again what its lines above say.
            let restated = error == ErrorName::StepFailed.as_str() && !job_runs.is_empty();
            if let Some(m) = cause["message"].as_str().filter(|_| !restated) {
                text.push_str(&format!("\n  {}", m.trim_end().replace('\n', "\n  ")));
            }
            if let Some(n) = cause["note"].as_str() {
                text.push_str(&format!("\n  {n}"));
            }
            if let Value::String(s) = &cause {
                if !s.is_empty() {
                    text.push_str(&format!("\n  {s}"));
                }
            }
            text
        }
        Outcome::Aborted => format!("{command} was stopped (ABORTED)"),
        Outcome::TimedOut => {
            format!("{command} timed out (TIMED_OUT); the stack's cleanup ends its cluster")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_reads_as_its_error_cluster_and_failed_steps() {
        let cause = serde_json::json!({
            "clusterId": "j-1", "clusterState": "TERMINATED", "reason": {"message": "Steps completed with errors"},
            "failedSteps": [{"name": "Enrich", "state": "FAILED",
                             "failure": {"reason": "OOM", "message": "Java heap space", "logFile": "s3://logs/j-1/steps/s-1/stderr.gz"}}]
        });
        let text = outcome_text(
            "run-transient",
            &Outcome::Failed {
                error: "StepFailed".into(),
                cause: cause.to_string(),
            },
        );
        assert!(text.starts_with("run-transient failed: StepFailed\n  cluster j-1 TERMINATED: Steps completed with errors"), "{text}");
        assert!(text.contains("step \"Enrich\" FAILED\n    reason: OOM\n    message: Java heap space\n    log: s3://logs/j-1/steps/s-1/stderr.gz"), "{text}");
        let up = outcome_text(
            "up",
            &Outcome::Succeeded(serde_json::json!({"clusterId": "j-2"})),
        );
        assert_eq!(up, "EMR cluster launched successfully; Jobflow ID: j-2");
    }

    #[test]
    fn a_serverless_run_reads_as_its_application_and_job_runs_with_their_costs() {
        let cost = serde_json::json!({"vcpuHours": 1, "memoryGbHours": 4, "storageGbHours": 0, "usd": "0.05"});
        let output = serde_json::json!({"applicationId": "00f1", "region": "eu-west-1", "jobRuns": [
            {"name": "Stage", "jobRunId": "00j1", "state": "SUCCESS", "stateDetails": null, "logUri": null, "cost": cost},
            {"name": "Load", "jobRunId": "00j2", "state": "FAILED", "stateDetails": "exit 1", "logUri": null, "cost": null}]});
        let succeeded = Outcome::Succeeded(output.clone());
        assert_eq!(
            outcome_text("run-transient", &succeeded),
            "run-transient succeeded: EMR Serverless application 00f1, 1 of 2 job runs succeeded"
        );
        let mut progress = Progress::default();
        progress.take_outcome(&succeeded);
        assert_eq!(
            step_table(&progress),
            "  Stage  SUCCESS     1 vCPU-hours, 4 GB-hours memory, 0 GB-hours storage, ≈ $0.05\n  Load   FAILED\n  \
             Cost: ≈ $0.05 for 1 job run (estimate, EMR Serverless prices)\n"
        );
        // The Cause as the definition writes it ("Describe the failed step"): the job run that ended the run.
        let cause = serde_json::json!({"applicationId": "00f1", "error": "StepFailed",
            "message": "job run 00j2 (Load) ended FAILED: exit 1; driver logs: s3://acme/logs/applications/00f1/jobs/00j2/",
            "name": "Load", "jobRunId": "00j2", "state": "FAILED", "stateDetails": "exit 1",
            "logUri": "s3://acme/logs/applications/00f1/jobs/00j2/"});
        let failed = Outcome::Failed {
            error: "StepFailed".into(),
            cause: cause.to_string(),
        };
        assert_eq!(
            outcome_text("run-transient", &failed),
            "run-transient failed: StepFailed\n  EMR Serverless application 00f1\n  job run \"Load\" FAILED\n    \
             id: 00j2\n    details: exit 1\n    logs: s3://acme/logs/applications/00f1/jobs/00j2/"
        );
        let mut failed_progress = Progress::default();
        failed_progress.take_outcome(&failed);
        assert_eq!(failed_progress.application_id.as_deref(), Some("00f1"));
        assert_eq!(failed_progress.steps.len(), 1, "the Cause's job run");
        // A check that kept failing: the job run was cancelled unread; the message says why the run ended.
        let unread = serde_json::json!({"applicationId": "00f1", "error": "Lambda.Unknown",
            "message": "check-status did not finish", "name": "Load", "jobRunId": "00j2"});
        assert_eq!(
            outcome_text(
                "run-transient",
                &Outcome::Failed {
                    error: "Lambda.Unknown".into(),
                    cause: unread.to_string(),
                }
            ),
            "run-transient failed: Lambda.Unknown\n  EMR Serverless application 00f1\n  job run \"Load\"\n    \
             id: 00j2\n  check-status did not finish"
        );
    }

    #[test]
    fn the_final_table_ends_with_what_the_run_cost() {
        let output = serde_json::json!({"clusterId": "j-1", "cost": crate::cost::sample(),
            "steps": [{"name": "Enrich", "state": "COMPLETED", "durationSeconds": 65}]});
        let mut progress = Progress::default();
        progress.take_outcome(&Outcome::Succeeded(output));
        assert_eq!(
            step_table(&progress),
            "  Enrich  COMPLETED   1m 05s\n  Cost: 1.5056 instance-hours, ≈ $0.37 (estimate, prices as of 2026-11-01)\n    \
             leaves out: data transfer; S3 requests and storage; taxes\n"
        );
        let mut stopped = Progress::default();
        stopped.take_outcome(&Outcome::Aborted);
        assert_eq!(step_table(&stopped), "");
    }
}
