//! `generate kube` from real kiste containers: the Pod (and with -s the Service) carries
//! the container's settings, Kubernetes' own schemas accept it (the PyPI package
//! `kubernetes-validate`, offline), and it agrees with `podman generate kube` on the
//! fields both write.

mod support;

use serde_yaml::Value;
use std::path::Path;
use std::process::Command;
use support::{have, skip, Kiste};

/// The documents of a generated file.
fn docs(text: &str) -> Vec<Value> {
    use serde::Deserialize;
    serde_yaml::Deserializer::from_str(text)
        .map(|d| Value::deserialize(d).unwrap())
        .filter(|v| !v.is_null())
        .collect()
}

/// kubernetes-validate --strict on `file`: true when it passed, false (with a skip) when
/// the tool is absent.
fn validated(file: &Path) -> bool {
    if !have("kubernetes-validate") {
        skip("kubernetes-validate is not installed (scripts/setup.sh installs it from PyPI)");
        return false;
    }
    let out = Command::new("kubernetes-validate")
        .arg("--strict")
        .arg(file)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "kubernetes-validate refused {}:\n{text}\n{}",
        file.display(),
        std::fs::read_to_string(file).unwrap()
    );
    assert!(!text.contains("ERROR") && !text.contains("WARN"), "{text}");
    assert!(text.contains("passed"), "{text}");
    true
}

fn generate(k: &Kiste, args: &[&str]) -> (Vec<Value>, std::path::PathBuf) {
    let file = k
        .dir
        .path()
        .join(format!("gen-{}.yaml", args.join("-").replace('/', "_")));
    let mut a = vec!["generate", "kube", "-f", file.to_str().unwrap()];
    a.extend(args);
    assert_eq!(k.ok(&a), "");
    let text = std::fs::read_to_string(&file).unwrap();
    (docs(&text), file)
}

#[test]
fn a_plain_container_becomes_a_valid_pod_without_the_images_defaults() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&["create", "--name", "plain", "busybox", "sleep", "300"]);
    let (docs, file) = generate(&k, &["plain"]);
    assert_eq!(docs.len(), 1);
    let pod = &docs[0];
    assert_eq!(pod["kind"], "Pod");
    assert_eq!(pod["metadata"]["name"], "plain-pod");
    assert_eq!(pod["metadata"]["labels"]["app"], "plain-pod");
    let c = &pod["spec"]["containers"][0];
    assert_eq!(c["name"], "plain");
    assert_eq!(c["image"], "busybox");
    // busybox has no ENTRYPOINT: the command line is Kubernetes' args (its CMD).
    assert_eq!(
        c["args"],
        serde_yaml::from_str::<Value>("[sleep, '300']").unwrap()
    );
    assert!(c.get("command").is_none(), "{c:?}");
    // The image's PATH is not repeated; nothing else was set.
    for key in [
        "env",
        "resources",
        "securityContext",
        "volumeMounts",
        "workingDir",
        "ports",
    ] {
        assert!(c.get(key).is_none(), "{key} in {c:?}");
    }
    assert_eq!(pod["spec"]["restartPolicy"], "Never");
    assert!(pod["spec"].get("hostname").is_none());
    validated(&file);
}

#[test]
fn limits_ports_volumes_caps_and_user_are_carried_and_valid() {
    let k = Kiste::new();
    k.busybox();
    let data = k.dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let bind = format!("{}:/data:ro", data.display());
    k.ok(&[
        "create",
        "--name",
        "Full_App",
        "-m",
        "32m",
        "--memory-reservation",
        "16m",
        "--cpus",
        "0.5",
        "-p",
        "18181:80",
        "-p",
        "127.0.0.1:18182:53/udp",
        "-v",
        &bind,
        "-v",
        "appdata:/var/lib/app",
        "--tmpfs",
        "/scratch:size=8m",
        "--cap-add",
        "NET_ADMIN",
        "--cap-drop",
        "MKNOD",
        "--user",
        "1000:100",
        "--read-only",
        "--security-opt",
        "no-new-privileges",
        "-e",
        "GREETING=hi",
        "-w",
        "/data",
        "--hostname",
        "app",
        "--restart",
        "on-failure:3",
        "--stop-timeout",
        "3",
        "-l",
        "tier=front",
        "-l",
        "note=has spaces",
        "--entrypoint",
        "/bin/httpd",
        "busybox",
        "-f",
        "-p",
        "80",
    ]);
    let (docs, file) = generate(&k, &["Full_App"]);
    let pod = &docs[0];
    assert_eq!(pod["metadata"]["name"], "full-app-pod");
    assert_eq!(pod["metadata"]["labels"]["tier"], "front");
    // A value Kubernetes does not take as a label goes to the annotations.
    assert_eq!(pod["metadata"]["annotations"]["note"], "has spaces");
    let spec = &pod["spec"];
    assert_eq!(spec["hostname"], "app");
    assert_eq!(spec["restartPolicy"], "OnFailure");
    assert_eq!(spec["terminationGracePeriodSeconds"], 3);
    let c = &spec["containers"][0];
    assert_eq!(c["name"], "full-app");
    assert_eq!(
        c["command"],
        serde_yaml::from_str::<Value>("[/bin/httpd]").unwrap()
    );
    assert_eq!(
        c["args"],
        serde_yaml::from_str::<Value>("['-f', '-p', '80']").unwrap()
    );
    assert_eq!(c["env"][0]["name"], "GREETING");
    assert_eq!(c["env"][0]["value"], "hi");
    assert_eq!(c["env"].as_sequence().unwrap().len(), 1, "{:?}", c["env"]);
    assert_eq!(c["workingDir"], "/data");
    assert_eq!(c["resources"]["limits"]["memory"], "33554432");
    assert_eq!(c["resources"]["limits"]["cpu"], "500m");
    assert_eq!(c["resources"]["requests"]["memory"], "16777216");
    let ports = c["ports"].as_sequence().unwrap();
    assert_eq!(ports[0]["containerPort"], 80);
    assert_eq!(ports[0]["hostPort"], 18181);
    assert_eq!(ports[0]["protocol"], "TCP");
    assert_eq!(ports[1]["hostIP"], "127.0.0.1");
    assert_eq!(ports[1]["protocol"], "UDP");
    let sc = &c["securityContext"];
    assert_eq!(sc["capabilities"]["add"][0], "NET_ADMIN");
    assert_eq!(sc["capabilities"]["drop"][0], "MKNOD");
    assert_eq!(sc["runAsUser"], 1000);
    assert_eq!(sc["runAsGroup"], 100);
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    // Each mount names a pod volume of the right kind.
    let volumes = spec["volumes"].as_sequence().unwrap();
    let volume = |mount: &str| {
        let m = c["volumeMounts"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|m| m["mountPath"] == mount)
            .unwrap_or_else(|| panic!("no mount at {mount}"));
        (
            m.clone(),
            volumes
                .iter()
                .find(|v| v["name"] == m["name"])
                .unwrap()
                .clone(),
        )
    };
    let (m, v) = volume("/data");
    assert_eq!(m["readOnly"], true);
    assert_eq!(v["hostPath"]["path"], data.to_str().unwrap());
    assert_eq!(v["hostPath"]["type"], "Directory");
    let (_, v) = volume("/var/lib/app");
    assert_eq!(v["persistentVolumeClaim"]["claimName"], "appdata");
    let (_, v) = volume("/scratch");
    assert_eq!(v["emptyDir"]["medium"], "Memory");
    validated(&file);
}

#[test]
fn with_s_a_service_publishes_the_pods_ports_and_several_containers_share_one_pod() {
    let k = Kiste::new();
    k.busybox();
    k.ok(&[
        "create", "--name", "web", "-p", "30080:80", "busybox", "httpd", "-f",
    ]);
    k.ok(&[
        "create",
        "--name",
        "side",
        "-p",
        "9090:9090",
        "busybox",
        "sleep",
        "300",
    ]);
    let (docs, file) = generate(&k, &["-s", "web", "side"]);
    assert_eq!(docs.len(), 2);
    let pod = &docs[0];
    let names: Vec<_> = pod["spec"]["containers"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["web", "side"]);
    let svc = &docs[1];
    assert_eq!(svc["kind"], "Service");
    assert_eq!(svc["metadata"]["name"], "web-pod");
    assert_eq!(svc["spec"]["type"], "NodePort");
    assert_eq!(svc["spec"]["selector"]["app"], "web-pod");
    let ports = svc["spec"]["ports"].as_sequence().unwrap();
    assert_eq!(ports.len(), 2);
    assert_eq!(ports[0]["port"], 80);
    assert_eq!(ports[0]["targetPort"], 80);
    // A host port in Kubernetes' node port range is the node port.
    assert_eq!(ports[0]["nodePort"], 30080);
    assert!(ports[1].get("nodePort").is_none());
    validated(&file);
    // Without published ports the service is a headless ClusterIP one.
    k.ok(&["create", "--name", "quiet", "busybox", "true"]);
    let (docs, file) = generate(&k, &["--service", "quiet"]);
    assert_eq!(docs[1]["spec"]["type"], "ClusterIP");
    validated(&file);
}

#[test]
fn an_unknown_container_is_an_error() {
    let k = Kiste::new();
    let r = k.run(&["generate", "kube", "nope"]);
    assert_eq!(r.code, 125);
    assert!(r.stderr.contains("no such container: nope"), "{}", r.stderr);
}

fn podman(store: &Path, args: &[&str]) -> String {
    let out = Command::new("podman")
        .arg("--root")
        .arg(store.join("root"))
        .arg("--runroot")
        .arg(store.join("runroot"))
        .args(["--cgroup-manager", "cgroupfs"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "podman {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The command line Kubernetes runs for a container of an image without ENTRYPOINT.
fn argv(c: &Value) -> Vec<String> {
    ["command", "args"]
        .iter()
        .filter_map(|k| c.get(*k))
        .flat_map(|v| {
            v.as_sequence()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
        })
        .collect()
}

fn bytes(v: &Value) -> i64 {
    let text = match v {
        Value::Number(n) => n.to_string(),
        v => v.as_str().unwrap().to_string(),
    };
    kiste::kube::quantity::memory_bytes(&text).unwrap()
}

fn caps(v: &Value) -> Vec<String> {
    let mut c: Vec<String> = v
        .as_sequence()
        .map(|s| {
            s.iter()
                .map(|c| c.as_str().unwrap().trim_start_matches("CAP_").to_string())
                .collect()
        })
        .unwrap_or_default();
    c.sort();
    c
}

#[test]
fn kiste_and_podman_agree_on_the_fields_both_write() {
    if !have("podman") || !Path::new("/etc/containers/containers.conf").exists() {
        skip("podman (with /etc/containers/containers.conf) is not set up (scripts/setup.sh)");
        return;
    }
    let k = Kiste::new();
    k.busybox();
    let archive = k.dir.path().join("bb.tar");
    k.ok(&["save", "-o", archive.to_str().unwrap(), "busybox"]);
    let store = k.dir.path().join("podman");
    podman(&store, &["load", "-i", archive.to_str().unwrap()]);
    let data = k.dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let bind = format!("{}:/data", data.display());
    let flags = [
        "--name",
        "web",
        "-m",
        "32m",
        "--cpus",
        "0.5",
        "-p",
        "18190:80",
        "-v",
        &bind,
        "--cap-add",
        "NET_ADMIN",
        "--user",
        "1000:1000",
        "-e",
        "FOO=bar",
        "-w",
        "/data",
        "busybox",
        "httpd",
        "-f",
        "-p",
        "80",
    ];
    let mut create = vec!["create"];
    create.extend(flags);
    k.ok(&create);
    podman(&store, &create);
    let ours = docs(&k.ok(&["generate", "kube", "web"])).remove(0);
    let theirs = docs(&podman(&store, &["generate", "kube", "web"])).remove(0);
    podman(&store, &["rm", "-f", "web"]);
    assert_eq!(ours["metadata"]["name"], theirs["metadata"]["name"]);
    assert_eq!(
        ours["metadata"]["labels"]["app"],
        theirs["metadata"]["labels"]["app"]
    );
    let (a, b) = (
        &ours["spec"]["containers"][0],
        &theirs["spec"]["containers"][0],
    );
    assert_eq!(a["name"], b["name"]);
    // podman names the loaded image localhost/busybox:latest; kiste keeps the name given.
    let image = |v: &Value| {
        let s = v.as_str().unwrap();
        let s = s.strip_prefix("localhost/").unwrap_or(s);
        s.strip_suffix(":latest").unwrap_or(s).to_string()
    };
    assert_eq!(image(&a["image"]), image(&b["image"]));
    assert_eq!(argv(a), argv(b));
    assert_eq!(a["env"], b["env"]);
    assert_eq!(a["workingDir"], b["workingDir"]);
    assert_eq!(
        a["ports"][0]["containerPort"],
        b["ports"][0]["containerPort"]
    );
    assert_eq!(a["ports"][0]["hostPort"], b["ports"][0]["hostPort"]);
    assert_eq!(
        bytes(&a["resources"]["limits"]["memory"]),
        bytes(&b["resources"]["limits"]["memory"])
    );
    assert_eq!(
        a["resources"]["limits"]["cpu"],
        b["resources"]["limits"]["cpu"]
    );
    let (sa, sb) = (&a["securityContext"], &b["securityContext"]);
    assert_eq!(sa["runAsUser"], sb["runAsUser"]);
    assert_eq!(sa["runAsGroup"], sb["runAsGroup"]);
    assert_eq!(
        caps(&sa["capabilities"]["add"]),
        caps(&sb["capabilities"]["add"])
    );
    // Volume names as podman makes them from the path, but lower-case: Kubernetes takes
    // only DNS labels (podman keeps the path's upper-case letters).
    let lower = |v: &Value| v.as_str().unwrap().to_ascii_lowercase();
    assert_eq!(
        lower(&a["volumeMounts"][0]["name"]),
        lower(&b["volumeMounts"][0]["name"])
    );
    assert_eq!(
        a["volumeMounts"][0]["mountPath"],
        b["volumeMounts"][0]["mountPath"]
    );
    let volume = |pod: &Value| pod["spec"]["volumes"][0]["hostPath"].clone();
    assert_eq!(volume(&ours), volume(&theirs));
}
