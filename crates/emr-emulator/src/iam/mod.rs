//! IAM, as far as EMR calls need it: who is calling (access key id → principal with policy
//! documents), identity-based policy evaluation, and the policies of a role read straight from
//! a CloudFormation template.
//!
//! ```
//! use emr_emulator::iam::{Iam, StackContext};
//! let template = r#"
//! Resources:
//!   ReaderRole:
//!     Type: AWS::IAM::Role
//!     Properties:
//!       Policies:
//!         - PolicyName: read
//!           PolicyDocument:
//!             Statement:
//!               - Effect: Allow
//!                 Action: elasticmapreduce:DescribeCluster
//!                 Resource: !Sub arn:${AWS::Partition}:elasticmapreduce:*:${AWS::AccountId}:cluster/*
//! "#;
//! let iam = Iam::new()
//!     .principal_from_template("AKIDREADER", template, &StackContext::default(), "ReaderRole")
//!     .unwrap();
//! assert_eq!(iam.get("AKIDREADER").unwrap().name(), "dataflow-runner-ReaderRole");
//! ```

mod policy;
mod template;

use std::collections::BTreeMap;

use serde_json::{json, Value};

pub use policy::{evaluate, AccessRequest, Decision, Policy, RequestContext};
pub use template::StackContext;

/// A caller: the role whose credentials sign its requests, and that role's policies.
#[derive(Clone, Debug)]
pub struct Principal {
    name: String,
    logical_id: Option<String>,
    documents: Vec<Value>,
    policies: Vec<Policy>,
}

impl Principal {
    /// Builds a principal from policy documents (each parsed and checked now).
    pub fn new(name: &str, documents: Vec<Value>) -> Result<Self, String> {
        let policies = documents
            .iter()
            .enumerate()
            .map(|(i, d)| Policy::parse(d).map_err(|e| format!("{name}, policy {}: {e}", i + 1)))
            .collect::<Result<_, _>>()?;
        Ok(Principal {
            name: name.to_string(),
            logical_id: None,
            documents,
            policies,
        })
    }

    /// The role's name (as in `assumed-role/<name>/…`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The template logical id it was read from, if it was.
    pub fn logical_id(&self) -> Option<&str> {
        self.logical_id.as_deref()
    }

    /// The policy documents in force, as resolved JSON.
    pub fn documents(&self) -> &[Value] {
        &self.documents
    }

    pub fn decide(&self, request: &AccessRequest) -> Decision {
        evaluate(&self.policies, request)
    }
}

/// Who may call, and with which policies: access key id → [`Principal`]. Set it on the
/// emulator ([`crate::EmulatorBuilder::iam`]) to have every EMR call authorized.
#[derive(Clone, Debug, Default)]
pub struct Iam {
    principals: BTreeMap<String, Principal>,
}

impl Iam {
    pub fn new() -> Self {
        Self::default()
    }

    /// Policy documents (resolved JSON) of a role, or of a function's role, by logical id.
    pub fn policies_from_template(
        template_yaml: &str,
        ctx: &StackContext,
        logical_id: &str,
    ) -> Result<Vec<Value>, String> {
        let t = template::Template::parse(template_yaml, ctx)?;
        Ok(t.role_policies(logical_id)?.documents)
    }

    /// A resource of the template as CloudFormation would deploy it (`{"Type", "Ref", "Attributes",
    /// "Properties"}`, intrinsics resolved): what a local stand-in creates (a table, a rule).
    pub fn resource_from_template(
        template_yaml: &str,
        ctx: &StackContext,
        logical_id: &str,
    ) -> Result<Value, String> {
        template::Template::parse(template_yaml, ctx)?.resource_json(logical_id)
    }

    /// Adds a principal whose calls are signed with `access_key_id`, with the policies of
    /// `logical_id` (a role, a function whose `Role` is a role of the template, or a managed policy
    /// of the template: whoever it is attached to, with that policy alone). Its name is the role's
    /// (or the policy's) name.
    pub fn principal_from_template(
        self,
        access_key_id: &str,
        template_yaml: &str,
        ctx: &StackContext,
        logical_id: &str,
    ) -> Result<Self, String> {
        let t = template::Template::parse(template_yaml, ctx)?;
        let role = t.role_policies(logical_id)?;
        let mut principal = Principal::new(&role.role_name, role.documents)?;
        principal.logical_id = Some(logical_id.to_string());
        self.add(access_key_id, principal)
    }

    /// Adds a principal with hand-written policy documents.
    pub fn principal(
        self,
        access_key_id: &str,
        name: &str,
        policies: Vec<Value>,
    ) -> Result<Self, String> {
        let principal = Principal::new(name, policies)?;
        self.add(access_key_id, principal)
    }

    /// Adds a principal; an access key id names one principal only.
    pub fn add(mut self, access_key_id: &str, principal: Principal) -> Result<Self, String> {
        if self.principals.contains_key(access_key_id) {
            return Err(format!(
                "access key id {access_key_id} already has a principal"
            ));
        }
        self.principals.insert(access_key_id.to_string(), principal);
        Ok(self)
    }

    /// The principal behind an access key id.
    pub fn get(&self, access_key_id: &str) -> Option<&Principal> {
        self.principals.get(access_key_id)
    }

    pub fn principals(&self) -> impl Iterator<Item = (&str, &Principal)> {
        self.principals.iter().map(|(k, p)| (k.as_str(), p))
    }

    /// Each principal's name, logical id and resolved documents, by access key id.
    pub fn to_json(&self) -> Value {
        let principals: serde_json::Map<String, Value> = self
            .principals
            .iter()
            .map(|(key, p)| {
                let mut v = json!({ "name": p.name, "policies": p.documents });
                if let Some(id) = &p.logical_id {
                    v["logicalId"] = json!(id);
                }
                (key.clone(), v)
            })
            .collect();
        Value::Object(principals)
    }
}
