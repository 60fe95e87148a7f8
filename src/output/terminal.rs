//! Text for the terminal. Messages carry what users wrote (names, paths, file contents in
//! errors); a control character in them could move the cursor, clear the screen or make a
//! line look like awsim's own output, so every line awsim prints goes through [`escape`].

use std::borrow::Cow;

/// Whether `c` steers a terminal instead of showing: control characters (C0, DEL, C1) other
/// than a newline or a tab, and the Unicode controls that reorder text (bidirectional
/// embeddings, overrides and isolates, as in "Trojan Source").
fn steers(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every character that steers a terminal written as `\u{..}` (a carriage return
/// before a newline stays: files with Windows line ends are quoted in messages).
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(steers) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if steers(c) && !(c == '\r' && chars.peek() == Some(&'\n')) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert_eq!(
            escape("plain text\n\tindented\n"),
            "plain text\n\tindented\n"
        );
        assert!(matches!(escape("plain"), Cow::Borrowed(_)));
        assert_eq!(escape("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(escape("ok\rforged"), "ok\\u{d}forged");
        assert_eq!(escape("line\r\nnext"), "line\r\nnext");
        assert_eq!(escape("bell\u{7}"), "bell\\u{7}");
        assert_eq!(escape("c1\u{9b}31m"), "c1\\u{9b}31m");
        assert_eq!(escape("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(escape("del\u{7f}"), "del\\u{7f}");
    }
}
