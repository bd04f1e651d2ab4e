//! `unpivot`: wide to long. Each input row becomes one row per unpivoted
//! column (row after row, columns in their order): the other columns
//! repeat, `name` holds the column's name and `value` its value. Null
//! values are kept, so no row is lost.

use polars::prelude::*;

use super::{ChunkCtx, ChunkOp};

/// The unpivot operator.
pub struct Unpivot {
    /// Columns that repeat.
    pub ids: Vec<String>,
    /// Columns turned into rows.
    pub columns: Vec<String>,
    /// Output column of the names.
    pub name: String,
    /// Output column of the values.
    pub value: String,
    /// The values' common type.
    pub dtype: DataType,
}

impl ChunkOp for Unpivot {
    fn name(&self) -> &'static str {
        "unpivot"
    }

    fn describe(&self) -> String {
        format!("unpivot {} into {}, {}", self.columns.join(", "), self.name, self.value)
    }

    fn apply(&self, df: DataFrame, _ctx: &ChunkCtx) -> PolarsResult<DataFrame> {
        let (rows, k) = (df.height(), self.columns.len());
        // Row i, column j lands at i * k + j.
        let repeat: IdxCa = (0..rows * k).map(|at| (at / k) as IdxSize).collect_ca("".into());
        let mut out: Vec<Column> = self.ids.iter().map(|c| df.column(c)?.take(&repeat)).collect::<PolarsResult<_>>()?;
        let names: StringChunked = (0..rows * k).map(|at| Some(self.columns[at % k].as_str())).collect();
        out.push(names.with_name(self.name.as_str().into()).into_column());
        let mut stacked = Series::new_empty(self.value.as_str().into(), &self.dtype);
        for c in &self.columns {
            stacked.append(&df.column(c)?.as_materialized_series().cast(&self.dtype)?)?;
        }
        let interleave: IdxCa = (0..rows * k).map(|at| ((at % k) * rows + at / k) as IdxSize).collect_ca("".into());
        out.push(stacked.take(&interleave)?.with_name(self.value.as_str().into()).into_column());
        DataFrame::new(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_one_row_per_column_in_row_order() {
        let df = df!("id" => [1i64, 2], "a" => [Some(10i64), None], "b" => [Some(20i64), Some(40)]).unwrap();
        let op = Unpivot {
            ids: vec!["id".into()],
            columns: vec!["a".into(), "b".into()],
            name: "name".into(),
            value: "value".into(),
            dtype: DataType::Int64,
        };
        let out = op.apply(df, &ChunkCtx { index: 0, side: &[], lane: None }).unwrap();
        let ids: Vec<Option<i64>> = out.column("id").unwrap().i64().unwrap().into_iter().collect();
        let names: Vec<Option<&str>> = out.column("name").unwrap().str().unwrap().into_iter().collect();
        let values: Vec<Option<i64>> = out.column("value").unwrap().i64().unwrap().into_iter().collect();
        assert_eq!(ids, vec![Some(1), Some(1), Some(2), Some(2)]);
        assert_eq!(names, vec![Some("a"), Some("b"), Some("a"), Some("b")]);
        assert_eq!(values, vec![Some(10), Some(20), None, Some(40)]);
    }
}
