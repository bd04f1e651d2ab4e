//! Deterministic generator for the h2o db-benchmark group-by table
//! (id1..id6, v1..v3), written as CSV.
//!
//!     cargo run --release --example gen_h2o -- N K OUT.csv
//!
//! Columns as in the db-benchmark's R generator: id1, id2 = "id%03d" in
//! 1..=K; id3 = "id%010d" in 1..=N/K; id4, id5 in 1..=K; id6 in 1..=N/K;
//! v1 in 1..=5; v2 in 1..=15; v3 uniform in [0, 100) with 6 decimals.
//! Uses only std, so it builds in seconds.

use std::io::{BufWriter, Write};

/// xorshift64*: small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: gen_h2o N K OUT.csv");
        std::process::exit(2);
    }
    let n: u64 = args[1].parse().expect("N is a row count");
    let k: u64 = args[2].parse().expect("K is a group count");
    let nk = (n / k).max(1);
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&args[3])?);
    writeln!(out, "id1,id2,id3,id4,id5,id6,v1,v2,v3")?;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..n {
        let v3 = rng.below(100_000_000) as f64 / 1_000_000.0;
        writeln!(
            out,
            "id{:03},id{:03},id{:010},{},{},{},{},{},{:.6}",
            rng.below(k) + 1,
            rng.below(k) + 1,
            rng.below(nk) + 1,
            rng.below(k) + 1,
            rng.below(k) + 1,
            rng.below(nk) + 1,
            rng.below(5) + 1,
            rng.below(15) + 1,
            v3
        )?;
    }
    out.flush()
}
