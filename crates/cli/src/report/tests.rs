use super::*;
use crate::cost::sample;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn listed(command: &'static str, name: &str, start: &str, stop: Option<&str>) -> Listed {
    Listed {
        command,
        name: name.into(),
        arn: format!("arn:aws:states:eu-west-1:123456789012:execution:dfr-{command}:{name}"),
        status: if stop.is_some() {
            "SUCCEEDED"
        } else {
            "RUNNING"
        }
        .into(),
        start: at(start),
        stop: stop.map(at),
    }
}

fn ended(
    status: &str,
    input: Value,
    output: Option<Value>,
    failure: Option<(&str, Value)>,
) -> Details {
    Details {
        status: status.into(),
        stop: None,
        input: Some(input.to_string()),
        output: output.map(|o| o.to_string()),
        error: failure.as_ref().map(|(e, _)| e.to_string()),
        cause: failure.map(|(_, c)| c.to_string()),
    }
}

fn cluster_input(name: &str) -> Value {
    json!({"cluster": {"schema": "iglu:com.dataflowrunner.serverless/ClusterConfig/jsonschema/1-2-0", "data": {"name": name}},
           "playbook": {"data": {"steps": []}}, "rendered": true})
}

/// A week of one pipeline: a success with a cost, a failed step with its cost in the Cause, a held lock, an up and
/// a down of another pipeline (the down only knows the cluster id), a run still going.
fn week() -> Vec<Run> {
    let mut cheap = sample();
    cheap["instanceHours"] = json!(0.5);
    cheap["usd"] = json!(0.125);
    let mut runs = vec![
        Run::new(
            listed(
                "run-transient",
                "nightly-1",
                "2026-11-01T02:00:00Z",
                Some("2026-11-01T03:30:20Z"),
            ),
            Some(ended(
                "SUCCEEDED",
                cluster_input("enrich"),
                Some(
                    json!({"clusterId": "j-1", "clusterName": "enrich", "steps": [], "cost": sample()}),
                ),
                None,
            )),
        ),
        Run::new(
            listed(
                "run-transient",
                "nightly-2",
                "2026-11-02T02:00:00Z",
                Some("2026-11-02T02:20:00Z"),
            ),
            Some(ended(
                "FAILED",
                cluster_input("enrich"),
                None,
                Some((
                    "StepFailed",
                    json!({"clusterId": "j-2", "failedSteps": [], "cost": cheap}),
                )),
            )),
        ),
        Run::new(
            listed(
                "run-transient",
                "nightly-3",
                "2026-11-03T02:00:00Z",
                Some("2026-11-03T02:00:04Z"),
            ),
            Some(ended(
                "FAILED",
                cluster_input("enrich"),
                None,
                Some(("LockHeld", json!({"lock": "enrich", "message": "held"}))),
            )),
        ),
        Run::new(
            listed(
                "up",
                "up-shred",
                "2026-11-04T08:00:00Z",
                Some("2026-11-04T08:09:00Z"),
            ),
            Some(ended(
                "SUCCEEDED",
                cluster_input("shred"),
                Some(
                    json!({"clusterId": "j-9", "clusterName": "shred", "clusterState": "WAITING"}),
                ),
                None,
            )),
        ),
        Run::new(
            listed(
                "down",
                "down-j-9",
                "2026-11-04T20:00:00Z",
                Some("2026-11-04T20:05:00Z"),
            ),
            Some(ended(
                "SUCCEEDED",
                json!({"clusterId": "j-9"}),
                Some(json!({"clusterId": "j-9", "clusterState": "TERMINATED"})),
                None,
            )),
        ),
        Run::new(
            listed("run", "run-j-404", "2026-11-05T01:00:00Z", None),
            Some(ended(
                "RUNNING",
                json!({"clusterId": "j-404", "playbook": {}}),
                None,
                None,
            )),
        ),
    ];
    name_pipelines(&mut runs);
    runs.reverse();
    runs
}

#[test]
fn since_takes_an_age_a_time_or_a_date() {
    let now = at("2026-12-02T03:00:00Z");
    let moment = |text: &str| Since::parse(text).map(|s| s.moment(now));
    assert_eq!(moment("7d"), Ok(at("2026-11-25T03:00:00Z")));
    assert_eq!(moment("36h"), Ok(at("2026-11-30T15:00:00Z")));
    assert_eq!(moment("90m"), Ok(at("2026-12-02T01:30:00Z")));
    assert_eq!(
        moment("2026-11-01T00:00:00+01:00"),
        Ok(at("2026-10-31T23:00:00Z"))
    );
    assert_eq!(moment("2026-11-01"), Ok(at("2026-11-01T00:00:00Z")));
    for wrong in [
        "",
        "7",
        "7w",
        "-7d",
        "d",
        "yesterday",
        "7 d",
        "2026-13-01",
        "99999999999999999999d",
    ] {
        assert!(Since::parse(wrong).is_err(), "{wrong:?}");
    }
    assert!(Since::parse("7w").unwrap_err().contains("(7d, 36h, 90m)"));
}

#[test]
fn each_run_reads_its_pipeline_outcome_duration_and_cost_from_its_execution() {
    let runs = week();
    let row = |name: &str| runs.iter().find(|r| r.name == name).unwrap();
    let success = row("nightly-1");
    assert_eq!(
        (
            success.pipeline.as_deref(),
            success.outcome(),
            success.seconds()
        ),
        (Some("enrich"), "SUCCEEDED".to_string(), Some(5420))
    );
    assert_eq!(
        success.cost.as_ref().map(|c| c.instance_hours),
        Some(1.5056)
    );
    assert_eq!(success.cost_json, Some(sample()));
    let failed = row("nightly-2");
    assert_eq!(failed.outcome(), "FAILED StepFailed");
    assert_eq!(
        failed.cost.as_ref().and_then(|c| c.usd),
        Some(0.125),
        "from the Cause"
    );
    let held = row("nightly-3");
    assert_eq!(
        (
            held.outcome().as_str(),
            held.pipeline.as_deref(),
            held.cost.is_none()
        ),
        ("FAILED LockHeld", Some("enrich"), true)
    );
    // down knows only the cluster id: the up of the report that launched it names it
    assert_eq!(row("down-j-9").pipeline.as_deref(), Some("shred"));
    // a run on a cluster no run of the report launched: the cluster id
    let running = row("run-j-404");
    assert_eq!(
        (
            running.pipeline.as_deref(),
            running.outcome().as_str(),
            running.seconds()
        ),
        (Some("j-404"), "RUNNING", None)
    );
}

#[test]
fn a_pipeline_is_never_an_unrendered_template_and_a_run_not_described_keeps_its_listing() {
    let templated = json!({"cluster": {"data": {"name": "nightly-{{.env}}"}}, "rendered": false});
    let run = Run::new(
        listed(
            "run-transient",
            "t",
            "2026-11-01T00:00:00Z",
            Some("2026-11-01T01:00:00Z"),
        ),
        Some(ended(
            "SUCCEEDED",
            templated,
            Some(json!({"clusterId": "j-5", "clusterName": "nightly-prod"})),
            None,
        )),
    );
    assert_eq!(
        run.cluster_name.as_deref(),
        Some("nightly-prod"),
        "the rendered name, from the output"
    );
    // the config's text, as the console may give it
    let text = json!({"cluster": json!({"data": {"name": "from-text"}}).to_string()});
    assert_eq!(named_cluster(&text).as_deref(), Some("from-text"));
    assert_eq!(
        named_cluster(&json!({"cluster": "s3://bucket/cluster.json"})),
        None
    );
    let mut alone = vec![Run::new(
        listed(
            "up",
            "u",
            "2026-11-01T00:00:00Z",
            Some("2026-11-01T00:10:00Z"),
        ),
        None,
    )];
    name_pipelines(&mut alone);
    assert_eq!(
        (
            alone[0].status.as_str(),
            alone[0].pipeline.as_deref(),
            alone[0].seconds()
        ),
        ("SUCCEEDED", None, Some(600))
    );
}

#[test]
fn totals_count_runs_by_outcome_and_add_up_the_costs_they_have() {
    let t = totals(&week());
    assert_eq!(t.runs, 6);
    assert_eq!(
        t.outcomes
            .iter()
            .map(|(o, n)| (o.as_str(), *n))
            .collect::<Vec<_>>(),
        vec![
            ("FAILED LockHeld", 1),
            ("FAILED StepFailed", 1),
            ("RUNNING", 1),
            ("SUCCEEDED", 3)
        ]
    );
    assert_eq!(
        (
            t.instance_hours,
            t.usd,
            t.usd_is_lower_bound,
            t.without_cost
        ),
        (Some(2.0056), Some(0.4995), false, 4)
    );
    // a price missing in one run makes the total a lower bound; no price at all leaves only the hours
    let mut runs = week();
    runs[5].cost.as_mut().unwrap().usd = None;
    let t = totals(&runs);
    assert_eq!((t.usd, t.usd_is_lower_bound), (Some(0.125), true));
    runs[4].cost.as_mut().unwrap().usd = None;
    assert_eq!(totals(&runs).usd, None);
    let none = totals(&[]);
    assert_eq!((none.runs, none.instance_hours, none.usd), (0, None, None));
}

#[test]
fn the_text_report_is_an_aligned_table_with_its_totals() {
    let runs = week();
    let text = to_text(&runs, &totals(&runs), at("2026-10-31T00:00:00Z"));
    let expected = "\
START                 COMMAND        PIPELINE  OUTCOME            DURATION  INSTANCE-HOURS   USD  EXECUTION
2026-11-05 01:00:00Z  run            j-404     RUNNING                   -               -     -  run-j-404
2026-11-04 20:00:00Z  down           shred     SUCCEEDED            5m 00s               -     -  down-j-9
2026-11-04 08:00:00Z  up             shred     SUCCEEDED            9m 00s               -     -  up-shred
2026-11-03 02:00:00Z  run-transient  enrich    FAILED LockHeld          4s               -     -  nightly-3
2026-11-02 02:00:00Z  run-transient  enrich    FAILED StepFailed   20m 00s            0.50  0.13  nightly-2
2026-11-01 02:00:00Z  run-transient  enrich    SUCCEEDED            1h 30m            1.51  0.37  nightly-1
total since 2026-10-31 00:00:00Z: 6 runs (1 FAILED LockHeld, 1 FAILED StepFailed, 1 RUNNING, 3 SUCCEEDED); 2.01 instance-hours, ≈ $0.50 (estimate); 4 runs without a cost
";
    assert_eq!(text, expected);
    let mut marked = week();
    let c = marked[4].cost.as_mut().unwrap();
    (c.usd_is_lower_bound, c.is_final) = (true, false);
    let text = to_text(&marked, &totals(&marked), at("2026-10-31T00:00:00Z"));
    assert!(text.contains("  0.50  ≥0.13*  nightly-2\n"), "{text}");
    assert!(text.contains("\n≥ at least: some prices could not be found\n* not final: the cost so far\ntotal since"), "{text}");
    assert!(text.contains("at least $0.50 (estimate)"), "{text}");
    assert_eq!(
        to_text(&[], &totals(&[]), at("2026-10-31T00:00:00Z")),
        "total since 2026-10-31 00:00:00Z: 0 runs\n"
    );
}

#[test]
fn json_has_one_object_per_run_with_its_cost_as_written_and_the_totals() {
    let runs = week();
    let v = to_json(&runs, &totals(&runs), at("2026-10-31T00:00:00Z"));
    assert_eq!(v["since"], "2026-10-31T00:00:00Z");
    let first = &v["runs"][5];
    assert_eq!(first["start"], "2026-11-01T02:00:00Z");
    assert_eq!(first["stop"], "2026-11-01T03:30:20Z");
    assert_eq!(
        (
            &first["outcome"],
            &first["pipeline"],
            &first["durationSeconds"]
        ),
        (&json!("SUCCEEDED"), &json!("enrich"), &json!(5420))
    );
    assert_eq!(
        (&first["instanceHours"], &first["usd"], &first["costFinal"]),
        (&json!(1.5056), &json!(0.3745), &json!(true))
    );
    assert_eq!(first["cost"], sample());
    assert_eq!(v["runs"][0]["cost"], Value::Null);
    assert_eq!(v["runs"][0]["stop"], Value::Null);
    assert_eq!(
        v["totals"],
        json!({"runs": 6, "outcomes": {"FAILED LockHeld": 1, "FAILED StepFailed": 1, "RUNNING": 1, "SUCCEEDED": 3},
        "instanceHours": 2.0056, "usd": 0.4995, "usdIsLowerBound": false, "runsWithoutCost": 4})
    );
}

#[test]
fn csv_is_rfc_4180_with_a_header_iso_times_plain_numbers_and_quotes_where_needed() {
    let mut runs = week();
    runs[5].pipeline = Some("enrich, \"eu\"".into());
    let csv = to_csv(&to_json(&runs, &totals(&runs), at("2026-10-31T00:00:00Z")));
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(
        lines.len(),
        8,
        "a header, 6 rows and the last line end: {csv}"
    );
    assert_eq!(lines[0], "start,stop,command,pipeline,outcome,status,error,durationSeconds,instanceHours,usd,usdIsLowerBound,costFinal,clusterId,name,executionArn");
    assert_eq!(lines[1], "2026-11-05T01:00:00Z,,run,j-404,RUNNING,RUNNING,,,,,,,j-404,run-j-404,arn:aws:states:eu-west-1:123456789012:execution:dfr-run:run-j-404");
    assert_eq!(lines[6], "2026-11-01T02:00:00Z,2026-11-01T03:30:20Z,run-transient,\"enrich, \"\"eu\"\"\",SUCCEEDED,SUCCEEDED,,5420,1.5056,0.3745,false,true,j-1,nightly-1,arn:aws:states:eu-west-1:123456789012:execution:dfr-run-transient:nightly-1");
    assert_eq!(lines[7], "");
    assert!(!csv.contains('$'));
}

#[test]
fn a_stopped_run_takes_the_cost_the_stack_recorded_for_its_execution_and_only_it() {
    let stopped = Run::new(
        listed(
            "up",
            "stopped",
            "2026-11-02T02:00:00Z",
            Some("2026-11-02T02:20:00Z"),
        ),
        Some(ended("ABORTED", cluster_input("enrich"), None, None)),
    );
    let running = Run::new(
        listed("run-transient", "going", "2026-11-02T03:00:00Z", None),
        Some(ended("RUNNING", cluster_input("enrich"), None, None)),
    );
    let mut runs = vec![stopped, running];
    assert!(runs.iter().all(|r| r.cost.is_none()));
    let recorded: HashMap<String, RecordedCost> = runs
        .iter()
        .map(|r| {
            (
                r.arn.clone(),
                RecordedCost {
                    cluster_id: format!("j-{}", r.name.to_uppercase()),
                    cost: sample(),
                },
            )
        })
        .collect();
    add_recorded_costs(&mut runs, &recorded);
    let [stopped, running] = &runs[..] else {
        unreachable!()
    };
    assert_eq!(stopped.cost_json, Some(sample()));
    assert_eq!(
        stopped.cost.as_ref().map(|c| c.instance_hours),
        Some(1.5056)
    );
    assert_eq!(stopped.cluster_id.as_deref(), Some("j-STOPPED"));
    // A run still going has no final cost: a record for it (there is none on AWS) is not taken.
    assert_eq!(
        (running.cost.is_none(), running.cluster_id.as_deref()),
        (true, None)
    );
}

/// A serverless run's cost (its job runs' together), as the cleanup that deleted its application writes it.
fn serverless_cost(vcpu_hours: f64, usd: f64) -> Value {
    json!({"target": "serverless", "jobRuns": 2, "vcpuHours": vcpu_hours, "memoryGbHours": 4.0 * vcpu_hours,
           "storageGbHours": 0.0, "usd": usd, "usdIsLowerBound": false, "estimate": true, "final": true,
           "region": "eu-west-1", "pricesAsOf": null, "pricesUnavailable": null, "leavesOut": []})
}

#[test]
fn a_serverless_run_shows_its_job_runs_cost_from_its_output_or_from_the_record_of_its_application()
{
    let command = "serverless-run-transient";
    let ok = Run::new(
        listed(
            command,
            "ok",
            "2026-11-01T02:00:00Z",
            Some("2026-11-01T02:30:00Z"),
        ),
        Some(ended(
            "SUCCEEDED",
            cluster_input("nightly-enrich-prod"),
            Some(
                json!({"applicationId": "00app1", "jobRuns": [], "cost": serverless_cost(1.5, 0.25)}),
            ),
            None,
        )),
    );
    let failed = Run::new(
        listed(
            command,
            "failed",
            "2026-11-02T02:00:00Z",
            Some("2026-11-02T02:10:00Z"),
        ),
        Some(ended(
            "FAILED",
            cluster_input("nightly-enrich-prod"),
            None,
            Some((
                "StepFailed",
                json!({"applicationId": "00app2", "error": "StepFailed"}),
            )),
        )),
    );
    let mut runs = vec![ok, failed];
    assert!(runs[0].cost.as_ref().unwrap().is_serverless());
    assert_eq!(runs[1].cost, None, "the Cause has no cost");
    let recorded = HashMap::from([(
        runs[1].arn.clone(),
        RecordedCost {
            cluster_id: "00app2".into(),
            cost: serverless_cost(0.5, 0.0833),
        },
    )]);
    add_recorded_costs(&mut runs, &recorded);
    name_pipelines(&mut runs);
    let t = totals(&runs);
    assert_eq!((t.usd, t.without_cost), (Some(0.3333), 0));
    let json = to_json(&runs, &t, at("2026-11-01T00:00:00Z"));
    let rows = json["runs"].as_array().unwrap();
    assert_eq!(rows[0]["vcpuHours"], 1.5);
    assert_eq!(rows[0]["instanceHours"], Value::Null, "no instances");
    assert_eq!(rows[1]["usd"], 0.0833);
    assert_eq!(rows[1]["clusterId"], "00app2");
    assert_eq!(rows[1]["pipeline"], "nightly-enrich-prod");
    // A templated name (the example's): the pipeline is the application's id, from the output or the Cause.
    let mut templated = Run::new(
        listed(
            command,
            "t",
            "2026-11-03T02:00:00Z",
            Some("2026-11-03T02:10:00Z"),
        ),
        Some(ended(
            "SUCCEEDED",
            cluster_input("nightly-{{.env}}"),
            Some(json!({"applicationId": "00app3", "cost": serverless_cost(1.0, 0.1)})),
            None,
        )),
    );
    name_pipelines(std::slice::from_mut(&mut templated));
    assert_eq!(templated.pipeline.as_deref(), Some("00app3"));
    let text = to_text(&runs, &t, at("2026-11-01T00:00:00Z"));
    let row = text.lines().find(|l| l.contains("StepFailed")).unwrap();
    assert!(row.contains(" - ") && row.contains("0.08"), "{row}");
}
