//! The architecture's rules, checked on the source: a kind is the only door to itself.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ exists") {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A file's production code: without its unit-test module and without comments (prose may
/// name kinds; code may not).
fn production_code(text: &str) -> String {
    let code = match text.find("#[cfg(test)]") {
        Some(at) => &text[..at],
        None => text,
    };
    // Comment lines become empty, so line numbers stay right.
    code.lines()
        .map(|line| {
            if line.trim_start().starts_with("//") {
                ""
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether `file` belongs to `kind`: its own file, or a file in its own folder.
fn belongs_to(file: &Path, kind: &str) -> bool {
    let components = Path::new("src/components");
    file == components.join(format!("{kind}.rs")) || file.starts_with(components.join(kind))
}

#[test]
fn a_kinds_name_appears_only_in_its_own_files_and_the_registry() {
    let mut files = Vec::new();
    rust_files(Path::new("src"), &mut files);
    files.sort();
    let registry = Path::new("src/components/mod.rs");
    let mut offences = Vec::new();
    for file in &files {
        if file == registry {
            continue;
        }
        // A kind's `tests.rs` is its `#[cfg(test)] mod tests`: test scenarios may wire it to
        // another kind, as inline tests (cut off by `production_code`) may.
        if file.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let code = production_code(&std::fs::read_to_string(file).unwrap());
        for kind in awsim::components::kind_names() {
            if belongs_to(file, kind) {
                continue;
            }
            let quoted = format!("\"{kind}\"");
            for (i, line) in code.lines().enumerate() {
                if line.contains(&quoted) {
                    offences.push(format!("{}:{}: {}", file.display(), i + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "a kind's name outside its own file and the registry (ask the kind through the \
         registry instead):\n  {}",
        offences.join("\n  ")
    );
}

/// The layers of `src/`, lowest first (ARCHITECTURE.md): a module may use only modules of a
/// lower layer, or itself.
const LAYERS: &[&[&str]] = &[
    &["engine"],
    &["units", "message", "files"],
    &["dist"],
    &["defaults"],
    &["region"],
    &["metrics"],
    &["import"],
    &["components"],
    &["workload", "faults"],
    &["scenario"],
    &["run"],
    &["output"],
    &["sweep"],
    &["cli"],
];

/// Uses that must point up, each as (from, to, why): none today. The test fails on a use not
/// listed here and on a listed one that has disappeared, so the list only shrinks.
const KNOWN_UPWARD: &[(&str, &str, &str)] = &[];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// The top-level module a source file belongs to (`src/components/alb/mod.rs` → `components`).
fn module_of(file: &Path) -> String {
    let relative = file.strip_prefix("src").unwrap();
    let first = relative
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

#[test]
fn dependencies_point_down_the_layers() {
    let mut files = Vec::new();
    rust_files(Path::new("src"), &mut files);
    files.sort();
    let mut upward: Vec<(String, String, String)> = Vec::new();
    for file in &files {
        // A unit-test module of its own (`mod tests;`) is test code.
        if file.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let from = module_of(file);
        let Some(from_layer) = layer_of(&from) else {
            continue; // lib.rs, main.rs
        };
        let code = production_code(&std::fs::read_to_string(file).unwrap());
        for (i, line) in code.lines().enumerate() {
            for (at, _) in line.match_indices("crate::") {
                let to: String = line[at + 7..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let Some(to_layer) = layer_of(&to) else {
                    continue;
                };
                if to != from && to_layer >= from_layer {
                    upward.push((from.clone(), to, format!("{}:{}", file.display(), i + 1)));
                }
            }
        }
    }
    let mut unexplained = Vec::new();
    for (from, to, place) in &upward {
        if !KNOWN_UPWARD.iter().any(|(f, t, _)| f == from && t == to) {
            unexplained.push(format!("{place}: {from} uses {to}"));
        }
    }
    assert!(
        unexplained.is_empty(),
        "uses that point up the layers (see ARCHITECTURE.md):\n  {}",
        unexplained.join("\n  ")
    );
    for (from, to, why) in KNOWN_UPWARD {
        assert!(
            upward.iter().any(|(f, t, _)| f == from && t == to),
            "{from} no longer uses {to} ({why}): remove it from KNOWN_UPWARD"
        );
    }
}
