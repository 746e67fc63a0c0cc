//! A small mutation fuzzer that runs as ordinary tests (no nightly
//! toolchain, no cargo-fuzz): each target is fed its checked-in seeds
//! (`corpus/<target>/*`), then inputs mutated from them (byte flips,
//! inserts, deletes, duplicated ranges, splices, dictionary tokens) and,
//! where cheap, structure-aware generated inputs, for a bounded wall time
//! (`SKEWLESS_FUZZ_SECONDS`, default [`DEFAULT_SECONDS`]).
//!
//! A target fails on a panic (the input is printed as hex with the target)
//! and when one input runs longer than [`PER_INPUT_BOUND`]: a watchdog
//! thread prints the input and aborts the process, since a stuck parser
//! cannot be interrupted.
//!
//! The random source is a seeded SplitMix64 (`SKEWLESS_FUZZ_SEED`, default
//! fixed), so a run is reproducible apart from how many inputs fit in the
//! time. There is no coverage instrumentation: an input joins the pool when
//! its outcome (the target's short description of what happened) is new.

pub mod targets;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Wall time per target when `SKEWLESS_FUZZ_SECONDS` is not set.
pub const DEFAULT_SECONDS: u64 = 10;
/// The most time one input may take (a correctness bound: every target is
/// linear or near it in its input, and inputs are at most [`MAX_INPUT`]).
pub const PER_INPUT_BOUND: Duration = Duration::from_secs(1);
/// The largest input the mutator builds.
pub const MAX_INPUT: usize = 64 * 1024;
/// The most inputs kept in the pool besides the seeds.
const MAX_POOL: usize = 2_000;

/// SplitMix64: small, fast, and good enough to pick mutations.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`0` when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len()))
    }
}

/// Bytes that often matter to parsers.
const INTERESTING: &[u8] = b"\0\x01\x7f\x80\xff{}[]\"'\\:,-#&*!|>?%@`\n\r\t 0123456789eE+.";

/// One input changed by 1 to 8 stacked mutations; `other` feeds splices.
pub fn mutate(rng: &mut Rng, input: &[u8], other: &[u8], dictionary: &[&[u8]]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(8) {
        let len = out.len();
        match rng.below(10) {
            0 if len > 0 => {
                let i = rng.below(len);
                out[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                out[i] = *rng.pick(INTERESTING).unwrap_or(&0);
            }
            2 => {
                let i = rng.below(len + 1);
                let n = 1 + rng.below(8);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
                out.splice(i..i, bytes);
            }
            3 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                out.drain(i..i + n);
            }
            4 if len > 0 => {
                // Duplicate a range, sometimes many times (repetition finds
                // super-linear work).
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(256));
                let chunk = out[i..i + n].to_vec();
                let times = if rng.chance(8) { 1 + rng.below(200) } else { 1 };
                let at = rng.below(len + 1);
                let repeated: Vec<u8> = chunk.iter().copied().cycle().take(n * times).collect();
                out.splice(at..at, repeated);
            }
            5 if !other.is_empty() => {
                // Splice: our head, the other input's tail.
                let cut = rng.below(len + 1);
                let from = rng.below(other.len());
                out.truncate(cut);
                out.extend_from_slice(&other[from..]);
            }
            6 | 7 if !dictionary.is_empty() => {
                let token = rng.pick(dictionary).copied().unwrap_or(b"");
                let i = rng.below(len + 1);
                if rng.chance(2) && len > 0 {
                    let n = 1 + rng.below((len - i.min(len - 1)).min(16));
                    let start = i.min(len - 1);
                    out.splice(start..start + n, token.iter().copied());
                } else {
                    out.splice(i..i, token.iter().copied());
                }
            }
            8 if len > 1 => {
                let a = rng.below(len);
                let b = rng.below(len);
                out.swap(a, b);
            }
            _ if len > 0 => {
                // An ASCII digit run grows or a byte becomes a digit: numbers
                // are where sizes, indices and depths live.
                let i = rng.below(len);
                out[i] = b'0' + rng.below(10) as u8;
            }
            _ => out.push(rng.next_u64() as u8),
        }
    }
    out.truncate(MAX_INPUT);
    out
}

/// A fuzz target: a name (its corpus directory), tokens for the mutator,
/// an optional generator of well-formed inputs, and the function under
/// test, returning a short description of the outcome.
pub struct Target {
    pub name: &'static str,
    pub dictionary: &'static [&'static [u8]],
    pub generate: Option<fn(&mut Rng) -> Vec<u8>>,
    pub run: fn(&[u8]) -> String,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target").field("name", &self.name).finish()
    }
}

/// What a run did.
#[derive(Debug)]
pub struct Report {
    pub executions: u64,
    pub pool: usize,
    pub outcomes: usize,
}

/// The checked-in seeds of a target, sorted by file name.
pub fn seeds(name: &str) -> Vec<Vec<u8>> {
    let dir = corpus_dir().join(name);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    files.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The input being run, for the watchdog.
struct Current {
    input: Mutex<Vec<u8>>,
    /// Milliseconds since `epoch` when the current input started; 0 = idle.
    started_ms: AtomicU64,
    done: AtomicBool,
}

/// Fuzzes `target` for the configured time; panics (failing the test) on
/// the first input that panics, and aborts the process on one that runs
/// past [`PER_INPUT_BOUND`].
pub fn fuzz(target: &Target) -> Report {
    let seconds = env_u64("SKEWLESS_FUZZ_SECONDS").unwrap_or(DEFAULT_SECONDS);
    let seed = env_u64("SKEWLESS_FUZZ_SEED").unwrap_or(0x5EED);
    let seeds = seeds(target.name);
    assert!(
        seeds.len() >= 5,
        "{}: want at least 5 seed files in {}",
        target.name,
        corpus_dir().join(target.name).display()
    );
    let mut rng = Rng::new(
        seed ^ target
            .name
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31) ^ u64::from(b)),
    );
    let epoch = Instant::now();
    let current = Arc::new(Current {
        input: Mutex::new(Vec::new()),
        started_ms: AtomicU64::new(0),
        done: AtomicBool::new(false),
    });
    let watchdog = {
        let current = Arc::clone(&current);
        let name = target.name;
        std::thread::spawn(move || {
            while !current.done.load(Ordering::Acquire) {
                std::thread::sleep(Duration::from_millis(50));
                let started = current.started_ms.load(Ordering::Acquire);
                let now = epoch.elapsed().as_millis() as u64;
                if started != 0 && now.saturating_sub(started) > PER_INPUT_BOUND.as_millis() as u64
                {
                    let input = current.input.lock().map(|i| i.clone()).unwrap_or_default();
                    eprintln!(
                        "fuzz target {name}: one input ran longer than {PER_INPUT_BOUND:?}; input (hex, {} bytes):\n{}",
                        input.len(),
                        hex(&input)
                    );
                    std::process::abort();
                }
            }
        })
    };
    let mut pool: Vec<Vec<u8>> = seeds.clone();
    let mut outcomes = HashSet::new();
    let mut executions = 0u64;
    let deadline = Duration::from_secs(seconds);
    let mut run_one = |input: Vec<u8>, pool: &mut Vec<Vec<u8>>| {
        if let Ok(mut slot) = current.input.lock() {
            slot.clone_from(&input);
        }
        current
            .started_ms
            .store(epoch.elapsed().as_millis().max(1) as u64, Ordering::Release);
        let result = std::panic::catch_unwind(|| (target.run)(&input));
        current.started_ms.store(0, Ordering::Release);
        executions += 1;
        match result {
            Ok(outcome) => {
                if outcomes.insert(outcome) && pool.len() < seeds.len() + MAX_POOL {
                    pool.push(input);
                }
            }
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                current.done.store(true, Ordering::Release);
                panic!(
                    "fuzz target {} panicked ({message}) on input (hex, {} bytes; seed {seed:#x}):\n{}\nas text: {:?}",
                    target.name,
                    input.len(),
                    hex(&input),
                    String::from_utf8_lossy(&input)
                );
            }
        }
    };
    for s in &seeds {
        run_one(s.clone(), &mut pool);
    }
    while epoch.elapsed() < deadline {
        let input = match target.generate {
            Some(generate) if rng.chance(4) => generate(&mut rng),
            _ => {
                let base = pool[rng.below(pool.len())].clone();
                let other = pool[rng.below(pool.len())].clone();
                mutate(&mut rng, &base, &other, target.dictionary)
            }
        };
        run_one(input, &mut pool);
    }
    current.done.store(true, Ordering::Release);
    let _ = watchdog.join();
    Report {
        executions,
        pool: pool.len(),
        outcomes: outcomes.len(),
    }
}
