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
    /// Build the index of `KEYS` and `UNIQ_KEY` (true).
    pub message_index_enable: bool,
    /// Hash slots of one index file (5 000 000).
    pub max_hash_slot_num: usize,
    /// Entries of one index file (20 000 000).
    pub max_index_num: usize,
    /// Most results of one key query (64).
    pub max_msgs_num_batch: usize,
    /// Results of a unique-key query (32).
    pub default_query_max_num: usize,
    /// Above this disk usage (%) writes are refused until space returns (90).
    pub disk_space_warning_level_ratio: u32,
    /// Above this disk usage (%) commit-log files are deleted even before they expire (85).
    pub disk_space_clean_forcibly_ratio: u32,
    /// Allow the forced deletion above `disk_space_clean_forcibly_ratio` (true).
    pub clean_file_forcibly_enable: bool,
    /// Period of the retention service: disk check and file deletion (10 000 ms).
    #[serde(rename = "cleanResourceInterval")]
    pub clean_resource_interval_ms: u64,
    /// Most commit-log files deleted in one retention round (10).
    pub delete_file_batch_max: usize,
    /// Create the next commit-log segment on a background thread before it is needed (true).
    pub preallocate_commit_log: bool,
    /// Fault in the pages of a preallocated segment so the first writes take no page faults
    /// (false, RocketMQ's default: warming a 1 GiB segment costs a second of CPU at start and
    /// puts the whole segment in the broker's RSS).
    #[serde(rename = "warmMapedFileEnable")]
    pub warm_mapped_file_enable: bool,
    /// FerroMQ: MiB of mapped store files (commit log, consume queues, index) the process may
    /// keep resident (128). Above it the `ferromq-resident` thread drops the pages read or
    /// written from the process's page tables; they stay in the page cache. 0 turns it off
    /// (the commit-log writer still drops what it flushed). RocketMQ has no such key.
    pub mapped_resident_limit_mb: u64,
    /// FerroMQ: MiB of the newest flushed commit log left in the kernel's page cache. Older
    /// flushed pages are dropped from it as the log grows, so new log pages reuse memory the
    /// kernel has just freed (see [`crate::commit_log::CommitLog::flush`]); reads further back
    /// go to disk, and count as on disk for the pull limits. `None` (the default): the share of
    /// memory `accessMessageInMemoryMaxRatio` already counts as cached (none when that ratio is
    /// 0). 0 leaves the page cache to the kernel. RocketMQ has no such key.
    pub commit_log_page_cache_mb: Option<u64>,
    /// Test knob: every commit-log flush first sleeps this long (0). Lets tests provoke
    /// `FLUSH_DISK_TIMEOUT` with a slow "disk".
    #[serde(rename = "debugFlushDelayMs")]
    pub debug_flush_delay_ms: u64,
    /// Test knob: when set, the disk usage (a ratio 0.0-1.0, or a percentage) is read from this
    /// file instead of the file system, so tests can fake a full disk. A missing or unreadable
    /// file means "ask the file system".
    #[serde(rename = "debugDiskUsageFile")]
    pub debug_disk_usage_file: Option<PathBuf>,
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
            message_index_enable: true,
            max_hash_slot_num: 5_000_000,
            max_index_num: 20_000_000,
            max_msgs_num_batch: 64,
            default_query_max_num: 32,
            disk_space_warning_level_ratio: 90,
            disk_space_clean_forcibly_ratio: 85,
            clean_file_forcibly_enable: true,
            clean_resource_interval_ms: 10_000,
            delete_file_batch_max: 10,
            preallocate_commit_log: true,
            warm_mapped_file_enable: false,
            mapped_resident_limit_mb: 128,
            commit_log_page_cache_mb: None,
            debug_flush_delay_ms: 0,
            debug_disk_usage_file: None,
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

    /// The index directory.
    pub fn index_dir(&self) -> PathBuf {
        self.store_path_root_dir.join("index")
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

    /// The `broker.conf` keys [`Self::set_property`] understands.
    pub const KEYS: &'static [&'static str] = &[
        "storePathRootDir",
        "storePathCommitLog",
        "mappedFileSizeCommitLog",
        "mappedFileSizeConsumeQueue",
        "flushDiskType",
        "flushIntervalCommitLog",
        "flushCommitLogLeastPages",
        "flushCommitLogThoroughInterval",
        "flushIntervalConsumeQueue",
        "syncFlushTimeout",
        "maxMessageSize",
        "fileReservedTime",
        "deleteWhen",
        "diskMaxUsedSpaceRatio",
        "messageDelayLevel",
        "maxTransferBytesOnMessageInMemory",
        "maxTransferCountOnMessageInMemory",
        "maxTransferBytesOnMessageInDisk",
        "maxTransferCountOnMessageInDisk",
        "accessMessageInMemoryMaxRatio",
        "checkCRCOnRecover",
        "messageIndexEnable",
        "maxHashSlotNum",
        "maxIndexNum",
        "maxMsgsNumBatch",
        "defaultQueryMaxNum",
        "diskSpaceWarningLevelRatio",
        "diskSpaceCleanForciblyRatio",
        "cleanFileForciblyEnable",
        "cleanResourceInterval",
        "deleteFileBatchMax",
        "preallocateCommitLog",
        "warmMapedFileEnable",
        "mappedResidentLimitMb",
        "commitLogPageCacheMb",
        "debugFlushDelayMs",
        "debugDiskUsageFile",
    ];

    /// True when `key` is one of [`Self::KEYS`].
    pub fn knows(key: &str) -> bool {
        Self::KEYS.contains(&key)
    }

    /// Sets the setting RocketMQ's `MessageStoreConfig` calls `key` (the name used in
    /// `broker.conf`) from its text `value`. Returns `Ok(false)` for a key the store does not
    /// know, `Err` with the reason when the value does not parse.
    pub fn set_property(&mut self, key: &str, value: &str) -> Result<bool, String> {
        fn num<T: std::str::FromStr>(v: &str, what: &str) -> Result<T, String> {
            v.parse().map_err(|_| format!("expected {what}"))
        }
        fn boolean(v: &str) -> Result<bool, String> {
            match v.to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err("expected true or false".to_owned()),
            }
        }
        let v = value.trim();
        match key {
            "storePathRootDir" => self.store_path_root_dir = PathBuf::from(v),
            "storePathCommitLog" => self.store_path_commit_log = Some(PathBuf::from(v)),
            "mappedFileSizeCommitLog" => {
                self.mapped_file_size_commit_log = num(v, "a size in bytes")?
            }
            "mappedFileSizeConsumeQueue" => {
                self.mapped_file_size_consume_queue = num(v, "a size in bytes")?
            }
            "flushDiskType" => {
                self.flush_disk_type = match v {
                    "ASYNC_FLUSH" => FlushDiskType::AsyncFlush,
                    "SYNC_FLUSH" => FlushDiskType::SyncFlush,
                    _ => return Err("expected ASYNC_FLUSH or SYNC_FLUSH".to_owned()),
                }
            }
            "flushIntervalCommitLog" => self.flush_interval_commit_log_ms = num(v, "milliseconds")?,
            "flushCommitLogLeastPages" => {
                self.flush_commit_log_least_pages = num(v, "a number of pages")?
            }
            "flushCommitLogThoroughInterval" => {
                self.flush_commit_log_thorough_interval_ms = num(v, "milliseconds")?
            }
            "flushIntervalConsumeQueue" => {
                self.flush_interval_consume_queue_ms = num(v, "milliseconds")?
            }
            "syncFlushTimeout" => self.sync_flush_timeout_ms = num(v, "milliseconds")?,
            "maxMessageSize" => self.max_message_size = num(v, "a size in bytes")?,
            "fileReservedTime" => self.file_reserved_time_hours = num(v, "a number of hours")?,
            "deleteWhen" => {
                let ok = v
                    .split(';')
                    .all(|h| h.trim().parse::<u8>().is_ok_and(|h| h < 24));
                if !ok {
                    return Err("expected hours of the day (00-23) separated by ;".to_owned());
                }
                self.delete_when = v.to_owned();
            }
            "diskMaxUsedSpaceRatio" => self.disk_max_used_space_ratio = num(v, "a percentage")?,
            "messageDelayLevel" => self.message_delay_level = v.to_owned(),
            "maxTransferBytesOnMessageInMemory" => {
                self.max_transfer_bytes_on_message_in_memory = num(v, "a size in bytes")?
            }
            "maxTransferCountOnMessageInMemory" => {
                self.max_transfer_count_on_message_in_memory = num(v, "a count")?
            }
            "maxTransferBytesOnMessageInDisk" => {
                self.max_transfer_bytes_on_message_in_disk = num(v, "a size in bytes")?
            }
            "maxTransferCountOnMessageInDisk" => {
                self.max_transfer_count_on_message_in_disk = num(v, "a count")?
            }
            "accessMessageInMemoryMaxRatio" => {
                self.access_message_in_memory_max_ratio = num(v, "a percentage")?
            }
            "checkCRCOnRecover" => self.check_crc_on_recover = boolean(v)?,
            "messageIndexEnable" => self.message_index_enable = boolean(v)?,
            "maxHashSlotNum" => self.max_hash_slot_num = num(v, "a number of slots")?,
            "maxIndexNum" => self.max_index_num = num(v, "a number of entries")?,
            "maxMsgsNumBatch" => self.max_msgs_num_batch = num(v, "a count")?,
            "defaultQueryMaxNum" => self.default_query_max_num = num(v, "a count")?,
            "diskSpaceWarningLevelRatio" => {
                self.disk_space_warning_level_ratio = num(v, "a percentage")?
            }
            "diskSpaceCleanForciblyRatio" => {
                self.disk_space_clean_forcibly_ratio = num(v, "a percentage")?
            }
            "cleanFileForciblyEnable" => self.clean_file_forcibly_enable = boolean(v)?,
            "cleanResourceInterval" => self.clean_resource_interval_ms = num(v, "milliseconds")?,
            "deleteFileBatchMax" => self.delete_file_batch_max = num(v, "a count")?,
            "preallocateCommitLog" => self.preallocate_commit_log = boolean(v)?,
            "warmMapedFileEnable" => self.warm_mapped_file_enable = boolean(v)?,
            "mappedResidentLimitMb" => self.mapped_resident_limit_mb = num(v, "MiB")?,
            // Empty (how the effective config prints the default) means the default.
            "commitLogPageCacheMb" => {
                self.commit_log_page_cache_mb =
                    (!v.trim().is_empty()).then(|| num(v, "MiB")).transpose()?
            }
            "debugFlushDelayMs" => self.debug_flush_delay_ms = num(v, "milliseconds")?,
            "debugDiskUsageFile" => {
                self.debug_disk_usage_file = (!v.is_empty()).then(|| PathBuf::from(v))
            }
            _ => return Ok(false),
        }
        Ok(true)
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
        if self.max_hash_slot_num == 0 || self.max_hash_slot_num > i32::MAX as usize {
            return bad(format!(
                "maxHashSlotNum {} must be between 1 and {}",
                self.max_hash_slot_num,
                i32::MAX
            ));
        }
        if self.max_index_num < 2 || self.max_index_num > i32::MAX as usize {
            return bad(format!(
                "maxIndexNum {} must be between 2 and {}",
                self.max_index_num,
                i32::MAX
            ));
        }
        for (key, v) in [
            ("diskMaxUsedSpaceRatio", self.disk_max_used_space_ratio),
            (
                "diskSpaceWarningLevelRatio",
                self.disk_space_warning_level_ratio,
            ),
            (
                "diskSpaceCleanForciblyRatio",
                self.disk_space_clean_forcibly_ratio,
            ),
        ] {
            if v > 100 {
                return bad(format!("{key} {v} is not a percentage"));
            }
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
    fn broker_conf_keys_set_store_settings() {
        let mut c = StoreConfig::default();
        assert_eq!(c.set_property("maxHashSlotNum", " 64 "), Ok(true));
        assert_eq!(c.set_property("maxIndexNum", "100"), Ok(true));
        assert_eq!(c.set_property("diskSpaceWarningLevelRatio", "95"), Ok(true));
        assert_eq!(c.set_property("checkCRCOnRecover", "FALSE"), Ok(true));
        assert_eq!(c.set_property("flushDiskType", "SYNC_FLUSH"), Ok(true));
        assert_eq!(c.set_property("brokerName", "x"), Ok(false));
        assert!(c.set_property("maxIndexNum", "many").is_err());
        assert!(c.set_property("deleteWhen", "25").is_err());
        assert!(c.set_property("messageIndexEnable", "yes").is_err());
        assert_eq!(c.commit_log_page_cache_mb, None);
        assert_eq!(c.set_property("commitLogPageCacheMb", "256"), Ok(true));
        assert_eq!(c.commit_log_page_cache_mb, Some(256));
        assert_eq!(c.set_property("commitLogPageCacheMb", "0"), Ok(true));
        assert_eq!(c.commit_log_page_cache_mb, Some(0));
        assert!(c.set_property("commitLogPageCacheMb", "lots").is_err());
        // The effective config prints the default as an empty value: it reads back as the default.
        assert_eq!(c.set_property("commitLogPageCacheMb", ""), Ok(true));
        assert_eq!(c.commit_log_page_cache_mb, None);
        assert_eq!(
            (
                c.max_hash_slot_num,
                c.max_index_num,
                c.disk_space_warning_level_ratio
            ),
            (64, 100, 95)
        );
        assert!(!c.check_crc_on_recover);
        assert_eq!(c.flush_disk_type, FlushDiskType::SyncFlush);
        assert!(c.validate().is_ok());
        c.max_index_num = 1;
        assert!(c.validate().is_err());
    }

    #[test]
    fn every_listed_key_is_understood() {
        for key in StoreConfig::KEYS {
            let mut c = StoreConfig::default();
            assert_ne!(c.set_property(key, "x"), Ok(false), "{key}");
        }
        assert!(!StoreConfig::knows("brokerName"));
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
