//! The config model: one set of types for every accepted schema version.
//!
//! Older versions are subsets of the newest, so a file of any version deserializes into these types once its
//! own JSON Schema has accepted it (see `schema`). `null` and absent mean the same thing everywhere.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterConfig {
    pub name: String,
    pub log_uri: Option<String>,
    pub region: Option<String>,
    pub credentials: Option<Credentials>,
    pub roles: Roles,
    pub ec2: Ec2,
    pub tags: Option<Vec<Tag>>,
    pub bootstrap_action_configs: Option<Vec<BootstrapAction>>,
    pub configurations: Option<Vec<Configuration>>,
    pub applications: Option<Vec<String>>,
    pub security_configuration: Option<String>,
    pub step_concurrency_level: Option<i32>,
    pub auto_termination_policy: Option<AutoTerminationPolicy>,
    pub managed_scaling: Option<ManagedScaling>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Roles {
    pub jobflow: String,
    pub service: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Ec2 {
    pub ami_version: Option<String>,
    pub release_label: Option<String>,
    pub custom_ami_id: Option<String>,
    pub ebs_root_volume_size: Option<i32>,
    pub key_name: Option<String>,
    pub location: Location,
    pub additional_master_security_groups: Option<Vec<String>>,
    pub additional_slave_security_groups: Option<Vec<String>>,
    pub instances: Option<InstanceGroups>,
    pub instance_fleets: Option<InstanceFleets>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Location {
    pub classic: Option<Classic>,
    pub vpc: Option<Vpc>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Classic {
    pub availability_zone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Vpc {
    pub subnet_id: Option<String>,
    pub subnet_ids: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceGroups {
    pub master: InstanceGroup,
    pub core: Option<InstanceGroup>,
    pub task: Option<InstanceGroup>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InstanceGroup {
    #[serde(rename = "type")]
    pub instance_type: String,
    pub count: Option<i32>,
    pub market: Option<Market>,
    pub bid: Option<String>,
    pub ebs_configuration: Option<EbsConfiguration>,
}

/// An instance's purchase option, as EMR writes it (`MarketType`): in a config and in a run's `cost`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Market {
    OnDemand,
    Spot,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EbsConfiguration {
    pub ebs_optimized: Option<bool>,
    pub ebs_block_device_configs: Option<Vec<EbsBlockDevice>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EbsBlockDevice {
    pub volumes_per_instance: Option<i32>,
    pub volume_specification: VolumeSpecification,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VolumeSpecification {
    pub iops: Option<i32>,
    #[serde(rename = "sizeInGB")]
    pub size_in_gb: i32,
    pub volume_type: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstanceFleets {
    pub master: InstanceFleet,
    pub core: Option<InstanceFleet>,
    pub task: Option<InstanceFleet>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InstanceFleet {
    pub name: Option<String>,
    pub target_on_demand_capacity: Option<i32>,
    pub target_spot_capacity: Option<i32>,
    pub instance_types: Vec<FleetInstanceType>,
    pub spot: Option<SpotSpecification>,
    pub on_demand: Option<OnDemandSpecification>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FleetInstanceType {
    #[serde(rename = "type")]
    pub instance_type: String,
    pub weighted_capacity: Option<i32>,
    pub bid: Option<String>,
    pub bid_as_percentage_of_on_demand: Option<f64>,
    pub ebs_configuration: Option<EbsConfiguration>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SpotSpecification {
    pub timeout_minutes: Option<i32>,
    pub timeout_action: Option<String>,
    pub allocation_strategy: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OnDemandSpecification {
    pub allocation_strategy: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BootstrapAction {
    pub name: String,
    pub script_bootstrap_action: ScriptBootstrapAction,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptBootstrapAction {
    pub path: String,
    pub args: Option<Vec<String>>,
}

/// An EMR configuration classification; nested `configurations` are kept (the original dropped them).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Configuration {
    pub classification: String,
    pub properties: Option<IndexMap<String, String>>,
    pub configurations: Option<Vec<Configuration>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutoTerminationPolicy {
    pub idle_timeout: i64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ManagedScaling {
    pub unit_type: String,
    pub minimum_capacity_units: i32,
    pub maximum_capacity_units: i32,
    pub maximum_on_demand_capacity_units: Option<i32>,
    pub maximum_core_capacity_units: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlaybookConfig {
    pub region: Option<String>,
    pub credentials: Option<Credentials>,
    pub steps: Vec<Step>,
    pub tags: Option<Vec<Tag>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Step {
    pub name: String,
    #[serde(rename = "type")]
    pub step_type: Option<String>,
    pub action_on_failure: Option<ActionOnFailure>,
    pub jar: String,
    pub main_class: Option<String>,
    pub arguments: Option<Vec<String>>,
    pub properties: Option<IndexMap<String, String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ActionOnFailure {
    CancelAndWait,
    Continue,
    TerminateCluster,
    /// EMR's older alias of TERMINATE_CLUSTER; sent as TERMINATE_CLUSTER.
    TerminateJobFlow,
}

impl ActionOnFailure {
    /// The EMR API value (the alias is normalised).
    pub fn as_emr(self) -> &'static str {
        match self {
            Self::CancelAndWait => "CANCEL_AND_WAIT",
            Self::Continue => "CONTINUE",
            Self::TerminateCluster | Self::TerminateJobFlow => "TERMINATE_CLUSTER",
        }
    }
}
