//! The scenario gallery, `scenarios/README.md`: every lesson and example with its question, its
//! wiring as a diagram and its headline plot (the latency plot, or the one its header's
//! `# Plot:` line names). Generated from the scenarios, README's lesson table
//! and their runs; this test fails when it is not current. Regenerate with
//! `AWSIM_BLESS=1 cargo test --release --test it gallery` (after blessing the golden digests,
//! whose plot digests the gallery's pictures must match).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::common::{awsim, scratch, text};
use awsim::scenario::Scenario;

const GALLERY: &str = "scenarios/README.md";
const PICTURES: &str = "scenarios/gallery";
const DIGESTS: &str = "tests/golden/outputs.sha256";

/// The lessons, then the examples, each in file-name order.
fn gallery_scenarios() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["scenarios/lessons", "scenarios/examples"] {
        let mut here: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        here.sort();
        files.extend(here);
    }
    files
}

/// `lessons/cooldown` for `scenarios/lessons/cooldown.toml`, as the golden digests name runs.
fn label(path: &Path) -> String {
    let path = path.to_str().unwrap();
    path.trim_start_matches("scenarios/")
        .trim_end_matches(".toml")
        .to_string()
}

/// The header comment's lines, without their `# `.
fn header(source: &str) -> Vec<String> {
    source
        .lines()
        .take_while(|l| l.starts_with('#'))
        .filter(|l| !l.starts_with("#:"))
        .map(|l| l.trim_start_matches('#').trim().to_string())
        .collect()
}

/// The paragraph of the header that starts with `Question:`, joined into one line.
fn question(lines: &[String]) -> Option<String> {
    let start = lines.iter().position(|l| l.starts_with("Question:"))?;
    let paragraph: Vec<&str> = lines[start..]
        .iter()
        .take_while(|l| !l.is_empty())
        .map(String::as_str)
        .collect();
    Some(
        paragraph
            .join(" ")
            .trim_start_matches("Question:")
            .trim()
            .to_string(),
    )
}

/// README's lesson table: for each lesson file, what it teaches and what to look at.
fn lesson_table() -> BTreeMap<String, (String, String)> {
    let readme = std::fs::read_to_string("README.md").unwrap();
    readme
        .lines()
        .filter(|l| l.starts_with("| `lessons/"))
        .filter_map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split(" | ").map(str::trim).collect();
            let [file, teaches, look] = cells[..] else {
                return None;
            };
            Some((
                file.trim_matches('`').to_string(),
                (teaches.to_string(), look.to_string()),
            ))
        })
        .collect()
}

/// The golden digest of every output file, by `run label/file name`.
fn golden_digests() -> BTreeMap<String, String> {
    std::fs::read_to_string(DIGESTS)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once("  "))
        .map(|(hash, name)| (name.to_string(), hash.to_string()))
        .collect()
}

/// The plot a scenario's header names on a `Plot:` line (the one that shows its point best),
/// or the latency plot.
fn headline_plot(lines: &[String]) -> String {
    lines
        .iter()
        .find_map(|l| l.strip_prefix("Plot:")?.split_whitespace().next())
        .unwrap_or("latency.png")
        .to_string()
}

fn picture(label: &str) -> String {
    format!("{}.png", label.replace('/', "-"))
}

/// A plot the gallery shows.
struct Picture {
    /// The plot in its run's folder, `lessons/cooldown/latency.png`.
    run_file: String,
    /// Its file name in the gallery's folder.
    name: String,
    /// Its golden digest.
    digest: String,
}

/// The gallery's text, and the pictures it shows.
fn gallery() -> (String, Vec<Picture>) {
    let lessons = lesson_table();
    let plots = golden_digests();
    let mut text = String::from(
        "# Scenario gallery\n\n\
         Every lesson and example shipped with awsim: the question it answers, its wiring and its \
         headline plot\n(from a run with the scenario's own duration and seed: \
         `awsim run scenarios/<file>`). Generated, do not edit:\n\
         `AWSIM_BLESS=1 cargo test --release --test it gallery` rewrites it from the scenarios, \
         README's lesson table and\nthe runs, and `tests/it/gallery.rs` fails when it is not current.\n",
    );
    let mut pictures = Vec::new();
    let mut section = String::new();
    for path in gallery_scenarios() {
        let label = label(&path);
        let dir = label.split_once('/').unwrap().0.to_string();
        if dir != section {
            section = dir.clone();
            text.push_str(&format!("\n## {}{}\n", dir[..1].to_uppercase(), &dir[1..]));
        }
        let source = std::fs::read_to_string(&path).unwrap();
        let lines = header(&source);
        let scenario = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
        // The first paragraph says what the scenario is.
        let title: Vec<&str> = lines
            .iter()
            .take_while(|l| !l.is_empty())
            .map(String::as_str)
            .collect();
        let title = title.join(" ");
        text.push_str(&format!("\n### `{label}.toml`\n\n{title}\n\n"));
        match question(&lines) {
            Some(q) => text.push_str(&format!("**Question:** {q}\n\n")),
            None => panic!(
                "{}: its header has no `# Question:` paragraph",
                path.display()
            ),
        }
        let file = format!("{label}.toml");
        if let Some((teaches, look)) = lessons.get(&file) {
            text.push_str(&format!(
                "**What it teaches:** {teaches}\n\n**What to look at:** {look}\n\n"
            ));
        } else if dir == "lessons" {
            panic!("{file} has no row in README's lesson table");
        }
        text.push_str(&format!("```mermaid\n{}```\n", scenario.graph_mermaid()));
        let plot = headline_plot(&lines);
        let run_file = format!("{label}/{plot}");
        match plots.get(&run_file) {
            Some(digest) => {
                let name = picture(&label);
                text.push_str(&format!("\n![{plot}](gallery/{name})\n"));
                pictures.push(Picture {
                    run_file,
                    name,
                    digest: digest.clone(),
                });
            }
            None => panic!("{}: its run has no {plot} in {DIGESTS}", path.display()),
        }
    }
    (text, pictures)
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn the_gallery_is_current() {
    let (gallery_text, pictures) = gallery();
    if std::env::var_os("AWSIM_BLESS").is_some() {
        std::fs::write(GALLERY, &gallery_text).unwrap();
        let _ = std::fs::remove_dir_all(PICTURES);
        std::fs::create_dir_all(PICTURES).unwrap();
        let runs = scratch("gallery", "runs");
        for picture in &pictures {
            let (label, plot) = picture.run_file.rsplit_once('/').unwrap();
            let out = runs.join(label);
            let run = awsim(&[
                "run",
                "-q",
                &format!("scenarios/{label}.toml"),
                "--out",
                out.to_str().unwrap(),
            ]);
            assert!(run.status.success(), "{label}: {}", text(&run.stderr));
            std::fs::copy(out.join(plot), Path::new(PICTURES).join(&picture.name)).unwrap();
        }
        std::fs::remove_dir_all(&runs).unwrap();
    }
    let committed = std::fs::read_to_string(GALLERY).unwrap_or_default();
    assert!(
        committed == gallery_text,
        "{GALLERY} is not current: regenerate it with \
         AWSIM_BLESS=1 cargo test --release --test it gallery"
    );
    let mut stale = Vec::new();
    for picture in &pictures {
        let path = Path::new(PICTURES).join(&picture.name);
        match std::fs::read(&path) {
            Ok(bytes) if sha256(&bytes) == picture.digest => {}
            _ => stale.push(path.display().to_string()),
        }
    }
    let mut extra: Vec<String> = std::fs::read_dir(PICTURES)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| !pictures.iter().any(|p| p.name == *f))
        .collect();
    extra.sort();
    assert!(
        stale.is_empty() && extra.is_empty(),
        "the gallery's pictures are not the golden runs' plots (stale or missing: {stale:?}; \
         shown by no scenario: {extra:?}): regenerate with \
         AWSIM_BLESS=1 cargo test --release --test it gallery"
    );
}

#[test]
fn a_question_paragraph_is_read_whole() {
    let lines = header("# Title\n#\n# Question: how long\n# is a queue?\n#\n# More.\n");
    assert_eq!(question(&lines).as_deref(), Some("how long is a queue?"));
    assert_eq!(question(&header("# Title only\n")), None);
}
