//! Runs `wrk` (HTTP/1.1 keep-alive load generator) against one URL and
//! reads its summary: requests, throughput and latency percentiles, and the
//! CPU the processes behind the URL spent meanwhile.
//!
//! wrk speaks HTTP/1.1 only and does not verify server certificates; it is
//! what the static-file and proxy comparisons with nginx use, so both sides
//! are measured by one client in one way.

use std::time::Duration;

use anyhow::{Context, bail};

use crate::procfs;

/// How wrk loads a URL (`wrk -tT -cC -dDs --latency`).
#[derive(Debug, Clone)]
pub struct Load {
    pub binary: String,
    pub threads: usize,
    pub connections: usize,
    pub duration: Duration,
}

/// What one wrk run found.
#[derive(Debug, Clone, Copy)]
pub struct WrkRun {
    pub requests: u64,
    pub rate: f64,
    pub p50: Duration,
    pub p99: Duration,
    /// CPU of each watched process (and its children) per request.
    pub cpu_per_request: [Option<Duration>; 2],
}

impl Load {
    /// Loads `url` with these extra `headers`; `pids` are the processes
    /// (with their children) whose CPU is accounted, at most two. Any
    /// non-2xx response or socket error fails the run.
    pub async fn run(
        &self,
        url: &str,
        headers: &[&str],
        pids: [Option<u32>; 2],
    ) -> anyhow::Result<WrkRun> {
        let mut cmd = tokio::process::Command::new(&self.binary);
        cmd.arg(format!("-t{}", self.threads))
            .arg(format!("-c{}", self.connections))
            .arg(format!("-d{}s", self.duration.as_secs().max(1)))
            .arg("--latency");
        for h in headers {
            cmd.arg("-H").arg(h);
        }
        cmd.arg(url).kill_on_drop(true);
        let cpu = |pid: Option<u32>| pid.map(procfs::cpu_time_with_children).transpose();
        let before = [cpu(pids[0])?, cpu(pids[1])?];
        let out = cmd
            .output()
            .await
            .with_context(|| format!("running {} (Debian: apt-get install wrk)", self.binary))?;
        let after = [cpu(pids[0])?, cpu(pids[1])?];
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            bail!(
                "wrk {url}: {}: {text}{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let summary = parse(&text).with_context(|| format!("wrk {url} printed:\n{text}"))?;
        let per_request = |i: usize| match (before[i], after[i]) {
            (Some(b), Some(a)) => Some(
                a.saturating_sub(b) / u32::try_from(summary.requests.max(1)).unwrap_or(u32::MAX),
            ),
            _ => None,
        };
        Ok(WrkRun {
            cpu_per_request: [per_request(0), per_request(1)],
            ..summary
        })
    }
}

/// A wrk duration: `812.00us`, `1.17ms`, `2.01s`.
fn duration(text: &str) -> Option<Duration> {
    let (number, scale) = if let Some(n) = text.strip_suffix("us") {
        (n, 1e-6)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else {
        return None;
    };
    let v: f64 = number.parse().ok()?;
    Some(Duration::from_secs_f64(v * scale))
}

/// wrk's summary (`--latency`); CPU is left empty.
fn parse(text: &str) -> anyhow::Result<WrkRun> {
    let mut requests = None;
    let mut rate = None;
    let mut p50 = None;
    let mut p99 = None;
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", d] => p50 = duration(d),
            ["99%", d] => p99 = duration(d),
            ["Requests/sec:", r] => rate = r.parse::<f64>().ok(),
            [n, "requests", "in", ..] => requests = n.parse::<u64>().ok(),
            ["Non-2xx", ..] => bail!("some responses were not 2xx: {line}"),
            ["Socket", "errors:", ..] => bail!("{line}"),
            _ => {}
        }
    }
    let (Some(requests), Some(rate), Some(p50), Some(p99)) = (requests, rate, p50, p99) else {
        bail!("no request count, rate, p50 or p99 in wrk's output");
    };
    if requests == 0 {
        bail!("wrk completed no request");
    }
    Ok(WrkRun {
        requests,
        rate,
        p50,
        p99,
        cpu_per_request: [None, None],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wrk_summary() {
        let text = "Running 6s test @ https://127.0.0.1:1/x
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.30ms  612.11us  14.20ms   85.11%
    Req/Sec     6.17k   401.20     7.01k    70.83%
  Latency Distribution
     50%    1.17ms
     75%    1.50ms
     90%    2.01ms
     99%  812.00us
  73489 requests in 6.00s, 40.00MB read
Requests/sec:  12248.17
Transfer/sec:      6.67MB
";
        let r = parse(text).expect("parses");
        assert_eq!(r.requests, 73489);
        assert!((r.rate - 12248.17).abs() < 1e-6);
        assert_eq!(r.p50, Duration::from_micros(1170));
        assert_eq!(r.p99, Duration::from_micros(812));
        let failed = text.replace(
            "Requests/sec",
            "  Non-2xx or 3xx responses: 3\nRequests/sec",
        );
        assert!(parse(&failed).is_err());
        assert!(parse("nothing").is_err());
    }
}
