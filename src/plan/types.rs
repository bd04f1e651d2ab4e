//! The types dq's planner reasons about, and schemas made of them.
//!
//! They are coarser than polars' (all integer widths are `Int`): enough to
//! type-check expressions and explain plans, and easy to map onto
//! DataFusion's types later.

use std::fmt;

use polars::prelude::DataType;

/// A column or expression type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DType {
    /// true/false.
    Bool,
    /// Signed or unsigned integers of any width.
    Int,
    /// Floats.
    Float,
    /// UTF-8 strings.
    Str,
    /// Calendar dates.
    Date,
    /// Timestamps.
    Datetime,
    /// Durations.
    Duration,
    /// The type of a bare `null`: fits anywhere.
    Null,
    /// A record of named fields (a nested NDJSON object).
    Struct(Vec<Field>),
    /// A list of values of one type (an NDJSON array, `split`).
    List(Box<DType>),
    /// Anything else polars can hold, by polars' name.
    Other(String),
}

impl DType {
    /// The coarse type of a polars type.
    pub fn from_polars(dt: &DataType) -> DType {
        match dt {
            DataType::Boolean => DType::Bool,
            d if d.is_integer() => DType::Int,
            d if d.is_float() => DType::Float,
            DataType::String => DType::Str,
            DataType::Date => DType::Date,
            DataType::Datetime(_, _) => DType::Datetime,
            DataType::Duration(_) => DType::Duration,
            DataType::Null => DType::Null,
            DataType::Struct(fields) => DType::Struct(
                fields
                    .iter()
                    .map(|f| Field { name: f.name().to_string(), dtype: DType::from_polars(f.dtype()) })
                    .collect(),
            ),
            DataType::List(inner) => DType::List(Box::new(DType::from_polars(inner))),
            other => DType::Other(other.to_string()),
        }
    }

    /// Structs and lists, which text formats cannot hold.
    pub fn is_nested(&self) -> bool {
        matches!(self, DType::Struct(_) | DType::List(_))
    }

    /// The polars type a cast to this type produces.
    pub fn to_polars(&self) -> DataType {
        match self {
            DType::Bool => DataType::Boolean,
            DType::Int => DataType::Int64,
            DType::Float => DataType::Float64,
            DType::Str => DataType::String,
            DType::Date => DataType::Date,
            DType::Datetime => DataType::Datetime(polars::prelude::TimeUnit::Microseconds, None),
            DType::Duration => DataType::Duration(polars::prelude::TimeUnit::Microseconds),
            DType::Null => DataType::Null,
            DType::Struct(fields) => DataType::Struct(
                fields
                    .iter()
                    .map(|f| polars::prelude::Field::new(f.name.as_str().into(), f.dtype.to_polars()))
                    .collect(),
            ),
            DType::List(inner) => DataType::List(Box::new(inner.to_polars())),
            DType::Other(_) => DataType::String,
        }
    }

    /// The type named in `cast(x, NAME)` and in scan schema overrides.
    pub fn from_name(name: &str) -> Option<DType> {
        Some(match name {
            "int" | "integer" | "i64" | "bigint" => DType::Int,
            "float" | "double" | "f64" | "real" => DType::Float,
            "str" | "string" | "text" | "varchar" => DType::Str,
            "bool" | "boolean" => DType::Bool,
            "date" => DType::Date,
            "datetime" | "timestamp" => DType::Datetime,
            "duration" | "interval" => DType::Duration,
            _ => return None,
        })
    }

    /// Ints and floats (and null).
    pub fn is_numeric(&self) -> bool {
        matches!(self, DType::Int | DType::Float | DType::Null)
    }

    /// Dates and datetimes.
    pub fn is_temporal(&self) -> bool {
        matches!(self, DType::Date | DType::Datetime)
    }

    /// Whether values of the two types can be compared with each other.
    pub fn comparable(&self, other: &DType) -> bool {
        self == other
            || matches!(self, DType::Null)
            || matches!(other, DType::Null)
            || (self.is_numeric() && other.is_numeric())
            || matches!((self, other), (DType::Date, DType::Datetime) | (DType::Datetime, DType::Date))
    }

    /// The common type of two branches (`if`, `coalesce`), if any.
    pub fn unify(&self, other: &DType) -> Option<DType> {
        match (self, other) {
            (a, b) if a == b => Some(a.clone()),
            (DType::Null, b) => Some(b.clone()),
            (a, DType::Null) => Some(a.clone()),
            (a, b) if a.is_numeric() && b.is_numeric() => Some(DType::Float),
            _ => None,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DType::Bool => write!(f, "bool"),
            DType::Int => write!(f, "int"),
            DType::Float => write!(f, "float"),
            DType::Str => write!(f, "str"),
            DType::Date => write!(f, "date"),
            DType::Datetime => write!(f, "datetime"),
            DType::Duration => write!(f, "duration"),
            DType::Null => write!(f, "null"),
            DType::Struct(fields) => {
                let items: Vec<String> = fields.iter().map(|x| format!("{}: {}", x.name, x.dtype)).collect();
                write!(f, "struct{{{}}}", items.join(", "))
            }
            DType::List(inner) => write!(f, "list[{inner}]"),
            DType::Other(s) => write!(f, "{s}"),
        }
    }
}

/// A named, typed column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Column name.
    pub name: String,
    /// Its type.
    pub dtype: DType,
}

/// Ordered columns of a plan node's output.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Schema {
    /// The columns, in output order.
    pub fields: Vec<Field>,
}

impl Schema {
    /// A schema from (name, type) pairs.
    pub fn new(fields: Vec<Field>) -> Self {
        Schema { fields }
    }

    /// A schema from a polars schema.
    pub fn from_polars(s: &polars::prelude::Schema) -> Self {
        Schema {
            fields: s.iter().map(|(n, dt)| Field { name: n.to_string(), dtype: DType::from_polars(dt) }).collect(),
        }
    }

    /// The type of column `name`.
    pub fn get(&self, name: &str) -> Option<&DType> {
        self.fields.iter().find(|f| f.name == name).map(|f| &f.dtype)
    }

    /// Whether the schema has a column `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Column names in order.
    pub fn names(&self) -> Vec<String> {
        self.fields.iter().map(|f| f.name.clone()).collect()
    }
}
