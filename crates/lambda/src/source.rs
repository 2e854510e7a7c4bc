//! Configs as an execution carries them: an inline object, the raw (template) text of a file, or an `s3://` URI.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, FixedOffset, Utc};
use dfr_core::load::{self, Loaded};
use dfr_core::model::{ClusterConfig, PlaybookConfig};
use dfr_core::template::TemplateEnv;
use serde::Deserialize;
use serde_json::Value;

use crate::error::Error;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum ConfigInput {
    Inline(serde_json::Map<String, Value>),
    Text(String),
}

/// Where `s3://` configs are read from.
#[allow(async_fn_in_trait)]
pub trait ObjectStore {
    async fn get_text(&self, bucket: &str, key: &str) -> Result<String, Error>;
}

/// Splits `s3://bucket/key`.
pub fn parse_s3_uri(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("s3://")?;
    let (bucket, key) = rest.split_once('/')?;
    (!bucket.is_empty() && !key.is_empty()).then_some((bucket, key))
}

/// The config's text and the name its diagnostics carry.
async fn text_of(
    label: &str,
    input: &ConfigInput,
    store: &impl ObjectStore,
) -> Result<(String, String), Error> {
    match input {
        ConfigInput::Inline(map) => Ok((
            format!("execution input {label}"),
            serde_json::to_string_pretty(map).map_err(|e| Error::Internal(e.to_string()))?,
        )),
        ConfigInput::Text(s) if s.trim_start().starts_with("s3://") => {
            let uri = s.trim();
            let (bucket, key) = parse_s3_uri(uri).ok_or_else(|| {
                Error::InvalidConfig(format!("{label}: \"{uri}\" is not an s3://bucket/key URI"))
            })?;
            Ok((uri.to_string(), store.get_text(bucket, key).await?))
        }
        ConfigInput::Text(s) => Ok((format!("execution input {label}"), s.clone())),
    }
}

pub async fn load_cluster(
    input: &ConfigInput,
    vars: &BTreeMap<String, String>,
    store: &impl ObjectStore,
    env: &dyn TemplateEnv,
) -> Result<Loaded<ClusterConfig>, Error> {
    let (name, text) = text_of("$.cluster", input, store).await?;
    Ok(load::load_cluster(&name, &text, vars, env)?)
}

pub async fn load_playbook(
    input: &ConfigInput,
    vars: &BTreeMap<String, String>,
    store: &impl ObjectStore,
    env: &dyn TemplateEnv,
) -> Result<Loaded<PlaybookConfig>, Error> {
    let (name, text) = text_of("$.playbook", input, store).await?;
    Ok(load::load_playbook(&name, &text, vars, env)?)
}

/// What `base64File` reads in a Lambda, which has no files of the user's: the execution input's `files`, path as
/// written in the config → the file's text, or an `s3://` URI to read it from. So a config that uses `base64File`
/// works unchanged; the rest (clock, environment variables) comes from the process.
pub struct FilesEnv<'a> {
    base: &'a dyn TemplateEnv,
    files: HashMap<String, Vec<u8>>,
}

impl<'a> FilesEnv<'a> {
    /// Reads every `s3://` file once, before rendering.
    pub async fn load(
        base: &'a dyn TemplateEnv,
        files: &BTreeMap<String, String>,
        store: &impl ObjectStore,
    ) -> Result<FilesEnv<'a>, Error> {
        let mut loaded = HashMap::new();
        for (path, source) in files {
            let bytes = match source.trim().strip_prefix("s3://") {
                Some(_) => {
                    let uri = source.trim();
                    let (bucket, key) = parse_s3_uri(uri).ok_or_else(|| {
                        Error::InvalidConfig(format!(
                            "files[\"{path}\"]: \"{uri}\" is not an s3://bucket/key URI"
                        ))
                    })?;
                    store.get_text(bucket, key).await?.into_bytes()
                }
                None => source.clone().into_bytes(),
            };
            loaded.insert(path.clone(), bytes);
        }
        Ok(FilesEnv {
            base,
            files: loaded,
        })
    }
}

impl TemplateEnv for FilesEnv<'_> {
    fn now(&self) -> DateTime<FixedOffset> {
        self.base.now()
    }

    fn env_var(&self, name: &str) -> Option<String> {
        self.base.env_var(name)
    }

    fn read_file(&self, path: &str) -> std::io::Result<Vec<u8>> {
        self.files.get(path).cloned().ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!(
                    "not in the execution input's \"files\" (a Lambda has no files of yours): add \"files\": {{\"{path}\": \"s3://bucket/key\"}}"
                ),
            )
        })
    }

    fn local_offset(&self, instant: DateTime<Utc>) -> FixedOffset {
        self.base.local_offset(instant)
    }
}

/// S3 through the SDK.
#[derive(Clone, Debug)]
pub struct SdkS3 {
    pub client: aws_sdk_s3::Client,
}

impl ObjectStore for SdkS3 {
    async fn get_text(&self, bucket: &str, key: &str) -> Result<String, Error> {
        let uri = format!("s3://{bucket}/{key}");
        let resp = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| {
                let err = Error::from_sdk("GetObject", e);
                match err {
                    Error::EmrRejected(m) | Error::ConfigNotFound(m) => {
                        Error::ConfigNotFound(format!("{uri}: {m}"))
                    }
                    Error::AccessDenied(m) => {
                        Error::ConfigNotFound(format!("{uri}: {m} (grant s3:GetObject on it)"))
                    }
                    other => other,
                }
            })?;
        let bytes = resp
            .body
            .collect()
            .await
            .map_err(|e| Error::EmrUnavailable(format!("{uri}: {e}")))?
            .into_bytes();
        String::from_utf8(bytes.to_vec())
            .map_err(|_| Error::InvalidConfig(format!("{uri}: not UTF-8 text")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_uris_split_into_bucket_and_key() {
        assert_eq!(parse_s3_uri("s3://b/k/x.json"), Some(("b", "k/x.json")));
        assert_eq!(parse_s3_uri("s3://b/"), None);
        assert_eq!(parse_s3_uri("https://b/k"), None);
    }

    #[tokio::test]
    async fn base64_file_reads_the_execution_input_files() {
        struct OneObject;
        impl ObjectStore for OneObject {
            async fn get_text(&self, bucket: &str, key: &str) -> Result<String, Error> {
                assert_eq!((bucket, key), ("configs", "iglu_resolver.json"));
                Ok("{\"from\":\"s3\"}".into())
            }
        }
        let files: BTreeMap<String, String> = [
            (
                "/home/snowplow/iglu_resolver.json".to_string(),
                "s3://configs/iglu_resolver.json".to_string(),
            ),
            ("./config.hocon".to_string(), "a = 1".to_string()),
        ]
        .into();
        let env = FilesEnv::load(&dfr_core::template::ProcessEnv, &files, &OneObject)
            .await
            .unwrap();
        assert_eq!(
            env.read_file("/home/snowplow/iglu_resolver.json").unwrap(),
            b"{\"from\":\"s3\"}"
        );
        assert_eq!(env.read_file("./config.hocon").unwrap(), b"a = 1");
        let missing = env.read_file("/etc/other.json").unwrap_err().to_string();
        assert!(
            missing.contains("\"files\": {\"/etc/other.json\": \"s3://bucket/key\"}"),
            "{missing}"
        );
    }
}
