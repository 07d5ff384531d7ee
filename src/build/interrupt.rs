//! SIGINT and SIGTERM during a build: the handler only notes the signal. The RUN step's
//! output loop sees it, kills the step's container and fails the step; the build then
//! unwinds normally, so its scratch dir (mounts, cgroups, work dirs) is cleaned up by its
//! drop, and `kiste build` exits 128 + the signal (130, 143), as a shell would.

use std::sync::atomic::{AtomicI32, Ordering};

static PENDING: AtomicI32 = AtomicI32::new(0);

extern "C" fn note(signal: libc::c_int) {
    PENDING.store(signal, Ordering::SeqCst);
}

/// Catch SIGINT and SIGTERM for the rest of this process (a build). Without SA_RESTART, so
/// that a blocking wait returns EINTR and looks at the flag.
pub fn catch() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction with a handler that only stores to an atomic, which is
        // async-signal-safe.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = note as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// The signal that interrupted the build, if one did.
pub fn pending() -> Option<i32> {
    match PENDING.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}
