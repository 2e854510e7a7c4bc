//! Configs as an execution carries them: an inline object, the raw (template) text of a file, or an `s3://` URI.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, FixedOffset, Utc};
use dfr_core::load::{self, Loaded};
use dfr_core::model::{ClusterConfig, PlaybookConfig};
use dfr_core::serverless::ServerlessConfig;
use gotemplate::{Clock, TemplateEnv};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;

/// A config in an event: an inline object, the raw (template) text of a config file, or an `s3://` URI.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ConfigInput {
    Inline(serde_json::Map<String, Value>),
    Text(String),
}

impl<'de> Deserialize<'de> for ConfigInput {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Object(map) => Ok(Self::Inline(map)),
            Value::String(text) => Ok(Self::Text(text)),
            other => Err(serde::de::Error::custom(format!(
                "a config is an object {{\"schema\": \"iglu:…\", \"data\": {{…}}}}, the text of a config file, or \
                 an s3://bucket/key URI of one; found {}",
                match other {
                    Value::Null => "null",
                    Value::Bool(_) => "true or false",
                    Value::Number(_) => "a number",
                    _ => "an array",
                }
            ))),
        }
    }
}

/// Where `s3://` configs and files are read from. An object is bytes: a config must then be UTF-8 text (checked
/// here, naming the object), a file read with `base64File` may be anything.
#[allow(async_fn_in_trait)]
pub trait ObjectStore {
    /// The object's bytes; an object larger than [`load::MAX_CONFIG_BYTES`] may be refused without reading it all.
    async fn get_bytes(&self, bucket: &str, key: &str) -> Result<Vec<u8>, Error>;
}

/// Splits `s3://bucket/key`.
pub fn parse_s3_uri(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("s3://")?;
    let (bucket, key) = rest.split_once('/')?;
    (!bucket.is_empty() && !key.is_empty()).then_some((bucket, key))
}

/// The name a config's diagnostics carry: its `s3://` URI, or where it is in the execution input (`label`).
pub fn name_of(label: &str, input: &ConfigInput) -> String {
    match input {
        ConfigInput::Text(s) if s.trim_start().starts_with("s3://") => s.trim().to_string(),
        _ => format!("execution input {label}"),
    }
}

/// The config's text and the name its diagnostics carry.
async fn text_of(
    label: &str,
    input: &ConfigInput,
    store: &impl ObjectStore,
) -> Result<(String, String), Error> {
    match input {
        ConfigInput::Inline(map) => Ok((
            name_of(label, input),
            serde_json::to_string_pretty(map).map_err(|e| Error::Internal(e.to_string()))?,
        )),
        ConfigInput::Text(s) if s.trim_start().starts_with("s3://") => {
            let uri = s.trim();
            let (bucket, key) = parse_s3_uri(uri).ok_or_else(|| {
                Error::InvalidConfig(format!("{label}: \"{uri}\" is not an s3://bucket/key URI"))
            })?;
            let text = load::text_from_bytes(uri, store.get_bytes(bucket, key).await?)?;
            Ok((uri.to_string(), text))
        }
        ConfigInput::Text(s) => Ok((name_of(label, input), s.clone())),
    }
}

/// The ServerlessConfig of `$.cluster` (a ClusterConfig there is refused: a serverless run takes a ServerlessConfig).
pub async fn load_serverless(
    input: &ConfigInput,
    vars: &BTreeMap<String, String>,
    store: &impl ObjectStore,
    env: &mut ExecutionEnv<'_>,
    rendered: bool,
) -> Result<Loaded<ServerlessConfig>, Error> {
    let (name, text) = text_of("$.cluster", input, store).await?;
    if rendered {
        return Ok(load::serverless_from_text(&name, &text)?);
    }
    let place = env
        .load(store, |env| {
            Ok(load::load_run_place(&name, &text, vars, env)?)
        })
        .await?;
    match place {
        load::RunPlace::Serverless(c) => Ok(*c),
        load::RunPlace::Cluster(c) => Err(Error::InvalidConfig(format!(
            "$.cluster: {name} is a ClusterConfig ({}); a run on EMR Serverless takes a ServerlessConfig \
             (iglu:com.dataflowrunner.serverless/ServerlessConfig/jsonschema/1-0-0), or leave out \"target\": \
             \"serverless\" to launch an EMR cluster",
            c.schema.uri
        ))),
    }
}

pub async fn load_cluster(
    input: &ConfigInput,
    vars: &BTreeMap<String, String>,
    store: &impl ObjectStore,
    env: &mut ExecutionEnv<'_>,
    rendered: bool,
) -> Result<Loaded<ClusterConfig>, Error> {
    let (name, text) = text_of("$.cluster", input, store).await?;
    if rendered {
        return Ok(load::cluster_from_text(&name, &text)?);
    }
    env.load(store, |env| {
        Ok(load::load_cluster(&name, &text, vars, env)?)
    })
    .await
}

pub async fn load_playbook(
    input: &ConfigInput,
    vars: &BTreeMap<String, String>,
    store: &impl ObjectStore,
    env: &mut ExecutionEnv<'_>,
    rendered: bool,
) -> Result<Loaded<PlaybookConfig>, Error> {
    let (name, text) = text_of("$.playbook", input, store).await?;
    if rendered {
        return Ok(load::playbook_from_text(&name, &text)?);
    }
    env.load(store, |env| {
        Ok(load::load_playbook(&name, &text, vars, env)?)
    })
    .await
}

/// Names `systemEnv` never reads in a Lambda (compared case-insensitively): the runtime's credentials and settings.
pub const REFUSED_ENV_PREFIX: &str = "AWS_";

/// Whether `name` starts with [`REFUSED_ENV_PREFIX`], in any case. By characters: a name is the user's text, and the
/// prefix's length in bytes may end inside one of its characters (`Aé€`).
fn refused_env_name(name: &str) -> bool {
    name.get(..REFUSED_ENV_PREFIX.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(REFUSED_ENV_PREFIX))
}

/// Refuses an execution input whose `env` names a reserved variable, before anything else happens.
pub fn check_env(env: &BTreeMap<String, String>) -> Result<(), Error> {
    let refused: Vec<&str> = env
        .keys()
        .filter(|k| refused_env_name(k))
        .map(String::as_str)
        .collect();
    if refused.is_empty() {
        return Ok(());
    }
    Err(Error::InvalidConfig(format!(
        "$.env: {} may not be set: names starting with {REFUSED_ENV_PREFIX} are reserved for the runtime \
         (the functions' credentials and settings); rename them and use the new names in systemEnv",
        refused.join(", ")
    )))
}

/// Refuses an execution input whose configs would leave no room for the run's status in the state data.
fn check_input(parts: &[(&str, usize)]) -> Result<(), Error> {
    let total: usize = parts.iter().map(|(_, n)| n).sum();
    if total <= crate::payload::INPUT_BUDGET {
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
        crate::payload::INPUT_BUDGET / 1024,
        crate::payload::STATE_LIMIT / 1024,
    )))
}

/// Checks what an event gives the configs (their sizes within the run's budget, no reserved `env` names) and makes
/// the environment they render in. `configs`: each config's name and serialized size.
pub fn prepare<'a>(
    clock: &'a dyn Clock,
    configs: &[(&str, usize)],
    vars: &BTreeMap<String, String>,
    files: &'a BTreeMap<String, String>,
    env: &'a BTreeMap<String, String>,
) -> Result<ExecutionEnv<'a>, Error> {
    use crate::payload::size_of;
    let mut parts = configs.to_vec();
    parts.extend([
        ("vars", size_of(vars)),
        ("files", size_of(files)),
        ("env", size_of(env)),
    ]);
    check_input(&parts)?;
    check_env(env)?;
    Ok(ExecutionEnv::new(clock, env, files))
}

/// What the templates read in a Lambda, which has no environment or files of the user's: `systemEnv` reads the
/// execution input's `env` (never the function's own environment, which holds its credentials), `base64File` reads
/// its `files` (path as written in the config → the file's text, or an `s3://` URI), and the clock is the one given:
/// a [`Clock`], nothing else of the machine.
/// An `s3://` file is fetched only when a config reads it.
pub struct ExecutionEnv<'a> {
    clock: &'a dyn Clock,
    env: &'a BTreeMap<String, String>,
    files: &'a BTreeMap<String, String>,
    fetched: HashMap<String, Vec<u8>>,
    /// `s3://` files a render asked for before they were fetched.
    wanted: RefCell<BTreeSet<String>>,
}

impl<'a> ExecutionEnv<'a> {
    pub fn new(
        clock: &'a dyn Clock,
        env: &'a BTreeMap<String, String>,
        files: &'a BTreeMap<String, String>,
    ) -> Self {
        Self {
            clock,
            env,
            files,
            fetched: HashMap::new(),
            wanted: RefCell::default(),
        }
    }

    /// Fetches the `s3://` files the last render asked for; false when there were none (the render was final).
    async fn fetch_wanted(&mut self, store: &impl ObjectStore) -> Result<bool, Error> {
        let wanted = std::mem::take(&mut *self.wanted.borrow_mut());
        if wanted.is_empty() {
            return Ok(false);
        }
        for path in wanted {
            let uri = self.files[&path].trim();
            let (bucket, key) = parse_s3_uri(uri).ok_or_else(|| {
                Error::InvalidConfig(format!(
                    "$.files[\"{path}\"]: \"{uri}\" is not an s3://bucket/key URI"
                ))
            })?;
            let bytes = store.get_bytes(bucket, key).await?;
            self.fetched.insert(path, bytes);
        }
        Ok(true)
    }

    /// Renders and validates with `load` until every `s3://` file it reads has been fetched (a file read only under
    /// a condition that depends on another file's content takes one more round).
    pub async fn load<T>(
        &mut self,
        store: &impl ObjectStore,
        mut load: impl FnMut(&Self) -> Result<T, Error>,
    ) -> Result<T, Error> {
        loop {
            let result = load(self);
            if !self.fetch_wanted(store).await? {
                return result;
            }
        }
    }
}

impl TemplateEnv for ExecutionEnv<'_> {
    fn now(&self) -> DateTime<FixedOffset> {
        self.clock.now()
    }

    fn env_var(&self, name: &str) -> Option<String> {
        self.env.get(name).cloned()
    }

    fn refuse_env_var(&self, name: &str) -> Option<String> {
        refused_env_name(name).then(|| {
            format!(
                "in the Lambdas, systemEnv reads the execution input's \"env\", and names starting with \
                 {REFUSED_ENV_PREFIX} are refused (the functions' credentials are never readable); pass the value \
                 under another name in \"env\", or render the config where it is yours (the dataflow-runner CLI)"
            )
        })
    }

    fn read_file(&self, path: &str) -> std::io::Result<Vec<u8>> {
        let Some(source) = self.files.get(path) else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!(
                    "not in the execution input's \"files\" (a Lambda has no files of yours): add \"files\": {{\"{path}\": \"s3://bucket/key\"}}"
                ),
            ));
        };
        if !source.trim_start().starts_with("s3://") {
            return Ok(source.clone().into_bytes());
        }
        match self.fetched.get(path) {
            Some(bytes) => Ok(bytes.clone()),
            None => {
                // Rendered with empty content this once; the caller fetches it and renders again.
                self.wanted.borrow_mut().insert(path.to_string());
                Ok(Vec::new())
            }
        }
    }

    fn local_offset(&self, instant: DateTime<Utc>) -> FixedOffset {
        self.clock.local_offset(instant)
    }
}

/// The one bucket (and key prefix) the functions may read configs and files from: the stack's `ConfigBucket` and
/// `ConfigPrefix`, given to the functions as `DFR_CONFIG_BUCKET` and `DFR_CONFIG_PREFIX`. Anything else is refused
/// with a clear error before S3 is asked (IAM would refuse it too, as AccessDenied).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S3Scope {
    pub bucket: Option<String>,
    pub prefix: String,
}

impl S3Scope {
    pub fn from_process_env() -> Self {
        let bucket = std::env::var("DFR_CONFIG_BUCKET")
            .ok()
            .filter(|b| !b.is_empty());
        let prefix = std::env::var("DFR_CONFIG_PREFIX").unwrap_or_default();
        Self { bucket, prefix }
    }

    pub fn check(&self, bucket: &str, key: &str) -> Result<(), Error> {
        let uri = format!("s3://{bucket}/{key}");
        match &self.bucket {
            None => Err(Error::InvalidConfig(format!(
                "{uri}: this stack reads no configs from S3 (its ConfigBucket parameter is empty); pass the config \
                 inline in the execution input, or deploy with ConfigBucket set"
            ))),
            Some(b) if b != bucket || !key.starts_with(&self.prefix) => {
                Err(Error::InvalidConfig(format!(
                    "{uri}: outside this stack's config location s3://{b}/{}; put the file there",
                    self.prefix
                )))
            }
            Some(_) => Ok(()),
        }
    }
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
    fn s3_uris_split_into_bucket_and_key() {
        assert_eq!(parse_s3_uri("s3://b/k/x.json"), Some(("b", "k/x.json")));
        assert_eq!(parse_s3_uri("s3://b/"), None);
        assert_eq!(parse_s3_uri("https://b/k"), None);
    }

    /// Serves one object and counts the reads.
    struct OneObject(std::sync::atomic::AtomicUsize);
    impl ObjectStore for OneObject {
        async fn get_bytes(&self, bucket: &str, key: &str) -> Result<Vec<u8>, Error> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            assert_eq!((bucket, key), ("configs", "iglu_resolver.json"));
            Ok(b"{\"from\":\"s3\"}".to_vec())
        }
    }

    fn playbook_reading(path: &str) -> ConfigInput {
        ConfigInput::Text(format!(
            r#"{{"schema": "iglu:com.snowplowanalytics.dataflowrunner/PlaybookConfig/avro/1-0-1",
               "data": {{"region": "eu-west-1", "credentials": {{"accessKeyId": "env", "secretAccessKey": "env"}},
               "steps": [{{"type": "CUSTOM_JAR", "name": "s", "actionOnFailure": "CONTINUE", "jar": "j.jar",
                          "arguments": ["{{{{base64File "{path}"}}}}", "{{{{systemEnv "OWNER"}}}}"]}}]}}}}"#
        ))
    }

    #[tokio::test]
    async fn when_a_config_reads_files_should_fetch_only_those_it_reads() {
        let files: BTreeMap<String, String> = [
            (
                "/home/snowplow/iglu_resolver.json".to_string(),
                "s3://configs/iglu_resolver.json".to_string(),
            ),
            (
                "/unused.json".to_string(),
                "s3://configs/never-read.json".to_string(),
            ),
            ("./config.hocon".to_string(), "a = 1".to_string()),
        ]
        .into();
        let env_vars: BTreeMap<String, String> =
            [("OWNER".to_string(), "data-team".to_string())].into();
        let store = OneObject(Default::default());
        let mut env = ExecutionEnv::new(&gotemplate::SystemClock, &env_vars, &files);
        let loaded = load_playbook(
            &playbook_reading("/home/snowplow/iglu_resolver.json"),
            &BTreeMap::new(),
            &store,
            &mut env,
            false,
        )
        .await
        .unwrap();
        assert_eq!(
            loaded.config.steps[0].arguments,
            Some(vec![
                "eyJmcm9tIjoiczMifQ==".to_string(),
                "data-team".to_string()
            ])
        );
        assert_eq!(
            store.0.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "only the file read is fetched"
        );
        assert_eq!(env.read_file("./config.hocon").unwrap(), b"a = 1");
        let missing = env.read_file("/etc/other.json").unwrap_err().to_string();
        assert!(
            missing.contains("\"files\": {\"/etc/other.json\": \"s3://bucket/key\"}"),
            "{missing}"
        );
    }

    #[tokio::test]
    async fn when_the_configs_were_rendered_already_should_validate_without_rendering_again() {
        let (env_vars, files) = (BTreeMap::new(), BTreeMap::new());
        let mut env = ExecutionEnv::new(&gotemplate::SystemClock, &env_vars, &files);
        // What the CLI sends for `{{"{{nowWithFormat \"2006\"}}"}}`: the rendered text, holding `{{`.
        let rendered = ConfigInput::Text(
            r#"{"schema": "iglu:com.snowplowanalytics.dataflowrunner/PlaybookConfig/avro/1-0-1",
               "data": {"region": "eu-west-1", "credentials": {"accessKeyId": "env", "secretAccessKey": "env"},
               "steps": [{"type": "CUSTOM_JAR", "name": "s", "actionOnFailure": "CONTINUE", "jar": "j.jar",
                          "arguments": ["{{nowWithFormat \"2006\"}}"]}]}}"#
                .into(),
        );
        let store = OneObject(Default::default());
        let loaded = load_playbook(&rendered, &BTreeMap::new(), &store, &mut env, true)
            .await
            .unwrap();
        assert_eq!(
            loaded.config.steps[0].arguments,
            Some(vec!["{{nowWithFormat \"2006\"}}".to_string()])
        );
        // The same text as a template fails: it would have been rendered a second time.
        assert!(
            load_playbook(&rendered, &BTreeMap::new(), &store, &mut env, false)
                .await
                .is_err()
        );
    }

    #[test]
    fn when_system_env_asks_for_the_functions_own_variables_should_refuse() {
        let (env_vars, files) = (BTreeMap::new(), BTreeMap::new());
        let env = ExecutionEnv::new(&gotemplate::SystemClock, &env_vars, &files);
        for name in ["AWS_SECRET_ACCESS_KEY", "aws_session_token", "Aws_Region"] {
            assert!(env.refuse_env_var(name).is_some(), "{name}");
        }
        assert!(env.refuse_env_var("AWSOME").is_none());
        assert_eq!(
            env.env_var("PATH"),
            None,
            "the process environment is never read"
        );
        let bad: BTreeMap<String, String> = [("AWS_PROFILE".to_string(), "x".to_string())].into();
        let err = check_env(&bad).unwrap_err().to_string();
        assert!(
            err.contains("$.env") && err.contains("AWS_PROFILE"),
            "{err}"
        );
        assert!(check_env(&[("OWNER".to_string(), "x".to_string())].into()).is_ok());
    }

    #[test]
    fn when_an_s3_uri_is_outside_the_stacks_config_location_should_refuse_it() {
        let scope = S3Scope {
            bucket: Some("configs".into()),
            prefix: "dfr/".into(),
        };
        assert!(scope.check("configs", "dfr/cluster.json").is_ok());
        for (bucket, key) in [
            ("other", "dfr/cluster.json"),
            ("configs", "secret/x"),
            ("configs", "df"),
        ] {
            let err = scope.check(bucket, key).unwrap_err();
            assert_eq!(err.name(), "InvalidConfig");
            assert!(err.to_string().contains("s3://configs/dfr/"), "{err}");
        }
        assert!(S3Scope::default().check("configs", "dfr/x").is_err());
    }
}
