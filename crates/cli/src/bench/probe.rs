//! This machine's own limits, measured with plain blocking sockets and files so that the suite
//! can state its results as fractions of them: round trips per second on one loopback TCP
//! connection, loopback bandwidth, and sequential write bandwidth into the page cache.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;

/// What the probe measured.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct ProbeResult {
    /// Request bytes of the ping-pong (the reply is 64 bytes).
    pub pingpong_request_bytes: usize,
    /// Round trips per second with one connection, one request at a time, both ends
    /// busy-polling their non-blocking sockets: the kernel's loopback round trip, without the
    /// wake-up of a sleeping thread (or, on a VM, of an idle vCPU).
    pub pingpong_rt_per_s: f64,
    /// Median round trip, microseconds.
    pub pingpong_p50_us: f64,
    /// 99th percentile round trip, microseconds (this machine's own scheduling noise).
    pub pingpong_p99_us: f64,
    /// Slowest round trip, microseconds.
    pub pingpong_max_us: f64,
    /// Round trips per second with blocking reads (each end sleeps until its data arrives).
    pub pingpong_blocking_rt_per_s: f64,
    /// Median round trip with blocking reads, microseconds.
    pub pingpong_blocking_p50_us: f64,
    /// Bytes per second through one loopback connection.
    pub loopback_bytes_per_s: f64,
    /// Bytes per second of sequential 1 MiB writes into a file (no fsync: the page cache).
    pub page_cache_write_bytes_per_s: f64,
}

impl ProbeResult {
    /// The best of every figure over `runs` (highest rates, lowest latencies).
    pub fn best(runs: &[ProbeResult]) -> ProbeResult {
        let mut b = runs.first().copied().unwrap_or_default();
        for r in runs.iter().skip(1) {
            b.pingpong_rt_per_s = b.pingpong_rt_per_s.max(r.pingpong_rt_per_s);
            b.pingpong_p50_us = b.pingpong_p50_us.min(r.pingpong_p50_us);
            b.pingpong_p99_us = b.pingpong_p99_us.min(r.pingpong_p99_us);
            b.pingpong_max_us = b.pingpong_max_us.min(r.pingpong_max_us);
            b.pingpong_blocking_rt_per_s = b
                .pingpong_blocking_rt_per_s
                .max(r.pingpong_blocking_rt_per_s);
            b.pingpong_blocking_p50_us = b.pingpong_blocking_p50_us.min(r.pingpong_blocking_p50_us);
            b.loopback_bytes_per_s = b.loopback_bytes_per_s.max(r.loopback_bytes_per_s);
            b.page_cache_write_bytes_per_s = b
                .page_cache_write_bytes_per_s
                .max(r.page_cache_write_bytes_per_s);
        }
        b
    }
}

/// Runs every probe, each for about `each`; the page-cache file goes in `dir` and is removed.
pub fn run(dir: &Path, request_bytes: usize, each: Duration) -> anyhow::Result<ProbeResult> {
    let pp = ping_pong(request_bytes, each, true).context("ping-pong probe")?;
    let blocking = ping_pong(request_bytes, each, false).context("ping-pong probe")?;
    let tenth = |us: f64| (us * 10.0).round() / 10.0;
    Ok(ProbeResult {
        pingpong_request_bytes: request_bytes,
        pingpong_rt_per_s: pp.rt_per_s.round(),
        pingpong_p50_us: tenth(pp.p50_us),
        pingpong_p99_us: tenth(pp.p99_us),
        pingpong_max_us: tenth(pp.max_us),
        pingpong_blocking_rt_per_s: blocking.rt_per_s.round(),
        pingpong_blocking_p50_us: tenth(blocking.p50_us),
        loopback_bytes_per_s: loopback_bandwidth(each).context("loopback probe")?.round(),
        page_cache_write_bytes_per_s: page_cache_write(dir, each)
            .context("page-cache probe")?
            .round(),
    })
}

fn pair() -> anyhow::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let client = TcpStream::connect(listener.local_addr()?)?;
    let (server, _) = listener.accept()?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    Ok((client, server))
}

/// What [`ping_pong`] measured.
#[derive(Debug, Clone, Copy)]
pub struct PingPong {
    /// Round trips per second.
    pub rt_per_s: f64,
    /// Median round trip, microseconds.
    pub p50_us: f64,
    /// 99th percentile, microseconds.
    pub p99_us: f64,
    /// Slowest, microseconds.
    pub max_us: f64,
}

/// One connection; the client writes `request_bytes`, the server answers 64 bytes once it has
/// read them all. With `spin` both ends poll non-blocking sockets instead of sleeping in
/// `read`, so the figure is the loopback path itself rather than thread wake-ups.
pub fn ping_pong(request_bytes: usize, run_for: Duration, spin: bool) -> anyhow::Result<PingPong> {
    let (mut client, mut server) = pair()?;
    client.set_nonblocking(spin)?;
    server.set_nonblocking(spin)?;
    let n = request_bytes.max(1);
    let echo = std::thread::Builder::new()
        .name("probe-echo".into())
        .spawn(move || {
            let mut buf = vec![0u8; n];
            let reply = [7u8; 64];
            while read_full(&mut server, &mut buf).is_ok() {
                if write_full(&mut server, &reply).is_err() {
                    break;
                }
            }
        })?;
    let request = vec![1u8; n];
    let mut reply = [0u8; 64];
    let mut samples = Vec::with_capacity(1 << 16);
    let start = Instant::now();
    while start.elapsed() < run_for {
        let t0 = Instant::now();
        write_full(&mut client, &request)?;
        read_full(&mut client, &mut reply)?;
        samples.push(t0.elapsed().as_nanos() as u64);
    }
    let elapsed = start.elapsed().as_secs_f64();
    drop(client);
    let _ = echo.join();
    samples.sort_unstable();
    let at = |q: f64| {
        let i = ((samples.len() as f64 * q) as usize).min(samples.len().saturating_sub(1));
        samples.get(i).copied().unwrap_or(0) as f64 / 1000.0
    };
    Ok(PingPong {
        rt_per_s: samples.len() as f64 / elapsed,
        p50_us: at(0.50),
        p99_us: at(0.99),
        max_us: samples.last().copied().unwrap_or(0) as f64 / 1000.0,
    })
}

/// `read_exact` that also spins through `WouldBlock` on a non-blocking socket.
fn read_full(s: &mut TcpStream, mut buf: &mut [u8]) -> std::io::Result<()> {
    while !buf.is_empty() {
        match s.read(buf) {
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(k) => buf = &mut buf[k..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::hint::spin_loop(),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// `write_all` that also spins through `WouldBlock` on a non-blocking socket.
fn write_full(s: &mut TcpStream, mut buf: &[u8]) -> std::io::Result<()> {
    while !buf.is_empty() {
        match s.write(buf) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(k) => buf = &buf[k..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::hint::spin_loop(),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Bytes per second one connection carries, 256 KiB writes, reader discarding.
pub fn loopback_bandwidth(run_for: Duration) -> anyhow::Result<f64> {
    let (mut client, mut server) = pair()?;
    let reader = std::thread::Builder::new()
        .name("probe-sink".into())
        .spawn(move || {
            let mut buf = vec![0u8; 256 * 1024];
            let mut total = 0u64;
            loop {
                match server.read(&mut buf) {
                    Ok(0) | Err(_) => return total,
                    Ok(n) => total += n as u64,
                }
            }
        })?;
    let chunk = vec![3u8; 256 * 1024];
    let start = Instant::now();
    while start.elapsed() < run_for {
        client.write_all(&chunk)?;
    }
    drop(client);
    let total = reader.join().unwrap_or(0);
    Ok(total as f64 / start.elapsed().as_secs_f64())
}

/// Bytes per second of sequential 1 MiB writes into a new file under `dir` (at most 1 GiB, no
/// fsync), then the file is removed.
pub fn page_cache_write(dir: &Path, run_for: Duration) -> anyhow::Result<f64> {
    let path = dir.join("probe-page-cache.tmp");
    let mut f = std::fs::File::create(&path)?;
    let chunk = vec![5u8; 1 << 20];
    let start = Instant::now();
    let mut written = 0u64;
    while start.elapsed() < run_for && written < (1 << 30) {
        f.write_all(&chunk)?;
        written += chunk.len() as u64;
    }
    let rate = written as f64 / start.elapsed().as_secs_f64();
    drop(f);
    std::fs::remove_file(&path)?;
    Ok(rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_measure_something() {
        let dir = tempfile::tempdir().unwrap();
        let r = run(dir.path(), 1024, Duration::from_millis(50)).unwrap();
        assert!(r.pingpong_rt_per_s > 0.0);
        assert!(r.loopback_bytes_per_s > 0.0);
        assert!(r.page_cache_write_bytes_per_s > 0.0);
        assert!(!dir.path().join("probe-page-cache.tmp").exists());
    }
}
