//! Turns one node of the tree into a typed value: validates the
//! instruction's arguments and flags (BuildKit's `instructions/parse.go`
//! rules) and builds [`From`] or [`Instruction`] values.

use crate::error::{Error, Span};
use crate::flags::{Flags, Kind};
use crate::heredoc::{chomp_heredoc_content, parse_heredoc};
use crate::instructions::*;
use crate::mount::parse_mount;
use crate::node::{Node, NodeHeredoc};
use crate::quote::{equal_fold_ascii, go_to_lower};
use crate::suggest::did_you_mean;

/// All instruction keywords, upper case.
pub const KEYWORDS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// A typed instruction node: FROM or any other instruction.
#[derive(Debug, Clone, PartialEq)]
pub enum TypedNode {
    From(From),
    Instruction(Instruction),
}

/// Validate one instruction node of the tree (a child of the root) and
/// return its typed form. Errors carry the node's line and column.
pub fn instruction_from_node(node: &Node) -> Result<TypedNode, Error> {
    parse_node(node, &node.heredocs).map_err(|m| {
        Error::at(
            &Span {
                line: node.start_line,
                column: node.column,
                end_line: node.end_line,
            },
            m,
        )
    })
}

fn exactly_one(kw: &str, args: &[String]) -> Result<String, String> {
    if args.len() != 1 {
        return Err(format!("{kw} requires exactly one argument"));
    }
    Ok(args[0].clone())
}

fn at_least_one(kw: &str, args: &[String]) -> Result<(), String> {
    if args.is_empty() {
        return Err(format!("{kw} requires at least one argument"));
    }
    Ok(())
}

fn shell_or_exec(args: Vec<String>, json: bool) -> ShellOrExec {
    if json {
        ShellOrExec::Exec(args)
    } else {
        ShellOrExec::Shell(args.join(" "))
    }
}

fn kvps(kw: &str, args: &[String]) -> Result<Vec<(String, String)>, String> {
    if args.is_empty() {
        return Err(format!("{kw} requires at least one argument"));
    }
    if !args.len().is_multiple_of(3) {
        return Err(format!("Bad input to {kw}, too many arguments"));
    }
    let mut out = Vec::new();
    for c in args.chunks(3) {
        if c[0].is_empty() {
            return Err(format!("{kw} names can not be blank"));
        }
        out.push((c[0].clone(), c[1].clone()));
    }
    Ok(out)
}

const FROM_NAME_HINT: &str = "name can't start with a number or contain symbols";

fn valid_stage_name(n: &str) -> bool {
    let mut cs = n.chars();
    matches!(cs.next(), Some('a'..='z'))
        && cs.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '-' | '_' | '.'))
}

/// Sources, destination and heredoc sources of COPY/ADD.
fn sources_and_dest(
    kw: &str,
    args: &[String],
    docs: &[NodeHeredoc],
) -> Result<(Vec<String>, String, Vec<Heredoc>), String> {
    if args.len() < 2 {
        return Err(format!(
            "{kw} requires at least two arguments, but only one was provided. Destination could not be determined"
        ));
    }
    let dest = args[args.len() - 1].clone();
    if matches!(parse_heredoc(&dest), Ok(Some(_))) {
        return Err(format!("{kw} cannot accept a heredoc as a destination"));
    }
    let mut sources = Vec::new();
    let mut heredocs = Vec::new();
    for src in &args[..args.len() - 1] {
        match parse_heredoc(src) {
            Ok(Some(h)) => {
                // Like BuildKit's name-keyed map: the last heredoc of a name wins.
                let mut content = docs
                    .iter()
                    .rev()
                    .find(|d| d.name == h.name)
                    .map(|d| d.content.clone())
                    .unwrap_or_default();
                if h.chomp {
                    content = chomp_heredoc_content(&content);
                }
                heredocs.push(Heredoc {
                    name: h.name,
                    content,
                    expand: h.expand,
                    chomp: h.chomp,
                });
            }
            _ => sources.push(src.clone()),
        }
    }
    Ok((sources, dest, heredocs))
}

fn duration_flag(flags: &Flags, name: &str) -> Result<Option<std::time::Duration>, String> {
    let Some(v) = flags.string(name) else {
        return Ok(None);
    };
    if v.is_empty() {
        return Ok(None);
    }
    if v.starts_with('-') && crate::duration::parse_go_duration(&v[1..]).is_ok() {
        return Err(format!("Interval \"{name}\" cannot be less than 1ms"));
    }
    let d = crate::duration::parse_go_duration(&v)
        .map_err(|e| format!("invalid value for --{name}: {e}"))?;
    if !d.is_zero() && d < std::time::Duration::from_millis(1) {
        return Err(format!("Interval \"{name}\" cannot be less than 1ms"));
    }
    Ok(Some(d))
}

/// Validate one instruction node. `docs` are the heredocs read for the
/// enclosing line (an ONBUILD trigger uses its parent's).
pub(crate) fn parse_node(node: &Node, docs: &[NodeHeredoc]) -> Result<TypedNode, String> {
    let lower = go_to_lower(&node.value);
    let kw = match KEYWORDS.iter().find(|k| k.eq_ignore_ascii_case(&lower)) {
        Some(k) if lower.is_ascii() => k.to_string(),
        _ => node.value.clone(),
    };
    let args = node.args();
    let no_flags = |k: &str| Flags::parse(k, &node.flags, &[]).map(|_| ());
    let instr = match kw.as_str() {
        "FROM" => {
            let flags = Flags::parse(&kw, &node.flags, &[("platform", Kind::Str)])?;
            let alias = match args.len() {
                1 => None,
                3 if equal_fold_ascii(&args[1], "as") => {
                    if !valid_stage_name(&go_to_lower(&args[2])) {
                        return Err(format!(
                            "invalid name for build stage: {}, {FROM_NAME_HINT}",
                            crate::quote::go_quote(&args[2])
                        ));
                    }
                    Some(args[2].clone())
                }
                0 => {
                    return Err(
                        "FROM requires either one or three arguments (missing the image)".into(),
                    )
                }
                _ => return Err("FROM requires either one or three arguments".into()),
            };
            return Ok(TypedNode::From(From {
                image: args[0].clone(),
                platform: flags.string("platform"),
                alias,
            }));
        }
        "RUN" => {
            let flags = Flags::parse(
                &kw,
                &node.flags,
                &[
                    ("mount", Kind::Strings),
                    ("network", Kind::Str),
                    ("security", Kind::Str),
                ],
            )?;
            let mut mounts = Vec::new();
            for m in flags.strings("mount") {
                mounts.push(parse_mount(&m, None).map_err(|e| format!("invalid --mount: {e}"))?);
            }
            let network = match flags.string("network") {
                None => None,
                Some(n) => Some(RunNetwork::parse(&n).ok_or_else(|| {
                    format!(
                        "invalid network mode {} (expected default, none or host)",
                        crate::quote::go_quote(&n)
                    )
                })?),
            };
            let security = match flags.string("security") {
                None => None,
                Some(s) => Some(RunSecurity::parse(&s).ok_or_else(|| {
                    format!(
                        "security {} is not valid (expected sandbox or insecure)",
                        crate::quote::go_quote(&s)
                    )
                })?),
            };
            let heredocs = docs
                .iter()
                .map(|d| Heredoc {
                    name: d.name.clone(),
                    content: d.content.clone(),
                    expand: d.expand,
                    chomp: d.chomp,
                })
                .collect();
            Instruction::Run(Run {
                command: shell_or_exec(args, node.json),
                heredocs,
                mounts,
                network,
                security,
            })
        }
        "CMD" => {
            no_flags(&kw)?;
            Instruction::Cmd(shell_or_exec(args, node.json))
        }
        "ENTRYPOINT" => {
            no_flags(&kw)?;
            Instruction::Entrypoint(shell_or_exec(args, node.json))
        }
        "SHELL" => {
            no_flags(&kw)?;
            if args.is_empty() {
                return Err("SHELL requires at least one argument".into());
            }
            if !node.json {
                return Err("SHELL requires the arguments to be in JSON form".into());
            }
            Instruction::Shell(args)
        }
        "COPY" => {
            let flags = Flags::parse(
                &kw,
                &node.flags,
                &[
                    ("chown", Kind::Str),
                    ("from", Kind::Str),
                    ("chmod", Kind::Str),
                    ("link", Kind::Bool),
                    ("exclude", Kind::Strings),
                    ("parents", Kind::Bool),
                ],
            )?;
            let (sources, dest, heredocs) = sources_and_dest(&kw, &args, docs)?;
            Instruction::Copy(Copy {
                sources,
                dest,
                heredocs,
                from: flags.string("from"),
                chown: flags.string("chown"),
                chmod: flags.string("chmod"),
                link: flags.bool("link"),
                exclude: flags.strings("exclude"),
                parents: flags.bool("parents"),
            })
        }
        "ADD" => {
            let flags = Flags::parse(
                &kw,
                &node.flags,
                &[
                    ("chown", Kind::Str),
                    ("chmod", Kind::Str),
                    ("link", Kind::Bool),
                    ("keep-git-dir", Kind::Bool),
                    ("checksum", Kind::Str),
                    ("unpack", Kind::Bool),
                    ("exclude", Kind::Strings),
                ],
            )?;
            let (sources, dest, heredocs) = sources_and_dest(&kw, &args, docs)?;
            Instruction::Add(Add {
                sources,
                dest,
                heredocs,
                chown: flags.string("chown"),
                chmod: flags.string("chmod"),
                link: flags.bool("link"),
                exclude: flags.strings("exclude"),
                keep_git_dir: flags.bool("keep-git-dir"),
                checksum: flags.string("checksum"),
                unpack: flags.bool_opt("unpack"),
            })
        }
        "ENV" => {
            no_flags(&kw)?;
            Instruction::Env(kvps(&kw, &args)?)
        }
        "LABEL" => {
            no_flags(&kw)?;
            Instruction::Label(kvps(&kw, &args)?)
        }
        "ARG" => {
            // BuildKit does not validate flags on ARG.
            at_least_one(&kw, &args)?;
            let mut out = Vec::new();
            for a in &args {
                let (k, v) = match a.split_once('=') {
                    Some((k, v)) => (k.to_string(), Some(v.to_string())),
                    None => (a.clone(), None),
                };
                if k.is_empty() {
                    return Err("ARG names can not be blank".into());
                }
                out.push((k, v));
            }
            Instruction::Arg(Arg { args: out })
        }
        "WORKDIR" => {
            no_flags(&kw)?;
            Instruction::Workdir(exactly_one(&kw, &args)?)
        }
        "USER" => {
            no_flags(&kw)?;
            Instruction::User(exactly_one(&kw, &args)?)
        }
        "STOPSIGNAL" => {
            // BuildKit does not validate flags on STOPSIGNAL.
            Instruction::StopSignal(exactly_one(&kw, &args)?)
        }
        "MAINTAINER" => {
            no_flags(&kw)?;
            Instruction::Maintainer(exactly_one(&kw, &args)?)
        }
        "EXPOSE" => {
            no_flags(&kw)?;
            at_least_one(&kw, &args)?;
            let mut ports = args;
            ports.sort();
            Instruction::Expose(ports)
        }
        "VOLUME" => {
            no_flags(&kw)?;
            at_least_one(&kw, &args)?;
            let vols: Vec<String> = args.iter().map(|v| v.trim().to_string()).collect();
            if vols.iter().any(String::is_empty) {
                return Err("VOLUME specified can not be an empty string".into());
            }
            Instruction::Volume(vols)
        }
        "HEALTHCHECK" => parse_healthcheck(node, &kw, &args)?,
        "ONBUILD" => {
            no_flags(&kw)?;
            let Some(trigger) = node.next.first().and_then(|n| n.children.first()) else {
                return Err("ONBUILD requires at least one argument".into());
            };
            let tkw = go_to_lower(&trigger.value).to_ascii_uppercase();
            match tkw.as_str() {
                "ONBUILD" => {
                    return Err("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed".into())
                }
                "MAINTAINER" | "FROM" => {
                    return Err(format!("{tkw} isn't allowed as an ONBUILD trigger"))
                }
                _ => {}
            }
            let inner = match parse_node(trigger, docs)? {
                TypedNode::Instruction(i) => i,
                TypedNode::From(_) => return Err("FROM isn't allowed as an ONBUILD trigger".into()),
            };
            let mut expr = strip_onbuild(&node.original).to_string();
            for d in docs {
                expr.push('\n');
                expr.push_str(&d.content);
                expr.push_str(&d.name);
            }
            Instruction::Onbuild(Box::new(inner), expr)
        }
        _ => {
            let mut msg = format!("unknown instruction: {}", node.value);
            if let Some(s) = did_you_mean(&node.value, KEYWORDS) {
                msg.push_str(&format!(" (did you mean {s}?)"));
            }
            return Err(msg);
        }
    };
    Ok(TypedNode::Instruction(instr))
}

/// Remove a leading `ONBUILD` keyword (any case) and the blanks around it.
fn strip_onbuild(s: &str) -> &str {
    let t = s.trim_start();
    match t.get(..7) {
        Some(k) if equal_fold_ascii(k, "onbuild") => t[7..].trim_start(),
        _ => s,
    }
}

fn parse_healthcheck(node: &Node, kw: &str, args: &[String]) -> Result<Instruction, String> {
    at_least_one(kw, args)?;
    let typ = args[0].to_uppercase();
    let spec = [
        ("interval", Kind::Str),
        ("timeout", Kind::Str),
        ("start-period", Kind::Str),
        ("start-interval", Kind::Str),
        ("retries", Kind::Str),
    ];
    if typ == "NONE" {
        // BuildKit ignores flags on HEALTHCHECK NONE.
        if args.len() != 1 {
            return Err("HEALTHCHECK NONE takes no arguments".into());
        }
        return Ok(Instruction::Healthcheck(Healthcheck {
            test: HealthTest::None,
            interval: None,
            timeout: None,
            start_period: None,
            start_interval: None,
            retries: None,
        }));
    }
    let flags = Flags::parse(kw, &node.flags, &spec)?;
    let test = match typ.as_str() {
        "CMD" => {
            let cmd = args[1..].to_vec();
            if cmd.is_empty() {
                return Err("Missing command after HEALTHCHECK CMD".into());
            }
            HealthTest::Cmd(shell_or_exec(cmd, node.json))
        }
        _ => {
            return Err(format!(
                "Unknown type {} in HEALTHCHECK (try CMD)",
                crate::quote::go_quote(&typ)
            ))
        }
    };
    let retries = match flags.string("retries") {
        None => None,
        Some(r) if r.is_empty() => None,
        Some(r) => {
            let n: i64 = r
                .parse()
                .map_err(|_| format!("invalid value for --retries: {r}"))?;
            if n < 0 {
                return Err(format!("--retries cannot be negative ({n})"));
            }
            Some(u32::try_from(n).map_err(|_| format!("--retries is too large ({n})"))?)
        }
    };
    Ok(Instruction::Healthcheck(Healthcheck {
        test,
        interval: duration_flag(&flags, "interval")?,
        timeout: duration_flag(&flags, "timeout")?,
        start_period: duration_flag(&flags, "start-period")?,
        start_interval: duration_flag(&flags, "start-interval")?,
        retries,
    }))
}
