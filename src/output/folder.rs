//! Output folders appear whole or not at all. A run writes every file into a staging folder
//! beside its destination (`output/.<name>.partial-<pid>`) and, once all are complete, renames
//! it into place, replacing the previous result as a whole: no file of an earlier run survives
//! beside the new ones, and a kill at any moment leaves either the old result, the new one, or
//! none, never a mix. A folder that does not look like awsim's is never replaced.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The file whose presence marks a run folder (written last, so only whole runs have it).
pub const RUN_MARKER: &str = "summary.json";

/// Why an output folder cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    /// The destination holds something awsim did not write; it is left alone.
    #[error(
        "{path} {why}, so awsim will not replace it: remove it or give another --out",
        path = .path.display()
    )]
    NotOurs {
        /// The destination.
        path: PathBuf,
        /// What it is instead.
        why: String,
    },
    /// The file system refused.
    #[error("cannot {what} {path}: {source}", path = .path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// To what.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

fn io_error<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> FolderError + 'a {
    move |source| FolderError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// Checks that awsim may replace `dest`: absent, an empty folder, or a folder with `marker`
/// (what awsim writes last there). Files under a temporary name ([`crate::files::temp_path`])
/// do not count.
pub fn check_replaceable(dest: &Path, marker: &str, what: &str) -> Result<(), FolderError> {
    let not_ours = |why: String| FolderError::NotOurs {
        path: dest.to_path_buf(),
        why,
    };
    let meta = match fs::metadata(dest) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_error("read", dest)(e)),
    };
    if !meta.is_dir() {
        return Err(not_ours("exists and is not a folder".into()));
    }
    if dest.join(marker).is_file() {
        return Ok(());
    }
    for entry in fs::read_dir(dest).map_err(io_error("read", dest))? {
        let name = entry.map_err(io_error("read", dest))?.file_name();
        if !crate::files::is_temp_name(&name.to_string_lossy()) {
            return Err(not_ours(format!(
                "is not empty and does not look like {what} (it has no {marker})"
            )));
        }
    }
    Ok(())
}

/// Where a folder's staging and set-aside copies live: beside it, named after it.
struct Place {
    parent: PathBuf,
    /// The folder's name as the hidden names start with (cut to keep them one component).
    stem: String,
}

impl Place {
    fn of(dest: &Path) -> Result<Place, FolderError> {
        // `--out .` or `--out a/..` have no file name as written: use the folder's real path.
        let resolved;
        let dest = if dest.file_name().is_some() {
            dest
        } else {
            resolved = fs::canonicalize(dest).map_err(io_error("find", dest))?;
            &resolved
        };
        let Some(name) = dest.file_name() else {
            return Err(FolderError::NotOurs {
                path: dest.to_path_buf(),
                why: "is the root of the file system".into(),
            });
        };
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = name.to_string_lossy();
        let mut cut = name.len().min(200);
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        Ok(Place {
            parent,
            stem: format!(".{}", &name[..cut]),
        })
    }

    fn hidden(&self, role: &str, pid: u32) -> PathBuf {
        self.parent.join(format!("{}.{role}-{pid}", self.stem))
    }

    /// Removes the staging and set-aside folders that runs killed before they could clean up
    /// left here. A folder of a process still running is left alone; so is every folder where
    /// no process table can be read (they are hidden and never read, only wasted space).
    fn remove_leftovers(&self) {
        let Ok(entries) = fs::read_dir(&self.parent) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(rest) = name.strip_prefix(self.stem.as_str()) else {
                continue;
            };
            let pid = ["partial", "old"]
                .iter()
                .find_map(|role| rest.strip_prefix(&format!(".{role}-")))
                .and_then(|pid| pid.parse::<u32>().ok());
            if let Some(pid) = pid
                && !process_alive(pid)
            {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
}

/// Whether process `pid` may be running (this one, about to make its folder, is not: a folder
/// with its pid is a leftover of an earlier process that had the same pid).
fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return false;
    }
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

/// Removes `dir` and everything in it, tolerating a writer that adds a file meanwhile.
pub fn remove_folder(dir: &Path) {
    for _ in 0..5 {
        match fs::remove_dir_all(dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => continue,
            _ => return,
        }
    }
}

/// A run's output folder while it is written: files go into [`Staging::path`]; [`Staging::commit`]
/// puts them in place together. Dropped without a commit, the staging folder is removed.
#[derive(Debug)]
pub struct Staging {
    dest: PathBuf,
    dir: PathBuf,
    aside: PathBuf,
    committed: bool,
}

impl Staging {
    /// Starts writing what will replace `dest`: refuses a `dest` that is not a run folder
    /// ([`check_replaceable`]), removes leftovers of killed runs, creates the staging folder.
    pub fn begin(dest: &Path) -> Result<Staging, FolderError> {
        check_replaceable(dest, RUN_MARKER, "an awsim run folder")?;
        let place = Place::of(dest)?;
        fs::create_dir_all(&place.parent).map_err(io_error("create the folder", &place.parent))?;
        place.remove_leftovers();
        let pid = std::process::id();
        let dir = place.hidden("partial", pid);
        fs::create_dir(&dir).map_err(io_error("create the staging folder", &dir))?;
        Ok(Staging {
            dest: dest.to_path_buf(),
            aside: place.hidden("old", pid),
            dir,
            committed: false,
        })
    }

    /// The folder to write into.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Puts the staged files in place as `dest`, replacing what was there as a whole. Between
    /// the two renames `dest` is briefly absent, never partial.
    pub fn commit(mut self) -> Result<(), FolderError> {
        // Something may have been put there while the run ran.
        check_replaceable(&self.dest, RUN_MARKER, "an awsim run folder")?;
        let had_old = match fs::rename(&self.dest, &self.aside) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err(io_error("move aside", &self.dest)(e)),
        };
        if let Err(e) = fs::rename(&self.dir, &self.dest) {
            if had_old {
                let _ = fs::rename(&self.aside, &self.dest);
            }
            return Err(io_error("move the results to", &self.dest)(e));
        }
        self.committed = true;
        if had_old {
            remove_folder(&self.aside);
        }
        // Make the renames durable (best effort: not every system can sync a folder).
        if let Some(parent) = self.dest.parent().filter(|p| !p.as_os_str().is_empty())
            && let Ok(dir) = fs::File::open(parent)
        {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            remove_folder(&self.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("awsim-folder-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_commit_replaces_the_previous_run_as_a_whole() {
        let root = scratch("replace");
        let dest = root.join("web");
        fs::create_dir(&dest).unwrap();
        for f in ["summary.json", "scaling_activities.csv", "capacity_web.svg"] {
            fs::write(dest.join(f), "old").unwrap();
        }
        let staging = Staging::begin(&dest).unwrap();
        fs::write(staging.path().join("summary.json"), "new").unwrap();
        // Until the commit, the old result is untouched.
        assert_eq!(names(&dest).len(), 3);
        staging.commit().unwrap();
        assert_eq!(names(&dest), ["summary.json"]);
        assert_eq!(
            fs::read_to_string(dest.join("summary.json")).unwrap(),
            "new"
        );
        // Nothing hidden is left beside it.
        assert_eq!(names(&root), ["web"]);
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn an_abandoned_run_leaves_the_previous_result_and_nothing_else() {
        let root = scratch("abandon");
        let dest = root.join("web");
        fs::create_dir(&dest).unwrap();
        fs::write(dest.join("summary.json"), "old").unwrap();
        let staging = Staging::begin(&dest).unwrap();
        fs::write(staging.path().join("timeseries.csv"), "new").unwrap();
        drop(staging);
        assert_eq!(names(&root), ["web"]);
        assert_eq!(names(&dest), ["summary.json"]);
        // Without a previous result, nothing at all.
        let fresh = root.join("fresh");
        drop(Staging::begin(&fresh).unwrap());
        assert_eq!(names(&root), ["web"]);
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_folder_that_is_not_a_run_is_never_replaced() {
        let root = scratch("foreign");
        let dest = root.join("thesis");
        fs::create_dir(&dest).unwrap();
        fs::write(dest.join("chapter1.tex"), "precious").unwrap();
        let e = Staging::begin(&dest).unwrap_err().to_string();
        assert!(
            e.contains("is not empty and does not look like an awsim run folder"),
            "{e}"
        );
        assert!(e.contains("remove it or give another --out"), "{e}");
        let file = root.join("notes.txt");
        fs::write(&file, "x").unwrap();
        let e = Staging::begin(&file).unwrap_err().to_string();
        assert!(e.contains("exists and is not a folder"), "{e}");
        // Nothing was touched, and no staging folder was made.
        assert_eq!(names(&root), ["notes.txt", "thesis"]);
        assert_eq!(
            fs::read_to_string(dest.join("chapter1.tex")).unwrap(),
            "precious"
        );
        // A folder that appears during the run is not replaced either.
        let later = root.join("later");
        let staging = Staging::begin(&later).unwrap();
        fs::create_dir(&later).unwrap();
        fs::write(later.join("mine.txt"), "x").unwrap();
        assert!(staging.commit().is_err());
        assert_eq!(names(&later), ["mine.txt"]);
        assert_eq!(names(&root), ["later", "notes.txt", "thesis"]);
        // An empty folder, or one holding only temporary files, may be replaced.
        let empty = root.join("empty");
        fs::create_dir(&empty).unwrap();
        fs::write(empty.join(".timeseries.csv.partial"), "x").unwrap();
        Staging::begin(&empty).unwrap().commit().unwrap();
        assert!(names(&empty).is_empty());
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn leftovers_of_killed_runs_are_removed_and_live_ones_kept() {
        let root = scratch("leftovers");
        let dest = root.join("web");
        // Pids beyond the kernel's maximum are never alive; pid 1 always is.
        let dead = [".web.partial-4294967295", ".web.old-4294967295"];
        let kept = [
            ".web.partial-1",
            ".webby.partial-4294967295",
            ".web.partial-x",
        ];
        for name in dead.iter().chain(&kept) {
            fs::create_dir(root.join(name)).unwrap();
            fs::write(root.join(name).join("summary.json"), "x").unwrap();
        }
        Staging::begin(&dest).unwrap().commit().unwrap();
        let mut expected: Vec<&str> = kept.to_vec();
        if !Path::new("/proc/self").exists() {
            // Without a process table every leftover is left alone.
            expected.extend(dead);
        }
        expected.push("web");
        expected.sort();
        assert_eq!(names(&root), expected);
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn dot_and_dot_dot_resolve_to_the_real_folder() {
        let root = scratch("dots");
        let dest = root.join("a").join("..");
        fs::create_dir(root.join("a")).unwrap();
        // `root/a/..` is `root`, which holds `a`: not a run folder.
        let e = Staging::begin(&dest).unwrap_err().to_string();
        assert!(e.contains("does not look like an awsim run folder"), "{e}");
        let e = Staging::begin(Path::new("/")).unwrap_err().to_string();
        assert!(e.contains("not empty") || e.contains("root"), "{e}");
        fs::remove_dir_all(&root).unwrap();
    }
}
