//! `kiste events` against `docker events` (dockerd 20.10) for the same actions: the same
//! sequence of types and actions per object, the same JSON keys, the same attribute
//! names, and text lines of the same shape.

mod support;

use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;
use support::{checked_output, docker, tar_dir, Kiste};

fn now_unix() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    format!("{}.{:09}", t.as_secs(), t.subsec_nanos())
}

/// The same script of actions, run by `tool` (`kiste …` or `docker`).
fn act(tool: &dyn Fn(&[&str]) -> String, image: &str, tag: &str, sfx: &str) {
    let (vol, once, long, renamed) = (
        format!("evv{sfx}"),
        format!("evonce{sfx}"),
        format!("evlong{sfx}"),
        format!("evren{sfx}"),
    );
    tool(&["volume", "create", &vol]);
    let mount = format!("{vol}:/data");
    let run_once = [
        "run",
        "--rm",
        "--network",
        "none",
        "--name",
        &once,
        "--label",
        "k=v",
        "-v",
        &mount,
        image,
        "sh",
        "-c",
        "exit 3",
    ];
    tool(&run_once);
    tool(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        &long,
        image,
        "sleep",
        "30",
    ]);
    tool(&["exec", &long, "true"]);
    tool(&["pause", &long]);
    tool(&["unpause", &long]);
    tool(&["rename", &long, &renamed]);
    tool(&["kill", "-s", "USR1", &renamed]);
    tool(&["stop", "-t", "1", &renamed]);
    tool(&["rm", &renamed]);
    let forced = format!("evforce{sfx}");
    tool(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        &forced,
        image,
        "sleep",
        "30",
    ]);
    tool(&["rm", "-f", &forced]);
    tool(&["volume", "rm", &vol]);
    tool(&["tag", image, tag]);
    tool(&["rmi", tag]);
}

/// The events of this test's objects (other tests may share dockerd).
fn ours(events: Vec<Value>, sfx: &str, tag: &str) -> Vec<Value> {
    events
        .into_iter()
        .filter(|e| {
            let a = &e["Actor"]["Attributes"];
            let name = a["name"].as_str().unwrap_or("");
            let id = e["Actor"]["ID"].as_str().unwrap_or("");
            (e["Type"] == "container" && (name.ends_with(sfx)))
                || (e["Type"] == "volume" && id.ends_with(sfx))
                || (e["Type"] == "image" && (name == tag || a["name"].as_str() == Some(id)))
        })
        .collect()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

/// What must match: type, action (the exec command included), the message's keys and
/// the attribute names.
fn shape(e: &Value) -> String {
    format!(
        "{} {} keys={:?} attrs={:?}",
        e["Type"].as_str().unwrap(),
        e["Action"].as_str().unwrap(),
        keys(e),
        keys(&e["Actor"]["Attributes"])
    )
}

/// A text line without its time, ids and values: `TYPE ACTION <id> (k=, k=)`.
fn text_shape(line: &str) -> String {
    let (_, rest) = line.split_once(' ').unwrap();
    let (head, attrs) = rest.split_once(" (").unwrap_or((rest, ""));
    let mut words: Vec<&str> = head.split(' ').collect();
    words.pop();
    let attrs: Vec<&str> = attrs
        .trim_end_matches(')')
        .split(", ")
        .map(|kv| kv.split('=').next().unwrap())
        .collect();
    format!("{} <id> ({})", words.join(" "), attrs.join(", "))
}

#[test]
fn kiste_events_match_docker_events_for_the_same_actions() {
    docker::ensure_docker();
    let k = Kiste::new();
    let rootfs = k.dir.path().join("rootfs");
    std::fs::create_dir_all(rootfs.join("bin")).unwrap();
    std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
    let st = Command::new("chroot")
        .arg(&rootfs)
        .args(["/bin/busybox", "--install", "-s", "/bin"])
        .status()
        .unwrap();
    assert!(st.success());
    let tar = k.dir.path().join("rootfs.tar");
    tar_dir(&rootfs, &tar);
    let image = "kiste-events-busybox";
    k.ok(&["import", tar.to_str().unwrap(), image]);
    checked_output(Command::new("docker").args(["import", tar.to_str().unwrap(), image]));
    let sfx = format!("-{}", std::process::id());
    let tag = format!("kiste-events-tag{sfx}:1");

    // Whatever the exit (`run … exit 3`): the events are what is compared.
    let kiste = |args: &[&str]| k.run(args).stdout;
    let docker_cli = |args: &[&str]| {
        let out = Command::new("docker").args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let since = now_unix();
    act(&kiste, image, &tag, &sfx);
    act(&docker_cli, image, &tag, &sfx);
    let until = now_unix();
    let _ = Command::new("docker").args(["rmi", image]).output();

    let window = ["events", "--since", &since, "--until", &until];
    let json = |tool: &dyn Fn(&[&str]) -> String| -> Vec<Value> {
        tool(&[&window[..], &["--format", "{{json .}}"]].concat())
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let mine = ours(json(&kiste), &sfx, &tag);
    let theirs = ours(json(&docker_cli), &sfx, &tag);
    let a: Vec<String> = mine.iter().map(shape).collect();
    let b: Vec<String> = theirs.iter().map(shape).collect();
    assert_eq!(a, b, "kiste:\n{a:#?}\ndocker:\n{b:#?}");
    assert!(a.len() >= 25, "{a:#?}");
    println!("{} events compared with docker:\n{}", a.len(), a.join("\n"));

    // The text form: the same lines once times, ids and values are taken out.
    let text = |tool: &dyn Fn(&[&str]) -> String, evs: &[Value]| -> Vec<String> {
        let nanos: BTreeSet<i64> = evs
            .iter()
            .map(|e| e["timeNano"].as_i64().unwrap())
            .collect();
        let all_json = json(tool);
        let all_text = tool(&window);
        all_text
            .lines()
            .zip(all_json)
            .filter(|(_, e)| nanos.contains(&e["timeNano"].as_i64().unwrap()))
            .map(|(l, _)| text_shape(l))
            .collect()
    };
    let (ta, tb) = (text(&kiste, &mine), text(&docker_cli, &theirs));
    assert_eq!(ta, tb, "kiste:\n{ta:#?}\ndocker:\n{tb:#?}");
    // The die carries the exit code, the kill the signal number, the rename the old name.
    let attr = |evs: &[Value], action: &str, key: &str| -> Vec<String> {
        evs.iter()
            .filter(|e| e["Action"] == action)
            .map(|e| e["Actor"]["Attributes"][key].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        attr(&mine, "die", "exitCode"),
        attr(&theirs, "die", "exitCode")
    );
    assert_eq!(
        attr(&mine, "kill", "signal"),
        attr(&theirs, "kill", "signal")
    );
    assert_eq!(
        attr(&mine, "rename", "oldName"),
        attr(&theirs, "rename", "oldName")
    );
}
