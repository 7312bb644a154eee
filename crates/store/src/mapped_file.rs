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
//!
//! # Disk reservation
//!
//! A store through a shared mapping that lands on a hole of a sparse file needs a free block
//! *at that moment*; on a full disk the kernel can only answer with SIGBUS. So no byte is written
//! through the mapping before its block is reserved with `fallocate`, where a full disk is an
//! ordinary `ENOSPC` error. [`Reserve`] says when that happens: all at creation (commit-log
//! segments) or in growing steps just ahead of the writer (consume queues), which keeps a file
//! that is mostly never written (most queues of a 1,024-queue topic) sparse on disk.
//! [`MappedFileWriter::append`] reserves before it writes and writes nothing when that fails.
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
/// Granularity of disk reservations, and the first step of a [`Reserve::Steps`] file.
const PAGE: usize = 4096;

/// When a file's disk blocks are reserved (module docs, "Disk reservation").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reserve {
    /// The whole file when it is created (or extended after a crash cut it short); an existing
    /// full-length file is taken as reserved, as this store created it.
    Whole,
    /// Just ahead of the writer, in steps that double with the bytes already reserved, from a
    /// page up to this many bytes: a file with a few writes costs a page or two on disk, a busy
    /// one calls `fallocate` once per step.
    Steps(usize),
}

impl Reserve {
    /// The next step for a file with `reserved` bytes reserved.
    fn step(self, reserved: usize) -> usize {
        match self {
            Reserve::Whole => usize::MAX,
            Reserve::Steps(max) => reserved.clamp(PAGE, max.max(PAGE)),
        }
    }
}

/// Why [`MappedFileWriter::append`] wrote nothing.
#[derive(Debug)]
pub(crate) enum AppendError {
    /// Fewer bytes than asked for are left in the file.
    NoRoom,
    /// Disk blocks for the bytes could not be reserved (a full disk, usually).
    Reserve(io::Error),
}

impl std::fmt::Display for AppendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppendError::NoRoom => f.write_str("no room left in the file"),
            AppendError::Reserve(e) => write!(f, "cannot reserve disk space: {e}"),
        }
    }
}

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
    reserve: Reserve,
    /// Bytes from the start whose disk blocks are reserved; only the writer raises it.
    reserved: AtomicUsize,
    map: Arc<MmapMut>,
    whole: Bytes,
    base: NonNull<u8>,
    wrote: AtomicUsize,
    flushed: AtomicUsize,
    /// Bytes from the start already dropped from this process's page tables.
    released: AtomicUsize,
    /// Bytes from the start already faulted in ahead of the writer.
    populated: AtomicUsize,
    /// Bytes from the start already dropped from the kernel's page cache.
    uncached: AtomicUsize,
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
            .field("reserved", &self.reserved_bytes())
            .finish()
    }
}

impl MappedFile {
    /// Creates `path` (which must not exist) with `size` bytes, reserved on disk as `reserve`
    /// says, and maps it.
    pub(crate) fn create(
        path: &Path,
        start: i64,
        size: usize,
        reserve: Reserve,
    ) -> io::Result<Arc<Self>> {
        Self::create_with(path, start, size, reserve, false)
    }

    /// [`Self::create`]; with `warm`, also faults in every page of the mapping now
    /// (`MAP_POPULATE`), so the first writes to it take no page faults on the append path.
    /// On failure the half-created file is removed.
    pub(crate) fn create_with(
        path: &Path,
        start: i64,
        size: usize,
        reserve: Reserve,
        warm: bool,
    ) -> io::Result<Arc<Self>> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)?;
        let made = file
            .set_len(size as u64)
            .and_then(|()| match reserve {
                Reserve::Whole => preallocate(&file, 0, size),
                Reserve::Steps(_) => Ok(()),
            })
            .and_then(|()| Self::map(file, path, start, size, reserve, warm));
        if made.is_err() {
            let _ = std::fs::remove_file(path);
        }
        made
    }

    /// Maps the existing file `path`. A file shorter than `size` (cut short by a crash while it
    /// was created) is extended with zeros; a longer one is refused. A [`Reserve::Steps`] file
    /// starts with nothing counted as reserved: the writer reserves again from the start (cheap
    /// for blocks that are already allocated), recovery up to the position it finds.
    pub(crate) fn open(
        path: &Path,
        start: i64,
        size: usize,
        reserve: Reserve,
    ) -> io::Result<Arc<Self>> {
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
            if reserve == Reserve::Whole {
                preallocate(&file, 0, size)?;
            }
        }
        Self::map(file, path, start, size, reserve, false)
    }

    fn map(
        file: File,
        path: &Path,
        start: i64,
        size: usize,
        reserve: Reserve,
        warm: bool,
    ) -> io::Result<Arc<Self>> {
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
        if let Reserve::Steps(_) = reserve {
            // Past its writer a stepped file is holes. The kernel's read-around on a page fault
            // would fill the page cache with their zeros, up to the device's `read_ahead_kb`
            // (8 MiB on some VMs: a whole 6 MB consume-queue file, and ~20 ms of memset, on the
            // first write to every new queue). Random access turns read-around off; a reader
            // then faults in one page (204 units) at a time.
            map.advise(memmap2::Advice::Random)?;
        }
        let base = NonNull::new(map.as_mut_ptr())
            .ok_or_else(|| io::Error::other("mmap returned a null pointer"))?;
        let map = Arc::new(map);
        // The only deref of the whole mapping, while no writer or reader exists yet.
        let whole = Bytes::from_owner(MapOwner(Arc::clone(&map)));
        let reserved = match reserve {
            Reserve::Whole => size,
            Reserve::Steps(_) => 0,
        };
        // The descriptor is closed here: a mapping needs none, and a broker with 10,000 topics
        // maps tens of thousands of consume-queue files. The writer of a stepped file opens the
        // path again for each `fallocate` step (a few dozen times in a file's life).
        drop(file);
        Ok(Arc::new(MappedFile {
            path: path.to_path_buf(),
            start,
            size,
            reserve,
            reserved: AtomicUsize::new(reserved),
            map,
            whole,
            base,
            wrote: AtomicUsize::new(0),
            flushed: AtomicUsize::new(0),
            released: AtomicUsize::new(0),
            populated: AtomicUsize::new(0),
            uncached: AtomicUsize::new(0),
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

    /// Bytes from the start whose disk blocks are reserved (the whole file for
    /// [`Reserve::Whole`]).
    pub(crate) fn reserved_bytes(&self) -> usize {
        self.reserved.load(Ordering::Acquire)
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
        const MIN_STEP: usize = 1 << 20;
        let upto = upto.min(self.flushed_position()).min(self.size) / PAGE * PAGE;
        let from = self.released.load(Ordering::Acquire);
        if upto < from + MIN_STEP {
            return Ok(());
        }
        release_pages(&self.map, from, upto - from)?;
        self.released.fetch_max(upto, Ordering::AcqRel);
        Ok(())
    }

    /// Drops every page of `0..upto` (rounded down to whole pages, and only bytes already on
    /// disk) from this process's page tables, including pages [`Self::release_resident`]
    /// released before and readers faulted back in since (a consumer draining a backlog). The
    /// bytes stay in the file and the page cache; the next access faults them back in. One
    /// `madvise` call, cheap on a range with nothing mapped.
    pub(crate) fn release_read(&self, upto: usize) -> io::Result<()> {
        let upto = upto.min(self.flushed_position()).min(self.size) / PAGE * PAGE;
        if upto == 0 {
            return Ok(());
        }
        release_pages(&self.map, 0, upto)?;
        self.released.fetch_max(upto, Ordering::AcqRel);
        Ok(())
    }

    /// Drops the pages of `0..upto` (rounded down to whole pages, and only bytes already on
    /// disk) from the kernel's page cache: first from this process's page tables (a page still
    /// mapped would be skipped), then from the cache (`posix_fadvise(POSIX_FADV_DONTNEED)`,
    /// which frees clean pages at once). The next read of them goes to disk. Each byte is
    /// dropped once: later calls start where the last one ended, and calls that would drop less
    /// than 4 MiB more (except at the end of the file) are skipped. Returns the bytes dropped.
    ///
    /// Why: pages the kernel has just freed are cheap to hand out again, while memory that sat
    /// free for a while can be dear to take back (a VM whose host reclaimed it, `free page
    /// reporting`, must fault it in again on the host). A log that keeps only its newest part
    /// in the cache writes its new pages into the memory of its old ones.
    pub(crate) fn drop_cached(&self, upto: usize) -> io::Result<usize> {
        const MIN_STEP: usize = 4 << 20;
        let end = self.size / PAGE * PAGE;
        let upto = upto.min(self.flushed_position()).min(end) / PAGE * PAGE;
        let from = self.uncached.load(Ordering::Acquire);
        if upto <= from || (upto - from < MIN_STEP && upto < end) {
            return Ok(0);
        }
        release_pages(&self.map, from, upto - from)?;
        match File::open(&self.path) {
            Ok(file) => drop_from_page_cache(&file, from, upto - from)?,
            // Deleted meanwhile (retention): its pages go with the last handle.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        self.uncached.fetch_max(upto, Ordering::AcqRel);
        Ok(upto - from)
    }

    /// Faults in, writable, the pages from the write position to `window` bytes ahead of it
    /// (`MADV_POPULATE_WRITE`), so appends do not stop to have fresh pages zeroed while they
    /// hold the append lock. Contents do not change. Skipped when it would add less than 1 MiB
    /// (except at the end of the file). Never past the reserved bytes: a write fault on a hole
    /// would allocate blocks outside the reservation.
    pub(crate) fn prefault_ahead(&self, window: usize) -> io::Result<()> {
        const MIN_STEP: usize = 1 << 20;
        let wrote = self.wrote_position();
        let from = self
            .populated
            .load(Ordering::Acquire)
            .max(wrote / PAGE * PAGE);
        let to = wrote
            .saturating_add(window)
            .min(self.size)
            .min(self.reserved_bytes())
            / PAGE
            * PAGE;
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

    /// Reserves disk blocks (module docs) so that at least the first `end` bytes are backed:
    /// from what is reserved up to `end`, or one step further when that is more. Errors with the
    /// `fallocate` error (`ENOSPC` on a full disk); what was reserved before stays reserved.
    pub(crate) fn reserve(&mut self, end: usize) -> io::Result<()> {
        let file = &*self.file;
        let have = file.reserved.load(Ordering::Relaxed);
        if end <= have {
            return Ok(());
        }
        let step = file.reserve.step(have);
        let to = end
            .max(have.saturating_add(step))
            .checked_next_multiple_of(PAGE)
            .unwrap_or(usize::MAX)
            .min(file.size);
        match OpenOptions::new().write(true).open(&file.path) {
            Ok(fd) => preallocate(&fd, have, to - have)?,
            // Unlinked while mapped (its topic was deleted): its bytes live in memory only until
            // the mapping goes, so there are no disk blocks to reserve. Failing instead would stop
            // every write of the store for a queue nobody can read any more.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                file.reserved.store(file.size, Ordering::Release);
                return Ok(());
            }
            Err(e) => return Err(e),
        }
        file.reserved.store(to, Ordering::Release);
        Ok(())
    }

    /// Reserves from the write position one step ahead (after recovery found the position).
    pub(crate) fn reserve_ahead(&mut self) -> io::Result<()> {
        let pos = self.position();
        let step = self.file.reserve.step(pos);
        self.reserve(pos.saturating_add(step))
    }

    /// Lets `fill` write the next `len` bytes, then publishes them. Writes nothing when fewer
    /// than `len` bytes remain ([`AppendError::NoRoom`]) or their disk blocks cannot be
    /// reserved ([`AppendError::Reserve`]).
    pub(crate) fn append<R>(
        &mut self,
        len: usize,
        fill: impl FnOnce(&mut [u8]) -> R,
    ) -> Result<R, AppendError> {
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
    ) -> Result<Result<R, E>, AppendError> {
        let pos = self.position();
        if len > self.file.size - pos {
            return Err(AppendError::NoRoom);
        }
        self.reserve(pos + len).map_err(AppendError::Reserve)?;
        // SAFETY: `pos..pos + len` is inside the mapping and at or above `wrote`, where only this
        // writer (unique, borrowed mutably) accesses memory; readers never see it before the
        // `Release` store below. Its disk blocks are reserved (just above), so the stores
        // cannot fault on a full disk.
        let dst = unsafe { std::slice::from_raw_parts_mut(self.file.base.as_ptr().add(pos), len) };
        let out = fill(dst);
        if out.is_ok() {
            self.file.wrote.store(pos + len, Ordering::Release);
        }
        Ok(out)
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
    /// records. Returns how many bytes were cleared. Only blocks that hold data are written,
    /// and those already have their disk blocks (a hole reads as zeros), reserved or not.
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

/// Drops the pages of `len` bytes at `offset` of `map` from this process's page tables
/// (`MADV_DONTNEED`), so they stop counting towards its RSS; the range is clamped to the
/// mapping.
///
/// Why this cannot change a byte anyone sees: every mapping of the store is a *shared* file
/// mapping (`MmapOptions::map_mut` is `MAP_SHARED`, read-write; nothing maps a store file
/// `MAP_PRIVATE`). For those the kernel only removes the page-table entries: the pages stay in
/// the page cache, a dirty entry marks its page dirty on the way out (so even bytes written and
/// not yet synced are kept and written back), and the next access from user space or from the
/// kernel (`copy_from_user` while a socket write sends a zero-copy slice) faults the same page
/// back in from the page cache, or reads it from the file. On a private mapping the same call
/// would throw away copied-on-write pages, which is why this stays the only way the store calls
/// it. The addresses stay mapped, so slices handed out keep pointing at valid memory.
pub(crate) fn release_pages(map: &MmapMut, offset: usize, len: usize) -> io::Result<()> {
    let end = offset.saturating_add(len).min(map.len());
    if offset >= end {
        return Ok(());
    }
    // SAFETY: the range lies inside the mapping, which is a shared file mapping: see above.
    unsafe { map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, offset, end - offset) }
}

/// Asks the kernel to drop the clean, unmapped page-cache pages of `len` bytes at `offset` of
/// `file` (`posix_fadvise(POSIX_FADV_DONTNEED)`). Dirty pages are left (the kernel starts
/// writing them back); data is never lost, only the cached copy.
pub(crate) fn drop_from_page_cache(file: &File, offset: usize, len: usize) -> io::Result<()> {
    let too_large = || io::Error::new(io::ErrorKind::InvalidInput, "file too large");
    let off = libc::off_t::try_from(offset).map_err(|_| too_large())?;
    let len = libc::off_t::try_from(len).map_err(|_| too_large())?;
    // SAFETY: plain system call on a valid open descriptor; no memory is passed.
    let rc = unsafe { libc::posix_fadvise(file.as_raw_fd(), off, len, libc::POSIX_FADV_DONTNEED) };
    if rc == 0 {
        Ok(())
    } else {
        // posix_fadvise returns the error number instead of setting errno.
        Err(io::Error::from_raw_os_error(rc))
    }
}

/// The size of a memory page (4096 when the system does not say).
pub(crate) fn page_size() -> usize {
    // SAFETY: plain libc call with no arguments in memory.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size)
        .ok()
        .filter(|&s| s > 0)
        .unwrap_or(PAGE)
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
        let f = MappedFile::create(
            &dir.path().join("00000000000000000000"),
            0,
            size,
            Reserve::Whole,
        )
        .unwrap();
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
        let f = MappedFile::create(
            &dir.path().join("00000000000000000000"),
            0,
            size,
            Reserve::Whole,
        )
        .unwrap();
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

    /// Resident bytes of the mapping that starts at `base` (its `Rss:` in `/proc/self/smaps`).
    fn mapping_rss(base: usize) -> u64 {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let head = format!("{base:x}-");
        let mut lines = smaps.lines().skip_while(|l| !l.starts_with(&head)).skip(1);
        lines
            .find_map(|l| l.strip_prefix("Rss:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kib| kib * 1024)
            .expect("mapping in smaps")
    }

    #[test]
    fn pages_read_after_a_release_are_released_again_while_a_socket_send_is_in_flight() {
        use std::io::{Read, Write};
        let dir = tempfile::tempdir().unwrap();
        let size = 8 << 20;
        let f = MappedFile::create(
            &dir.path().join("00000000000000000000"),
            0,
            size,
            Reserve::Whole,
        )
        .unwrap();
        let mut w = f.take_writer().unwrap();
        let data: Vec<u8> = (0..size).map(|i| (i * 31 % 253) as u8).collect();
        w.append(size, |dst| dst.copy_from_slice(&data)).unwrap();
        f.flush().unwrap();
        let base = f.address_range().start;
        // The writer's release: once, from where it stopped.
        f.release_resident(size).unwrap();
        assert!(mapping_rss(base) < 1 << 20, "released after the flush");
        // A consumer reads it all back in; the writer's release does nothing more.
        assert_eq!(f.read(0, size).unwrap(), &data[..]);
        assert!(
            mapping_rss(base) >= (size as u64) * 3 / 4,
            "faulted back in"
        );
        f.release_resident(size).unwrap();
        assert!(mapping_rss(base) >= (size as u64) * 3 / 4);
        // `release_read` drops pages whoever faulted them in, only up to what was flushed.
        f.release_read(size).unwrap();
        assert!(mapping_rss(base) < 1 << 20, "released again");

        // A zero-copy slice being written to a socket while its pages are dropped, over and
        // over: the kernel faults them back in from the page cache as it copies.
        let held = f.bytes(0, size).unwrap();
        let (mut tx, mut rx) = std::os::unix::net::UnixStream::pair().unwrap();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::with_capacity(size);
            rx.read_to_end(&mut got).unwrap();
            got
        });
        let stop = Arc::new(AtomicBool::new(false));
        let releaser = {
            let (f, stop) = (Arc::clone(&f), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut passes = 0u32;
                while !stop.load(Ordering::Acquire) || passes == 0 {
                    f.release_read(size).unwrap();
                    passes += 1;
                    std::thread::yield_now();
                }
                passes
            })
        };
        for chunk in held.chunks(64 * 1024) {
            tx.write_all(chunk).unwrap();
        }
        drop(tx);
        stop.store(true, Ordering::Release);
        let passes = releaser.join().unwrap();
        assert!(passes > 0);
        assert!(
            reader.join().unwrap() == data,
            "the socket received the stored bytes"
        );
        assert_eq!(&held[..], &data[..]);
        assert_eq!(f.read(0, size).unwrap(), &data[..]);
    }

    #[test]
    fn drop_cached_takes_only_flushed_bytes_each_once_in_steps() {
        let dir = tempfile::tempdir().unwrap();
        let size = 16 << 20;
        let f = MappedFile::create(&dir.path().join("seg"), 0, size, Reserve::Whole).unwrap();
        let mut w = f.take_writer().unwrap();
        w.append(8 << 20, |dst| dst.fill(3)).unwrap();
        assert_eq!(
            f.drop_cached(size).unwrap(),
            0,
            "nothing flushed, nothing dropped"
        );
        f.flush().unwrap();
        w.append(8 << 20, |dst| dst.fill(4)).unwrap();
        assert_eq!(
            f.drop_cached(size).unwrap(),
            8 << 20,
            "the flushed half only"
        );
        assert_eq!(f.drop_cached(size).unwrap(), 0, "each byte once");
        f.flush().unwrap();
        assert_eq!(
            f.drop_cached((8 << 20) + (1 << 20)).unwrap(),
            0,
            "under a 4 MiB step"
        );
        assert_eq!(
            f.drop_cached(size).unwrap(),
            8 << 20,
            "the file's end needs no full step"
        );
        let all = f.read(0, size).unwrap();
        assert!(all[..8 << 20].iter().all(|&b| b == 3));
        assert!(all[8 << 20..].iter().all(|&b| b == 4));
    }

    #[test]
    fn release_read_keeps_unflushed_bytes_mapped() {
        let dir = tempfile::tempdir().unwrap();
        let size = 4 << 20;
        let f = MappedFile::create(&dir.path().join("seg"), 0, size, Reserve::Whole).unwrap();
        let mut w = f.take_writer().unwrap();
        w.append(size, |dst| dst.fill(5)).unwrap();
        let base = f.address_range().start;
        f.release_read(size).unwrap();
        assert!(
            mapping_rss(base) >= size as u64 - 4096,
            "nothing flushed, nothing dropped"
        );
        f.flush().unwrap();
        f.release_read(size).unwrap();
        assert_eq!(mapping_rss(base), 0);
        assert!(f.read(0, size).unwrap().iter().all(|&b| b == 5));
    }

    #[test]
    fn append_read_and_zero_copy_slices() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000000000001000");
        let f = MappedFile::create(&path, 1000, 8192, Reserve::Whole).unwrap();
        let mut w = f.take_writer().unwrap();
        assert!(f.take_writer().is_none(), "one writer at a time");
        assert!(f.read(0, 1).is_none());
        w.append(5, |b| b.copy_from_slice(b"hello")).unwrap();
        assert_eq!(f.read(0, 5).unwrap(), b"hello");
        assert!(f.read(0, 6).is_none());
        let b = f.bytes(1, 3).unwrap();
        assert_eq!(&b[..], b"ell");
        assert!(f.address_range().contains(&(b.as_ptr() as usize)));
        assert!(matches!(w.append(9000, |_| ()), Err(AppendError::NoRoom)));
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
            let f = MappedFile::create(&path, 0, 3 * ZERO_BLOCK, Reserve::Whole).unwrap();
            let mut w = f.take_writer().unwrap();
            w.append(5000, |b| b.fill(7)).unwrap();
            f.flush().unwrap();
        }
        let f = MappedFile::open(&path, 0, 3 * ZERO_BLOCK, Reserve::Whole).unwrap();
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
        let f = MappedFile::open(&path, 0, 4096, Reserve::Whole).unwrap();
        assert_eq!(f.take_writer().unwrap().peek(9, 2).unwrap(), &[1, 0]);
        assert!(MappedFile::open(&path, 0, 100, Reserve::Whole).is_err());
    }

    /// Bytes the file takes on disk (allocated blocks, as `du` counts them).
    fn on_disk(path: &Path) -> u64 {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).unwrap().blocks() * 512
    }

    #[test]
    fn stepped_reservation_grows_as_written_and_the_rest_stays_sparse() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cq");
        let size = 6_000_000;
        let max_step = 64 * 1024;
        let f = MappedFile::create(&path, 0, size, Reserve::Steps(max_step)).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), size as u64);
        assert_eq!(f.reserved_bytes(), 0);
        assert_eq!(on_disk(&path), 0, "nothing reserved before the first write");
        let mut w = f.take_writer().unwrap();
        w.append(20, |d| d.fill(1)).unwrap();
        assert_eq!(
            f.reserved_bytes(),
            PAGE,
            "the first write reserves one page"
        );
        // Steps double with what is reserved (4, 8, 16, 32, 64 KiB), then stay at the maximum.
        let mut seen = vec![f.reserved_bytes()];
        while w.position() < 300 * 1024 {
            w.append(20, |d| d.fill(2)).unwrap();
            assert!(
                f.reserved_bytes() >= w.position(),
                "written bytes are reserved"
            );
            if seen.last() != Some(&f.reserved_bytes()) {
                seen.push(f.reserved_bytes());
            }
        }
        let kib: Vec<usize> = seen.iter().map(|b| b / 1024).collect();
        assert_eq!(kib, [4, 8, 16, 32, 64, 128, 192, 256, 320]);
        f.flush().unwrap();
        let disk = on_disk(&path);
        assert!(
            (320 * 1024..=400 * 1024).contains(&disk),
            "{disk} bytes on disk for 320 KiB reserved"
        );
        // The last step stops at the end of the file.
        w.reserve(size - 1).unwrap();
        assert_eq!(f.reserved_bytes(), size);
        assert!(f.read(0, 20).unwrap().iter().all(|&b| b == 1));
    }

    fn open_descriptors() -> usize {
        std::fs::read_dir("/proc/self/fd").unwrap().count()
    }

    #[test]
    fn mapped_files_hold_no_descriptor() {
        // One descriptor per mapped file ran a 10,000-topic broker out of descriptors.
        let dir = tempfile::tempdir().unwrap();
        let before = open_descriptors();
        let files: Vec<_> = (0..512)
            .map(|i| {
                let path = dir.path().join(format!("{i:020}"));
                let f = MappedFile::create(&path, 0, 64 * 1024, Reserve::Steps(8192)).unwrap();
                f.take_writer().unwrap().append(20, |d| d.fill(7)).unwrap();
                f
            })
            .collect();
        let after = open_descriptors();
        // Other tests of this process may open a few meanwhile; 512 mapped files may not.
        assert!(
            after < before + 64,
            "{before} descriptors before mapping 512 files, {after} after"
        );
        assert!(files.iter().all(|f| f.read(0, 20).unwrap() == [7; 20]));
    }

    #[test]
    fn a_writer_keeps_writing_to_an_unlinked_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cq");
        let f = MappedFile::create(&path, 0, 1 << 20, Reserve::Steps(4096)).unwrap();
        let mut w = f.take_writer().unwrap();
        w.append(20, |d| d.fill(1)).unwrap();
        std::fs::remove_file(&path).unwrap();
        // Past the reserved page: the next step finds no file to reserve in and is not an error.
        for _ in 0..400 {
            w.append(20, |d| d.fill(2)).unwrap();
        }
        assert_eq!(w.position(), 401 * 20);
        assert_eq!(f.read(20 * 400, 20).unwrap(), [2; 20]);
    }

    #[test]
    fn reopened_files_reserve_from_the_recovered_position() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cq");
        let steps = Reserve::Steps(1 << 20);
        {
            let f = MappedFile::create(&path, 0, 1 << 20, steps).unwrap();
            let mut w = f.take_writer().unwrap();
            w.append(10_000, |d| d.fill(3)).unwrap();
            f.flush().unwrap();
        }
        let f = MappedFile::open(&path, 0, 1 << 20, steps).unwrap();
        assert_eq!(f.reserved_bytes(), 0);
        let mut w = f.take_writer().unwrap();
        w.advance_to(10_000, true);
        w.reserve_ahead().unwrap();
        // The recovered position plus one step of that size, in whole pages.
        assert_eq!(f.reserved_bytes(), 20_480);
        w.append(10, |d| d.fill(4)).unwrap();
        assert_eq!(f.reserved_bytes(), 20_480);
        // Whole files are reserved from the start and never call fallocate again.
        let seg = dir.path().join("seg");
        let g = MappedFile::create(&seg, 0, 64 * 1024, Reserve::Whole).unwrap();
        assert_eq!(g.reserved_bytes(), 64 * 1024);
        assert!(on_disk(&seg) >= 64 * 1024);
    }

    #[test]
    fn a_failed_reservation_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cq");
        let f = MappedFile::create(&path, 0, 1 << 20, Reserve::Steps(1 << 20)).unwrap();
        // The writer opens the path for each step; a directory there cannot be opened for
        // writing (EISDIR), which fails the reservation as a full disk would.
        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        let mut w = f.take_writer().unwrap();
        match w.append(20, |d| d.fill(9)) {
            Err(AppendError::Reserve(e)) => assert_eq!(e.raw_os_error(), Some(libc::EISDIR)),
            other => panic!("expected a reservation error, got {other:?}"),
        }
        assert_eq!((w.position(), f.reserved_bytes()), (0, 0));
        assert!(
            w.peek(0, 20).unwrap().iter().all(|&b| b == 0),
            "nothing written"
        );
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
