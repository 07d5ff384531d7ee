//! One example per verb, shown at the end of its `--help` (clap's `after_help`) and in its
//! man page. They live in one table, keyed by the verb's path, rather than on each flag
//! struct: a struct may serve several verbs (`images` and `image ls`), and a new verb
//! needs one line here (`tests/help_examples.rs` fails for a verb without one).

use clap::Command;

/// `(path, example)`: the path is the subcommand names after `kiste`, space-separated.
pub const EXAMPLES: &[(&str, &str)] = &[
    ("build", "kiste build -t app:1 ."),
    ("run", "kiste run -d --name web -p 8080:80 httpd:2.4"),
    ("create", "kiste create --name web -p 8080:80 httpd:2.4"),
    ("start", "kiste start web"),
    ("stop", "kiste stop -t 5 web"),
    ("kill", "kiste kill -s HUP web"),
    ("rm", "kiste rm -f -t 5 web"),
    ("ps", "kiste ps -a --format '{{.Names}}\\t{{.Status}}'"),
    ("logs", "kiste logs -f --tail 20 web"),
    ("images", "kiste images --filter dangling=true -q"),
    ("import", "kiste import rootfs.tar base:1"),
    ("rmi", "kiste rmi app:1"),
    ("tag", "kiste tag app:1 registry.example.com/app:1"),
    ("untag", "kiste untag app:1"),
    ("inspect", "kiste inspect --format '{{.State.Status}}' web"),
    ("image", "kiste image ls"),
    ("image ls", "kiste image ls --format json"),
    (
        "image inspect",
        "kiste image inspect --format '{{.Config.Cmd}}' app:1",
    ),
    ("image history", "kiste image history app:1"),
    ("image prune", "kiste image prune -a -f"),
    ("image rm", "kiste image rm app:1"),
    ("image tag", "kiste image tag app:1 app:latest"),
    ("image import", "kiste image import rootfs.tar base:1"),
    ("image pull", "kiste image pull busybox:1.36"),
    ("image push", "kiste image push registry.example.com/app:1"),
    ("image save", "kiste image save -o app.tar app:1"),
    ("image load", "kiste image load -i app.tar"),
    (
        "image exists",
        "kiste image exists app:1 || kiste build -t app:1 .",
    ),
    ("image untag", "kiste image untag app:1"),
    ("container", "kiste container prune -f"),
    (
        "container inspect",
        "kiste container inspect --format '{{.State.Status}}' web",
    ),
    (
        "container exists",
        "kiste container exists web && kiste rm -f web",
    ),
    (
        "container prune",
        "kiste container prune -f --filter until=24h",
    ),
    ("history", "kiste history --no-trunc app:1"),
    ("pull", "kiste pull busybox:1.36"),
    ("push", "kiste push registry.example.com/app:1"),
    (
        "login",
        "echo \"$TOKEN\" | kiste login -u ci --password-stdin registry.example.com",
    ),
    ("logout", "kiste logout registry.example.com"),
    ("save", "kiste save app:1 | gzip > app.tar.gz"),
    ("load", "kiste load < app.tar"),
    ("export", "kiste export -o rootfs.tar web"),
    ("version", "kiste version --format '{{.Client.Version}}'"),
    ("completion", "source <(kiste completion bash)"),
    ("network", "kiste network ls"),
    ("network ls", "kiste network ls"),
    ("network inspect", "kiste network inspect bridge"),
    (
        "info",
        "kiste info --format '{{.CgroupVersion}} {{.Driver}}'",
    ),
    (
        "network create",
        "kiste network create --subnet 10.90.0.0/24 appnet",
    ),
    ("network rm", "kiste network rm appnet"),
    ("network prune", "kiste network prune -f"),
    (
        "network connect",
        "kiste network connect --alias db appnet web",
    ),
    ("network disconnect", "kiste network disconnect appnet web"),
    ("port", "kiste port web 80/tcp"),
    ("compose", "kiste compose up -d"),
    (
        "compose up",
        "kiste compose -f compose.yaml -f compose.ci.yaml up -d --build web",
    ),
    ("compose down", "kiste compose down -v --remove-orphans"),
    ("compose ps", "kiste compose ps -a"),
    ("compose logs", "kiste compose logs -f web"),
    ("compose build", "kiste compose build web"),
    ("compose pull", "kiste compose pull"),
    ("compose config", "kiste compose --profile debug config"),
    ("compose exec", "kiste compose exec web sh -c 'env'"),
    ("compose run", "kiste compose run --rm web sh"),
    ("compose start", "kiste compose start db"),
    ("compose stop", "kiste compose stop web"),
    ("compose restart", "kiste compose restart web"),
    ("compose rm", "kiste compose rm -f -s web"),
    (
        "update",
        "kiste update -m 512m --cpus 1.5 --restart unless-stopped web",
    ),
    ("manifest", "kiste manifest inspect busybox:latest"),
    (
        "manifest create",
        "kiste manifest create reg.example/app:1 reg.example/app:1-amd64 reg.example/app:1-arm64",
    ),
    (
        "manifest add",
        "kiste manifest add --arch arm64 reg.example/app:1 reg.example/app:1-arm64",
    ),
    (
        "manifest annotate",
        "kiste manifest annotate --arch arm64 --variant v8 reg.example/app:1 reg.example/app:1-arm64",
    ),
    ("manifest inspect", "kiste manifest inspect reg.example/app:1"),
    ("manifest push", "kiste manifest push --purge reg.example/app:1"),
    ("manifest rm", "kiste manifest rm reg.example/app:1"),
    (
        "search",
        "kiste search --limit 5 --filter is-official=true busybox",
    ),
    ("oci", "kiste oci run --bundle ./bundle web"),
    ("exec", "kiste exec -it web sh"),
    ("attach", "kiste attach --detach-keys ctrl-a,a web"),
    ("volume", "kiste volume ls"),
    ("volume create", "kiste volume create --label app=web data"),
    ("volume ls", "kiste volume ls --filter dangling=true -q"),
    (
        "volume inspect",
        "kiste volume inspect --format '{{.Mountpoint}}' data",
    ),
    ("volume rm", "kiste volume rm data"),
    ("volume prune", "kiste volume prune -a -f"),
    ("cp", "kiste cp web:/etc/hostname ./hostname"),
    ("diff", "kiste diff web"),
    ("commit", "kiste commit -m 'configured' web app:configured"),
    ("wait", "kiste wait web"),
    ("restart", "kiste restart -t 5 web"),
    ("rename", "kiste rename web web-old"),
    ("pause", "kiste pause web"),
    ("unpause", "kiste unpause web"),
    ("top", "kiste top web -o pid,comm"),
    ("stats", "kiste stats --no-stream web"),
    ("healthcheck", "kiste healthcheck run web"),
    ("healthcheck run", "kiste healthcheck run web"),
    ("generate", "kiste generate systemd --new --name web"),
    (
        "generate systemd",
        "kiste generate systemd --new --name web",
    ),
    ("generate kube", "kiste generate kube -s -f web.yaml web"),
    ("play", "kiste play kube web.yaml"),
    ("play kube", "kiste play kube --down web.yaml"),
    ("kube", "kiste kube play web.yaml"),
    ("kube play", "kiste kube play --replace web.yaml"),
    ("kube down", "kiste kube down web.yaml"),
    ("system", "kiste system df"),
    ("system df", "kiste system df -v"),
    ("system info", "kiste system info --format '{{json .}}'"),
    ("system prune", "kiste system prune -a -f"),
    (
        "system service",
        "kiste system service --socket unix:///tmp/kiste.sock --time 60",
    ),
    (
        "system events",
        "kiste system events --since 10m --filter type=container",
    ),
    (
        "events",
        "kiste events --filter container=web --format '{{json .}}'",
    ),
    ("builder", "kiste builder prune -f"),
    ("builder prune", "kiste builder prune -a -f"),
    ("context", "kiste context ls"),
    ("context ls", "kiste context ls --format json"),
    (
        "context inspect",
        "kiste context inspect --format '{{json .Endpoints}}'",
    ),
    ("context show", "kiste context show"),
    ("context use", "kiste context use default"),
    (
        "context create",
        "kiste context create web --docker root=/srv/web,runroot=/run/web",
    ),
    (
        "context rm",
        "kiste context rm -f web",
    ),
    (
        "context update",
        "kiste context update --description 'the web store' web",
    ),
    (
        "context export",
        "kiste context export web web.tar",
    ),
    (
        "context import",
        "kiste context import web web.tar",
    ),
    (
        "checkpoint",
        "kiste checkpoint create web cp1 (refused: see the error for why)",
    ),
    ("plugin", "kiste plugin ls"),
    ("plugin create", "kiste plugin create myvol ./plugin-dir"),
    ("plugin disable", "kiste plugin disable -f myvol"),
    ("plugin enable", "kiste plugin enable --timeout 60 myvol"),
    ("plugin inspect", "kiste plugin inspect -f '{{.Enabled}}' myvol"),
    (
        "plugin install",
        "kiste plugin install --grant-all-permissions localhost:5000/myvol DEBUG=1",
    ),
    ("plugin ls", "kiste plugin ls --filter enabled=true --format '{{.Name}}'"),
    ("plugin push", "kiste plugin push localhost:5000/myvol"),
    ("plugin rm", "kiste plugin rm -f myvol"),
    ("plugin set", "kiste plugin set myvol DEBUG=1"),
    (
        "plugin upgrade",
        "kiste plugin upgrade --grant-all-permissions myvol localhost:5000/myvol:v2",
    ),
    (
        "trust",
        "kiste trust inspect app:1 (refused: see the error for why)",
    ),
];

/// The example for the verb at `path`, if the table has one.
pub fn example(path: &str) -> Option<&'static str> {
    EXAMPLES.iter().find(|(p, _)| *p == path).map(|(_, e)| *e)
}

/// The table's example, else a management form's (`container ls`) is its short verb's
/// (`ps`) under the longer name.
fn example_for(path: &str) -> Option<String> {
    if let Some(e) = example(path) {
        return Some(e.to_string());
    }
    let short = super::short_form(path)?;
    let e = example(short)?;
    let tail = e.strip_prefix(&format!("kiste {short}"))?;
    Some(format!("kiste {path}{tail}"))
}

/// `cmd` with every subcommand's example appended to its help.
pub fn with_examples(cmd: Command) -> Command {
    add(cmd, "")
}

fn add(mut cmd: Command, path: &str) -> Command {
    if !path.is_empty() {
        if let Some(e) = example_for(path) {
            cmd = cmd.after_help(format!("Example:\n  {e}"));
        }
    }
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    for name in names {
        let sub_path = if path.is_empty() {
            name.clone()
        } else {
            format!("{path} {name}")
        };
        cmd = cmd.mut_subcommand(&name, |s| add(s, &sub_path));
    }
    cmd
}
