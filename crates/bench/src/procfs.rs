//! What the benchmark reads about processes from Linux's `/proc`: resident
//! memory (`VmRSS`, `VmHWM`) and CPU time (user + system).
//!
//! Read-only: it never signals or changes a process it looks at.

use std::time::Duration;

use anyhow::{Context, bail};

/// Clock ticks per second in `/proc/<pid>/stat` (`USER_HZ`). Linux fixes it
/// at 100 on every architecture the project builds for; asking `sysconf`
/// would need libc for one constant.
const USER_HZ: u64 = 100;

fn path(pid: Option<u32>, file: &str) -> String {
    match pid {
        Some(pid) => format!("/proc/{pid}/{file}"),
        None => format!("/proc/self/{file}"),
    }
}

/// A `kB` field of `/proc/<pid>/status`, in KiB.
fn status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let file = path(Some(pid), "status");
    let text = std::fs::read_to_string(&file).with_context(|| format!("reading {file}"))?;
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .with_context(|| format!("{file} has no {field}"))?;
    let kib = line
        .trim()
        .strip_suffix("kB")
        .map(str::trim)
        .with_context(|| format!("{file}: {field} is not in kB: {line:?}"))?;
    kib.parse()
        .with_context(|| format!("{file}: {field} {kib:?} is not a number"))
}

/// Resident set size now (`VmRSS`), in KiB.
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    status_kib(pid, "VmRSS")
}

/// The anonymous part of the resident set (`RssAnon`: heap, stacks), in
/// KiB; the rest is mostly the binary's and libraries' file pages.
pub fn anon_rss_kib(pid: u32) -> anyhow::Result<u64> {
    status_kib(pid, "RssAnon")
}

/// The highest resident set size so far, in KiB. The kernel folds
/// per-thread RSS counters into `VmHWM` lazily, so it can trail the
/// current `VmRSS`; the larger of the two is returned.
pub fn peak_rss_kib(pid: u32) -> anyhow::Result<u64> {
    Ok(status_kib(pid, "VmHWM")?.max(rss_kib(pid)?))
}

/// User plus system CPU time of a process (`None`: this one), all threads.
pub fn cpu_time(pid: Option<u32>) -> anyhow::Result<Duration> {
    let file = path(pid, "stat");
    let text = std::fs::read_to_string(&file).with_context(|| format!("reading {file}"))?;
    // The command name (field 2) may contain spaces and parentheses; the
    // fields after its closing parenthesis start at field 3 (state).
    let rest = text
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .with_context(|| format!("{file}: no command name"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15, i.e. 11 and 12 after the state.
    let (Some(utime), Some(stime)) = (fields.get(11), fields.get(12)) else {
        bail!("{file}: too few fields");
    };
    let ticks = utime.parse::<u64>()? + stime.parse::<u64>()?;
    Ok(Duration::from_millis(ticks * 1000 / USER_HZ))
}

/// CPU time of a process and its direct children (nginx's workers are
/// children of its master process). A child that exits between the two
/// reads is left out.
pub fn cpu_time_with_children(pid: u32) -> anyhow::Result<Duration> {
    let mut total = cpu_time(Some(pid))?;
    let file = format!("/proc/{pid}/task/{pid}/children");
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    for child in text
        .split_whitespace()
        .filter_map(|c| c.parse::<u32>().ok())
    {
        if let Ok(t) = cpu_time(Some(child)) {
            total += t;
        }
    }
    Ok(total)
}

/// The first process whose command line contains every one of `needles`
/// (used to find the private etcd, whose handle does not expose its pid).
pub fn find_process(needles: &[&str]) -> Option<u32> {
    let entries = std::fs::read_dir("/proc").ok()?;
    entries.flatten().find_map(|entry| {
        let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
        let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        needles.iter().all(|n| cmdline.contains(n)).then_some(pid)
    })
}
