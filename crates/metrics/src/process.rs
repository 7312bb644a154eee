//! [`ProcessSource`]: the standard `process_*` metrics of this process, read from `/proc/self`
//! at scrape time (nothing on Linux-less systems).

use crate::{Labels, Scrape, Source};

/// Clock ticks per second of `/proc/<pid>/stat` times (`USER_HZ`, 100 in Linux's user ABI).
const USER_HZ: f64 = 100.0;

/// `process_cpu_seconds_total`, `process_resident_memory_bytes`, `process_open_fds` and
/// `process_threads` of this process.
#[derive(Debug, Default)]
pub struct ProcessSource;

impl Source for ProcessSource {
    fn collect(&self, out: &mut Scrape) {
        out.set_constant_labels(Labels::new());
        if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
            // Fields after the command name (which may hold spaces) start at field 3 (`state`).
            if let Some((_, rest)) = stat.rsplit_once(')') {
                let fields: Vec<&str> = rest.split_whitespace().collect();
                let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
                // utime and stime are fields 14 and 15, so 11 and 12 after the command.
                if let (Some(user), Some(system)) = (ticks(11), ticks(12)) {
                    out.counter_f64(
                        "process_cpu_seconds_total",
                        "Total user and system CPU time spent in seconds.",
                        (user + system) as f64 / USER_HZ,
                    );
                }
                if let Some(threads) = ticks(17) {
                    out.gauge(
                        "process_threads",
                        "Threads of the process.",
                        Labels::new(),
                        threads as f64,
                    );
                }
            }
        }
        if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
            let rss_kb = status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
            if let Some(kb) = rss_kb {
                out.gauge(
                    "process_resident_memory_bytes",
                    "Resident memory size in bytes.",
                    Labels::new(),
                    (kb * 1024) as f64,
                );
            }
        }
        if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
            out.gauge(
                "process_open_fds",
                "Number of open file descriptors.",
                Labels::new(),
                fds.count() as f64,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let mut out = Scrape::default();
        ProcessSource.collect(&mut out);
        let text = out.encode();
        if std::path::Path::new("/proc/self/stat").exists() {
            assert!(text.contains("process_cpu_seconds_total "), "{text}");
            assert!(text.contains("process_resident_memory_bytes "), "{text}");
        }
    }
}
