//! Store settings (`MessageStoreConfig`, `wire-protocol.md` 3.12), with RocketMQ's defaults.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::StoreError;

/// When a put is acknowledged relative to the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FlushDiskType {
    /// Answer once the record is in the page cache; a flusher thread syncs every
    /// `flush_interval_commit_log_ms`. A power loss can lose the last interval; a process crash
    /// loses nothing (the kernel still holds the pages).
    #[default]
    AsyncFlush,
    /// Answer only after a group-commit flusher has synced past the record (when the message's
    /// `WAIT` property is not `false`), or `FlushDiskTimeout` after `sync_flush_timeout_ms`.
    SyncFlush,
}

/// Settings of a [`crate::MessageStore`]. Field names follow RocketMQ's (`storePathRootDir`
/// etc.) when (de)serialized.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StoreConfig {
    /// Root of all store files (`checkpoint`, `abort`, `lock`, `consumequeue/`).
    pub store_path_root_dir: PathBuf,
    /// Commit-log directory; `None` means `<root>/commitlog`.
    pub store_path_commit_log: Option<PathBuf>,
    /// Size of one commit-log segment (1 GiB).
    pub mapped_file_size_commit_log: usize,
    /// Size of one consume-queue file (300 000 units of 20 bytes); rounded down to whole units.
    pub mapped_file_size_consume_queue: usize,
    /// Flush mode of the commit log.
    pub flush_disk_type: FlushDiskType,
    /// Async flush period of the commit log (500 ms).
    #[serde(rename = "flushIntervalCommitLog")]
    pub flush_interval_commit_log_ms: u64,
    /// Async flush only when at least this many 4 KiB pages are dirty (4)...
    pub flush_commit_log_least_pages: usize,
    /// ...except that everything is flushed at least this often (10 s).
    #[serde(rename = "flushCommitLogThoroughInterval")]
    pub flush_commit_log_thorough_interval_ms: u64,
    /// Flush period of the consume queues and the checkpoint (1000 ms).
    #[serde(rename = "flushIntervalConsumeQueue")]
    pub flush_interval_consume_queue_ms: u64,
    /// How long a SYNC_FLUSH put waits for the disk (5000 ms).
    #[serde(rename = "syncFlushTimeout")]
    pub sync_flush_timeout_ms: u64,
    /// Largest message body (4 MiB); the whole record may use 64 KiB more.
    pub max_message_size: usize,
    /// Hours a commit-log file is kept (72); used by retention (later).
    #[serde(rename = "fileReservedTime")]
    pub file_reserved_time_hours: u64,
    /// Hour(s) of day for file deletion, `;`-separated ("04"); used by retention (later).
    pub delete_when: String,
    /// Disk usage ratio above which files are deleted early (75 %); used by retention (later).
    pub disk_max_used_space_ratio: u32,
    /// Delay levels (`1s 5s ... 2h`); the tags code of `SCHEDULE_TOPIC_XXXX` messages is their
    /// delivery time.
    pub message_delay_level: String,
    /// Pull batch limit for data in memory: bytes (256 KiB).
    pub max_transfer_bytes_on_message_in_memory: usize,
    /// Pull batch limit for data in memory: messages (32).
    pub max_transfer_count_on_message_in_memory: usize,
    /// Pull batch limit for data on disk: bytes (64 KiB).
    pub max_transfer_bytes_on_message_in_disk: usize,
    /// Pull batch limit for data on disk: messages (8).
    pub max_transfer_count_on_message_in_disk: usize,
    /// Data further behind the log head than this share of RAM counts as on disk (40 %).
    pub access_message_in_memory_max_ratio: u32,
    /// Verify body CRCs while recovering (true).
    pub check_crc_on_recover: bool,
}

impl Default for StoreConfig {
    fn default() -> Self {
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
        StoreConfig {
            store_path_root_dir: home.join("store"),
            store_path_commit_log: None,
            mapped_file_size_commit_log: 1024 * 1024 * 1024,
            mapped_file_size_consume_queue: 300_000 * crate::consume_queue::UNIT_SIZE,
            flush_disk_type: FlushDiskType::AsyncFlush,
            flush_interval_commit_log_ms: 500,
            flush_commit_log_least_pages: 4,
            flush_commit_log_thorough_interval_ms: 10_000,
            flush_interval_consume_queue_ms: 1000,
            sync_flush_timeout_ms: 5000,
            max_message_size: 4 * 1024 * 1024,
            file_reserved_time_hours: 72,
            delete_when: "04".to_owned(),
            disk_max_used_space_ratio: 75,
            message_delay_level: "1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h"
                .to_owned(),
            max_transfer_bytes_on_message_in_memory: 256 * 1024,
            max_transfer_count_on_message_in_memory: 32,
            max_transfer_bytes_on_message_in_disk: 64 * 1024,
            max_transfer_count_on_message_in_disk: 8,
            access_message_in_memory_max_ratio: 40,
            check_crc_on_recover: true,
        }
    }
}

/// Smallest commit-log segment accepted (one page).
const MIN_SEGMENT: usize = 4096;

impl StoreConfig {
    /// A default config rooted at `root` (the usual way tests and the broker build one).
    pub fn with_root(root: impl Into<PathBuf>) -> Self {
        StoreConfig {
            store_path_root_dir: root.into(),
            ..StoreConfig::default()
        }
    }

    /// The commit-log directory.
    pub fn commit_log_dir(&self) -> PathBuf {
        self.store_path_commit_log
            .clone()
            .unwrap_or_else(|| self.store_path_root_dir.join("commitlog"))
    }

    /// The consume-queue root directory.
    pub fn consume_queue_dir(&self) -> PathBuf {
        self.store_path_root_dir.join("consumequeue")
    }

    /// Consume-queue file size rounded down to whole 20-byte units.
    pub(crate) fn consume_queue_file_size(&self) -> usize {
        let unit = crate::consume_queue::UNIT_SIZE;
        (self.mapped_file_size_consume_queue / unit) * unit
    }

    /// Largest record accepted: the body limit plus 64 KiB for the rest.
    pub(crate) fn max_record_size(&self) -> usize {
        self.max_message_size.saturating_add(64 * 1024)
    }

    /// Delay of each level in ms (index 0 = level 1), parsed from `message_delay_level`.
    pub fn delay_levels_ms(&self) -> Result<Vec<i64>, StoreError> {
        self.message_delay_level
            .split_whitespace()
            .map(|item| {
                let bad = || StoreError::Config {
                    reason: format!("bad delay level `{item}` in messageDelayLevel"),
                };
                let split = item.len().checked_sub(1).ok_or_else(bad)?;
                let (num, unit) = item.split_at(split);
                let n: i64 = num.parse().map_err(|_| bad())?;
                let ms = match unit {
                    "s" => 1000,
                    "m" => 60_000,
                    "h" => 3_600_000,
                    "d" => 86_400_000,
                    _ => return Err(bad()),
                };
                Ok(n * ms)
            })
            .collect()
    }

    /// Checks the settings the store cannot work without.
    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        let bad = |reason: String| Err(StoreError::Config { reason });
        if self.mapped_file_size_commit_log < MIN_SEGMENT {
            return bad(format!(
                "mappedFileSizeCommitLog {} is below {MIN_SEGMENT}",
                self.mapped_file_size_commit_log
            ));
        }
        if self.consume_queue_file_size() == 0 {
            return bad(format!(
                "mappedFileSizeConsumeQueue {} holds no 20-byte unit",
                self.mapped_file_size_consume_queue
            ));
        }
        if self.mapped_file_size_commit_log > i32::MAX as usize {
            return bad("mappedFileSizeCommitLog must fit in an i32".to_owned());
        }
        self.delay_levels_ms()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_rocketmq() {
        let c = StoreConfig::with_root("/tmp/x");
        assert_eq!(c.commit_log_dir(), PathBuf::from("/tmp/x/commitlog"));
        assert_eq!(c.consume_queue_file_size(), 6_000_000);
        assert_eq!(c.flush_disk_type, FlushDiskType::AsyncFlush);
        assert_eq!(c.delay_levels_ms().unwrap().len(), 18);
        assert_eq!(c.delay_levels_ms().unwrap()[17], 7_200_000);
        assert!(c.validate().is_ok());
    }

    #[test]
    fn deserializes_java_names() {
        let c: StoreConfig = serde_json::from_str(
            r#"{"storePathRootDir":"/data","flushDiskType":"SYNC_FLUSH","mappedFileSizeConsumeQueue":4099,"mappedFileSizeCommitLog":100}"#,
        )
        .unwrap();
        assert_eq!(c.flush_disk_type, FlushDiskType::SyncFlush);
        assert_eq!(c.consume_queue_dir(), PathBuf::from("/data/consumequeue"));
        assert_eq!(c.consume_queue_file_size(), 4080);
        assert!(c.validate().is_err());
    }

    #[test]
    fn bad_delay_levels_are_refused() {
        let c = StoreConfig {
            message_delay_level: "1x".into(),
            ..StoreConfig::default()
        };
        assert!(c.delay_levels_ms().is_err());
        let c = StoreConfig {
            message_delay_level: "s".into(),
            ..StoreConfig::default()
        };
        assert!(c.delay_levels_ms().is_err());
    }
}
