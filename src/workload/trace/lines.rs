//! Reading a trace file line by line, within bounds, with the place of every field.
//!
//! Every trace layout is comma-separated text with one row per line. Reading line by line
//! (rather than record by record, where a quoted field may span lines) keeps what one bad
//! row can do to the rest of the file to that one line: an unterminated quote is a bad row,
//! not a field that swallows every row after it. It also bounds memory by the longest line
//! ([`MAX_LINE_BYTES`]) and gives every field its line and column for error messages.
//!
//! Fields are separated by commas and trimmed of surrounding whitespace; a field may be
//! quoted (`"a, b"`, with `""` for a quote inside) but must close on its own line. A UTF-8
//! byte-order mark before the header is ignored, and lines may end in `\n` or `\r\n`. Empty
//! lines are passed over.

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, ErrorKind, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::{BadRow, MAX_LINE_BYTES, MAX_TRACE_BYTES, quoted, shown};

/// A line that cannot be split into fields.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LineFault {
    /// Its line number.
    pub line: u64,
    /// The column of the fault.
    pub column: u64,
    /// The field it falls in (0-based).
    pub field: usize,
    /// What is wrong.
    pub message: &'static str,
}

impl LineFault {
    /// The bad row, its field named from `header` (or by number past the header's fields).
    pub fn named(self, header: &Fields) -> BadRow {
        BadRow {
            line: self.line,
            column: self.column,
            field: header.get(self.field).map_or_else(
                || format!("field {}", self.field + 1),
                |name| format!("column `{}`", shown(name)),
            ),
            message: self.message.to_string(),
        }
    }
}

/// One line split into fields.
#[derive(Debug, Default)]
pub(crate) struct Fields {
    /// The line number (1 = the first line of the file).
    pub line: u64,
    /// The unquoted, trimmed fields, one after the other.
    values: String,
    /// Where each field ends in `values`.
    ends: Vec<usize>,
    /// Each field's column in the line (1 = the first character).
    columns: Vec<u64>,
}

impl Fields {
    /// How many fields the line has.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// The `i`-th field (0-based), if the line has it.
    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.values[start..end])
    }

    /// The column where the `i`-th field starts, or just past the line's last field when the
    /// line has no such field (where it was expected).
    pub fn column(&self, i: usize) -> u64 {
        match self.columns.get(i) {
            Some(&c) => c,
            None => self.columns.last().map_or(1, |&c| c + 1),
        }
    }

    /// The fields, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).map(|i| self.get(i).expect("in range"))
    }

    /// Splits `line`. On an unterminated quote, `Err` gives the quote's column and field.
    fn split(&mut self, line: &str) -> Result<(), (u64, usize)> {
        self.values.clear();
        self.ends.clear();
        self.columns.clear();
        let bytes = line.as_bytes();
        // Columns count characters; `chars_before` is the count up to byte `at`, kept
        // incremental so a long line is not rescanned for each field.
        let mut counted = (0usize, 0u64);
        let mut column_of = |at: usize| {
            let (from, chars) = counted;
            let chars = chars + line[from..at].chars().count() as u64;
            counted = (at, chars);
            chars + 1
        };
        let mut at = 0;
        loop {
            let lead = bytes[at..]
                .iter()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
            let start = at + lead;
            self.columns.push(column_of(start));
            let value_start = self.values.len();
            if bytes.get(start) == Some(&b'"') {
                let mut i = start + 1;
                loop {
                    let Some(rel) = bytes[i..].iter().position(|&b| b == b'"') else {
                        let column = *self.columns.last().expect("pushed");
                        return Err((column, self.columns.len() - 1));
                    };
                    self.values.push_str(&line[i..i + rel]);
                    i += rel + 1;
                    if bytes.get(i) == Some(&b'"') {
                        self.values.push('"');
                        i += 1;
                    } else {
                        break;
                    }
                }
                // Text after the closing quote joins the field, as in common CSV readers.
                let rest = bytes[i..]
                    .iter()
                    .position(|&b| b == b',')
                    .map_or(bytes.len(), |p| i + p);
                self.values.push_str(&line[i..rest]);
                at = rest;
            } else {
                let end = bytes[start..]
                    .iter()
                    .position(|&b| b == b',')
                    .map_or(bytes.len(), |p| start + p);
                self.values.push_str(&line[start..end]);
                at = end;
            }
            let trimmed_len = self.values[value_start..].trim_end().len();
            self.values.truncate(value_start + trimmed_len);
            self.ends.push(self.values.len());
            if at >= bytes.len() {
                return Ok(());
            }
            at += 1; // the comma
        }
    }
}

/// What reading a line gave.
pub(crate) enum Line {
    /// A line, split into the given [`Fields`].
    Row,
    /// A line that cannot be split: the row is bad (skippable).
    Bad(LineFault),
}

/// A trace file opened for reading lines.
/// What a trace is read from: its file, or the bytes given for it
/// ([`crate::files::with_given_files`]).
trait TraceSource: BufRead + Seek + Send {}
impl<T: BufRead + Seek + Send> TraceSource for T {}

pub(crate) struct Lines {
    path: PathBuf,
    reader: Box<dyn TraceSource>,
    line: u64,
    buffer: Vec<u8>,
}

impl Lines {
    /// Opens `path`, which must be a regular file of at most [`MAX_TRACE_BYTES`].
    pub fn open(path: &Path) -> Result<Lines, String> {
        let name = quoted(path);
        let too_large = |len: u64| {
            format!(
                "the trace {name} is {len} bytes, more than the limit of {MAX_TRACE_BYTES} \
                 bytes (16 GiB)"
            )
        };
        if let Some(bytes) = crate::files::given_file(path) {
            if bytes.len() as u64 > MAX_TRACE_BYTES {
                return Err(too_large(bytes.len() as u64));
            }
            return Ok(Lines {
                path: path.to_path_buf(),
                reader: Box::new(Cursor::new(bytes)),
                line: 0,
                buffer: Vec::new(),
            });
        }
        let cannot_read = |e: std::io::Error| format!("cannot read the trace {name}: {e}");
        // Checked before opening (opening a pipe waits for a writer) and again on what was
        // opened. A trace is read several times (checked, then replayed, and again for each
        // loop), which a pipe or a device cannot be; and a device may never end.
        let not_a_file = || {
            format!(
                "the trace {name} is not a regular file (a trace is read more than once, so it \
                 must be a file, not a device, pipe or folder)"
            )
        };
        if !std::fs::metadata(path).map_err(cannot_read)?.is_file() {
            return Err(not_a_file());
        }
        let file = File::open(path).map_err(cannot_read)?;
        let meta = file.metadata().map_err(cannot_read)?;
        if !meta.is_file() {
            return Err(not_a_file());
        }
        if meta.len() > MAX_TRACE_BYTES {
            return Err(too_large(meta.len()));
        }
        Ok(Lines {
            path: path.to_path_buf(),
            reader: Box::new(BufReader::with_capacity(64 * 1024, file)),
            line: 0,
            buffer: Vec::new(),
        })
    }

    /// Back to the start of the file, then past its header (read into `header`): cheaper than
    /// opening it again, which a short looped trace does once a lap.
    pub fn rewind(&mut self, header: &mut Fields) -> Result<(), String> {
        self.reader
            .seek(SeekFrom::Start(0))
            .map_err(|e| format!("cannot read the trace {} again: {e}", quoted(&self.path)))?;
        self.line = 0;
        self.header(header)
    }

    /// Reads the next non-empty line into `fields`: `Ok(None)` at the end of the file,
    /// `Ok(Some(Line::Bad))` for a line that is not UTF-8 text or has an unterminated quote,
    /// and `Err` for what stops the whole file (a line over [`MAX_LINE_BYTES`], a read error).
    pub fn next(&mut self, fields: &mut Fields) -> Result<Option<Line>, String> {
        loop {
            self.buffer.clear();
            if !self.read_line()? {
                return Ok(None);
            }
            self.line += 1;
            let mut bytes = &self.buffer[..];
            if self.line == 1 {
                bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            }
            if let Some(rest) = bytes.strip_suffix(b"\n") {
                bytes = rest.strip_suffix(b"\r").unwrap_or(rest);
            }
            if bytes.is_empty() {
                continue;
            }
            fields.line = self.line;
            let text = match std::str::from_utf8(bytes) {
                Ok(text) => text,
                Err(e) => {
                    // Locate the bad byte: its column, and the field it falls in.
                    let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).expect("valid");
                    let column = valid.chars().count() as u64 + 1;
                    let field = fields.split(valid).map_or(0, |()| fields.len() - 1);
                    return Ok(Some(Line::Bad(LineFault {
                        line: self.line,
                        column,
                        field,
                        message: "the line is not UTF-8 text",
                    })));
                }
            };
            return Ok(Some(match fields.split(text) {
                Ok(()) => Line::Row,
                Err((column, field)) => Line::Bad(LineFault {
                    line: self.line,
                    column,
                    field,
                    message: "the quote that opens this field is not closed on this line (a \
                              field cannot span lines)",
                }),
            }));
        }
    }

    /// Appends the next line (with its `\n`, if any) to the buffer; `false` at the end.
    fn read_line(&mut self) -> Result<bool, String> {
        loop {
            let available = match self.reader.fill_buf() {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(format!(
                        "{}:{}: cannot read the trace: {e}",
                        quoted(&self.path),
                        self.line + 1
                    ));
                }
            };
            if available.is_empty() {
                return Ok(!self.buffer.is_empty());
            }
            let (take, done) = match available.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (available.len(), false),
            };
            if self.buffer.len() + take > MAX_LINE_BYTES + 2 {
                return Err(format!(
                    "{}:{}:1: the line is longer than the limit of {MAX_LINE_BYTES} bytes \
                     (1 MiB); is this a trace?",
                    quoted(&self.path),
                    self.line + 1
                ));
            }
            self.buffer.extend_from_slice(&available[..take]);
            self.reader.consume(take);
            if done {
                return Ok(true);
            }
        }
    }

    /// Reads the header (the first non-empty line) into `fields`; a header that is not text
    /// is an error naming its place.
    pub fn header(&mut self, fields: &mut Fields) -> Result<(), String> {
        match self.next(fields)? {
            Some(Line::Row) => Ok(()),
            Some(Line::Bad(bad)) => Err(format!(
                "{}:{}:{}: the header cannot be read: {}; is this a trace?",
                quoted(&self.path),
                bad.line,
                bad.column,
                bad.message
            )),
            None => Err(format!(
                "{}: the trace is empty; expected a header line",
                quoted(&self.path)
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(line: &str) -> Result<(Vec<String>, Vec<u64>), (u64, usize)> {
        let mut f = Fields::default();
        f.split(line)?;
        Ok((f.iter().map(String::from).collect(), f.columns.clone()))
    }

    #[test]
    fn fields_are_trimmed_unquoted_and_located() {
        let (v, c) = split(" 1.5 , \"a, \"\"b\"\"\" ,,é,x").unwrap();
        assert_eq!(v, ["1.5", "a, \"b\"", "", "é", "x"]);
        assert_eq!(c, [2, 8, 20, 21, 23]);
        assert_eq!(split("a,\"b,c\",\"open").unwrap_err(), (9, 2));
        assert_eq!(split("").unwrap().0, [""]);
    }
}
