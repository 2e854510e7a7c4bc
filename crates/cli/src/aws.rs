//! Where the CLI's AWS credentials, region and endpoints come from: the AWS SDK's default chain, as the AWS CLI
//! reads it, for every client the CLI makes (Step Functions, S3, DynamoDB). In order: the `AWS_*` environment
//! variables; the profile (`--profile`, else `AWS_PROFILE`, else `default`) of `~/.aws/config` and
//! `~/.aws/credentials` with any of its sources: static keys, IAM Identity Center (`sso_session` / `sso_start_url`,
//! after `aws sso login`), `credential_process`, `aws login`, `role_arn` with `source_profile` or
//! `credential_source`, web identity (`AWS_WEB_IDENTITY_TOKEN_FILE`); then ECS and EC2 instance roles.
//! `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` point a client elsewhere (the local stack's tests do).
//!
//! The SDK cannot prompt for an MFA code: a profile whose role needs one (`mfa_serial`) works through
//! `credential_process` (README, "Credentials").

use std::sync::OnceLock;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};

static PROFILE: OnceLock<String> = OnceLock::new();

/// Use this named profile instead of `AWS_PROFILE` / `default` (the `--profile` flag). Set once, before any client.
pub fn use_profile(name: String) {
    // A second call would mean two flags for one process; the first wins, as clap allows one `--profile`.
    let _ = PROFILE.set(name);
}

/// The SDK configuration every client of the CLI is built from.
pub async fn sdk_config() -> SdkConfig {
    let loader = aws_config::defaults(BehaviorVersion::latest());
    match PROFILE.get() {
        Some(name) => loader.profile_name(name).load().await,
        None => loader.load().await,
    }
}

/// The SDK configuration with the credentials its chain gives now, fixed (the chain is asked once, however many
/// clients are made), or why there are none and how to sign in: for a command whose AWS calls are optional, which
/// says so in one line instead of failing each call.
pub async fn signed_in_config() -> Result<SdkConfig, String> {
    let config = sdk_config().await;
    let provider = config
        .credentials_provider()
        .ok_or_else(|| crate::stack::no_credentials("no credential provider is configured"))?;
    let credentials = provider.provide_credentials().await.map_err(|e| {
        let why = crate::stack::credentials_problem(&e).unwrap_or_else(|| e.to_string());
        crate::stack::no_credentials(&why)
    })?;
    Ok(config
        .into_builder()
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .build())
}
