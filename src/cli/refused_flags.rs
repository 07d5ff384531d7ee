//! docker's flags that kiste refuses, each with its class and reason. They are listed in
//! `--help` and refused while the command line is parsed (exit 125, one line), so nothing
//! is created and no verb ever sees them. The classes: `windows-only`, `swarm-only`,
//! `legacy-removed` (docker itself removed or deprecated it), `hardware-absent` (with the
//! path to support it), `no-daemon` (it talks to a daemon kiste does not have), and
//! `not-implemented` (kiste could do it but does not yet; the reason says what is missing).

use clap::Args;

/// A refused flag's value: it is never made (the parser always fails), so a verb cannot
/// read one.
#[derive(Debug, Clone)]
pub enum Refused {}

/// The parser of a refused flag: fails with `refused (CLASS): REASON`.
pub(super) fn refuse(
    class: &'static str,
    reason: &'static str,
) -> impl Fn(&str) -> Result<Refused, String> + Clone + Send + Sync + 'static {
    move |_| Err(format!("refused ({class}): {reason}"))
}

const ISOLATION: &str = "isolation technologies (process, hyperv) are Windows containers'; \
    Linux containers always run in namespaces";
const LINKS: &str = "links are docker's legacy feature; put both containers on a network \
    (kiste network create) and use the name";
const CONTENT_TRUST: &str = "Docker Content Trust (Notary v1) is deprecated by docker; pin \
    images by digest (IMAGE@sha256:...)";

/// `--disable-content-trust[=BOOL]`: true (docker's default) is what kiste does, as it
/// never verifies signatures; false asks for Notary v1 verification, which is refused.
fn content_trust_off(v: &str) -> Result<bool, String> {
    match v {
        "true" | "1" | "t" | "T" | "TRUE" | "True" => Ok(true),
        "false" | "0" | "f" | "F" | "FALSE" | "False" => {
            Err(format!("refused (legacy-removed): {CONTENT_TRUST}"))
        }
        _ => Err(format!(
            "strconv.ParseBool: parsing \"{v}\": invalid syntax"
        )),
    }
}

// The refused flags of `run` and `create`.
#[derive(Debug, Default, Args)]
pub struct RunRefusedFlags {
    /// Container isolation technology (refused: Windows only)
    #[arg(long, value_name = "STRING", value_parser = refuse("windows-only", ISOLATION))]
    pub isolation: Option<Refused>,
    /// Kernel memory limit (refused: removed by docker and by cgroup v2)
    #[arg(long, value_name = "BYTES", value_parser = refuse("legacy-removed",
        "kernel memory limits were removed by docker 23 and do not exist in cgroup v2 (kmem is counted in --memory)"))]
    pub kernel_memory: Option<Refused>,
    /// Add link to another container (refused: legacy, use a user-defined network)
    #[arg(long, value_name = "NAME:ALIAS", value_parser = refuse("legacy-removed", LINKS))]
    pub link: Vec<Refused>,
    /// GPU devices to add to the container (refused: no GPU support)
    #[arg(long, value_name = "GPU-REQUEST", value_parser = refuse("hardware-absent",
        "kiste has no GPU support and this machine has no GPU; the path is CDI specs from nvidia-container-toolkit (nvidia-ctk cdi generate) passed as --device"))]
    pub gpus: Option<Refused>,
    /// Skip image verification (default true, as kiste never verifies; false is refused: Docker Content Trust is deprecated)
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true,
        value_name = "BOOL", value_parser = content_trust_off)]
    pub disable_content_trust: Option<bool>,
}

// The refused flags of `build`.
#[derive(Debug, Default, Args)]
pub struct BuildRefusedFlags {
    /// Container isolation technology (refused: Windows only)
    #[arg(long, value_name = "STRING", value_parser = refuse("windows-only", ISOLATION))]
    pub isolation: Option<Refused>,
    /// Skip image verification (default true, as kiste never verifies; false is refused: Docker Content Trust is deprecated)
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true,
        value_name = "BOOL", value_parser = content_trust_off)]
    pub disable_content_trust: Option<bool>,
}

// `pull` and `push`: `--disable-content-trust`.
#[derive(Debug, Default, Args)]
pub struct TrustRefusedFlag {
    /// Skip image verification/signing (default true, as kiste never verifies; false is refused: Docker Content Trust is deprecated)
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true,
        value_name = "BOOL", value_parser = content_trust_off)]
    pub disable_content_trust: Option<bool>,
}

// `rm --link` (docker's `-l`; kiste's `-l` is podman's `--latest`).
#[derive(Debug, Args)]
pub struct RmLinkFlag {
    /// Remove the specified link (refused: legacy, use a user-defined network)
    #[arg(long, num_args = 0, default_missing_value = "true", value_parser = refuse("legacy-removed", LINKS))]
    pub link: Option<Refused>,
}

// `network connect --link`.
#[derive(Debug, Args)]
pub struct ConnectLinkFlag {
    /// Add link to another container (refused: legacy, use the network's names)
    #[arg(long, value_name = "NAME:ALIAS", value_parser = refuse("legacy-removed", LINKS))]
    pub link: Vec<Refused>,
}

// `network create`'s swarm flags.
#[derive(Debug, Args)]
pub struct NetworkSwarmFlags {
    /// Enable manual container attachment (refused: swarm overlay networks only)
    #[arg(long, num_args = 0, default_missing_value = "true", value_parser = refuse("swarm-only",
        "attachable is for swarm overlay networks; kiste's networks are local and always attachable"))]
    pub attachable: Option<Refused>,
    /// Create swarm routing-mesh network (refused: swarm only)
    #[arg(long, num_args = 0, default_missing_value = "true", value_parser = refuse("swarm-only",
        "the routing mesh is swarm's"))]
    pub ingress: Option<Refused>,
    /// Control the network's scope (refused: kiste's networks are local)
    #[arg(long, value_name = "STRING", value_parser = refuse("swarm-only",
        "scopes other than local are swarm's; kiste's networks are local"))]
    pub scope: Option<Refused>,
    /// Create a configuration only network (refused: swarm only)
    #[arg(long, num_args = 0, default_missing_value = "true", value_parser = refuse("swarm-only",
        "configuration-only networks serve swarm services"))]
    pub config_only: Option<Refused>,
    /// The network from which to copy the configuration (refused: swarm only)
    #[arg(long, value_name = "STRING", value_parser = refuse("swarm-only",
        "configuration-only networks serve swarm services"))]
    pub config_from: Option<Refused>,
}

// `network inspect --verbose`.
#[derive(Debug, Args)]
pub struct NetworkVerboseFlag {
    /// Verbose output for diagnostics (refused: swarm only)
    #[arg(short = 'v', long, num_args = 0, default_missing_value = "true", value_parser = refuse("swarm-only",
        "the verbose view lists swarm services and tasks across nodes"))]
    pub verbose: Option<Refused>,
}
