//! Bounds on the work and memory a patch can cost, so that no small request
//! can make the server build a huge object ("patch bombs", the
//! CVE-2019-1002100 class), and on how much of a value an error message may
//! echo.
//!
//! - A JSON patch holds at most [`PatchLimits::max_operations`] operations
//!   (kube-apiserver's `maxJSONPatchOperations`, 10,000; 413 otherwise).
//! - The values the operations of a JSON patch put into the document (the
//!   value of an `add` or `replace`, the source of a `copy` or `move`) add
//!   up, measured as serialized JSON, to at most [`PatchLimits::max_bytes`]:
//!   the JSON patch library's `AccumulatedCopySizeLimit` of upstream, here
//!   counting every operation that inserts a value. The check comes before
//!   the operation, so a chain of `copy` operations that doubles the object
//!   each time stops as soon as it has cost `max_bytes`.
//! - The patched object of any patch type serializes to at most
//!   [`PatchLimits::max_bytes`] (413, `Request entity too large: limit is
//!   N`, as a request body over the server's limit).
//! - A patch document nests at most [`MAX_PATCH_DEPTH`] levels (400), and a
//!   patched object at most [`MAX_OBJECT_DEPTH`] levels (422), so that it
//!   can be decoded again.
//! - Error messages quote at most [`MAX_EXCERPT_CHARS`] characters of any
//!   value and are at most [`MAX_MESSAGE_CHARS`] long.
//!
//! Sizes are measured by [`json_size_up_to`], which stops counting once past
//! its limit: measuring a huge value costs no more than the limit.

use std::fmt::Write as _;

use serde_json::Value;

use super::excerpt::bounded_message;
use super::types::PatchError;

/// kube-apiserver refuses JSON patches with more operations than this (413).
pub const MAX_JSON_PATCH_OPERATIONS: usize = 10_000;

/// The default size limit of a patched object and of what a JSON patch may
/// insert: kube-apiserver's default request body limit, 3 MiB.
pub const DEFAULT_MAX_BYTES: usize = 3 * 1024 * 1024;

/// The deepest nesting of arrays and objects a patch document may have
/// (`{}` is one level). Deeper patches are refused with 400. JSON bodies
/// cannot go past 127 levels anyway (serde_json's recursion limit); this
/// holds YAML apply bodies, whose block-style nesting the pre-parse checks
/// do not see, and every other patch type to one documented bound.
pub const MAX_PATCH_DEPTH: usize = 100;

/// The deepest nesting a patched object may have: serde_json's recursion
/// limit (it decodes 127 levels, not 128), so that whatever a patch stores
/// can be read back. Only a JSON patch can nest an object deeper than its
/// patch document (an `add` at a deep path, or a `copy` into the copied
/// value); the result is refused with 422.
pub const MAX_OBJECT_DEPTH: usize = 127;

pub use super::excerpt::{MAX_EXCERPT_CHARS, MAX_MESSAGE_CHARS};

/// What a patch may cost. [`Default`] is kube-apiserver's: 10,000 JSON patch
/// operations and 3 MiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatchLimits {
    /// The most operations a JSON patch may hold (413 beyond).
    pub max_operations: usize,
    /// The most bytes (serialized JSON) of the patched object, and of all
    /// the values a JSON patch inserts together (413 beyond). The server
    /// passes its request body limit.
    pub max_bytes: usize,
}

impl Default for PatchLimits {
    fn default() -> Self {
        PatchLimits {
            max_operations: MAX_JSON_PATCH_OPERATIONS,
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

impl PatchLimits {
    /// The default limits with `max_bytes` as the size limit.
    pub fn with_max_bytes(max_bytes: usize) -> PatchLimits {
        PatchLimits {
            max_bytes,
            ..PatchLimits::default()
        }
    }

    /// Fails when a patched object is larger than `max_bytes` (413) or
    /// nests deeper than [`MAX_OBJECT_DEPTH`] (422).
    pub(crate) fn check_result(&self, patched: &Value) -> Result<(), PatchError> {
        if json_size_up_to(patched, self.max_bytes) > self.max_bytes {
            return Err(PatchError::TooLarge {
                limit: self.max_bytes,
            });
        }
        if deeper_than(patched, MAX_OBJECT_DEPTH) {
            return Err(unprocessable(format!(
                "the patched object nests deeper than {MAX_OBJECT_DEPTH} levels"
            )));
        }
        Ok(())
    }
}

/// Fails (400) when a decoded patch document nests deeper than
/// [`MAX_PATCH_DEPTH`]. Visits at most that many levels.
pub(crate) fn check_patch_depth(patch: &Value) -> Result<(), PatchError> {
    if deeper_than(patch, MAX_PATCH_DEPTH) {
        return Err(PatchError::TooDeep {
            max: MAX_PATCH_DEPTH,
        });
    }
    Ok(())
}

/// The running total of what a JSON patch inserts into the document.
#[derive(Debug)]
pub(crate) struct InsertBudget {
    limit: usize,
    spent: usize,
}

impl InsertBudget {
    pub(crate) fn new(limit: usize) -> InsertBudget {
        InsertBudget { limit, spent: 0 }
    }

    /// Adds the size of `value` to the total; fails (413) when the total
    /// passes the limit. Measuring stops there, so the whole budget costs
    /// at most `limit` bytes of counting, however many operations spend it.
    pub(crate) fn charge(&mut self, value: &Value) -> Result<(), PatchError> {
        let remaining = self.limit - self.spent;
        let size = json_size_up_to(value, remaining);
        if size > remaining {
            return Err(PatchError::TooLarge { limit: self.limit });
        }
        self.spent += size;
        Ok(())
    }
}

/// `true` when `value` nests arrays and objects more than `max` levels deep
/// (`{}` and `[]` are one level, a scalar none). Recurses at most `max + 1`
/// levels whatever the depth of `value`.
pub(crate) fn deeper_than(value: &Value, max: usize) -> bool {
    match value {
        Value::Array(items) => max == 0 || items.iter().any(|item| deeper_than(item, max - 1)),
        Value::Object(map) => max == 0 || map.values().any(|item| deeper_than(item, max - 1)),
        _ => false,
    }
}

/// The size in bytes of `value` serialized as compact JSON (as
/// `serde_json::to_vec` writes it; floats are counted as their `Display`
/// form, which can differ by a few bytes), counted only until it passes
/// `limit`: the result is exact when it is at most `limit`, and some number
/// above `limit` otherwise. The work is proportional to the smaller of the
/// two sizes, and nothing is allocated but a stack of open containers.
pub fn json_size_up_to(value: &Value, limit: usize) -> usize {
    enum Open<'v> {
        Array(std::slice::Iter<'v, Value>),
        Object(serde_json::map::Iter<'v>),
    }
    let mut size = 0usize;
    let mut open: Vec<Open<'_>> = Vec::new();
    let mut next = Some(value);
    loop {
        if let Some(value) = next.take() {
            let own = match value {
                Value::Null => 4,
                Value::Bool(true) => 4,
                Value::Bool(false) => 5,
                Value::Number(number) => display_len(number),
                Value::String(text) => string_size(text, limit.saturating_sub(size)),
                // The opening bracket; each item then counts one more byte,
                // its comma or (the last one) the closing bracket.
                Value::Array(items) if items.is_empty() => 2,
                Value::Array(items) => {
                    open.push(Open::Array(items.iter()));
                    1
                }
                Value::Object(map) if map.is_empty() => 2,
                Value::Object(map) => {
                    open.push(Open::Object(map.iter()));
                    1
                }
            };
            size = size.saturating_add(own);
            if size > limit {
                return size;
            }
        }
        match open.last_mut() {
            None => return size,
            Some(Open::Array(items)) => match items.next() {
                Some(item) => {
                    size = size.saturating_add(1);
                    next = Some(item);
                }
                None => {
                    open.pop();
                }
            },
            Some(Open::Object(members)) => match members.next() {
                Some((key, item)) => {
                    // The key, its colon, and the comma or closing brace.
                    size = size.saturating_add(string_size(key, limit.saturating_sub(size)) + 2);
                    next = Some(item);
                }
                None => {
                    open.pop();
                }
            },
        }
    }
}

/// The serialized size of a JSON string, quotes and escapes included; or,
/// without looking for escapes, some size above `limit` if it has more
/// bytes than that.
fn string_size(text: &str, limit: usize) -> usize {
    let unescaped = text.len() + 2;
    if unescaped > limit {
        return unescaped;
    }
    let escapes: usize = text
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\x08' | b'\x0c' | b'\n' | b'\r' | b'\t' => 1,
            0x00..=0x1f => 5,
            _ => 0,
        })
        .sum();
    unescaped + escapes
}

/// The length of a value's `Display` form, without allocating.
fn display_len(value: &impl std::fmt::Display) -> usize {
    struct Count(usize);
    impl std::fmt::Write for Count {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0 += s.len();
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to a counter cannot fail.
    let _ = write!(count, "{value}");
    count.0
}

/// 422 with `detail` (bounded) for the logs.
pub(crate) fn unprocessable(detail: impl Into<String>) -> PatchError {
    PatchError::Unprocessable {
        detail: bounded_message(detail.into()),
    }
}
