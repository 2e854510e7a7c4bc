//! The values a template can hold, modelled on the Go `reflect.Value`s the original saw: its data was a
//! `map[string]interface{}` of strings, its functions take and return strings, and Go's builtins add `bool`,
//! `int`, `uint8` (a byte from `index`), `float64` and `complex128` (constants), and `nil`.

use std::collections::BTreeMap;
use std::rc::Rc;

/// Byte strings: Go strings are bytes (`slice` and `\x` escapes can make invalid UTF-8).
pub type Bytes = Rc<[u8]>;

#[derive(Debug, Clone)]
pub enum Value {
    /// The zero `reflect.Value` (no value at all; prints `<no value>`).
    Invalid,
    /// A nil `interface{}` (what `index` gives for a missing key of the vars map).
    NilIface,
    /// An `interface{}` holding a string: an element of the vars map, before a pipeline unwraps it.
    IfaceStr(Bytes),
    Bool(bool),
    /// Go's `int` (64-bit).
    Int(i64),
    Uint8(u8),
    Float(f64),
    Complex(f64, f64),
    Str(Bytes),
    /// The vars map, `map[string]interface {}` (sorted, as Go prints and ranges over maps).
    Map(Rc<BTreeMap<String, String>>),
}

impl Value {
    pub fn str(s: &[u8]) -> Value {
        Value::Str(s.into())
    }

    /// Go's `reflect.Value.Type().String()` (`interface {}` for the interface kinds).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::IfaceStr(_) | Value::NilIface => "interface {}",
            other => super::fmt::type_name(other),
        }
    }

    /// Go's `indirectInterface`: the value inside an interface (invalid for a nil one).
    pub fn indirect(&self) -> Value {
        match self {
            Value::IfaceStr(s) => Value::Str(s.clone()),
            Value::NilIface => Value::Invalid,
            other => other.clone(),
        }
    }

    /// What `evalPipeline` leaves: an `interface{}` is unwrapped to what it holds.
    pub fn unwrap_iface(self) -> Value {
        match self {
            Value::IfaceStr(s) => Value::Str(s),
            Value::NilIface => Value::Invalid,
            other => other,
        }
    }

    /// Go's `isTrue` of `indirectInterface(v)`.
    pub fn truth(&self) -> bool {
        match self.indirect() {
            Value::Invalid | Value::NilIface => false,
            Value::Bool(b) => b,
            Value::Int(i) => i != 0,
            Value::Uint8(u) => u != 0,
            Value::Float(f) => f != 0.0,
            Value::Complex(re, im) => re != 0.0 || im != 0.0,
            Value::Str(s) | Value::IfaceStr(s) => !s.is_empty(),
            Value::Map(m) => !m.is_empty(),
        }
    }

    pub fn is_valid(&self) -> bool {
        !matches!(self, Value::Invalid)
    }

    /// The size in bytes this value adds to memory, for the value-size limit.
    pub fn size(&self) -> usize {
        match self {
            Value::Str(s) | Value::IfaceStr(s) => s.len(),
            _ => 0,
        }
    }
}
