//! Reads a role's policy documents out of a CloudFormation (SAM) template, resolving the
//! intrinsic functions and names the way CloudFormation would at deploy time, so the policies in
//! force locally are exactly the deployed ones (nothing copied by hand).
//!
//! Resolution is lazy: only what a role's policies reach is resolved, so an unmodelled corner of
//! the template elsewhere does not matter.

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde_json::{json, Value as Json};
use serde_yaml_ng::{Mapping, Value as Yaml};

/// Where a template is deployed: what the pseudo parameters and generated names resolve to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackContext {
    pub stack_name: String,
    pub account_id: String,
    pub region: String,
    /// Overrides of the template's parameter defaults.
    pub parameters: BTreeMap<String, String>,
}

impl Default for StackContext {
    fn default() -> Self {
        StackContext {
            stack_name: "dataflow-runner".to_string(),
            account_id: crate::state::ACCOUNT_ID.to_string(),
            region: "eu-west-1".to_string(),
            parameters: BTreeMap::new(),
        }
    }
}

impl StackContext {
    pub fn with_parameter(mut self, name: &str, value: &str) -> Self {
        self.parameters.insert(name.to_string(), value.to_string());
        self
    }
}

const PARTITION: &str = "aws";
const URL_SUFFIX: &str = "amazonaws.com";

/// A role's resolved policy documents.
#[derive(Clone, Debug)]
pub(crate) struct RolePolicies {
    pub role_name: String,
    pub documents: Vec<Json>,
}

type Res<T> = Result<T, String>;

pub(crate) struct Template<'a> {
    ctx: &'a StackContext,
    parameters: BTreeMap<String, Json>,
    conditions: Mapping,
    mappings: Mapping,
    resources: Mapping,
    condition_values: RefCell<BTreeMap<String, bool>>,
    evaluating: RefCell<Vec<String>>,
}

fn section(root: &Yaml, name: &str) -> Res<Mapping> {
    match root.get(name) {
        None | Some(Yaml::Null) => Ok(Mapping::new()),
        Some(Yaml::Mapping(m)) => Ok(m.clone()),
        Some(_) => Err(format!("the template's {name} must be a mapping")),
    }
}

fn scalar_text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn yaml_text(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) => Some(s.clone()),
        Yaml::Number(n) => Some(n.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The intrinsic function a node is, if any: `!Tag arg` or a one-key `{Ref|Fn::X: arg}` mapping.
fn intrinsic(v: &Yaml) -> Option<(String, &Yaml)> {
    match v {
        Yaml::Tagged(t) => {
            let tag = t.tag.to_string();
            let name = tag.trim_start_matches('!');
            let full = match name {
                "Ref" | "Condition" => name.to_string(),
                other => format!("Fn::{other}"),
            };
            Some((full, &t.value))
        }
        Yaml::Mapping(m) if m.len() == 1 => {
            let (k, arg) = m.iter().next()?;
            let k = k.as_str()?;
            (k == "Ref" || k.starts_with("Fn::")).then(|| (k.to_string(), arg))
        }
        _ => None,
    }
}

fn args<'y>(name: &str, arg: &'y Yaml, count: usize) -> Res<&'y [Yaml]> {
    match arg {
        Yaml::Sequence(s) if s.len() == count => Ok(s.as_slice()),
        _ => Err(format!("{name} takes a list of {count}")),
    }
}

impl<'a> Template<'a> {
    pub fn parse(text: &str, ctx: &'a StackContext) -> Res<Self> {
        let root: Yaml =
            serde_yaml_ng::from_str(text).map_err(|e| format!("template is not YAML: {e}"))?;
        let declared = section(&root, "Parameters")?;
        let mut parameters = BTreeMap::new();
        for (name, decl) in &declared {
            let name = name.as_str().ok_or("a parameter name must be a string")?;
            let text = match ctx.parameters.get(name) {
                Some(v) => v.clone(),
                None => decl.get("Default").and_then(yaml_text).ok_or_else(|| {
                    format!("parameter {name} has no Default: give it in the stack parameters")
                })?,
            };
            if let Some(Yaml::Sequence(allowed)) = decl.get("AllowedValues") {
                if !allowed.iter().filter_map(yaml_text).any(|a| a == text) {
                    return Err(format!(
                        "parameter {name}: '{text}' is not one of its AllowedValues"
                    ));
                }
            }
            let kind = decl.get("Type").and_then(Yaml::as_str).unwrap_or("String");
            let value = if kind == "CommaDelimitedList" || kind.starts_with("List<") {
                json!(text.split(',').collect::<Vec<_>>())
            } else {
                json!(text)
            };
            parameters.insert(name.to_string(), value);
        }
        if let Some(unknown) = ctx.parameters.keys().find(|k| !parameters.contains_key(*k)) {
            return Err(format!(
                "parameter {unknown} does not exist in the template"
            ));
        }
        Ok(Template {
            ctx,
            parameters,
            conditions: section(&root, "Conditions")?,
            mappings: section(&root, "Mappings")?,
            resources: section(&root, "Resources")?,
            condition_values: RefCell::default(),
            evaluating: RefCell::default(),
        })
    }

    // ------------------------------------------------------------- resources

    fn resource(&self, id: &str) -> Res<&Yaml> {
        let r = self
            .resources
            .get(id)
            .ok_or_else(|| format!("no resource {id} in the template"))?;
        if let Some(cond) = r.get("Condition").and_then(Yaml::as_str) {
            if !self.condition(cond)? {
                return Err(format!(
                    "resource {id} is not created (its condition {cond} is false)"
                ));
            }
        }
        Ok(r)
    }

    fn type_of(&self, id: &str) -> Res<String> {
        self.resource(id)?
            .get("Type")
            .and_then(Yaml::as_str)
            .map(str::to_string)
            .ok_or_else(|| format!("resource {id} has no Type"))
    }

    /// A resource property, resolved (`None` when absent or `AWS::NoValue`).
    fn property(&self, id: &str, name: &str) -> Res<Option<Json>> {
        match self
            .resource(id)?
            .get("Properties")
            .and_then(|p| p.get(name))
        {
            None => Ok(None),
            Some(v) => self.resolve(v),
        }
    }

    fn string_property(&self, id: &str, name: &str) -> Res<Option<String>> {
        match self.property(id, name)? {
            None => Ok(None),
            Some(v) => scalar_text(&v)
                .map(Some)
                .ok_or_else(|| format!("{id}.{name} must be a string")),
        }
    }

    /// The name CloudFormation gives a resource: its name property, or one it generates (ours:
    /// `<stack>-<LogicalId>`; AWS appends a random suffix).
    fn physical_name(&self, id: &str, property: &str) -> Res<String> {
        Ok(self
            .string_property(id, property)?
            .unwrap_or_else(|| format!("{}-{id}", self.ctx.stack_name)))
    }

    /// `Path` of an IAM resource, `/` by default.
    fn iam_path(&self, id: &str) -> Res<String> {
        Ok(self
            .string_property(id, "Path")?
            .unwrap_or_else(|| "/".to_string()))
    }

    /// What `!Ref id` and `!GetAtt id.<attr>` give, per resource type.
    fn resource_values(&self, id: &str) -> Res<(String, Vec<(&'static str, String)>)> {
        let (acct, region) = (&self.ctx.account_id, &self.ctx.region);
        let kind = self.type_of(id)?;
        Ok(match kind.as_str() {
            "AWS::IAM::Role" => {
                let name = self.physical_name(id, "RoleName")?;
                let arn = format!(
                    "arn:{PARTITION}:iam::{acct}:role{}{name}",
                    self.iam_path(id)?
                );
                (name, vec![("Arn", arn)])
            }
            "AWS::IAM::ManagedPolicy" => {
                let name = self.physical_name(id, "ManagedPolicyName")?;
                let arn = format!(
                    "arn:{PARTITION}:iam::{acct}:policy{}{name}",
                    self.iam_path(id)?
                );
                (arn.clone(), vec![("PolicyArn", arn)])
            }
            "AWS::IAM::InstanceProfile" => {
                let name = self.physical_name(id, "InstanceProfileName")?;
                let path = self.iam_path(id)?;
                let arn = format!("arn:{PARTITION}:iam::{acct}:instance-profile{path}{name}");
                (name, vec![("Arn", arn)])
            }
            "AWS::Lambda::Function" | "AWS::Serverless::Function" => {
                let name = self.physical_name(id, "FunctionName")?;
                let arn = format!("arn:{PARTITION}:lambda:{region}:{acct}:function:{name}");
                (name, vec![("Arn", arn)])
            }
            "AWS::Logs::LogGroup" => {
                let name = self.physical_name(id, "LogGroupName")?;
                let arn = format!("arn:{PARTITION}:logs:{region}:{acct}:log-group:{name}:*");
                (name, vec![("Arn", arn)])
            }
            "AWS::SQS::Queue" => {
                let name = self.physical_name(id, "QueueName")?;
                let url = format!("https://sqs.{region}.{URL_SUFFIX}/{acct}/{name}");
                let arn = format!("arn:{PARTITION}:sqs:{region}:{acct}:{name}");
                (
                    url.clone(),
                    vec![("Arn", arn), ("QueueName", name), ("QueueUrl", url)],
                )
            }
            "AWS::StepFunctions::StateMachine" | "AWS::Serverless::StateMachine" => {
                let property = if kind.starts_with("AWS::Serverless") {
                    "Name"
                } else {
                    "StateMachineName"
                };
                let name = self.physical_name(id, property)?;
                let arn = format!("arn:{PARTITION}:states:{region}:{acct}:stateMachine:{name}");
                (arn.clone(), vec![("Arn", arn), ("Name", name)])
            }
            "AWS::SNS::Topic" => {
                let name = self.physical_name(id, "TopicName")?;
                let arn = format!("arn:{PARTITION}:sns:{region}:{acct}:{name}");
                (arn.clone(), vec![("TopicArn", arn), ("TopicName", name)])
            }
            "AWS::Events::Rule" => {
                let name = self.physical_name(id, "Name")?;
                let arn = format!("arn:{PARTITION}:events:{region}:{acct}:rule/{name}");
                (name, vec![("Arn", arn)])
            }
            "AWS::Scheduler::Schedule" => {
                let name = self.physical_name(id, "Name")?;
                let group = self
                    .string_property(id, "GroupName")?
                    .unwrap_or_else(|| "default".to_string());
                let arn =
                    format!("arn:{PARTITION}:scheduler:{region}:{acct}:schedule/{group}/{name}");
                (name, vec![("Arn", arn)])
            }
            "AWS::S3::Bucket" => {
                let name = self.physical_name(id, "BucketName")?.to_lowercase();
                let arn = format!("arn:{PARTITION}:s3:::{name}");
                (name, vec![("Arn", arn)])
            }
            "AWS::DynamoDB::Table" => {
                let name = self.physical_name(id, "TableName")?;
                let arn = format!("arn:{PARTITION}:dynamodb:{region}:{acct}:table/{name}");
                (name, vec![("Arn", arn)])
            }
            other => {
                return Err(format!(
                    "the names of {id} ({other}) are not modelled by the emulator"
                ))
            }
        })
    }

    /// A resource as CloudFormation would deploy it: its type, what `!Ref` and each `!GetAtt` give, and its
    /// properties resolved.
    pub fn resource_json(&self, id: &str) -> Res<Json> {
        let kind = self.type_of(id)?;
        let (reference, attributes) = self.resource_values(id)?;
        let mut properties = serde_json::Map::new();
        if let Some(Yaml::Mapping(props)) = self.resource(id)?.get("Properties") {
            for (k, v) in props {
                if let (Some(k), Some(v)) = (k.as_str(), self.resolve(v)?) {
                    properties.insert(k.to_string(), v);
                }
            }
        }
        let attributes: serde_json::Map<String, Json> = attributes
            .into_iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        Ok(
            json!({"Type": kind, "Ref": reference, "Attributes": attributes, "Properties": properties}),
        )
    }

    fn get_att(&self, id: &str, attribute: &str) -> Res<Json> {
        let (_, attributes) = self.resource_values(id)?;
        attributes
            .into_iter()
            .find(|(name, _)| *name == attribute)
            .map(|(_, v)| json!(v))
            .ok_or_else(|| format!("!GetAtt {id}.{attribute} is not modelled by the emulator"))
    }

    /// `!Ref name`: `None` for `AWS::NoValue`.
    fn reference(&self, name: &str) -> Res<Option<Json>> {
        let (acct, region, stack) = (&self.ctx.account_id, &self.ctx.region, &self.ctx.stack_name);
        Ok(Some(match name {
            "AWS::NoValue" => return Ok(None),
            "AWS::AccountId" => json!(acct),
            "AWS::Region" => json!(region),
            "AWS::Partition" => json!(PARTITION),
            "AWS::URLSuffix" => json!(URL_SUFFIX),
            "AWS::StackName" => json!(stack),
            "AWS::StackId" => json!(format!(
                "arn:{PARTITION}:cloudformation:{region}:{acct}:stack/{stack}/00000000-0000-0000-0000-000000000000"
            )),
            "AWS::NotificationARNs" => json!([]),
            _ => match self.parameters.get(name) {
                Some(v) => v.clone(),
                None if self.resources.contains_key(name) => json!(self.resource_values(name)?.0),
                None => return Err(format!("!Ref {name}: no such parameter or resource")),
            },
        }))
    }

    // ------------------------------------------------------------ conditions

    /// A named condition of the template's Conditions section.
    fn condition(&self, name: &str) -> Res<bool> {
        if let Some(v) = self.condition_values.borrow().get(name) {
            return Ok(*v);
        }
        if self.evaluating.borrow().iter().any(|n| n == name) {
            return Err(format!("condition {name} depends on itself"));
        }
        let expr = self
            .conditions
            .get(name)
            .ok_or_else(|| format!("no condition {name} in the template"))?;
        self.evaluating.borrow_mut().push(name.to_string());
        let value = self.boolean(expr);
        self.evaluating.borrow_mut().pop();
        let value = value.map_err(|e| format!("condition {name}: {e}"))?;
        self.condition_values
            .borrow_mut()
            .insert(name.to_string(), value);
        Ok(value)
    }

    /// A condition expression: a condition function, or `{Condition: Name}` inside one.
    fn boolean(&self, expr: &Yaml) -> Res<bool> {
        if let Yaml::Mapping(m) = expr {
            if let (1, Some(name)) = (m.len(), m.get("Condition").and_then(Yaml::as_str)) {
                return self.condition(name);
            }
        }
        match self.resolve(expr)? {
            Some(Json::Bool(b)) => Ok(b),
            Some(Json::String(s)) if s == "true" || s == "false" => Ok(s == "true"),
            other => Err(format!("expected a condition, got {other:?}")),
        }
    }

    // ------------------------------------------------------------- resolving

    fn resolve_string(&self, v: &Yaml, what: &str) -> Res<String> {
        self.resolve(v)?
            .as_ref()
            .and_then(scalar_text)
            .ok_or_else(|| format!("{what} must resolve to a string"))
    }

    fn resolve_list(&self, v: &Yaml, what: &str) -> Res<Vec<Json>> {
        match self.resolve(v)? {
            Some(Json::Array(items)) => Ok(items),
            _ => Err(format!("{what} must resolve to a list")),
        }
    }

    /// Resolves every intrinsic function in `v`. `None`: the value is `AWS::NoValue` (the
    /// enclosing list element or mapping key disappears).
    pub fn resolve(&self, v: &Yaml) -> Res<Option<Json>> {
        if let Some((name, arg)) = intrinsic(v) {
            return self.function(&name, arg);
        }
        Ok(Some(match v {
            Yaml::Null => Json::Null,
            Yaml::Bool(b) => json!(b),
            Yaml::Number(n) => serde_json::to_value(n).map_err(|e| e.to_string())?,
            Yaml::String(s) => json!(s),
            Yaml::Sequence(items) => {
                let mut out = Vec::new();
                for item in items {
                    out.extend(self.resolve(item)?);
                }
                Json::Array(out)
            }
            Yaml::Mapping(m) => {
                let mut out = serde_json::Map::new();
                for (k, item) in m {
                    let key = yaml_text(k).ok_or("mapping keys must be strings")?;
                    if let Some(value) = self.resolve(item)? {
                        out.insert(key, value);
                    }
                }
                Json::Object(out)
            }
            Yaml::Tagged(t) => return Err(format!("unknown YAML tag {}", t.tag)),
        }))
    }

    fn function(&self, name: &str, arg: &Yaml) -> Res<Option<Json>> {
        let value = match name {
            "Ref" => return self.reference(&self.resolve_string(arg, "!Ref")?),
            "Condition" => json!(self.condition(&self.resolve_string(arg, "!Condition")?)?),
            "Fn::GetAtt" => {
                let (id, attribute) = match arg {
                    Yaml::Sequence(s) if s.len() == 2 => (
                        self.resolve_string(&s[0], "!GetAtt")?,
                        self.resolve_string(&s[1], "!GetAtt")?,
                    ),
                    _ => {
                        let text = self.resolve_string(arg, "!GetAtt")?;
                        let (id, attribute) = text.split_once('.').ok_or_else(|| {
                            format!("!GetAtt {text}: expected Resource.Attribute")
                        })?;
                        (id.to_string(), attribute.to_string())
                    }
                };
                self.get_att(&id, &attribute)?
            }
            "Fn::Sub" => json!(self.sub(arg)?),
            "Fn::If" => {
                let a = args(name, arg, 3)?;
                let condition = a[0].as_str().ok_or("!If takes a condition name first")?;
                let branch = if self.condition(condition)? {
                    &a[1]
                } else {
                    &a[2]
                };
                return self.resolve(branch);
            }
            "Fn::Equals" => {
                let a = args(name, arg, 2)?;
                let (x, y) = (self.resolve(&a[0])?, self.resolve(&a[1])?);
                // Scalars compare as text, as CloudFormation does ("365" equals 365).
                let text = |v: &Option<Json>| v.as_ref().and_then(scalar_text);
                json!(match (text(&x), text(&y)) {
                    (Some(tx), Some(ty)) => tx == ty,
                    _ => x == y,
                })
            }
            "Fn::Not" => json!(!self.boolean(&args(name, arg, 1)?[0])?),
            "Fn::And" | "Fn::Or" => {
                let items = arg
                    .as_sequence()
                    .ok_or_else(|| format!("{name} takes a list"))?;
                let mut values = Vec::new();
                for item in items {
                    values.push(self.boolean(item)?);
                }
                json!(if name == "Fn::And" {
                    values.iter().all(|b| *b)
                } else {
                    values.iter().any(|b| *b)
                })
            }
            "Fn::Join" => {
                let a = args(name, arg, 2)?;
                let delimiter = self.resolve_string(&a[0], "!Join delimiter")?;
                let parts = self.resolve_list(&a[1], "!Join's second argument")?;
                let parts: Option<Vec<String>> = parts.iter().map(scalar_text).collect();
                json!(parts.ok_or("!Join joins strings")?.join(&delimiter))
            }
            "Fn::Split" => {
                let a = args(name, arg, 2)?;
                let delimiter = self.resolve_string(&a[0], "!Split delimiter")?;
                let source = self.resolve_string(&a[1], "!Split source")?;
                json!(source.split(delimiter.as_str()).collect::<Vec<_>>())
            }
            "Fn::Select" => {
                let a = args(name, arg, 2)?;
                let index: usize = self
                    .resolve_string(&a[0], "!Select index")?
                    .parse()
                    .map_err(|_| "!Select index must be a number".to_string())?;
                let items = self.resolve_list(&a[1], "!Select's list")?;
                items
                    .get(index)
                    .cloned()
                    .ok_or_else(|| format!("!Select index {index} is out of range"))?
            }
            "Fn::FindInMap" => {
                let a = args(name, arg, 3)?;
                let keys = [
                    self.resolve_string(&a[0], "!FindInMap")?,
                    self.resolve_string(&a[1], "!FindInMap")?,
                    self.resolve_string(&a[2], "!FindInMap")?,
                ];
                let found = self
                    .mappings
                    .get(keys[0].as_str())
                    .and_then(|m| m.get(keys[1].as_str()))
                    .and_then(|m| m.get(keys[2].as_str()))
                    .ok_or_else(|| format!("!FindInMap {keys:?}: no such entry"))?;
                return self.resolve(found);
            }
            other => return Err(format!("{other} is not modelled by the emulator")),
        };
        Ok(Some(value))
    }

    /// `!Sub "text"` or `!Sub ["text", {Var: value}]`.
    fn sub(&self, arg: &Yaml) -> Res<String> {
        let (text, locals) = match arg {
            Yaml::Sequence(s) if s.len() == 2 => {
                let text = s[0].as_str().ok_or("!Sub takes a string first")?;
                let vars = s[1]
                    .as_mapping()
                    .ok_or("!Sub's variables must be a mapping")?;
                let mut locals = BTreeMap::new();
                for (k, v) in vars {
                    let k = k.as_str().ok_or("!Sub variable names must be strings")?;
                    locals.insert(k.to_string(), self.resolve_string(v, &format!("${{{k}}}"))?);
                }
                (text, locals)
            }
            other => (
                other.as_str().ok_or("!Sub takes a string")?,
                BTreeMap::new(),
            ),
        };
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| format!("!Sub {text:?}: unterminated ${{"))?;
            let var = after[..end].trim();
            if let Some(literal) = var.strip_prefix('!') {
                out.push_str(&format!("${{{literal}}}"));
            } else if let Some(v) = locals.get(var) {
                out.push_str(v);
            } else {
                let value = match var.split_once('.') {
                    Some((id, attribute)) => Some(self.get_att(id, attribute)?),
                    None => self.reference(var)?,
                };
                let value = value
                    .as_ref()
                    .and_then(scalar_text)
                    .ok_or_else(|| format!("!Sub ${{{var}}} must resolve to a string"))?;
                out.push_str(&value);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    // ----------------------------------------------------------------- roles

    /// The IAM role a logical id stands for: the role itself, or a function's `Role`.
    fn role_of(&self, id: &str) -> Res<String> {
        let kind = self.type_of(id)?;
        match kind.as_str() {
            "AWS::IAM::Role" => Ok(id.to_string()),
            "AWS::Lambda::Function" | "AWS::Serverless::Function" => {
                let arn = self.string_property(id, "Role")?.ok_or_else(|| {
                    format!("{id} has no Role (a role SAM would generate is not modelled)")
                })?;
                for (rid, r) in &self.resources {
                    let Some(rid) = rid.as_str() else { continue };
                    let is_role = r.get("Type").and_then(Yaml::as_str) == Some("AWS::IAM::Role");
                    if is_role && self.get_att(rid, "Arn").ok() == Some(json!(arn)) {
                        return Ok(rid.to_string());
                    }
                }
                Err(format!("{id}'s role {arn} is not a role of this template"))
            }
            other => Err(format!("{id} is a {other}, not a role or a function")),
        }
    }

    /// Everything IAM would attach to the role `id` (or the role of the function `id`): its
    /// inline policies, its managed policies of this template, and this template's
    /// `AWS::IAM::Policy`/`RolePolicy`/`ManagedPolicy` resources naming it.
    /// A managed policy of the template stands for whoever it is attached to outside the stack (an operator's
    /// role): exactly that policy.
    pub fn role_policies(&self, id: &str) -> Res<RolePolicies> {
        if self.type_of(id)? == "AWS::IAM::ManagedPolicy" {
            return Ok(RolePolicies {
                role_name: self.physical_name(id, "ManagedPolicyName")?,
                documents: vec![self.policy_document(id)?],
            });
        }
        let role = self.role_of(id)?;
        let role_name = self.resource_values(&role)?.0;
        if self.property(&role, "PermissionsBoundary")?.is_some() {
            return Err(format!(
                "{role} has a PermissionsBoundary, which the emulator does not model"
            ));
        }
        let mut documents = Vec::new();
        for p in self.list_property(&role, "Policies")? {
            let doc = p
                .get("PolicyDocument")
                .ok_or_else(|| format!("{role}: an inline policy has no PolicyDocument"))?;
            documents.push(doc.clone());
        }
        let mut attached = Vec::new();
        let mut foreign = Vec::new();
        for arn in self.list_property(&role, "ManagedPolicyArns")? {
            let arn = scalar_text(&arn).ok_or("ManagedPolicyArns holds strings")?;
            match self.managed_policy_by_arn(&arn) {
                Some(pid) => attached.push(pid),
                None => foreign.push(arn),
            }
        }
        if !foreign.is_empty() {
            return Err(format!(
                "{role} attaches managed policies that are not in the template: {}",
                foreign.join(", ")
            ));
        }
        let names_role = |list: Vec<Json>| {
            list.iter()
                .any(|r| scalar_text(r) == Some(role_name.clone()))
        };
        for (rid, r) in &self.resources {
            let Some(rid) = rid.as_str() else { continue };
            let kind = r.get("Type").and_then(Yaml::as_str).unwrap_or_default();
            if !matches!(
                kind,
                "AWS::IAM::ManagedPolicy" | "AWS::IAM::Policy" | "AWS::IAM::RolePolicy"
            ) || attached.iter().any(|a| a == rid)
            {
                continue;
            }
            if let Some(cond) = r.get("Condition").and_then(Yaml::as_str) {
                if !self.condition(cond)? {
                    continue;
                }
            }
            let attaches = if kind == "AWS::IAM::RolePolicy" {
                self.string_property(rid, "RoleName")? == Some(role_name.clone())
            } else {
                names_role(self.list_property(rid, "Roles")?)
            };
            if attaches {
                if kind == "AWS::IAM::ManagedPolicy" {
                    attached.push(rid.to_string());
                } else {
                    documents.push(self.policy_document(rid)?);
                }
            }
        }
        for pid in attached {
            documents.push(self.policy_document(&pid)?);
        }
        Ok(RolePolicies {
            role_name,
            documents,
        })
    }

    fn list_property(&self, id: &str, name: &str) -> Res<Vec<Json>> {
        match self.property(id, name)? {
            None => Ok(Vec::new()),
            Some(Json::Array(items)) => Ok(items),
            Some(_) => Err(format!("{id}.{name} must be a list")),
        }
    }

    fn policy_document(&self, id: &str) -> Res<Json> {
        self.property(id, "PolicyDocument")?
            .ok_or_else(|| format!("{id} has no PolicyDocument"))
    }

    /// The template's `AWS::IAM::ManagedPolicy` whose ARN this is.
    fn managed_policy_by_arn(&self, arn: &str) -> Option<String> {
        self.resources.iter().find_map(|(id, r)| {
            let id = id.as_str()?;
            let managed = r.get("Type").and_then(Yaml::as_str) == Some("AWS::IAM::ManagedPolicy");
            let (ref_value, _) = self.resource_values(id).ok().filter(|_| managed)?;
            (ref_value == arn).then(|| id.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(yaml: &str, expr: &str, ctx: &StackContext) -> Json {
        let t = Template::parse(yaml, ctx).unwrap();
        let v: Yaml = serde_yaml_ng::from_str(expr).unwrap();
        t.resolve(&v).unwrap().unwrap()
    }

    const SMALL: &str = r#"
Parameters:
  Env: {Type: String, Default: dev, AllowedValues: [dev, prod]}
  Zones: {Type: CommaDelimitedList, Default: "a,b,c"}
  Days: {Type: Number, Default: 365}
Mappings:
  Sizes: {dev: {Count: 1}, prod: {Count: 3}}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  NotProd: !Not [!Condition IsProd]
  Both: !And [!Condition IsProd, {Condition: NotProd}]
  Either: {"Fn::Or": [{Condition: IsProd}, {Condition: NotProd}]}
Resources:
  Queue: {Type: AWS::SQS::Queue, Properties: {QueueName: !Sub "${Env}-q"}}
  Fn: {Type: AWS::Serverless::Function, Properties: {Role: !GetAtt R.Arn}}
  R: {Type: AWS::IAM::Role, Properties: {Path: /svc/}}
  Machine: {Type: AWS::Serverless::StateMachine, Properties: {Name: !Sub "${AWS::StackName}-up"}}
"#;

    #[test]
    fn when_intrinsics_are_resolved_should_give_what_cloudformation_would() {
        let ctx = StackContext::default();
        let r = |e: &str| resolve(SMALL, e, &ctx);
        assert_eq!(r("!Ref Env"), json!("dev"));
        assert_eq!(r("!Ref Zones"), json!(["a", "b", "c"]));
        assert_eq!(r("!Ref Days"), json!("365"));
        assert_eq!(r("!Select [1, !Ref Zones]"), json!("b"));
        assert_eq!(r("!Join ['-', [x, !Ref Env]]"), json!("x-dev"));
        assert_eq!(r("!Split [',', 'p,q']"), json!(["p", "q"]));
        assert_eq!(r("!FindInMap [Sizes, !Ref Env, Count]"), json!(1));
        assert_eq!(r("!If [IsProd, big, small]"), json!("small"));
        assert_eq!(r("!If [NotProd, yes, no]"), json!("yes"));
        assert_eq!(r("!Condition Both"), json!(false));
        assert_eq!(r("!Condition Either"), json!(true));
        assert_eq!(r("[a, !Ref AWS::NoValue, b]"), json!(["a", "b"]));
        assert_eq!(r("{k: !Ref AWS::NoValue, j: 1}"), json!({"j": 1}));
        assert_eq!(
            r("!Sub 'arn:${AWS::Partition}:x:${AWS::Region}:${AWS::AccountId}:${AWS::URLSuffix}'"),
            json!("arn:aws:x:eu-west-1:123456789012:amazonaws.com")
        );
        assert_eq!(
            r("!Sub ['${A}-${!Literal}', {A: !Ref Env}]"),
            json!("dev-${Literal}")
        );
        assert_eq!(
            r("!GetAtt Queue.Arn"),
            json!("arn:aws:sqs:eu-west-1:123456789012:dev-q")
        );
        assert_eq!(r("{'Fn::GetAtt': [Queue, QueueName]}"), json!("dev-q"));
        assert_eq!(
            r("!Sub '${Fn.Arn}:*'"),
            json!("arn:aws:lambda:eu-west-1:123456789012:function:dataflow-runner-Fn:*")
        );
        assert_eq!(
            r("!GetAtt R.Arn"),
            json!("arn:aws:iam::123456789012:role/svc/dataflow-runner-R")
        );
        assert_eq!(
            r("!Ref Machine"),
            json!("arn:aws:states:eu-west-1:123456789012:stateMachine:dataflow-runner-up")
        );
        assert_eq!(
            r("{Ref: Queue}"),
            json!("https://sqs.eu-west-1.amazonaws.com/123456789012/dev-q")
        );
    }

    #[test]
    fn when_parameters_are_given_should_override_defaults_and_be_checked() {
        let ctx = StackContext::default().with_parameter("Env", "prod");
        assert_eq!(
            resolve(SMALL, "!If [IsProd, big, small]", &ctx),
            json!("big")
        );
        let bad = StackContext::default().with_parameter("Env", "staging");
        assert!(Template::parse(SMALL, &bad)
            .err()
            .unwrap()
            .contains("AllowedValues"));
        let unknown = StackContext::default().with_parameter("Nope", "x");
        assert!(Template::parse(SMALL, &unknown)
            .err()
            .unwrap()
            .contains("Nope"));
    }

    #[test]
    fn when_role_attaches_foreign_managed_policy_should_name_it() {
        let yaml = r#"
Resources:
  R:
    Type: AWS::IAM::Role
    Properties:
      ManagedPolicyArns: [arn:aws:iam::aws:policy/AdministratorAccess]
"#;
        let ctx = StackContext::default();
        let err = Template::parse(yaml, &ctx)
            .unwrap()
            .role_policies("R")
            .unwrap_err();
        assert!(
            err.contains("arn:aws:iam::aws:policy/AdministratorAccess"),
            "{err}"
        );
    }

    #[test]
    fn when_policies_attach_from_elsewhere_should_be_collected() {
        let yaml = r#"
Resources:
  R: {Type: AWS::IAM::Role, Properties: {RoleName: worker}}
  Extra:
    Type: AWS::IAM::Policy
    Properties:
      Roles: [!Ref R]
      PolicyDocument: {Statement: {Effect: Allow, Action: "s3:GetObject", Resource: "*"}}
  Shared:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      Roles: [worker]
      PolicyDocument: {Statement: {Effect: Allow, Action: "sqs:SendMessage", Resource: "*"}}
"#;
        let ctx = StackContext::default();
        let p = Template::parse(yaml, &ctx)
            .unwrap()
            .role_policies("R")
            .unwrap();
        assert_eq!(p.role_name, "worker");
        assert_eq!(p.documents.len(), 2);
    }

    #[test]
    fn when_a_resource_is_asked_for_should_give_it_as_deployed() {
        let yaml = r#"
Resources:
  Locks:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      KeySchema: [{AttributeName: lockName, KeyType: HASH}]
      Tags: [{Key: stack, Value: !Ref AWS::StackName}]
  Operators:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Statement: {Effect: Allow, Action: "dynamodb:GetItem", Resource: !GetAtt Locks.Arn}
"#;
        let ctx = StackContext::default();
        let t = Template::parse(yaml, &ctx).unwrap();
        let r = t.resource_json("Locks").unwrap();
        assert_eq!(r["Type"], "AWS::DynamoDB::Table");
        assert_eq!(r["Ref"], "dataflow-runner-Locks");
        assert_eq!(
            r["Attributes"]["Arn"],
            "arn:aws:dynamodb:eu-west-1:123456789012:table/dataflow-runner-Locks"
        );
        assert_eq!(r["Properties"]["KeySchema"][0]["AttributeName"], "lockName");
        assert_eq!(r["Properties"]["Tags"][0]["Value"], "dataflow-runner");
        // A managed policy stands for whoever it is attached to: that policy alone.
        let p = t.role_policies("Operators").unwrap();
        assert_eq!(p.documents.len(), 1);
        assert_eq!(
            p.documents[0]["Statement"]["Resource"],
            "arn:aws:dynamodb:eu-west-1:123456789012:table/dataflow-runner-Locks"
        );
    }
}
