//! Latency histograms (HdrHistogram, microseconds) and CPU/memory readings from /proc.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde_json::{Value, json};

#[derive(Clone)]
pub struct Recorder {
    hist: Histogram<u64>,
    errors: u64,
    first_error: Option<String>,
}

impl Recorder {
    pub fn new() -> Self {
        // 1 µs to 10 min, 3 significant digits.
        Self {
            hist: Histogram::new_with_bounds(1, 600_000_000, 3).expect("histogram bounds"),
            errors: 0,
            first_error: None,
        }
    }

    pub fn record(&mut self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX).clamp(1, 600_000_000);
        self.hist.record(us).expect("value within bounds");
    }

    pub fn error(&mut self, e: &anyhow::Error) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(format!("{e:#}"));
        }
    }

    pub fn merge(&mut self, other: Recorder) {
        self.hist.add(&other.hist).expect("same bounds");
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.hist.is_empty() { 0.0 } else { self.hist.value_at_percentile(p) as f64 / 1000.0 }
    }

    pub fn max_ms(&self) -> f64 {
        if self.hist.is_empty() { 0.0 } else { self.hist.max() as f64 / 1000.0 }
    }

    /// Throughput over `elapsed` and the latency percentiles, as JSON.
    pub fn summary(&self, elapsed: Duration) -> Value {
        json!({
            "count": self.count(),
            "errors": self.errors,
            "first_error": self.first_error,
            "per_s": self.count() as f64 / elapsed.as_secs_f64().max(1e-9),
            "p50_ms": self.percentile_ms(50.0),
            "p99_ms": self.percentile_ms(99.0),
            "max_ms": self.max_ms(),
        })
    }
}

/// Clock ticks per second of /proc/*/stat times (USER_HZ, 100 on Linux).
const TICKS_PER_S: f64 = 100.0;

fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the `(comm)`; utime and stime are the 14th and 15th fields overall.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// CPU used by the server and by this process between `start` and `percent`, in percent of
/// one core.
pub struct CpuMeter {
    server: Option<(String, u64)>,
    own: Option<u64>,
    started: Instant,
}

impl CpuMeter {
    pub fn start(server_pid: Option<u32>) -> Self {
        let server = server_pid.and_then(|pid| cpu_ticks(&pid.to_string()).map(|t| (pid.to_string(), t)));
        Self { server, own: cpu_ticks("self"), started: Instant::now() }
    }

    pub fn percent(&self) -> (Option<f64>, Option<f64>) {
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        let pct = |before: u64, after: Option<u64>| {
            after.map(|a| (a.saturating_sub(before)) as f64 / TICKS_PER_S / secs * 100.0)
        };
        let server = self.server.as_ref().and_then(|(pid, before)| pct(*before, cpu_ticks(pid)));
        let own = self.own.and_then(|before| pct(before, cpu_ticks("self")));
        (server, own)
    }
}

/// Resident set size of a process, in KiB.
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).ok_or_else(|| anyhow::anyhow!("no VmRSS"))?;
    Ok(line.split_whitespace().nth(1).ok_or_else(|| anyhow::anyhow!("bad VmRSS"))?.parse()?)
}
