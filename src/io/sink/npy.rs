//! `.npy` output: a table's columns as the columns of a C-order array
//! (one column: a 1-D array). The header's shape holds the row count, known
//! only at the end, so a fixed-size header is reserved first and written
//! over when the writer finishes; that needs a regular file.

use std::io::Write;

use polars::prelude::*;

use crate::io::npy::{self, Dtype, Kind};

/// The element type a table is written as: the one type all its columns
/// fit without loss where there is one (bool, float32, int64, uint64),
/// float64 otherwise.
fn element_type(schema: &Schema) -> Result<Dtype, String> {
    let dtypes: Vec<&DataType> = schema.iter_values().collect();
    if let Some((name, dtype)) = schema.iter().find(|(_, d)| !(d.is_primitive_numeric() || **d == DataType::Boolean)) {
        return Err(format!(
            "column `{name}` is {}; a .npy array holds numbers or booleans (select or cast the numeric columns)",
            crate::io::type_name(dtype)
        ));
    }
    if dtypes.is_empty() {
        return Err("the result has no columns to write as an array".into());
    }
    let all = |f: &dyn Fn(&DataType) -> bool| dtypes.iter().all(|d| f(d));
    let (kind, size) = if all(&|d| *d == DataType::Boolean) {
        (Kind::Bool, 1)
    } else if all(&|d| *d == DataType::Float32) {
        (Kind::Float, 4)
    } else if all(&|d| d.is_unsigned_integer()) && dtypes.contains(&&DataType::UInt64) {
        (Kind::Uint, 8)
    } else if all(&|d| d.is_integer() || *d == DataType::Boolean) && !dtypes.contains(&&DataType::UInt64) {
        (Kind::Int, 8)
    } else {
        (Kind::Float, 8)
    };
    Ok(Dtype { kind, size, big_endian: false })
}

/// Writes frames as rows of one array.
pub(super) struct NpySink {
    dtype: Dtype,
    cast_to: DataType,
    columns: usize,
    rows: usize,
}

impl NpySink {
    /// Checks the schema and writes the reserved header.
    pub fn new(out: &mut impl Write, schema: &Schema) -> Result<Self, String> {
        let dtype = element_type(schema)?;
        let cast_to = match (dtype.kind, dtype.size) {
            (Kind::Bool, _) => DataType::Boolean,
            (Kind::Float, 4) => DataType::Float32,
            (Kind::Float, _) => DataType::Float64,
            (Kind::Uint, _) => DataType::UInt64,
            (Kind::Int, _) => DataType::Int64,
        };
        out.write_all(&[b' '; npy::WRITTEN_LEN]).map_err(|e| e.to_string())?;
        Ok(NpySink { dtype, cast_to, columns: schema.len(), rows: 0 })
    }

    /// Appends the frame's rows. A null becomes NaN in a float array; in
    /// an integer or boolean array it is an error naming the column.
    pub fn write(&mut self, out: &mut impl Write, df: &DataFrame) -> Result<(), String> {
        let n = df.height();
        let mut bytes = vec![0u8; n * self.columns * self.dtype.size];
        let row = self.columns * self.dtype.size;
        for (j, column) in df.get_columns().iter().enumerate() {
            let s = column.as_materialized_series();
            if s.null_count() > 0 && self.dtype.kind != Kind::Float {
                return Err(format!(
                    "column `{}` has {} null{}, which a {} array cannot hold (fill them with coalesce, or cast to float for NaN)",
                    s.name(),
                    s.null_count(),
                    if s.null_count() == 1 { "" } else { "s" },
                    self.dtype.name()
                ));
            }
            let s = s.cast(&self.cast_to).map_err(|e| e.to_string())?;
            let at = j * self.dtype.size;
            // Each value goes to its place in every row: a strided sweep
            // (rows are `row` bytes apart), without per-value indexing.
            let slots = bytes.chunks_exact_mut(row).map(|r| &mut r[at..at + self.dtype.size]);
            macro_rules! put {
                ($ca:expr, $missing:expr) => {{
                    let ca = $ca.map_err(|e| e.to_string())?;
                    for (slot, v) in slots.zip(ca.iter()) {
                        slot.copy_from_slice(&v.unwrap_or($missing).to_le_bytes());
                    }
                }};
            }
            match self.cast_to {
                DataType::Float64 => put!(s.f64(), f64::NAN),
                DataType::Float32 => put!(s.f32(), f32::NAN),
                DataType::Int64 => put!(s.i64(), 0),
                DataType::UInt64 => put!(s.u64(), 0),
                _ => {
                    for (slot, v) in slots.zip(s.bool().map_err(|e| e.to_string())?.iter()) {
                        slot[0] = u8::from(v.unwrap_or(false));
                    }
                }
            }
        }
        self.rows += n;
        out.write_all(&bytes).map_err(|e| e.to_string())
    }

    /// The final header, to be written over the reserved bytes at offset 0.
    pub fn header(&self) -> Vec<u8> {
        let shape = if self.columns == 1 { vec![self.rows] } else { vec![self.rows, self.columns] };
        npy::header(self.dtype, &shape)
    }
}
