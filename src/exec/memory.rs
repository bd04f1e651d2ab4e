//! The memory accountant: one budget for everything a run holds.
//!
//! Chunks in flight, operator state (partials waiting for their combine,
//! sort runs, join build sides, distinct sets), stage outputs waiting for the
//! next stage and merge buffers are all charged here, by their estimated
//! size in memory. The scheduler asks before it admits more work
//! ([`MemoryBudget::fits`]); stores spill to disk when their charge would
//! pass the limit. What is charged is what `--stats` reports as peak
//! accounted memory.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Default share of the memory available to the process that a run may
/// account for, when `--memory-limit` is not given. The rest is headroom for
/// what is not accounted: polars' temporaries while a kernel runs, allocator
/// slack, the binary itself.
pub const DEFAULT_FRACTION: f64 = 0.6;

/// The budget of one run.
#[derive(Debug)]
pub struct MemoryBudget {
    limit: u64,
    used: AtomicU64,
    peak: AtomicU64,
    period: AtomicU64,
}

impl MemoryBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: u64) -> Self {
        MemoryBudget { limit, used: AtomicU64::new(0), peak: AtomicU64::new(0), period: AtomicU64::new(0) }
    }

    /// The limit in bytes.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Bytes charged now.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// The most ever charged at once.
    pub fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }

    /// The peak since the last call (or since the start), then starts a
    /// new measuring period from what is charged now.
    pub fn take_period_peak(&self) -> u64 {
        let now = self.used();
        let peak = self.period.swap(now, Ordering::Relaxed);
        peak.max(now)
    }

    /// Whether `bytes` more can be charged without passing the limit.
    pub fn fits(&self, bytes: u64) -> bool {
        self.used().saturating_add(bytes) <= self.limit
    }

    /// Charges `bytes` until the returned reservation is dropped.
    pub fn reserve(self: &Arc<Self>, bytes: u64) -> Reservation {
        let mut r = Reservation { budget: self.clone(), bytes: 0 };
        r.resize(bytes);
        r
    }
}

/// Bytes charged to a [`MemoryBudget`]; released on drop.
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<MemoryBudget>,
    bytes: u64,
}

impl Reservation {
    /// Bytes held by this reservation.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Changes the charge to `bytes`.
    pub fn resize(&mut self, bytes: u64) {
        let b = &self.budget;
        if bytes >= self.bytes {
            let now = b.used.fetch_add(bytes - self.bytes, Ordering::Relaxed) + (bytes - self.bytes);
            b.peak.fetch_max(now, Ordering::Relaxed);
            b.period.fetch_max(now, Ordering::Relaxed);
        } else {
            b.used.fetch_sub(self.bytes - bytes, Ordering::Relaxed);
        }
        self.bytes = bytes;
    }

    /// Adds `bytes` to the charge.
    pub fn grow(&mut self, bytes: u64) {
        self.resize(self.bytes + bytes);
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.resize(0);
    }
}

/// A size given on the command line: bytes, or a share of available memory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SizeSpec {
    /// An absolute size.
    Bytes(u64),
    /// A fraction (0, 1] of the memory available to the process.
    Fraction(f64),
}

impl SizeSpec {
    /// The size in bytes, given the available total.
    pub fn resolve(self, available: u64) -> u64 {
        match self {
            SizeSpec::Bytes(b) => b,
            SizeSpec::Fraction(f) => (available as f64 * f) as u64,
        }
    }
}

/// Parses `512MB`, `4GiB`, `1000` (bytes) or `60%`.
pub fn parse_size_spec(s: &str) -> Result<SizeSpec, String> {
    let t = s.trim();
    if let Some(p) = t.strip_suffix('%') {
        let v: f64 = p.trim().parse().map_err(|_| format!("`{s}` is not a percentage (e.g. 60%)"))?;
        if !(v > 0.0 && v <= 100.0) {
            return Err(format!("`{s}`: a percentage must be above 0 and at most 100"));
        }
        return Ok(SizeSpec::Fraction(v / 100.0));
    }
    parse_bytes(t).map(SizeSpec::Bytes)
}

/// Parses `512MB`, `4GiB`, `65536` (bytes).
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("`{s}` is not a size (e.g. 16MB, 1GiB)"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" => 1e12,
        "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        other => return Err(format!("unknown size unit `{other}` (use B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)")),
    };
    let v = (n * mult) as u64;
    if v == 0 {
        return Err("the size must be positive".into());
    }
    Ok(v)
}

/// Memory the process can use: what the kernel reports as available,
/// capped by the room under the process's cgroup limits when any is set.
pub fn available_memory() -> u64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok().and_then(|s| meminfo_available(&s));
    let cgroup = super::cgroup::cgroup_room();
    match (meminfo, cgroup) {
        (Some(m), Some(c)) => m.min(c),
        (Some(m), None) => m,
        (None, Some(c)) => c,
        // Not Linux, or /proc is hidden: assume a modest machine.
        (None, None) => 4 << 30,
    }
}

/// `MemAvailable` from `/proc/meminfo`, in bytes.
fn meminfo_available(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_percentages() {
        assert_eq!(parse_size_spec("16MiB"), Ok(SizeSpec::Bytes(16 << 20)));
        assert_eq!(parse_size_spec("2MB"), Ok(SizeSpec::Bytes(2_000_000)));
        assert_eq!(parse_size_spec("1000"), Ok(SizeSpec::Bytes(1000)));
        assert_eq!(parse_size_spec("60%"), Ok(SizeSpec::Fraction(0.6)));
        assert_eq!(SizeSpec::Fraction(0.25).resolve(400), 100);
        assert!(parse_size_spec("0%").is_err());
        assert!(parse_size_spec("120%").is_err());
        assert!(parse_size_spec("12 parsecs").is_err());
        assert!(parse_size_spec("0").is_err());
    }

    #[test]
    fn reservations_charge_and_release() {
        let b = Arc::new(MemoryBudget::new(100));
        {
            let mut r = b.reserve(40);
            assert!(b.fits(60) && !b.fits(61));
            r.grow(30);
            assert_eq!(b.used(), 70);
            r.resize(10);
            assert_eq!(b.used(), 10);
        }
        assert_eq!(b.used(), 0);
        assert_eq!(b.peak(), 70);
    }

    #[test]
    fn meminfo_is_read_in_kib() {
        let text = "MemTotal: 100 kB\nMemFree: 10 kB\nMemAvailable:   2048 kB\n";
        assert_eq!(meminfo_available(text), Some(2048 * 1024));
    }
}
