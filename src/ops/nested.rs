//! Structs and lists (nested NDJSON, `split`): a struct's field, a list's
//! item, and the length of a list or a string.

use polars::prelude::*;

/// `x.name`: the field of a struct column (null where the struct is).
pub fn field(e: Expr, name: String) -> Expr {
    let wanted = name.clone();
    e.map(
        move |c| {
            let s = c.as_materialized_series();
            let out = s.struct_()?.field_by_name(&name)?;
            // A null struct has null fields.
            let out = if s.null_count() > 0 {
                let missing = s.is_null();
                let nulls = Series::full_null(out.name().clone(), out.len(), out.dtype());
                nulls.zip_with(&missing, &out)?
            } else {
                out
            };
            Ok(Some(out.with_name(c.name().clone()).into_column()))
        },
        GetOutput::map_dtype(move |dt| match dt {
            DataType::Struct(fields) => {
                Ok(fields.iter().find(|f| f.name().as_str() == wanted).map_or(DataType::Null, |f| f.dtype().clone()))
            }
            _ => Ok(DataType::Null),
        }),
    )
}

/// `x[i]`: a list's item from 0 (a negative i counts from the end); null
/// past either end.
pub fn get(e: Expr, index: i64) -> Expr {
    e.map(
        move |c| {
            let lists = c.list()?;
            let inner = lists.inner_dtype().clone();
            let items: Vec<AnyValue> = lists
                .into_iter()
                .map(|list| {
                    let Some(list) = list else { return AnyValue::Null };
                    let at = if index < 0 { list.len() as i64 + index } else { index };
                    if at < 0 || at >= list.len() as i64 {
                        return AnyValue::Null;
                    }
                    list.get(at as usize).map_or(AnyValue::Null, |v| v.into_static())
                })
                .collect();
            let out = Series::from_any_values_and_dtype(c.name().clone(), &items, &inner, false)?;
            Ok(Some(out.into_column()))
        },
        GetOutput::map_dtype(|dt| match dt {
            DataType::List(inner) => Ok(inner.as_ref().clone()),
            _ => Ok(DataType::Null),
        }),
    )
}

/// `len(x)`: characters of a string, items of a list.
pub fn len(e: Expr) -> Expr {
    e.map(
        |c| {
            let out: Int64Chunked = match c.dtype() {
                DataType::List(_) => c.list()?.into_iter().map(|l| l.map(|l| l.len() as i64)).collect(),
                DataType::Null => Int64Chunked::full_null(c.name().clone(), c.len()),
                _ => c.str()?.into_iter().map(|s| s.map(|s| s.chars().count() as i64)).collect(),
            };
            Ok(Some(out.with_name(c.name().clone()).into_column()))
        },
        GetOutput::from_type(DataType::Int64),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_count_from_either_end_and_lengths_count_items_or_characters() {
        let lists = Series::new("l".into(), [Series::new("".into(), [1i64, 2, 3]), Series::new("".into(), [4i64])]);
        let df = DataFrame::new(vec![lists.into_column()]).unwrap();
        let out = df
            .lazy()
            .select([get(col("l"), 1).alias("second"), get(col("l"), -1).alias("last"), len(col("l")).alias("n")])
            .collect()
            .unwrap();
        let values = |name: &str| out.column(name).unwrap().i64().unwrap().into_iter().collect::<Vec<_>>();
        assert_eq!(values("second"), vec![Some(2), None]);
        assert_eq!(values("last"), vec![Some(3), Some(4)]);
        assert_eq!(values("n"), vec![Some(3), Some(1)]);
    }
}
