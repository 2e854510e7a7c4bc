//! The object store of configs and files ([`crate::source::ObjectStore`]) over `aws-sdk-s3`, within the stack's
//! config location ([`crate::source::S3Scope`]).

use dfr_core::load;

use crate::error::Error;
use crate::source::{ObjectStore, S3Scope};

/// S3 through the SDK.
#[derive(Clone, Debug)]
pub struct SdkS3 {
    pub client: aws_sdk_s3::Client,
    pub scope: S3Scope,
}

impl ObjectStore for SdkS3 {
    async fn get_bytes(&self, bucket: &str, key: &str) -> Result<Vec<u8>, Error> {
        self.scope.check(bucket, key)?;
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
        // Read no more than a config may hold: a larger object is refused, not downloaded.
        let too_large = |size: u64| {
            Error::InvalidConfig(format!(
                "{uri}: the object is {size} bytes: too large (a config or a file it reads is at most {} bytes)",
                load::MAX_CONFIG_BYTES
            ))
        };
        let limit = load::MAX_CONFIG_BYTES as u64;
        if let Some(size) = resp.content_length().and_then(|n| u64::try_from(n).ok()) {
            if size > limit {
                return Err(too_large(size));
            }
        }
        let mut body = resp.body;
        let mut bytes = Vec::new();
        while let Some(chunk) = body
            .try_next()
            .await
            .map_err(|e| Error::EmrUnavailable(format!("{uri}: {e}")))?
        {
            bytes.extend_from_slice(&chunk);
            if bytes.len() as u64 > limit {
                return Err(too_large(bytes.len() as u64));
            }
        }
        Ok(bytes)
    }
}
