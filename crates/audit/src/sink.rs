//! The audit log sink: one JSON line per event, to a file or stdout.
//!
//! Callers never wait on the disk. [`AuditLog::log`] serializes the event
//! and offers the line to a bounded channel; one writer thread, owned by
//! the [`AuditLog`], drains it. When the channel is full the event is
//! dropped and counted ([`AuditLog::dropped`]) instead of blocking: a slow
//! or full disk must not stall every API request, and the count makes the
//! loss visible. (Upstream's blocking mode makes the opposite choice; its
//! batch mode drops like this.)
//!
//! The file rotates like kube-apiserver's lumberjack writer: when a line
//! would take the file past `--audit-log-maxsize`, the file is renamed to
//! `<name>-<UTC 2006-01-02T15-04-05.000><ext>` and a new one started; then
//! backups beyond `--audit-log-maxbackup` or older than
//! `--audit-log-maxage` days (by the time in their name) are deleted.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use crate::error::Error;
use crate::event::Event;
use crate::time::{backup_stamp, parse_backup_stamp};

/// Events that may wait for the writer before new ones are dropped.
pub const DEFAULT_CAPACITY: usize = 10_000;

const MEGABYTE: u64 = 1024 * 1024;
const DAY: Duration = Duration::from_secs(86_400);

/// Rotation settings, with the meaning of kube-apiserver's flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rotation {
    /// `--audit-log-maxsize`: megabytes (MiB) a file may reach before it is
    /// rotated; 0 never rotates. (kube-apiserver's lumberjack treats 0 as
    /// 100; the CLI can pass 100 to match.)
    pub max_size_mb: u64,
    /// `--audit-log-maxbackup`: rotated files to keep; 0 keeps all.
    pub max_backups: u32,
    /// `--audit-log-maxage`: days to keep rotated files, judged by the
    /// timestamp in their name; 0 keeps them regardless of age.
    pub max_age_days: u32,
}

/// Where the writer thread puts lines.
pub(crate) trait Destination: Send {
    /// Writes one complete line (newline included).
    fn write_line(&mut self, line: &[u8]) -> io::Result<()>;
    /// Pushes buffered lines to the operating system.
    fn flush(&mut self) -> io::Result<()>;
}

struct Stdout;

impl Destination for Stdout {
    fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        io::stdout().lock().write_all(line)
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stdout().lock().flush()
    }
}

enum Message {
    Line(Vec<u8>),
    Flush(mpsc::Sender<()>),
}

#[derive(Debug, Default)]
struct Counters {
    dropped: AtomicU64,
    write_errors: AtomicU64,
}

/// The audit log: a handle to the writer thread.
///
/// Dropping the handle writes what is queued, flushes and joins the thread,
/// so no thread outlives it.
#[derive(Debug)]
pub struct AuditLog {
    tx: Option<SyncSender<Message>>,
    writer: Option<JoinHandle<()>>,
    counters: Arc<Counters>,
}

impl AuditLog {
    /// Opens the log at `path` (`-` for stdout) with room for
    /// [`DEFAULT_CAPACITY`] waiting events.
    ///
    /// The file and its directory are created now (0600 and 0700, as
    /// kube-apiserver does), so a bad path fails at startup, not at the
    /// first request.
    pub fn open(path: &str, rotation: Rotation) -> Result<AuditLog, Error> {
        AuditLog::with_capacity(path, rotation, DEFAULT_CAPACITY)
    }

    /// [`AuditLog::open`] with room for `capacity` waiting events (at least
    /// one).
    pub fn with_capacity(
        path: &str,
        rotation: Rotation,
        capacity: usize,
    ) -> Result<AuditLog, Error> {
        if path == "-" {
            return AuditLog::spawn(Box::new(Stdout), capacity);
        }
        let file = RotatingFile::open(
            PathBuf::from(path),
            Limits::from(rotation),
            Box::new(SystemTime::now),
        )
        .map_err(|source| Error::LogOpen {
            path: path.to_owned(),
            source,
        })?;
        AuditLog::spawn(Box::new(file), capacity)
    }

    pub(crate) fn spawn(
        mut dest: Box<dyn Destination>,
        capacity: usize,
    ) -> Result<AuditLog, Error> {
        let (tx, rx) = mpsc::sync_channel(capacity.max(1));
        let counters = Arc::new(Counters::default());
        let thread_counters = Arc::clone(&counters);
        let writer = std::thread::Builder::new()
            .name("audit-log-writer".into())
            .spawn(move || run_writer(&rx, dest.as_mut(), &thread_counters))
            .map_err(Error::Spawn)?;
        Ok(AuditLog {
            tx: Some(tx),
            writer: Some(writer),
            counters,
        })
    }

    /// Queues the event for writing if it is emitted at its stage (level
    /// not `None`, stage not omitted by the policy). Never blocks: when the
    /// queue is full the event is dropped and counted.
    pub fn log(&self, event: &Event) {
        if !event.is_emitted() {
            return;
        }
        let mut line = event.to_json_line().into_bytes();
        line.push(b'\n');
        let sent = match &self.tx {
            Some(tx) => match tx.try_send(Message::Line(line)) {
                Ok(()) => true,
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
            },
            None => false,
        };
        if !sent {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Events dropped so far because the queue was full (or the writer had
    /// stopped).
    pub fn dropped(&self) -> u64 {
        self.counters.dropped.load(Ordering::Relaxed)
    }

    /// Lines the writer failed to write (disk full, file removed, ...).
    pub fn write_errors(&self) -> u64 {
        self.counters.write_errors.load(Ordering::Relaxed)
    }

    /// Waits until every event queued before this call is written and
    /// flushed to the operating system. Unlike [`AuditLog::log`] this does
    /// wait; it is for shutdown and tests.
    pub fn flush(&self) {
        let Some(tx) = &self.tx else { return };
        let (ack_tx, ack_rx) = mpsc::channel();
        if tx.send(Message::Flush(ack_tx)).is_ok() {
            // An error means the writer is gone; nothing is left to wait for.
            let _ = ack_rx.recv();
        }
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        // Closing the channel lets the writer finish the queue and return.
        drop(self.tx.take());
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

fn run_writer(rx: &Receiver<Message>, dest: &mut dyn Destination, counters: &Counters) {
    let handle = |msg: Message, dest: &mut dyn Destination| match msg {
        Message::Line(line) => {
            if dest.write_line(&line).is_err() {
                counters.write_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        Message::Flush(ack) => {
            if dest.flush().is_err() {
                counters.write_errors.fetch_add(1, Ordering::Relaxed);
            }
            let _ = ack.send(());
        }
    };
    while let Ok(msg) = rx.recv() {
        handle(msg, dest);
        // Write whatever else is queued, then flush once: batches under
        // load, yet an idle log is always on disk.
        while let Ok(msg) = rx.try_recv() {
            handle(msg, dest);
        }
        if dest.flush().is_err() {
            counters.write_errors.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Rotation limits in the units the file works in.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_bytes: Option<u64>,
    pub(crate) max_backups: usize,
    pub(crate) max_age: Option<Duration>,
}

impl From<Rotation> for Limits {
    fn from(r: Rotation) -> Limits {
        Limits {
            max_bytes: (r.max_size_mb > 0).then(|| r.max_size_mb.saturating_mul(MEGABYTE)),
            max_backups: usize::try_from(r.max_backups).unwrap_or(usize::MAX),
            max_age: (r.max_age_days > 0).then(|| DAY * r.max_age_days),
        }
    }
}

type Clock = Box<dyn FnMut() -> SystemTime + Send>;

/// The current log file plus its rotated backups.
pub(crate) struct RotatingFile {
    path: PathBuf,
    limits: Limits,
    clock: Clock,
    file: Option<BufWriter<File>>,
    size: u64,
}

impl RotatingFile {
    /// Creates the directory and the file if needed and opens it for
    /// appending.
    pub(crate) fn open(path: PathBuf, limits: Limits, clock: Clock) -> io::Result<RotatingFile> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_dir_all_private(dir)?;
        }
        let mut rf = RotatingFile {
            path,
            limits,
            clock,
            file: None,
            size: 0,
        };
        rf.open_current()?;
        rf.remove_old_backups();
        Ok(rf)
    }

    fn open_current(&mut self) -> io::Result<()> {
        let file = open_private(&self.path, false)?;
        self.size = file.metadata()?.len();
        self.file = Some(BufWriter::new(file));
        Ok(())
    }

    /// Renames the current file to a backup, starts an empty one and prunes
    /// backups.
    fn rotate(&mut self) -> io::Result<()> {
        if let Some(mut file) = self.file.take() {
            file.flush()?;
        }
        let backup = self.backup_path();
        match fs::rename(&self.path, &backup) {
            Ok(()) => {}
            // Someone removed the file under us: there is nothing to keep.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        self.file = Some(BufWriter::new(open_private(&self.path, true)?));
        self.size = 0;
        self.remove_old_backups();
        Ok(())
    }

    /// A backup name that does not exist yet. Two rotations within one
    /// millisecond would collide; the later one moves a millisecond on
    /// rather than overwrite its sibling.
    fn backup_path(&mut self) -> PathBuf {
        let (prefix, ext) = self.prefix_and_ext();
        let dir = self.dir();
        let mut at = (self.clock)();
        let mut candidate = dir.join(format!("{prefix}-{}{ext}", backup_stamp(at)));
        for _ in 0..10_000 {
            if !candidate.exists() {
                break;
            }
            at += Duration::from_millis(1);
            candidate = dir.join(format!("{prefix}-{}{ext}", backup_stamp(at)));
        }
        candidate
    }

    fn dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    /// Splits the file name like Go's `filepath.Ext`: the extension starts
    /// at the last dot (`audit.log` -> `audit`, `.log`).
    fn prefix_and_ext(&self) -> (String, String) {
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match name.rfind('.') {
            Some(i) => (name[..i].to_owned(), name[i..].to_owned()),
            None => (name, String::new()),
        }
    }

    /// Backups of this log, newest first.
    fn backups(&self) -> io::Result<Vec<(SystemTime, PathBuf)>> {
        let (prefix, ext) = self.prefix_and_ext();
        let start = format!("{prefix}-");
        let mut found = Vec::new();
        for entry in fs::read_dir(self.dir())? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let stamp = name
                .strip_prefix(start.as_str())
                .and_then(|rest| rest.strip_suffix(ext.as_str()));
            if let Some(t) = stamp.and_then(parse_backup_stamp) {
                found.push((t, entry.path()));
            }
        }
        found.sort_by_key(|(t, _)| std::cmp::Reverse(*t));
        Ok(found)
    }

    /// Deletes backups beyond the count limit, then those past the age
    /// limit. Failures are left for the next rotation to retry: pruning
    /// must never stop events from being written.
    fn remove_old_backups(&mut self) {
        if self.limits.max_backups == 0 && self.limits.max_age.is_none() {
            return;
        }
        let Ok(mut backups) = self.backups() else {
            return;
        };
        let mut remove = Vec::new();
        if self.limits.max_backups > 0 && backups.len() > self.limits.max_backups {
            remove.extend(backups.split_off(self.limits.max_backups));
        }
        if let Some(max_age) = self.limits.max_age {
            let now = (self.clock)();
            if let Some(cutoff) = now.checked_sub(max_age) {
                remove.extend(backups.into_iter().filter(|(t, _)| *t < cutoff));
            }
        }
        for (_, path) in remove {
            let _ = fs::remove_file(path);
        }
    }
}

impl Destination for RotatingFile {
    fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        let len = line.len() as u64;
        if let Some(max) = self.limits.max_bytes {
            // A line longer than the limit on its own still gets written, to
            // a file of its own, rather than lost.
            if self.size > 0 && self.size.saturating_add(len) > max {
                self.rotate()?;
            }
        }
        if self.file.is_none() {
            self.open_current()?;
        }
        let Some(file) = self.file.as_mut() else {
            return Err(io::Error::other("audit log file is not open"));
        };
        match file.write_all(line) {
            Ok(()) => {
                self.size = self.size.saturating_add(len);
                Ok(())
            }
            Err(e) => {
                // Reopen on the next line, in case the file went away.
                self.file = None;
                Err(e)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.file.as_mut() {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }
}

fn open_private(path: &Path, truncate: bool) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.create(true);
    if truncate {
        opts.write(true).truncate(true);
    } else {
        opts.append(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

fn create_dir_all_private(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

#[cfg(test)]
mod tests;
