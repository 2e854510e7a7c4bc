//! Go's `text/template` execution (`exec.go` and `funcs.go`, Go 1.19) over the parsed trees: the same
//! evaluation order, argument checks, builtins (`and`/`or` stop early, `eq` compares against each further
//! argument, mixed kinds are "incompatible types for comparison"), `range` over the vars map in sorted key order,
//! `break`/`continue`, variable declaration and assignment, `missingkey=error`, and the same error messages and
//! positions (`at <node>`). Every outside lookup is answered in this one pass (see `funcs`), and the cost is
//! bounded by [`Limits`].

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use super::fmt as gofmt;
use super::parse::{Arg, Branch, Command, List, Node, Number, Pipe, Tree};
use super::value::{Bytes, Value};

/// The bounds on one render.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes of rendered text, and of any one string value.
    pub max_output: usize,
    /// Evaluation steps (each node walked, command run and function called is one).
    pub max_steps: u64,
    /// Nested `{{template}}` calls.
    pub max_depth: usize,
    /// Nested blocks being executed, across `{{template}}` calls (each call's body is one level).
    pub max_nesting: usize,
}

/// Our functions and Go's builtins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    And,
    Or,
    Not,
    Len,
    Index,
    Slice,
    Call,
    Html,
    Js,
    Urlquery,
    Print,
    Printf,
    Println,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    NowWithFormat,
    TimeWithFormat,
    SystemEnv,
    Base64,
    Base64File,
}

impl Func {
    pub fn lookup(name: &str) -> Option<Func> {
        Some(match name {
            "and" => Func::And,
            "or" => Func::Or,
            "not" => Func::Not,
            "len" => Func::Len,
            "index" => Func::Index,
            "slice" => Func::Slice,
            "call" => Func::Call,
            "html" => Func::Html,
            "js" => Func::Js,
            "urlquery" => Func::Urlquery,
            "print" => Func::Print,
            "printf" => Func::Printf,
            "println" => Func::Println,
            "eq" => Func::Eq,
            "ne" => Func::Ne,
            "lt" => Func::Lt,
            "le" => Func::Le,
            "gt" => Func::Gt,
            "ge" => Func::Ge,
            "nowWithFormat" => Func::NowWithFormat,
            "timeWithFormat" => Func::TimeWithFormat,
            "systemEnv" => Func::SystemEnv,
            "base64" => Func::Base64,
            "base64File" => Func::Base64File,
            _ => return None,
        })
    }

    /// The Go signature: (fixed parameter types, variadic element type).
    fn signature(self) -> (&'static [Param], Option<Param>) {
        use Param::*;
        match self {
            Func::And | Func::Or | Func::Index | Func::Slice | Func::Call | Func::Eq => {
                (&[Rv], Some(Rv))
            }
            Func::Not | Func::Len => (&[Rv], None),
            Func::Html | Func::Js | Func::Urlquery | Func::Print | Func::Println => {
                (&[], Some(Any))
            }
            Func::Printf => (&[Str], Some(Any)),
            Func::Ne | Func::Lt | Func::Le | Func::Gt | Func::Ge => (&[Rv, Rv], None),
            Func::NowWithFormat | Func::SystemEnv | Func::Base64 | Func::Base64File => {
                (&[Str], None)
            }
            Func::TimeWithFormat => (&[Str, Str], None),
        }
    }
}

/// Go parameter types that matter: `string`, `interface{}` and `reflect.Value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Param {
    Str,
    Any,
    Rv,
}

/// Why one of the five Dataflow Runner functions failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostFailure {
    UnsetEnv { name: String },
    RefusedEnv { name: String, why: String },
    File { path: String, message: String },
    BadEpoch { value: String, message: String },
    TooExpensive { what: String, limit: String },
}

/// The five Dataflow Runner functions, answered from the environment.
pub trait Host {
    fn call(&mut self, f: Func, args: &[Bytes]) -> Result<Value, HostFailure>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecErrorKind {
    /// `map has no entry for key "name"` on the vars map.
    MissingKey(String),
    Host(HostFailure),
    TooExpensive {
        what: String,
        limit: String,
    },
    Other,
}

/// An execution error: where (the node's position and Go's text of it) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecError {
    pub pos: Option<usize>,
    pub context: Option<String>,
    /// The template executing (the file name, or a `{{define}}`d name).
    pub name: String,
    pub message: String,
    pub kind: ExecErrorKind,
}

type EResult<T> = Result<T, Box<ExecError>>;

enum Flow {
    Normal,
    Break,
    Continue,
}

/// The node Go's `state.at` last recorded, for error positions.
#[derive(Clone, Copy)]
enum At<'t> {
    None,
    Node(&'t Node),
    Arg(&'t Arg),
    Pipe(&'t Pipe),
    Cmd(&'t Command),
    List(&'t List),
}

struct State<'t, 'h> {
    trees: &'t HashMap<String, Rc<Tree>>,
    name: &'t str,
    out: Vec<u8>,
    node: At<'t>,
    vars: Vec<(&'t str, Value)>,
    depth: usize,
    nesting: usize,
    steps: u64,
    limits: Limits,
    host: &'h mut dyn Host,
}

/// Executes the tree `name` with the vars map as data.
pub fn execute(
    trees: &HashMap<String, Rc<Tree>>,
    name: &str,
    vars: &BTreeMap<String, String>,
    limits: Limits,
    host: &mut dyn Host,
) -> Result<Vec<u8>, Box<ExecError>> {
    let data = Value::Map(Rc::new(vars.clone()));
    let mut s = State {
        trees,
        name: "",
        out: Vec::new(),
        node: At::None,
        vars: vec![("$", data.clone())],
        depth: 0,
        nesting: 0,
        steps: 0,
        limits,
        host,
    };
    let Some(tree) = trees.get(name) else {
        let mut e = s.error(format!(
            "{} is an incomplete or empty template",
            gofmt::quote(name)
        ));
        e.name = name.to_string();
        return Err(e);
    };
    s.name = &tree.name;
    s.walk_list(&data, &tree.root)?;
    Ok(s.out)
}

fn is_rune_int(s: &str) -> bool {
    s.starts_with('\'')
}

fn is_hex_int(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() > 2 && b[0] == b'0' && (b[1] == b'x' || b[1] == b'X') && !s.contains(['p', 'P'])
}

impl<'t> State<'t, '_> {
    fn at_node(&mut self, n: &'t Node) {
        self.node = At::Node(n);
    }

    fn at_arg(&mut self, n: &'t Arg) {
        self.node = At::Arg(n);
    }

    fn error_kind(&self, message: String, kind: ExecErrorKind) -> Box<ExecError> {
        let (pos, context) = match self.node {
            At::None => (None, None),
            At::Node(n) => (Some(n.pos()), Some(n.to_string())),
            At::Arg(a) => (Some(a.pos()), Some(a.to_string())),
            At::Pipe(p) => (Some(p.pos), Some(p.to_string())),
            At::Cmd(c) => (Some(c.pos), Some(c.to_string())),
            At::List(l) => (Some(l.pos), Some(l.to_string())),
        };
        Box::new(ExecError {
            pos,
            context,
            name: self.name.to_string(),
            message,
            kind,
        })
    }

    fn error(&self, message: String) -> Box<ExecError> {
        self.error_kind(message, ExecErrorKind::Other)
    }

    fn too_expensive(&self, what: &str, limit: String) -> Box<ExecError> {
        let mut e = self.error_kind(
            format!("{what} exceeds the limit of {limit}"),
            ExecErrorKind::TooExpensive {
                what: what.to_string(),
                limit,
            },
        );
        // The node's text can be the whole body of a loop: position only.
        e.context = None;
        e
    }

    fn step(&mut self) -> EResult<()> {
        self.steps += 1;
        if self.steps > self.limits.max_steps {
            return Err(
                self.too_expensive("evaluation", format!("{} steps", self.limits.max_steps))
            );
        }
        Ok(())
    }

    fn write(&mut self, b: &[u8]) -> EResult<()> {
        if self.out.len() + b.len() > self.limits.max_output {
            return Err(self.too_expensive("rendered output", mib(self.limits.max_output)));
        }
        self.out.extend_from_slice(b);
        Ok(())
    }

    fn check_value(&self, v: Value) -> EResult<Value> {
        if v.size() > self.limits.max_output {
            return Err(self.too_expensive("a string value", mib(self.limits.max_output)));
        }
        Ok(v)
    }

    fn var_value(&self, name: &str) -> EResult<Value> {
        match self.vars.iter().rev().find(|(n, _)| *n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => Err(self.error(format!("undefined variable: {name}"))),
        }
    }

    fn set_var(&mut self, name: &str, value: Value) -> EResult<()> {
        match self.vars.iter_mut().rev().find(|(n, _)| *n == name) {
            Some(slot) => {
                slot.1 = value;
                Ok(())
            }
            None => Err(self.error(format!("undefined variable: {name}"))),
        }
    }

    fn set_top_var(&mut self, n: usize, value: Value) {
        let len = self.vars.len();
        self.vars[len - n].1 = value;
    }

    // ---- walking ----

    fn walk_list(&mut self, dot: &Value, list: &'t List) -> EResult<Flow> {
        self.nesting += 1;
        if self.nesting > self.limits.max_nesting {
            return Err(self.too_expensive(
                "nesting depth across {{template}} calls",
                format!("{} levels", self.limits.max_nesting),
            ));
        }
        let r = self.walk_list_inner(dot, list);
        self.nesting -= 1;
        r
    }

    fn walk_list_inner(&mut self, dot: &Value, list: &'t List) -> EResult<Flow> {
        self.node = At::List(list);
        for node in &list.nodes {
            match self.walk(dot, node)? {
                Flow::Normal => {}
                other => return Ok(other),
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, dot: &Value, node: &'t Node) -> EResult<Flow> {
        self.at_node(node);
        self.step()?;
        match node {
            Node::Action { pipe, .. } => {
                let val = self.eval_pipeline(dot, Some(pipe))?;
                if pipe.decl.is_empty() {
                    self.at_node(node);
                    let text = match val {
                        Value::Invalid => Some(b"<no value>".to_vec()),
                        v => gofmt::sprint(&[v], self.limits.max_output),
                    };
                    let Some(text) = text else {
                        return Err(
                            self.too_expensive("rendered output", mib(self.limits.max_output))
                        );
                    };
                    self.write(&text)?;
                }
                Ok(Flow::Normal)
            }
            Node::Break { .. } => Ok(Flow::Break),
            Node::Continue { .. } => Ok(Flow::Continue),
            Node::If(b) => self.walk_if_or_with(false, dot, b),
            Node::With(b) => self.walk_if_or_with(true, dot, b),
            Node::Range(b) => self.walk_range(dot, node, b),
            Node::Template { name, pipe, .. } => {
                self.walk_template(dot, node, name, pipe.as_ref())?;
                Ok(Flow::Normal)
            }
            Node::Text { text, .. } => {
                self.write(text.as_bytes())?;
                Ok(Flow::Normal)
            }
        }
    }

    fn walk_if_or_with(&mut self, with: bool, dot: &Value, b: &'t Branch) -> EResult<Flow> {
        let mark = self.vars.len();
        let r = (|| {
            let val = self.eval_pipeline(dot, Some(&b.pipe))?;
            if val.truth() {
                if with {
                    self.walk_list(&val, &b.list)
                } else {
                    self.walk_list(dot, &b.list)
                }
            } else if let Some(e) = &b.else_list {
                self.walk_list(dot, e)
            } else {
                Ok(Flow::Normal)
            }
        })();
        self.vars.truncate(mark);
        r
    }

    fn walk_range(&mut self, dot: &Value, node: &'t Node, r: &'t Branch) -> EResult<Flow> {
        self.at_node(node);
        let mark = self.vars.len();
        let result = self.walk_range_inner(dot, r);
        self.vars.truncate(mark);
        result.map(|_| Flow::Normal)
    }

    fn walk_range_inner(&mut self, dot: &Value, r: &'t Branch) -> EResult<()> {
        let val = self.eval_pipeline(dot, Some(&r.pipe))?;
        let val = match val {
            Value::NilIface => Value::Invalid,
            Value::IfaceStr(s) => Value::Str(s),
            v => v,
        };
        let mark = self.vars.len();
        match &val {
            Value::Map(m) if !m.is_empty() => {
                for (k, v) in m.iter() {
                    self.step()?;
                    let elem = Value::IfaceStr(v.as_bytes().into());
                    if !r.pipe.decl.is_empty() {
                        self.set_top_var(1, elem.clone());
                    }
                    if r.pipe.decl.len() > 1 {
                        self.set_top_var(2, Value::str(k.as_bytes()));
                    }
                    let flow = self.walk_list(&elem, &r.list);
                    self.vars.truncate(mark);
                    match flow? {
                        Flow::Break => break,
                        Flow::Normal | Flow::Continue => {}
                    }
                }
                return Ok(());
            }
            Value::Map(_) | Value::Invalid => {}
            other => {
                return Err(self.error(format!(
                    "range can't iterate over {}",
                    gofmt::sprint_v(other)
                )))
            }
        }
        if let Some(e) = &r.else_list {
            self.walk_list(dot, e)?;
        }
        Ok(())
    }

    fn walk_template(
        &mut self,
        dot: &Value,
        node: &'t Node,
        name: &str,
        pipe: Option<&'t Pipe>,
    ) -> EResult<()> {
        self.at_node(node);
        let Some(tree) = self.trees.get(name) else {
            return Err(self.error(format!("template {} not defined", gofmt::quote(name))));
        };
        if self.depth >= self.limits.max_depth {
            return Err(self.too_expensive(
                "template call nesting",
                format!("{} levels", self.limits.max_depth),
            ));
        }
        let dot = self.eval_pipeline(dot, pipe)?;
        let saved_vars = std::mem::replace(&mut self.vars, vec![("$", dot.clone())]);
        let saved_name = std::mem::replace(&mut self.name, &tree.name);
        self.depth += 1;
        let r = self.walk_list(&dot, &tree.root);
        self.depth -= 1;
        self.vars = saved_vars;
        self.name = saved_name;
        r.map(|_| ())
    }

    // ---- evaluation ----

    fn eval_pipeline(&mut self, dot: &Value, pipe: Option<&'t Pipe>) -> EResult<Value> {
        let Some(pipe) = pipe else {
            return Ok(Value::Invalid);
        };
        self.node = At::Pipe(pipe);
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            let v = self.eval_command(dot, cmd, value.take())?;
            value = Some(v.unwrap_iface());
        }
        let value = value.unwrap_or(Value::Invalid);
        for (_, name) in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, value.clone())?;
            } else {
                self.vars.push((name, value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &[Arg], final_: &Option<Value>) -> EResult<()> {
        if args.len() > 1 || final_.is_some() {
            return Err(self.error(format!("can't give argument to non-function {}", args[0])));
        }
        Ok(())
    }

    fn eval_command(
        &mut self,
        dot: &Value,
        cmd: &'t Command,
        final_: Option<Value>,
    ) -> EResult<Value> {
        self.step()?;
        let first = &cmd.args[0];
        match first {
            Arg::Field { ident, .. } => {
                self.at_arg(first);
                return self.eval_field_chain(
                    dot,
                    dot.clone(),
                    first,
                    ident,
                    Some(&cmd.args),
                    final_,
                );
            }
            Arg::Chain { .. } => return self.eval_chain(dot, first, Some(&cmd.args), final_),
            Arg::Identifier { name, .. } => {
                return self.eval_function(dot, first, name, At::Cmd(cmd), Some(&cmd.args), final_)
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, &final_)?;
                return self.eval_pipeline(dot, Some(p));
            }
            Arg::Variable { .. } => return self.eval_variable(dot, first, Some(&cmd.args), final_),
            _ => {}
        }
        self.at_arg(first);
        self.not_a_function(&cmd.args, &final_)?;
        match first {
            Arg::Bool { val, .. } => Ok(Value::Bool(*val)),
            Arg::Dot { .. } => Ok(dot.clone()),
            Arg::Nil { .. } => Err(self.error("nil is not a command".into())),
            Arg::Number(n) => self.ideal_constant(first, n),
            Arg::String { text, .. } => Ok(Value::Str(text.clone())),
            _ => Err(self.error(format!(
                "can't evaluate command {}",
                gofmt::quote(&first.to_string())
            ))),
        }
    }

    fn ideal_constant(&mut self, node: &'t Arg, n: &Number) -> EResult<Value> {
        self.at_arg(node);
        if n.is_complex {
            return Ok(Value::Complex(n.complex.0, n.complex.1));
        }
        if n.is_float
            && !is_hex_int(&n.text)
            && !is_rune_int(&n.text)
            && n.text.contains(['.', 'e', 'E', 'p', 'P'])
        {
            return Ok(Value::Float(n.float64));
        }
        if n.is_int {
            return Ok(Value::Int(n.int64));
        }
        if n.is_uint {
            return Err(self.error(format!("{} overflows int", n.text)));
        }
        Ok(Value::Invalid)
    }

    fn eval_chain(
        &mut self,
        dot: &Value,
        chain: &'t Arg,
        args: Option<&'t [Arg]>,
        final_: Option<Value>,
    ) -> EResult<Value> {
        self.at_arg(chain);
        let Arg::Chain { node, fields, .. } = chain else {
            return Err(self.error("internal error: not a chain".into()));
        };
        if matches!(node.as_ref(), Arg::Nil { .. }) {
            return Err(self.error(format!("indirection through explicit nil in {chain}")));
        }
        let pipe = self.eval_arg(dot, None, node)?;
        self.eval_field_chain(dot, pipe, chain, fields, args, final_)
    }

    fn eval_variable(
        &mut self,
        dot: &Value,
        variable: &'t Arg,
        args: Option<&'t [Arg]>,
        final_: Option<Value>,
    ) -> EResult<Value> {
        self.at_arg(variable);
        let Arg::Variable { ident, .. } = variable else {
            return Err(self.error("internal error: not a variable".into()));
        };
        let value = self.var_value(&ident[0])?;
        if ident.len() == 1 {
            if let Some(args) = args {
                self.not_a_function(args, &final_)?;
            } else if final_.is_some() {
                return Err(self.error(format!("can't give argument to non-function {variable}")));
            }
            return Ok(value);
        }
        self.eval_field_chain(dot, value, variable, &ident[1..], args, final_)
    }

    fn eval_field_chain(
        &mut self,
        _dot: &Value,
        mut receiver: Value,
        node: &'t Arg,
        ident: &[String],
        args: Option<&'t [Arg]>,
        final_: Option<Value>,
    ) -> EResult<Value> {
        let n = ident.len();
        for field in &ident[..n - 1] {
            receiver = self.eval_field(field, node, None, None, receiver)?;
        }
        self.eval_field(&ident[n - 1], node, args, final_, receiver)
    }

    fn eval_field(
        &mut self,
        field: &str,
        _node: &'t Arg,
        args: Option<&'t [Arg]>,
        final_: Option<Value>,
        receiver: Value,
    ) -> EResult<Value> {
        if !receiver.is_valid() {
            return Err(self.error(format!(
                "nil data; no entry for key {}",
                gofmt::quote(field)
            )));
        }
        let typ = receiver.type_name();
        if matches!(receiver, Value::NilIface) {
            return Err(self.error(format!("nil pointer evaluating {typ}.{field}")));
        }
        let has_args = args.is_some_and(|a| a.len() > 1) || final_.is_some();
        if let Value::Map(m) = receiver.indirect() {
            if has_args {
                return Err(self.error(format!("{field} is not a method but has arguments")));
            }
            return match m.get(field) {
                Some(v) => Ok(Value::IfaceStr(v.as_bytes().into())),
                None => Err(self.error_kind(
                    format!("map has no entry for key {}", gofmt::quote(field)),
                    ExecErrorKind::MissingKey(field.to_string()),
                )),
            };
        }
        Err(self.error(format!("can't evaluate field {field} in type {typ}")))
    }

    fn eval_function(
        &mut self,
        dot: &Value,
        ident: &'t Arg,
        name: &str,
        node: At<'t>,
        args: Option<&'t [Arg]>,
        final_: Option<Value>,
    ) -> EResult<Value> {
        self.at_arg(ident);
        let Some(f) = Func::lookup(name) else {
            return Err(self.error(format!("{} is not a defined function", gofmt::quote(name))));
        };
        self.eval_call(dot, f, node, name, args, final_)
    }

    fn eval_call(
        &mut self,
        dot: &Value,
        f: Func,
        node: At<'t>,
        name: &str,
        args: Option<&'t [Arg]>,
        final_: Option<Value>,
    ) -> EResult<Value> {
        self.step()?;
        let args: &'t [Arg] = match args {
            Some(a) => &a[1..],
            None => &[],
        };
        let (fixed, variadic) = f.signature();
        let num_in = args.len() + usize::from(final_.is_some());
        if variadic.is_some() {
            if num_in < fixed.len() {
                return Err(self.error(format!(
                    "wrong number of args for {name}: want at least {} got {}",
                    fixed.len(),
                    args.len()
                )));
            }
        } else if num_in != fixed.len() {
            return Err(self.error(format!(
                "wrong number of args for {name}: want {} got {num_in}",
                fixed.len()
            )));
        }
        if f == Func::And || f == Func::Or {
            let mut v = Value::Invalid;
            for arg in args {
                v = self.eval_arg(dot, Some(Param::Rv), arg)?;
                if v.truth() == (f == Func::Or) {
                    return Ok(v);
                }
            }
            if let Some(fin) = final_ {
                v = fin;
            }
            return Ok(v);
        }
        let mut argv: Vec<Value> = Vec::with_capacity(num_in);
        let mut i = 0;
        while i < fixed.len() && i < args.len() {
            argv.push(self.eval_arg(dot, Some(fixed[i]), &args[i])?);
            i += 1;
        }
        if let Some(elem) = variadic {
            while i < args.len() {
                argv.push(self.eval_arg(dot, Some(elem), &args[i])?);
                i += 1;
            }
        }
        if let Some(fin) = final_ {
            let t = match variadic {
                Some(elem) if num_in > fixed.len() => elem,
                _ => fixed[num_in - 1],
            };
            argv.push(self.validate_type(fin, Some(t))?);
        }
        match self.call_builtin(f, &argv) {
            Ok(v) => self.check_value(v),
            Err(failure) => {
                self.node = node;
                Err(match failure {
                    CallError::Go(message) => {
                        self.error(format!("error calling {name}: {message}"))
                    }
                    CallError::Host(HostFailure::TooExpensive { what, limit }) => {
                        self.too_expensive(&what, limit)
                    }
                    CallError::TooLarge => {
                        self.too_expensive("a string value", mib(self.limits.max_output))
                    }
                    CallError::Host(h) => {
                        let message = host_message(&h);
                        self.error_kind(
                            format!("error calling {name}: {message}"),
                            ExecErrorKind::Host(h),
                        )
                    }
                })
            }
        }
    }

    fn validate_type(&self, value: Value, typ: Option<Param>) -> EResult<Value> {
        let Some(typ) = typ else {
            return Ok(value);
        };
        match typ {
            Param::Rv => Ok(value),
            Param::Any => Ok(match value {
                Value::Invalid => Value::NilIface,
                Value::IfaceStr(s) => Value::Str(s),
                v => v,
            }),
            Param::Str => match value {
                Value::Invalid => Err(self.error("invalid value; expected string".into())),
                Value::Str(s) | Value::IfaceStr(s) => Ok(Value::Str(s)),
                other => Err(self.error(format!(
                    "wrong type for value; expected string; got {}",
                    other.type_name()
                ))),
            },
        }
    }

    fn eval_arg(&mut self, dot: &Value, typ: Option<Param>, n: &'t Arg) -> EResult<Value> {
        self.at_arg(n);
        match n {
            Arg::Dot { .. } => return self.validate_type(dot.clone(), typ),
            Arg::Nil { .. } => {
                return match typ {
                    Some(Param::Any) => Ok(Value::NilIface),
                    Some(Param::Rv) => Ok(Value::Invalid),
                    Some(Param::Str) => Err(self.error("cannot assign nil to string".into())),
                    None => Ok(Value::Invalid),
                }
            }
            Arg::Field { ident, .. } => {
                let v = self.eval_field_chain(
                    dot,
                    dot.clone(),
                    n,
                    ident,
                    Some(std::slice::from_ref(n)),
                    None,
                )?;
                return self.validate_type(v, typ);
            }
            Arg::Variable { .. } => {
                let v = self.eval_variable(dot, n, None, None)?;
                return self.validate_type(v, typ);
            }
            Arg::Pipe(p) => {
                let v = self.eval_pipeline(dot, Some(p))?;
                return self.validate_type(v, typ);
            }
            Arg::Identifier { name, .. } => {
                let v = self.eval_function(dot, n, name, At::Arg(n), None, None)?;
                return self.validate_type(v, typ);
            }
            Arg::Chain { .. } => {
                let v = self.eval_chain(dot, n, None, None)?;
                return self.validate_type(v, typ);
            }
            _ => {}
        }
        match typ {
            Some(Param::Str) => match n {
                Arg::String { text, .. } => Ok(Value::Str(text.clone())),
                _ => Err(self.error(format!("expected string; found {n}"))),
            },
            Some(Param::Any | Param::Rv) | None => match n {
                Arg::Bool { val, .. } => Ok(Value::Bool(*val)),
                Arg::Number(num) => self.ideal_constant(n, num),
                Arg::String { text, .. } => Ok(Value::Str(text.clone())),
                _ => Err(self.error(format!(
                    "can't handle assignment of {n} to empty interface argument"
                ))),
            },
        }
    }

    // ---- builtins ----

    fn call_builtin(&mut self, f: Func, argv: &[Value]) -> Result<Value, CallError> {
        let go = |m: &str| CallError::Go(m.to_string());
        let limit = self.limits.max_output;
        match f {
            Func::And | Func::Or => unreachable!("handled in eval_call"),
            Func::Not => Ok(Value::Bool(!argv[0].truth())),
            Func::Len => match &argv[0] {
                Value::NilIface => Err(go("len of nil pointer")),
                Value::Invalid => Err(go("reflect: call of reflect.Value.Type on zero Value")),
                Value::Str(s) | Value::IfaceStr(s) => Ok(Value::Int(s.len() as i64)),
                Value::Map(m) => Ok(Value::Int(m.len() as i64)),
                other => Err(CallError::Go(format!("len of type {}", other.type_name()))),
            },
            Func::Index => index(&argv[0], &argv[1..]),
            Func::Slice => slice(&argv[0], &argv[1..]),
            Func::Call => match argv[0].indirect() {
                Value::Invalid => Err(go("call of nil")),
                other => Err(CallError::Go(format!(
                    "non-function of type {}",
                    other.type_name()
                ))),
            },
            Func::Html => Ok(Value::str(&super::funcs::html(&eval_args(argv, limit)?))),
            Func::Js => Ok(Value::str(&super::funcs::js(&eval_args(argv, limit)?))),
            Func::Urlquery => Ok(Value::str(
                super::funcs::urlquery(&eval_args(argv, limit)?).as_bytes(),
            )),
            Func::Print => Ok(Value::Str(
                gofmt::sprint(argv, limit).ok_or(TOO_LARGE)?.into(),
            )),
            Func::Println => Ok(Value::Str(
                gofmt::sprintln(argv, limit).ok_or(TOO_LARGE)?.into(),
            )),
            Func::Printf => {
                let Value::Str(format) = &argv[0] else {
                    return Err(go("printf needs a format string"));
                };
                Ok(Value::Str(
                    gofmt::sprintf(format, &argv[1..], limit)
                        .ok_or(TOO_LARGE)?
                        .into(),
                ))
            }
            Func::Eq => eq(&argv[0], &argv[1..]).map(Value::Bool),
            Func::Ne => eq(&argv[0], &argv[1..2]).map(|b| Value::Bool(!b)),
            Func::Lt => lt(&argv[0], &argv[1]).map(Value::Bool),
            Func::Le => le(&argv[0], &argv[1]).map(Value::Bool),
            Func::Gt => le(&argv[0], &argv[1]).map(|b| Value::Bool(!b)),
            Func::Ge => lt(&argv[0], &argv[1]).map(|b| Value::Bool(!b)),
            Func::NowWithFormat
            | Func::TimeWithFormat
            | Func::SystemEnv
            | Func::Base64
            | Func::Base64File => {
                let strings: Vec<Bytes> = argv
                    .iter()
                    .map(|v| match v {
                        Value::Str(s) | Value::IfaceStr(s) => s.clone(),
                        _ => Bytes::from(&b""[..]),
                    })
                    .collect();
                self.host.call(f, &strings).map_err(CallError::Host)
            }
        }
    }
}

enum CallError {
    /// A Go error's text.
    Go(String),
    Host(HostFailure),
    /// The result would be larger than a value may be.
    TooLarge,
}

const TOO_LARGE: CallError = CallError::TooLarge;

/// The Go error text of one of our functions' failures.
pub fn host_message(h: &HostFailure) -> String {
    match h {
        HostFailure::UnsetEnv { name } => format!("environment variable {name} not set"),
        HostFailure::RefusedEnv { name, .. } => {
            format!("environment variable {name} may not be read here")
        }
        HostFailure::File { path, message } => format!("open {path}: {message}"),
        HostFailure::BadEpoch { message, .. } => message.clone(),
        HostFailure::TooExpensive { what, limit } => format!("{what} exceeds the limit of {limit}"),
    }
}

fn mib(bytes: usize) -> String {
    if bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
    }
}

/// Go's `evalArgs` of `html`, `js` and `urlquery`: one string as is, anything else through `fmt.Sprint`
/// (where a nil argument prints `<no value>`).
fn eval_args(args: &[Value], limit: usize) -> Result<Vec<u8>, CallError> {
    if let [Value::Str(s)] = args {
        return Ok(s.to_vec());
    }
    let printable: Vec<Value> = args
        .iter()
        .map(|a| match a {
            Value::NilIface | Value::Invalid => Value::str(b"<no value>"),
            v => v.clone(),
        })
        .collect();
    gofmt::sprint(&printable, limit).ok_or(TOO_LARGE)
}

/// Go's `indexArg`.
fn index_arg(index: &Value, cap: usize) -> Result<usize, CallError> {
    let x: i64 = match index {
        Value::Int(i) => *i,
        Value::Uint8(u) => i64::from(*u),
        Value::Invalid => return Err(CallError::Go("cannot index slice/array with nil".into())),
        other => {
            return Err(CallError::Go(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            )))
        }
    };
    if x < 0 || x as u64 > cap as u64 {
        return Err(CallError::Go(format!("index out of range: {x}")));
    }
    Ok(x as usize)
}

fn index(item: &Value, indexes: &[Value]) -> Result<Value, CallError> {
    let mut item = item.indirect();
    if !item.is_valid() {
        return Err(CallError::Go("index of untyped nil".into()));
    }
    for index in indexes {
        let index = index.indirect();
        item = item.indirect();
        item = match &item {
            Value::Str(s) => {
                let x = index_arg(&index, s.len())?;
                match s.get(x) {
                    Some(&b) => Value::Uint8(b),
                    None => return Err(CallError::Go("reflect: string index out of range".into())),
                }
            }
            Value::Map(m) => {
                let key = match &index {
                    Value::Invalid => {
                        return Err(CallError::Go(
                            "value is nil; should be of type string".into(),
                        ))
                    }
                    Value::Str(k) => k.clone(),
                    other => {
                        return Err(CallError::Go(format!(
                            "value has type {}; should be string",
                            other.type_name()
                        )))
                    }
                };
                match std::str::from_utf8(&key).ok().and_then(|k| m.get(k)) {
                    Some(v) => Value::IfaceStr(v.as_bytes().into()),
                    None => Value::NilIface,
                }
            }
            Value::Invalid | Value::NilIface => {
                return Err(CallError::Go("index of nil pointer".into()))
            }
            other => {
                return Err(CallError::Go(format!(
                    "can't index item of type {}",
                    other.type_name()
                )))
            }
        };
    }
    Ok(item)
}

fn slice(item: &Value, indexes: &[Value]) -> Result<Value, CallError> {
    let item = item.indirect();
    if !item.is_valid() {
        return Err(CallError::Go("slice of untyped nil".into()));
    }
    if indexes.len() > 3 {
        return Err(CallError::Go(format!(
            "too many slice indexes: {}",
            indexes.len()
        )));
    }
    let Value::Str(s) = &item else {
        return Err(CallError::Go(format!(
            "can't slice item of type {}",
            item.type_name()
        )));
    };
    if indexes.len() == 3 {
        return Err(CallError::Go("cannot 3-index slice a string".into()));
    }
    let cap = s.len();
    let mut idx = [0usize, s.len()];
    for (i, index) in indexes.iter().enumerate() {
        idx[i] = index_arg(index, cap)?;
    }
    if idx[0] > idx[1] {
        return Err(CallError::Go(format!(
            "invalid slice index: {} > {}",
            idx[0], idx[1]
        )));
    }
    Ok(Value::str(&s[idx[0]..idx[1]]))
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Invalid,
    Bool,
    Complex,
    Int,
    Float,
    String,
    Uint,
}

fn basic_kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) => Kind::Int,
        Value::Uint8(_) => Kind::Uint,
        Value::Float(_) => Kind::Float,
        Value::Complex(..) => Kind::Complex,
        Value::Str(_) | Value::IfaceStr(_) => Kind::String,
        _ => Kind::Invalid,
    }
}

fn as_int(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        _ => 0,
    }
}

fn as_uint(v: &Value) -> u64 {
    match v {
        Value::Uint8(u) => u64::from(*u),
        _ => 0,
    }
}

fn as_float(v: &Value) -> f64 {
    match v {
        Value::Float(f) => *f,
        _ => 0.0,
    }
}

fn as_str(v: &Value) -> &[u8] {
    match v {
        Value::Str(s) | Value::IfaceStr(s) => s,
        _ => b"",
    }
}

const BAD_COMPARISON: &str = "incompatible types for comparison";
const BAD_COMPARISON_TYPE: &str = "invalid type for comparison";

fn eq(arg1: &Value, arg2: &[Value]) -> Result<bool, CallError> {
    let arg1 = arg1.indirect();
    if arg2.is_empty() {
        return Err(CallError::Go("missing argument for comparison".into()));
    }
    let k1 = basic_kind(&arg1);
    for arg in arg2 {
        let arg = arg.indirect();
        let k2 = basic_kind(&arg);
        let truth = if k1 != k2 {
            match (k1, k2) {
                (Kind::Int, Kind::Uint) => {
                    as_int(&arg1) >= 0 && as_int(&arg1) as u64 == as_uint(&arg)
                }
                (Kind::Uint, Kind::Int) => {
                    as_int(&arg) >= 0 && as_uint(&arg1) == as_int(&arg) as u64
                }
                _ => {
                    if arg1.is_valid() && arg.is_valid() {
                        return Err(CallError::Go(BAD_COMPARISON.into()));
                    }
                    false
                }
            }
        } else {
            match k1 {
                Kind::Bool => matches!((&arg1, &arg), (Value::Bool(a), Value::Bool(b)) if a == b),
                Kind::Complex => {
                    matches!((&arg1, &arg), (Value::Complex(a, b), Value::Complex(c, d)) if a == c && b == d)
                }
                Kind::Float => as_float(&arg1) == as_float(&arg),
                Kind::Int => as_int(&arg1) == as_int(&arg),
                Kind::String => as_str(&arg1) == as_str(&arg),
                Kind::Uint => as_uint(&arg1) == as_uint(&arg),
                Kind::Invalid => {
                    // Maps and nil: a nil compares equal to a nil; two maps are not comparable.
                    let n1 = !arg1.is_valid();
                    let n2 = !arg.is_valid();
                    if n1 || n2 {
                        n1 == n2
                    } else {
                        return Err(CallError::Go(format!(
                            "non-comparable type {}: {}",
                            gofmt::sprint_v(&arg),
                            arg.type_name()
                        )));
                    }
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

fn lt(arg1: &Value, arg2: &Value) -> Result<bool, CallError> {
    let arg1 = arg1.indirect();
    let k1 = basic_kind(&arg1);
    if k1 == Kind::Invalid {
        return Err(CallError::Go(BAD_COMPARISON_TYPE.into()));
    }
    let arg2 = arg2.indirect();
    let k2 = basic_kind(&arg2);
    if k2 == Kind::Invalid {
        return Err(CallError::Go(BAD_COMPARISON_TYPE.into()));
    }
    if k1 != k2 {
        return match (k1, k2) {
            (Kind::Int, Kind::Uint) => {
                Ok(as_int(&arg1) < 0 || (as_int(&arg1) as u64) < as_uint(&arg2))
            }
            (Kind::Uint, Kind::Int) => {
                Ok(as_int(&arg2) >= 0 && as_uint(&arg1) < as_int(&arg2) as u64)
            }
            _ => Err(CallError::Go(BAD_COMPARISON.into())),
        };
    }
    match k1 {
        Kind::Bool | Kind::Complex => Err(CallError::Go(BAD_COMPARISON_TYPE.into())),
        Kind::Float => Ok(as_float(&arg1) < as_float(&arg2)),
        Kind::Int => Ok(as_int(&arg1) < as_int(&arg2)),
        Kind::String => Ok(as_str(&arg1) < as_str(&arg2)),
        Kind::Uint => Ok(as_uint(&arg1) < as_uint(&arg2)),
        Kind::Invalid => Err(CallError::Go(BAD_COMPARISON_TYPE.into())),
    }
}

fn le(arg1: &Value, arg2: &Value) -> Result<bool, CallError> {
    if lt(arg1, arg2)? {
        return Ok(true);
    }
    eq(arg1, std::slice::from_ref(arg2))
}
