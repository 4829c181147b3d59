//! The pool of read-only connections: at most one per permit (`MAX_READERS` unless set
//! otherwise), each opened when first needed and kept for the next read.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags};

use super::configure;

/// Read-only connections, and the permits that bound how many exist.
pub(super) struct ReaderPool {
    pub(super) path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// One permit per reader: at most `MAX_READERS` connections exist.
    pub(super) permits: Arc<tokio::sync::Semaphore>,
}

impl ReaderPool {
    pub(super) fn new(path: &Path, max: usize) -> ReaderPool {
        ReaderPool {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(tokio::sync::Semaphore::new(max)),
        }
    }

    pub(super) fn get(&self) -> rusqlite::Result<Connection> {
        if let Some(c) = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop() {
            return Ok(c);
        }
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        configure(&conn, true)?;
        Ok(conn)
    }

    pub(super) fn put(&self, conn: Connection) {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).push(conn);
    }
}
