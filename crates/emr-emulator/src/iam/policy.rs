//! Identity-based policy documents and their evaluation, written from the IAM User Guide (policy
//! grammar, policy evaluation logic, condition operators, multivalued context keys).

use std::collections::BTreeMap;

use serde_json::Value;

/// The outcome of evaluating a set of policies for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// No statement allows it.
    ImplicitDeny,
    /// A Deny statement matches (wins over every Allow).
    ExplicitDeny,
}

/// Condition keys and their values for one request. Key names are case-insensitive, except the
/// tag key after the `/` of `aws:RequestTag/…`-style keys, which is matched as written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestContext {
    entries: BTreeMap<String, Vec<String>>,
}

impl RequestContext {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one value to `key` (a key given several values is multivalued, like `aws:TagKeys`).
    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.insert(key, value);
        self
    }

    /// Adds values to a multivalued key (with none, the key is present but empty).
    pub fn with_values(mut self, key: &str, values: &[&str]) -> Self {
        self.insert_values(key, values);
        self
    }

    pub fn insert(&mut self, key: &str, value: &str) {
        self.insert_values(key, &[value]);
    }

    pub fn insert_values(&mut self, key: &str, values: &[&str]) {
        let slot = self.entries.entry(normalize_key(key)).or_default();
        slot.extend(values.iter().map(|v| v.to_string()));
    }

    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.entries.get(&normalize_key(key)).map(Vec::as_slice)
    }
}

fn normalize_key(key: &str) -> String {
    match key.split_once('/') {
        Some((name, tag)) => format!("{}/{tag}", name.to_ascii_lowercase()),
        None => key.to_ascii_lowercase(),
    }
}

/// One authorization question: may the caller perform `action` on `resource` in `context`?
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessRequest {
    /// `service:Action`, e.g. `elasticmapreduce:RunJobFlow`.
    pub action: String,
    /// An ARN, or `*` for actions without a resource type.
    pub resource: String,
    pub context: RequestContext,
}

impl AccessRequest {
    pub fn new(action: &str, resource: &str) -> Self {
        AccessRequest {
            action: action.to_string(),
            resource: resource.to_string(),
            context: RequestContext::new(),
        }
    }

    pub fn with_context(mut self, context: RequestContext) -> Self {
        self.context = context;
        self
    }
}

/// A parsed identity-based policy document.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    statements: Vec<Statement>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

/// `Action` / `Resource` (listed) or `NotAction` / `NotResource` (everything but).
#[derive(Clone, Debug, PartialEq)]
enum Patterns {
    Listed(Vec<String>),
    AllBut(Vec<String>),
}

impl Patterns {
    fn matches(&self, value: &str, ignore_case: bool) -> bool {
        let any = |ps: &[String]| ps.iter().any(|p| glob(p, value, ignore_case));
        match self {
            Patterns::Listed(ps) => any(ps),
            Patterns::AllBut(ps) => !any(ps),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Statement {
    effect: Effect,
    actions: Patterns,
    resources: Patterns,
    conditions: Vec<Condition>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Comparison {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    Arn,
    Bool,
    Null,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SetQualifier {
    ForAllValues,
    ForAnyValue,
}

#[derive(Clone, Debug, PartialEq)]
struct Condition {
    comparison: Comparison,
    negated: bool,
    set: Option<SetQualifier>,
    if_exists: bool,
    key: String,
    values: Vec<String>,
}

impl Policy {
    /// Parses a policy document (a JSON object, or a string holding one, as CloudFormation
    /// accepts). Rejects what IAM would reject in an identity-based policy, and condition
    /// operators the emulator does not model.
    pub fn parse(document: &Value) -> Result<Policy, String> {
        let parsed;
        let document = match document {
            Value::String(text) => {
                parsed = serde_json::from_str::<Value>(text)
                    .map_err(|e| format!("policy document is not JSON: {e}"))?;
                &parsed
            }
            other => other,
        };
        let doc = document
            .as_object()
            .ok_or("a policy document must be a JSON object")?;
        for key in doc.keys() {
            if !matches!(key.as_str(), "Version" | "Id" | "Statement") {
                return Err(format!("unknown policy element '{key}'"));
            }
        }
        match doc.get("Version").map(|v| v.as_str()) {
            None | Some(Some("2012-10-17" | "2008-10-17")) => {}
            Some(v) => return Err(format!("unsupported policy Version {v:?}")),
        }
        let statements = match doc.get("Statement") {
            Some(Value::Array(list)) => list.iter().map(Statement::parse).collect(),
            Some(one @ Value::Object(_)) => Statement::parse(one).map(|s| vec![s]),
            _ => Err("a policy needs a Statement (an object or a list)".to_string()),
        }?;
        Ok(Policy { statements })
    }

    /// This document's verdict alone: `None` when no statement applies.
    fn verdict(&self, request: &AccessRequest) -> Option<Decision> {
        let mut allowed = false;
        for s in self.statements.iter().filter(|s| s.applies(request)) {
            match s.effect {
                Effect::Deny => return Some(Decision::ExplicitDeny),
                Effect::Allow => allowed = true,
            }
        }
        allowed.then_some(Decision::Allow)
    }
}

/// IAM's evaluation for identity-based policies: an explicit Deny in any policy wins, else any
/// Allow allows, else the request is implicitly denied.
pub fn evaluate(policies: &[Policy], request: &AccessRequest) -> Decision {
    let mut decision = Decision::ImplicitDeny;
    for p in policies {
        match p.verdict(request) {
            Some(Decision::ExplicitDeny) => return Decision::ExplicitDeny,
            Some(Decision::Allow) => decision = Decision::Allow,
            _ => {}
        }
    }
    decision
}

fn strings(value: &Value, what: &str) -> Result<Vec<String>, String> {
    let scalar = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(format!("{what}: expected a string, got {other}")),
    };
    match value {
        Value::Array(list) if list.is_empty() => Err(format!("{what}: empty list")),
        Value::Array(list) => list.iter().map(scalar).collect(),
        other => scalar(other).map(|s| vec![s]),
    }
}

fn either(
    stmt: &serde_json::Map<String, Value>,
    listed: &str,
    all_but: &str,
) -> Result<Patterns, String> {
    match (stmt.get(listed), stmt.get(all_but)) {
        (Some(v), None) => strings(v, listed).map(Patterns::Listed),
        (None, Some(v)) => strings(v, all_but).map(Patterns::AllBut),
        (Some(_), Some(_)) => Err(format!("a statement has both {listed} and {all_but}")),
        (None, None) => Err(format!("a statement needs {listed} or {all_but}")),
    }
}

impl Statement {
    fn parse(value: &Value) -> Result<Statement, String> {
        let stmt = value.as_object().ok_or("a Statement must be an object")?;
        for key in stmt.keys() {
            match key.as_str() {
                "Sid" | "Effect" | "Action" | "NotAction" | "Resource" | "NotResource"
                | "Condition" => {}
                "Principal" | "NotPrincipal" => {
                    return Err(format!("{key} is not allowed in an identity-based policy"))
                }
                other => return Err(format!("unknown statement element '{other}'")),
            }
        }
        let effect = match stmt.get("Effect").and_then(Value::as_str) {
            Some("Allow") => Effect::Allow,
            Some("Deny") => Effect::Deny,
            other => return Err(format!("Effect must be Allow or Deny, got {other:?}")),
        };
        let actions = either(stmt, "Action", "NotAction")?;
        let (Patterns::Listed(names) | Patterns::AllBut(names)) = &actions;
        if let Some(bad) = names.iter().find(|a| *a != "*" && !a.contains(':')) {
            return Err(format!("action '{bad}' must be written service:action"));
        }
        let resources = either(stmt, "Resource", "NotResource")?;
        let conditions = match stmt.get("Condition") {
            None => Vec::new(),
            Some(Value::Object(block)) => {
                let mut out = Vec::new();
                for (operator, keys) in block {
                    let keys = keys
                        .as_object()
                        .ok_or_else(|| format!("Condition {operator}: expected an object"))?;
                    for (key, values) in keys {
                        out.push(Condition::parse(operator, key, values)?);
                    }
                }
                out
            }
            Some(_) => return Err("Condition must be an object".to_string()),
        };
        Ok(Statement {
            effect,
            actions,
            resources,
            conditions,
        })
    }

    fn applies(&self, request: &AccessRequest) -> bool {
        self.actions.matches(&request.action, true)
            && self.resources.matches(&request.resource, false)
            && self.conditions.iter().all(|c| c.holds(&request.context))
    }
}

impl Condition {
    fn parse(operator: &str, key: &str, values: &Value) -> Result<Condition, String> {
        let (set, rest) = if let Some(rest) = operator.strip_prefix("ForAllValues:") {
            (Some(SetQualifier::ForAllValues), rest)
        } else if let Some(rest) = operator.strip_prefix("ForAnyValue:") {
            (Some(SetQualifier::ForAnyValue), rest)
        } else {
            (None, operator)
        };
        let (if_exists, base) = match rest.strip_suffix("IfExists") {
            Some(base) => (true, base),
            None => (false, rest),
        };
        let (comparison, negated) = match base {
            "StringEquals" => (Comparison::StringEquals, false),
            "StringNotEquals" => (Comparison::StringEquals, true),
            "StringEqualsIgnoreCase" => (Comparison::StringEqualsIgnoreCase, false),
            "StringNotEqualsIgnoreCase" => (Comparison::StringEqualsIgnoreCase, true),
            "StringLike" => (Comparison::StringLike, false),
            "StringNotLike" => (Comparison::StringLike, true),
            // IAM documents ArnEquals and ArnLike as the same comparison, wildcards included.
            "ArnEquals" | "ArnLike" => (Comparison::Arn, false),
            "ArnNotEquals" | "ArnNotLike" => (Comparison::Arn, true),
            "Bool" => (Comparison::Bool, false),
            "Null" if !if_exists && set.is_none() => (Comparison::Null, false),
            _ => {
                return Err(format!(
                    "condition operator '{operator}' is not modelled by the emulator"
                ))
            }
        };
        Ok(Condition {
            comparison,
            negated,
            set,
            if_exists,
            key: key.to_string(),
            values: strings(values, &format!("Condition {operator} {key}"))?,
        })
    }

    /// Whether one context value matches any of the policy's values (values are OR'ed).
    fn matches_any(&self, actual: &str) -> bool {
        self.values.iter().any(|expected| match self.comparison {
            Comparison::StringEquals => actual == expected,
            Comparison::StringEqualsIgnoreCase => actual.to_lowercase() == expected.to_lowercase(),
            Comparison::StringLike => glob(expected, actual, false),
            Comparison::Arn => arn_like(expected, actual),
            Comparison::Bool => actual.eq_ignore_ascii_case(expected),
            Comparison::Null => false,
        })
    }

    fn holds(&self, context: &RequestContext) -> bool {
        let present = context.get(&self.key).filter(|v| !v.is_empty());
        if self.comparison == Comparison::Null {
            // "true": the key must be absent; "false": present.
            let absent = present.is_none();
            return self
                .values
                .iter()
                .any(|v| v.eq_ignore_ascii_case("true") == absent);
        }
        let Some(actual) = present else {
            return self.if_exists
                || match self.set {
                    Some(SetQualifier::ForAllValues) => true,
                    Some(SetQualifier::ForAnyValue) => false,
                    // A negated operator is true of a missing key, a positive one false.
                    None => self.negated,
                };
        };
        // Per value: a positive operator wants a match, a negated one wants none.
        let ok = |v: &String| self.matches_any(v) != self.negated;
        match self.set {
            Some(SetQualifier::ForAllValues) => actual.iter().all(ok),
            Some(SetQualifier::ForAnyValue) => actual.iter().any(ok),
            None => actual.iter().any(|v| self.matches_any(v)) != self.negated,
        }
    }
}

/// ARN comparison: each of the six `:`-separated parts is matched on its own, case-sensitively,
/// with `*` and `?` (the resource part keeps any further `:`).
fn arn_like(pattern: &str, arn: &str) -> bool {
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let a: Vec<&str> = arn.splitn(6, ':').collect();
    p.len() == 6 && a.len() == 6 && p.iter().zip(&a).all(|(p, a)| glob(p, a, false))
}

/// Wildcard match of the whole text: `*` any run of characters (`:` and `/` included), `?` one.
pub(crate) fn glob(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let fold = |s: &str| -> Vec<char> {
        if ignore_case {
            s.to_lowercase().chars().collect()
        } else {
            s.chars().collect()
        }
    };
    let (p, t) = (fold(pattern), fold(text));
    let (mut pi, mut ti) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            backtrack = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((star, start)) = backtrack {
            // Let the last `*` swallow one more character.
            pi = star + 1;
            ti = start + 1;
            backtrack = Some((star, start + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(doc: Value) -> Policy {
        Policy::parse(&doc).unwrap()
    }

    fn allow_if(operator: &str, key: &str, values: Value) -> Policy {
        policy(json!({
            "Version": "2012-10-17",
            "Statement": {"Effect": "Allow", "Action": "svc:Do", "Resource": "*",
                          "Condition": {operator: {key: values}}}
        }))
    }

    fn decide(p: &Policy, context: RequestContext) -> Decision {
        evaluate(
            std::slice::from_ref(p),
            &AccessRequest::new("svc:Do", "arn:aws:svc:eu-west-1:123456789012:thing/x")
                .with_context(context),
        )
    }

    fn allowed(p: &Policy, context: RequestContext) -> bool {
        decide(p, context) == Decision::Allow
    }

    fn ctx(key: &str, value: &str) -> RequestContext {
        RequestContext::new().with(key, value)
    }

    #[test]
    fn when_wildcards_are_used_should_match_like_iam() {
        assert!(glob(
            "elasticmapreduce:Describe*",
            "elasticmapreduce:DescribeCluster",
            false
        ));
        assert!(glob("a?c", "abc", false));
        assert!(!glob("a?c", "abbc", false));
        assert!(glob(
            "arn:aws:logs:*:*",
            "arn:aws:logs:eu-west-1:1:log-group:/a/b:*",
            false
        ));
        assert!(glob("*", "", false));
        assert!(glob("*x*y", "axxbxy", false));
        assert!(!glob("ABC", "abc", false));
        assert!(glob("ABC", "abc", true));
    }

    #[test]
    fn when_action_differs_in_case_should_still_match_but_resource_should_not() {
        let p = policy(json!({"Statement": [{"Effect": "Allow",
            "Action": "ELASTICMAPREDUCE:describe*", "Resource": "arn:aws:x:::Thing/*"}]}));
        let req = |action: &str, resource: &str| {
            evaluate(
                std::slice::from_ref(&p),
                &AccessRequest::new(action, resource),
            )
        };
        assert_eq!(
            req("elasticmapreduce:DescribeCluster", "arn:aws:x:::Thing/1"),
            Decision::Allow
        );
        assert_eq!(
            req("elasticmapreduce:DescribeCluster", "arn:aws:x:::thing/1"),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn when_a_deny_matches_should_win_over_any_allow() {
        let allow =
            policy(json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}));
        let deny = policy(json!({"Statement": {"Sid": "No", "Effect": "Deny",
            "Action": "svc:Do", "Resource": "*"}}));
        let req = AccessRequest::new("svc:Do", "arn:aws:svc:::x");
        assert_eq!(
            evaluate(std::slice::from_ref(&allow), &req),
            Decision::Allow
        );
        assert_eq!(
            evaluate(&[allow.clone(), deny.clone()], &req),
            Decision::ExplicitDeny
        );
        assert_eq!(evaluate(&[deny, allow], &req), Decision::ExplicitDeny);
        assert_eq!(evaluate(&[], &req), Decision::ImplicitDeny);
    }

    #[test]
    fn when_not_action_or_not_resource_should_match_everything_else() {
        let p = policy(json!({"Statement": [
            {"Effect": "Allow", "NotAction": "svc:Delete*", "NotResource": "arn:aws:svc:::secret/*"}
        ]}));
        let d = |a: &str, r: &str| evaluate(std::slice::from_ref(&p), &AccessRequest::new(a, r));
        assert_eq!(d("svc:Read", "arn:aws:svc:::public/1"), Decision::Allow);
        assert_eq!(
            d("svc:DeleteThing", "arn:aws:svc:::public/1"),
            Decision::ImplicitDeny
        );
        assert_eq!(
            d("svc:Read", "arn:aws:svc:::secret/1"),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn when_string_operators_compare_should_follow_case_and_wildcard_rules() {
        let eq = allow_if(
            "StringEquals",
            "aws:RequestTag/team",
            json!(["data", "ops"]),
        );
        assert!(allowed(&eq, ctx("aws:RequestTag/team", "ops")));
        assert!(!allowed(&eq, ctx("aws:RequestTag/team", "Ops")));
        assert!(!allowed(&eq, RequestContext::new()));
        let ne = allow_if(
            "StringNotEquals",
            "aws:RequestTag/team",
            json!(["data", "ops"]),
        );
        assert!(allowed(&ne, ctx("aws:RequestTag/team", "web")));
        assert!(!allowed(&ne, ctx("aws:RequestTag/team", "data")));
        assert!(
            allowed(&ne, RequestContext::new()),
            "negated: missing key is true"
        );
        let ieq = allow_if("StringEqualsIgnoreCase", "k", json!("DATA"));
        assert!(allowed(&ieq, ctx("k", "data")));
        let ine = allow_if("StringNotEqualsIgnoreCase", "k", json!("DATA"));
        assert!(!allowed(&ine, ctx("k", "data")));
        assert!(allowed(&ine, ctx("k", "web")));
        let like = allow_if("StringLike", "k", json!("arn:*:run-?"));
        assert!(allowed(&like, ctx("k", "arn:x:y:run-1")));
        assert!(!allowed(&like, ctx("k", "arn:x:y:run-12")));
        let not_like = allow_if("StringNotLike", "k", json!("prod-*"));
        assert!(allowed(&not_like, ctx("k", "dev-1")));
        assert!(!allowed(&not_like, ctx("k", "prod-1")));
    }

    #[test]
    fn when_condition_key_case_differs_should_match_name_but_not_tag_key() {
        let p = allow_if("StringEquals", "AWS:requesttag/Team", json!("data"));
        assert!(allowed(&p, ctx("aws:RequestTag/Team", "data")));
        assert!(!allowed(&p, ctx("aws:RequestTag/team", "data")));
        let q = allow_if(
            "StringEquals",
            "IAM:PassedToService",
            json!("ec2.amazonaws.com"),
        );
        assert!(allowed(&q, ctx("iam:passedtoservice", "ec2.amazonaws.com")));
    }

    #[test]
    fn when_arn_operators_compare_should_match_part_by_part() {
        let like = allow_if(
            "ArnLike",
            "aws:SourceArn",
            json!("arn:aws:states:*:123456789012:stateMachine:stack-*"),
        );
        assert!(allowed(
            &like,
            ctx(
                "aws:SourceArn",
                "arn:aws:states:eu-west-1:123456789012:stateMachine:stack-up"
            )
        ));
        assert!(!allowed(
            &like,
            ctx(
                "aws:SourceArn",
                "arn:aws:states:eu-west-1:999999999999:stateMachine:stack-up"
            )
        ));
        assert!(!allowed(&like, ctx("aws:SourceArn", "not-an-arn")));
        let equals = allow_if(
            "ArnEquals",
            "aws:SourceArn",
            json!("arn:aws:sqs:eu-west-1:1:q"),
        );
        assert!(allowed(
            &equals,
            ctx("aws:SourceArn", "arn:aws:sqs:eu-west-1:1:q")
        ));
        let not_equals = allow_if(
            "ArnNotEquals",
            "aws:SourceArn",
            json!("arn:aws:sqs:eu-west-1:1:q"),
        );
        assert!(!allowed(
            &not_equals,
            ctx("aws:SourceArn", "arn:aws:sqs:eu-west-1:1:q")
        ));
        let not_like = allow_if("ArnNotLike", "aws:SourceArn", json!("arn:aws:sqs:*:1:*"));
        assert!(allowed(
            &not_like,
            ctx("aws:SourceArn", "arn:aws:sqs:eu-west-1:2:q")
        ));
    }

    #[test]
    fn when_bool_and_null_are_used_should_test_value_and_presence() {
        let secure = allow_if("Bool", "aws:SecureTransport", json!(true));
        assert!(allowed(&secure, ctx("aws:SecureTransport", "true")));
        assert!(!allowed(&secure, ctx("aws:SecureTransport", "false")));
        assert!(!allowed(&secure, RequestContext::new()));
        let absent = allow_if("Null", "aws:RequestTag/owner", json!("true"));
        assert!(allowed(&absent, RequestContext::new()));
        assert!(!allowed(&absent, ctx("aws:RequestTag/owner", "me")));
        let present = allow_if("Null", "aws:RequestTag/owner", json!("false"));
        assert!(allowed(&present, ctx("aws:RequestTag/owner", "me")));
    }

    #[test]
    fn when_if_exists_and_key_is_missing_should_hold() {
        let p = allow_if(
            "StringEqualsIfExists",
            "ec2:InstanceType",
            json!("t3.micro"),
        );
        assert!(allowed(&p, RequestContext::new()));
        assert!(allowed(&p, ctx("ec2:InstanceType", "t3.micro")));
        assert!(!allowed(&p, ctx("ec2:InstanceType", "m5.24xlarge")));
    }

    #[test]
    fn when_set_prefixes_are_used_should_quantify_over_context_values() {
        let keys = |ks: &[&str]| RequestContext::new().with_values("aws:TagKeys", ks);
        let all = allow_if(
            "ForAllValues:StringEquals",
            "aws:TagKeys",
            json!(["a", "b"]),
        );
        assert!(allowed(&all, keys(&["a"])));
        assert!(allowed(&all, keys(&["a", "b"])));
        assert!(!allowed(&all, keys(&["a", "c"])));
        assert!(
            allowed(&all, RequestContext::new()),
            "ForAllValues of nothing is true"
        );
        assert!(allowed(&all, keys(&[])));
        let any = allow_if("ForAnyValue:StringEquals", "aws:TagKeys", json!(["a", "b"]));
        assert!(allowed(&any, keys(&["c", "b"])));
        assert!(!allowed(&any, keys(&["c"])));
        assert!(
            !allowed(&any, RequestContext::new()),
            "ForAnyValue of nothing is false"
        );
        let none_secret = allow_if(
            "ForAllValues:StringNotLike",
            "aws:TagKeys",
            json!("secret*"),
        );
        assert!(allowed(&none_secret, keys(&["a", "b"])));
        assert!(!allowed(&none_secret, keys(&["a", "secret-x"])));
        let any_like = allow_if(
            "ForAnyValue:StringLike",
            "aws:TagKeys",
            json!("dataflow-runner:*"),
        );
        assert!(allowed(&any_like, keys(&["x", "dataflow-runner:managed"])));
    }

    #[test]
    fn when_several_keys_or_operators_should_all_hold() {
        let p = policy(
            json!({"Statement": {"Effect": "Allow", "Action": "svc:Do", "Resource": "*",
            "Condition": {
                "StringEquals": {"a": "1", "b": "2"},
                "StringLike": {"c": "x*"}
            }}}),
        );
        let full = RequestContext::new()
            .with("a", "1")
            .with("b", "2")
            .with("c", "xyz");
        assert!(allowed(&p, full));
        let wrong_a = RequestContext::new()
            .with("a", "0")
            .with("b", "2")
            .with("c", "xyz");
        assert!(!allowed(&p, wrong_a));
        assert!(!allowed(
            &p,
            RequestContext::new().with("a", "1").with("c", "xyz")
        ));
    }

    #[test]
    fn when_document_is_invalid_should_say_why() {
        let err = |doc: Value| Policy::parse(&doc).unwrap_err();
        assert!(
            err(json!({"Statement": {"Effect": "allow", "Action": "*", "Resource": "*"}}))
                .contains("Effect")
        );
        assert!(err(json!({"Statement": {"Effect": "Allow", "Action": "*"}})).contains("Resource"));
        assert!(err(
            json!({"Statement": {"Effect": "Allow", "Action": "RunJobFlow", "Resource": "*"}})
        )
        .contains("service:action"));
        assert!(err(
            json!({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*",
            "Condition": {"DateLessThan": {"aws:CurrentTime": "2030-01-01"}}}})
        )
        .contains("not modelled"));
        assert!(err(
            json!({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "*",
            "Resource": "*"}})
        )
        .contains("identity-based"));
        let text = json!(r#"{"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}"#);
        assert!(
            Policy::parse(&text).is_ok(),
            "a document may be given as a JSON string"
        );
    }
}
