//! Memory and CPU time of a process, from `/proc/<pid>/status` and `/proc/<pid>/stat` (Linux).

use std::time::Duration;

/// Clock ticks per second of `utime`/`stime` (`sysconf(_SC_CLK_TCK)`, 100 on every Linux
/// architecture FerroMQ runs on).
const CLK_TCK: f64 = 100.0;

/// One reading of a process.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcSample {
    /// Resident set size, bytes.
    pub rss: u64,
    /// Peak resident set size since start (VmHWM), bytes.
    pub rss_peak: u64,
    /// Anonymous resident memory (heap, stacks), bytes.
    pub rss_anon: u64,
    /// Resident file-backed pages (the binary, and mapped store segments), bytes.
    pub rss_file: u64,
    /// User plus system CPU time.
    pub cpu: Duration,
    /// The system (kernel) part of `cpu`.
    pub cpu_sys: Duration,
    /// Threads.
    pub threads: u64,
}

/// Reads `pid` (`None`: this process). `None` when the process is gone or this is not Linux.
pub fn sample(pid: Option<u32>) -> Option<ProcSample> {
    let dir = match pid {
        Some(p) => format!("/proc/{p}"),
        None => "/proc/self".to_owned(),
    };
    let status = std::fs::read_to_string(format!("{dir}/status")).ok()?;
    let stat = std::fs::read_to_string(format!("{dir}/stat")).ok()?;
    let mut s = parse_status(&status);
    (s.cpu, s.cpu_sys) = parse_stat_cpu(&stat)?;
    Some(s)
}

fn kb_field(line: &str, key: &str) -> Option<u64> {
    let rest = line.strip_prefix(key)?;
    let n: u64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(n * 1024)
}

/// VmRSS, VmHWM and Threads from the text of `/proc/<pid>/status`.
fn parse_status(text: &str) -> ProcSample {
    let mut s = ProcSample::default();
    for line in text.lines() {
        if let Some(v) = kb_field(line, "VmRSS:") {
            s.rss = v;
        } else if let Some(v) = kb_field(line, "VmHWM:") {
            s.rss_peak = v;
        } else if let Some(v) = kb_field(line, "RssAnon:") {
            s.rss_anon = v;
        } else if let Some(v) = kb_field(line, "RssFile:") {
            s.rss_file = v;
        } else if let Some(v) = line.strip_prefix("Threads:") {
            s.threads = v.trim().parse().unwrap_or(0);
        }
    }
    s
}

/// utime + stime, and stime, from the text of `/proc/<pid>/stat` (fields 14 and 15, counted
/// after the parenthesised command name, which may itself hold spaces).
fn parse_stat_cpu(text: &str) -> Option<(Duration, Duration)> {
    let after = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3 (state), so field N is at index N - 3.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let ticks = |t: u64| Duration::from_secs_f64(t as f64 / CLK_TCK);
    Some((ticks(utime + stime), ticks(stime)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_and_stat() {
        let status = "Name:\tferromq\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\nRssAnon:\t    4096 kB\nRssFile:\t    6144 kB\nThreads:\t7\n";
        let s = parse_status(status);
        assert_eq!((s.rss, s.rss_peak, s.threads), (10 << 20, 20 << 20, 7));
        assert_eq!((s.rss_anon, s.rss_file), (4 << 20, 6 << 20));
        let stat = "42 (fer (mq)) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 7 0";
        assert_eq!(
            parse_stat_cpu(stat),
            Some((Duration::from_secs(3), Duration::from_millis(500)))
        );
        assert!(sample(None).is_some_and(|s| s.rss > 0));
    }
}
