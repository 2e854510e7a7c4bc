//! Configs as an execution carries them: an inline object, the raw (template) text of a file, or an `s3://` URI.

use std::collections::BTreeMap;

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
}
