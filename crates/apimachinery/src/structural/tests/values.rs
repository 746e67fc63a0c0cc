//! The Go-compatible value helpers and format checks.

use super::*;

#[test]
fn go_float_formatting() {
    assert_eq!(go_float(1.0), "1");
    assert_eq!(go_float(1.5), "1.5");
    assert_eq!(go_float(1e21), "1e+21");
    assert_eq!(go_float(0.00001), "1e-05");
    assert_eq!(go_float(-2.5e-7), "-2.5e-07");
}

#[test]
fn format_helpers() {
    assert!(is_date_time("2024-01-02T03:04:05.1Z"));
    assert!(is_date_time("2024-01-02T23:59:59-07:00"));
    assert!(!is_date_time("2024-01-02T24:00:00Z"));
    assert!(!is_date_time("2024-01-02T03:04:05.Z"));
    assert!(!is_date_time("2024-01-02"));
    assert!(is_mac("00:1a:2b:3c:4d:5e"));
    assert!(is_mac("001a.2b3c.4d5e"));
    assert!(!is_mac("00:1a:2b"));
    assert!(is_hostname("example.com"));
    assert!(!is_hostname("-bad-.com"));
    assert!(is_uuid("123e4567-e89b-42d3-a456-426614174000", Some('4')));
    assert!(!is_uuid("123e4567-e89b-12d3-a456-426614174000", Some('4')));
    assert!(is_ssn("123-45-6789"));
    assert!(is_hex_color("#fff"));
    assert!(!is_base64("abc"));
    assert!(is_base64("YWI="));
}
