use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, FixedOffset, TimeZone, Utc};

use super::*;

/// A fixed clock, a map of environment variables and a map of files; records what was asked.
struct FakeEnv {
    now: DateTime<FixedOffset>,
    vars: HashMap<String, String>,
    files: HashMap<String, Vec<u8>>,
    asked: RefCell<Vec<String>>,
}

impl FakeEnv {
    fn new() -> Self {
        FakeEnv {
            // 2017-05-24 10:33:44.123456789 UTC, a Wednesday.
            now: Utc
                .timestamp_opt(1_495_622_024, 123_456_789)
                .unwrap()
                .fixed_offset(),
            vars: HashMap::new(),
            files: HashMap::new(),
            asked: RefCell::new(Vec::new()),
        }
    }

    fn with_var(mut self, k: &str, v: &str) -> Self {
        self.vars.insert(k.into(), v.into());
        self
    }

    fn with_file(mut self, path: &str, bytes: &[u8]) -> Self {
        self.files.insert(path.into(), bytes.to_vec());
        self
    }

    fn with_offset(mut self, seconds_east: i32) -> Self {
        self.now = self
            .now
            .with_timezone(&FixedOffset::east_opt(seconds_east).unwrap());
        self
    }
}

impl TemplateEnv for FakeEnv {
    fn now(&self) -> DateTime<FixedOffset> {
        self.asked.borrow_mut().push("now".into());
        self.now
    }

    fn env_var(&self, name: &str) -> Option<String> {
        self.asked.borrow_mut().push(format!("env {name}"));
        self.vars.get(name).cloned()
    }

    fn read_file(&self, path: &str) -> std::io::Result<Vec<u8>> {
        self.asked.borrow_mut().push(format!("file {path}"));
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    }
}

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn ok(text: &str, pairs: &[(&str, &str)]) -> String {
    render("t.json", text, &vars(pairs), &FakeEnv::new())
        .unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

fn err(text: &str, pairs: &[(&str, &str)]) -> TemplateError {
    match render("t.json", text, &vars(pairs), &FakeEnv::new()) {
        Ok(out) => panic!("{text:?} rendered {out:?}"),
        Err(e) => e,
    }
}

#[test]
fn documented_examples() {
    assert_eq!(
        ok(
            r#"{{timeWithFormat "1495622024" "Mon Jan _2 15:04:05 2006"}}"#,
            &[]
        ),
        "Wed May 24 10:33:44 2017"
    );
    assert_eq!(
        ok(r#"{{base64 "dataflow-runner"}}"#, &[]),
        "ZGF0YWZsb3ctcnVubmVy"
    );
    let e = err("{\n  \"name\": \"x\",\n  \"owner\": \"{{.owner}}\"\n}", &[]);
    assert_eq!(
        e.go_message(),
        r#"template: t.json:3:14: executing "t.json" at <.owner>: map has no entry for key "owner""#
    );
    let e = err("{\n\n  \"a\": \"{{secret \"aws-access-key-id\"}}\"\n}", &[]);
    assert_eq!(
        e.go_message(),
        r#"template: t.json:3: function "secret" not defined"#
    );
}

#[test]
fn missing_variable_names_file_line_and_fix() {
    let text = "{\n  \"name\": \"x\",\n  \"owner\": \"{{.owner}}\"\n}";
    let e = render("cluster.json", text, &BTreeMap::new(), &FakeEnv::new()).unwrap_err();
    assert_eq!(
        *e.kind(),
        TemplateErrorKind::MissingVariable {
            name: "owner".into()
        }
    );
    assert_eq!(
        (e.line(), e.column(), e.context()),
        (Some(3), Some(14), Some(".owner"))
    );
    assert_eq!(e.line(), Some(3));
    assert_eq!(e.problem(), r#"map has no entry for key "owner""#);
    assert_eq!(
        e.fix().as_deref(),
        Some("pass it with --vars owner,VALUE (or --vars-file, or the execution input's \"vars\")")
    );
    assert_eq!(
        e.to_string(),
        r#"cluster.json:3: map has no entry for key "owner" (pass it with --vars owner,VALUE (or --vars-file, or the execution input's "vars"))"#
    );
}

#[test]
fn missing_variable_is_the_first_evaluated_one() {
    // `.b` appears first in the text but only in a branch that does not run.
    let text = "{{if .flag}}{{.b}}{{end}}\nx {{ .a }} {{.b}}";
    let e = err(text, &[("flag", "")]);
    assert_eq!(
        *e.kind(),
        TemplateErrorKind::MissingVariable { name: "a".into() }
    );
    assert_eq!((e.line(), e.column()), (Some(2), Some(5)));
    // Same key twice: the second occurrence is the one that runs.
    let e = err("{{if .flag}}{{.b}}{{end}}\n{{.b}}", &[("flag", "")]);
    assert_eq!((e.line(), e.column()), (Some(2), Some(2)));
}

#[test]
fn unevaluated_missing_variables_are_fine() {
    assert_eq!(ok("{{if false}}{{.nope}}{{end}}ok", &[]), "ok");
    assert_eq!(
        ok(
            "{{if .x}}{{.y}}{{else}}{{.z}}{{end}}",
            &[("x", ""), ("z", "Z")]
        ),
        "Z"
    );
    assert_eq!(
        ok(
            "{{if .x}}{{.y}}{{else}}{{.z}}{{end}}",
            &[("x", "1"), ("y", "Y")]
        ),
        "Y"
    );
    assert_eq!(
        ok("{{with .x}}{{.}}{{else}}{{.nope}}{{end}}", &[("x", "X")]),
        "X"
    );
    // Variables and dot inside range/with are not vars.
    assert_eq!(
        ok("{{with $v := .a}}{{$v}}{{.}}{{$.a}}{{end}}", &[("a", "A")]),
        "AAA"
    );
    assert_eq!(
        ok(
            "{{range $k, $v := .}}{{$k}}={{$v}};{{end}}",
            &[("only", "one")]
        ),
        "only=one;"
    );
    assert_eq!(ok("{{$x := .a}}{{$x}}-{{ $x }}", &[("a", "A")]), "A-A");
    // `index` gives the zero value for a missing key, a nil interface{} in the original's vars map, as in Go.
    assert_eq!(ok(r#"[{{index . "nope"}}]"#, &[]), "[<no value>]");
    assert_eq!(ok(r#"{{index . "a"}}"#, &[("a", "A")]), "A");
}

#[test]
fn missing_variable_in_a_condition_is_an_error_as_in_go() {
    let e = err("a\n{{if .nope}}x{{end}}", &[]);
    assert_eq!(
        *e.kind(),
        TemplateErrorKind::MissingVariable {
            name: "nope".into()
        }
    );
    assert_eq!((e.line(), e.column()), (Some(2), Some(5)));
    // In an `else if`, the position is the `else if` action, not the branch before it.
    let e = err(
        "{{if eq .a \"x\"}}\n1\n{{else if .nope}}\n2{{end}}",
        &[("a", "y")],
    );
    assert_eq!(
        *e.kind(),
        TemplateErrorKind::MissingVariable {
            name: "nope".into()
        }
    );
    assert_eq!((e.line(), e.column()), (Some(3), Some(10)));
    assert_eq!(
        ok(
            "{{if eq .a \"x\"}}1{{else if .b}}2{{else}}3{{end}}",
            &[("a", "y"), ("b", "")]
        ),
        "3"
    );
    assert_eq!(
        ok(
            "{{if eq .a \"x\"}}1{{else if .b}}2{{else}}3{{end}}",
            &[("a", "y"), ("b", "t")]
        ),
        "2"
    );
}

#[test]
fn missing_variable_through_dollar_and_define() {
    let e = err("{{with $x := \"v\"}}\n  {{$.owner}}{{end}}", &[]);
    assert_eq!(
        // Go places a chained field at its first `.field` (column 5, not the `$` at 4).
        (e.line(), e.column(), e.context()),
        (Some(2), Some(5), Some("$.owner"))
    );
    let e = err(
        "{{define \"t\"}}\nT {{.owner}}{{end}}{{template \"t\" .}}",
        &[],
    );
    assert_eq!(
        *e.kind(),
        TemplateErrorKind::MissingVariable {
            name: "owner".into()
        }
    );
    assert_eq!((e.line(), e.column()), (Some(2), Some(4)));
}

#[test]
fn literal_no_value_text_is_just_text() {
    assert_eq!(
        ok("<no value> {{.a}} <no value>", &[("a", "A")]),
        "<no value> A <no value>"
    );
}

#[test]
fn spacing_variants_and_back_to_back() {
    let pairs = [
        ("region", "eu-west-1"),
        ("bucket", "b"),
        ("inputdir", "/in"),
    ];
    assert_eq!(
        ok(r#""{{ .region}}" "{{.region }}" "{{  .region  }}""#, &pairs),
        r#""eu-west-1" "eu-west-1" "eu-west-1""#
    );
    assert_eq!(ok("s3://{{ .bucket }}{{ .inputdir }}", &pairs), "s3://b/in");
    assert_eq!(ok("{{.bucket}}{{.bucket}}", &pairs), "bb");
    assert_eq!(
        ok("{{if\n  .bucket\n}}multi-line action{{end}}", &pairs),
        "multi-line action"
    );
}

#[test]
fn values_are_inserted_raw() {
    assert_eq!(
        ok(r#"{"a": "{{.v}}"}"#, &[("v", "x\"y\\z<&>")]),
        r#"{"a": "x"y\z<&>"}"#
    );
}

#[test]
fn string_literal_actions_print_a_template_for_later() {
    assert_eq!(
        ok(r#"{{"{{nowWithFormat \"2006\"}}"}}"#, &[]),
        r#"{{nowWithFormat "2006"}}"#
    );
    assert_eq!(
        ok(r#""{{"{{timeWithFormat \"1495622024\" \"2006\"}}"}}""#, &[]),
        r#""{{timeWithFormat "1495622024" "2006"}}""#
    );
    assert_eq!(ok("{{`{{raw \"x\"}}`}}", &[]), r#"{{raw "x"}}"#);
    // Escapes in Go syntax: hex, unicode, octal, raw strings.
    assert_eq!(ok(r#"{{"\x41\u00e9\U0001F600\101\\"}}"#, &[]), "Aé😀A\\");
    assert_eq!(ok("{{`C:\\x\\`}}", &[]), "C:\\x\\");
    assert_eq!(ok("{{'a'}} {{0x1F}}", &[]), "97 31");
}

#[test]
fn unknown_function_is_a_parse_error_with_name_and_line() {
    let text = "{\n  \"k\": \"v\",\n  \"accessKeyId\": \"{{secret \"aws-access-key-id\"}}\"\n}";
    let e = err(text, &[]);
    assert_eq!(
        *e.kind(),
        TemplateErrorKind::UnknownFunction {
            name: "secret".into()
        }
    );
    assert_eq!(e.line(), Some(3));
    let shown = e.to_string();
    assert!(
        shown.starts_with(r#"t.json:3: function "secret" not defined ("#),
        "{shown}"
    );
    // A bare identifier too (config 16 uses `{{ prefix }}`).
    let e = err("a\nb\n\"{{ prefix }}-x\"", &[]);
    assert_eq!(
        (e.kind().clone(), e.line()),
        (
            TemplateErrorKind::UnknownFunction {
                name: "prefix".into()
            },
            Some(3)
        )
    );
}

#[test]
fn other_parse_errors_have_lines() {
    let e = err("a\n{{end}}", &[]);
    assert_eq!(
        *e.kind(),
        TemplateErrorKind::Parse {
            message: "unexpected {{end}}".into()
        }
    );
    assert_eq!(e.line(), Some(2));
    // An unclosed block is found at the end of the file.
    let e = err("{{if .a}}\nx\ny", &[("a", "1")]);
    assert!(
        matches!(*e.kind(), TemplateErrorKind::Parse { .. }),
        "{e:?}"
    );
    assert_eq!(e.line(), Some(3));
    // Lexical errors come from our lexer, with Go's messages.
    let e = err("a\nb {{ .x", &[]);
    assert_eq!(
        (e.kind().clone(), e.line()),
        (
            TemplateErrorKind::Parse {
                message: "unclosed action".into()
            },
            Some(2)
        )
    );
    let e = err("x\n{{\"abc}}", &[]);
    assert_eq!(e.problem(), "unterminated quoted string");
    assert_eq!(e.line(), Some(2));
    let e = err("{{ $undefined }}", &[]);
    assert!(e.problem().contains("undefined variable"), "{e}");
    assert_eq!(e.line(), Some(1));
}

#[test]
fn system_env_set_empty_unset() {
    let env = FakeEnv::new()
        .with_var("HOME_DIR", "/home/x")
        .with_var("EMPTY", "");
    let r = |t: &str| render("p.json", t, &BTreeMap::new(), &env);
    assert_eq!(r(r#"{{systemEnv "HOME_DIR"}}"#).unwrap(), "/home/x");
    assert_eq!(r(r#"[{{systemEnv "EMPTY"}}]"#).unwrap(), "[]");
    let e = r("{\n\"a\": \"{{systemEnv \"NOPE\"}}\"}").unwrap_err();
    assert_eq!(
        *e.kind(),
        TemplateErrorKind::UnsetEnvVar {
            name: "NOPE".into()
        }
    );
    assert_eq!(
        // Go reports a failing function at its command, with the arguments.
        (e.line(), e.column(), e.context()),
        (Some(2), Some(8), Some("systemEnv \"NOPE\""))
    );
    assert!(
        e.to_string()
            .starts_with("p.json:2: error calling systemEnv: environment variable NOPE not set"),
        "{e}"
    );
    assert_eq!(
        e.go_message(),
        r#"template: p.json:2:8: executing "p.json" at <systemEnv "NOPE">: error calling systemEnv: environment variable NOPE not set"#
    );
}

#[test]
fn base64_file_ok_and_missing() {
    let env = FakeEnv::new().with_file("./resolver.json", b"{\"schema\": 1}\n");
    let r = |t: &str| render("p.json", t, &BTreeMap::new(), &env);
    assert_eq!(
        r(r#""{{base64File "./resolver.json"}}""#).unwrap(),
        "\"eyJzY2hlbWEiOiAxfQo=\""
    );
    let e = r("x\n\n  {{base64File \"/no/such.hocon\"}}").unwrap_err();
    assert_eq!(
        *e.kind(),
        TemplateErrorKind::UnreadableFile {
            path: "/no/such.hocon".into(),
            message: "entity not found".into()
        }
    );
    assert_eq!((e.line(), e.column()), (Some(3), Some(4)));
    assert!(
        e.to_string()
            .contains("open /no/such.hocon: entity not found"),
        "{e}"
    );
}

#[test]
fn time_with_format_bad_input() {
    let e = err("{{timeWithFormat \"x\" \"2006\"}}", &[]);
    assert_eq!(
        *e.kind(),
        TemplateErrorKind::BadEpoch {
            value: "x".into(),
            message: r#"strconv.ParseInt: parsing "x": invalid syntax"#.into()
        }
    );
    assert_eq!(e.line(), Some(1));
    assert!(e.to_string().contains(
        r#"error calling timeWithFormat: strconv.ParseInt: parsing "x": invalid syntax"#
    ));
    let e = err(r#"{{timeWithFormat "99999999999999999999" "2006"}}"#, &[]);
    assert!(
        e.problem()
            .ends_with(r#"parsing "99999999999999999999": value out of range"#),
        "{e}"
    );
    let e = err(r#"{{timeWithFormat "" "2006"}}"#, &[]);
    assert!(
        e.problem().ends_with(r#"parsing "": invalid syntax"#),
        "{e}"
    );
    let e = err(r#"{{timeWithFormat 1495622024 "2006"}}"#, &[]);
    assert!(
        e.problem().contains("expected string; found 1495622024"),
        "{e}"
    );
    assert!(matches!(*e.kind(), TemplateErrorKind::Exec { .. }));
    // Signs are accepted, as by ParseInt.
    assert_eq!(
        ok(
            r#"{{timeWithFormat "-86400" "2006-01-02"}} {{timeWithFormat "+0" "2006"}}"#,
            &[]
        ),
        "1969-12-31 1970"
    );
}

#[test]
fn times_use_the_injected_clock_and_zone() {
    let env = FakeEnv::new();
    let r = |t: &str, env: &FakeEnv| render("p.json", t, &BTreeMap::new(), env).unwrap();
    assert_eq!(
        r(r#"{{nowWithFormat "2006-01-02-15-04-05"}}"#, &env),
        "2017-05-24-10-33-44"
    );
    assert_eq!(
        r(r#"{{nowWithFormat "15:04:05.000 MST Z07:00"}}"#, &env),
        "10:33:44.123 UTC Z"
    );
    let east = FakeEnv::new().with_offset(2 * 3600);
    assert_eq!(
        r(r#"{{nowWithFormat "15:04 MST -07:00"}}"#, &east),
        "12:33 +0200 +02:00"
    );
    // timeWithFormat is local time too (the fake's local zone is its clock's offset).
    assert_eq!(
        r(
            r#"{{timeWithFormat "1495622024" "Jan _2 15:04 -0700"}}"#,
            &east
        ),
        "May 24 12:33 +0200"
    );
    // The clock is asked once per render.
    let fresh = FakeEnv::new();
    assert_eq!(
        r(r#"{{nowWithFormat "05"}}{{nowWithFormat "04"}}"#, &fresh),
        "4433"
    );
    assert_eq!(*fresh.asked.borrow(), vec!["now".to_string()]);
}

#[test]
fn the_environment_is_asked_only_for_what_runs() {
    let env = FakeEnv::new().with_var("A", "a").with_file("f", b"F");
    let text = r#"{{if false}}{{base64File "nope"}}{{systemEnv "NOPE"}}{{nowWithFormat "2006"}}{{end}}{{systemEnv "A"}}{{base64File "f"}}{{systemEnv "A"}}"#;
    assert_eq!(
        render("p.json", text, &BTreeMap::new(), &env).unwrap(),
        "aRg==a"
    );
    assert_eq!(
        *env.asked.borrow(),
        vec!["env A".to_string(), "file f".to_string()]
    );
}

#[test]
fn function_results_feed_other_functions() {
    let env = FakeEnv::new().with_var("NAME", "dataflow-runner");
    let r = |t: &str| render("p.json", t, &BTreeMap::new(), &env).unwrap();
    assert_eq!(
        r(r#"{{base64 (systemEnv "NAME")}}"#),
        "ZGF0YWZsb3ctcnVubmVy"
    );
    assert_eq!(
        r(r#"{{systemEnv "NAME" | base64}}"#),
        "ZGF0YWZsb3ctcnVubmVy"
    );
    assert_eq!(
        r(r#"{{if eq (systemEnv "NAME") "dataflow-runner"}}yes{{end}}"#),
        "yes"
    );
}

#[test]
fn go_builtins() {
    let p = [("a", "A"), ("n", "3"), ("e", "")];
    assert_eq!(ok(r#"{{printf "%s-%d-%v" .a 3 true}}"#, &p), "A-3-true");
    assert_eq!(ok(r#"{{.a | printf "<%s>"}}"#, &p), "<A>");
    assert_eq!(
        ok(
            r#"{{if eq .a "B" "A"}}any{{end}} {{eq .a "A"}} {{ne .a "A"}}"#,
            &p
        ),
        "any true false"
    );
    assert_eq!(
        ok(r#"{{and .a .e}}|{{or .e .a}}|{{not .e}}|{{and 1 2}}"#, &p),
        "|A|true|2"
    );
    assert_eq!(ok(r#"{{len .a}} {{len "héllo"}}"#, &p), "1 6");
    assert_eq!(
        ok(r#"{{print 1 2 "x" 3}}|{{println .a 1}}|"#, &p),
        "1 2x3|A 1\n|"
    );
    assert_eq!(
        ok(r#"{{html "<a href='x'>&\"</a>"}}"#, &p),
        "&lt;a href=&#39;x&#39;&gt;&amp;&#34;&lt;/a&gt;"
    );
    assert_eq!(
        ok(r#"{{js "it's <b> \"q\" a=b\\ \n"}}"#, &p),
        r#"it\'s \u003Cb\u003E \"q\" a\u003Db\\ \u000A"#
    );
    assert_eq!(
        ok(r#"{{urlquery "a b&c=d/é"}}"#, &p),
        "a+b%26c%3Dd%2F%C3%A9"
    );
    assert_eq!(
        ok(
            r#"{{index "abc" 1}} {{slice "abcdef" 1 3}} {{slice "abc" 1}}"#,
            &p
        ),
        "98 bc bc"
    );
    assert_eq!(
        ok(
            "{{with .a}}[{{.}}]{{end}}{{with .e}}no{{else}}empty{{end}}",
            &p
        ),
        "[A]empty"
    );
    assert_eq!(ok("{{if .e}}1{{else if .a}}2{{else}}3{{end}}", &p), "2");
    assert_eq!(
        ok(
            r#"{{define "t"}}<{{.}}>{{end}}{{template "t" .a}}{{block "b" .n}}({{.}}){{end}}"#,
            &p
        ),
        "<A>(3)"
    );
    assert_eq!(ok("a  {{- .a -}}  b {{- /* comment */ -}} c", &p), "aAbc");
    assert_eq!(ok("a {{/* multi\nline */}} b", &p), "a  b");
    assert_eq!(ok("{{- .a }}\n", &p), "A\n");
    let e = err(r#"{{base64 1}}"#, &p);
    assert!(e.problem().contains("expected string; found 1"), "{e}");
    let e = err(r#"{{base64 (len "ab")}}"#, &p);
    assert!(
        e.problem()
            .contains("wrong type for value; expected string; got int"),
        "{e}"
    );
    let e = err(r#"{{eq .a 1}}"#, &p);
    assert!(
        e.problem().contains("incompatible types for comparison"),
        "{e}"
    );
    let e = err("x\n{{index \"abc\" 7}}", &p);
    assert!(e.problem().contains("index out of range: 7"), "{e}");
    assert_eq!(e.line(), Some(2));
}

#[test]
fn text_without_actions_is_returned_byte_identical() {
    let text = "{\n  \"a\": \"}} <no value> { {x} } $.b \\u00e9 \u{a0}\t\r\n\"\n}";
    let env = FakeEnv::new();
    assert_eq!(
        render("c.json", text, &BTreeMap::new(), &env).unwrap(),
        text
    );
    assert!(env.asked.borrow().is_empty());
    assert_eq!(render("c.json", "", &BTreeMap::new(), &env).unwrap(), "");
}

#[test]
fn realistic_playbook_renders() {
    // Excerpts of real configs 06 (event recovery, vars) and 10 (RDB shredder, functions).
    let text = r#"{
  "schema": "iglu:com.snowplowanalytics.dataflowrunner/PlaybookConfig/avro/1-0-1",
  "data": {
    "region": "{{ .region }}",
    "credentials": {
      "accessKeyId": "env",
      "secretAccessKey": "env"
    },
    "steps": [
      {
        "type": "CUSTOM_JAR",
        "name": "Fetch jar",
        "actionOnFailure": "CANCEL_AND_WAIT",
        "jar": "command-runner.jar",
        "arguments": [
          "bash",
          "-c",
          "aws s3 cp s3://{{ .bucket }}/3-enrich/snowplow-event-recovery/snowplow-event-recovery-spark-{{ .version }}.jar /home/hadoop/event-recovery.jar"
        ]
      },
      {
        "type": "CUSTOM_JAR",
        "name": "snowplow-event-recovery",
        "actionOnFailure": "CANCEL_AND_WAIT",
        "jar": "command-runner.jar",
        "arguments": [
          "--input",
          "s3://{{ .bucket }}{{ .inputdir }}",
          "--region",
          "{{ .region}}",
          "--resolver",
          "{{ .resolver }}",
          "customer:{{ .client }};job:recovery"
        ]
      },
      {
        "type": "CUSTOM_JAR",
        "name": "S3DistCp enriched data archiving",
        "actionOnFailure": "CANCEL_AND_WAIT",
        "jar": "/usr/share/aws/emr/s3-dist-cp/lib/s3-dist-cp.jar",
        "arguments": [
            "--src", "s3://com-acme/enriched/sink/",
            "--dest", "s3://com-acme/enriched/archive/run={{nowWithFormat "2006-01-02-15-04-05"}}/",
            "--iglu-config", "{{base64File "/home/snowplow/configs/snowplow/iglu_resolver.json"}}",
            "--config", "{{base64File "/home/snowplow/configs/snowplow/config.hocon"}}"
        ]
      }
    ],
    "tags": [
      {
        "key": "client",
        "value": "{{ .client }}"
      }
    ]
  }
}
"#;
    let expected = r#"{
  "schema": "iglu:com.snowplowanalytics.dataflowrunner/PlaybookConfig/avro/1-0-1",
  "data": {
    "region": "eu-west-1",
    "credentials": {
      "accessKeyId": "env",
      "secretAccessKey": "env"
    },
    "steps": [
      {
        "type": "CUSTOM_JAR",
        "name": "Fetch jar",
        "actionOnFailure": "CANCEL_AND_WAIT",
        "jar": "command-runner.jar",
        "arguments": [
          "bash",
          "-c",
          "aws s3 cp s3://acme-recovery/3-enrich/snowplow-event-recovery/snowplow-event-recovery-spark-0.2.0.jar /home/hadoop/event-recovery.jar"
        ]
      },
      {
        "type": "CUSTOM_JAR",
        "name": "snowplow-event-recovery",
        "actionOnFailure": "CANCEL_AND_WAIT",
        "jar": "command-runner.jar",
        "arguments": [
          "--input",
          "s3://acme-recovery/raw/2017-05-24",
          "--region",
          "eu-west-1",
          "--resolver",
          "eyJzY2hlbWEiOiAiaWdsdSJ9",
          "customer:acme;job:recovery"
        ]
      },
      {
        "type": "CUSTOM_JAR",
        "name": "S3DistCp enriched data archiving",
        "actionOnFailure": "CANCEL_AND_WAIT",
        "jar": "/usr/share/aws/emr/s3-dist-cp/lib/s3-dist-cp.jar",
        "arguments": [
            "--src", "s3://com-acme/enriched/sink/",
            "--dest", "s3://com-acme/enriched/archive/run=2017-05-24-10-33-44/",
            "--iglu-config", "eyJyZXNvbHZlciI6IHRydWV9",
            "--config", "c2hyZWRkZXIgewogIGE6IDEKfQo="
        ]
      }
    ],
    "tags": [
      {
        "key": "client",
        "value": "acme"
      }
    ]
  }
}
"#;
    let env = FakeEnv::new()
        .with_file(
            "/home/snowplow/configs/snowplow/iglu_resolver.json",
            br#"{"resolver": true}"#,
        )
        .with_file(
            "/home/snowplow/configs/snowplow/config.hocon",
            b"shredder {\n  a: 1\n}\n",
        );
    let pairs = vars(&[
        ("region", "eu-west-1"),
        ("bucket", "acme-recovery"),
        ("version", "0.2.0"),
        ("inputdir", "/raw/2017-05-24"),
        ("resolver", "eyJzY2hlbWEiOiAiaWdsdSJ9"),
        ("client", "acme"),
        ("unused", "fine"),
    ]);
    assert_eq!(
        render("playbook.json", text, &pairs, &env).unwrap(),
        expected
    );

    // Without --vars the first evaluated variable is reported where it is.
    let e = render("playbook.json", text, &BTreeMap::new(), &env).unwrap_err();
    assert_eq!(
        *e.kind(),
        TemplateErrorKind::MissingVariable {
            name: "region".into()
        }
    );
    assert_eq!((e.line(), e.column()), (Some(4), Some(18)));
    assert_eq!(
        e.to_string(),
        r#"playbook.json:4: map has no entry for key "region" (pass it with --vars region,VALUE (or --vars-file, or the execution input's "vars"))"#
    );
}

#[test]
fn parse_vars_pairs() {
    assert_eq!(parse_vars("").unwrap(), BTreeMap::new());
    assert_eq!(
        parse_vars("k1,v1,k2,v2").unwrap(),
        vars(&[("k1", "v1"), ("k2", "v2")])
    );
    assert_eq!(parse_vars("k,1,k,2").unwrap(), vars(&[("k", "2")]));
    assert_eq!(
        parse_vars("k, v with space").unwrap(),
        vars(&[("k", " v with space")])
    );
    assert_eq!(parse_vars("k,").unwrap(), vars(&[("k", "")]));
    let e = parse_vars("k1,v1,k2").unwrap_err();
    assert_eq!(
        e.to_string(),
        "--vars must have an even number of keys and values"
    );
    assert_eq!(*e.kind(), TemplateErrorKind::InvalidVars { count: 3 });
    assert!(parse_vars("k").is_err());
}
