//! Fault injection for tests of the start path, compiled in only with the
//! `fault-injection` cargo feature. `KISTE_FAULT=STEP:panic` makes the container's child
//! panic at the named step (see [`STEPS`]), `KISTE_FAULT=STEP:abort` abort there (what a
//! panic is in the release build, `panic = "abort"`); `KISTE_FAULT=STEP:kill` makes it name itself
//! `fault-STEP` (15 bytes of it) and wait there to be killed from outside (a container's init ignores a
//! SIGKILL it sends itself). Without the feature [`Fault`] is empty and [`Fault::hit`]
//! does nothing.

/// The steps of the child, in order, at which a fault can be injected.
pub const STEPS: &[&str] = &[
    "go",
    "namespaces",
    "stdio",
    "rootfs",
    "hostname",
    "user",
    "caps",
    "exec",
];

/// The fault to inject, read from the environment by the parent before the clone.
#[derive(Debug, Default)]
pub(crate) struct Fault {
    #[cfg(feature = "fault-injection")]
    at: Option<(String, String)>,
}

impl Fault {
    #[cfg(feature = "fault-injection")]
    pub(crate) fn from_env() -> Fault {
        let at = std::env::var("KISTE_FAULT").ok().and_then(|v| {
            let (step, action) = v.split_once(':')?;
            Some((step.to_string(), action.to_string()))
        });
        Fault { at }
    }

    #[cfg(not(feature = "fault-injection"))]
    pub(crate) fn from_env() -> Fault {
        Fault {}
    }

    /// Panics or kills the process when the injected fault is for `step`.
    #[cfg(feature = "fault-injection")]
    pub(crate) fn hit(&self, step: &str) {
        if let Some((at, action)) = &self.at {
            if at == step {
                if action == "abort" {
                    std::process::abort();
                }
                if action == "kill" {
                    let name = std::ffi::CString::new(format!("fault-{step}")).unwrap_or_default();
                    // SAFETY: PR_SET_NAME with a NUL-terminated string; pause has no
                    // preconditions. Waits for the test's SIGKILL.
                    unsafe {
                        libc::prctl(libc::PR_SET_NAME, name.as_ptr());
                        loop {
                            libc::pause();
                        }
                    }
                }
                panic!("fault injected at {step}");
            }
        }
    }

    #[cfg(not(feature = "fault-injection"))]
    #[inline(always)]
    pub(crate) fn hit(&self, _step: &str) {}
}
