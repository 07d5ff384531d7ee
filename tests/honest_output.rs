//! What `images` and `inspect` print is what is true: intermediate images appear with
//! `images -a` only, a FROM-scratch image carries the host's architecture, and `-i` shows
//! as docker's Config.OpenStdin, with docker's Attach*/StdinOnce/Tty for create and run -d;
//! `--stop-timeout -1` (wait for ever) is kept and shown as docker shows it.

mod support;

use support::*;

fn image_id(k: &Kiste, name: &str) -> String {
    k.ok(&["images", "-q", name]).trim().to_string()
}

#[test]
fn images_a_shows_the_intermediate_images_that_images_hides() {
    let k = Kiste::new();
    k.busybox();
    let base = |content: &str| {
        let ctx = k.context(
            &format!("base-{content}"),
            &[(
                "Dockerfile",
                &format!("FROM busybox\nRUN echo {content} > /a\n"),
            )],
        );
        k.ok(&["build", "-q", "-t", "base", ctx.to_str().unwrap()]);
    };
    base("one");
    let old_base = image_id(&k, "base");
    let app = k.context("app", &[("Dockerfile", "FROM base\nRUN echo app > /b\n")]);
    k.ok(&["build", "-q", "-t", "app", app.to_str().unwrap()]);
    // A new base takes the tag; the old one is untagged and app was built on it.
    base("two");
    assert_ne!(image_id(&k, "base"), old_base);
    let dangling = k.context(
        "lonely",
        &[("Dockerfile", "FROM busybox\nRUN echo x > /c\n")],
    );
    k.ok(&["build", "-q", "-t", "lonely", dangling.to_str().unwrap()]);
    k.ok(&[
        "build",
        "-q",
        "-t",
        "lonely",
        k.context(
            "lonely2",
            &[("Dockerfile", "FROM busybox\nRUN echo y > /c\n")],
        )
        .to_str()
        .unwrap(),
    ]);

    let shown = k.ok(&["images", "-q"]);
    let all = k.ok(&["images", "-a", "-q"]);
    assert!(
        !shown.contains(&old_base),
        "an intermediate image is hidden by default:\n{shown}"
    );
    assert!(all.contains(&old_base), "images -a shows it:\n{all}");
    assert_eq!(
        all.lines().count(),
        shown.lines().count() + 1,
        "only the intermediate image differs; a dangling image without children shows in both"
    );
    let table = k.ok(&["images", "-a"]);
    let row = table
        .lines()
        .find(|l| l.contains(&old_base))
        .expect("a row for the intermediate image");
    assert!(row.starts_with("<none>"), "{row}");
}

#[test]
fn a_from_scratch_image_has_the_hosts_architecture() {
    let k = Kiste::new();
    let ctx = k.context(
        "scratch",
        &[("Dockerfile", "FROM scratch\nCOPY f /f\n"), ("f", "x")],
    );
    k.ok(&["build", "-q", "-t", "s", ctx.to_str().unwrap()]);
    let want = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    assert_eq!(k.inspect("s")["Architecture"], want);
}

#[test]
fn interactive_shows_as_open_stdin() {
    let k = Kiste::new();
    k.busybox();
    let with = k.ok(&["create", "-i", "busybox", "true"]);
    let without = k.ok(&["create", "busybox", "true"]);
    assert_eq!(k.inspect(with.trim())["Config"]["OpenStdin"], true);
    assert_eq!(k.inspect(without.trim())["Config"]["OpenStdin"], false);
}

/// docker's Config for `create`, `create -i`, `run -d`, `run -d -i` (read from
/// `docker inspect`): AttachStdin, AttachStdout, AttachStderr, OpenStdin, StdinOnce, Tty.
#[test]
fn attach_fields_are_dockers_for_create_and_detached_run() {
    let k = Kiste::new();
    k.busybox();
    let cases: &[(&[&str], [bool; 6])] = &[
        (&["create"], [false, true, true, false, false, false]),
        (&["create", "-i"], [true, true, true, true, true, false]),
        (&["run", "-d"], [false, false, false, false, false, false]),
        (
            &["run", "-d", "-i"],
            [false, false, false, true, false, false],
        ),
    ];
    for (flags, want) in cases {
        let mut args = flags.to_vec();
        args.extend(["busybox", "true"]);
        let id = k.ok(&args);
        let c = &k.inspect(id.trim())["Config"];
        let got = [
            "AttachStdin",
            "AttachStdout",
            "AttachStderr",
            "OpenStdin",
            "StdinOnce",
            "Tty",
        ]
        .map(|f| {
            c[f].as_bool()
                .unwrap_or_else(|| panic!("{flags:?}: no {f} in {c}"))
        });
        assert_eq!(&got, want, "{flags:?}");
    }
}

#[test]
fn stop_timeout_minus_one_is_kept_and_stop_waits_for_the_exit() {
    let k = Kiste::new();
    k.busybox();
    let plain = k.ok(&["create", "busybox", "true"]);
    assert!(k.inspect(plain.trim())["Config"]
        .get("StopTimeout")
        .is_none());
    let id = k.ok(&[
        "run",
        "-d",
        "--stop-timeout",
        "-1",
        "busybox",
        "sh",
        "-c",
        "trap 'exit 3' TERM; echo ready; while true; do sleep 0.1; done",
    ]);
    let id = id.trim();
    assert_eq!(k.inspect(id)["Config"]["StopTimeout"], -1);
    k.wait_for_log(id, "ready", std::time::Duration::from_secs(20));
    k.ok(&["stop", id]);
    let state = &k.inspect(id)["State"];
    assert_eq!(state["Running"], false);
    // Stopped by its own TERM handler, not by a SIGKILL after a timeout.
    assert_eq!(state["ExitCode"], 3);
}
