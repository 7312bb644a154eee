//! One memory-mapped segment file: the only module of the store with `unsafe` code.
//!
//! # Safety argument
//!
//! A [`MappedFile`] maps its whole file read-write once and never remaps or truncates it. Bytes
//! are split at the published write position `wrote`:
//!
//! * below `wrote` the bytes are **immutable**: readers get `&[u8]` ([`MappedFile::read`]) or
//!   zero-copy [`Bytes`] ([`MappedFile::bytes`]) only for ranges below `wrote` (loaded with
//!   `Acquire`), and nothing ever writes there again, because `wrote` never decreases;
//! * at and above `wrote` only the single [`MappedFileWriter`] touches the bytes. At most one
//!   writer exists per file at a time (`writer_taken`), and it needs `&mut self` to write, so its
//!   own reads ([`MappedFileWriter::peek`]) cannot overlap its writes. After writing it publishes
//!   the new `wrote` with `Release`, which orders the bytes before any reader's `Acquire` load.
//!
//! The [`Bytes`] handed out share one owner (an `Arc` of the mapping) created while the file is
//! not yet shared; slicing it touches no bytes. The mapping therefore outlives every handle, even
//! after the file is unlinked (deleting a mapped file is fine on Unix).
//!
//! What Rust cannot check: another process writing or truncating the file. The store takes an
//! exclusive `flock` on its `lock` file ([`try_lock_exclusive`]) so a second FerroMQ cannot open
//! the same directory; other tools must leave the files alone while the broker runs.
#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use memmap2::{MmapMut, MmapOptions};

/// Block size used when clearing stale bytes after a torn tail.
const ZERO_BLOCK: usize = 4096;

/// Owner of the mapping inside the shared [`Bytes`]: deref'd exactly once, at creation.
struct MapOwner(Arc<MmapMut>);

impl AsRef<[u8]> for MapOwner {
    fn as_ref(&self) -> &[u8] {
        &self.0[..]
    }
}

/// A fixed-size file mapped into memory, named by the log offset of its first byte.
pub(crate) struct MappedFile {
    path: PathBuf,
    start: i64,
    size: usize,
    map: Arc<MmapMut>,
    whole: Bytes,
    base: NonNull<u8>,
    wrote: AtomicUsize,
    flushed: AtomicUsize,
    /// Bytes from the start already dropped from this process's page tables.
    released: AtomicUsize,
    /// Bytes from the start already faulted in ahead of the writer.
    populated: AtomicUsize,
    writer_taken: AtomicBool,
}

// SAFETY: `base` points into `map`, which lives as long as `self`; all access through it follows
// the split described in the module docs (immutable below `wrote`, single writer above), and
// the positions are atomics, so sharing between threads is sound.
unsafe impl Send for MappedFile {}
// SAFETY: see `Send` above.
unsafe impl Sync for MappedFile {}

impl std::fmt::Debug for MappedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedFile")
            .field("path", &self.path)
            .field("start", &self.start)
            .field("size", &self.size)
            .field("wrote", &self.wrote_position())
            .finish()
    }
}

impl MappedFile {
    /// Creates `path` (which must not exist) with `size` bytes reserved on disk and maps it.
    pub(crate) fn create(path: &Path, start: i64, size: usize) -> io::Result<Arc<Self>> {
        Self::create_with(path, start, size, false)
    }

    /// [`Self::create`]; with `warm`, also faults in every page of the mapping now
    /// (`MAP_POPULATE`), so the first writes to it take no page faults on the append path.
    /// On failure the half-created file is removed.
    pub(crate) fn create_with(
        path: &Path,
        start: i64,
        size: usize,
        warm: bool,
    ) -> io::Result<Arc<Self>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)?;
        let made = file
            .set_len(size as u64)
            .and_then(|()| preallocate(&file, 0, size))
            .and_then(|()| Self::map(file, path, start, size, warm));
        if made.is_err() {
            let _ = std::fs::remove_file(path);
        }
        made
    }

    /// Maps the existing file `path`. A file shorter than `size` (cut short by a crash while it
    /// was created) is extended with zeros; a longer one is refused.
    pub(crate) fn open(path: &Path, start: i64, size: usize) -> io::Result<Arc<Self>> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let len = file.metadata()?.len();
        if len > size as u64 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} has {len} bytes, expected {size}", path.display()),
            ));
        }
        if len < size as u64 {
            file.set_len(size as u64)?;
            preallocate(&file, 0, size)?;
        }
        Self::map(file, path, start, size, false)
    }

    fn map(file: File, path: &Path, start: i64, size: usize, warm: bool) -> io::Result<Arc<Self>> {
        if size == 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty segment"));
        }
        let mut options = MmapOptions::new();
        options.len(size);
        if warm {
            options.populate();
        }
        // SAFETY: the file is opened read-write by us and never truncated while mapped; other
        // processes are kept out by the store's lock file (module docs).
        let mut map = unsafe { options.map_mut(&file)? };
        let base = NonNull::new(map.as_mut_ptr())
            .ok_or_else(|| io::Error::other("mmap returned a null pointer"))?;
        let map = Arc::new(map);
        // The only deref of the whole mapping, while no writer or reader exists yet.
        let whole = Bytes::from_owner(MapOwner(Arc::clone(&map)));
        Ok(Arc::new(MappedFile {
            path: path.to_path_buf(),
            start,
            size,
            map,
            whole,
            base,
            wrote: AtomicUsize::new(0),
            flushed: AtomicUsize::new(0),
            released: AtomicUsize::new(0),
            populated: AtomicUsize::new(0),
            writer_taken: AtomicBool::new(false),
        }))
    }

    /// Log offset of the first byte.
    pub(crate) fn start(&self) -> i64 {
        self.start
    }

    /// Log offset just past the last byte.
    pub(crate) fn end(&self) -> i64 {
        self.start + self.size as i64
    }

    /// File size in bytes.
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// Path of the file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes written and visible to readers.
    pub(crate) fn wrote_position(&self) -> usize {
        self.wrote.load(Ordering::Acquire)
    }

    /// Bytes known to be on disk.
    pub(crate) fn flushed_position(&self) -> usize {
        self.flushed.load(Ordering::Acquire)
    }

    /// True when every byte is written.
    pub(crate) fn is_full(&self) -> bool {
        self.wrote_position() >= self.size
    }

    /// Written bytes not yet flushed.
    pub(crate) fn dirty_bytes(&self) -> usize {
        self.wrote_position()
            .saturating_sub(self.flushed_position())
    }

    /// Borrows `len` written bytes at `pos`; `None` when the range is not fully written.
    pub(crate) fn read(&self, pos: usize, len: usize) -> Option<&[u8]> {
        let end = pos.checked_add(len)?;
        if end > self.wrote_position() {
            return None;
        }
        // SAFETY: `pos..end` is below `wrote`, inside the mapping, and immutable from now on.
        Some(unsafe { std::slice::from_raw_parts(self.base.as_ptr().add(pos), len) })
    }

    /// A zero-copy handle on `len` written bytes at `pos` that keeps the mapping alive;
    /// `None` when the range is not fully written.
    pub(crate) fn bytes(&self, pos: usize, len: usize) -> Option<Bytes> {
        let end = pos.checked_add(len)?;
        if end > self.wrote_position() {
            return None;
        }
        Some(self.whole.slice(pos..end))
    }

    /// Address range of the mapping, for zero-copy checks in tests.
    #[cfg(test)]
    pub(crate) fn address_range(&self) -> std::ops::Range<usize> {
        let base = self.base.as_ptr() as usize;
        base..base + self.size
    }

    /// Writes dirty pages to disk (`msync`); returns the position now durable.
    pub(crate) fn flush(&self) -> io::Result<usize> {
        let wrote = self.wrote_position();
        let flushed = self.flushed_position();
        if wrote > flushed {
            self.map.flush_range(flushed, wrote - flushed)?;
            self.flushed.fetch_max(wrote, Ordering::AcqRel);
        }
        Ok(wrote.max(flushed))
    }

    /// Drops the pages of `0..upto` (rounded down to whole pages, and only bytes already on
    /// disk) from this process's page tables with `MADV_DONTNEED`, so written log data stops
    /// counting towards the broker's RSS. The data stays in the page cache: the file mapping is
    /// shared, so a later read (a pull, a slice still held by a socket writer) faults the same
    /// bytes back in. Calls that would release less than 1 MiB more are skipped.
    pub(crate) fn release_resident(&self, upto: usize) -> io::Result<()> {
        const PAGE: usize = 4096;
        const MIN_STEP: usize = 1 << 20;
        let upto = upto.min(self.flushed_position()).min(self.size) / PAGE * PAGE;
        let from = self.released.load(Ordering::Acquire);
        if upto < from + MIN_STEP {
            return Ok(());
        }
        // SAFETY: the range lies inside the mapping. For a shared file mapping MADV_DONTNEED
        // only unmaps pages; their contents (flushed, below `flushed`) remain in the file and
        // page cache and are faulted back in on access, so no reader or writer observes a
        // change. Only bytes below `flushed` are released, and the writer never goes back there.
        unsafe {
            self.map.unchecked_advise_range(
                memmap2::UncheckedAdvice::DontNeed,
                from,
                upto - from,
            )?;
        }
        self.released.fetch_max(upto, Ordering::AcqRel);
        Ok(())
    }

    /// Faults in, writable, the pages from the write position to `window` bytes ahead of it
    /// (`MADV_POPULATE_WRITE`), so appends do not stop to have fresh pages zeroed while they
    /// hold the append lock. Contents do not change. Skipped when it would add less than 1 MiB
    /// (except at the end of the file).
    pub(crate) fn prefault_ahead(&self, window: usize) -> io::Result<()> {
        const PAGE: usize = 4096;
        const MIN_STEP: usize = 1 << 20;
        let wrote = self.wrote_position();
        let from = self
            .populated
            .load(Ordering::Acquire)
            .max(wrote / PAGE * PAGE);
        let to = wrote.saturating_add(window).min(self.size) / PAGE * PAGE;
        if to <= from || (to - from < MIN_STEP && to < self.size / PAGE * PAGE) {
            return Ok(());
        }
        self.map
            .advise_range(memmap2::Advice::PopulateWrite, from, to - from)?;
        self.populated.fetch_max(to, Ordering::AcqRel);
        Ok(())
    }

    /// The unique writer of this file, or `None` while another one exists.
    pub(crate) fn take_writer(self: &Arc<Self>) -> Option<MappedFileWriter> {
        if self.writer_taken.swap(true, Ordering::AcqRel) {
            return None;
        }
        Some(MappedFileWriter {
            file: Arc::clone(self),
        })
    }

    /// Unlinks the file; existing handles keep the mapping readable.
    pub(crate) fn delete(&self) -> io::Result<()> {
        std::fs::remove_file(&self.path)
    }
}

/// The single writer of a [`MappedFile`]: appends at the write position and publishes it.
#[derive(Debug)]
pub(crate) struct MappedFileWriter {
    file: Arc<MappedFile>,
}

impl MappedFileWriter {
    /// The file written.
    pub(crate) fn file(&self) -> &Arc<MappedFile> {
        &self.file
    }

    /// Current write position.
    pub(crate) fn position(&self) -> usize {
        self.file.wrote.load(Ordering::Relaxed)
    }

    /// Bytes left in the file.
    pub(crate) fn remaining(&self) -> usize {
        self.file.size - self.position()
    }

    /// Lets `fill` write the next `len` bytes, then publishes them; `None` (and nothing
    /// written) when fewer than `len` bytes remain.
    pub(crate) fn append<R>(&mut self, len: usize, fill: impl FnOnce(&mut [u8]) -> R) -> Option<R> {
        self.try_append(len, |dst| Ok::<R, std::convert::Infallible>(fill(dst)))
            .map(|r| match r {
                Ok(v) => v,
                Err(never) => match never {},
            })
    }

    /// Like [`Self::append`], but publishes the bytes only when `fill` returns `Ok`; on `Err`
    /// the position stays (the bytes written are overwritten by the next append).
    pub(crate) fn try_append<R, E>(
        &mut self,
        len: usize,
        fill: impl FnOnce(&mut [u8]) -> Result<R, E>,
    ) -> Option<Result<R, E>> {
        let pos = self.position();
        if len > self.file.size - pos {
            return None;
        }
        // SAFETY: `pos..pos + len` is inside the mapping and at or above `wrote`, where only this
        // writer (unique, borrowed mutably) accesses memory; readers never see it before the
        // `Release` store below.
        let dst = unsafe { std::slice::from_raw_parts_mut(self.file.base.as_ptr().add(pos), len) };
        let out = fill(dst);
        if out.is_ok() {
            self.file.wrote.store(pos + len, Ordering::Release);
        }
        Some(out)
    }

    /// Reads any range of the file, written or not (recovery scans); `None` past the end.
    pub(crate) fn peek(&self, pos: usize, len: usize) -> Option<&[u8]> {
        let end = pos.checked_add(len)?;
        if end > self.file.size {
            return None;
        }
        // SAFETY: in bounds; below `wrote` bytes are immutable, above it only this writer writes
        // and it cannot while this shared borrow of it lives.
        Some(unsafe { std::slice::from_raw_parts(self.file.base.as_ptr().add(pos), len) })
    }

    /// Declares the bytes up to `pos` written (recovery found them valid); `durable` also marks
    /// them flushed. The position never moves backwards; `pos` is clamped to the file size.
    pub(crate) fn advance_to(&mut self, pos: usize, durable: bool) {
        let pos = pos.min(self.file.size).max(self.position());
        self.file.wrote.store(pos, Ordering::Release);
        if durable {
            self.file.flushed.fetch_max(pos, Ordering::AcqRel);
        }
    }

    /// Clears stale bytes after the write position (the rest of a torn record and anything
    /// after it) up to the first all-zero 4 KiB block, so a later scan cannot mistake them for
    /// records. Returns how many bytes were cleared.
    pub(crate) fn zero_stale_tail(&mut self) -> usize {
        let mut pos = self.position();
        let mut cleared = 0;
        while pos < self.file.size {
            let block_end = ((pos / ZERO_BLOCK) + 1) * ZERO_BLOCK;
            let end = block_end.min(self.file.size);
            let stale = self
                .peek(pos, end - pos)
                .is_some_and(|b| b.iter().any(|&x| x != 0));
            if !stale {
                break;
            }
            // SAFETY: `pos..end` is inside the mapping and at or above `wrote`: only this writer
            // (borrowed mutably) accesses it.
            unsafe { std::ptr::write_bytes(self.file.base.as_ptr().add(pos), 0, end - pos) };
            cleared += end - pos;
            pos = end;
        }
        cleared
    }
}

impl Drop for MappedFileWriter {
    fn drop(&mut self) {
        self.file.writer_taken.store(false, Ordering::Release);
    }
}

/// Maps all `len` bytes of `file` read-write, for files written in place rather than appended
/// (index files). The caller guards the returned map with a lock: all access then goes through
/// safe slices of it.
pub(crate) fn map_whole(file: &File, len: usize) -> io::Result<MmapMut> {
    // SAFETY: as in `MappedFile::map`: the file is ours (store lock), opened read-write and
    // never truncated while mapped.
    unsafe { MmapOptions::new().len(len).map_mut(file) }
}

/// Reserves disk blocks for `len` bytes at `offset`, so writing through a mapping cannot hit a
/// full disk (which would be a SIGBUS, not an error). File systems without `fallocate` are
/// accepted.
pub(crate) fn preallocate(file: &File, offset: usize, len: usize) -> io::Result<()> {
    if len == 0 {
        return Ok(());
    }
    let too_large = || io::Error::new(io::ErrorKind::InvalidInput, "file too large");
    let off = libc::off_t::try_from(offset).map_err(|_| too_large())?;
    let len = libc::off_t::try_from(len).map_err(|_| too_large())?;
    // SAFETY: plain system call on a valid open descriptor; no memory is passed.
    let rc = unsafe { libc::fallocate(file.as_raw_fd(), 0, off, len) };
    if rc == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EOPNOTSUPP) | Some(libc::ENOSYS) => Ok(()),
        _ => Err(err),
    }
}

/// The hour of day (0-23) of `ms` (epoch milliseconds) in the local time zone, as Java's
/// `Calendar` gives it for `deleteWhen`; UTC when the zone cannot be read.
pub(crate) fn local_hour(ms: i64) -> u32 {
    let secs = ms.div_euclid(1000) as libc::time_t;
    // SAFETY: `tm` is plain data that `localtime_r` fills in; both pointers are valid for the
    // call and `localtime_r` (unlike `localtime`) keeps no shared state.
    let hour = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&secs, &mut tm).is_null() {
            None
        } else {
            Some(tm.tm_hour)
        }
    };
    match hour {
        Some(h) if (0..24).contains(&h) => h as u32,
        _ => (ms.div_euclid(3_600_000).rem_euclid(24)) as u32,
    }
}

/// Takes an exclusive, non-blocking `flock` on `file`; fails with `WouldBlock` when another
/// open file description holds it. The lock lasts until the file is closed.
pub(crate) fn try_lock_exclusive(file: &File) -> io::Result<()> {
    // SAFETY: plain system call on a valid open descriptor; no memory is passed.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefaulting_ahead_changes_no_bytes_and_advances() {
        let dir = tempfile::tempdir().unwrap();
        let size = 4 << 20;
        let f = MappedFile::create(&dir.path().join("00000000000000000000"), 0, size).unwrap();
        let mut w = f.take_writer().unwrap();
        w.append(5000, |dst| dst.fill(7)).unwrap();
        f.prefault_ahead(2 << 20).unwrap();
        assert_eq!(
            f.populated.load(Ordering::Acquire),
            (5000 + (2 << 20)) / 4096 * 4096
        );
        // Less than 1 MiB more is not worth a call.
        f.prefault_ahead((2 << 20) + 8192).unwrap();
        assert_eq!(
            f.populated.load(Ordering::Acquire),
            (5000 + (2 << 20)) / 4096 * 4096
        );
        // Up to the end of the file.
        f.prefault_ahead(size).unwrap();
        assert_eq!(f.populated.load(Ordering::Acquire), size);
        assert!(f.read(0, 5000).unwrap().iter().all(|&b| b == 7));
        w.append(100, |dst| dst.fill(9)).unwrap();
        assert!(f.read(5000, 100).unwrap().iter().all(|&b| b == 9));
    }

    #[test]
    fn released_pages_read_back_the_same_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let size = 4 << 20;
        let f = MappedFile::create(&dir.path().join("00000000000000000000"), 0, size).unwrap();
        let mut w = f.take_writer().unwrap();
        let data: Vec<u8> = (0..3 << 20).map(|i: usize| (i * 7 % 251) as u8).collect();
        w.append(data.len(), |dst| dst.copy_from_slice(&data))
            .unwrap();
        let held = f.bytes(0, data.len()).unwrap();
        // Nothing is released before it is flushed.
        f.release_resident(data.len()).unwrap();
        assert_eq!(f.released.load(Ordering::Acquire), 0);
        f.flush().unwrap();
        f.release_resident(data.len()).unwrap();
        assert_eq!(f.released.load(Ordering::Acquire), data.len());
        assert_eq!(
            &held[..],
            &data[..],
            "a slice held across the release still reads the data"
        );
        assert_eq!(f.read(0, data.len()).unwrap(), &data[..]);
    }

    #[test]
    fn append_read_and_zero_copy_slices() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000000000001000");
        let f = MappedFile::create(&path, 1000, 8192).unwrap();
        let mut w = f.take_writer().unwrap();
        assert!(f.take_writer().is_none(), "one writer at a time");
        assert!(f.read(0, 1).is_none());
        w.append(5, |b| b.copy_from_slice(b"hello")).unwrap();
        assert_eq!(f.read(0, 5).unwrap(), b"hello");
        assert!(f.read(0, 6).is_none());
        let b = f.bytes(1, 3).unwrap();
        assert_eq!(&b[..], b"ell");
        assert!(f.address_range().contains(&(b.as_ptr() as usize)));
        assert!(w.append(9000, |_| ()).is_none());
        assert_eq!(w.remaining(), 8187);
        assert_eq!(f.dirty_bytes(), 5);
        assert_eq!(f.flush().unwrap(), 5);
        assert_eq!(f.dirty_bytes(), 0);
        drop(w);
        assert!(f.take_writer().is_some());
        // A slice outlives the file handle and the unlinked file.
        f.delete().unwrap();
        drop(f);
        assert_eq!(&b[..], b"ell");
    }

    #[test]
    fn reopen_sees_data_and_recovery_can_advance_and_clear() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seg");
        {
            let f = MappedFile::create(&path, 0, 3 * ZERO_BLOCK).unwrap();
            let mut w = f.take_writer().unwrap();
            w.append(5000, |b| b.fill(7)).unwrap();
            f.flush().unwrap();
        }
        let f = MappedFile::open(&path, 0, 3 * ZERO_BLOCK).unwrap();
        assert_eq!(f.wrote_position(), 0);
        let mut w = f.take_writer().unwrap();
        assert_eq!(w.peek(4999, 2).unwrap(), &[7, 0]);
        w.advance_to(100, true);
        assert_eq!(f.flushed_position(), 100);
        w.advance_to(50, false); // never backwards
        assert_eq!(f.wrote_position(), 100);
        assert_eq!(w.zero_stale_tail(), 2 * ZERO_BLOCK - 100);
        assert!(w
            .peek(100, 3 * ZERO_BLOCK - 100)
            .unwrap()
            .iter()
            .all(|&x| x == 0));
        assert_eq!(f.read(0, 100).unwrap(), &[7; 100][..]);
    }

    #[test]
    fn short_files_are_extended_and_long_ones_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seg");
        std::fs::write(&path, [1u8; 10]).unwrap();
        let f = MappedFile::open(&path, 0, 4096).unwrap();
        assert_eq!(f.take_writer().unwrap().peek(9, 2).unwrap(), &[1, 0]);
        assert!(MappedFile::open(&path, 0, 100).is_err());
    }

    #[test]
    fn lock_is_exclusive_between_descriptions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let a = File::create(&path).unwrap();
        try_lock_exclusive(&a).unwrap();
        let b = File::open(&path).unwrap();
        assert!(try_lock_exclusive(&b).is_err());
        drop(a);
        try_lock_exclusive(&b).unwrap();
    }
}
