//! EMR request planning: pure functions from validated configs to the requests EMR will receive, in EMR's own JSON
//! shape (PascalCase members as in the EMR API reference; absent fields are omitted, never sent empty).
//! `dataflow-runner plan` prints them as they are; the Lambdas' EMR adapter (`dfr_lambda::sdk`) turns them into
//! `aws-sdk-emr` inputs.

use serde::Serialize;

use crate::checks::parse_release;
use crate::model::{
    ActionOnFailure, ClusterConfig, Configuration, EbsConfiguration, InstanceFleet, InstanceGroup,
    Market, PlaybookConfig, Step,
};

/// The volume types EMR takes `Iops` for. EMR hands the volume to EBS, which provisions IOPS for gp3 (3,000 and
/// up; `Throughput` is gp3's too), io1 and io2, and refuses the setting for gp2, st1, sc1 and standard ("IOPS
/// setting is not supported for volume type."). `iops` on those is left out, with a warning (`checks`).
pub const IOPS_VOLUME_TYPES: [&str; 3] = ["gp3", "io1", "io2"];

/// What `dataflow-runner plan` prints: EMR operation name → request body.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Plan {
    #[serde(rename = "RunJobFlow", skip_serializing_if = "Option::is_none")]
    pub run_job_flow: Option<RunJobFlowRequest>,
    #[serde(rename = "AddJobFlowSteps", skip_serializing_if = "Option::is_none")]
    pub add_job_flow_steps: Option<AddJobFlowStepsRequest>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RunJobFlowRequest {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ami_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_ami_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ebs_root_volume_size: Option<i32>,
    pub instances: JobFlowInstancesConfig,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepConfig>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub bootstrap_actions: Vec<BootstrapActionConfig>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub applications: Vec<Application>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub configurations: Vec<EmrConfiguration>,
    pub visible_to_all_users: bool,
    pub job_flow_role: String,
    pub service_role: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<EmrTag>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_configuration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_concurrency_level: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_termination_policy: Option<AutoTerminationPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub managed_scaling_policy: Option<ManagedScalingPolicy>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct JobFlowInstancesConfig {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub instance_groups: Vec<InstanceGroupConfig>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub instance_fleets: Vec<InstanceFleetConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ec2_key_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placement: Option<PlacementType>,
    pub keep_job_flow_alive_when_no_steps: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ec2_subnet_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ec2_subnet_ids: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub additional_master_security_groups: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub additional_slave_security_groups: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PlacementType {
    pub availability_zone: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceGroupConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub market: Option<String>,
    pub instance_role: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bid_price: Option<String>,
    pub instance_type: String,
    pub instance_count: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ebs_configuration: Option<EmrEbsConfiguration>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceFleetConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub instance_fleet_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_on_demand_capacity: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_spot_capacity: Option<i32>,
    pub instance_type_configs: Vec<InstanceTypeConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch_specifications: Option<LaunchSpecifications>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceTypeConfig {
    pub instance_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weighted_capacity: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bid_price: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bid_price_as_percentage_of_on_demand_price: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ebs_configuration: Option<EmrEbsConfiguration>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LaunchSpecifications {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spot_specification: Option<SpotProvisioningSpecification>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_demand_specification: Option<OnDemandProvisioningSpecification>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SpotProvisioningSpecification {
    pub timeout_duration_minutes: i32,
    pub timeout_action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allocation_strategy: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OnDemandProvisioningSpecification {
    pub allocation_strategy: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EmrEbsConfiguration {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ebs_block_device_configs: Vec<EbsBlockDeviceConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ebs_optimized: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EbsBlockDeviceConfig {
    pub volume_specification: VolumeSpecification,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volumes_per_instance: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VolumeSpecification {
    #[serde(rename = "VolumeType")]
    pub volume_type: String,
    #[serde(rename = "Iops", skip_serializing_if = "Option::is_none")]
    pub iops: Option<i32>,
    #[serde(rename = "SizeInGB")]
    pub size_in_gb: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StepConfig {
    pub name: String,
    pub action_on_failure: String,
    pub hadoop_jar_step: HadoopJarStepConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HadoopJarStepConfig {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<KeyValue>,
    pub jar: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main_class: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyValue {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BootstrapActionConfig {
    pub name: String,
    pub script_bootstrap_action: ScriptBootstrapActionConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScriptBootstrapActionConfig {
    pub path: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Application {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EmrConfiguration {
    pub classification: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub configurations: Vec<EmrConfiguration>,
    #[serde(skip_serializing_if = "indexmap::IndexMap::is_empty")]
    pub properties: indexmap::IndexMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EmrTag {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AutoTerminationPolicy {
    pub idle_timeout: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ManagedScalingPolicy {
    pub compute_limits: ComputeLimits,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ComputeLimits {
    pub unit_type: String,
    pub minimum_capacity_units: i32,
    pub maximum_capacity_units: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum_on_demand_capacity_units: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum_core_capacity_units: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddJobFlowStepsRequest {
    pub job_flow_id: String,
    pub steps: Vec<StepConfig>,
}

/// How the cluster is to live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// `up`: stays alive with no steps (`KeepJobFlowAliveWhenNoSteps=true`).
    Persistent,
    /// `run-transient`: the playbook's steps are embedded and the cluster ends itself when they end.
    Transient,
}

/// RunJobFlow for a cluster; with `Transient`, the playbook's steps are embedded.
pub fn run_job_flow(
    c: &ClusterConfig,
    lifecycle: Lifecycle,
    playbook: Option<&PlaybookConfig>,
) -> RunJobFlowRequest {
    let (ami_version, release_label) = release(c);
    let loc = &c.ec2.location;
    let subnet_id = loc
        .vpc
        .as_ref()
        .and_then(|v| v.subnet_id.clone())
        .filter(|s| !s.is_empty());
    let subnet_ids = loc
        .vpc
        .as_ref()
        .and_then(|v| v.subnet_ids.clone())
        .unwrap_or_default();
    let placement = loc
        .classic
        .as_ref()
        .and_then(|cl| cl.availability_zone.clone())
        .filter(|az| !az.is_empty())
        .map(|availability_zone| PlacementType { availability_zone });
    let steps = match (lifecycle, playbook) {
        (Lifecycle::Transient, Some(p)) => step_configs(p),
        _ => Vec::new(),
    };
    RunJobFlowRequest {
        name: c.name.clone(),
        log_uri: c.log_uri.clone(),
        ami_version,
        release_label,
        custom_ami_id: c.ec2.custom_ami_id.clone(),
        ebs_root_volume_size: c.ec2.ebs_root_volume_size,
        instances: JobFlowInstancesConfig {
            instance_groups: c
                .ec2
                .instances
                .as_ref()
                .map(instance_groups)
                .unwrap_or_default(),
            instance_fleets: c
                .ec2
                .instance_fleets
                .as_ref()
                .map(instance_fleets)
                .unwrap_or_default(),
            ec2_key_name: c.ec2.key_name.clone(),
            placement,
            keep_job_flow_alive_when_no_steps: lifecycle == Lifecycle::Persistent,
            ec2_subnet_id: subnet_id,
            ec2_subnet_ids: subnet_ids,
            additional_master_security_groups: c
                .ec2
                .additional_master_security_groups
                .clone()
                .unwrap_or_default(),
            additional_slave_security_groups: c
                .ec2
                .additional_slave_security_groups
                .clone()
                .unwrap_or_default(),
        },
        steps,
        bootstrap_actions: c
            .bootstrap_action_configs
            .iter()
            .flatten()
            .map(|b| BootstrapActionConfig {
                name: b.name.clone(),
                script_bootstrap_action: ScriptBootstrapActionConfig {
                    path: b.script_bootstrap_action.path.clone(),
                    args: b.script_bootstrap_action.args.clone().unwrap_or_default(),
                },
            })
            .collect(),
        applications: c
            .applications
            .iter()
            .flatten()
            .map(|name| Application { name: name.clone() })
            .collect(),
        configurations: c
            .configurations
            .iter()
            .flatten()
            .map(configuration)
            .collect(),
        visible_to_all_users: true,
        job_flow_role: c.roles.jobflow.clone(),
        service_role: c.roles.service.clone(),
        tags: c
            .tags
            .iter()
            .flatten()
            .map(|t| EmrTag {
                key: t.key.clone(),
                value: t.value.clone(),
            })
            .collect(),
        security_configuration: c.security_configuration.clone(),
        step_concurrency_level: c.step_concurrency_level,
        auto_termination_policy: c.auto_termination_policy.as_ref().map(|a| {
            AutoTerminationPolicy {
                idle_timeout: a.idle_timeout,
            }
        }),
        managed_scaling_policy: c.managed_scaling.as_ref().map(|m| ManagedScalingPolicy {
            compute_limits: ComputeLimits {
                unit_type: m.unit_type.clone(),
                minimum_capacity_units: m.minimum_capacity_units,
                maximum_capacity_units: m.maximum_capacity_units,
                maximum_on_demand_capacity_units: m.maximum_on_demand_capacity_units,
                maximum_core_capacity_units: m.maximum_core_capacity_units,
            },
        }),
    }
}

/// AddJobFlowSteps for an existing cluster.
pub fn add_job_flow_steps(cluster_id: &str, playbook: &PlaybookConfig) -> AddJobFlowStepsRequest {
    AddJobFlowStepsRequest {
        job_flow_id: cluster_id.to_string(),
        steps: step_configs(playbook),
    }
}

/// The EMR step for each playbook step. A step without `actionOnFailure` gets CANCEL_AND_WAIT, the original's usual.
pub fn step_configs(playbook: &PlaybookConfig) -> Vec<StepConfig> {
    playbook.steps.iter().map(step_config).collect()
}

fn step_config(s: &Step) -> StepConfig {
    StepConfig {
        name: s.name.clone(),
        action_on_failure: s
            .action_on_failure
            .unwrap_or(ActionOnFailure::CancelAndWait)
            .as_emr()
            .to_string(),
        hadoop_jar_step: HadoopJarStepConfig {
            properties: s
                .properties
                .iter()
                .flatten()
                .map(|(k, v)| KeyValue {
                    key: k.clone(),
                    value: v.clone(),
                })
                .collect(),
            jar: s.jar.clone(),
            main_class: s.main_class.clone().filter(|m| !m.is_empty()),
            args: s.arguments.clone().unwrap_or_default(),
        },
    }
}

/// `amiVersion` below 4 is an AMI version; anything else a release label, parsed on the whole major number.
fn release(c: &ClusterConfig) -> (Option<String>, Option<String>) {
    if let Some(label) = &c.ec2.release_label {
        return (None, Some(label.clone()));
    }
    match c.ec2.ami_version.as_deref().map(parse_release) {
        Some(Some((major, version))) if major < 4 => (Some(version), None),
        Some(Some((_, version))) => (None, Some(format!("emr-{version}"))),
        _ => (None, None),
    }
}

fn instance_groups(g: &crate::model::InstanceGroups) -> Vec<InstanceGroupConfig> {
    let mut out = vec![group("MASTER", &g.master, g.master.count.unwrap_or(1))];
    for (role, group_cfg) in [("CORE", &g.core), ("TASK", &g.task)] {
        if let Some(cfg) = group_cfg {
            let count = cfg.count.unwrap_or(0);
            // The original leaves a group out when its count is 0 or less.
            if count > 0 {
                out.push(group(role, cfg, count));
            }
        }
    }
    out
}

fn group(role: &str, g: &InstanceGroup, count: i32) -> InstanceGroupConfig {
    let bid = g.bid.clone().filter(|b| !b.is_empty());
    let market = match (g.market, &bid) {
        (Some(Market::Spot), _) | (None, Some(_)) => Some("SPOT".to_string()),
        (Some(Market::OnDemand), _) => Some("ON_DEMAND".to_string()),
        (None, None) => None,
    };
    InstanceGroupConfig {
        market,
        instance_role: role.to_string(),
        bid_price: bid,
        instance_type: g.instance_type.clone(),
        instance_count: count,
        ebs_configuration: g.ebs_configuration.as_ref().map(ebs),
    }
}

fn instance_fleets(f: &crate::model::InstanceFleets) -> Vec<InstanceFleetConfig> {
    [
        ("MASTER", Some(&f.master)),
        ("CORE", f.core.as_ref()),
        ("TASK", f.task.as_ref()),
    ]
    .into_iter()
    .filter_map(|(role, fleet_cfg)| fleet_cfg.map(|f| fleet(role, f)))
    .collect()
}

fn fleet(role: &str, f: &InstanceFleet) -> InstanceFleetConfig {
    let spot = f.spot.as_ref().map(|s| SpotProvisioningSpecification {
        timeout_duration_minutes: s.timeout_minutes.unwrap_or(60),
        timeout_action: s
            .timeout_action
            .clone()
            .unwrap_or_else(|| "SWITCH_TO_ON_DEMAND".to_string()),
        allocation_strategy: s.allocation_strategy.clone(),
    });
    let on_demand = f
        .on_demand
        .as_ref()
        .and_then(|o| o.allocation_strategy.clone())
        .map(|allocation_strategy| OnDemandProvisioningSpecification {
            allocation_strategy,
        });
    InstanceFleetConfig {
        name: f.name.clone(),
        instance_fleet_type: role.to_string(),
        target_on_demand_capacity: f.target_on_demand_capacity,
        target_spot_capacity: f.target_spot_capacity,
        instance_type_configs: f
            .instance_types
            .iter()
            .map(|t| InstanceTypeConfig {
                instance_type: t.instance_type.clone(),
                weighted_capacity: t.weighted_capacity,
                bid_price: t.bid.clone().filter(|b| !b.is_empty()),
                bid_price_as_percentage_of_on_demand_price: t.bid_as_percentage_of_on_demand,
                ebs_configuration: t.ebs_configuration.as_ref().map(ebs),
            })
            .collect(),
        launch_specifications: if spot.is_some() || on_demand.is_some() {
            Some(LaunchSpecifications {
                spot_specification: spot,
                on_demand_specification: on_demand,
            })
        } else {
            None
        },
    }
}

fn ebs(e: &EbsConfiguration) -> EmrEbsConfiguration {
    EmrEbsConfiguration {
        ebs_block_device_configs: e
            .ebs_block_device_configs
            .iter()
            .flatten()
            .map(|d| {
                let spec = &d.volume_specification;
                EbsBlockDeviceConfig {
                    volume_specification: VolumeSpecification {
                        volume_type: spec.volume_type.clone(),
                        iops: spec
                            .iops
                            .filter(|_| IOPS_VOLUME_TYPES.contains(&spec.volume_type.as_str())),
                        size_in_gb: spec.size_in_gb,
                    },
                    volumes_per_instance: d.volumes_per_instance,
                }
            })
            .collect(),
        ebs_optimized: e.ebs_optimized,
    }
}

fn configuration(c: &Configuration) -> EmrConfiguration {
    EmrConfiguration {
        classification: c.classification.clone(),
        configurations: c
            .configurations
            .iter()
            .flatten()
            .map(configuration)
            .collect(),
        properties: c.properties.clone().unwrap_or_default(),
    }
}
