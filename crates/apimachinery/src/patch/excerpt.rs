//! Bounded excerpts of values for error messages: no patch error quotes
//! more than [`MAX_EXCERPT_CHARS`] characters of a value or is longer than
//! [`MAX_MESSAGE_CHARS`], so an answer stays small however large the value
//! it complains about.

use std::borrow::Cow;

use serde::Serialize;

/// At most this many characters of a value are quoted in an error message,
/// then `...`.
pub const MAX_EXCERPT_CHARS: usize = 256;

/// No patch error message is longer than this many characters (then `...`),
/// whatever it quotes (parser errors included).
pub const MAX_MESSAGE_CHARS: usize = 1024;

/// At most [`MAX_EXCERPT_CHARS`] characters of `text`, then `...` if there
/// was more.
pub(crate) fn excerpt(text: &str) -> Cow<'_, str> {
    cut(text, MAX_EXCERPT_CHARS, false)
}

/// An excerpt of `value` serialized as JSON: at most [`MAX_EXCERPT_CHARS`]
/// characters, then `...`. Serialization stops shortly past the excerpt,
/// so quoting a huge value costs no more than quoting a small one.
pub(crate) fn excerpt_json<T: Serialize + ?Sized>(value: &T) -> String {
    /// Keeps the first `cap` bytes written and fails after them, which
    /// makes the serializer stop.
    struct Prefix {
        bytes: Vec<u8>,
        cap: usize,
        full: bool,
    }
    impl std::io::Write for Prefix {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let room = self.cap - self.bytes.len();
            if buf.len() > room {
                self.bytes.extend_from_slice(&buf[..room]);
                self.full = true;
                return Err(std::io::Error::other("excerpt is full"));
            }
            self.bytes.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    // Enough bytes for MAX_EXCERPT_CHARS characters of up to 4 bytes, and
    // one more character to know there is more.
    let mut prefix = Prefix {
        bytes: Vec::new(),
        cap: 4 * (MAX_EXCERPT_CHARS + 1),
        full: false,
    };
    // An error here is the writer being full (handled below) or a value
    // that cannot be serialized (a map with non-string keys: not a
    // `serde_json::Value`); either way what was written is the excerpt.
    let _ = serde_json::to_writer(&mut prefix, value);
    let text = match std::str::from_utf8(&prefix.bytes) {
        Ok(text) => text,
        // Cut inside a character: keep the whole characters before it.
        Err(e) => std::str::from_utf8(&prefix.bytes[..e.valid_up_to()]).unwrap_or_default(),
    };
    cut(text, MAX_EXCERPT_CHARS, prefix.full).into_owned()
}

/// A patch error message of at most [`MAX_MESSAGE_CHARS`] characters.
pub(crate) fn bounded_message(message: String) -> String {
    match cut(&message, MAX_MESSAGE_CHARS, false) {
        Cow::Borrowed(_) => message,
        Cow::Owned(cut) => cut,
    }
}

/// The first `max` characters of `text`, then `...` when there were more
/// or `more` says the text was already cut.
fn cut(text: &str, max: usize, more: bool) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        Some((end, _)) => Cow::Owned(format!("{}...", &text[..end])),
        None if more => Cow::Owned(format!("{text}...")),
        None => Cow::Borrowed(text),
    }
}
