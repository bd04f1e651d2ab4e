//! Record batches from the cluster → polars frames, through the Arrow IPC
//! file format (safe code on both sides; results are what is moved, so
//! one copy is cheap beside the job).

use std::io::Cursor;

use datafusion::arrow::ipc::writer::FileWriter;
use datafusion::arrow::record_batch::RecordBatch;
use polars::prelude::{DataFrame, IpcReader, SerReader};

use super::Error;

/// The frame holding `batch`'s rows, column for column.
pub fn to_polars(batch: &RecordBatch) -> Result<DataFrame, Error> {
    let mut bytes = Vec::new();
    {
        let mut writer = FileWriter::try_new(&mut bytes, &batch.schema()).map_err(|e| Error::Convert(e.to_string()))?;
        writer.write(batch).map_err(|e| Error::Convert(e.to_string()))?;
        writer.finish().map_err(|e| Error::Convert(e.to_string()))?;
    }
    IpcReader::new(Cursor::new(bytes)).finish().map_err(|e| Error::Convert(e.to_string()))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::TimestampMicrosecondArray;
    use datafusion::arrow::array::{ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, StringArray};
    use polars::prelude::*;

    use super::*;

    #[test]
    fn every_dq_type_crosses_with_its_nulls_and_slices() {
        let columns: Vec<(&str, ArrayRef)> = vec![
            ("b", Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)]))),
            ("i", Arc::new(Int64Array::from(vec![Some(i64::MIN), None, Some(7)]))),
            ("f", Arc::new(Float64Array::from(vec![Some(1.5), Some(f64::NAN), None]))),
            ("s", Arc::new(StringArray::from(vec![Some("a"), None, Some("a string longer than twelve")]))),
            ("d", Arc::new(Date32Array::from(vec![Some(19_723), None, Some(0)]))),
            ("t", Arc::new(TimestampMicrosecondArray::from(vec![Some(1_700_000_000_000_000), None, Some(-1)]))),
        ];
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        let df = to_polars(&batch).unwrap();
        assert_eq!(df.height(), 3);
        let dtypes: Vec<DataType> = df.dtypes();
        assert_eq!(
            dtypes,
            [
                DataType::Boolean,
                DataType::Int64,
                DataType::Float64,
                DataType::String,
                DataType::Date,
                DataType::Datetime(TimeUnit::Microseconds, None)
            ]
        );
        assert_eq!(
            df.column("i").unwrap().i64().unwrap().into_iter().collect::<Vec<_>>(),
            [Some(i64::MIN), None, Some(7)]
        );
        let s: Vec<Option<&str>> = df.column("s").unwrap().str().unwrap().into_iter().collect();
        assert_eq!(s, [Some("a"), None, Some("a string longer than twelve")]);
        assert_eq!(df.column("d").unwrap().null_count(), 1);
        // A slice of a batch (offsets into its buffers) and an empty one.
        let tail = to_polars(&batch.slice(1, 2)).unwrap();
        let s: Vec<Option<&str>> = tail.column("s").unwrap().str().unwrap().into_iter().collect();
        assert_eq!(s, [None, Some("a string longer than twelve")]);
        assert_eq!(to_polars(&batch.slice(0, 0)).unwrap().height(), 0);
    }
}
