//! Quotas per topic and per consumer group (FerroMQ's own; RocketMQ has none), persisted in
//! `config/quotas.json`.
//!
//! Each limit is a token bucket refilled at its rate and holding at most a tenth of a second
//! of it (so a burst after a quiet spell stays small and the rate over any window of a few
//! seconds is within a few per cent of the limit). A bucket may go into debt: a send larger
//! than the bucket still passes when the bucket is full, and the debt delays what follows, so
//! the long-run rate is the limit exactly.
//!
//! * Produce (topic): a send that finds a bucket empty is answered SYSTEM_BUSY with a remark
//!   naming the quota; clients retry it (on another broker when there is one).
//! * Consume (topic, group): a pull waits until the buckets are out of debt (at most
//!   [`MAX_PULL_WAIT`]), is then served at most as many messages as the message bucket holds,
//!   and what it took is charged afterwards. Consumers are slowed, never refused.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ferromq_proto::body::quota::{QuotaEntry, QuotaLimits, QuotaTable, QuotaTarget};
use ferromq_proto::body::JsonBody;
use parking_lot::{Mutex, RwLock};

use crate::persist::JsonFile;
use crate::{BrokerConfig, BrokerError};

/// Longest time one pull is held back by a consume quota.
pub const MAX_PULL_WAIT: Duration = Duration::from_secs(1);

/// A token bucket that may go into debt.
#[derive(Debug)]
struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(rate: u64) -> Bucket {
        let rate = rate as f64;
        let burst = (rate / 10.0).max(1.0);
        Bucket {
            rate,
            burst,
            tokens: burst,
            last: Instant::now(),
        }
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + dt * self.rate).min(self.burst);
        self.last = now;
    }

    /// Tokens now (negative while in debt).
    fn level(&mut self, now: Instant) -> f64 {
        self.refill(now);
        self.tokens
    }

    /// True when the bucket holds `n` tokens, or is full when `n` is more than it can hold.
    fn holds(&mut self, n: u64, now: Instant) -> bool {
        self.level(now) >= (n as f64).min(self.burst)
    }

    /// Time until the bucket holds `n` tokens (or is full, when `n` is more than it holds).
    fn wait_for(&mut self, n: f64, now: Instant) -> Duration {
        let want = n.min(self.burst);
        let level = self.level(now);
        if level >= want {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((want - level + 1e-3) / self.rate)
        }
    }

    fn charge(&mut self, n: f64, now: Instant) {
        self.refill(now);
        self.tokens -= n;
    }
}

/// The live state of one quota.
#[derive(Debug)]
struct Limited {
    limits: QuotaLimits,
    produce_msgs: Option<Mutex<Bucket>>,
    produce_bytes: Option<Mutex<Bucket>>,
    consume_msgs: Option<Mutex<Bucket>>,
    consume_bytes: Option<Mutex<Bucket>>,
    produce_rejected: AtomicU64,
    consume_paced_ms: AtomicU64,
    /// Pulls held back by this quota.
    consume_paced: AtomicU64,
}

impl Limited {
    fn new(limits: QuotaLimits) -> Limited {
        let bucket = |r: Option<u64>| r.map(|r| Mutex::new(Bucket::new(r)));
        Limited {
            produce_msgs: bucket(limits.produce_msgs_per_sec),
            produce_bytes: bucket(limits.produce_bytes_per_sec),
            consume_msgs: bucket(limits.consume_msgs_per_sec),
            consume_bytes: bucket(limits.consume_bytes_per_sec),
            limits,
            produce_rejected: AtomicU64::new(0),
            consume_paced_ms: AtomicU64::new(0),
            consume_paced: AtomicU64::new(0),
        }
    }
}

/// The quotas by target kind, each keyed by name, so a request looks its topic or group up
/// by `&str` without building a key.
#[derive(Debug, Default)]
struct Table {
    topics: HashMap<String, Limited>,
    groups: HashMap<String, Limited>,
}

impl Table {
    fn of(&self, target: QuotaTarget) -> &HashMap<String, Limited> {
        match target {
            QuotaTarget::Topic => &self.topics,
            QuotaTarget::Group => &self.groups,
        }
    }

    fn of_mut(&mut self, target: QuotaTarget) -> &mut HashMap<String, Limited> {
        match target {
            QuotaTarget::Topic => &mut self.topics,
            QuotaTarget::Group => &mut self.groups,
        }
    }

    fn is_empty(&self) -> bool {
        self.topics.is_empty() && self.groups.is_empty()
    }

    /// Every quota, sorted by target kind, then name.
    fn sorted(&self) -> BTreeMap<(QuotaTarget, &str), &Limited> {
        [QuotaTarget::Topic, QuotaTarget::Group]
            .into_iter()
            .flat_map(|target| {
                (self.of(target).iter()).map(move |(name, l)| ((target, name.as_str()), l))
            })
            .collect()
    }
}

/// The broker's quotas.
#[derive(Debug)]
pub struct QuotaManager {
    table: RwLock<Table>,
    /// False while no quota exists: the request paths then skip every lookup.
    any: AtomicBool,
    file: JsonFile,
    /// Sends refused by any quota since start (kept when a quota is removed).
    produce_rejected_total: AtomicU64,
    /// Pulls held back by any quota since start.
    consume_paced_total: AtomicU64,
}

impl QuotaManager {
    /// Loads `quotas.json` from the config directory (none yet is no quota).
    pub fn load(config: &BrokerConfig) -> Result<QuotaManager, BrokerError> {
        let file = JsonFile::new(config.config_dir().join("quotas.json"));
        let mut table = Table::default();
        if let Some(bytes) = file.load()? {
            let saved = QuotaTable::from_json(&bytes).map_err(|e| file.corrupt(e))?;
            for e in saved.quotas {
                validate(e.target, &e.name, &e.limits).map_err(|e| file.corrupt(e))?;
                table
                    .of_mut(e.target)
                    .insert(e.name, Limited::new(e.limits));
            }
        }
        Ok(QuotaManager {
            any: AtomicBool::new(!table.is_empty()),
            produce_rejected_total: AtomicU64::new(0),
            consume_paced_total: AtomicU64::new(0),
            table: RwLock::new(table),
            file,
        })
    }

    /// Sets (replacing) the quota of a topic or group and saves the table.
    pub fn set(
        &self,
        target: QuotaTarget,
        name: &str,
        limits: QuotaLimits,
    ) -> Result<(), BrokerError> {
        validate(target, name, &limits).map_err(BrokerError::invalid)?;
        {
            let mut t = self.table.write();
            t.of_mut(target)
                .insert(name.to_owned(), Limited::new(limits));
            self.any.store(true, Ordering::Release);
        }
        self.save()
    }

    /// Removes a quota and saves the table. Errors when there is none.
    pub fn remove(&self, target: QuotaTarget, name: &str) -> Result<(), BrokerError> {
        {
            let mut t = self.table.write();
            if t.of_mut(target).remove(name).is_none() {
                return Err(BrokerError::invalid(format!(
                    "no quota for {} {name}",
                    target_word(target)
                )));
            }
            self.any.store(!t.is_empty(), Ordering::Release);
        }
        self.save()
    }

    /// The quotas with their counters, sorted; only those of `filter` when given.
    pub fn list(&self, filter: Option<(QuotaTarget, &str)>) -> QuotaTable {
        let t = self.table.read();
        let quotas = t
            .sorted()
            .into_iter()
            .filter(|((target, name), _)| {
                filter.is_none_or(|(ft, fname)| ft == *target && fname == *name)
            })
            .map(|((target, name), l)| QuotaEntry {
                target,
                name: name.to_owned(),
                limits: l.limits.clone(),
                produce_rejected: Some(l.produce_rejected.load(Ordering::Relaxed)),
                consume_paced_ms: Some(l.consume_paced_ms.load(Ordering::Relaxed)),
            })
            .collect();
        QuotaTable { quotas }
    }

    fn save(&self) -> Result<(), BrokerError> {
        self.file.save(|| {
            let mut table = self.list(None);
            for e in &mut table.quotas {
                e.produce_rejected = None;
                e.consume_paced_ms = None;
            }
            table.to_json()
        })
    }

    /// Admits a send of `msgs` messages and `bytes` body bytes to `topic`, or answers
    /// SYSTEM_BUSY naming the quota it exceeds.
    pub fn admit_produce(&self, topic: &str, msgs: u64, bytes: u64) -> Result<(), BrokerError> {
        if !self.any.load(Ordering::Acquire) {
            return Ok(());
        }
        let t = self.table.read();
        let Some(l) = t.topics.get(topic) else {
            return Ok(());
        };
        let now = Instant::now();
        let over =
            |b: &Option<Mutex<Bucket>>, n: u64| b.as_ref().is_some_and(|b| !b.lock().holds(n, now));
        let exceeded = if over(&l.produce_msgs, msgs) {
            Some(format!(
                "{} msgs/s",
                l.limits.produce_msgs_per_sec.unwrap_or(0)
            ))
        } else if over(&l.produce_bytes, bytes) {
            Some(format!(
                "{} bytes/s",
                l.limits.produce_bytes_per_sec.unwrap_or(0)
            ))
        } else {
            None
        };
        if let Some(limit) = exceeded {
            l.produce_rejected.fetch_add(1, Ordering::Relaxed);
            self.produce_rejected_total.fetch_add(1, Ordering::Relaxed);
            return Err(BrokerError::SystemBusy {
                reason: format!(
                    "[QUOTA]produce quota of topic {topic} exceeded ({limit}), start flow control for a while"
                ),
            });
        }
        for (b, n) in [(&l.produce_msgs, msgs), (&l.produce_bytes, bytes)] {
            if let Some(b) = b {
                b.lock().charge(n as f64, now);
            }
        }
        Ok(())
    }

    /// How long a pull of `group` on `topic` for `wanted` messages must wait before it is
    /// served: until the message buckets hold `wanted` (or are full) and the byte buckets are
    /// out of debt; zero without consume quotas, at most [`MAX_PULL_WAIT`]. Waiting for a batch
    /// rather than one message keeps the pulls few. The wait is counted as pacing.
    pub fn consume_wait(&self, group: &str, topic: &str, wanted: i32) -> Duration {
        if !self.any.load(Ordering::Acquire) {
            return Duration::ZERO;
        }
        let t = self.table.read();
        let now = Instant::now();
        let mut wait = Duration::ZERO;
        let mut paced = false;
        for l in self.consume_quotas(&t, group, topic) {
            let mut w = Duration::ZERO;
            if let Some(b) = &l.consume_msgs {
                w = w.max(b.lock().wait_for(f64::from(wanted.max(1)), now));
            }
            if let Some(b) = &l.consume_bytes {
                w = w.max(b.lock().wait_for(f64::MIN_POSITIVE, now));
            }
            let w = w.min(MAX_PULL_WAIT);
            if !w.is_zero() {
                l.consume_paced_ms
                    .fetch_add(w.as_millis() as u64, Ordering::Relaxed);
                l.consume_paced.fetch_add(1, Ordering::Relaxed);
                paced = true;
            }
            wait = wait.max(w);
        }
        if paced {
            self.consume_paced_total.fetch_add(1, Ordering::Relaxed);
        }
        wait
    }

    /// Sends refused by a produce quota and pulls held back by a consume quota since start,
    /// all quotas together (removed ones included).
    pub fn totals(&self) -> (u64, u64) {
        (
            self.produce_rejected_total.load(Ordering::Relaxed),
            self.consume_paced_total.load(Ordering::Relaxed),
        )
    }

    /// Calls `f(target, name, sends refused, pulls paced, milliseconds paced)` for every
    /// quota, sorted by target kind and name.
    pub fn for_each_counter(&self, mut f: impl FnMut(QuotaTarget, &str, u64, u64, u64)) {
        let t = self.table.read();
        for ((target, name), l) in t.sorted() {
            f(
                target,
                name,
                l.produce_rejected.load(Ordering::Relaxed),
                l.consume_paced.load(Ordering::Relaxed),
                l.consume_paced_ms.load(Ordering::Relaxed),
            );
        }
    }

    /// How many of `wanted` messages a pull of `group` on `topic` may take now (at least 1).
    pub fn consume_allowance(&self, group: &str, topic: &str, wanted: i32) -> i32 {
        if !self.any.load(Ordering::Acquire) {
            return wanted;
        }
        let t = self.table.read();
        let now = Instant::now();
        let mut allowed = wanted;
        for l in self.consume_quotas(&t, group, topic) {
            if let Some(b) = &l.consume_msgs {
                let level = b.lock().level(now).floor().max(1.0);
                allowed = allowed.min(level.min(i32::MAX as f64) as i32);
            }
        }
        allowed.max(1)
    }

    /// Charges what a pull of `group` on `topic` took.
    pub fn charge_consume(&self, group: &str, topic: &str, msgs: u64, bytes: u64) {
        if !self.any.load(Ordering::Acquire) || msgs == 0 {
            return;
        }
        let t = self.table.read();
        let now = Instant::now();
        for l in self.consume_quotas(&t, group, topic) {
            for (b, n) in [(&l.consume_msgs, msgs), (&l.consume_bytes, bytes)] {
                if let Some(b) = b {
                    b.lock().charge(n as f64, now);
                }
            }
        }
    }

    fn consume_quotas<'a>(
        &self,
        t: &'a Table,
        group: &str,
        topic: &str,
    ) -> impl Iterator<Item = &'a Limited> {
        [
            t.of(QuotaTarget::Topic).get(topic),
            t.of(QuotaTarget::Group).get(group),
        ]
        .into_iter()
        .flatten()
    }
}

pub(crate) fn target_word(t: QuotaTarget) -> &'static str {
    match t {
        QuotaTarget::Topic => "topic",
        QuotaTarget::Group => "group",
    }
}

/// Why `limits` cannot be the quota of `name`, if so.
fn validate(target: QuotaTarget, name: &str, limits: &QuotaLimits) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err(format!("a quota needs a {} name", target_word(target)));
    }
    if limits.is_empty() {
        return Err("a quota needs at least one limit".into());
    }
    let rates = [
        limits.produce_msgs_per_sec,
        limits.produce_bytes_per_sec,
        limits.consume_msgs_per_sec,
        limits.consume_bytes_per_sec,
    ];
    if rates.iter().flatten().any(|&r| r == 0) {
        return Err("a quota rate must be greater than 0 (delete the quota to lift it)".into());
    }
    if target == QuotaTarget::Group
        && (limits.produce_msgs_per_sec.is_some() || limits.produce_bytes_per_sec.is_some())
    {
        return Err("a consumer group's quota limits consumption only (no produce rates)".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manager(dir: &std::path::Path) -> QuotaManager {
        QuotaManager::load(&BrokerConfig {
            store_path_root_dir: dir.to_path_buf(),
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn a_bucket_allows_its_rate_over_time() {
        let mut b = Bucket::new(1000);
        let start = Instant::now();
        let mut taken = 0u64;
        let mut now = start;
        // Simulated: 2 s of attempts every 100 µs.
        while now < start + Duration::from_secs(2) {
            if b.holds(1, now) {
                b.charge(1.0, now);
                taken += 1;
            }
            now += Duration::from_micros(100);
        }
        assert!((1950..=2150).contains(&taken), "{taken}");
    }

    #[test]
    fn quotas_are_validated_persisted_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let q = manager(dir.path());
        assert!(q
            .set(QuotaTarget::Topic, "T", QuotaLimits::default())
            .is_err());
        let zero = QuotaLimits {
            produce_msgs_per_sec: Some(0),
            ..Default::default()
        };
        assert!(q.set(QuotaTarget::Topic, "T", zero).is_err());
        let group_produce = QuotaLimits {
            produce_msgs_per_sec: Some(5),
            ..Default::default()
        };
        assert!(q.set(QuotaTarget::Group, "G", group_produce).is_err());
        let limits = QuotaLimits {
            produce_msgs_per_sec: Some(10),
            consume_bytes_per_sec: Some(4096),
            ..Default::default()
        };
        q.set(QuotaTarget::Topic, "T", limits.clone()).unwrap();
        let again = manager(dir.path());
        let listed = again.list(None);
        assert_eq!(listed.quotas.len(), 1);
        assert_eq!(listed.quotas[0].limits, limits);
        again.remove(QuotaTarget::Topic, "T").unwrap();
        assert!(again.remove(QuotaTarget::Topic, "T").is_err());
        assert!(manager(dir.path()).list(None).quotas.is_empty());
    }

    #[test]
    fn over_quota_produce_is_refused_naming_the_quota() {
        let dir = tempfile::tempdir().unwrap();
        let q = manager(dir.path());
        let limits = QuotaLimits {
            produce_msgs_per_sec: Some(10),
            ..Default::default()
        };
        q.set(QuotaTarget::Topic, "T", limits).unwrap();
        // The bucket holds one message (a tenth of a second of 10/s).
        assert!(q.admit_produce("T", 1, 10).is_ok());
        match q.admit_produce("T", 1, 10) {
            Err(BrokerError::SystemBusy { reason }) => {
                assert!(
                    reason.contains("produce quota of topic T exceeded (10 msgs/s)"),
                    "{reason}"
                )
            }
            other => panic!("{other:?}"),
        }
        assert!(q.admit_produce("Other", 1, 10).is_ok());
        assert_eq!(q.list(None).quotas[0].produce_rejected, Some(1));
    }

    #[test]
    fn a_corrupt_file_is_an_error_not_an_empty_table() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("config");
        std::fs::create_dir_all(&cfg).unwrap();
        std::fs::write(cfg.join("quotas.json"), b"{\"quotas\":[{\"type\":").unwrap();
        let err = QuotaManager::load(&BrokerConfig {
            store_path_root_dir: dir.path().to_path_buf(),
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("quotas.json"), "{err}");
    }
}
