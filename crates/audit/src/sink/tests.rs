use std::sync::Mutex;
use std::time::UNIX_EPOCH;

use serde_json::Value;

use super::*;
use crate::{Level, RequestAttributes, Stage, StageSet};

fn event(n: usize) -> Event {
    let attrs = RequestAttributes {
        verb: "get".into(),
        path: "/healthz".into(),
        request_uri: format!("/healthz?n={n}"),
        ..RequestAttributes::default()
    };
    let mut ev = Event::new(
        format!("id-{n}"),
        Level::Metadata,
        StageSet::EMPTY,
        &attrs,
        SystemTime::now(),
    );
    ev.set_stage(Stage::ResponseComplete, SystemTime::now());
    ev
}

fn lines(path: &Path) -> Vec<Value> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A clock that moves one second per reading, so every rotation gets a
/// distinct, ordered backup name.
fn ticking_clock(start_secs: u64) -> Clock {
    let mut t = UNIX_EPOCH + Duration::from_secs(start_secs);
    Box::new(move || {
        t += Duration::from_secs(1);
        t
    })
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn writes_one_json_line_per_event_readable_after_flush() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logs/audit.log");
    let log = AuditLog::open(path.to_str().unwrap(), Rotation::default()).unwrap();
    for n in 0..50 {
        log.log(&event(n));
    }
    log.flush();
    let got = lines(&path);
    assert_eq!(got.len(), 50);
    assert_eq!(got[0]["auditID"], "id-0");
    assert_eq!(got[49]["requestURI"], "/healthz?n=49");
    assert_eq!(log.dropped(), 0);
    assert_eq!(log.write_errors(), 0);
}

#[test]
fn events_not_emitted_are_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let log = AuditLog::open(path.to_str().unwrap(), Rotation::default()).unwrap();
    let attrs = RequestAttributes::default();
    let none = Event::new("a", Level::None, StageSet::EMPTY, &attrs, SystemTime::now());
    let omitted = Event::new(
        "b",
        Level::Metadata,
        StageSet::EMPTY.with(Stage::RequestReceived),
        &attrs,
        SystemTime::now(),
    );
    log.log(&none);
    log.log(&omitted);
    log.flush();
    assert_eq!(fs::read_to_string(&path).unwrap(), "");
}

#[test]
fn drop_finishes_the_queue_and_joins_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    {
        let log = AuditLog::open(path.to_str().unwrap(), Rotation::default()).unwrap();
        for n in 0..20 {
            log.log(&event(n));
        }
    }
    assert_eq!(lines(&path).len(), 20);
}

#[test]
fn reopening_appends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    for n in 0..2 {
        let log = AuditLog::open(path.to_str().unwrap(), Rotation::default()).unwrap();
        log.log(&event(n));
    }
    assert_eq!(lines(&path).len(), 2);
}

#[cfg(unix)]
#[test]
fn log_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let _log = AuditLog::open(path.to_str().unwrap(), Rotation::default()).unwrap();
    let mode = fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn unopenable_path_fails_at_open() {
    let dir = tempfile::tempdir().unwrap();
    // A directory where the file should be.
    let err = AuditLog::open(dir.path().to_str().unwrap(), Rotation::default()).unwrap_err();
    assert!(err.to_string().starts_with("--audit-log-path "), "{err}");
}

#[test]
fn stdout_path_is_accepted() {
    let log = AuditLog::open("-", Rotation::default()).unwrap();
    log.log(&event(0));
    log.flush();
    assert_eq!(log.dropped(), 0);
    assert_eq!(log.write_errors(), 0);
}

#[test]
fn rotation_converts_flag_units() {
    let limits = Limits::from(Rotation {
        max_size_mb: 100,
        max_backups: 3,
        max_age_days: 7,
    });
    assert_eq!(limits.max_bytes, Some(100 * 1024 * 1024));
    assert_eq!(limits.max_backups, 3);
    assert_eq!(limits.max_age, Some(Duration::from_secs(7 * 86_400)));
    let none = Limits::from(Rotation::default());
    assert_eq!(none.max_bytes, None);
    assert_eq!(none.max_age, None);
}

#[test]
fn rotation_by_size_keeps_max_backups() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let line = format!("{}\n", "x".repeat(99)); // 100 bytes
    let limits = Limits {
        max_bytes: Some(250),
        max_backups: 2,
        max_age: None,
    };
    // 2026-12-03T08:01:02Z, so the first backup is stamped 08-01-03 or later.
    let mut file = RotatingFile::open(path.clone(), limits, ticking_clock(1_796_284_862)).unwrap();
    for _ in 0..10 {
        file.write_line(line.as_bytes()).unwrap();
    }
    file.flush().unwrap();
    // Two lines fit in 250 bytes; ten lines make five files: four rotations,
    // of which the newest two backups survive.
    assert_eq!(fs::read_to_string(&path).unwrap().len(), 200);
    let names = names_in(dir.path());
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names.contains(&"audit.log".to_owned()));
    let backups: Vec<&String> = names.iter().filter(|n| *n != "audit.log").collect();
    for b in &backups {
        assert!(b.starts_with("audit-2026-12-03T08-01-"), "{b}");
        assert!(b.ends_with(".000.log"), "{b}");
        assert_eq!(fs::read_to_string(dir.path().join(b)).unwrap().len(), 200);
    }
    // The oldest two were removed: what is left are the latest rotations.
    assert!(backups[0] < backups[1]);
}

#[test]
fn rotation_without_backup_limit_keeps_all() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let limits = Limits {
        max_bytes: Some(10),
        max_backups: 0,
        max_age: None,
    };
    let mut file = RotatingFile::open(path, limits, ticking_clock(1_000_000_000)).unwrap();
    for _ in 0..6 {
        file.write_line(b"0123456789\n").unwrap(); // longer than the limit alone
    }
    file.flush().unwrap();
    assert_eq!(
        names_in(dir.path()).len(),
        6,
        "each oversized line gets its own file"
    );
}

#[test]
fn same_millisecond_rotations_do_not_overwrite_backups() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let limits = Limits {
        max_bytes: Some(5),
        max_backups: 0,
        max_age: None,
    };
    let frozen = UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    let mut file = RotatingFile::open(path, limits, Box::new(move || frozen)).unwrap();
    for _ in 0..4 {
        file.write_line(b"abcd\n").unwrap();
    }
    let names = names_in(dir.path());
    assert_eq!(
        names,
        [
            "audit-2001-09-09T01-46-40.000.log",
            "audit-2001-09-09T01-46-40.001.log",
            "audit-2001-09-09T01-46-40.002.log",
            "audit.log",
        ]
    );
}

#[test]
fn backups_older_than_max_age_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    // "Now" is 2026-12-03T08:01:02Z.
    for name in [
        "audit-2026-11-20T00-00-00.000.log", // 13 days old: removed
        "audit-2026-11-30T00-00-00.000.log", // 3 days old: kept
        "audit-notastamp.log",               // not a backup: kept
        "other-2026-01-01T00-00-00.000.log", // another log's: kept
    ] {
        fs::write(dir.path().join(name), "old\n").unwrap();
    }
    let limits = Limits {
        max_bytes: None,
        max_backups: 0,
        max_age: Some(DAY * 7),
    };
    let now = UNIX_EPOCH + Duration::from_secs(1_796_284_862);
    let _file = RotatingFile::open(path, limits, Box::new(move || now)).unwrap();
    assert_eq!(
        names_in(dir.path()),
        [
            "audit-2026-11-30T00-00-00.000.log",
            "audit-notastamp.log",
            "audit.log",
            "other-2026-01-01T00-00-00.000.log",
        ]
    );
}

#[test]
fn file_names_without_extension_rotate_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit");
    let limits = Limits {
        max_bytes: Some(4),
        max_backups: 0,
        max_age: None,
    };
    let mut file = RotatingFile::open(path, limits, ticking_clock(1_000_000_000)).unwrap();
    file.write_line(b"abc\n").unwrap();
    file.write_line(b"abc\n").unwrap();
    assert_eq!(
        names_in(dir.path()),
        ["audit", "audit-2001-09-09T01-46-41.000"]
    );
}

/// A destination whose first write blocks until released, so the queue
/// behind it can be filled deterministically.
struct Gate {
    entered: mpsc::Sender<()>,
    release: Mutex<Receiver<()>>,
    written: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Destination for Gate {
    fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        let _ = self.entered.send(());
        let _ = self.release.lock().unwrap().recv();
        self.written.lock().unwrap().push(line.to_vec());
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn full_queue_drops_instead_of_blocking() {
    let (entered_tx, entered_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    let written = Arc::new(Mutex::new(Vec::new()));
    let gate = Gate {
        entered: entered_tx,
        release: Mutex::new(release_rx),
        written: Arc::clone(&written),
    };
    let log = AuditLog::spawn(Box::new(gate), 1).unwrap();

    log.log(&event(0));
    // The writer holds event 0 inside the blocked write; the queue is empty.
    entered_rx.recv().unwrap();
    log.log(&event(1)); // fills the one slot
    let started = std::time::Instant::now();
    log.log(&event(2)); // no room: dropped
    log.log(&event(3)); // no room: dropped
    assert!(started.elapsed() < Duration::from_secs(1), "log() blocked");
    assert_eq!(log.dropped(), 2);

    // Let every write through (one release per write), then wait for them.
    for _ in 0..2 {
        release_tx.send(()).unwrap();
    }
    log.flush();
    let written = written.lock().unwrap();
    assert_eq!(written.len(), 2);
    let ids: Vec<String> = written
        .iter()
        .map(|l| {
            serde_json::from_slice::<Value>(l).unwrap()["auditID"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids, ["id-0", "id-1"]);
}

#[test]
fn capacity_zero_still_queues_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let log = AuditLog::with_capacity(path.to_str().unwrap(), Rotation::default(), 0).unwrap();
    log.log(&event(0));
    log.flush();
    assert_eq!(lines(&path).len(), 1);
    assert_eq!(log.dropped(), 0);
}
