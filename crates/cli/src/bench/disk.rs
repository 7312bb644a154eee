//! What the broker's store takes on disk, as `du` counts it (`st_blocks` × 512), next to its
//! apparent size and the commit-log bytes written: mapped segments are full-sized files, so only
//! the allocated figure says what the disk really gives up.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use serde::Serialize;

use super::table::mib;

/// One directory of the store (or everything else in it, as `other`).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct DiskUse {
    /// `commitlog`, `consumequeue`, `index` or `other`.
    pub name: String,
    /// Bytes allocated on disk.
    pub allocated: u64,
    /// Sum of the file lengths.
    pub apparent: u64,
}

/// The store after the runs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StoreDisk {
    /// Commit-log bytes written and still kept (commitLogMaxOffset − commitLogMinOffset).
    pub log_bytes: u64,
    /// By directory.
    pub dirs: Vec<DiskUse>,
}

impl StoreDisk {
    /// Bytes allocated on disk in all.
    pub fn allocated(&self) -> u64 {
        self.dirs.iter().map(|d| d.allocated).sum()
    }

    /// Apparent size in all.
    pub fn apparent(&self) -> u64 {
        self.dirs.iter().map(|d| d.apparent).sum()
    }

    /// One line for the end of the suite's output.
    pub fn line(&self) -> String {
        let dirs: Vec<String> = self
            .dirs
            .iter()
            .map(|d| {
                format!(
                    "{} {:.1} (apparent {:.1})",
                    d.name,
                    mib(d.allocated),
                    mib(d.apparent)
                )
            })
            .collect();
        format!(
            "store on disk after the runs (du, from st_blocks): {:.1} MiB for {:.1} MiB of commit log written; apparent size {:.1} MiB | MiB by directory: {}",
            mib(self.allocated()),
            mib(self.log_bytes),
            mib(self.apparent()),
            dirs.join(", ")
        )
    }
}

/// Disk use under the store root `root`: its `commitlog`, `consumequeue` and `index`
/// directories, and everything else as `other`. Entries that vanish or cannot be read while
/// walking are left out.
pub fn measure(root: &Path) -> Vec<DiskUse> {
    let mut dirs: Vec<DiskUse> = ["commitlog", "consumequeue", "index", "other"]
        .iter()
        .map(|n| DiskUse {
            name: (*n).to_owned(),
            ..DiskUse::default()
        })
        .collect();
    let Ok(entries) = std::fs::read_dir(root) else {
        return dirs;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let slot = dirs
            .iter()
            .position(|d| name.to_str() == Some(d.name.as_str()))
            .unwrap_or(dirs.len() - 1);
        let (allocated, apparent) = walk(&entry.path());
        dirs[slot].allocated += allocated;
        dirs[slot].apparent += apparent;
    }
    dirs
}

/// (allocated, apparent) bytes of `path` and, for a directory, everything under it; symbolic
/// links are not followed.
fn walk(path: &Path) -> (u64, u64) {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return (0, 0);
    };
    let mut allocated = meta.blocks() * 512;
    let mut apparent = if meta.is_file() { meta.len() } else { 0 };
    if meta.is_dir() {
        for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
            let (a, b) = walk(&entry.path());
            allocated += a;
            apparent += b;
        }
    }
    (allocated, apparent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_files_count_their_blocks_not_their_length() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("consumequeue/T/0")).unwrap();
        let sparse =
            std::fs::File::create(root.join("consumequeue/T/0/00000000000000000000")).unwrap();
        sparse.set_len(6_000_000).unwrap();
        std::fs::create_dir(root.join("commitlog")).unwrap();
        std::fs::write(root.join("commitlog/00000000000000000000"), vec![7u8; 8192]).unwrap();
        std::fs::write(root.join("checkpoint"), b"x").unwrap();
        let dirs = measure(root);
        let get = |n: &str| dirs.iter().find(|d| d.name == n).unwrap().clone();
        let cq = get("consumequeue");
        assert_eq!(cq.apparent, 6_000_000);
        assert!(cq.allocated < 64 * 1024, "{cq:?}");
        let log = get("commitlog");
        assert_eq!(log.apparent, 8192);
        assert!(log.allocated >= 8192, "{log:?}");
        assert_eq!(get("other").apparent, 1);
        assert_eq!(
            get("index"),
            DiskUse {
                name: "index".to_owned(),
                ..DiskUse::default()
            }
        );
        let s = StoreDisk {
            log_bytes: 8192,
            dirs,
        };
        assert_eq!(s.apparent(), 6_000_000 + 8192 + 1);
        assert!(
            s.line().contains("consumequeue 0.0 (apparent 5.7)"),
            "{}",
            s.line()
        );
    }
}
