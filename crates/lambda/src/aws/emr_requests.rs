//! The planned requests (`dfr_core::plan`) as `aws-sdk-emr` inputs, for the EMR adapter in `emr`. A mechanical
//! translation: every decision is made in the core's `plan`, so what `dataflow-runner plan` prints is what the
//! Lambdas send (`tests/plan_is_sent.rs` compares the two over the EMR emulator, field by field).

use aws_sdk_emr::operation::add_job_flow_steps::builders::AddJobFlowStepsFluentBuilder;
use aws_sdk_emr::operation::run_job_flow::builders::RunJobFlowFluentBuilder;
use aws_sdk_emr::types as emr;

use dfr_core::plan::{
    AddJobFlowStepsRequest, EmrConfiguration, EmrEbsConfiguration, InstanceFleetConfig,
    InstanceGroupConfig, RunJobFlowRequest, StepConfig,
};

/// Fills a RunJobFlow call with the planned request.
pub fn run_job_flow(b: RunJobFlowFluentBuilder, r: &RunJobFlowRequest) -> RunJobFlowFluentBuilder {
    let i = &r.instances;
    let instances = emr::JobFlowInstancesConfig::builder()
        .set_instance_groups(non_empty(
            i.instance_groups.iter().map(instance_group).collect(),
        ))
        .set_instance_fleets(non_empty(
            i.instance_fleets.iter().map(instance_fleet).collect(),
        ))
        .set_ec2_key_name(i.ec2_key_name.clone())
        .set_placement(i.placement.as_ref().map(|p| {
            emr::PlacementType::builder()
                .availability_zone(&p.availability_zone)
                .build()
        }))
        .keep_job_flow_alive_when_no_steps(i.keep_job_flow_alive_when_no_steps)
        .set_ec2_subnet_id(i.ec2_subnet_id.clone())
        .set_ec2_subnet_ids(non_empty(i.ec2_subnet_ids.clone()))
        .set_additional_master_security_groups(non_empty(
            i.additional_master_security_groups.clone(),
        ))
        .set_additional_slave_security_groups(non_empty(i.additional_slave_security_groups.clone()))
        .build();
    b.name(&r.name)
        .set_log_uri(r.log_uri.clone())
        .set_ami_version(r.ami_version.clone())
        .set_release_label(r.release_label.clone())
        .set_custom_ami_id(r.custom_ami_id.clone())
        .set_ebs_root_volume_size(r.ebs_root_volume_size)
        .instances(instances)
        .set_steps(non_empty(r.steps.iter().map(step).collect()))
        .set_bootstrap_actions(non_empty(
            r.bootstrap_actions
                .iter()
                .map(|a| {
                    emr::BootstrapActionConfig::builder()
                        .name(&a.name)
                        .script_bootstrap_action(
                            emr::ScriptBootstrapActionConfig::builder()
                                .path(&a.script_bootstrap_action.path)
                                .set_args(non_empty(a.script_bootstrap_action.args.clone()))
                                .build(),
                        )
                        .build()
                })
                .collect(),
        ))
        .set_applications(non_empty(
            r.applications
                .iter()
                .map(|a| emr::Application::builder().name(&a.name).build())
                .collect(),
        ))
        .set_configurations(non_empty(
            r.configurations.iter().map(configuration).collect(),
        ))
        .visible_to_all_users(r.visible_to_all_users)
        .job_flow_role(&r.job_flow_role)
        .service_role(&r.service_role)
        .set_tags(non_empty(
            r.tags
                .iter()
                .map(|t| emr::Tag::builder().key(&t.key).value(&t.value).build())
                .collect(),
        ))
        .set_security_configuration(r.security_configuration.clone())
        .set_step_concurrency_level(r.step_concurrency_level)
        .set_auto_termination_policy(r.auto_termination_policy.as_ref().map(|a| {
            emr::AutoTerminationPolicy::builder()
                .idle_timeout(a.idle_timeout)
                .build()
        }))
        .set_managed_scaling_policy(r.managed_scaling_policy.as_ref().map(|m| {
            let l = &m.compute_limits;
            emr::ManagedScalingPolicy::builder()
                .compute_limits(
                    emr::ComputeLimits::builder()
                        .unit_type(emr::ComputeLimitsUnitType::from(l.unit_type.as_str()))
                        .minimum_capacity_units(l.minimum_capacity_units)
                        .maximum_capacity_units(l.maximum_capacity_units)
                        .set_maximum_on_demand_capacity_units(l.maximum_on_demand_capacity_units)
                        .set_maximum_core_capacity_units(l.maximum_core_capacity_units)
                        .build(),
                )
                .build()
        }))
}

/// Fills an AddJobFlowSteps call with the planned request.
pub fn add_job_flow_steps(
    b: AddJobFlowStepsFluentBuilder,
    r: &AddJobFlowStepsRequest,
) -> AddJobFlowStepsFluentBuilder {
    b.job_flow_id(&r.job_flow_id)
        .set_steps(Some(r.steps.iter().map(step).collect()))
}

/// One planned step as the SDK's type.
pub fn step(s: &StepConfig) -> emr::StepConfig {
    let j = &s.hadoop_jar_step;
    emr::StepConfig::builder()
        .name(&s.name)
        .action_on_failure(emr::ActionOnFailure::from(s.action_on_failure.as_str()))
        .hadoop_jar_step(
            emr::HadoopJarStepConfig::builder()
                .set_properties(non_empty(
                    j.properties
                        .iter()
                        .map(|p| emr::KeyValue::builder().key(&p.key).value(&p.value).build())
                        .collect(),
                ))
                .jar(&j.jar)
                .set_main_class(j.main_class.clone())
                .set_args(non_empty(j.args.clone()))
                .build(),
        )
        .build()
}

fn instance_group(g: &InstanceGroupConfig) -> emr::InstanceGroupConfig {
    emr::InstanceGroupConfig::builder()
        .set_market(g.market.as_deref().map(emr::MarketType::from))
        .instance_role(emr::InstanceRoleType::from(g.instance_role.as_str()))
        .set_bid_price(g.bid_price.clone())
        .instance_type(&g.instance_type)
        .instance_count(g.instance_count)
        .set_ebs_configuration(g.ebs_configuration.as_ref().map(ebs))
        .build()
}

fn instance_fleet(f: &InstanceFleetConfig) -> emr::InstanceFleetConfig {
    let launch = f.launch_specifications.as_ref().map(|l| {
        emr::InstanceFleetProvisioningSpecifications::builder()
            .set_spot_specification(l.spot_specification.as_ref().map(|s| {
                emr::SpotProvisioningSpecification::builder()
                    .timeout_duration_minutes(s.timeout_duration_minutes)
                    .timeout_action(emr::SpotProvisioningTimeoutAction::from(
                        s.timeout_action.as_str(),
                    ))
                    .set_allocation_strategy(
                        s.allocation_strategy
                            .as_deref()
                            .map(emr::SpotProvisioningAllocationStrategy::from),
                    )
                    .build()
            }))
            .set_on_demand_specification(l.on_demand_specification.as_ref().map(|o| {
                emr::OnDemandProvisioningSpecification::builder()
                    .allocation_strategy(emr::OnDemandProvisioningAllocationStrategy::from(
                        o.allocation_strategy.as_str(),
                    ))
                    .build()
            }))
            .build()
    });
    emr::InstanceFleetConfig::builder()
        .set_name(f.name.clone())
        .instance_fleet_type(emr::InstanceFleetType::from(f.instance_fleet_type.as_str()))
        .set_target_on_demand_capacity(f.target_on_demand_capacity)
        .set_target_spot_capacity(f.target_spot_capacity)
        .set_instance_type_configs(Some(
            f.instance_type_configs
                .iter()
                .map(|t| {
                    emr::InstanceTypeConfig::builder()
                        .instance_type(&t.instance_type)
                        .set_weighted_capacity(t.weighted_capacity)
                        .set_bid_price(t.bid_price.clone())
                        .set_bid_price_as_percentage_of_on_demand_price(
                            t.bid_price_as_percentage_of_on_demand_price,
                        )
                        .set_ebs_configuration(t.ebs_configuration.as_ref().map(ebs))
                        .build()
                })
                .collect(),
        ))
        .set_launch_specifications(launch)
        .build()
}

fn ebs(e: &EmrEbsConfiguration) -> emr::EbsConfiguration {
    emr::EbsConfiguration::builder()
        .set_ebs_block_device_configs(non_empty(
            e.ebs_block_device_configs
                .iter()
                .map(|d| {
                    let v = &d.volume_specification;
                    emr::EbsBlockDeviceConfig::builder()
                        .volume_specification(
                            emr::VolumeSpecification::builder()
                                .volume_type(&v.volume_type)
                                .set_iops(v.iops)
                                .size_in_gb(v.size_in_gb)
                                .build(),
                        )
                        .set_volumes_per_instance(d.volumes_per_instance)
                        .build()
                })
                .collect(),
        ))
        .set_ebs_optimized(e.ebs_optimized)
        .build()
}

fn configuration(c: &EmrConfiguration) -> emr::Configuration {
    emr::Configuration::builder()
        .classification(&c.classification)
        .set_configurations(non_empty(
            c.configurations.iter().map(configuration).collect(),
        ))
        .set_properties(if c.properties.is_empty() {
            None
        } else {
            Some(
                c.properties
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            )
        })
        .build()
}

fn non_empty<T>(v: Vec<T>) -> Option<Vec<T>> {
    if v.is_empty() {
        None
    } else {
        Some(v)
    }
}
