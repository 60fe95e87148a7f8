//! Scenario errors that point at the file: `file:line:column`, the field, what was expected,
//! the nearest valid name, and the offending line with a caret under the problem.

use std::fmt;
use std::ops::Range;
use std::path::Path;

use toml::de::{DeTable, DeValue};

use crate::units::did_you_mean;

/// One problem in a scenario file.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// Where, in bytes of the text (`None` when the problem is not at one place).
    pub span: Option<Range<usize>>,
    /// The field, e.g. `component "web" > handler[0].compute` (when known).
    pub field: Option<String>,
    /// What is wrong and what was expected.
    pub message: String,
    /// 1-based line (0 when there is no span).
    pub line: usize,
    /// 1-based column, in characters (0 when there is no span).
    pub column: usize,
    /// The text of the line, for the caret display.
    source_line: Option<String>,
}

impl Diagnostic {
    /// A problem that is not at one place in the file.
    pub fn plain(message: String) -> Self {
        Diagnostic {
            span: None,
            field: None,
            message,
            line: 0,
            column: 0,
            source_line: None,
        }
    }

    /// A problem at `span`; the field is found from the document tree.
    pub fn at(span: Range<usize>, root: &DeTable<'_>, message: String) -> Self {
        Diagnostic {
            field: field_at(root, &span),
            span: Some(span),
            ..Diagnostic::plain(message)
        }
    }

    /// A problem at `span` outside any field (e.g. a byte that is not UTF-8).
    pub fn located(span: Range<usize>, message: String) -> Self {
        Diagnostic {
            span: Some(span),
            ..Diagnostic::plain(message)
        }
    }

    /// A problem the TOML parser or serde reported.
    pub fn from_toml(error: &toml::de::Error, root: Option<&DeTable<'_>>) -> Self {
        let message = with_suggestion(error.message());
        match (error.span(), root) {
            (Some(span), Some(root)) => Diagnostic::at(span, root, message),
            (Some(span), None) => Diagnostic::located(span, message),
            (None, _) => Diagnostic::plain(message),
        }
    }

    fn locate(&mut self, text: &str) {
        if let Some(span) = &self.span {
            let (line, column) = line_col(text, span.start);
            self.line = line;
            self.column = column;
            self.source_line = text.lines().nth(line - 1).map(str::to_string);
        }
    }
}

/// Every problem found in one scenario file.
#[derive(Clone, Debug)]
pub struct ScenarioError {
    /// The file, as given.
    pub file: String,
    /// The problems, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl ScenarioError {
    /// Problems in `text` (the contents of `file`), located to line and column.
    pub fn new(file: &Path, text: &str, mut diagnostics: Vec<Diagnostic>) -> Self {
        for d in &mut diagnostics {
            d.locate(text);
        }
        diagnostics.sort_by_key(|d| (d.line, d.column));
        ScenarioError {
            file: file.display().to_string(),
            diagnostics,
        }
    }

    /// One problem with no text to locate it in (e.g. the file cannot be read).
    pub fn single(file: &Path, diagnostic: Diagnostic) -> Self {
        ScenarioError {
            file: file.display().to_string(),
            diagnostics: vec![diagnostic],
        }
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            if d.line > 0 {
                write!(f, "{}:{}:{}: ", self.file, d.line, d.column)?;
            } else {
                write!(f, "{}: ", self.file)?;
            }
            if let Some(field) = &d.field {
                write!(f, "{field}: ")?;
            }
            write!(f, "{}", d.message)?;
            if let Some(line) = &d.source_line {
                let width = d.line.to_string().len();
                let len = d
                    .span
                    .as_ref()
                    .map(|s| s.len())
                    .unwrap_or(1)
                    .clamp(1, line.chars().count().saturating_sub(d.column - 1).max(1));
                write!(
                    f,
                    "\n{:width$} |\n{} | {}\n{:width$} | {}{}",
                    "",
                    d.line,
                    line,
                    "",
                    " ".repeat(d.column - 1),
                    "^".repeat(len)
                )?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Adds a "did you mean" to serde's "unknown field `x`, expected one of `a`, `b`" messages.
fn with_suggestion(message: &str) -> String {
    let unknown = message.starts_with("unknown field") || message.starts_with("unknown variant");
    if !unknown {
        return message.to_string();
    }
    let ticked: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    match ticked.split_first() {
        Some((name, candidates)) => format!("{message}{}", did_you_mean(name, candidates)),
        None => message.to_string(),
    }
}

/// Path steps inside the document.
enum Step {
    Key(String),
    Index(usize),
}

/// The field at `span`, written for people: `component "web" > handler[0].compute`,
/// `workload "shoppers" > arrival`, `simulation.duration`.
fn field_at(root: &DeTable<'_>, span: &Range<usize>) -> Option<String> {
    let mut path = Vec::new();
    if !walk_table(root, span, &mut path) || path.is_empty() {
        return None;
    }
    let mut out = String::new();
    let mut rest = &path[..];
    // `[[component]]` and `[[workload]]` entries are named by their `name`.
    if let [Step::Key(section), Step::Index(i), tail @ ..] = rest
        && (section == "component" || section == "workload")
    {
        let name = root
            .get(section.as_str())
            .and_then(|v| v.get_ref().as_array())
            .and_then(|a| a.get(*i))
            .and_then(|item| match item.get_ref() {
                DeValue::Table(t) => t.get("name"),
                _ => None,
            })
            .and_then(|n| n.get_ref().as_str().map(str::to_string));
        out = match name {
            Some(name) => format!("{section} `{name}`"),
            None => format!("{section} number {}", i + 1),
        };
        rest = tail;
    }
    let mut field = String::new();
    for step in rest {
        match step {
            Step::Key(k) => {
                if !field.is_empty() {
                    field.push('.');
                }
                field.push_str(k);
            }
            Step::Index(i) => field.push_str(&format!("[{i}]")),
        }
    }
    match (out.is_empty(), field.is_empty()) {
        (true, _) => Some(format!("field `{field}`")),
        (false, true) => Some(out),
        (false, false) => Some(format!("{out}, field `{field}`")),
    }
}

fn contains(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end.max(outer.start + 1)
}

// Header tables (`[simulation]`, `[[component]]`) have spans that cover only their header line,
// so the search visits every child instead of pruning by the parent's span.
fn walk_table(table: &DeTable<'_>, span: &Range<usize>, path: &mut Vec<Step>) -> bool {
    for (key, value) in table.iter() {
        path.push(Step::Key(key.get_ref().to_string()));
        if contains(&key.span(), span) || walk_value(value, span, path) {
            return true;
        }
        path.pop();
    }
    false
}

fn walk_value(
    value: &toml::Spanned<DeValue<'_>>,
    span: &Range<usize>,
    path: &mut Vec<Step>,
) -> bool {
    let found_inside = match value.get_ref() {
        DeValue::Table(t) => walk_table(t, span, path),
        DeValue::Array(items) => items.iter().enumerate().any(|(i, item)| {
            path.push(Step::Index(i));
            let found = walk_value(item, span, path);
            if !found {
                path.pop();
            }
            found
        }),
        _ => false,
    };
    found_inside || contains(&value.span(), span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters() {
        let text = "a = 1\nbé = \"x\"\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 6), (2, 1));
        assert_eq!(line_col(text, text.find('=').unwrap()), (1, 3));
        let second_eq = text.rfind('=').unwrap();
        assert_eq!(line_col(text, second_eq), (2, 4));
    }

    #[test]
    fn suggestions_pick_the_nearest_name() {
        assert_eq!(
            with_suggestion("unknown field `instanses`, expected one of `instances`, `vcpus`"),
            "unknown field `instanses`, expected one of `instances`, `vcpus`; did you mean \
             `instances`?"
        );
    }
}
