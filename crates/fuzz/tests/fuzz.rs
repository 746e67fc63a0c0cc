//! Each target fuzzed for `SKEWLESS_FUZZ_SECONDS` (default 10 s); see the
//! crate documentation. Run longer with e.g.
//! `SKEWLESS_FUZZ_SECONDS=600 cargo nextest run -p skewless-fuzz`.

use skewless_fuzz::{Target, fuzz, targets};

fn run(target: &Target) {
    let report = fuzz(target);
    eprintln!("{}: {report:?}", target.name);
    assert!(report.executions > 0);
}

#[test]
fn fuzz_request_info() {
    run(&targets::REQUEST_INFO);
}

#[test]
fn fuzz_label_selector() {
    run(&targets::LABEL_SELECTOR);
}

#[test]
fn fuzz_field_selector() {
    run(&targets::FIELD_SELECTOR);
}

#[test]
fn fuzz_patch() {
    run(&targets::PATCH);
}

#[test]
fn fuzz_body() {
    run(&targets::BODY);
}

#[test]
fn fuzz_protobuf() {
    run(&targets::PROTOBUF);
}

#[test]
fn fuzz_discovery_merge() {
    run(&targets::DISCOVERY_MERGE);
}

#[test]
fn fuzz_defaults() {
    run(&targets::DEFAULTS);
}

#[test]
fn fuzz_conversion() {
    run(&targets::CONVERSION);
}
