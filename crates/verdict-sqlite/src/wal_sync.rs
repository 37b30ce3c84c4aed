//! Durability off the writer's path. With `synchronous=FULL` SQLite fsyncs
//! the write-ahead log inside every COMMIT, so the writer thread sits idle
//! for the disk (about 1 ms per group on the reference machine) before it
//! can start the next group. Instead the writer's connection runs with
//! `synchronous=NORMAL` (commits reach the WAL file, not yet the disk) and
//! hands each committed group here; this thread fdatasyncs the WAL file and
//! only then delivers the group's answers. Meanwhile the writer commits the
//! next groups, and one fdatasync covers every group committed before it
//! started.
//!
//! What is answered is as durable as under `synchronous=FULL`: the WAL is a
//! log, recovery keeps its longest valid prefix of commits, and every frame
//! of an answered group was written before the sync that preceded its
//! answer. `NORMAL` itself keeps the database consistent: checkpoints sync
//! the WAL before copying it and the database before the WAL is reused.
//! The one difference: a reader may see a commit up to one sync (about a
//! millisecond) before its writer is answered.
//!
//! A failed sync leaves the kernel free to drop the unwritten pages, so a
//! later sync proving nothing about them: after one, every write is refused
//! until the server is restarted (the database itself stays consistent).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};

use verdict_store::{StoreError, StoreResult};

/// Delivers a write's answer once the fate of its commit is known.
pub(crate) type Delivery = Box<dyn FnOnce(StoreResult<()>) + Send>;

/// The handle the writer holds.
pub(crate) struct WalSync {
    committed: mpsc::Sender<Vec<Delivery>>,
    failed: Arc<AtomicBool>,
    /// Groups handed over and not yet answered.
    in_flight: Arc<AtomicUsize>,
}

impl WalSync {
    /// Starts the sync thread for the database at `db` (its WAL is
    /// `db-wal`); it calls `idle` whenever it has answered every group
    /// handed over so far.
    pub(crate) fn start(db: &Path, idle: impl Fn() + Send + 'static) -> std::io::Result<WalSync> {
        let mut wal = db.as_os_str().to_owned();
        wal.push("-wal");
        let wal = PathBuf::from(wal);
        let (committed, groups) = mpsc::channel();
        let failed = Arc::new(AtomicBool::new(false));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let (flag, pending) = (Arc::clone(&failed), Arc::clone(&in_flight));
        std::thread::Builder::new()
            .name("verdict-walsync".into())
            .spawn(move || {
                sync_loop(
                    &wal,
                    &groups,
                    &flag,
                    |file| file.sync_data(),
                    |answered| {
                        if pending.fetch_sub(answered, Ordering::AcqRel) == answered {
                            idle();
                        }
                    },
                );
            })?;
        Ok(WalSync {
            committed,
            failed,
            in_flight,
        })
    }

    /// Whether a group handed over is still waiting for its sync.
    pub(crate) fn in_flight(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) > 0
    }

    /// Whether a sync has failed: the writer refuses every write from then on.
    pub(crate) fn failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    /// Answers a committed group once the WAL holding it is on disk.
    pub(crate) fn after_commit(&self, group: Vec<Delivery>) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        if let Err(mpsc::SendError(group)) = self.committed.send(group) {
            self.in_flight.fetch_sub(1, Ordering::AcqRel);
            for deliver in group {
                deliver(Err(StoreError::Unavailable(
                    "the WAL sync thread has stopped".into(),
                )));
            }
        }
    }
}

/// The refusal after a failed sync.
pub(crate) fn sync_failed() -> StoreError {
    StoreError::Unavailable(
        "a sync of the database's write-ahead log failed; writes are refused until the server is restarted".into(),
    )
}

fn sync_loop(
    wal: &Path,
    groups: &mpsc::Receiver<Vec<Delivery>>,
    failed: &AtomicBool,
    sync: impl Fn(&File) -> std::io::Result<()>,
    answered: impl Fn(usize),
) {
    let mut file: Option<Opened> = None;
    while let Ok(mut batch) = groups.recv() {
        // Everything committed so far: one sync covers it all.
        let mut count = 1;
        while let Ok(more) = groups.try_recv() {
            batch.extend(more);
            count += 1;
        }
        let outcome = if failed.load(Ordering::Acquire) {
            Err(sync_failed())
        } else {
            match sync_wal(wal, &mut file, &sync) {
                Ok(()) => Ok(()),
                Err(e) => {
                    failed.store(true, Ordering::Release);
                    tracing::error!(error = %e, wal = %wal.display(), "WAL sync failed; refusing writes from now on");
                    Err(sync_failed())
                }
            }
        };
        for deliver in batch {
            deliver(outcome.clone());
        }
        answered(count);
    }
}

/// The WAL file as opened here, and which file it was.
struct Opened {
    file: File,
    identity: Option<(u64, u64)>,
}

/// Syncs the file now at `wal`, reopening it if it is not the one held
/// (SQLite deletes and recreates the WAL only when its last connection
/// closes, which the writer's never does while the pool lives; this makes
/// sure of it).
fn sync_wal(
    wal: &Path,
    held: &mut Option<Opened>,
    sync: &impl Fn(&File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let current = identity(&std::fs::metadata(wal)?);
    let opened = match held.take() {
        Some(opened) if current.is_some() && opened.identity == current => held.insert(opened),
        _ => {
            let file = File::open(wal)?;
            let identity = identity(&file.metadata()?);
            held.insert(Opened { file, identity })
        }
    };
    sync(&opened.file)
}

#[cfg(unix)]
fn identity(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((meta.dev(), meta.ino()))
}

/// Without inode numbers every sync reopens the file.
#[cfg(not(unix))]
fn identity(_meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    use super::*;

    /// Runs `sync_loop` on its own thread with `sync` standing in for
    /// fdatasync, over a real file; returns the sender and the thread.
    fn spawn(
        wal: &Path,
        sync: impl Fn(&File) -> std::io::Result<()> + Send + 'static,
    ) -> (
        mpsc::Sender<Vec<Delivery>>,
        Arc<AtomicBool>,
        std::thread::JoinHandle<()>,
    ) {
        let (tx, rx) = mpsc::channel();
        let failed = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&failed);
        let wal = wal.to_path_buf();
        let handle = std::thread::spawn(move || sync_loop(&wal, &rx, &flag, sync, |_| {}));
        (tx, failed, handle)
    }

    /// Answers seen: how many syncs had finished, and the answer.
    type Seen = Arc<Mutex<Vec<(usize, StoreResult<()>)>>>;

    /// A delivery that records the answer and how many syncs had finished
    /// when it came.
    fn recorder(syncs: &Arc<AtomicUsize>, seen: &Seen) -> Delivery {
        let (syncs, seen) = (Arc::clone(syncs), Arc::clone(seen));
        Box::new(move |outcome| {
            let done = syncs.load(Ordering::SeqCst);
            seen.lock().expect("lock").push((done, outcome));
        })
    }

    #[test]
    fn groups_waiting_behind_a_sync_share_the_next_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let wal = dir.path().join("db-wal");
        std::fs::write(&wal, b"frames").expect("wal");
        let syncs = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&syncs);
        let (tx, failed, handle) = spawn(&wal, move |_| {
            std::thread::sleep(Duration::from_millis(2));
            counter.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
        let seen = Arc::new(Mutex::new(Vec::new()));
        for round in 0..20 {
            tx.send(vec![recorder(&syncs, &seen), recorder(&syncs, &seen)])
                .expect("send");
            if round % 3 == 0 {
                std::thread::sleep(Duration::from_millis(3));
            }
        }
        drop(tx);
        handle.join().expect("sync thread");
        let seen = seen.lock().expect("lock");
        assert_eq!(seen.len(), 40, "every write is answered");
        assert!(
            seen.iter()
                .all(|(done, outcome)| *done >= 1 && outcome.is_ok())
        );
        // Groups that queued up behind a sync share the next one.
        let total = syncs.load(Ordering::SeqCst);
        assert!((1..20).contains(&total), "{total} syncs for 20 groups");
        assert!(!failed.load(Ordering::SeqCst));
    }

    #[test]
    fn no_answer_precedes_the_sync_covering_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let wal = dir.path().join("db-wal");
        std::fs::write(&wal, b"frames").expect("wal");
        // Each group notes the sync count when handed over; its answer must
        // see a larger count.
        let syncs = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&syncs);
        let (tx, _failed, handle) = spawn(&wal, move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
        let late = Arc::new(AtomicUsize::new(0));
        for _ in 0..200 {
            let handed = syncs.load(Ordering::SeqCst);
            let (syncs, late) = (Arc::clone(&syncs), Arc::clone(&late));
            let deliver: Delivery = Box::new(move |outcome| {
                if outcome.is_err() || syncs.load(Ordering::SeqCst) <= handed {
                    late.fetch_add(1, Ordering::SeqCst);
                }
            });
            tx.send(vec![deliver]).expect("send");
        }
        drop(tx);
        handle.join().expect("sync thread");
        assert_eq!(late.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn after_a_failed_sync_every_write_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let wal = dir.path().join("db-wal");
        std::fs::write(&wal, b"frames").expect("wal");
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        let (tx, failed, handle) = spawn(&wal, move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
            Err(std::io::Error::other("EIO"))
        });
        let syncs = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        tx.send(vec![recorder(&syncs, &seen)]).expect("send");
        // Wait for the failure before handing over more.
        while !failed.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(1));
        }
        tx.send(vec![recorder(&syncs, &seen)]).expect("send");
        drop(tx);
        handle.join().expect("sync thread");
        let seen = seen.lock().expect("lock");
        assert_eq!(seen.len(), 2);
        for (_, outcome) in seen.iter() {
            assert!(
                matches!(outcome, Err(StoreError::Unavailable(m)) if m.contains("restarted")),
                "{outcome:?}"
            );
        }
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "no sync is tried after one failed"
        );
    }

    #[test]
    fn a_missing_wal_fails_the_sync_instead_of_answering() {
        let dir = tempfile::tempdir().expect("tempdir");
        let wal = dir.path().join("db-wal");
        let (tx, failed, handle) = spawn(&wal, |file| file.sync_data());
        let syncs = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        tx.send(vec![recorder(&syncs, &seen)]).expect("send");
        drop(tx);
        handle.join().expect("sync thread");
        assert!(failed.load(Ordering::SeqCst));
        assert!(seen.lock().expect("lock")[0].1.is_err());
    }

    #[test]
    #[cfg(unix)]
    fn a_replaced_wal_file_is_reopened() {
        let dir = tempfile::tempdir().expect("tempdir");
        let wal = dir.path().join("db-wal");
        std::fs::write(&wal, b"first").expect("wal");
        let mut held = None;
        let synced = Mutex::new(Vec::new());
        let sync = |file: &File| {
            synced
                .lock()
                .expect("lock")
                .push(identity(&file.metadata()?));
            Ok(())
        };
        sync_wal(&wal, &mut held, &sync).expect("first sync");
        sync_wal(&wal, &mut held, &sync).expect("same file");
        // Replaced by a new file (a new inode) under the same name.
        std::fs::remove_file(&wal).expect("remove");
        std::fs::write(&wal, b"second").expect("recreate");
        sync_wal(&wal, &mut held, &sync).expect("new file");
        let synced = synced.lock().expect("lock");
        assert_eq!(synced[0], synced[1]);
        assert_ne!(synced[1], synced[2]);
        assert_eq!(synced[2], identity(&std::fs::metadata(&wal).expect("meta")));
    }
}
