//! A listing piped into a reader that goes away (`kiste ps | head -1`) ends as a process
//! killed by SIGPIPE looks to a shell (exit 141), with no panic message on stderr.

mod support;

use std::process::Stdio;
use support::Kiste;

#[test]
fn listing_into_a_closed_pipe_exits_141_without_a_panic() {
    let k = Kiste::new();
    // Enough output that it cannot all fit before the first write fails: info and
    // ps -a of a store with containers.
    k.busybox();
    for i in 0..3 {
        k.ok(&["create", "--name", &format!("c{i}"), "busybox", "true"]);
    }
    for args in [&["info"][..], &["ps", "-a"][..], &["images"][..]] {
        let mut child = k
            .cmd(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the read end before the child writes.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(141), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
