//! The files that hold Herald's secrets and data: the data directory, the
//! SQLite database with its `-wal` and `-shm`, and the generated JWT secret.
//! On Unix they are the owner's alone (0700 directories, 0600 files), so
//! another local account cannot read tokens' key or users' notifications.

use std::io;
use std::path::{Path, PathBuf};

#[cfg(unix)]
const PRIVATE_DIR: u32 = 0o700;
#[cfg(unix)]
const PRIVATE_FILE: u32 = 0o600;

/// Creates `dir` and any missing parents as owner-only. An existing directory
/// this user owns is tightened (earlier versions created it 0755); one that is
/// shared (sticky, like /tmp) or someone else's is left alone with a warning.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(PRIVATE_DIR)
                .create(dir)?;
        }
        let meta = std::fs::metadata(dir)?;
        let mode = meta.mode() & 0o7777;
        if mode & 0o077 == 0 {
            return Ok(());
        }
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        let tightened = meta.uid() == me
            && mode & 0o1000 == 0
            && std::fs::set_permissions(dir, std::fs::Permissions::from_mode(PRIVATE_DIR)).is_ok();
        if tightened {
            tracing::info!(dir = %dir.display(), "made the data directory owner-only (0700)");
        } else {
            tracing::warn!(dir = %dir.display(), mode = format!("{mode:o}"), "the data directory is readable by other users; make it 0700");
        }
        Ok(())
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)
}

/// Writes a new file readable by the owner only; fails if it exists.
/// The contents go to a temporary file first and are linked into place whole,
/// so a crash mid-write never leaves an empty or truncated secret behind.
pub fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, PRIVATE_FILE);
    let written = opts.open(&tmp).and_then(|mut f| {
        f.write_all(contents)?;
        f.sync_all()
    });
    // A hard link, unlike a rename, refuses to replace a file another process wrote meanwhile.
    let linked = written.and_then(|()| std::fs::hard_link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    linked
}

/// Makes an existing file owner-only; a missing one is fine.
pub fn restrict(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        match std::fs::metadata(path) {
            Ok(meta) if meta.permissions().mode() & 0o077 != 0 => {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(PRIVATE_FILE))
            }
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// The file a `sqlite:` URL names, or `None` for an in-memory database.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let in_memory =
        path.is_empty() || path == ":memory:" || query.split('&').any(|kv| kv == "mode=memory");
    (!in_memory).then(|| PathBuf::from(path))
}

/// Before SQLite opens `db`: an owner-only directory and an empty owner-only
/// file, so SQLite never creates it (or its `-wal`/`-shm`, which copy the
/// database's mode) with the process umask.
pub fn prepare_sqlite(db: &Path) -> io::Result<()> {
    if let Some(parent) = db.parent().filter(|p| !p.as_os_str().is_empty()) {
        private_dir(parent)?;
    }
    match write_private(db, b"") {
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    }
}

/// After SQLite opened `db`: owner-only database, `-wal`, `-shm` and
/// `-journal`, for databases made before Herald restricted them.
pub fn restrict_sqlite(db: &Path) -> io::Result<()> {
    restrict(db)?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut name = db.as_os_str().to_os_string();
        name.push(suffix);
        restrict(Path::new(&name))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_their_file_and_memory_names_none() {
        assert_eq!(
            sqlite_path("sqlite://./data/herald.db?mode=rwc"),
            Some(PathBuf::from("./data/herald.db"))
        );
        assert_eq!(
            sqlite_path("sqlite:///var/lib/herald/h.db"),
            Some(PathBuf::from("/var/lib/herald/h.db"))
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("sqlite://x.db?mode=memory"), None);
        assert_eq!(sqlite_path("postgres://db/herald"), None);
    }

    #[cfg(unix)]
    #[test]
    fn an_existing_loose_directory_and_file_are_tightened() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let db = dir.join("herald.db");
        std::fs::write(&db, b"").unwrap();
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        prepare_sqlite(&db).unwrap();
        restrict_sqlite(&db).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode(&dir), mode(&db)), (0o700, 0o600));
    }

    #[cfg(unix)]
    #[test]
    fn a_private_file_is_written_whole_owner_only_and_never_over_another() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("jwt_secret");
        write_private(&path, b"first").unwrap();
        assert!(
            write_private(&path, b"second").is_err(),
            "an existing secret is kept"
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let leftovers = std::fs::read_dir(tmp.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }
}
