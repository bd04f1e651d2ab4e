//! Many files, one schema: columns are unified by name (first-seen order);
//! a column whose types differ across files takes their common supertype
//! (integers widen to floats, anything else falls back to strings). Each
//! chunk is then conformed: missing columns become nulls, types are cast.

use polars::prelude::*;

/// The union of the files' columns by name.
pub(super) fn unify_schemas<'a>(schemas: impl Iterator<Item = &'a Schema>) -> Schema {
    let mut out = Schema::default();
    for schema in schemas {
        for (name, dtype) in schema.iter() {
            match out.get(name) {
                None => {
                    out.with_column(name.clone(), dtype.clone());
                }
                Some(existing) if existing == dtype => {}
                Some(existing) => {
                    let merged = supertype(existing, dtype);
                    out.with_column(name.clone(), merged);
                }
            }
        }
    }
    out
}

fn supertype(a: &DataType, b: &DataType) -> DataType {
    if a.is_integer() && b.is_integer() {
        DataType::Int64
    } else if a.is_primitive_numeric() && b.is_primitive_numeric() {
        DataType::Float64
    } else if *a == DataType::Null {
        b.clone()
    } else if *b == DataType::Null {
        a.clone()
    } else {
        DataType::String
    }
}

/// Puts `df` in the shape `columns` of `schema`: missing columns are
/// nulls, types are cast where a file differs from the unified type.
pub(super) fn conform(df: DataFrame, columns: &[String], schema: &Schema) -> PolarsResult<DataFrame> {
    // Already in shape (the common case): no lookups, which for a wide
    // array (10,000 columns) would cost a scan of the columns per column.
    let in_shape = df.width() == columns.len()
        && df.get_columns().iter().zip(columns).all(|(c, n)| c.name() == n && schema.get(n) == Some(c.dtype()));
    if in_shape && !columns.is_empty() {
        // A new frame, not `df` itself: a parser may have swapped columns
        // of `df` in place, leaving its cached schema stale.
        return DataFrame::new(df.take_columns());
    }
    let height = df.height();
    let mut cols = Vec::with_capacity(columns.len());
    for name in columns {
        let dtype = schema.get(name).cloned().unwrap_or(DataType::String);
        let col = match df.column(name) {
            Ok(c) if c.dtype() == &dtype => c.clone(),
            Ok(c) => c.cast(&dtype)?,
            Err(_) => Column::full_null(name.as_str().into(), height, &dtype),
        };
        cols.push(col);
    }
    if cols.is_empty() {
        return Ok(super::height_only(height));
    }
    DataFrame::new(cols)
}
