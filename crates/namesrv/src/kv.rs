//! KV config (RocketMQ `KVConfigManager`): `namespace -> key -> value`, persisted as
//! `{"configTable":{"ns":{"k":"v"}}}` at `kvConfigPath`.
//!
//! Every change is written before the request is answered: the whole table goes to a temp file
//! next to the target, is fsynced, renamed over the target, and the directory is fsynced. Writes
//! run on the blocking pool; a writer takes the snapshot while holding the file lock, so the last
//! write to finish always holds the newest table.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};

use crate::NamesrvError;

/// KV namespace holding `topic -> "brokerName:queueNums;..."` for ordered topics.
pub const NAMESPACE_ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";

type Table = BTreeMap<String, BTreeMap<String, String>>;

/// The file layout (`KVConfigSerializeWrapper`).
#[derive(Debug, Default, Serialize, Deserialize)]
struct FileForm {
    #[serde(rename = "configTable", default)]
    config_table: Table,
}

/// The KV table and its file.
#[derive(Debug, Clone)]
pub struct KvStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    table: RwLock<Table>,
    file_lock: Mutex<()>,
}

impl KvStore {
    /// Loads the table from `path`; a missing or empty file gives an empty table.
    ///
    /// Errors when the file exists but cannot be read or is not the expected JSON.
    pub fn load(path: PathBuf) -> Result<Self, NamesrvError> {
        let table = match std::fs::read(&path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Table::new(),
            Ok(bytes) => {
                let form: FileForm =
                    serde_json::from_slice(&bytes).map_err(|source| NamesrvError::KvParse {
                        path: path.clone(),
                        source,
                    })?;
                form.config_table
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Table::new(),
            Err(source) => return Err(NamesrvError::KvRead { path, source }),
        };
        Ok(KvStore {
            inner: Arc::new(Inner {
                path,
                table: RwLock::new(table),
                file_lock: Mutex::new(()),
            }),
        })
    }

    /// The file the table is persisted to.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The value of `key` in `namespace`.
    pub fn get(&self, namespace: &str, key: &str) -> Option<String> {
        self.inner
            .table
            .read()
            .get(namespace)
            .and_then(|ns| ns.get(key))
            .cloned()
    }

    /// All entries of `namespace`, or `None` when it has none.
    pub fn namespace(&self, namespace: &str) -> Option<BTreeMap<String, String>> {
        self.inner
            .table
            .read()
            .get(namespace)
            .filter(|ns| !ns.is_empty())
            .cloned()
    }

    /// Sets `key` in `namespace` and persists the table.
    pub async fn put(&self, namespace: &str, key: &str, value: &str) -> Result<(), NamesrvError> {
        self.inner
            .table
            .write()
            .entry(namespace.to_owned())
            .or_default()
            .insert(key.to_owned(), value.to_owned());
        self.persist().await
    }

    /// Removes `key` from `namespace` (and the namespace once empty) and persists the table.
    /// Removing an absent key succeeds without writing.
    pub async fn delete(&self, namespace: &str, key: &str) -> Result<(), NamesrvError> {
        let removed = {
            let mut table = self.inner.table.write();
            let removed = table
                .get_mut(namespace)
                .and_then(|ns| ns.remove(key))
                .is_some();
            if table.get(namespace).is_some_and(BTreeMap::is_empty) {
                table.remove(namespace);
            }
            removed
        };
        if removed {
            self.persist().await?;
        }
        Ok(())
    }

    async fn persist(&self) -> Result<(), NamesrvError> {
        let inner = Arc::clone(&self.inner);
        let result = tokio::task::spawn_blocking(move || {
            let _file = inner.file_lock.lock();
            let json = {
                let table = inner.table.read();
                serde_json::to_vec_pretty(&FileFormRef {
                    config_table: &table,
                })
            };
            // Serialising string maps cannot fail; map it to an I/O error rather than unwrap.
            let json = json.map_err(std::io::Error::other)?;
            write_atomically(&inner.path, &json)
        })
        .await
        .unwrap_or_else(|join| Err(std::io::Error::other(join)));
        result.map_err(|source| NamesrvError::KvPersist {
            path: self.inner.path.clone(),
            source,
        })
    }
}

#[derive(Serialize)]
struct FileFormRef<'a> {
    #[serde(rename = "configTable")]
    config_table: &'a Table,
}

/// Writes `bytes` to `path` so that a crash leaves either the old or the new content: temp file,
/// fsync, rename, fsync of the directory.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir)?;
    let mut tmp_name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    // Directory fsync makes the rename durable; not every platform allows opening a directory.
    if let Ok(d) = std::fs::File::open(&dir) {
        d.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_path(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ferromq-kv-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir.join("sub").join("kvConfig.json")
    }

    #[tokio::test]
    async fn put_get_delete_persist_and_reload() {
        let path = temp_path("roundtrip");
        let kv = KvStore::load(path.clone()).unwrap();
        assert_eq!(kv.get("ns", "k"), None);
        kv.put("ns", "k", "v").await.unwrap();
        kv.put("ns", "k2", "v2").await.unwrap();
        kv.put(NAMESPACE_ORDER_TOPIC_CONFIG, "T", "broker-a:4")
            .await
            .unwrap();
        assert_eq!(kv.get("ns", "k").as_deref(), Some("v"));

        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"configTable\""), "{text}");
        let reloaded = KvStore::load(path.clone()).unwrap();
        assert_eq!(
            reloaded.get(NAMESPACE_ORDER_TOPIC_CONFIG, "T").as_deref(),
            Some("broker-a:4")
        );

        kv.delete("ns", "k").await.unwrap();
        kv.delete("ns", "k2").await.unwrap();
        kv.delete("ns", "absent").await.unwrap();
        assert_eq!(kv.namespace("ns"), None);
        let reloaded = KvStore::load(path.clone()).unwrap();
        assert_eq!(reloaded.get("ns", "k"), None);
        assert!(!path.with_file_name("kvConfig.json.tmp").exists());
        let _ = std::fs::remove_dir_all(path.parent().unwrap().parent().unwrap());
    }

    #[test]
    fn reads_java_written_file_and_rejects_garbage() {
        let path = temp_path("java");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            &path,
            r#"{"configTable":{"ORDER_TOPIC_CONFIG":{"T":"broker-a:8"}}}"#,
        )
        .unwrap();
        let kv = KvStore::load(path.clone()).unwrap();
        assert_eq!(
            kv.get("ORDER_TOPIC_CONFIG", "T").as_deref(),
            Some("broker-a:8")
        );
        std::fs::write(&path, "not json").unwrap();
        assert!(matches!(
            KvStore::load(path.clone()),
            Err(NamesrvError::KvParse { .. })
        ));
        let _ = std::fs::remove_dir_all(path.parent().unwrap().parent().unwrap());
    }
}
