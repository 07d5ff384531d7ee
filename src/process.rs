//! Process identity: a pid alone names a process only until it is reaped and the number
//! is reused, so kiste records the pid together with the process's start time (field 22
//! of /proc/PID/stat) and asks `is_alive` of the pair. Used by the state records, the
//! builder's scratch directories and the runtime. It only reads /proc; it never signals.

use serde::{Deserialize, Serialize};

/// A process as kiste remembers it: its pid and the start time it had then.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessId {
    pub pid: i32,
    /// Clock ticks since boot at which the process started (/proc/PID/stat field 22).
    pub start_time: u64,
}

impl ProcessId {
    /// The identity of the live process `pid`, None when there is none.
    pub fn of(pid: i32) -> Option<ProcessId> {
        Some(ProcessId {
            pid,
            start_time: process_start_time(pid)?,
        })
    }

    /// The calling process.
    pub fn current() -> ProcessId {
        let pid = std::process::id() as i32;
        ProcessId {
            pid,
            start_time: process_start_time(pid).unwrap_or(0),
        }
    }

    /// True while the same process (not a later one with a reused pid) exists; a zombie
    /// still counts until it is reaped.
    pub fn is_alive(&self) -> bool {
        is_alive(self.pid, self.start_time)
    }
}

/// True when `pid` is a live process that started at `start_time`.
pub fn is_alive(pid: i32, start_time: u64) -> bool {
    pid > 0 && process_start_time(pid) == Some(start_time)
}

/// A /proc or /sys file (which stat reports as empty), read with room for 4 KiB at once:
/// `fs::read_to_string` starts with a 32-byte read and doubles (8 reads for
/// /proc/self/status); this is one read and the one that sees the end.
pub fn read_proc(path: impl AsRef<std::path::Path>) -> std::io::Result<String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 4096];
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize(2 * len, 0);
        }
        match f.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(len);
    String::from_utf8(buf).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// This process's start time, read once per process (a forked child reads its own):
/// `run` names itself in the record twice on its way to the container's start.
pub fn own_start_time() -> Option<u64> {
    static OWN: std::sync::Mutex<Option<(u32, u64)>> = std::sync::Mutex::new(None);
    let pid = std::process::id();
    let mut own = OWN.lock().ok()?;
    if let Some((p, t)) = *own {
        if p == pid {
            return Some(t);
        }
    }
    let t = process_start_time(pid as i32)?;
    *own = Some((pid, t));
    Some(t)
}

/// The start time (field 22 of /proc/PID/stat) of a live process, None when it is gone.
/// A zombie still has one: it is gone only once reaped.
pub fn process_start_time(pid: i32) -> Option<u64> {
    if pid <= 0 {
        return None;
    }
    let stat = read_proc(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and ')': split after its last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    // rest starts at field 3; field 22 is the 20th from there.
    rest.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_start_time_is_readable_and_stable() {
        let me = std::process::id() as i32;
        let a = process_start_time(me).unwrap();
        assert_eq!(process_start_time(me), Some(a));
        assert_eq!(process_start_time(-1), None);
        assert_eq!(own_start_time(), Some(a));
        assert_eq!(own_start_time(), Some(a));
    }

    #[test]
    fn identity_with_another_start_time_is_not_alive() {
        let me = ProcessId::current();
        assert!(me.is_alive());
        let reused = ProcessId {
            start_time: me.start_time + 1,
            ..me
        };
        assert!(!reused.is_alive());
        assert!(!is_alive(0, 0));
    }
}
