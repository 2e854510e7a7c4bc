//! A cluster's EC2 instances as EMR tracks them: its instance groups or instance fleets (from RunJobFlow), and each
//! instance's type, market, EBS volumes and timeline, which follow the cluster's lifecycle in virtual time. Serves
//! ListInstances, ListInstanceGroups and ListInstanceFleets, and counts NormalizedInstanceHours.

use serde_json::{json, Map, Value};

use crate::model::ClusterState;
use crate::ops::{self, ApiError};
use crate::state::State;
use crate::wire::{self, epoch};

/// ListInstances answers the instances that are active or ended within this many seconds (30 days).
pub const LISTED_AFTER_END_SECONDS: f64 = 30.0 * 86_400.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeRole {
    Master,
    Core,
    Task,
}

impl NodeRole {
    pub const ALL: [NodeRole; 3] = [Self::Master, Self::Core, Self::Task];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Master => "MASTER",
            Self::Core => "CORE",
            Self::Task => "TASK",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Market {
    OnDemand,
    Spot,
}

impl Market {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OnDemand => "ON_DEMAND",
            Self::Spot => "SPOT",
        }
    }
}

/// One EBS volume that each instance of a group (or of a fleet's instance type) gets, from its VolumeSpecification.
#[derive(Clone, Debug, PartialEq)]
pub struct VolumeSpec {
    pub volume_type: String,
    pub size_gib: i64,
    pub iops: Option<i64>,
    pub throughput: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct Group {
    pub id: String,
    pub name: Option<String>,
    pub role: NodeRole,
    pub market: Market,
    pub bid_price: Option<String>,
    pub instance_type: String,
    pub requested: i64,
    pub volumes: Vec<VolumeSpec>,
    pub ebs_optimized: Option<bool>,
}

#[derive(Clone, Debug)]
pub struct FleetType {
    pub instance_type: String,
    pub weighted_capacity: i64,
    pub bid_price: Option<String>,
    pub bid_price_percentage: Option<f64>,
    pub volumes: Vec<VolumeSpec>,
    pub ebs_optimized: Option<bool>,
}

#[derive(Clone, Debug)]
pub struct Fleet {
    pub id: String,
    pub name: Option<String>,
    pub role: NodeRole,
    pub target_on_demand: i64,
    pub target_spot: i64,
    pub types: Vec<FleetType>,
    pub launch_specifications: Option<Value>,
}

/// The group or fleet an instance belongs to (an index into [`Instances::groups`] or [`Instances::fleets`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    Group(usize),
    Fleet(usize),
}

#[derive(Clone, Debug)]
pub struct Instance {
    /// EMR's id (`ci-…`).
    pub id: String,
    pub ec2_instance_id: String,
    pub owner: Owner,
    pub role: NodeRole,
    pub market: Market,
    pub instance_type: String,
    /// Units of its fleet's target capacity it provides (1 in a group).
    pub weight: i64,
    /// (device, volume id), one per volume of its group or fleet instance type.
    pub volumes: Vec<(String, String)>,
    pub private_ip: String,
    pub created: f64,
    pub ready: Option<f64>,
    pub ended: Option<f64>,
    /// Code and message of its end.
    pub end_reason: Option<(&'static str, String)>,
}

/// DescribeCluster's `Ec2InstanceAttributes`.
#[derive(Clone, Debug, Default)]
pub struct Ec2Attributes {
    pub key_name: Option<String>,
    pub subnet_id: Option<String>,
    pub requested_subnet_ids: Vec<String>,
    pub availability_zone: String,
    pub requested_availability_zones: Vec<String>,
    pub instance_profile: Option<String>,
}

/// Everything EMR knows of a cluster's instances.
#[derive(Clone, Debug, Default)]
pub struct Instances {
    pub ec2: Ec2Attributes,
    pub groups: Vec<Group>,
    pub fleets: Vec<Fleet>,
    /// In launch order: the master first.
    pub list: Vec<Instance>,
}

fn volume_specs(ebs: Option<&wire::EbsConfiguration>) -> (Vec<VolumeSpec>, Option<bool>) {
    let Some(ebs) = ebs else {
        return (Vec::new(), None);
    };
    let mut out = Vec::new();
    for device in ebs.ebs_block_device_configs.iter().flatten() {
        let Some(v) = &device.volume_specification else {
            continue;
        };
        for _ in 0..device.volumes_per_instance.unwrap_or(1).max(0) {
            out.push(VolumeSpec {
                volume_type: v.volume_type.clone().unwrap_or_default(),
                size_gib: v.size_in_gb.unwrap_or_default(),
                iops: v.iops,
                throughput: v.throughput,
            });
        }
    }
    (out, ebs.ebs_optimized)
}

fn role_of(s: Option<&str>) -> NodeRole {
    s.and_then(NodeRole::parse).unwrap_or(NodeRole::Task)
}

/// What one new instance is, before it gets its ids.
struct Launch<'a> {
    owner: Owner,
    role: NodeRole,
    market: Market,
    instance_type: &'a str,
    weight: i64,
    volumes: usize,
}

impl Instances {
    /// The instances RunJobFlow's `Instances` asks for, launched at `now` in `region`. The master gets
    /// `master_ec2_instance_id`. Legacy `MasterInstanceType`/`SlaveInstanceType`/`InstanceCount` make a master
    /// group and a core group of `InstanceCount - 1`. A fleet is filled with its first instance type: on-demand
    /// instances for `TargetOnDemandCapacity`, then spot ones for `TargetSpotCapacity`, each counting its
    /// `WeightedCapacity` (default 1) towards the target.
    pub fn launch(
        state: &mut State,
        cfg: &wire::JobFlowInstancesConfig,
        instance_profile: Option<&str>,
        region: &str,
        master_ec2_instance_id: &str,
        now: f64,
    ) -> Self {
        let placement = cfg.placement.as_ref();
        let requested_zones = placement
            .and_then(|p| p.availability_zones.clone())
            .unwrap_or_default();
        let zone = placement
            .and_then(|p| p.availability_zone.clone())
            .or_else(|| requested_zones.first().cloned())
            .unwrap_or_else(|| format!("{region}a"));
        let requested_subnet_ids = cfg.ec2_subnet_ids.clone().unwrap_or_default();
        let mut out = Instances {
            ec2: Ec2Attributes {
                key_name: cfg.ec2_key_name.clone(),
                subnet_id: cfg
                    .ec2_subnet_id
                    .clone()
                    .or_else(|| requested_subnet_ids.first().cloned()),
                requested_subnet_ids,
                availability_zone: zone,
                requested_availability_zones: requested_zones,
                instance_profile: instance_profile.map(str::to_string),
            },
            ..Instances::default()
        };
        let mut launches: Vec<(Launch<'_>, i64)> = Vec::new();
        let mut legacy = Vec::new();
        if cfg.instance_groups.is_none() && cfg.instance_fleets.is_none() {
            if let Some(master) = &cfg.master_instance_type {
                legacy.push(("Master Instance Group", NodeRole::Master, master, 1));
                let core = cfg.instance_count.unwrap_or(1) - 1;
                if core > 0 {
                    let slave = cfg.slave_instance_type.as_ref().unwrap_or(master);
                    legacy.push(("Core Instance Group", NodeRole::Core, slave, core));
                }
            }
        }
        for (name, role, instance_type, count) in legacy {
            out.groups.push(Group {
                id: state.new_id("ig-"),
                name: Some(name.to_string()),
                role,
                market: Market::OnDemand,
                bid_price: None,
                instance_type: instance_type.clone(),
                requested: count,
                volumes: Vec::new(),
                ebs_optimized: None,
            });
        }
        for g in cfg.instance_groups.iter().flatten() {
            let (volumes, ebs_optimized) = volume_specs(g.ebs_configuration.as_ref());
            out.groups.push(Group {
                id: state.new_id("ig-"),
                name: g.name.clone(),
                role: role_of(g.instance_role.as_deref()),
                market: if g.market.as_deref() == Some("SPOT") {
                    Market::Spot
                } else {
                    Market::OnDemand
                },
                bid_price: g.bid_price.clone(),
                instance_type: g.instance_type.clone().unwrap_or_default(),
                requested: g.instance_count.unwrap_or(0).max(0),
                volumes,
                ebs_optimized,
            });
        }
        for f in cfg.instance_fleets.iter().flatten() {
            let types = f
                .instance_type_configs
                .iter()
                .flatten()
                .map(|t| {
                    let (volumes, ebs_optimized) = volume_specs(t.ebs_configuration.as_ref());
                    FleetType {
                        instance_type: t.instance_type.clone().unwrap_or_default(),
                        weighted_capacity: t.weighted_capacity.unwrap_or(1).max(1),
                        bid_price: t.bid_price.clone(),
                        bid_price_percentage: t.bid_price_as_percentage_of_on_demand_price,
                        volumes,
                        ebs_optimized,
                    }
                })
                .collect();
            out.fleets.push(Fleet {
                id: state.new_id("if-"),
                name: f.name.clone(),
                role: role_of(f.instance_fleet_type.as_deref()),
                target_on_demand: f.target_on_demand_capacity.unwrap_or(0).max(0),
                target_spot: f.target_spot_capacity.unwrap_or(0).max(0),
                types,
                launch_specifications: f.launch_specifications.clone(),
            });
        }
        for (i, g) in out.groups.iter().enumerate() {
            let launch = Launch {
                owner: Owner::Group(i),
                role: g.role,
                market: g.market,
                instance_type: &g.instance_type,
                weight: 1,
                volumes: g.volumes.len(),
            };
            launches.push((launch, g.requested));
        }
        for (i, f) in out.fleets.iter().enumerate() {
            let Some(first) = f.types.first() else {
                continue;
            };
            let w = first.weighted_capacity;
            for (market, target) in [
                (Market::OnDemand, f.target_on_demand),
                (Market::Spot, f.target_spot),
            ] {
                let launch = Launch {
                    owner: Owner::Fleet(i),
                    role: f.role,
                    market,
                    instance_type: &first.instance_type,
                    weight: w,
                    volumes: first.volumes.len(),
                };
                launches.push((launch, (target + w - 1) / w));
            }
        }
        // Masters first, as EMR lists them.
        launches.sort_by_key(|(l, _)| l.role != NodeRole::Master);
        let mut master_id = Some(master_ec2_instance_id.to_string());
        let mut list = Vec::new();
        for (l, count) in launches {
            for _ in 0..count {
                let ec2_instance_id = match (l.role, master_id.take()) {
                    (NodeRole::Master, Some(id)) => id,
                    (_, id) => {
                        master_id = id;
                        state.new_ec2_id("i-")
                    }
                };
                let n = state.next_seq();
                list.push(Instance {
                    id: state.new_id("ci-"),
                    ec2_instance_id,
                    owner: l.owner,
                    role: l.role,
                    market: l.market,
                    instance_type: l.instance_type.to_string(),
                    weight: l.weight,
                    volumes: (0..l.volumes)
                        .map(|v| (device_name(v), state.new_ec2_id("vol-")))
                        .collect(),
                    private_ip: format!("10.0.{}.{}", (n >> 8) & 255, n & 255),
                    created: now,
                    ready: None,
                    ended: None,
                    end_reason: None,
                });
            }
        }
        out.list = list;
        out
    }

    /// The volumes each instance of `i`'s group (or fleet instance type) gets.
    pub fn volume_specs(&self, i: &Instance) -> &[VolumeSpec] {
        match i.owner {
            Owner::Group(g) => &self.groups[g].volumes,
            Owner::Fleet(f) => self.fleets[f]
                .types
                .iter()
                .find(|t| t.instance_type == i.instance_type)
                .map_or(&[], |t| &t.volumes),
        }
    }

    /// The cluster became ready: so did every instance still up.
    pub fn on_ready(&mut self, t: f64) {
        for i in self.list.iter_mut().filter(|i| i.ended.is_none()) {
            i.ready = Some(t);
        }
    }

    /// The cluster ended: every instance still up ends with it.
    pub fn on_cluster_end(&mut self, t: f64) {
        for i in self.list.iter_mut().filter(|i| i.ended.is_none()) {
            i.ended = Some(t);
            i.end_reason = Some((
                "CLUSTER_TERMINATED",
                "Instance was terminated because the cluster terminated.".to_string(),
            ));
        }
    }

    /// Whether a spot interruption would end anything: a core or task spot instance still up.
    pub fn has_interruptible_spot(&self) -> bool {
        self.list.iter().any(interruptible)
    }

    /// EC2 reclaims the spot capacity: the core and task spot instances end (a spot master would end the cluster,
    /// which a scenario's instance failure models). They are not replaced.
    pub fn interrupt_spot(&mut self, t: f64) {
        for i in self.list.iter_mut().filter(|i| interruptible(i)) {
            i.ended = Some(t);
            i.end_reason = Some((
                "INSTANCE_FAILURE",
                "Spot instance interrupted: Amazon EC2 reclaimed the capacity.".to_string(),
            ));
        }
    }

    /// NormalizedInstanceHours at `now`: per instance, its hours from launch to its end (or now) rounded up to whole
    /// hours, times its size's m1.small-equivalent factor ([`normalization_factor`]); summed, rounded up.
    pub fn normalized_instance_hours(&self, now: f64) -> i64 {
        let total: f64 = self
            .list
            .iter()
            .map(|i| {
                let millis = ((i.ended.unwrap_or(now) - i.created) * 1000.0)
                    .round()
                    .max(0.0) as i64;
                let hours = (millis + 3_599_999) / 3_600_000;
                hours as f64 * normalization_factor(&i.instance_type)
            })
            .sum();
        total.ceil() as i64
    }
}

fn interruptible(i: &Instance) -> bool {
    i.market == Market::Spot && i.role != NodeRole::Master && i.ended.is_none()
}

/// `/dev/sdb`, `/dev/sdc`, …: where EMR attaches the EBS volumes of an instance.
fn device_name(n: usize) -> String {
    let letter = (b'b' + (n % 25) as u8) as char;
    format!("/dev/sd{letter}")
}

/// How many m1.small-hours one hour of an instance of this type counts for in NormalizedInstanceHours, by size:
/// nano 0.25, micro 0.5, small 1, medium 2, large 4, xlarge 8, then 8 per xlarge (2xlarge 16, 4xlarge 32, …);
/// `metal` as 24xlarge (192); 0 for a size it does not know.
pub fn normalization_factor(instance_type: &str) -> f64 {
    let size = instance_type.rsplit('.').next().unwrap_or_default();
    match size {
        "nano" => 0.25,
        "micro" => 0.5,
        "small" => 1.0,
        "medium" => 2.0,
        "large" => 4.0,
        "xlarge" => 8.0,
        "metal" => 192.0,
        other => other
            .strip_suffix("xlarge")
            .and_then(|n| n.parse::<f64>().ok())
            .map_or(0.0, |n| 8.0 * n),
    }
}

// ------------------------------------------------------------------ views

fn instance_state(i: &Instance, cluster: ClusterState) -> &'static str {
    match (i.ended, i.ready, cluster) {
        (Some(_), _, _) => "TERMINATED",
        (None, Some(_), _) => "RUNNING",
        (None, None, ClusterState::Starting) => "PROVISIONING",
        (None, None, _) => "BOOTSTRAPPING",
    }
}

/// The state of a group or fleet, which follows its cluster's.
fn collection_state(cluster: ClusterState) -> &'static str {
    match cluster {
        ClusterState::Starting => "PROVISIONING",
        ClusterState::Bootstrapping => "BOOTSTRAPPING",
        ClusterState::Running | ClusterState::Waiting => "RUNNING",
        ClusterState::Terminating => "TERMINATING",
        ClusterState::Terminated | ClusterState::TerminatedWithErrors => "TERMINATED",
    }
}

fn timeline(created: f64, ready: Option<f64>, ended: Option<f64>) -> Value {
    let mut t = Map::new();
    t.insert("CreationDateTime".into(), json!(epoch(created)));
    if let Some(r) = ready {
        t.insert("ReadyDateTime".into(), json!(epoch(r)));
    }
    if let Some(e) = ended {
        t.insert("EndDateTime".into(), json!(epoch(e)));
    }
    Value::Object(t)
}

fn volume_view(v: &VolumeSpec, n: usize) -> Value {
    let mut spec = json!({"VolumeType": v.volume_type, "SizeInGB": v.size_gib});
    if let Some(iops) = v.iops {
        spec["Iops"] = json!(iops);
    }
    if let Some(throughput) = v.throughput {
        spec["Throughput"] = json!(throughput);
    }
    json!({"VolumeSpecification": spec, "Device": device_name(n)})
}

fn volumes_view(volumes: &[VolumeSpec]) -> Vec<Value> {
    volumes
        .iter()
        .enumerate()
        .map(|(n, v)| volume_view(v, n))
        .collect()
}

/// What a collection's times are: the cluster's.
pub struct ClusterTimes {
    pub state: ClusterState,
    pub created: f64,
    pub ready: Option<f64>,
    pub ended: Option<f64>,
}

fn collection_status(c: &ClusterTimes) -> Value {
    let reason = if c.state.is_terminal() {
        json!({"Code": "CLUSTER_TERMINATED", "Message": "Cluster terminated."})
    } else {
        json!({})
    };
    json!({
        "State": collection_state(c.state),
        "StateChangeReason": reason,
        "Timeline": timeline(c.created, c.ready, c.ended),
    })
}

impl Instances {
    fn instance_view(&self, i: &Instance, cluster: ClusterState, region: &str) -> Value {
        let mut reason = Map::new();
        if let Some((code, message)) = &i.end_reason {
            reason.insert("Code".into(), json!(code));
            reason.insert("Message".into(), json!(message));
        }
        let dns_suffix = if region == "us-east-1" {
            "ec2.internal".to_string()
        } else {
            format!("{region}.compute.internal")
        };
        let mut v = json!({
            "Id": i.id,
            "Ec2InstanceId": i.ec2_instance_id,
            "PrivateDnsName": format!("ip-{}.{dns_suffix}", i.private_ip.replace('.', "-")),
            "PrivateIpAddress": i.private_ip,
            "Status": {
                "State": instance_state(i, cluster),
                "StateChangeReason": reason,
                "Timeline": timeline(i.created, i.ready, i.ended),
            },
            "Market": i.market.as_str(),
            "InstanceType": i.instance_type,
            "EbsVolumes": i.volumes.iter().map(|(d, id)| json!({"Device": d, "VolumeId": id})).collect::<Vec<_>>(),
        });
        match i.owner {
            Owner::Group(g) => v["InstanceGroupId"] = json!(self.groups[g].id),
            Owner::Fleet(f) => v["InstanceFleetId"] = json!(self.fleets[f].id),
        }
        v
    }

    fn running(&self, owner: Owner, market: Option<Market>) -> impl Iterator<Item = &Instance> {
        self.list.iter().filter(move |i| {
            i.owner == owner
                && i.ready.is_some()
                && i.ended.is_none()
                && market.is_none_or(|m| i.market == m)
        })
    }

    fn group_view(&self, n: usize, c: &ClusterTimes) -> Value {
        let g = &self.groups[n];
        let mut v = json!({
            "Id": g.id,
            "Market": g.market.as_str(),
            "InstanceGroupType": g.role.as_str(),
            "InstanceType": g.instance_type,
            "RequestedInstanceCount": g.requested,
            "RunningInstanceCount": self.running(Owner::Group(n), None).count(),
            "Status": collection_status(c),
            "Configurations": [],
            "EbsBlockDevices": volumes_view(&g.volumes),
            "ShrinkPolicy": {},
        });
        if let Some(name) = &g.name {
            v["Name"] = json!(name);
        }
        if let Some(bid) = &g.bid_price {
            v["BidPrice"] = json!(bid);
        }
        if let Some(opt) = g.ebs_optimized {
            v["EbsOptimized"] = json!(opt);
        }
        v
    }

    fn fleet_view(&self, n: usize, c: &ClusterTimes) -> Value {
        let f = &self.fleets[n];
        let provisioned = |market| -> i64 {
            self.running(Owner::Fleet(n), Some(market))
                .map(|i| i.weight)
                .sum()
        };
        let types: Vec<Value> = f
            .types
            .iter()
            .map(|t| {
                let mut v = json!({
                    "InstanceType": t.instance_type,
                    "WeightedCapacity": t.weighted_capacity,
                    "EbsBlockDevices": volumes_view(&t.volumes),
                });
                if let Some(bid) = &t.bid_price {
                    v["BidPrice"] = json!(bid);
                }
                if let Some(pct) = t.bid_price_percentage {
                    v["BidPriceAsPercentageOfOnDemandPrice"] = json!(pct);
                }
                if let Some(opt) = t.ebs_optimized {
                    v["EbsOptimized"] = json!(opt);
                }
                v
            })
            .collect();
        let mut v = json!({
            "Id": f.id,
            "Status": collection_status(c),
            "InstanceFleetType": f.role.as_str(),
            "TargetOnDemandCapacity": f.target_on_demand,
            "TargetSpotCapacity": f.target_spot,
            "ProvisionedOnDemandCapacity": provisioned(Market::OnDemand),
            "ProvisionedSpotCapacity": provisioned(Market::Spot),
            "InstanceTypeSpecifications": types,
        });
        if let Some(name) = &f.name {
            v["Name"] = json!(name);
        }
        if let Some(spec) = &f.launch_specifications {
            v["LaunchSpecifications"] = spec.clone();
        }
        v
    }

    /// DescribeCluster's `Ec2InstanceAttributes`.
    pub fn ec2_attributes(&self) -> Value {
        let e = &self.ec2;
        let mut v = json!({
            "RequestedEc2SubnetIds": e.requested_subnet_ids,
            "Ec2AvailabilityZone": e.availability_zone,
            "RequestedEc2AvailabilityZones": e.requested_availability_zones,
        });
        for (key, value) in [
            ("Ec2KeyName", &e.key_name),
            ("Ec2SubnetId", &e.subnet_id),
            ("IamInstanceProfile", &e.instance_profile),
        ] {
            if let Some(value) = value {
                v[key] = json!(value);
            }
        }
        v
    }
}

// ------------------------------------------------------------- operations

fn enum_error(value: &str, member: &str, allowed: &str) -> ApiError {
    ApiError::validation(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy enum value set: [{allowed}]"
    ))
}

const INSTANCE_STATES: [&str; 5] = [
    "AWAITING_FULFILLMENT",
    "PROVISIONING",
    "BOOTSTRAPPING",
    "RUNNING",
    "TERMINATED",
];

fn roles(values: Option<Vec<String>>, member: &str) -> Result<Vec<NodeRole>, ApiError> {
    values
        .unwrap_or_default()
        .iter()
        .map(|v| NodeRole::parse(v).ok_or_else(|| enum_error(v, member, "MASTER, CORE, TASK")))
        .collect()
}

/// One page (`ops::PAGE_SIZE`) of `items` in their order under `key`, from the marker's position (`m-<index>`).
fn listing(key: &str, items: Vec<Value>, marker: Option<&str>) -> Result<Value, ApiError> {
    let start = ops::parse_marker(marker)?.unwrap_or(0) as usize;
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(start).take(ops::PAGE_SIZE).collect();
    let mut out = json!({ key: page });
    if start + ops::PAGE_SIZE < total {
        out["Marker"] = json!(format!("m-{}", start + ops::PAGE_SIZE));
    }
    Ok(out)
}

/// ListInstances: the cluster's instances that are active or ended within 30 days, launch order, 50 a page.
pub fn list_instances(
    state: &State,
    input: wire::ListInstancesInput,
    now: f64,
) -> Result<Value, ApiError> {
    let id = ops::required(input.cluster_id, "clusterId")?;
    let group_types = roles(input.instance_group_types, "instanceGroupTypes")?;
    let fleet_type = match input.instance_fleet_type.as_deref() {
        None => None,
        Some(t) => Some(
            NodeRole::parse(t)
                .ok_or_else(|| enum_error(t, "instanceFleetType", "MASTER, CORE, TASK"))?,
        ),
    };
    let states = input.instance_states.unwrap_or_default();
    if let Some(bad) = states
        .iter()
        .find(|s| !INSTANCE_STATES.contains(&s.as_str()))
    {
        return Err(enum_error(
            bad,
            "instanceStates",
            &INSTANCE_STATES.join(", "),
        ));
    }
    let c = &state.clusters[ops::find(state, &id, false)?];
    let x = &c.instances;
    let items = x
        .list
        .iter()
        .filter(|i| i.ended.is_none_or(|e| now - e <= LISTED_AFTER_END_SECONDS))
        .filter(|i| {
            let group = match i.owner {
                Owner::Group(g) => Some(&x.groups[g]),
                Owner::Fleet(_) => None,
            };
            let fleet = match i.owner {
                Owner::Fleet(f) => Some(&x.fleets[f]),
                Owner::Group(_) => None,
            };
            input
                .instance_group_id
                .as_ref()
                .is_none_or(|want| group.is_some_and(|g| &g.id == want))
                && (group_types.is_empty() || group.is_some_and(|g| group_types.contains(&g.role)))
                && input
                    .instance_fleet_id
                    .as_ref()
                    .is_none_or(|want| fleet.is_some_and(|f| &f.id == want))
                && fleet_type.is_none_or(|t| fleet.is_some_and(|f| f.role == t))
                && (states.is_empty() || states.iter().any(|s| s == instance_state(i, c.state)))
        })
        .map(|i| x.instance_view(i, c.state, &state.caller_region))
        .collect();
    listing("Instances", items, input.marker.as_deref())
}

fn times(c: &crate::model::Cluster) -> ClusterTimes {
    ClusterTimes {
        state: c.state,
        created: c.created,
        ready: c.ready,
        ended: c.ended,
    }
}

/// ListInstanceGroups (a cluster launched with instance fleets has none).
pub fn list_instance_groups(
    state: &State,
    input: wire::ClusterMarkerInput,
) -> Result<Value, ApiError> {
    let id = ops::required(input.cluster_id, "clusterId")?;
    let c = &state.clusters[ops::find(state, &id, false)?];
    let items = (0..c.instances.groups.len())
        .map(|n| c.instances.group_view(n, &times(c)))
        .collect();
    listing("InstanceGroups", items, input.marker.as_deref())
}

/// ListInstanceFleets (a cluster launched with instance groups has none).
pub fn list_instance_fleets(
    state: &State,
    input: wire::ClusterMarkerInput,
) -> Result<Value, ApiError> {
    let id = ops::required(input.cluster_id, "clusterId")?;
    let c = &state.clusters[ops::find(state, &id, false)?];
    let items = (0..c.instances.fleets.len())
        .map(|n| c.instances.fleet_view(n, &times(c)))
        .collect();
    listing("InstanceFleets", items, input.marker.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_sizing_instance_types_should_count_m1_small_equivalents() {
        let cases = [
            ("t3.nano", 0.25),
            ("t3.micro", 0.5),
            ("m1.small", 1.0),
            ("m1.medium", 2.0),
            ("m4.large", 4.0),
            ("m5.xlarge", 8.0),
            ("r5.2xlarge", 16.0),
            ("c3.4xlarge", 32.0),
            ("m5.24xlarge", 192.0),
            ("m5.metal", 192.0),
            ("odd", 0.0),
        ];
        for (t, factor) in cases {
            assert_eq!(normalization_factor(t), factor, "{t}");
        }
    }

    #[test]
    fn when_naming_devices_should_start_at_sdb() {
        assert_eq!(device_name(0), "/dev/sdb");
        assert_eq!(device_name(2), "/dev/sdd");
    }
}
