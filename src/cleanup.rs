//! What a run leaves on disk while it works — partial output files, spill
//! directories — and how it is removed when the run cannot unwind.
//!
//! Normally RAII handles remove these (on success, error and a first
//! Ctrl-C alike). Two cases escape unwinding:
//!
//! * a second Ctrl-C/SIGTERM, which exits at once: the signal thread calls
//!   [`remove_all`] first, with the paths registered here;
//! * `kill -9`, the OOM killer, a crash: nothing runs. Each temporary name
//!   carries the owner's PID (`dq-spill-<pid>-…`, `.dq-partial-<pid>-…`), and
//!   the next dq run that creates one in the same directory removes those
//!   whose owner is gone ([`remove_stale`]).
//!
//! A leaf: no dq dependencies.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Removes `path` at a hard exit until dropped.
#[derive(Debug)]
pub struct Registered(PathBuf);

/// Registers `path` (a file or a directory) for [`remove_all`].
pub fn register(path: &Path) -> Registered {
    if let Ok(mut live) = LIVE.lock() {
        live.push(path.to_path_buf());
    }
    Registered(path.to_path_buf())
}

impl Drop for Registered {
    fn drop(&mut self) {
        if let Ok(mut live) = LIVE.lock() {
            if let Some(i) = live.iter().rposition(|p| *p == self.0) {
                live.swap_remove(i);
            }
        }
    }
}

/// Removes every registered path (before an immediate exit).
pub fn remove_all() {
    let paths = LIVE.lock().map(|l| l.clone()).unwrap_or_default();
    for p in paths {
        if p.is_dir() {
            let _ = std::fs::remove_dir_all(&p);
        } else {
            let _ = std::fs::remove_file(&p);
        }
    }
}

/// The temporary-name prefix for this process: `{base}{pid}-`.
pub fn prefix(base: &str) -> String {
    format!("{base}{}-", std::process::id())
}

/// Removes entries of `dir` named `{base}<pid>-…` whose process is gone.
/// Best effort: errors (a racing run removing the same entry) are ignored.
pub fn remove_stale(dir: &Path, base: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(base)) else { continue };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<i32>().ok()) else { continue };
        if pid as u32 == std::process::id() || alive(pid) {
            continue;
        }
        let path = entry.path();
        let _ = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
    }
}

/// Whether a process with this PID exists (signal 0 checks without sending).
fn alive(pid: i32) -> bool {
    if pid <= 0 {
        return true;
    }
    // SAFETY: kill with signal 0 only checks whether the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_entries_of_dead_processes_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        // PID 4194303 is above the default pid_max: never a live process.
        std::fs::create_dir(dir.path().join("dq-spill-4194303-abc")).unwrap();
        std::fs::write(dir.path().join("dq-spill-4194303-abc/000001.arrows"), b"x").unwrap();
        let mine = dir.path().join(format!("dq-spill-{}-xyz", std::process::id()));
        std::fs::create_dir(&mine).unwrap();
        std::fs::write(dir.path().join("dq-spill-1-init"), b"x").unwrap();
        std::fs::write(dir.path().join("other-4194303-file"), b"x").unwrap();
        remove_stale(dir.path(), "dq-spill-");
        let mut left: Vec<String> =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        left.sort();
        let mut want = vec![
            "dq-spill-1-init".to_string(),
            mine.file_name().unwrap().to_str().unwrap().into(),
            "other-4194303-file".into(),
        ];
        want.sort();
        assert_eq!(left, want);
    }

    #[test]
    fn paths_are_registered_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        let _keep_a = register(&a);
        drop(register(&b));
        let live = LIVE.lock().unwrap().clone();
        assert!(live.contains(&a) && !live.contains(&b));
    }
}
