//! The typed instruction layer: [`Instruction`] and the structs for each
//! instruction's fields ([`From`], [`Run`], [`Copy`], [`Add`], [`Arg`],
//! [`Healthcheck`], …), plus [`Dockerfile`] and [`Stage`]. Values here are
//! unexpanded source words; `Instruction::expand` (in `expand.rs`) applies
//! variable substitution where BuildKit does.

use std::time::Duration;

use crate::error::Spanned;

/// A parsed Dockerfile: directives, global ARGs and build stages.
#[derive(Debug, Clone, PartialEq)]
pub struct Dockerfile {
    /// Escape token (`\` by default, or `` ` `` via `# escape=`).
    pub escape: char,
    /// Value of the `# syntax=` directive.
    pub syntax: Option<String>,
    /// ARG instructions before the first FROM.
    pub meta_args: Vec<Spanned<Arg>>,
    /// Build stages in source order.
    pub stages: Vec<Stage>,
    /// Value of the `# check=` directive.
    pub check: Option<String>,
    /// Parser warnings (empty continuation lines).
    pub warnings: Vec<String>,
}

/// One build stage: its FROM and the instructions after it.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// 0-based position among the stages.
    pub index: usize,
    pub from: Spanned<From>,
    /// Lower-cased `AS` alias.
    pub name: Option<String>,
    /// Instructions after FROM (not including it).
    pub instructions: Vec<Spanned<Instruction>>,
}

/// `FROM [--platform=…] image [AS name]` (image unexpanded).
#[derive(Debug, Clone, PartialEq)]
pub struct From {
    pub image: String,
    pub platform: Option<String>,
    /// The alias as written after `AS`.
    pub alias: Option<String>,
}

/// Shell form (one string run through SHELL) or exec form (JSON array).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum ShellOrExec {
    Shell(String),
    Exec(Vec<String>),
}

/// A heredoc attached to RUN, COPY or ADD.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Heredoc {
    /// Delimiter (quotes removed). For COPY/ADD this is also the file name.
    pub name: String,
    /// Body. RUN: raw (tabs kept even with `<<-`); COPY/ADD: leading tabs
    /// already removed when `chomp` is set, as BuildKit does.
    pub content: String,
    /// False if the delimiter was quoted: the body must not be expanded.
    pub expand: bool,
    /// True for `<<-`.
    pub chomp: bool,
}

/// `RUN [--mount=…] [--network=…] [--security=…] command`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Run {
    pub command: ShellOrExec,
    pub heredocs: Vec<Heredoc>,
    pub mounts: Vec<RunMount>,
    pub network: Option<RunNetwork>,
    pub security: Option<RunSecurity>,
}

/// `RUN --security=…`: BuildKit's sandbox (the default) or insecure (privileged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum RunSecurity {
    Sandbox,
    Insecure,
}

impl RunSecurity {
    /// The mode as written in the Dockerfile; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sandbox" => Some(RunSecurity::Sandbox),
            "insecure" => Some(RunSecurity::Insecure),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            RunSecurity::Sandbox => "sandbox",
            RunSecurity::Insecure => "insecure",
        }
    }
}

/// `RUN --network=…`: the network the command runs in (BuildKit's three modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum RunNetwork {
    Default,
    None,
    Host,
}

impl RunNetwork {
    /// The mode as written in the Dockerfile; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "default" => Some(RunNetwork::Default),
            "none" => Some(RunNetwork::None),
            "host" => Some(RunNetwork::Host),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            RunNetwork::Default => "default",
            RunNetwork::None => "none",
            RunNetwork::Host => "host",
        }
    }
}

/// Kind of a `RUN --mount`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum MountKind {
    Bind,
    Cache,
    Tmpfs,
    Secret,
    Ssh,
}

impl MountKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            MountKind::Bind => "bind",
            MountKind::Cache => "cache",
            MountKind::Tmpfs => "tmpfs",
            MountKind::Secret => "secret",
            MountKind::Ssh => "ssh",
        }
    }
}

/// One `RUN --mount=…` as written (defaults are left to the builder).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct RunMount {
    pub kind: MountKind,
    pub target: Option<String>,
    pub source: Option<String>,
    pub from: Option<String>,
    /// Read-only (bind mounts default to read-only, others to read-write).
    pub readonly: bool,
    pub id: Option<String>,
    pub sharing: Option<String>,
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub required: bool,
    pub size: Option<u64>,
    pub env: Option<String>,
    /// The flag value as written (used to re-parse after expansion).
    pub raw: String,
}

/// `COPY [flags] src… dest` (heredoc sources are in `heredocs`).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Copy {
    pub sources: Vec<String>,
    pub dest: String,
    pub heredocs: Vec<Heredoc>,
    pub from: Option<String>,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub link: bool,
    pub exclude: Vec<String>,
    pub parents: bool,
}

/// `ADD [flags] src… dest` (heredoc sources are in `heredocs`).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Add {
    pub sources: Vec<String>,
    pub dest: String,
    pub heredocs: Vec<Heredoc>,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub link: bool,
    pub exclude: Vec<String>,
    pub keep_git_dir: bool,
    pub checksum: Option<String>,
    pub unpack: Option<bool>,
}

/// `ARG name[=default] …`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Arg {
    pub args: Vec<(String, Option<String>)>,
}

/// What a HEALTHCHECK runs.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum HealthTest {
    /// `HEALTHCHECK NONE`.
    None,
    /// `HEALTHCHECK CMD …` (shell form is BuildKit's `CMD-SHELL`).
    Cmd(ShellOrExec),
}

/// `HEALTHCHECK [options] CMD …` or `HEALTHCHECK NONE`.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Healthcheck {
    pub test: HealthTest,
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    pub start_period: Option<Duration>,
    pub start_interval: Option<Duration>,
    pub retries: Option<u32>,
}

/// Every instruction except FROM (which only appears as [`Stage::from`]).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum Instruction {
    Run(Run),
    Cmd(ShellOrExec),
    Entrypoint(ShellOrExec),
    Shell(Vec<String>),
    Copy(Copy),
    Add(Add),
    /// Raw (unexpanded) key/value pairs; quotes are removed by `expand`.
    Env(Vec<(String, String)>),
    /// Raw (unexpanded) key/value pairs; quotes are removed by `expand`.
    Label(Vec<(String, String)>),
    Arg(Arg),
    Workdir(String),
    User(String),
    Expose(Vec<String>),
    Volume(Vec<String>),
    StopSignal(String),
    Healthcheck(Healthcheck),
    /// The trigger and its source text (without `ONBUILD`, heredoc bodies
    /// appended), as stored in the image config.
    Onbuild(Box<Instruction>, String),
    Maintainer(String),
}

impl Instruction {
    /// The upper-case keyword (`"RUN"`, `"COPY"`, …).
    pub fn keyword(&self) -> &'static str {
        match self {
            Instruction::Run(_) => "RUN",
            Instruction::Cmd(_) => "CMD",
            Instruction::Entrypoint(_) => "ENTRYPOINT",
            Instruction::Shell(_) => "SHELL",
            Instruction::Copy(_) => "COPY",
            Instruction::Add(_) => "ADD",
            Instruction::Env(_) => "ENV",
            Instruction::Label(_) => "LABEL",
            Instruction::Arg(_) => "ARG",
            Instruction::Workdir(_) => "WORKDIR",
            Instruction::User(_) => "USER",
            Instruction::Expose(_) => "EXPOSE",
            Instruction::Volume(_) => "VOLUME",
            Instruction::StopSignal(_) => "STOPSIGNAL",
            Instruction::Healthcheck(_) => "HEALTHCHECK",
            Instruction::Onbuild(..) => "ONBUILD",
            Instruction::Maintainer(_) => "MAINTAINER",
        }
    }
}
