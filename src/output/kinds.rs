//! `awsim kinds [KIND]`: the component kinds, from what each declares about itself (its
//! [`crate::components::Kind`] texts, its time-series columns) and from the schema of its keys
//! ([`crate::scenario::schema::kind_keys`]), so the listing cannot drift from the loader.

use crate::components::{self, KindDescription};
use crate::metrics::REQUEST_COLUMNS;
use crate::scenario::schema::kind_keys;
use crate::units::did_you_mean;

/// One line per kind: its name and what it models.
pub fn kinds_list() -> String {
    let kinds = components::kind_descriptions();
    let width = kinds.iter().map(|k| k.kind.len()).max().unwrap_or(0) + 2;
    let mut text = String::new();
    for k in &kinds {
        let first = format!("{:width$}", k.kind);
        text.push_str(&wrap(k.summary, &first, &" ".repeat(width)));
    }
    text.push_str(
        "\n`awsim kinds KIND` describes one: its keys, its figures, what it follows and what \
         it simplifies.\n",
    );
    text
}

/// Everything about `kind`, or a message naming the nearest kind.
pub fn kind_text(kind: &str) -> Result<String, String> {
    let descriptions = components::kind_descriptions();
    let Some(description) = descriptions.iter().find(|k| k.kind == kind) else {
        let names = components::kind_names();
        return Err(format!(
            "no kind is named `{kind}`; the kinds are {}{}",
            names.join(", "),
            did_you_mean(kind, &names)
        ));
    };
    let keys = kind_keys(kind).expect("a kind has a schema");
    Ok(describe(description, &keys))
}

fn describe(k: &KindDescription, keys: &[crate::scenario::schema::KeyDoc]) -> String {
    let mut text = format!("{} — {}\n\n", k.kind, k.summary);
    text.push_str(&format!(
        "[[component]]\nname = \"...\"\nkind = \"{}\"\n\nKeys:\n",
        k.kind
    ));
    for key in keys {
        let mut facts = vec![key.value.clone()];
        if key.required {
            facts.push("required".into());
        }
        if let Some(default) = &key.default {
            facts.push(format!("default {default}"));
        }
        if let Some(bounds) = &key.bounds {
            facts.push(bounds.clone());
        }
        text.push_str(&format!("  {}  ({})\n", key.name, facts.join("; ")));
        if !key.description.is_empty() {
            text.push_str(&wrap(&key.description, "      ", "      "));
        }
    }
    text.push_str("\nFigures over time (timeseries.csv, one column each, prefixed by the component's name):\n");
    text.push_str(&wrap(
        &format!("every component: {}", REQUEST_COLUMNS.join(", ")),
        "  ",
        "    ",
    ));
    for column in k.columns.iter().chain(k.optional_columns) {
        text.push_str(&wrap(
            &format!("{}: {}", column.name, column.description),
            "  ",
            "    ",
        ));
    }
    if !k.headline_figures.is_empty() {
        text.push_str(&format!(
            "\nHeadline figures (summary.json, sweep.csv): {}\n",
            k.headline_figures.join(", ")
        ));
    }
    text.push('\n');
    text.push_str(&wrap(&format!("Follows: {}", k.follows), "", "  "));
    text.push('\n');
    text.push_str(&wrap(&format!("Simplifies: {}", k.simplifies), "", "  "));
    if !k.accepts_requests {
        text.push_str("\nIt takes no requests of its own: others name it in their wiring.\n");
    }
    text
}

/// The width `awsim kinds` wraps its text to.
const WIDTH: usize = 100;

/// `text` wrapped at word boundaries to [`WIDTH`] columns: its first line after `first`, the
/// others after `rest`; ends in a newline. A word longer than the width stays whole.
fn wrap(text: &str, first: &str, rest: &str) -> String {
    let mut out = String::new();
    for (n, paragraph) in text.split('\n').enumerate() {
        let mut line = String::from(if n == 0 { first } else { rest });
        let mut empty = true;
        for word in paragraph.split_whitespace() {
            if !empty && line.chars().count() + 1 + word.chars().count() > WIDTH {
                out.push_str(&line);
                out.push('\n');
                line = String::from(rest);
                empty = true;
            }
            if !empty {
                line.push(' ');
            }
            line.push_str(word);
            empty = false;
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
