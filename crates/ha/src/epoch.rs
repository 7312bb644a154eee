//! The epoch cache: at which commit-log offset each master epoch began (RocketMQ 5's
//! `EpochFileCache`, in FerroMQ's own file). A broker elected master at epoch E appends
//! `(E, its log end)`; a slave takes its master's list at every handshake. Comparing the two
//! lists tells where a returning replica's log stops agreeing with the master's: everything a
//! replica wrote under an epoch past the point where the master's log moved to a later epoch was
//! never replicated, and is cut.
//!
//! File `<store root>/epochs`: one `epoch start-offset` line per epoch, oldest first, written
//! to a temporary file and renamed.

use std::path::{Path, PathBuf};

use parking_lot::Mutex;

/// One epoch: its number and the log offset its master started writing at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Epoch {
    pub epoch: i32,
    pub start: i64,
}

/// The persisted list of epochs.
#[derive(Debug)]
pub struct EpochCache {
    path: Option<PathBuf>,
    entries: Mutex<Vec<Epoch>>,
}

impl EpochCache {
    /// An empty cache kept in memory only (classic master/slave without a controller).
    pub fn in_memory() -> Self {
        EpochCache {
            path: None,
            entries: Mutex::new(Vec::new()),
        }
    }

    /// Loads `<root>/epochs` (empty when absent). A line that does not parse is an error naming
    /// the file: a wrong epoch list could cut acknowledged data.
    pub fn load(root: &Path) -> Result<Self, String> {
        let path = root.join("epochs");
        let mut entries = Vec::new();
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                for (n, line) in text
                    .lines()
                    .enumerate()
                    .filter(|(_, l)| !l.trim().is_empty())
                {
                    let mut parts = line.split_whitespace();
                    let parsed = (|| {
                        let epoch = parts.next()?.parse().ok()?;
                        let start = parts.next()?.parse().ok()?;
                        parts.next().is_none().then_some(Epoch { epoch, start })
                    })();
                    match parsed {
                        Some(e) => entries.push(e),
                        None => {
                            return Err(format!(
                                "{} line {}: expected `epoch start-offset`, found `{line}`",
                                path.display(),
                                n + 1
                            ))
                        }
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("reading {}: {e}", path.display())),
        }
        Ok(EpochCache {
            path: Some(path),
            entries: Mutex::new(entries),
        })
    }

    /// Every epoch, oldest first.
    pub fn entries(&self) -> Vec<Epoch> {
        self.entries.lock().clone()
    }

    /// The latest epoch, if any.
    pub fn last(&self) -> Option<Epoch> {
        self.entries.lock().last().copied()
    }

    /// Epochs that began at or before `log_end` (the ones this log holds data of).
    pub fn held(&self, log_end: i64) -> Vec<Epoch> {
        let entries = self.entries.lock();
        entries
            .iter()
            .copied()
            .filter(|e| e.start <= log_end)
            .collect()
    }

    /// Replaces the list (a slave taking its master's).
    pub fn replace(&self, entries: Vec<Epoch>) -> Result<(), String> {
        *self.entries.lock() = entries;
        self.save()
    }

    /// A master elected at `epoch` with its log ending at `log_end`: epochs past the log end are
    /// dropped and `(epoch, log_end)` appended (unless it is the latest already).
    pub fn begin(&self, epoch: i32, log_end: i64) -> Result<(), String> {
        {
            let mut entries = self.entries.lock();
            entries.retain(|e| e.start <= log_end && e.epoch < epoch);
            entries.push(Epoch {
                epoch,
                start: log_end,
            });
        }
        self.save()
    }

    fn save(&self) -> Result<(), String> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let text: String = self
            .entries
            .lock()
            .iter()
            .map(|e| format!("{} {}\n", e.epoch, e.start))
            .collect();
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| format!("writing {}: {e}", path.display()))
    }
}

/// Where a replica whose log ends at `replica_end` and holds `replica` epochs agrees with a
/// master holding `master` epochs and ending at `master_end`: `Some(point)` (the replica keeps
/// `..point` and continues from there; when `point < replica_end` it must cut its log first),
/// or `None` when no epoch is shared.
pub fn agreement(
    replica: &[Epoch],
    replica_end: i64,
    master: &[Epoch],
    master_end: i64,
) -> Option<i64> {
    for e in replica.iter().rev() {
        if let Some(i) = master.iter().position(|m| m == e) {
            let end_of = master.get(i + 1).map_or(master_end, |next| next.start);
            return Some(replica_end.min(end_of));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(epoch: i32, start: i64) -> Epoch {
        Epoch { epoch, start }
    }

    #[test]
    fn a_returning_master_is_cut_where_the_new_epoch_began() {
        // Old master wrote epoch 1 up to 900; the new master took over at 700 (epoch 2).
        let old = [e(1, 0)];
        let new = [e(1, 0), e(2, 700)];
        assert_eq!(agreement(&old, 900, &new, 1500), Some(700));
        // A slave that never got past 600 keeps everything.
        assert_eq!(agreement(&old, 600, &new, 1500), Some(600));
        // A slave of the current epoch continues where it is.
        assert_eq!(agreement(&new, 1200, &new, 1500), Some(1200));
        // Two epochs back.
        let newer = [e(1, 0), e(2, 700), e(3, 1100)];
        assert_eq!(
            agreement(&[e(1, 0), e(2, 700)], 1300, &newer, 2000),
            Some(1100)
        );
        // Same epoch number, other start: a split brain; fall back to the epoch before.
        assert_eq!(agreement(&[e(1, 0), e(2, 650)], 800, &new, 1500), Some(700));
        assert_eq!(agreement(&[e(5, 0)], 800, &new, 1500), None);
    }

    #[test]
    fn the_file_round_trips_and_bad_lines_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let c = EpochCache::load(dir.path()).unwrap();
        c.begin(1, 0).unwrap();
        c.begin(2, 4096).unwrap();
        let back = EpochCache::load(dir.path()).unwrap();
        assert_eq!(back.entries(), vec![e(1, 0), e(2, 4096)]);
        assert_eq!(back.held(100), vec![e(1, 0)]);
        // A master elected again at a later epoch with a shorter log drops what it lost.
        back.begin(3, 2000).unwrap();
        assert_eq!(back.entries(), vec![e(1, 0), e(3, 2000)]);
        std::fs::write(dir.path().join("epochs"), "1 0\nnot a line\n").unwrap();
        let err = EpochCache::load(dir.path()).unwrap_err();
        assert!(err.contains("line 2"), "{err}");
    }
}
