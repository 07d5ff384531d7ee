//! docker's management-command forms (`container ls`, `image build`, …). Each form is the
//! short verb under another name: it takes the same flag struct and becomes the same
//! `Command` variant (`From<ContainerVerb> for Command`), so flags, behaviour and output
//! are defined once. Only the verbs with no short form (`image inspect`, `container
//! prune`, the podman `exists`) are handled by the group itself.

use super::complete;
use super::*;
use clap::{Args, Subcommand};
use clap_complete::engine::ArgValueCandidates;

/// `(management path, short verb)`: the forms that are another name for a short verb.
/// Examples and the equivalence test read it; `From<…> for Command` is the dispatch.
pub const MANAGEMENT_FORMS: &[(&str, &str)] = &[
    ("container attach", "attach"),
    ("container commit", "commit"),
    ("container cp", "cp"),
    ("container create", "create"),
    ("container diff", "diff"),
    ("container exec", "exec"),
    ("container export", "export"),
    ("container kill", "kill"),
    ("container logs", "logs"),
    ("container ls", "ps"),
    ("container pause", "pause"),
    ("container port", "port"),
    ("container rename", "rename"),
    ("container restart", "restart"),
    ("container rm", "rm"),
    ("container run", "run"),
    ("container start", "start"),
    ("container stats", "stats"),
    ("container stop", "stop"),
    ("container top", "top"),
    ("container unpause", "unpause"),
    ("container update", "update"),
    ("container wait", "wait"),
    ("image build", "build"),
    ("image history", "history"),
    ("image import", "import"),
    ("image load", "load"),
    ("image ls", "images"),
    ("image pull", "pull"),
    ("image push", "push"),
    ("image rm", "rmi"),
    ("image save", "save"),
    ("image tag", "tag"),
    ("image untag", "untag"),
    ("system info", "info"),
    ("builder build", "build"),
];

/// The short verb a management path stands for (`container ls` → `ps`).
pub fn short_form(path: &str) -> Option<&'static str> {
    MANAGEMENT_FORMS
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, s)| *s)
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum ContainerCommand {
    #[command(flatten)]
    Verb(Box<ContainerVerb>),
    /// Display detailed information on one or more containers
    Inspect(ContainerInspectArgs),
    /// Exit 0 when the container exists, 1 when it does not (podman)
    Exists(ContainerExistsArgs),
    /// Remove all stopped containers
    Prune(ContainerPruneArgs),
}

/// The container verbs that are also short verbs.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum ContainerVerb {
    /// Attach local standard input, output, and error streams to a running container
    Attach(AttachArgs),
    /// Create a new image from a container's changes
    Commit(CommitArgs),
    /// Copy files/folders between a container and the local filesystem
    Cp(CpArgs),
    /// Create a new container
    Create(RunArgs),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(DiffArgs),
    /// Execute a command in a running container
    Exec(ExecArgs),
    /// Export a container's filesystem as a tar archive
    Export(ExportArgs),
    /// Kill one or more running containers
    Kill(KillArgs),
    /// Fetch the logs of a container
    Logs(LogsArgs),
    /// List containers
    #[command(visible_aliases = ["list", "ps"])]
    Ls(PsArgs),
    /// Pause all processes within one or more containers
    Pause(PauseArgs),
    /// List port mappings or a specific mapping for the container
    Port(PortArgs),
    /// Rename a container
    Rename(RenameArgs),
    /// Restart one or more containers
    Restart(RestartArgs),
    /// Remove one or more containers
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
    /// Create and run a new container from an image
    Run(RunArgs),
    /// Start one or more stopped containers
    Start(StartArgs),
    /// Display a live stream of container(s) resource usage statistics
    Stats(StatsArgs),
    /// Stop one or more running containers
    Stop(StopArgs),
    /// Display the running processes of a container
    Top(TopArgs),
    /// Unpause all processes within one or more containers
    Unpause(UnpauseArgs),
    /// Update configuration of one or more containers
    Update(UpdateArgs),
    /// Block until one or more containers stop, then print their exit codes
    Wait(WaitArgs),
}

impl From<ContainerVerb> for Command {
    fn from(v: ContainerVerb) -> Command {
        match v {
            ContainerVerb::Attach(a) => Command::Attach(a),
            ContainerVerb::Commit(a) => Command::Commit(a),
            ContainerVerb::Cp(a) => Command::Cp(a),
            ContainerVerb::Create(a) => Command::Create(a),
            ContainerVerb::Diff(a) => Command::Diff(a),
            ContainerVerb::Exec(a) => Command::Exec(a),
            ContainerVerb::Export(a) => Command::Export(a),
            ContainerVerb::Kill(a) => Command::Kill(a),
            ContainerVerb::Logs(a) => Command::Logs(a),
            ContainerVerb::Ls(a) => Command::Ps(a),
            ContainerVerb::Pause(a) => Command::Pause(a),
            ContainerVerb::Port(a) => Command::Port(a),
            ContainerVerb::Rename(a) => Command::Rename(a),
            ContainerVerb::Restart(a) => Command::Restart(a),
            ContainerVerb::Rm(a) => Command::Rm(a),
            ContainerVerb::Run(a) => Command::Run(a),
            ContainerVerb::Start(a) => Command::Start(a),
            ContainerVerb::Stats(a) => Command::Stats(a),
            ContainerVerb::Stop(a) => Command::Stop(a),
            ContainerVerb::Top(a) => Command::Top(a),
            ContainerVerb::Unpause(a) => Command::Unpause(a),
            ContainerVerb::Update(a) => Command::Update(a),
            ContainerVerb::Wait(a) => Command::Wait(a),
        }
    }
}

// `container inspect`: `inspect --type container`.
#[derive(Debug, Args)]
pub struct ContainerInspectArgs {
    /// Format output using a custom template: 'json', or a Go template ('{{.State.Status}}')
    #[arg(add = ArgValueCandidates::new(complete::inspect_format), short = 'f', long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Display total file sizes (SizeRw, SizeRootFs)
    #[arg(short = 's', long)]
    pub size: bool,
    #[arg(add = ArgValueCandidates::new(complete::all_containers), required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

impl From<ContainerInspectArgs> for InspectArgs {
    fn from(a: ContainerInspectArgs) -> InspectArgs {
        InspectArgs {
            kind: Some("container".to_string()),
            format: a.format,
            latest: false,
            size: a.size,
            objects: a.containers,
        }
    }
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum ImageCommand {
    #[command(flatten)]
    Verb(ImageVerb),
    /// Display detailed information on one or more images
    Inspect(ImageInspectArgs),
    /// Remove unused images
    Prune(PruneArgs),
    /// Exit 0 when the image exists in the store, 1 when it does not (podman)
    Exists(ImageExistsArgs),
}

/// The image verbs that are also short verbs.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum ImageVerb {
    /// Build an image from a Dockerfile
    Build(BuildArgs),
    /// Show the history of an image
    History(HistoryArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(ImportArgs),
    /// Load images from a tar archive or STDIN
    Load(LoadArgs),
    /// List images
    #[command(visible_alias = "list")]
    Ls(ImagesArgs),
    /// Download an image from a registry
    Pull(PullArgs),
    /// Upload an image to a registry
    Push(PushArgs),
    /// Remove one or more images
    #[command(visible_alias = "remove")]
    Rm(RmiArgs),
    /// Save one or more images to a tar archive (streamed to STDOUT by default)
    Save(SaveArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(TagArgs),
    /// Remove names from an image, all of them when none is given (podman)
    Untag(UntagArgs),
}

impl From<ImageVerb> for Command {
    fn from(v: ImageVerb) -> Command {
        match v {
            ImageVerb::Build(a) => Command::Build(a),
            ImageVerb::History(a) => Command::History(a),
            ImageVerb::Import(a) => Command::Import(a),
            ImageVerb::Load(a) => Command::Load(a),
            ImageVerb::Ls(a) => Command::Images(a),
            ImageVerb::Pull(a) => Command::Pull(a),
            ImageVerb::Push(a) => Command::Push(a),
            ImageVerb::Rm(a) => Command::Rmi(a),
            ImageVerb::Save(a) => Command::Save(a),
            ImageVerb::Tag(a) => Command::Tag(a),
            ImageVerb::Untag(a) => Command::Untag(a),
        }
    }
}

#[derive(Debug, Args)]
pub struct UntagArgs {
    #[arg(add = ArgValueCandidates::new(complete::images), value_name = "IMAGE")]
    pub image: String,
    /// The names to remove (default: every name of the image)
    #[arg(add = ArgValueCandidates::new(complete::images), value_name = "NAME")]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ImageExistsArgs {
    #[arg(add = ArgValueCandidates::new(complete::images), value_name = "IMAGE")]
    pub image: String,
}

#[derive(Debug, Args)]
pub struct ContainerExistsArgs {
    #[arg(add = ArgValueCandidates::new(complete::all_containers), value_name = "CONTAINER")]
    pub container: String,
}

#[derive(Debug, Args)]
pub struct ImageInspectArgs {
    /// Format output using a custom template: 'json', or a Go template ('{{.Config.Cmd}}')
    #[arg(add = ArgValueCandidates::new(complete::inspect_format), short = 'f', long, value_name = "FORMAT")]
    pub format: Option<String>,
    #[arg(add = ArgValueCandidates::new(complete::images), required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
}
