//! Files awsim writes: whole or not at all (each is written under a temporary name in its
//! folder, flushed, then renamed into place, so an interrupted run never leaves a truncated file
//! that looks whole), under names that are one plain path component, with CSV text that a
//! spreadsheet shows as text. And files a scenario reads that were handed over as bytes
//! instead ([`with_given_files`]): the browser has no file system.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::engine::rng::fnv1a64;

/// The temporary name a file is written under before it is renamed to `path`.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.partial"))
}

/// Whether `name` is a temporary name of [`temp_path`].
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".partial")
}

/// Writes `bytes` under `path`'s temporary name, flushed to disk, and returns that name; the
/// caller renames it to `path` (as [`write_atomic`] does at once).
pub fn write_temp(path: &Path, bytes: &[u8]) -> io::Result<PathBuf> {
    let tmp = temp_path(path);
    let mut file = fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(tmp)
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder, flushed, then
/// renamed over `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = write_temp(path, bytes)?;
    fs::rename(&tmp, path)
}

/// The longest name of a scenario, workload or component, in bytes. Names become parts of file
/// names (`output/<name>/`, `capacity_<name>.svg`, `.<name>-sweep.partial-<pid>`...): 64 leaves
/// every one of them well under the 255-byte limit of a path component.
pub const MAX_NAME_LEN: usize = 64;

/// What a name may be made of, for messages.
pub const NAME_RULE: &str = "letters (a-z, A-Z), digits, `_`, `-` and `.`, starting with a \
                             letter, a digit or `_`";

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

fn name_start(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Why `name` cannot name a scenario, workload or component, if it cannot. A name is one path
/// component made of [`NAME_RULE`]'s characters (DynamoDB's rule for table names), at most
/// [`MAX_NAME_LEN`] bytes: never empty, `.`, `..`, a path, a control character that could
/// forge terminal output, or a formula to a spreadsheet (`=`, `+`, `-`, `@` first).
pub fn name_issue(name: &str) -> Option<String> {
    let problem = if name.is_empty() {
        "a name must not be empty".to_string()
    } else if name.len() > MAX_NAME_LEN {
        format!(
            "a name must be at most {MAX_NAME_LEN} characters long; this one has {}",
            name.chars().count()
        )
    } else if let Some(c) = name.chars().find(|&c| !name_char(c)) {
        format!("a name cannot contain {}", describe(c))
    } else if let Some(c) = name.chars().next().filter(|&c| !name_start(c)) {
        format!("a name cannot start with {}", describe(c))
    } else {
        return None;
    };
    Some(format!("{problem}; a name has {NAME_RULE}"))
}

/// A character as a message shows it: printable ones quoted, others by code point.
fn describe(c: char) -> String {
    match c {
        ' ' => "a space".into(),
        '/' | '\\' => format!("`{c}` (a name is one folder name, not a path)"),
        c if c.is_control() => format!("the control character U+{:04X}", c as u32),
        c => format!("`{c}`"),
    }
}

/// A name made from `text` (a file name) by the rules of [`name_issue`]: characters it does not
/// allow become `_`, and it is cut to [`MAX_NAME_LEN`] bytes; `scenario` if nothing is left.
pub fn name_from(text: &str) -> String {
    let mut name: String = text
        .chars()
        .map(|c| if name_char(c) { c } else { '_' })
        .take(MAX_NAME_LEN)
        .collect();
    if name.starts_with(|c| !name_start(c)) {
        name.replace_range(..1, "_");
    }
    if name.is_empty() {
        name = "scenario".into();
    }
    name
}

/// `text`, already one safe path component, cut to at most `max` bytes: a longer one keeps its
/// beginning and ends with `~` and a hash of the whole, so distinct texts stay distinct.
pub fn shortened(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let hash = format!("~{:016x}", fnv1a64(text.as_bytes()));
    let mut cut = max.saturating_sub(hash.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    Cow::Owned(format!("{}{hash}", &text[..cut]))
}

/// A CSV text field as a spreadsheet will show it, as text: one that starts with `=`, `+`,
/// `-`, `@`, a tab or a carriage return (a formula to Excel, LibreOffice and Google Sheets)
/// gets a leading `'`, as OWASP advises against CSV injection. Numbers (`-5`, `-0.25`) stay
/// numbers.
pub fn csv_text(field: &str) -> Cow<'_, str> {
    let formula = field.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if formula && field.parse::<f64>().is_err() {
        Cow::Owned(format!("'{field}"))
    } else {
        Cow::Borrowed(field)
    }
}

/// Files handed over as bytes, each by the path a scenario's reference to it resolves to (the
/// scenario file's folder joined with the name it writes).
pub type GivenFiles = Vec<(PathBuf, Arc<[u8]>)>;

thread_local! {
    /// The files [`with_given_files`] gave this thread.
    static GIVEN: RefCell<GivenFiles> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with `files` standing in for the files at their paths: a trace, an empirical
/// distribution's samples or a state machine's definition is read from them when given, from
/// disk when not. The browser, which has no file system, gives a scenario's files this way.
/// They hold on this thread only, until `f` returns: a run reads its files on the thread that
/// parses and runs it, and native runs never give any (so a sweep's threads need none).
pub fn with_given_files<R>(files: GivenFiles, f: impl FnOnce() -> R) -> R {
    /// Puts back what was given before, also when `f` unwinds.
    struct Restore(Option<GivenFiles>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some(before) = self.0.take() {
                GIVEN.with(|given| *given.borrow_mut() = before);
            }
        }
    }
    let before = GIVEN.with(|given| std::mem::replace(&mut *given.borrow_mut(), files));
    let _restore = Restore(Some(before));
    f()
}

/// The bytes given for `path` by [`with_given_files`], if any.
pub fn given_file(path: &Path) -> Option<Arc<[u8]>> {
    GIVEN.with(|given| {
        given
            .borrow()
            .iter()
            .find(|(given_path, _)| given_path == path)
            .map(|(_, bytes)| Arc::clone(bytes))
    })
}

/// The size of `path` in bytes: of the given bytes when there are ([`with_given_files`]), else
/// of the file on disk.
pub fn file_len(path: &Path) -> io::Result<u64> {
    match given_file(path) {
        Some(bytes) => Ok(bytes.len() as u64),
        None => Ok(fs::metadata(path)?.len()),
    }
}

/// Reads `path` as UTF-8 text: the given bytes when there are ([`with_given_files`]), else the
/// file on disk.
pub fn read_to_string(path: &Path) -> io::Result<String> {
    match given_file(path) {
        Some(bytes) => String::from_utf8(bytes.to_vec()).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "stream did not contain valid UTF-8",
            )
        }),
        None => fs::read_to_string(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_files_stand_in_for_the_disk_on_this_thread_until_the_closure_returns() {
        let path = PathBuf::from("no-such-folder-awsim/trace.csv");
        assert!(read_to_string(&path).is_err());
        let bytes: Arc<[u8]> = Arc::from(&b"a,b\n1,2\n"[..]);
        let text = with_given_files(vec![(path.clone(), bytes)], || {
            // Another thread sees none of them.
            let elsewhere = std::thread::spawn({
                let path = path.clone();
                move || read_to_string(&path).is_err()
            });
            assert!(elsewhere.join().unwrap(), "given files are per thread");
            assert_eq!(file_len(&path).unwrap(), 8);
            read_to_string(&path).unwrap()
        });
        assert_eq!(text, "a,b\n1,2\n");
        assert!(
            read_to_string(&path).is_err(),
            "gone once the closure returned"
        );
        let not_text: Arc<[u8]> = Arc::from(&b"\xff\xfe"[..]);
        let error = with_given_files(vec![(path.clone(), not_text)], || read_to_string(&path));
        assert_eq!(error.unwrap_err().kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn atomic_write_leaves_no_partial_file() {
        let dir = std::env::temp_dir().join(format!("awsim-atomic-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let target = dir.join("summary.json");
        write_atomic(&target, b"{}").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"{}");
        assert!(!temp_path(&target).exists());
        assert!(is_temp_name(".summary.json.partial") && !is_temp_name("summary.json"));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn names_are_one_plain_path_component() {
        for good in ["web", "web-alb", "_x", "9lives", "a.b", "order_pipeline"] {
            assert_eq!(name_issue(good), None, "{good}");
        }
        let long = "a".repeat(MAX_NAME_LEN + 1);
        for (bad, why) in [
            ("", "must not be empty"),
            (".", "cannot start with `.`"),
            ("..", "cannot start with `.`"),
            ("../../x", "cannot contain `/`"),
            ("/etc", "cannot contain `/`"),
            ("a\\b", "cannot contain `\\`"),
            ("a b", "cannot contain a space"),
            ("ok\u{1b}[2J", "control character U+001B"),
            ("line\nforged", "control character U+000A"),
            ("=HYPERLINK(1)", "cannot contain `=`"),
            ("-rf", "cannot start with `-`"),
            ("café", "cannot contain `é`"),
            (long.as_str(), "at most 64 characters long; this one has 65"),
        ] {
            let issue = name_issue(bad).unwrap_or_else(|| panic!("{bad:?} passed"));
            assert!(issue.contains(why), "{bad:?}: {issue}");
            assert!(issue.contains(NAME_RULE), "{issue}");
        }
        assert_eq!(name_issue(&"a".repeat(MAX_NAME_LEN)), None);
    }

    #[test]
    fn names_made_from_file_names_follow_the_rule() {
        assert_eq!(name_from("web_tier"), "web_tier");
        assert_eq!(name_from("my scenario (2)"), "my_scenario__2_");
        assert_eq!(name_from(".hidden"), "_hidden");
        assert_eq!(name_from(""), "scenario");
        assert_eq!(name_from(&"é".repeat(100)), "_".repeat(MAX_NAME_LEN));
        for text in ["a/b", "..", "x\u{7}", "-x"] {
            assert_eq!(name_issue(&name_from(text)), None, "{text}");
        }
    }

    #[test]
    fn long_components_are_shortened_and_stay_distinct() {
        assert_eq!(shortened("short", 10), "short");
        let a = "k=".to_string() + &"x".repeat(300);
        let b = "k=".to_string() + &"x".repeat(301);
        let (sa, sb) = (shortened(&a, 200), shortened(&b, 200));
        assert_eq!((sa.len(), sb.len()), (200, 200));
        assert_ne!(sa, sb);
        assert!(sa.starts_with("k=xxx"), "{sa}");
        let wide = "é".repeat(150);
        assert!(shortened(&wide, 200).len() <= 200);
    }

    #[test]
    fn csv_formulas_become_text_and_numbers_stay_numbers() {
        for (field, written) in [
            ("=1+1", "'=1+1"),
            ("+cmd", "'+cmd"),
            ("-cmd|' /C calc'!A0", "'-cmd|' /C calc'!A0"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("-5", "-5"),
            ("-0.25", "-0.25"),
            ("+3e2", "+3e2"),
            ("web", "web"),
            ("a=b", "a=b"),
            ("", ""),
        ] {
            assert_eq!(csv_text(field), written, "{field:?}");
        }
    }
}
