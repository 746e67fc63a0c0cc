//! glibc's allocator, set up for a long-running server.
//!
//! By default glibc gives each thread that allocates its own arena (up to
//! eight per core), raises the size above which a block is `mmap`ped to the
//! largest block ever freed (so after one large LIST response every later
//! one comes from, and stays in, the heap), and gives freed memory back to
//! the kernel only from the top of the main heap. A server whose long-lived
//! objects (the watch cache) are allocated between short-lived ones (request
//! bodies, encoded responses, watch events) then keeps most of what it ever
//! freed: measured with 10,000 objects and 1,000 watchers, about 60 MiB of
//! free heap beside 30 MiB in use (docs/BENCHMARKS.md, "Memory").
//!
//! [`tune`], called before the runtime starts any thread, caps the arenas
//! and fixes the `mmap` threshold; [`trim_every`] returns free heap pages to
//! the kernel once a period. Neither changes what the program computes.
//!
//! This is the only module of the workspace with `unsafe` code: two calls
//! into the C library that take and return plain integers and touch no
//! memory Rust owns. On anything but glibc it does nothing.

use std::time::Duration;

/// Arenas at most, whatever the number of threads: the main thread's, one
/// for each runtime worker on two cores, and one more that blocking threads
/// (SQLite) share with them. Fewer arenas make threads wait on each other's
/// allocations; more keep more free memory apart.
const ARENA_MAX: i32 = 4;

/// Blocks from this size up are `mmap`ped and unmapped when freed, instead
/// of glibc's threshold that grows to the largest block freed (up to 32 MiB).
const MMAP_THRESHOLD: i32 = 128 * 1024;

/// Sets glibc's arena cap and `mmap` threshold. Call it first in `main`,
/// before any thread is started (arenas are assigned as threads first
/// allocate).
pub(crate) fn tune() {
    imp::tune(ARENA_MAX, MMAP_THRESHOLD);
}

/// Returns free heap pages to the kernel every `period`, for ever (the task
/// running it is aborted at shutdown). Freed memory stays in the heap,
/// already mapped, for the next allocation until then, so a burst reuses it
/// and an idle server does not keep it.
pub(crate) async fn trim_every(period: Duration) {
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        imp::trim();
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
mod imp {
    pub(super) fn tune(arena_max: i32, mmap_threshold: i32) {
        // SAFETY: `mallopt` only sets allocator parameters from integers; an
        // unsupported value is refused (returns 0) and changes nothing.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, arena_max);
            libc::mallopt(libc::M_MMAP_THRESHOLD, mmap_threshold);
        }
    }

    pub(super) fn trim() {
        // SAFETY: `malloc_trim` releases free pages under the allocator's
        // own locks; it neither reads nor writes memory Rust holds.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod imp {
    pub(super) fn tune(_arena_max: i32, _mmap_threshold: i32) {}

    pub(super) fn trim() {}
}
