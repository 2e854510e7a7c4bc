//! EMR wire shapes (JSON 1.1 protocol), written from the EMR API reference.
//!
//! Member names are PascalCase as on the wire; timestamps are epoch seconds (floats).
//! Request shapes only carry the members the emulator uses: unknown members are ignored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

// ---------------------------------------------------------------- requests

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RunJobFlowInput {
    pub name: Option<String>,
    pub log_uri: Option<String>,
    pub release_label: Option<String>,
    pub ami_version: Option<String>,
    pub instances: Option<JobFlowInstancesConfig>,
    pub steps: Option<Vec<StepConfig>>,
    pub bootstrap_actions: Option<Vec<BootstrapActionConfig>>,
    pub applications: Option<Vec<Application>>,
    pub configurations: Option<Value>,
    pub visible_to_all_users: Option<bool>,
    pub service_role: Option<String>,
    pub job_flow_role: Option<String>,
    pub auto_scaling_role: Option<String>,
    pub tags: Option<Vec<Tag>>,
    pub step_concurrency_level: Option<i64>,
    pub auto_termination_policy: Option<AutoTerminationPolicy>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct JobFlowInstancesConfig {
    pub master_instance_type: Option<String>,
    pub slave_instance_type: Option<String>,
    pub instance_count: Option<i64>,
    pub instance_groups: Option<Vec<InstanceGroupConfig>>,
    pub instance_fleets: Option<Vec<InstanceFleetConfig>>,
    pub keep_job_flow_alive_when_no_steps: Option<bool>,
    pub termination_protected: Option<bool>,
    pub ec2_key_name: Option<String>,
    pub ec2_subnet_id: Option<String>,
    pub ec2_subnet_ids: Option<Vec<String>>,
    pub placement: Option<PlacementType>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PlacementType {
    pub availability_zone: Option<String>,
    pub availability_zones: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceGroupConfig {
    pub name: Option<String>,
    pub instance_role: Option<String>,
    pub instance_type: Option<String>,
    pub instance_count: Option<i64>,
    pub ebs_configuration: Option<EbsConfiguration>,
    pub market: Option<String>,
    pub bid_price: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceFleetConfig {
    pub name: Option<String>,
    pub instance_fleet_type: Option<String>,
    pub instance_type_configs: Option<Vec<InstanceTypeConfig>>,
    pub target_on_demand_capacity: Option<i64>,
    pub target_spot_capacity: Option<i64>,
    /// Echoed by ListInstanceFleets as given.
    pub launch_specifications: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceTypeConfig {
    pub instance_type: Option<String>,
    pub ebs_configuration: Option<EbsConfiguration>,
    pub weighted_capacity: Option<i64>,
    pub bid_price: Option<String>,
    pub bid_price_as_percentage_of_on_demand_price: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EbsConfiguration {
    pub ebs_block_device_configs: Option<Vec<EbsBlockDeviceConfig>>,
    pub ebs_optimized: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EbsBlockDeviceConfig {
    pub volume_specification: Option<VolumeSpecification>,
    pub volumes_per_instance: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
pub struct VolumeSpecification {
    #[serde(rename = "VolumeType")]
    pub volume_type: Option<String>,
    #[serde(rename = "Iops")]
    pub iops: Option<i64>,
    #[serde(rename = "SizeInGB")]
    pub size_in_gb: Option<i64>,
    #[serde(rename = "Throughput")]
    pub throughput: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StepConfig {
    pub name: Option<String>,
    pub action_on_failure: Option<String>,
    pub hadoop_jar_step: Option<HadoopJarStepConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HadoopJarStepConfig {
    pub properties: Option<Vec<KeyValue>>,
    pub jar: Option<String>,
    pub main_class: Option<String>,
    pub args: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyValue {
    pub key: Option<String>,
    pub value: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BootstrapActionConfig {
    pub name: Option<String>,
    pub script_bootstrap_action: Option<ScriptBootstrapActionConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScriptBootstrapActionConfig {
    pub path: Option<String>,
    pub args: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ClusterIdInput {
    pub cluster_id: Option<String>,
}

/// ListInstanceGroups and ListInstanceFleets.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ClusterMarkerInput {
    pub cluster_id: Option<String>,
    pub marker: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListInstancesInput {
    pub cluster_id: Option<String>,
    pub instance_group_id: Option<String>,
    pub instance_group_types: Option<Vec<String>>,
    pub instance_fleet_id: Option<String>,
    pub instance_fleet_type: Option<String>,
    pub instance_states: Option<Vec<String>>,
    pub marker: Option<String>,
}

/// The Price List Query API's GetProducts (`AWSPriceListService.GetProducts`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetProductsInput {
    pub service_code: Option<String>,
    pub filters: Option<Vec<PriceFilter>>,
    pub format_version: Option<String>,
    pub next_token: Option<String>,
    pub max_results: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PriceFilter {
    #[serde(rename = "Type")]
    pub kind: Option<String>,
    pub field: Option<String>,
    pub value: Option<String>,
}

/// The Resource Groups Tagging API's GetResources (the members the emulator reads).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetResourcesInput {
    pub resource_type_filters: Option<Vec<String>>,
    pub tag_filters: Option<Vec<TagFilter>>,
    pub pagination_token: Option<String>,
    pub resources_per_page: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagFilter {
    pub key: Option<String>,
    pub values: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListClustersInput {
    pub created_after: Option<f64>,
    pub created_before: Option<f64>,
    pub cluster_states: Option<Vec<String>>,
    pub marker: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddJobFlowStepsInput {
    pub job_flow_id: Option<String>,
    pub steps: Option<Vec<StepConfig>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListStepsInput {
    pub cluster_id: Option<String>,
    pub step_states: Option<Vec<String>>,
    pub step_ids: Option<Vec<String>>,
    pub marker: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeStepInput {
    pub cluster_id: Option<String>,
    pub step_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CancelStepsInput {
    pub cluster_id: Option<String>,
    pub step_ids: Option<Vec<String>>,
    pub step_cancellation_option: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct JobFlowIdsInput {
    pub job_flow_ids: Option<Vec<String>>,
    pub termination_protected: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddTagsInput {
    pub resource_id: Option<String>,
    pub tags: Option<Vec<Tag>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemoveTagsInput {
    pub resource_id: Option<String>,
    pub tag_keys: Option<Vec<String>>,
}

// ------------------------------------------------------- shared / responses

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Application {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AutoTerminationPolicy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_timeout: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Cluster {
    pub id: String,
    pub name: String,
    pub status: ClusterStatus,
    pub instance_collection_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested_ami_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub running_ami_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_label: Option<String>,
    pub auto_terminate: bool,
    pub termination_protected: bool,
    pub visible_to_all_users: bool,
    pub applications: Vec<Application>,
    pub tags: Vec<Tag>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_role: Option<String>,
    pub normalized_instance_hours: i64,
    pub ec2_instance_attributes: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_public_dns_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub configurations: Option<Value>,
    pub cluster_arn: String,
    pub step_concurrency_level: i64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ClusterStatus {
    pub state: String,
    pub state_change_reason: StateChangeReason,
    pub timeline: ClusterTimeline,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub error_details: Vec<ErrorDetail>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StateChangeReason {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ClusterTimeline {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creation_date_time: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_date_time: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date_time: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ErrorDetail {
    pub error_code: String,
    pub error_data: Vec<BTreeMap<String, String>>,
    pub error_message: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ClusterSummary {
    pub id: String,
    pub name: String,
    pub status: ClusterStatus,
    pub normalized_instance_hours: i64,
    pub cluster_arn: String,
}

/// `Step` (DescribeStep) and `StepSummary` (ListSteps) share these members.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Step {
    pub id: String,
    pub name: String,
    pub config: HadoopStepConfig,
    pub action_on_failure: String,
    pub status: StepStatus,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HadoopStepConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jar: Option<String>,
    pub properties: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_class: Option<String>,
    pub args: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StepStatus {
    pub state: String,
    /// EMR's step reason code is always `NONE`; it answers an empty object.
    pub state_change_reason: StateChangeReason,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_details: Option<FailureDetails>,
    pub timeline: StepTimeline,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FailureDetails {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_file: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StepTimeline {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creation_date_time: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date_time: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date_time: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CancelStepsInfo {
    pub step_id: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Timestamps go out rounded to the millisecond.
pub fn epoch(t: f64) -> f64 {
    (t * 1000.0).round() / 1000.0
}
