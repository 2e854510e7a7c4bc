//! Each translation and each refusal, on steps written as a playbook writes them.

use super::*;
use crate::model::Step;

const FILE: &str = "playbook.json";

fn step(jar: &str, args: &[&str]) -> Step {
    Step {
        name: "s".into(),
        step_type: Some("CUSTOM_JAR".into()),
        action_on_failure: None,
        jar: jar.into(),
        main_class: None,
        arguments: Some(args.iter().map(|a| a.to_string()).collect()),
        properties: None,
    }
}

fn playbook(steps: Vec<Step>) -> PlaybookConfig {
    PlaybookConfig {
        region: None,
        credentials: None,
        steps,
        tags: None,
    }
}

fn one(s: Step) -> Result<Translation, ConfigErrors> {
    translate(FILE, &LineIndex::default(), &playbook(vec![s]), None)
}

fn spark(args: &[&str]) -> (SparkSubmit, Vec<String>) {
    let t = one(step("command-runner.jar", args)).expect("translates");
    let warnings = t.warnings.iter().map(|w| w.to_string()).collect();
    match t.jobs.into_iter().next().unwrap().driver {
        JobDriver::SparkSubmit(s) => (s, warnings),
        other => panic!("not spark: {other:?}"),
    }
}

/// The one refusal of a step: its JSON path and its message (with the fix).
fn refusal(s: Step) -> (String, String) {
    let errors = one(s).expect_err("refused").0;
    assert_eq!(errors.len(), 1, "{errors:?}");
    let d = &errors[0];
    assert_eq!(d.file, FILE);
    assert!(d.hint.is_some(), "no fix: {d}");
    (d.json_path(), d.to_string())
}

#[test]
fn spark_submit_options_go_to_the_parameters_and_the_application_to_the_entry_point() {
    let (s, warnings) = spark(&[
        "spark-submit",
        "--class",
        "com.acme.Main",
        "--conf",
        "spark.sql.shuffle.partitions=64",
        "--jars=s3://b/a.jar,s3://b/b.jar",
        "--executor-memory",
        "4g",
        "--verbose",
        "s3://b/app.jar",
        "--input",
        "s3://b/in/",
        "--flag with space",
    ]);
    assert_eq!(s.entry_point, "s3://b/app.jar");
    assert_eq!(
        s.entry_point_arguments,
        ["--input", "s3://b/in/", "--flag with space"],
        "the application's own arguments are passed as they are, options or not"
    );
    assert_eq!(
        s.spark_submit_parameters.as_deref(),
        Some(
            "--class com.acme.Main --conf spark.sql.shuffle.partitions=64 --jars s3://b/a.jar,s3://b/b.jar \
             --executor-memory 4g --verbose"
        )
    );
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn a_value_with_spaces_or_quotes_is_one_shell_quoted_word() {
    let (s, _) = spark(&[
        "spark-submit",
        "--conf",
        "spark.driver.extraJavaOptions=-Da=1 -Db='x'",
        "--name",
        "",
        "app.py",
    ]);
    assert_eq!(
        s.spark_submit_parameters.as_deref(),
        Some("--conf 'spark.driver.extraJavaOptions=-Da=1 -Db='\\''x'\\''' --name ''")
    );
    assert_eq!(shell_quote("s3://b/k=v,w@x%y+z:1"), "s3://b/k=v,w@x%y+z:1");
    assert_eq!(shell_quote("a$b"), "'a$b'");
}

#[test]
fn options_that_choose_the_cluster_manager_are_left_out_with_a_warning() {
    let (s, warnings) = spark(&[
        "spark-submit",
        "--master",
        "yarn",
        "--deploy-mode=cluster",
        "--queue",
        "etl",
        "--supervise",
        "--conf",
        "spark.submit.deployMode=client",
        "--conf",
        "spark.executor.cores=2",
        "app.jar",
    ]);
    assert_eq!(
        s.spark_submit_parameters.as_deref(),
        Some("--conf spark.executor.cores=2")
    );
    assert_eq!(warnings.len(), 5, "{warnings:?}");
    assert!(warnings[0]
        .starts_with("playbook.json: data.steps[0].arguments[1]: `--master yarn` is left out"));
    assert!(warnings[1].contains("arguments[3]: `--deploy-mode cluster` is left out"));
    assert!(warnings[2].contains("no YARN queues"));
    assert!(warnings[4].contains("`--conf spark.submit.deployMode=client` is left out"));
}

#[test]
fn spark_submit_without_options_has_no_parameters() {
    let (s, _) = spark(&["spark-submit", "s3://b/job.py"]);
    assert_eq!(s.spark_submit_parameters, None);
    assert!(s.entry_point_arguments.is_empty());
    let json = serde_json::to_value(JobDriver::SparkSubmit(s)).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"sparkSubmit": {"entryPoint": "s3://b/job.py"}})
    );
}

#[test]
fn hive_script_steps_become_hive_drivers() {
    let t = one(step(
        "command-runner.jar",
        &[
            "hive-script",
            "--run-hive-script",
            "--args",
            "-f",
            "s3://b/q/daily.q",
            "-i",
            "s3://b/q/init.q",
            "-d",
            "INPUT=s3://b/in/",
            "--hiveconf",
            "hive.exec.parallel=true",
            "--hivevar",
            "NOTE=two words",
        ],
    ))
    .unwrap();
    let json = serde_json::to_value(&t.jobs[0].driver).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"hive": {
            "query": "s3://b/q/daily.q",
            "initQueryFile": "s3://b/q/init.q",
            "parameters": "--hivevar INPUT=s3://b/in/ --hiveconf hive.exec.parallel=true --hivevar 'NOTE=two words'"
        }})
    );
}

#[test]
fn action_on_failure_keeps_its_meaning() {
    let mut steps = Vec::new();
    for action in [
        None,
        Some(ActionOnFailure::CancelAndWait),
        Some(ActionOnFailure::Continue),
        Some(ActionOnFailure::TerminateCluster),
        Some(ActionOnFailure::TerminateJobFlow),
    ] {
        let mut s = step("command-runner.jar", &["spark-submit", "app.py"]);
        s.action_on_failure = action;
        steps.push(s);
    }
    let t = translate(
        FILE,
        &LineIndex::default(),
        &playbook(steps),
        Some(ApplicationType::Spark),
    )
    .unwrap();
    let on_failure: Vec<OnFailure> = t.jobs.iter().map(|j| j.on_failure).collect();
    assert_eq!(
        on_failure,
        [
            OnFailure::Stop,
            OnFailure::Stop,
            OnFailure::Continue,
            OnFailure::Stop,
            OnFailure::Stop
        ]
    );
}

#[test]
fn s3_dist_cp_is_refused_as_a_command_and_as_a_jar() {
    let (at, message) = refusal(step(
        "command-runner.jar",
        &["s3-dist-cp", "--src", "s3://a/", "--dest", "s3://b/"],
    ));
    assert_eq!(at, "data.steps[0].arguments[0]");
    assert!(
        message.contains("s3-dist-cp copies with the cluster's MapReduce"),
        "{message}"
    );
    let (at, _) = refusal(step(
        "/usr/share/aws/emr/s3-dist-cp/lib/s3-dist-cp.jar",
        &["--src", "s3://a/"],
    ));
    assert_eq!(at, "data.steps[0].jar");
}

#[test]
fn script_runner_is_refused() {
    let (at, message) = refusal(step(
        "s3://eu-west-1.elasticmapreduce/libs/script-runner/script-runner.jar",
        &["s3://b/setup.sh"],
    ));
    assert_eq!(at, "data.steps[0].jar");
    assert!(message.contains("no nodes to run one on"), "{message}");
}

#[test]
fn every_hdfs_path_is_refused_where_it_is() {
    let errors = one(step(
        "command-runner.jar",
        &[
            "spark-submit",
            "app.jar",
            "--in",
            "hdfs:///raw/",
            "--out",
            "HDFS://nn/x",
        ],
    ))
    .unwrap_err()
    .0;
    let at: Vec<String> = errors.iter().map(|d| d.json_path()).collect();
    assert_eq!(
        at,
        ["data.steps[0].arguments[3]", "data.steps[0].arguments[5]"]
    );
    assert!(errors[0]
        .message
        .contains("\"hdfs:///raw/\" is an HDFS path"));
    assert!(errors[0].hint.as_deref().unwrap().contains("no HDFS"));
}

#[test]
fn a_custom_jar_is_refused_with_the_spark_submit_step_it_could_be() {
    let mut s = step("s3://b/loader.jar", &["--config", "c"]);
    s.main_class = Some("com.acme.Load".into());
    let (at, message) = refusal(s);
    assert_eq!(at, "data.steps[0].jar");
    assert!(
        message.contains("cannot be known from the playbook"),
        "{message}"
    );
    assert!(
        message
            .contains("[\"spark-submit\", \"--class\", \"com.acme.Load\", \"s3://b/loader.jar\""),
        "{message}"
    );
}

#[test]
fn other_commands_are_refused() {
    let (at, message) = refusal(step("command-runner.jar", &["bash", "-c", "aws s3 cp a b"]));
    assert_eq!(at, "data.steps[0].arguments[0]");
    assert!(
        message.contains("`bash` is neither spark-submit nor hive-script"),
        "{message}"
    );
    let (at, _) = refusal(step("command-runner.jar", &[]));
    assert_eq!(at, "data.steps[0].arguments");
}

#[test]
fn step_properties_and_a_main_class_for_command_runner_are_refused() {
    let mut s = step("command-runner.jar", &["spark-submit", "app.py"]);
    s.properties = Some([("a".to_string(), "b".to_string())].into_iter().collect());
    let (at, message) = refusal(s);
    assert_eq!(at, "data.steps[0].properties");
    assert!(message.contains("extraJavaOptions"), "{message}");
    let mut s = step("command-runner.jar", &["spark-submit", "app.py"]);
    s.main_class = Some("x.Y".into());
    assert_eq!(refusal(s).0, "data.steps[0].mainClass");
}

#[test]
fn spark_submit_options_that_cannot_work_are_refused() {
    for (option, why) in [
        ("--properties-file", "no master node"),
        ("--keytab", "not as a Kerberos principal"),
        ("--principal", "not as a Kerberos principal"),
        ("--proxy-user", "not as a Kerberos principal"),
        ("--kill", "submits nothing"),
    ] {
        let (at, message) = refusal(step(
            "command-runner.jar",
            &["spark-submit", option, "v", "app.jar"],
        ));
        assert_eq!(at, "data.steps[0].arguments[1]", "{option}");
        assert!(message.contains(why), "{option}: {message}");
    }
    let (_, message) = refusal(step("command-runner.jar", &["spark-submit", "--help"]));
    assert!(message.contains("runs nothing"), "{message}");
    let (at, message) = refusal(step(
        "command-runner.jar",
        &["spark-submit", "--clas", "X", "app.jar"],
    ));
    assert_eq!(at, "data.steps[0].arguments[1]");
    assert!(
        message.contains("`--clas` is not a spark-submit option"),
        "{message}"
    );
    let (at, message) = refusal(step(
        "command-runner.jar",
        &["spark-submit", "--class", "X"],
    ));
    assert_eq!(at, "data.steps[0].arguments");
    assert!(message.contains("without an application"), "{message}");
    let (_, message) = refusal(step("command-runner.jar", &["spark-submit", "--class"]));
    assert!(message.contains("`--class` has no value"), "{message}");
}

#[test]
fn hive_steps_that_cannot_work_are_refused() {
    let hive = |rest: &[&str]| {
        let mut args = vec!["hive-script", "--run-hive-script", "--args"];
        args.extend_from_slice(rest);
        step("command-runner.jar", &args)
    };
    let (at, message) = refusal(hive(&["-f", "/home/hadoop/q.q"]));
    assert_eq!(at, "data.steps[0].arguments[4]");
    assert!(message.contains("from S3 only"), "{message}");
    let (at, message) = refusal(hive(&["-e", "select 1"]));
    assert_eq!(at, "data.steps[0].arguments[3]");
    assert!(
        message.contains("`-e` is not one of the Hive options"),
        "{message}"
    );
    let (_, message) = refusal(hive(&["-d", "A=1"]));
    assert!(message.contains("without a script"), "{message}");
    let (_, message) = refusal(step(
        "command-runner.jar",
        &["hive-script", "-f", "s3://b/q.q"],
    ));
    assert!(message.contains("--run-hive-script --args"), "{message}");
}

#[test]
fn an_application_runs_one_type_of_job() {
    let spark_step = step("command-runner.jar", &["spark-submit", "app.py"]);
    let hive_step = step(
        "command-runner.jar",
        &[
            "hive-script",
            "--run-hive-script",
            "--args",
            "-f",
            "s3://b/q.q",
        ],
    );
    let errors = translate(
        FILE,
        &LineIndex::default(),
        &playbook(vec![spark_step.clone()]),
        Some(ApplicationType::Hive),
    )
    .unwrap_err()
    .0;
    assert!(errors[0]
        .message
        .contains("a Spark job cannot run on the config's Hive application"));
    let errors = translate(
        FILE,
        &LineIndex::default(),
        &playbook(vec![spark_step, hive_step]),
        None,
    )
    .unwrap_err()
    .0;
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].json_path(), "data.steps[1].jar");
    assert!(
        errors[0].message.contains("step 0 is a Spark job"),
        "{}",
        errors[0].message
    );
}

#[test]
fn every_refused_step_is_reported_at_once_and_none_translated() {
    let p = playbook(vec![
        step("command-runner.jar", &["spark-submit", "app.py"]),
        step("command-runner.jar", &["s3-dist-cp"]),
        step("script-runner.jar", &[]),
    ]);
    let errors = translate(FILE, &LineIndex::default(), &p, None)
        .unwrap_err()
        .0;
    let at: Vec<String> = errors.iter().map(|d| d.json_path()).collect();
    assert_eq!(at, ["data.steps[1].arguments[0]", "data.steps[2].jar"]);
}
