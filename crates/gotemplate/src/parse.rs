//! Go's `text/template` parser (`text/template/parse/parse.go` and `node.go`, Go 1.19): the same grammar,
//! nodes, positions, error messages and error lines (Go reports the line of the last token it read, so the
//! three-token lookahead is kept as Go has it). One addition: nesting deeper than [`MAX_NESTING`] (control
//! structures and parentheses) is refused, so no input can exhaust the stack.

use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use super::lex::{self, Item, ItemType};
use super::value::Bytes;

/// How deep `{{if}}`/`{{range}}`/`{{with}}`/`{{block}}` bodies and parenthesized pipelines may nest.
pub const MAX_NESTING: usize = 100;

#[derive(Debug, Clone, PartialEq)]
pub struct Number {
    pub pos: usize,
    pub text: String,
    pub is_int: bool,
    pub is_uint: bool,
    pub is_float: bool,
    pub is_complex: bool,
    pub int64: i64,
    pub uint64: u64,
    pub float64: f64,
    pub complex: (f64, f64),
}

/// An operand (Go's argument node types).
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Identifier {
        pos: usize,
        name: String,
    },
    Dot {
        pos: usize,
    },
    Nil {
        pos: usize,
    },
    Variable {
        pos: usize,
        ident: Vec<String>,
    },
    Field {
        pos: usize,
        ident: Vec<String>,
    },
    Chain {
        pos: usize,
        node: Box<Arg>,
        fields: Vec<String>,
    },
    Bool {
        pos: usize,
        val: bool,
    },
    Number(Box<Number>),
    String {
        pos: usize,
        quoted: String,
        text: Bytes,
    },
    Pipe(Box<Pipe>),
}

impl Arg {
    pub fn pos(&self) -> usize {
        match self {
            Arg::Identifier { pos, .. }
            | Arg::Dot { pos }
            | Arg::Nil { pos }
            | Arg::Variable { pos, .. }
            | Arg::Field { pos, .. }
            | Arg::Chain { pos, .. }
            | Arg::Bool { pos, .. }
            | Arg::String { pos, .. } => *pos,
            Arg::Number(n) => n.pos,
            Arg::Pipe(p) => p.pos,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub pos: usize,
    pub args: Vec<Arg>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pipe {
    pub pos: usize,
    pub is_assign: bool,
    /// Declared (or assigned) variables, with their positions.
    pub decl: Vec<(usize, String)>,
    pub cmds: Vec<Command>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct List {
    pub pos: usize,
    pub nodes: Vec<Node>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Branch {
    pub pos: usize,
    pub pipe: Pipe,
    pub list: List,
    pub else_list: Option<List>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Text {
        pos: usize,
        text: String,
    },
    Action {
        pos: usize,
        pipe: Pipe,
    },
    If(Box<Branch>),
    Range(Box<Branch>),
    With(Box<Branch>),
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    Break {
        pos: usize,
    },
    Continue {
        pos: usize,
    },
}

impl Node {
    pub fn pos(&self) -> usize {
        match self {
            Node::Text { pos, .. }
            | Node::Action { pos, .. }
            | Node::Template { pos, .. }
            | Node::Break { pos }
            | Node::Continue { pos } => *pos,
            Node::If(b) | Node::Range(b) | Node::With(b) => b.pos,
        }
    }
}

// ---- Go's String() of nodes, used as the `at <…>` context of execution errors ----

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Identifier { name, .. } => write!(f, "{name}"),
            Arg::Dot { .. } => write!(f, "."),
            Arg::Nil { .. } => write!(f, "nil"),
            Arg::Variable { ident, .. } => write!(f, "{}", ident.join(".")),
            Arg::Field { ident, .. } => {
                for id in ident {
                    write!(f, ".{id}")?;
                }
                Ok(())
            }
            Arg::Chain { node, fields, .. } => {
                if let Arg::Pipe(p) = node.as_ref() {
                    write!(f, "({p})")?;
                } else {
                    write!(f, "{node}")?;
                }
                for field in fields {
                    write!(f, ".{field}")?;
                }
                Ok(())
            }
            Arg::Bool { val, .. } => write!(f, "{val}"),
            Arg::Number(n) => write!(f, "{}", n.text),
            Arg::String { quoted, .. } => write!(f, "{quoted}"),
            Arg::Pipe(p) => write!(f, "{p}"),
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, arg) in self.args.iter().enumerate() {
            if i > 0 {
                write!(f, " ")?;
            }
            if let Arg::Pipe(p) = arg {
                write!(f, "({p})")?;
            } else {
                write!(f, "{arg}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            for (i, (_, v)) in self.decl.iter().enumerate() {
                if i > 0 {
                    write!(f, ", ")?;
                }
                write!(f, "{v}")?;
            }
            write!(f, " := ")?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                write!(f, " | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl fmt::Display for List {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for n in &self.nodes {
            write!(f, "{n}")?;
        }
        Ok(())
    }
}

fn write_branch(f: &mut fmt::Formatter<'_>, name: &str, b: &Branch) -> fmt::Result {
    write!(f, "{{{{{name} {}}}}}{}", b.pipe, b.list)?;
    if let Some(e) = &b.else_list {
        write!(f, "{{{{else}}}}{e}")?;
    }
    write!(f, "{{{{end}}}}")
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Text { text, .. } => write!(f, "{text}"),
            Node::Action { pipe, .. } => write!(f, "{{{{{pipe}}}}}"),
            Node::If(b) => write_branch(f, "if", b),
            Node::Range(b) => write_branch(f, "range", b),
            Node::With(b) => write_branch(f, "with", b),
            Node::Template { name, pipe, .. } => match pipe {
                None => write!(f, "{{{{template {}}}}}", super::fmt::quote(name)),
                Some(p) => write!(f, "{{{{template {} {p}}}}}", super::fmt::quote(name)),
            },
            Node::Break { .. } => write!(f, "{{{{break}}}}"),
            Node::Continue { .. } => write!(f, "{{{{continue}}}}"),
        }
    }
}

/// A parsed template body.
#[derive(Debug, Clone, PartialEq)]
pub struct Tree {
    pub name: String,
    pub root: List,
}

impl Tree {
    fn is_empty(&self) -> bool {
        self.root.nodes.iter().all(|n| match n {
            Node::Text { text, .. } => text.trim_matches(is_go_space).is_empty(),
            _ => false,
        })
    }
}

/// Go's `bytes.TrimSpace` notion of white space (Unicode).
fn is_go_space(c: char) -> bool {
    c.is_whitespace()
}

/// What went wrong while parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseErrorKind {
    Syntax,
    UnknownFunction(String),
    TooDeep,
}

/// A parse error: Go's message (without the `template: name:line: ` prefix) and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
    pub kind: ParseErrorKind,
}

type PResult<T> = Result<T, ParseError>;

/// The state shared by the trees parsed from one text: the lexer's items and the set of trees.
struct Shared<'f> {
    parse_name: String,
    items: Vec<Item>,
    next: usize,
    trees: HashMap<String, Rc<Tree>>,
    is_function: &'f dyn Fn(&str) -> bool,
    depth: usize,
}

impl Shared<'_> {
    fn next_item(&mut self) -> Item {
        match self.items.get(self.next) {
            Some(item) => {
                self.next += 1;
                item.clone()
            }
            // Go reads the zero item from the closed channel.
            None => Item {
                typ: ItemType::Error,
                pos: 0,
                val: String::new(),
                line: 0,
            },
        }
    }
}

enum Parsed {
    Node(Node),
    End,
    Else { pos: usize },
}

struct P<'s, 'f> {
    name: String,
    sh: &'s mut Shared<'f>,
    token: [Item; 3],
    peek_count: usize,
    vars: Vec<String>,
    action_line: usize,
    range_depth: usize,
}

fn zero_item() -> Item {
    Item {
        typ: ItemType::Error,
        pos: 0,
        val: String::new(),
        line: 0,
    }
}

impl<'s, 'f> P<'s, 'f> {
    fn new(name: &str, sh: &'s mut Shared<'f>) -> Self {
        P {
            name: name.to_string(),
            sh,
            token: [zero_item(), zero_item(), zero_item()],
            peek_count: 0,
            vars: vec!["$".into()],
            action_line: 0,
            range_depth: 0,
        }
    }

    fn next(&mut self) -> Item {
        if self.peek_count > 0 {
            self.peek_count -= 1;
        } else {
            self.token[0] = self.sh.next_item();
        }
        self.token[self.peek_count].clone()
    }

    fn backup(&mut self) {
        self.peek_count += 1;
    }

    fn backup2(&mut self, t1: Item) {
        self.token[1] = t1;
        self.peek_count = 2;
    }

    fn backup3(&mut self, t2: Item, t1: Item) {
        self.token[1] = t1;
        self.token[2] = t2;
        self.peek_count = 3;
    }

    fn peek(&mut self) -> Item {
        if self.peek_count > 0 {
            return self.token[self.peek_count - 1].clone();
        }
        self.peek_count = 1;
        self.token[0] = self.sh.next_item();
        self.token[0].clone()
    }

    fn next_non_space(&mut self) -> Item {
        loop {
            let t = self.next();
            if t.typ != ItemType::Space {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item {
        let t = self.next_non_space();
        self.backup();
        t
    }

    fn errorf<T>(&self, message: String) -> PResult<T> {
        Err(ParseError {
            line: self.token[0].line,
            message,
            kind: ParseErrorKind::Syntax,
        })
    }

    fn unexpected<T>(&self, token: &Item, context: &str) -> PResult<T> {
        if token.typ == ItemType::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != token.line {
                extra = format!(
                    " in action started at {}:{}",
                    self.sh.parse_name, self.action_line
                );
                if token.val.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.errorf(format!("{token}{extra}"));
        }
        self.errorf(format!("unexpected {token} in {context}"))
    }

    fn expect(&mut self, expected: ItemType, context: &str) -> PResult<Item> {
        let token = self.next_non_space();
        if token.typ != expected {
            return self.unexpected(&token, context);
        }
        Ok(token)
    }

    fn enter(&mut self) -> PResult<()> {
        self.sh.depth += 1;
        if self.sh.depth > MAX_NESTING {
            return Err(ParseError {
                line: self.token[0].line,
                message: format!("actions nest more than {MAX_NESTING} levels deep"),
                kind: ParseErrorKind::TooDeep,
            });
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.sh.depth -= 1;
    }

    fn add(&mut self, root: List) -> PResult<()> {
        let tree = Tree {
            name: self.name.clone(),
            root,
        };
        match self.sh.trees.get(&self.name) {
            Some(old) if !old.is_empty() => {
                if !tree.is_empty() {
                    return self.errorf(format!(
                        "template: multiple definition of template {}",
                        super::fmt::quote(&self.name)
                    ));
                }
                Ok(())
            }
            _ => {
                self.sh.trees.insert(self.name.clone(), Rc::new(tree));
                Ok(())
            }
        }
    }

    fn parse(&mut self) -> PResult<()> {
        let mut root = List {
            pos: self.peek().pos,
            nodes: Vec::new(),
        };
        while self.peek().typ != ItemType::Eof {
            if self.peek().typ == ItemType::LeftDelim {
                let delim = self.next();
                if self.next_non_space().typ == ItemType::Define {
                    let mut new_t = P::new("definition", self.sh);
                    new_t.parse_definition()?;
                    continue;
                }
                self.backup2(delim);
            }
            match self.text_or_action()? {
                Parsed::End => return self.errorf("unexpected {{end}}".into()),
                Parsed::Else { .. } => return self.errorf("unexpected {{else}}".into()),
                Parsed::Node(n) => root.nodes.push(n),
            }
        }
        self.add(root)
    }

    fn parse_definition(&mut self) -> PResult<()> {
        const CONTEXT: &str = "define clause";
        let name = self.next_non_space();
        if name.typ != ItemType::String && name.typ != ItemType::RawString {
            return self.unexpected(&name, CONTEXT);
        }
        match lex::unquote(&name.val) {
            Some(n) => self.name = String::from_utf8_lossy(&n).into_owned(),
            None => return self.errorf("invalid syntax".into()),
        }
        self.expect(ItemType::RightDelim, CONTEXT)?;
        self.enter()?;
        let (root, end) = self.item_list()?;
        self.leave();
        if !matches!(end, Parsed::End) {
            return self.errorf(format!("unexpected {} in {CONTEXT}", parsed_name(&end)));
        }
        self.add(root)
    }

    fn item_list(&mut self) -> PResult<(List, Parsed)> {
        let mut list = List {
            pos: self.peek_non_space().pos,
            nodes: Vec::new(),
        };
        while self.peek_non_space().typ != ItemType::Eof {
            let n = self.text_or_action()?;
            match n {
                Parsed::End | Parsed::Else { .. } => return Ok((list, n)),
                Parsed::Node(n) => list.nodes.push(n),
            }
        }
        self.errorf("unexpected EOF".into())
    }

    fn text_or_action(&mut self) -> PResult<Parsed> {
        let token = self.next_non_space();
        match token.typ {
            ItemType::Text => Ok(Parsed::Node(Node::Text {
                pos: token.pos,
                text: token.val,
            })),
            ItemType::LeftDelim => {
                self.action_line = token.line;
                let r = self.action();
                self.action_line = 0;
                r
            }
            _ => self.unexpected(&token, "input"),
        }
    }

    fn action(&mut self) -> PResult<Parsed> {
        let token = self.next_non_space();
        match token.typ {
            ItemType::Block => return self.block_control().map(Parsed::Node),
            ItemType::Break => return self.break_control(token.pos, "break").map(Parsed::Node),
            ItemType::Continue => {
                return self.break_control(token.pos, "continue").map(Parsed::Node)
            }
            ItemType::Else => return self.else_control(),
            ItemType::End => {
                self.expect(ItemType::RightDelim, "end")?;
                return Ok(Parsed::End);
            }
            ItemType::If => return self.branch_control("if").map(Parsed::Node),
            ItemType::Range => return self.branch_control("range").map(Parsed::Node),
            ItemType::Template => return self.template_control().map(Parsed::Node),
            ItemType::With => return self.branch_control("with").map(Parsed::Node),
            _ => {}
        }
        self.backup();
        let token = self.peek();
        let pipe = self.pipeline("command", ItemType::RightDelim)?;
        Ok(Parsed::Node(Node::Action {
            pos: token.pos,
            pipe,
        }))
    }

    fn break_control(&mut self, pos: usize, which: &str) -> PResult<Node> {
        let token = self.next_non_space();
        if token.typ != ItemType::RightDelim {
            return self.unexpected(&token, &format!("{{{{{which}}}}}"));
        }
        if self.range_depth == 0 {
            return self.errorf(format!("{{{{{which}}}}} outside {{{{range}}}}"));
        }
        Ok(if which == "break" {
            Node::Break { pos }
        } else {
            Node::Continue { pos }
        })
    }

    fn pipeline(&mut self, context: &str, end: ItemType) -> PResult<Pipe> {
        let token = self.peek_non_space();
        let mut pipe = Pipe {
            pos: token.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        loop {
            let v = self.peek_non_space();
            if v.typ != ItemType::Variable {
                break;
            }
            self.next();
            let token_after_variable = self.peek();
            let next = self.peek_non_space();
            if next.typ == ItemType::Assign || next.typ == ItemType::Declare {
                pipe.is_assign = next.typ == ItemType::Assign;
                self.next_non_space();
                pipe.decl.push((v.pos, v.val.clone()));
                self.vars.push(v.val.clone());
            } else if next.typ == ItemType::Char && next.val == "," {
                self.next_non_space();
                pipe.decl.push((v.pos, v.val.clone()));
                self.vars.push(v.val.clone());
                if context == "range" && pipe.decl.len() < 2 {
                    match self.peek_non_space().typ {
                        ItemType::Variable | ItemType::RightDelim | ItemType::RightParen => {
                            continue
                        }
                        _ => return self.errorf("range can only initialize variables".into()),
                    }
                }
                return self.errorf(format!("too many declarations in {context}"));
            } else if token_after_variable.typ == ItemType::Space {
                self.backup3(v, token_after_variable);
            } else {
                self.backup2(v);
            }
            break;
        }
        loop {
            let token = self.next_non_space();
            match token.typ {
                t if t == end => {
                    self.check_pipeline(&pipe, context)?;
                    return Ok(pipe);
                }
                ItemType::Bool
                | ItemType::CharConstant
                | ItemType::Complex
                | ItemType::Dot
                | ItemType::Field
                | ItemType::Identifier
                | ItemType::Number
                | ItemType::Nil
                | ItemType::RawString
                | ItemType::String
                | ItemType::Variable
                | ItemType::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return self.unexpected(&token, context),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return self.errorf(format!("missing value for {context}"));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args[0],
                Arg::Bool { .. }
                    | Arg::Dot { .. }
                    | Arg::Nil { .. }
                    | Arg::Number(_)
                    | Arg::String { .. }
            ) {
                return self.errorf(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                ));
            }
        }
        Ok(())
    }

    fn parse_control(
        &mut self,
        allow_else_if: bool,
        context: &str,
    ) -> PResult<(Pipe, List, Option<List>)> {
        let mark = self.vars.len();
        let r = self.parse_control_inner(allow_else_if, context);
        self.vars.truncate(mark);
        r
    }

    fn parse_control_inner(
        &mut self,
        allow_else_if: bool,
        context: &str,
    ) -> PResult<(Pipe, List, Option<List>)> {
        let pipe = self.pipeline(context, ItemType::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        self.enter()?;
        let (list, next) = self.item_list()?;
        if context == "range" {
            self.range_depth -= 1;
        }
        let mut else_list = None;
        if let Parsed::Else { pos } = next {
            if allow_else_if && self.peek().typ == ItemType::If {
                self.next();
                let node = self.branch_control("if")?;
                else_list = Some(List {
                    pos,
                    nodes: vec![node],
                });
            } else {
                let (list, next) = self.item_list()?;
                if !matches!(next, Parsed::End) {
                    return self.errorf(format!("expected end; found {}", parsed_name(&next)));
                }
                else_list = Some(list);
            }
        }
        self.leave();
        Ok((pipe, list, else_list))
    }

    fn branch_control(&mut self, context: &str) -> PResult<Node> {
        let (pipe, list, else_list) = self.parse_control(context == "if", context)?;
        let b = Box::new(Branch {
            pos: pipe.pos,
            pipe,
            list,
            else_list,
        });
        Ok(match context {
            "if" => Node::If(b),
            "range" => Node::Range(b),
            _ => Node::With(b),
        })
    }

    fn else_control(&mut self) -> PResult<Parsed> {
        let peek = self.peek_non_space();
        if peek.typ == ItemType::If {
            return Ok(Parsed::Else { pos: peek.pos });
        }
        let token = self.expect(ItemType::RightDelim, "else")?;
        Ok(Parsed::Else { pos: token.pos })
    }

    fn block_control(&mut self) -> PResult<Node> {
        const CONTEXT: &str = "block clause";
        let token = self.next_non_space();
        let name = self.parse_template_name(&token, CONTEXT)?;
        let pipe = self.pipeline(CONTEXT, ItemType::RightDelim)?;
        self.enter()?;
        let end = {
            let mut block = P::new(&name, self.sh);
            let (root, end) = block.item_list()?;
            if matches!(end, Parsed::End) {
                block.add(root)?;
            }
            end
        };
        self.leave();
        if !matches!(end, Parsed::End) {
            return self.errorf(format!("unexpected {} in {CONTEXT}", parsed_name(&end)));
        }
        Ok(Node::Template {
            pos: token.pos,
            name,
            pipe: Some(pipe),
        })
    }

    fn template_control(&mut self) -> PResult<Node> {
        const CONTEXT: &str = "template clause";
        let token = self.next_non_space();
        let name = self.parse_template_name(&token, CONTEXT)?;
        let mut pipe = None;
        if self.next_non_space().typ != ItemType::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(CONTEXT, ItemType::RightDelim)?);
        }
        Ok(Node::Template {
            pos: token.pos,
            name,
            pipe,
        })
    }

    fn parse_template_name(&self, token: &Item, context: &str) -> PResult<String> {
        match token.typ {
            ItemType::String | ItemType::RawString => match lex::unquote(&token.val) {
                Some(s) => Ok(String::from_utf8_lossy(&s).into_owned()),
                None => self.errorf("invalid syntax".into()),
            },
            _ => self.unexpected(token, context),
        }
    }

    fn command(&mut self) -> PResult<Command> {
        let mut cmd = Command {
            pos: self.peek_non_space().pos,
            args: Vec::new(),
        };
        loop {
            self.peek_non_space();
            if let Some(operand) = self.operand()? {
                cmd.args.push(operand);
            }
            let token = self.next();
            match token.typ {
                ItemType::Space => continue,
                ItemType::RightDelim | ItemType::RightParen => self.backup(),
                ItemType::Pipe => {}
                _ => return self.unexpected(&token, "operand"),
            }
            break;
        }
        if cmd.args.is_empty() {
            return self.errorf("empty command".into());
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().typ != ItemType::Field {
            return Ok(Some(node));
        }
        let pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().typ == ItemType::Field {
            fields.push(self.next().val[1..].to_string());
        }
        Ok(Some(match node {
            Arg::Field { ident, .. } => Arg::Field {
                pos,
                ident: ident.into_iter().chain(fields).collect(),
            },
            Arg::Variable { ident, .. } => Arg::Variable {
                pos,
                ident: ident.into_iter().chain(fields).collect(),
            },
            Arg::Bool { .. }
            | Arg::String { .. }
            | Arg::Number(_)
            | Arg::Nil { .. }
            | Arg::Dot { .. } => {
                return self.errorf(format!(
                    "unexpected . after term {}",
                    super::fmt::quote(&node.to_string())
                ))
            }
            other => Arg::Chain {
                pos,
                node: Box::new(other),
                fields,
            },
        }))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let token = self.next_non_space();
        let pos = token.pos;
        Ok(Some(match token.typ {
            ItemType::Identifier => {
                if !(self.sh.is_function)(&token.val) {
                    return Err(ParseError {
                        line: self.token[0].line,
                        message: format!("function {} not defined", super::fmt::quote(&token.val)),
                        kind: ParseErrorKind::UnknownFunction(token.val.clone()),
                    });
                }
                Arg::Identifier {
                    pos,
                    name: token.val,
                }
            }
            ItemType::Dot => Arg::Dot { pos },
            ItemType::Nil => Arg::Nil { pos },
            ItemType::Variable => {
                let ident: Vec<String> = token.val.split('.').map(str::to_string).collect();
                if !self.vars.iter().any(|v| *v == ident[0]) {
                    return self.errorf(format!(
                        "undefined variable {}",
                        super::fmt::quote(&ident[0])
                    ));
                }
                Arg::Variable { pos, ident }
            }
            ItemType::Field => Arg::Field {
                pos,
                ident: token.val[1..].split('.').map(str::to_string).collect(),
            },
            ItemType::Bool => Arg::Bool {
                pos,
                val: token.val == "true",
            },
            ItemType::CharConstant | ItemType::Complex | ItemType::Number => {
                match new_number(pos, &token.val, token.typ) {
                    Ok(n) => Arg::Number(Box::new(n)),
                    Err(message) => return self.errorf(message),
                }
            }
            ItemType::LeftParen => {
                self.enter()?;
                let pipe = self.pipeline("parenthesized pipeline", ItemType::RightParen)?;
                self.leave();
                Arg::Pipe(Box::new(pipe))
            }
            ItemType::String | ItemType::RawString => match lex::unquote(&token.val) {
                Some(s) => Arg::String {
                    pos,
                    quoted: token.val,
                    text: s.into(),
                },
                None => return self.errorf("invalid syntax".into()),
            },
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}

fn parsed_name(p: &Parsed) -> String {
    match p {
        Parsed::End => "{{end}}".into(),
        Parsed::Else { .. } => "{{else}}".into(),
        Parsed::Node(n) => n.to_string(),
    }
}

/// Parses `text` as the template `name`: every tree it defines, by name (the main one under `name`).
pub fn parse(
    name: &str,
    text: &str,
    is_function: &dyn Fn(&str) -> bool,
) -> Result<HashMap<String, Rc<Tree>>, ParseError> {
    let mut shared = Shared {
        parse_name: name.to_string(),
        items: lex::lex(text),
        next: 0,
        trees: HashMap::new(),
        is_function,
        depth: 0,
    };
    let mut p = P::new(name, &mut shared);
    p.parse()?;
    Ok(shared.trees)
}

// ---- numbers (Go's parse.newNumber and the strconv functions it uses) ----

fn lower(c: u8) -> u8 {
    c | 0x20
}

/// Go's `underscoreOK`.
fn underscore_ok(s: &str) -> bool {
    let mut s = s.as_bytes();
    let mut saw = b'^';
    let mut i = 0;
    if !s.is_empty() && (s[0] == b'-' || s[0] == b'+') {
        s = &s[1..];
    }
    let mut hex = false;
    if s.len() >= 2 && s[0] == b'0' && matches!(lower(s[1]), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = lower(s[1]) == b'x';
    }
    while i < s.len() {
        let c = s[i];
        if c.is_ascii_digit() || (hex && (b'a'..=b'f').contains(&lower(c))) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
        i += 1;
    }
    saw != b'_'
}

/// Go's `strconv.ParseUint(s, 0, 64)`: `Err(true)` for a range error.
fn parse_uint(s0: &str) -> Result<u64, bool> {
    let mut s = s0.as_bytes();
    if s.is_empty() {
        return Err(false);
    }
    let mut base: u64 = 10;
    if s[0] == b'0' {
        if s.len() >= 3 && lower(s[1]) == b'b' {
            base = 2;
            s = &s[2..];
        } else if s.len() >= 3 && lower(s[1]) == b'o' {
            base = 8;
            s = &s[2..];
        } else if s.len() >= 3 && lower(s[1]) == b'x' {
            base = 16;
            s = &s[2..];
        } else {
            base = 8;
            s = &s[1..];
        }
    }
    let mut underscores = false;
    let mut n: u64 = 0;
    for &c in s {
        let d = match c {
            b'_' => {
                underscores = true;
                continue;
            }
            b'0'..=b'9' => c - b'0',
            _ if lower(c).is_ascii_lowercase() => lower(c) - b'a' + 10,
            _ => return Err(false),
        };
        if u64::from(d) >= base {
            return Err(false);
        }
        n = n
            .checked_mul(base)
            .and_then(|n| n.checked_add(u64::from(d)))
            .ok_or(true)?;
    }
    if underscores && !underscore_ok(s0) {
        return Err(false);
    }
    Ok(n)
}

/// Go's `strconv.ParseInt(s, 0, 64)`.
fn parse_int(s0: &str) -> Result<i64, bool> {
    if s0.is_empty() {
        return Err(false);
    }
    let (neg, s) = match s0.as_bytes()[0] {
        b'+' => (false, &s0[1..]),
        b'-' => (true, &s0[1..]),
        _ => (false, s0),
    };
    let un = match parse_uint(s) {
        Ok(u) => u,
        Err(false) => return Err(false),
        Err(true) => return Err(true),
    };
    if !neg && un >= 1 << 63 {
        return Err(true);
    }
    if neg && un > 1 << 63 {
        return Err(true);
    }
    Ok(if neg {
        (un as i64).wrapping_neg()
    } else {
        un as i64
    })
}

/// Go's `strconv.ParseFloat(s, 64)`, `None` on any error (syntax or range).
pub fn parse_float(s0: &str) -> Option<f64> {
    let b = s0.as_bytes();
    let mut i = 0;
    let mut neg = false;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        neg = b[i] == b'-';
        i += 1;
    }
    let body = &s0[i..];
    let v = if body.len() >= 2 && body.as_bytes()[0] == b'0' && lower(body.as_bytes()[1]) == b'x' {
        parse_hex_float(&body[2..])?
    } else {
        // Decimal: digits [. digits] [e [sign] digits], with underscores between digits.
        let bb = body.as_bytes();
        let mut j = 0;
        let mut digits = 0;
        while j < bb.len() && (bb[j].is_ascii_digit() || bb[j] == b'_') {
            digits += usize::from(bb[j] != b'_');
            j += 1;
        }
        if j < bb.len() && bb[j] == b'.' {
            j += 1;
            while j < bb.len() && (bb[j].is_ascii_digit() || bb[j] == b'_') {
                digits += usize::from(bb[j] != b'_');
                j += 1;
            }
        }
        if digits == 0 {
            return None;
        }
        if j < bb.len() && lower(bb[j]) == b'e' {
            j += 1;
            if j < bb.len() && (bb[j] == b'+' || bb[j] == b'-') {
                j += 1;
            }
            let start = j;
            while j < bb.len() && (bb[j].is_ascii_digit() || bb[j] == b'_') {
                j += 1;
            }
            if j == start {
                return None;
            }
        }
        if j != bb.len() {
            return None;
        }
        if body.contains('_') && !underscore_ok(body) {
            return None;
        }
        body.replace('_', "").parse::<f64>().ok()?
    };
    if v.is_infinite() {
        return None;
    }
    Some(if neg { -v } else { v })
}

fn parse_hex_float(s: &str) -> Option<f64> {
    if s.contains('_') && !underscore_ok(&format!("0x{s}")) {
        return None;
    }
    let s = s.replace('_', "");
    let b = s.as_bytes();
    let mut j = 0;
    let mut mant: u128 = 0;
    let mut exp: i64 = 0;
    let mut digits = 0;
    let mut seen_dot = false;
    while j < b.len() {
        let c = b[j];
        if c == b'.' && !seen_dot {
            seen_dot = true;
        } else if c.is_ascii_hexdigit() {
            let d = char::from(c).to_digit(16)? as u128;
            digits += 1;
            if mant >> 120 == 0 {
                mant = mant * 16 + d;
                if seen_dot {
                    exp -= 4;
                }
            } else if !seen_dot {
                exp += 4;
            }
        } else {
            break;
        }
        j += 1;
    }
    if digits == 0 || j >= b.len() || lower(b[j]) != b'p' {
        return None;
    }
    j += 1;
    let e: i64 = s.get(j..)?.parse().ok()?;
    let mut v = mant as f64;
    let mut e = exp.checked_add(e)?;
    while e > 0 && v.is_finite() {
        let step = e.min(60);
        v *= (1u64 << step) as f64;
        e -= step;
    }
    while e < 0 && v != 0.0 {
        let step = (-e).min(60);
        v /= (1u64 << step) as f64;
        e += step;
    }
    Some(v)
}

/// Go's `newNumber`.
fn new_number(pos: usize, text: &str, typ: ItemType) -> Result<Number, String> {
    let mut n = Number {
        pos,
        text: text.to_string(),
        is_int: false,
        is_uint: false,
        is_float: false,
        is_complex: false,
        int64: 0,
        uint64: 0,
        float64: 0.0,
        complex: (0.0, 0.0),
    };
    match typ {
        ItemType::CharConstant => {
            let inner = &text[1..];
            let Some((r, _, used)) = lex::unquote_char(inner, b'\'') else {
                return Err("invalid syntax".into());
            };
            if &inner[used..] != "'" {
                return Err(format!("malformed character constant: {text}"));
            }
            n.int64 = i64::from(r);
            n.is_int = true;
            n.uint64 = u64::from(r);
            n.is_uint = true;
            n.float64 = f64::from(r);
            n.is_float = true;
            return Ok(n);
        }
        ItemType::Complex => {
            // fmt.Sscan of "re±imi".
            let body = &text[..text.len() - 1];
            let split = body
                .char_indices()
                .skip(1)
                .filter(|&(i, c)| {
                    (c == '+' || c == '-')
                        && !matches!(body.as_bytes()[i - 1], b'e' | b'E' | b'p' | b'P')
                })
                .map(|(i, _)| i)
                .last();
            let parsed =
                split.and_then(|i| Some((parse_float(&body[..i])?, parse_float(&body[i..])?)));
            let Some((re, im)) = parsed else {
                return Err(format!(
                    "strconv.ParseFloat: parsing {}: invalid syntax",
                    super::fmt::quote(body)
                ));
            };
            n.is_complex = true;
            n.complex = (re, im);
            simplify_complex(&mut n);
            return Ok(n);
        }
        _ => {}
    }
    if let Some(body) = text.strip_suffix('i') {
        if let Some(f) = parse_float(body) {
            n.is_complex = true;
            n.complex = (0.0, f);
            simplify_complex(&mut n);
            return Ok(n);
        }
    }
    let u = parse_uint(text);
    if let Ok(u) = u {
        n.is_uint = true;
        n.uint64 = u;
    }
    if let Ok(i) = parse_int(text) {
        n.is_int = true;
        n.int64 = i;
        if i == 0 {
            n.is_uint = true;
            n.uint64 = u.unwrap_or(0);
        }
    }
    if n.is_int {
        n.is_float = true;
        n.float64 = n.int64 as f64;
    } else if n.is_uint {
        n.is_float = true;
        n.float64 = n.uint64 as f64;
    } else if let Some(f) = parse_float(text) {
        if !text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Err(format!("integer overflow: {}", super::fmt::quote(text)));
        }
        n.is_float = true;
        n.float64 = f;
        if !n.is_int && (f as i64) as f64 == f && f.abs() < 9.3e18 {
            n.is_int = true;
            n.int64 = f as i64;
        }
        if !n.is_uint && f >= 0.0 && (f as u64) as f64 == f && f < 1.85e19 {
            n.is_uint = true;
            n.uint64 = f as u64;
        }
    }
    if !n.is_int && !n.is_uint && !n.is_float {
        return Err(format!(
            "illegal number syntax: {}",
            super::fmt::quote(text)
        ));
    }
    Ok(n)
}

fn simplify_complex(n: &mut Number) {
    let (re, im) = n.complex;
    if im == 0.0 {
        n.is_float = true;
        n.float64 = re;
        if (re as i64) as f64 == re && re.abs() < 9.3e18 {
            n.is_int = true;
            n.int64 = re as i64;
        }
        if re >= 0.0 && (re as u64) as f64 == re && re < 1.85e19 {
            n.is_uint = true;
            n.uint64 = re as u64;
        }
    }
}
