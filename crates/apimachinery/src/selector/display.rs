//! Printing a selector as upstream's `String()` does: its requirements in
//! order, joined by commas.

use std::fmt;

/// Writes `requirements` separated by `,` (nothing for none).
pub(crate) fn write_requirements<T: fmt::Display>(
    f: &mut fmt::Formatter<'_>,
    requirements: &[T],
) -> fmt::Result {
    for (i, r) in requirements.iter().enumerate() {
        if i > 0 {
            f.write_str(",")?;
        }
        write!(f, "{r}")?;
    }
    Ok(())
}
