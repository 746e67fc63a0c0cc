//! The request head's size bound: checked before anything else reads the
//! request, so that an oversize head gets a 431 `Status` on HTTP/1.1 and
//! HTTP/2 alike (hyper's own limit, set above this one in `accept`, would
//! answer with an empty body).

use skewless_apimachinery::status::ApiError;

/// The largest request head accepted (Go's `DefaultMaxHeaderBytes`),
/// checked by [`check`] so that the refusal is a 431 `Status`.
pub(crate) const MAX_HEADER_BYTES: usize = 1 << 20;
/// The size of a request head as HTTP/1.1 writes it (request line, each
/// header line, the blank line), whichever protocol carried it.
fn head_bytes(parts: &http::request::Parts) -> usize {
    let target = parts.uri.path_and_query().map_or(1, |p| p.as_str().len());
    let line = parts.method.as_str().len() + 1 + target + " HTTP/1.1\r\n".len();
    let headers: usize = parts
        .headers
        .iter()
        .map(|(name, value)| name.as_str().len() + 2 + value.len() + 2)
        .sum();
    line + headers + 2
}

/// Our bound on the request head ([`MAX_HEADER_BYTES`], as Go's, URI
/// included): beyond it 431 with a `Status`, on HTTP/1.1 and HTTP/2 alike.
pub(crate) fn check(parts: &http::request::Parts) -> Result<(), ApiError> {
    let n = head_bytes(parts);
    if n > MAX_HEADER_BYTES {
        return Err(ApiError::RequestHeaderFieldsTooLarge(format!(
            "the request head is {n} bytes, at most {MAX_HEADER_BYTES} are accepted"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str, headers: &[(&str, usize)]) -> http::request::Parts {
        let mut b = http::Request::builder().uri(uri);
        for (name, len) in headers {
            b = b.header(*name, "v".repeat(*len));
        }
        b.body(())
            .map(|r| r.into_parts().0)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn heads_count_request_line_and_header_lines() {
        // "GET /a HTTP/1.1\r\n" + "x: vvv\r\n" + "\r\n"
        assert_eq!(head_bytes(&parts("/a", &[("x", 3)])), 17 + 8 + 2);
    }

    #[test]
    fn oversize_heads_are_431_statuses_uri_included() {
        assert!(check(&parts("/api", &[("x", 1000)])).is_ok());
        // The URI counts (the `http` crate's own URI bound is 65,534 bytes).
        let long_uri = format!("/api?{}", "a".repeat(60_000));
        assert!(check(&parts(&long_uri, &[("x", MAX_HEADER_BYTES - 61_000)])).is_ok());
        for p in [
            parts("/api", &[("x", MAX_HEADER_BYTES)]),
            parts(&long_uri, &[("x", MAX_HEADER_BYTES - 50_000)]),
        ] {
            let err = check(&p).err().map(|e| e.code());
            assert_eq!(err, Some(431));
        }
    }
}
