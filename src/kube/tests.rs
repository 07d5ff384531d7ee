//! The plan reader on literal files: what runs, and the one line each bad input gets.

use super::plan::parse;
use super::KubeError;
use crate::config::{MountSource, Protocol, RestartPolicy};
use std::path::Path;

fn plan(text: &str) -> Result<super::FilePlan, KubeError> {
    parse(Path::new("app.yaml"), text)
}

const POD: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {tier: front}
spec:
  restartPolicy: Never
  volumes:
  - name: data
    hostPath: {path: /srv/data}
  - name: scratch
    emptyDir: {medium: Memory, sizeLimit: 16Mi}
  - name: cache
    emptyDir: {}
  containers:
  - name: app
    image: busybox
    command: [httpd]
    args: [-f, -p, "80"]
    env: [{name: A, value: "1"}]
    ports: [{containerPort: 80, hostPort: 8080}, {containerPort: 81}]
    workingDir: /srv
    resources:
      limits: {memory: 32Mi, cpu: 500m}
    volumeMounts:
    - {name: data, mountPath: /data, readOnly: true}
    - {name: scratch, mountPath: /scratch}
    - {name: cache, mountPath: /cache}
    securityContext:
      capabilities: {add: [NET_ADMIN], drop: [MKNOD]}
      runAsUser: 1000
      runAsGroup: 100
      readOnlyRootFilesystem: true
      allowPrivilegeEscalation: false
  - name: side
    image: busybox
"#;

#[test]
fn a_pod_becomes_typed_container_plans_named_pod_container() {
    let p = plan(POD).unwrap();
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    let pod = &p.pods[0];
    assert_eq!(pod.name, "web");
    assert_eq!(pod.restart, RestartPolicy::No);
    assert_eq!(pod.labels["io.kiste.kube.pod"], "web");
    assert_eq!(pod.owned_volumes, vec!["web-cache".to_string()]);
    let app = &pod.containers[0];
    assert_eq!(app.name, "web-app");
    assert_eq!(pod.containers[1].name, "web-side");
    assert_eq!(app.command.as_deref(), Some(&["httpd".to_string()][..]));
    assert_eq!(app.resources.memory, 33554432);
    assert_eq!(app.resources.nano_cpus, 500_000_000);
    // Only the port with a hostPort is published.
    assert_eq!(app.ports.len(), 1);
    assert_eq!(
        (app.ports[0].host_port, app.ports[0].container_port),
        (8080, 80)
    );
    assert_eq!(app.ports[0].protocol, Protocol::Tcp);
    assert!(
        matches!(&app.mounts[0].source, MountSource::Bind { source, .. } if source == Path::new("/srv/data"))
    );
    assert!(app.mounts[0].readonly);
    assert!(
        matches!(&app.mounts[1].source, MountSource::Tmpfs { options } if options == &["size=16777216".to_string()])
    );
    assert!(
        matches!(&app.mounts[2].source, MountSource::Volume { name, .. } if name == "web-cache")
    );
    assert_eq!(app.cap_add[0].bare_name(), "NET_ADMIN");
    assert_eq!(app.cap_drop[0].bare_name(), "MKNOD");
    assert_eq!((app.run_as_user, app.run_as_group), (Some(1000), Some(100)));
    assert!(app.read_only && app.no_new_privileges && !app.privileged);
}

#[test]
fn a_deployment_gives_one_pod_per_replica() {
    let p = plan(
        "kind: Deployment\napiVersion: apps/v1\nmetadata: {name: api}\nspec:\n  replicas: 3\n  selector: {matchLabels: {app: api}}\n  template:\n    metadata: {labels: {app: api}}\n    spec:\n      containers: [{name: c, image: busybox}]\n",
    )
    .unwrap();
    let names: Vec<_> = p.pods.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["api-pod-0", "api-pod-1", "api-pod-2"]);
    assert_eq!(p.pods[2].containers[0].name, "api-pod-2-c");
    // The selector is Kubernetes' business: named as ignored.
    assert!(
        p.warnings.iter().any(|w| w.contains("spec.selector")),
        "{:?}",
        p.warnings
    );
}

#[test]
fn unknown_kinds_are_skipped_with_a_warning() {
    let p = plan("kind: ConfigMap\napiVersion: v1\nmetadata: {name: x}\n---\nkind: Pod\napiVersion: v1\nmetadata: {name: p}\nspec: {containers: [{name: c, image: busybox}]}\n").unwrap();
    assert_eq!(p.pods.len(), 1);
    assert_eq!(p.warnings.len(), 1);
    assert!(
        p.warnings[0].contains("kind \"ConfigMap\" is not supported"),
        "{:?}",
        p.warnings
    );
}

fn error(text: &str) -> String {
    plan(text).unwrap_err().to_string()
}

#[test]
fn invalid_yaml_names_file_line_and_column() {
    let e = error("kind: Pod\nmetadata:\n  name: [oops\n");
    assert!(e.starts_with("app.yaml:"), "{e}");
    let KubeError::Yaml { line, .. } = plan("kind: Pod\nmetadata:\n  name: [oops\n").unwrap_err()
    else {
        panic!("not a yaml error");
    };
    assert!(line >= 3, "{e}");
}

#[test]
fn bad_values_name_file_object_and_key() {
    let pod = |containers: &str| {
        format!(
            "kind: Pod\napiVersion: v1\nmetadata: {{name: p}}\nspec:\n  containers:\n{containers}"
        )
    };
    let e = error(&pod("  - name: c\n"));
    assert_eq!(
        e,
        "app.yaml: Pod \"p\": spec.containers[0].image: container \"c\" has no image"
    );
    let e = error(&pod(
        "  - name: c\n    image: busybox\n    resources: {limits: {memory: 12Zi}}\n",
    ));
    assert!(e.starts_with("app.yaml: Pod \"p\": spec.containers[0].resources.limits.memory: bad quantity \"12Zi\""), "{e}");
    let e = error(&pod("  - name: c\n    image: busybox\n    env: [{name: K, valueFrom: {secretKeyRef: {name: s, key: k}}}]\n"));
    assert!(
        e.starts_with(
            "app.yaml: Pod \"p\": spec.containers[0].env[0] (K): valueFrom is not supported"
        ),
        "{e}"
    );
    let e = error(&pod(
        "  - name: c\n    image: busybox\n    securityContext: {capabilities: {add: [BOGUS]}}\n",
    ));
    assert!(e.contains("capabilities.add: unknown capability"), "{e}");
    let e = error(&pod(
        "  - name: c\n    image: busybox\n    volumeMounts: [{name: nope, mountPath: /x}]\n",
    ));
    assert!(e.contains("no volume named \"nope\""), "{e}");
}

mod generate {
    use crate::image::config::RunConfig;
    use crate::kube::generate::{dns_label, pod, service, Source};
    use crate::state::{ContainerConfig, ContainerRecord, ContainerStatus};

    fn record(name: &str, entrypoint: &[&str], cmd: &[&str]) -> ContainerRecord {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect();
        ContainerRecord {
            id: "0123456789abcdef".into(),
            name: name.into(),
            created: String::new(),
            config: ContainerConfig {
                image: "app:1".into(),
                entrypoint: words(entrypoint),
                cmd: words(cmd),
                env: vec!["PATH=/bin".into(), "MODE=prod".into()],
                hostname: "0123456789ab".into(),
                ..ContainerConfig::default()
            },
            state: ContainerStatus::default(),
        }
    }

    fn image(entrypoint: Option<&[&str]>) -> RunConfig {
        RunConfig {
            entrypoint: entrypoint.map(|e| e.iter().map(|s| s.to_string()).collect()),
            env: vec!["PATH=/bin".into()],
            ..RunConfig::default()
        }
    }

    #[test]
    fn an_emptied_entrypoint_becomes_a_command_so_the_images_stays_out() {
        // `--entrypoint ""` over an image with an ENTRYPOINT: Kubernetes' args alone would
        // bring the image's entrypoint back.
        let rec = record("x", &[], &["echo", "hi"]);
        let img = image(Some(&["/entry"]));
        let (p, _) = pod(&[Source {
            rec: &rec,
            image: &img,
        }]);
        let c = &p.spec.containers[0];
        assert_eq!(
            c.command.as_deref(),
            Some(&["echo".to_string(), "hi".into()][..])
        );
        assert_eq!(c.args, None);
        // The image's own environment is left out, the container's own kept.
        assert_eq!(c.env.len(), 1);
        assert_eq!(c.env[0].name, "MODE");
        // The default hostname (the short id) is not worth writing.
        assert_eq!(p.spec.hostname, None);
    }

    #[test]
    fn names_become_dns_labels_and_a_service_without_ports_is_headless() {
        assert_eq!(dns_label("My_App.v2"), "my-app-v2");
        assert_eq!(dns_label("__"), "container");
        assert_eq!(dns_label(&"a".repeat(80)).len(), 63);
        let rec = record("My_App", &["/bin/app"], &[]);
        let img = image(None);
        let (p, _) = pod(&[Source {
            rec: &rec,
            image: &img,
        }]);
        assert_eq!(p.metadata.name, "my-app-pod");
        assert_eq!(p.spec.containers[0].args, None);
        let s = service(&p);
        assert_eq!(s.spec.kind, "ClusterIP");
        assert_eq!(s.spec.cluster_ip.as_deref(), Some("None"));
    }

    #[test]
    fn a_user_name_is_left_out_with_a_warning() {
        let mut rec = record("x", &[], &["true"]);
        rec.config.user = "www-data:100".into();
        let img = image(None);
        let (p, warnings) = pod(&[Source {
            rec: &rec,
            image: &img,
        }]);
        let sc = p.spec.containers[0].security_context.as_ref().unwrap();
        assert_eq!((sc.run_as_user, sc.run_as_group), (None, Some(100)));
        assert!(
            warnings[0].contains("\"www-data:100\" is not numeric"),
            "{warnings:?}"
        );
    }
}

#[test]
fn pod_level_user_host_network_and_pull_policy() {
    let p = plan(
        "kind: Pod\napiVersion: v1\nmetadata: {name: p}\nspec:\n  hostNetwork: true\n  securityContext: {runAsUser: 1000, runAsGroup: 1000}\n  containers:\n  - {name: a, image: busybox, imagePullPolicy: Never}\n  - {name: b, image: busybox, securityContext: {runAsUser: 0}}\n",
    )
    .unwrap();
    let pod = &p.pods[0];
    assert!(pod.host_network);
    let (a, b) = (&pod.containers[0], &pod.containers[1]);
    assert_eq!((a.run_as_user, a.run_as_group), (Some(1000), Some(1000)));
    // A container's own setting wins over the pod's.
    assert_eq!((b.run_as_user, b.run_as_group), (Some(0), Some(1000)));
    assert_eq!(a.pull, crate::registry::PullPolicy::Never);
    assert_eq!(b.pull, crate::registry::PullPolicy::Missing);
    let e = error("kind: Pod\napiVersion: v1\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: busybox, imagePullPolicy: Sometimes}]\n");
    assert_eq!(
        e,
        "app.yaml: Pod \"p\": spec.containers[0].imagePullPolicy: \"Sometimes\" is not one of Always, IfNotPresent, Never"
    );
}
