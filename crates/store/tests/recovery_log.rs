//! Recovery says in the log what it dropped. Its own test binary: `tracing`'s per-callsite
//! interest cache is shared by all threads of a process, so a capture is only reliable when no
//! other test logs concurrently.

mod common;

use std::fs;
use std::path::Path;

use common::*;
use ferromq_proto::message::encode_properties;
use ferromq_store::PutStatus;

fn edit(root: &Path, offset: i64, f: impl FnOnce(&mut [u8])) {
    let seg = small_config(root).mapped_file_size_commit_log as i64;
    let path = root
        .join("commitlog")
        .join(format!("{:020}", offset - offset % seg));
    let mut raw = fs::read(&path).unwrap();
    f(&mut raw[(offset % seg) as usize..]);
    fs::write(&path, &raw).unwrap();
}

fn crashed_store(root: &Path, n: usize) -> Vec<ferromq_store::PutResult> {
    let store = open(root);
    let results: Vec<_> = (0..n)
        .map(|i| {
            let props = encode_properties(&[("UNIQ_KEY", format!("U{i}"))]);
            let r = store.put(msg("C", (i % 2) as i32, &body(i), &props));
            assert_eq!(r.status, PutStatus::PutOk);
            r
        })
        .collect();
    settle(&store);
    drop(store);
    results
}

/// Collects log output of the calling thread.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[test]
fn recovery_logs_what_it_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let results = crashed_store(dir.path(), 5);
    let torn = results[3].physical_offset;
    edit(dir.path(), torn, |b| b[4] ^= 0xFF); // the magic code
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    let store = tracing::subscriber::with_default(subscriber, || open(dir.path()));
    assert_eq!(store.commit_log_max_offset(), torn);
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains(&format!("offset={torn}")), "{text}");
    assert!(text.contains("invalid record"), "{text}");
    assert!(text.contains("dropped_units=2"), "{text}");
    assert!(
        text.contains("store recovered after an abnormal stop"),
        "{text}"
    );
    store.shutdown().unwrap();
}
