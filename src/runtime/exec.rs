//! The last steps before the container's command runs: rlimits, the environment,
//! looking argv[0] up in the container's PATH, and execve with docker's error classes
//! (127 not found, 126 cannot execute).

use std::ffi::CString;
use std::os::unix::fs::PermissionsExt;

use super::error::{errno_text, FailKind};
use super::error::{ChildError, Ctx};
use super::spec::Rlimit;
use super::user::User;

/// The PATH a container (and a build's RUN) gets when its image sets none: docker's.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Sets each given limit; the rest are inherited. A hard limit above the current one
/// needs CAP_SYS_RESOURCE: without it the hard limit is kept where it is.
pub(crate) fn apply_rlimits(limits: &[Rlimit]) -> Result<(), ChildError> {
    for r in limits {
        let mut cur = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes the struct.
        unsafe { libc::getrlimit(r.resource as _, &mut cur) };
        let mut want = libc::rlimit {
            rlim_cur: r.soft,
            rlim_max: r.hard,
        };
        // SAFETY: setrlimit reads the struct.
        if unsafe { libc::setrlimit(r.resource as _, &want) } == 0 {
            continue;
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::EPERM) && r.hard > cur.rlim_max {
            want.rlim_max = cur.rlim_max;
            want.rlim_cur = r.soft.min(cur.rlim_max);
            // SAFETY: as above.
            if unsafe { libc::setrlimit(r.resource as _, &want) } == 0 {
                continue;
            }
        }
        return Err(std::io::Error::last_os_error())
            .ctx(|| format!("cannot set rlimit {} to {}:{}", r.resource, r.soft, r.hard));
    }
    Ok(())
}

/// `env` plus PATH, HOSTNAME and HOME where it does not set them.
pub(crate) fn environment(env: &[String], hostname: &str, who: &User) -> Vec<CString> {
    let has = |k: &str| {
        env.iter()
            .any(|e| e.split_once('=').map_or(e == k, |(n, _)| n == k))
    };
    let mut env: Vec<String> = env.to_vec();
    if !has("PATH") {
        env.push(format!("PATH={DEFAULT_PATH}"));
    }
    if !has("HOSTNAME") && !hostname.is_empty() {
        env.push(format!("HOSTNAME={hostname}"));
    }
    if !has("HOME") {
        env.push(format!(
            "HOME={}",
            if who.home.is_empty() { "/" } else { &who.home }
        ));
    }
    env.into_iter()
        .filter_map(|e| CString::new(e).ok())
        .collect()
}

/// The path to exec: argv[0] itself when it has a '/', else the first executable
/// regular file of that name in the container's PATH.
pub(crate) fn resolve(cmd: &str, env: &[CString]) -> Result<CString, ChildError> {
    let not_found = || ChildError {
        kind: FailKind::NotFound,
        errno: libc::ENOENT,
        text: String::new(),
    };
    if cmd.is_empty() {
        return Err(not_found());
    }
    if cmd.contains('/') {
        return CString::new(cmd).map_err(|_| not_found());
    }
    let path = env
        .iter()
        .filter_map(|e| e.to_str().ok())
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH);
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = format!("{dir}/{cmd}");
        if let Ok(meta) = std::fs::metadata(&candidate) {
            if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
                return CString::new(candidate).map_err(|_| not_found());
            }
        }
    }
    Err(not_found())
}

/// execve; returns only on failure, classified for the exit code.
pub(crate) fn execve(
    cmd: &str,
    program: &CString,
    argv: &[CString],
    env: &[CString],
) -> ChildError {
    let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());
    let mut env_ptrs: Vec<*const libc::c_char> = env.iter().map(|e| e.as_ptr()).collect();
    env_ptrs.push(std::ptr::null());
    // SAFETY: NUL-terminated arrays of valid C strings that outlive the call.
    unsafe { libc::execve(program.as_ptr(), argv_ptrs.as_ptr(), env_ptrs.as_ptr()) };
    let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
    let kind = match errno {
        libc::ENOENT | libc::ENOTDIR => FailKind::NotFound,
        libc::EACCES | libc::EISDIR | libc::ENOEXEC | libc::EPERM | libc::ETXTBSY => {
            FailKind::CannotExecute
        }
        _ => FailKind::Setup,
    };
    let text = match kind {
        FailKind::Setup => format!("cannot execute {cmd}: {}", errno_text(errno)),
        FailKind::CannotExecute
            if errno == libc::EACCES
                && std::fs::metadata(program.to_str().unwrap_or("")).is_ok_and(|m| m.is_dir()) =>
        {
            "is a directory".to_string()
        }
        _ => errno_text(errno).to_lowercase(),
    };
    ChildError { kind, errno, text }
}
