//! Object storage on a local directory: the embedded default for photos.

use std::path::PathBuf;

use async_trait::async_trait;
use mpass_domain::ports::{ObjectStore, StoreError, StoreResult};

/// Blobs as files under one directory. Keys are checked so they cannot leave it.
#[derive(Debug, Clone)]
pub struct LocalObjectStore {
    root: PathBuf,
}

impl LocalObjectStore {
    pub fn open(root: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(&root)?;
        Ok(LocalObjectStore { root })
    }

    fn path(&self, key: &str) -> StoreResult<PathBuf> {
        let safe = !key.is_empty()
            && key.len() <= 200
            && !key.starts_with('/')
            && key.split('/').all(|p| !p.is_empty() && p != "." && p != "..")
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.'));
        if !safe {
            return Err(StoreError::Backend(format!("refused object key {key:?}")));
        }
        Ok(self.root.join(key))
    }
}

fn io(e: std::io::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

#[async_trait]
impl ObjectStore for LocalObjectStore {
    async fn put(&self, key: &str, bytes: Vec<u8>) -> StoreResult<()> {
        let path = self.path(key)?;
        tokio::task::spawn_blocking(move || {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            // Write then rename, and fsync, so a crash never leaves half a photo.
            let tmp = path.with_extension("tmp");
            {
                use std::io::Write;
                let mut f = std::fs::File::create(&tmp)?;
                f.write_all(&bytes)?;
                f.sync_all()?;
            }
            std::fs::rename(&tmp, &path)
        })
        .await
        .map_err(|e| StoreError::Backend(e.to_string()))?
        .map_err(io)
    }

    async fn ping(&self) -> StoreResult<()> {
        match tokio::fs::metadata(&self.root).await {
            Ok(m) if m.is_dir() => Ok(()),
            Ok(_) => Err(StoreError::Unavailable(format!(
                "{} is not a directory",
                self.root.display()
            ))),
            Err(e) => Err(StoreError::Unavailable(format!("{}: {e}", self.root.display()))),
        }
    }

    async fn get(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        let path = self.path(key)?;
        match tokio::fs::read(path).await {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }
}
