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
