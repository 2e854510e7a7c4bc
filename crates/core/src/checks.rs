//! Cross-field rules a JSON Schema cannot say well, and EMR's own constraints, checked before anything is spent.
//! Each returns every problem at once; warnings do not stop a run.

use crate::diagnostics::{pointer_segment, ConfigErrors, Diagnostic, LineIndex};
use crate::model::{
    ActionOnFailure, ClusterConfig, EbsConfiguration, InstanceFleet, InstanceGroup, Market,
    PlaybookConfig, Tag,
};
use crate::schema::AcceptedSchema;
use crate::serverless::ServerlessConfig;

/// The prefix of the tags this project sets on its clusters (IAM conditions and the cleanup rely on them), so a
/// config may not set one: `dataflow-runner:keep-on-failure` would stop the cleanup, `…:execution` would pass the
/// cluster off as another run's.
pub const RESERVED_TAG_PREFIX: &str = "dataflow-runner:";

struct Report<'a> {
    file: &'a str,
    lines: &'a LineIndex,
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
}

impl<'a> Report<'a> {
    fn new(file: &'a str, lines: &'a LineIndex) -> Self {
        Self {
            file,
            lines,
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn diagnostic(&self, pointer: &str, message: String, hint: String) -> Diagnostic {
        Diagnostic::new(self.file, pointer, message)
            .with_line(self.lines.line_of(pointer))
            .with_hint(hint)
    }

    fn error(&mut self, pointer: &str, message: impl Into<String>, hint: impl Into<String>) {
        let d = self.diagnostic(pointer, message.into(), hint.into());
        self.errors.push(d);
    }

    fn warn(&mut self, pointer: &str, message: impl Into<String>, hint: impl Into<String>) {
        let d = self.diagnostic(pointer, message.into(), hint.into());
        self.warnings.push(d);
    }

    fn finish(self) -> Result<Vec<Diagnostic>, ConfigErrors> {
        if self.errors.is_empty() {
            Ok(self.warnings)
        } else {
            Err(ConfigErrors(self.errors))
        }
    }
}

/// Checks a ClusterConfig; normalises what is safe to normalise (region whitespace, empty key name).
pub fn cluster(
    file: &str,
    c: &mut ClusterConfig,
    schema: &AcceptedSchema,
    lines: &LineIndex,
) -> Result<Vec<Diagnostic>, ConfigErrors> {
    let mut r = Report::new(file, lines);
    region(&mut r, &mut c.region);
    if c.ec2.key_name.as_deref() == Some("") {
        c.ec2.key_name = None;
    }
    if c.log_uri.as_deref() == Some("") {
        c.log_uri = None;
    }
    if c.security_configuration.as_deref() == Some("") {
        c.security_configuration = None;
    }
    release(&mut r, c);
    location(&mut r, c);
    reserved_tags(&mut r, c.tags.as_deref());
    let fleets = c.ec2.instance_fleets.is_some();
    match (&c.ec2.instances, &c.ec2.instance_fleets) {
        (Some(_), Some(_)) => r.error(
            "/data/ec2/instanceFleets",
            "both `instances` and `instanceFleets` are given",
            "EMR takes instance groups or instance fleets, not both: remove one",
        ),
        (None, None) => r.error(
            "/data/ec2",
            "no instances: give `instances` (groups) or `instanceFleets`",
            "add \"instances\": {\"master\": {\"type\": \"m5.xlarge\"}}",
        ),
        _ => {}
    }
    if let Some(groups) = c.ec2.instances.clone() {
        instance_group(&mut r, "/data/ec2/instances/master", &groups.master, true);
        if let Some(core) = &groups.core {
            instance_group(&mut r, "/data/ec2/instances/core", core, false);
        }
        if let Some(task) = &groups.task {
            instance_group(&mut r, "/data/ec2/instances/task", task, false);
        }
    }
    if let Some(f) = &c.ec2.instance_fleets {
        fleet(&mut r, "/data/ec2/instanceFleets/master", &f.master, true);
        if let Some(core) = &f.core {
            fleet(&mut r, "/data/ec2/instanceFleets/core", core, false);
        }
        if let Some(task) = &f.task {
            fleet(&mut r, "/data/ec2/instanceFleets/task", task, false);
        }
    }
    if let Some(m) = &c.managed_scaling {
        let p = "/data/managedScaling";
        if m.minimum_capacity_units > m.maximum_capacity_units {
            r.error(
                p,
                "minimumCapacityUnits is above maximumCapacityUnits",
                "make the minimum at most the maximum",
            );
        }
        if m.maximum_on_demand_capacity_units
            .is_some_and(|v| v > m.maximum_capacity_units)
        {
            r.error(
                p,
                "maximumOnDemandCapacityUnits is above maximumCapacityUnits",
                "lower it to at most the maximum",
            );
        }
        match (m.unit_type.as_str(), fleets) {
            ("InstanceFleetUnits", false) => r.error(
                &format!("{p}/unitType"),
                "InstanceFleetUnits needs instanceFleets",
                "use \"Instances\" or \"VCPU\"",
            ),
            ("Instances", true) => r.error(
                &format!("{p}/unitType"),
                "\"Instances\" is for instance groups, this cluster uses instanceFleets",
                "use \"InstanceFleetUnits\" or \"VCPU\"",
            ),
            _ => {}
        }
    }
    if c.auto_termination_policy.is_some() && !supports_auto_termination(c) {
        r.error(
            "/data/autoTerminationPolicy",
            "auto-termination needs EMR release 5.30.0 or later (6.1.0 or later in the 6.x line)",
            "use a newer release, or remove autoTerminationPolicy",
        );
    }
    if !schema.legacy && c.ec2.ami_version.is_some() && c.ec2.release_label.is_some() {
        r.error(
            "/data/ec2/releaseLabel",
            "both `amiVersion` and `releaseLabel` are given",
            "keep only releaseLabel",
        );
    }
    r.finish()
}

fn reserved_tags(r: &mut Report<'_>, tags: Option<&[Tag]>) {
    for (i, t) in tags.into_iter().flatten().enumerate() {
        if t.key.to_ascii_lowercase().starts_with(RESERVED_TAG_PREFIX) {
            r.error(
                &format!("/data/tags/{i}/key"),
                format!("tag keys starting with \"{RESERVED_TAG_PREFIX}\" are reserved for the tags Dataflow Runner sets itself"),
                "rename the tag; to keep a failed run's cluster, use the execution input's options.keepClusterOnFailure",
            );
        }
    }
}

/// Checks a ServerlessConfig: the region as a ClusterConfig's, reserved tags, and worker types that belong to the
/// application's type.
pub fn serverless(
    file: &str,
    c: &mut ServerlessConfig,
    lines: &LineIndex,
) -> Result<Vec<Diagnostic>, ConfigErrors> {
    let mut r = Report::new(file, lines);
    region(&mut r, &mut c.region);
    reserved_tags(&mut r, c.tags.as_deref());
    if let Some(app) = &c.application {
        let allowed = app.application_type.worker_types();
        for worker in app.initial_capacity.iter().flat_map(|m| m.keys()) {
            if !allowed.contains(&worker.as_str()) {
                r.error(
                    &format!(
                        "/data/application/initialCapacity/{}",
                        pointer_segment(worker)
                    ),
                    format!(
                        "a {} application has no {worker} workers",
                        app.application_type.as_api()
                    ),
                    format!("use the worker types {}", allowed.join(" and ")),
                );
            }
        }
        if !crate::serverless::release_supported(&app.release_label) {
            r.error(
                "/data/application/releaseLabel",
                format!("EMR Serverless has no release {}", app.release_label),
                "use emr-6.6.0 or later, such as \"emr-7.5.0\"",
            );
        }
    }
    r.finish()
}

/// Checks a PlaybookConfig.
pub fn playbook(
    file: &str,
    p: &mut PlaybookConfig,
    lines: &LineIndex,
) -> Result<Vec<Diagnostic>, ConfigErrors> {
    let mut r = Report::new(file, lines);
    region(&mut r, &mut p.region);
    for (i, step) in p.steps.iter().enumerate() {
        if step
            .step_type
            .as_deref()
            .is_some_and(|t| !t.is_empty() && t != "CUSTOM_JAR")
        {
            r.warn(
                &format!("/data/steps/{i}/type"),
                format!(
                    "step type \"{}\" is not sent to EMR: every step runs as a custom JAR",
                    step.step_type.as_deref().unwrap_or("")
                ),
                "use \"CUSTOM_JAR\", or remove `type`",
            );
        }
    }
    r.finish()
}

/// Checks that a cluster and the playbook it will run agree with each other (EMR's own rules).
pub fn pair(
    cluster_file: &str,
    c: &ClusterConfig,
    playbook_file: &str,
    p: &PlaybookConfig,
) -> Result<(), ConfigErrors> {
    let mut errors = Vec::new();
    let level = c.step_concurrency_level.unwrap_or(1);
    if level > 1 {
        for (i, step) in p.steps.iter().enumerate() {
            let action = step
                .action_on_failure
                .unwrap_or(ActionOnFailure::CancelAndWait);
            if action != ActionOnFailure::Continue {
                errors.push(
                    Diagnostic::new(
                        playbook_file,
                        format!("/data/steps/{i}/actionOnFailure"),
                        format!(
                            "step \"{}\" has actionOnFailure {}, but {cluster_file} sets stepConcurrencyLevel {level}",
                            step.name,
                            action.as_emr()
                        ),
                    )
                    .with_hint("EMR accepts only CONTINUE when steps run concurrently: set \"actionOnFailure\": \"CONTINUE\""),
                );
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ConfigErrors(errors))
    }
}

fn region(r: &mut Report<'_>, region: &mut Option<String>) {
    let Some(value) = region.as_mut() else { return };
    if value.is_empty() {
        *region = None;
        return;
    }
    let trimmed = value.trim().to_string();
    if trimmed != *value {
        r.warn(
            "/data/region",
            format!("region \"{value}\" has surrounding white space; using \"{trimmed}\""),
            "remove the spaces around the region",
        );
        *value = trimmed;
    }
    if !is_region(value) {
        r.error(
            "/data/region",
            format!("\"{value}\" is not an AWS region"),
            "use a region code such as \"eu-west-1\"",
        );
    }
}

/// Whether `value` has the shape of an AWS region code (`eu-west-1`, `us-gov-west-1`): what the configs and the
/// functions' events accept as a region.
pub fn is_region(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
}

/// The cluster's EMR release as (major, "x.y.z"), from either releaseLabel or amiVersion.
fn release_version(c: &ClusterConfig) -> Option<(u32, String)> {
    parse_release(
        c.ec2
            .release_label
            .as_deref()
            .or(c.ec2.ami_version.as_deref())?,
    )
}

/// Whether the cluster's release takes an `AutoTerminationPolicy`: 5.30.0 and later, except 6.0.x.
pub fn supports_auto_termination(c: &ClusterConfig) -> bool {
    let Some((_, version)) = release_version(c) else {
        return false;
    };
    let parts: Vec<u32> = version.split('.').filter_map(|p| p.parse().ok()).collect();
    match parts.as_slice() {
        [5, minor, ..] => *minor >= 30,
        [6, minor, ..] => *minor >= 1,
        [major, ..] => *major >= 7,
        [] => false,
    }
}

/// Parses an `amiVersion` the way a user means it: "6.15.0", "10.0.0" or "emr-6.15.0" → (major, "6.15.0").
pub fn parse_release(v: &str) -> Option<(u32, String)> {
    let bare = v.trim().strip_prefix("emr-").unwrap_or(v.trim());
    let parts: Vec<&str> = bare.split('.').collect();
    if !(2..=3).contains(&parts.len())
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    Some((parts[0].parse().ok()?, bare.to_string()))
}

fn release(r: &mut Report<'_>, c: &ClusterConfig) {
    match (&c.ec2.ami_version, &c.ec2.release_label) {
        (None, None) => r.error(
            "/data/ec2",
            "no EMR release: give `releaseLabel` (or `amiVersion`)",
            "add \"releaseLabel\": \"emr-7.5.0\" under ec2",
        ),
        (Some(ami), _) if parse_release(ami).is_none() => r.error(
            "/data/ec2/amiVersion",
            format!("\"{ami}\" is not an EMR release version"),
            "use a version such as \"6.15.0\" (sent as ReleaseLabel emr-6.15.0) or a 3.x AMI version such as \"3.11.0\"",
        ),
        _ => {}
    }
    if c.ec2.custom_ami_id.is_some() && release_version(c).is_some_and(|(major, _)| major < 5) {
        r.error(
            "/data/ec2/customAmiId",
            "a custom AMI needs EMR release 5.7.0 or later",
            "use a newer release",
        );
    }
}

fn location(r: &mut Report<'_>, c: &ClusterConfig) {
    let loc = &c.ec2.location;
    let classic = loc.classic.as_ref();
    let vpc = loc.vpc.as_ref();
    let fleets = c.ec2.instance_fleets.is_some();
    match (classic, vpc) {
        (Some(_), Some(_)) => r.error(
            "/data/ec2/location",
            "both `classic` and `vpc` are given",
            "give exactly one: vpc.subnetId (the usual case) or classic.availabilityZone",
        ),
        (None, None) => r.error(
            "/data/ec2/location",
            "no location: neither `vpc` nor `classic` is given",
            "add \"vpc\": {\"subnetId\": \"subnet-…\"} (or classic.availabilityZone)",
        ),
        (Some(cl), None) => {
            if cl.availability_zone.as_deref().unwrap_or("").is_empty() {
                r.error(
                    "/data/ec2/location/classic/availabilityZone",
                    "availabilityZone is empty",
                    "give an availability zone such as \"us-east-1a\", or use vpc.subnetId",
                );
            }
        }
        (None, Some(v)) => {
            let one = v.subnet_id.as_deref().filter(|s| !s.is_empty());
            match (one, &v.subnet_ids) {
                (Some(_), Some(_)) => r.error(
                    "/data/ec2/location/vpc/subnetIds",
                    "both `subnetId` and `subnetIds` are given",
                    "keep one: subnetIds (with instanceFleets) or subnetId",
                ),
                (None, None) => r.error(
                    "/data/ec2/location/vpc/subnetId",
                    match &v.subnet_id {
                        None => "subnetId is null or missing",
                        Some(_) => "subnetId is empty",
                    },
                    "give the id of the subnet the cluster runs in (\"subnet-…\"); EMR rejects an empty one",
                ),
                (None, Some(_)) if !fleets => r.error(
                    "/data/ec2/location/vpc/subnetIds",
                    "several subnets need instanceFleets",
                    "with instance groups give one subnetId; or switch to instanceFleets so EMR can choose a subnet",
                ),
                _ => {}
            }
        }
    }
}

fn instance_group(r: &mut Report<'_>, p: &str, g: &InstanceGroup, master: bool) {
    let bid = g.bid.as_deref().filter(|b| !b.is_empty());
    if g.market == Some(Market::OnDemand) && bid.is_some() {
        r.error(
            &format!("{p}/bid"),
            "a bid is given for an ON_DEMAND group",
            "remove the bid, or set \"market\": \"SPOT\"",
        );
    }
    match (master, g.count) {
        (true, Some(n)) if n != 1 && n != 3 => r.error(
            &format!("{p}/count"),
            format!("a master group has 1 (or 3, for high availability) instances, not {n}"),
            "set count to 1",
        ),
        (false, None) => r.error(
            &format!("{p}/count"),
            "count is missing",
            "give the number of instances (0 leaves the group out)",
        ),
        _ => {}
    }
    if let Some(ebs) = &g.ebs_configuration {
        ebs_config(r, &format!("{p}/ebsConfiguration"), ebs);
    }
}

fn fleet(r: &mut Report<'_>, p: &str, f: &InstanceFleet, master: bool) {
    let on_demand = f.target_on_demand_capacity.unwrap_or(0);
    let spot = f.target_spot_capacity.unwrap_or(0);
    if master && on_demand + spot != 1 {
        r.error(
            p,
            format!("the master fleet needs a total target capacity of 1 (on demand {on_demand} + spot {spot})"),
            "set exactly one of targetOnDemandCapacity or targetSpotCapacity to 1",
        );
    } else if !master && on_demand + spot == 0 && p.ends_with("core") {
        r.error(
            p,
            "the core fleet has no target capacity",
            "set targetOnDemandCapacity and/or targetSpotCapacity",
        );
    }
    if master && f.instance_types.len() > 5 {
        r.error(
            &format!("{p}/instanceTypes"),
            "EMR takes at most 5 instance types for the master fleet",
            "list 5 or fewer",
        );
    }
    for (i, t) in f.instance_types.iter().enumerate() {
        if t.bid.as_deref().is_some_and(|b| !b.is_empty())
            && t.bid_as_percentage_of_on_demand.is_some()
        {
            r.error(
                &format!("{p}/instanceTypes/{i}"),
                "both `bid` and `bidAsPercentageOfOnDemand` are given",
                "keep one of them",
            );
        }
        if let Some(ebs) = &t.ebs_configuration {
            ebs_config(r, &format!("{p}/instanceTypes/{i}/ebsConfiguration"), ebs);
        }
    }
}

fn ebs_config(r: &mut Report<'_>, p: &str, ebs: &EbsConfiguration) {
    for (i, dev) in ebs.ebs_block_device_configs.iter().flatten().enumerate() {
        let spec = &dev.volume_specification;
        let at = format!("{p}/ebsBlockDeviceConfigs/{i}/volumeSpecification");
        match (spec.volume_type.as_str(), spec.iops) {
            (t, Some(_)) if !crate::plan::IOPS_VOLUME_TYPES.contains(&t) => r.warn(
                &format!("{at}/iops"),
                format!(
                    "iops is not sent for {t} volumes (EMR takes IOPS for gp3, io1 and io2 volumes only)"
                ),
                "remove iops",
            ),
            ("io1" | "io2", None) => r.error(
                &format!("{at}/iops"),
                format!("{} volumes need iops", spec.volume_type),
                "give the provisioned IOPS, e.g. \"iops\": 3000",
            ),
            _ => {}
        }
    }
}
