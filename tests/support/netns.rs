//! A network namespace per test (`ip netns add`): kiste runs inside it through
//! `nsenter --net`, so bridges, veths, nftables rules and all traffic stay in namespaces
//! the test made, and tests that use the same bridge or table names never meet.

use super::{skip, Kiste, Run};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A container command serving `hello` on port 80, forever.
pub const HELLO_SERVER: &str = "while true; do echo hello | nc -l -p 80; done";

/// A named network namespace (`ip netns add`), deleted on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// None (after a skip) when this machine cannot make one.
    pub fn new(tag: &str) -> Option<Netns> {
        if !nix::unistd::Uid::effective().is_root() {
            skip("network tests need root");
            return None;
        }
        for tool in ["ip", "nft", "nsenter", "busybox"] {
            let found = Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !found {
                skip(&format!("{tool} is not installed"));
                return None;
            }
        }
        let name = format!("kt-{}-{tag}", std::process::id());
        let ok = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "ip netns add {name}");
        let ns = Netns { name };
        ns.sh("ip link set lo up");
        Some(ns)
    }

    /// A namespace (as `new`) and a private store with the busybox image: the start of
    /// most network tests.
    pub fn with_busybox(tag: &str) -> Option<(Netns, Kiste)> {
        let ns = Netns::new(tag)?;
        let k = Kiste::new();
        k.busybox();
        Some((ns, k))
    }

    pub fn enter(&self, program: &str) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(format!("--net=/run/netns/{}", self.name))
            .arg(program);
        c.stdin(Stdio::null());
        c
    }

    /// `script` run by sh in the namespace; its stdout (it must succeed).
    pub fn sh(&self, script: &str) -> String {
        let out = self.enter("sh").args(["-c", script]).output().unwrap();
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// kiste with `k`'s store, run in the namespace.
    pub fn kiste(&self, k: &Kiste, args: &[&str]) -> Run {
        self.kiste_cmd(k, args).output().unwrap().into()
    }

    pub fn kiste_cmd(&self, k: &Kiste, args: &[&str]) -> Command {
        let mut c = self.enter(env!("CARGO_BIN_EXE_kiste"));
        c.arg("--root")
            .arg(k.root())
            .arg("--runroot")
            .arg(k.runroot());
        c.args(args);
        c
    }

    pub fn kiste_ok(&self, k: &Kiste, args: &[&str]) -> String {
        let r = self.kiste(k, args);
        assert_eq!(r.code, 0, "kiste {args:?}: {}{}", r.stdout, r.stderr);
        r.stdout
    }

    /// kiste's output (it must succeed) as JSON.
    pub fn json(&self, k: &Kiste, args: &[&str]) -> serde_json::Value {
        serde_json::from_str(&self.kiste_ok(k, args)).unwrap()
    }

    /// Container `name` (run with `extra` flags) serving `hello` on port 80.
    pub fn run_server(&self, k: &Kiste, name: &str, extra: &[&str]) {
        let mut args = vec!["run", "-d", "--name", name];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["busybox", "sh", "-c", HELLO_SERVER]);
        self.kiste_ok(k, &args);
    }

    /// A container's IPv4 address on network `net`.
    pub fn ip_on(&self, k: &Kiste, name: &str, net: &str) -> String {
        let v = self.json(k, &["inspect", name]);
        v[0]["NetworkSettings"]["Networks"][net]["IPAddress"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// What a one-shot busybox container on `net` gets back from `nc -w 2 ADDR 80`.
    pub fn nc_from(&self, k: &Kiste, net: &str, addr: &str) -> String {
        let script = format!("echo x | nc -w 2 {addr} 80");
        let args = [
            "run",
            "--rm",
            "--network",
            net,
            "busybox",
            "sh",
            "-c",
            &script,
        ];
        self.kiste(k, &args).stdout
    }

    /// Polls until a one-shot container on `net` gets `hello` from `addr` (the server takes
    /// a moment to listen).
    pub fn wait_hello_from(&self, k: &Kiste, net: &str, addr: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !self.nc_from(k, net, addr).contains("hello") {
            assert!(Instant::now() < deadline, "{addr} never answered on {net}");
        }
    }

    /// The output of each of `commands` in the namespace: its state, to compare before
    /// and after.
    pub fn snapshot(&self, commands: &[&str]) -> Vec<String> {
        commands.iter().map(|c| self.sh(c)).collect()
    }

    /// An "outside host": namespace `tag` joined to this one by a veth (`LINK-up` here with
    /// address `ours`, `LINK-out` there with `theirs`, each "ADDR/PREFIX [ip addr options]"),
    /// with no route back to any kiste subnet (only NAT gets answers), serving `outside` on
    /// port 9000 until dropped. None (after a skip) as `Netns::new`.
    pub fn outside_host(
        &self,
        tag: &str,
        link: &str,
        ours: &str,
        theirs: &str,
    ) -> Option<OutsideHost> {
        let ns = Netns::new(tag)?;
        self.sh(&format!(
            "ip link add {link}-up type veth peer name {link}-out netns {}; ip addr add {ours} dev {link}-up; ip link set {link}-up up",
            ns.name
        ));
        ns.sh(&format!(
            "ip addr add {theirs} dev {link}-out; ip link set {link}-out up"
        ));
        let server = ns
            .enter("sh")
            .args([
                "-c",
                "while true; do echo outside | busybox nc -l -p 9000; done",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        let addr = theirs.split('/').next().unwrap_or_default().to_string();
        Some(OutsideHost { server, addr, ns })
    }

    /// What `text` gets back from a TCP connection to `addr port` in the namespace.
    pub fn nc(&self, addr: &str, port: u16, text: &str) -> String {
        let out = self
            .enter("sh")
            .args([
                "-c",
                &format!("echo {text} | busybox nc -w 2 {addr} {port}"),
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Poll until `addr:port` answers `want` (a server in a container takes a moment).
    pub fn wait_answer(&self, addr: &str, port: u16, want: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self.nc(addr, port, "x").contains(want) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{addr}:{port} never answered {want:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Nothing of a container is left: no veth (only lo, the bridge kiste0, which stays like
    /// docker0, and what the test made itself), no nft table, no address held in the store.
    pub fn assert_clean(&self, k: &Kiste, own_links: &[&str]) {
        // A container's veth goes with its namespace, which the kernel tears down in the
        // background after the container ended.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let links = self.sh("ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1");
            let left: Vec<&str> = links
                .lines()
                .filter(|l| *l != "lo" && *l != "kiste0" && !own_links.contains(l))
                .collect();
            if left.is_empty() {
                break;
            }
            assert!(Instant::now() < deadline, "links left behind: {left:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
        // The default network's two chains stay with its bridge; nothing per container.
        let rules = self.sh("nft list ruleset");
        for line in rules.lines().filter(|l| l.contains("chain ")) {
            assert!(
                line.contains("chain kiste0-nat") || line.contains("chain kiste0-fwd"),
                "nft chain left behind: {rules}"
            );
        }
        assert!(!rules.contains("dnat"), "{rules}");
        let held = self.default_bridge_members(k);
        assert!(held.is_empty(), "addresses still held: {held:?}");
    }

    /// The host-wide allocation file of the default bridge in this namespace.
    pub fn default_bridge_state(&self) -> std::path::PathBuf {
        use std::os::unix::fs::MetadataExt;
        let ino = std::fs::metadata(format!("/run/netns/{}", self.name))
            .unwrap()
            .ino();
        format!("/run/kiste-networks/kiste0.{ino}.json").into()
    }

    /// The default bridge's members (container id, address) that belong to `k`'s store.
    pub fn default_bridge_members(&self, k: &Kiste) -> Vec<(String, String)> {
        let Ok(bytes) = std::fs::read(self.default_bridge_state()) else {
            return Vec::new();
        };
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let store = k.runroot().to_string_lossy().into_owned();
        v["members"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(_, m)| m["store"] == store.as_str())
            .map(|(id, m)| (id.clone(), m["ip"].as_str().unwrap_or("").to_string()))
            .collect()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// A namespace outside a test's own (`Netns::outside_host`), answering `outside` on port
/// 9000 at `addr`; its server (a process group) is killed on drop, then the namespace goes.
pub struct OutsideHost {
    server: Child,
    pub addr: String,
    pub ns: Netns,
}

impl OutsideHost {
    /// What a one-shot busybox container in `ns`, run with `flags`, hears from port 9000.
    pub fn heard_by(&self, ns: &Netns, k: &Kiste, flags: &[&str]) -> String {
        let script = format!("echo inside | nc -w 2 {} 9000", self.addr);
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["busybox", "sh", "-c", &script]);
        ns.kiste(k, &args).stdout
    }

    /// Polls until a one-shot container run with `flags` hears `outside`.
    pub fn wait_heard_by(&self, ns: &Netns, k: &Kiste, flags: &[&str]) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.heard_by(ns, k, flags).contains("outside") {
            assert!(
                Instant::now() < deadline,
                "the outside host {} was never reached with {flags:?}",
                self.addr
            );
        }
    }
}

impl Drop for OutsideHost {
    fn drop(&mut self) {
        // The whole group: the loop and its nc.
        unsafe { libc::kill(-(self.server.id() as i32), libc::SIGKILL) };
        let _ = self.server.wait();
    }
}
