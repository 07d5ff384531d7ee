//! `import --change`: each change line is a Dockerfile instruction, parsed by the
//! dockerfile-parser crate (as if it followed `FROM scratch`) and expanded against the
//! image's environment as docker does, then applied to the image config. Only the
//! instructions docker allows for a commit or import are accepted.

use super::ArchiveError;
use crate::image::config::{set_env, RunConfig};
use dockerfile_parser::shell::Lexer;
use dockerfile_parser::{Instruction, ShellOrExec};

/// docker's `validCommitCommands`.
const ALLOWED: &[&str] = &[
    "CMD",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "LABEL",
    "ONBUILD",
    "USER",
    "VOLUME",
    "WORKDIR",
    "STOPSIGNAL",
];

/// Applies `changes` in order to `config`.
pub fn apply_changes(config: &mut RunConfig, changes: &[String]) -> Result<(), ArchiveError> {
    for line in changes {
        apply(config, line)?;
    }
    Ok(())
}

fn apply(c: &mut RunConfig, line: &str) -> Result<(), ArchiveError> {
    let fail = |reason: String| ArchiveError::Change {
        line: line.to_string(),
        reason,
    };
    let keyword = line.split_whitespace().next().unwrap_or("").to_uppercase();
    if !ALLOWED.contains(&keyword.as_str()) {
        return Err(fail(format!("{keyword} is not a valid change command")));
    }
    let source = format!("FROM scratch\n{line}\n");
    let file = dockerfile_parser::parse(&source).map_err(|e| fail(e.to_string()))?;
    let stage = file
        .stages
        .first()
        .ok_or_else(|| fail("no instruction".to_string()))?;
    let [ins] = stage.instructions.as_slice() else {
        return Err(fail("a change is one instruction".to_string()));
    };
    let node = ins
        .expand(&Lexer::new(file.escape), &c.env)
        .map_err(|e| fail(e.to_string()))?;
    match node {
        Instruction::Cmd(cmd) => c.cmd = Some(shell_args(c, cmd)),
        Instruction::Entrypoint(ep) => c.entrypoint = Some(shell_args(c, ep)),
        Instruction::Env(pairs) => {
            for (k, v) in pairs {
                set_env(&mut c.env, format!("{k}={v}"));
            }
        }
        Instruction::Label(pairs) => c.labels.extend(pairs),
        Instruction::Expose(ports) => c.expose(ports),
        Instruction::Volume(vols) => c.add_volumes(vols),
        Instruction::User(u) => c.user = u,
        Instruction::Workdir(w) => {
            c.working_dir = if w.starts_with('/') || c.working_dir.is_empty() {
                clean_abs(&w)
            } else {
                clean_abs(&format!("{}/{w}", c.working_dir))
            }
        }
        Instruction::StopSignal(s) => {
            crate::signal::parse_signal(&s).map_err(|e| fail(e.to_string()))?;
            c.stop_signal = s;
        }
        Instruction::Onbuild(_, text) => c.on_build.push(text),
        other => {
            return Err(fail(format!(
                "{} is not a valid change command",
                other.keyword()
            )))
        }
    }
    Ok(())
}

fn shell_args(c: &RunConfig, cmd: ShellOrExec) -> Vec<String> {
    match cmd {
        ShellOrExec::Exec(v) => v,
        ShellOrExec::Shell(s) => {
            let mut v = c
                .shell
                .clone()
                .unwrap_or_else(|| vec!["/bin/sh".to_string(), "-c".to_string()]);
            v.push(s);
            v
        }
    }
}

/// `/a/./b//c/` → `/a/b/c` (`..` is kept lexical: `/a/../b` → `/b`).
fn clean_abs(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changed(lines: &[&str]) -> RunConfig {
        let mut c = RunConfig::default();
        let lines: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
        apply_changes(&mut c, &lines).unwrap();
        c
    }

    #[test]
    fn change_lines_set_the_config_as_docker_import_does() {
        let c = changed(&[
            "ENV A=1 B=two",
            "CMD echo $A",
            "ENTRYPOINT [\"/bin/env\"]",
            "EXPOSE 80 53/UDP",
            "LABEL x=y",
            "WORKDIR /srv",
            "WORKDIR app",
            "USER 1000:1000",
            "VOLUME /data",
            "STOPSIGNAL SIGINT",
            "ONBUILD RUN true",
        ]);
        assert_eq!(c.env, vec!["A=1", "B=two"]);
        assert_eq!(c.cmd.unwrap(), vec!["/bin/sh", "-c", "echo $A"]);
        assert_eq!(c.entrypoint.unwrap(), vec!["/bin/env"]);
        assert!(c.exposed_ports.contains_key("80/tcp") && c.exposed_ports.contains_key("53/udp"));
        assert_eq!(c.labels["x"], "y");
        assert_eq!(c.working_dir, "/srv/app");
        assert_eq!(c.user, "1000:1000");
        assert!(c.volumes.contains_key("/data"));
        assert_eq!(c.stop_signal, "SIGINT");
        assert_eq!(c.on_build, vec!["RUN true"]);
    }

    #[test]
    fn instructions_docker_refuses_in_a_change_are_refused() {
        let mut c = RunConfig::default();
        for line in ["RUN true", "COPY a b", "FROM busybox", "STOPSIGNAL NOPE"] {
            let err = apply_changes(&mut c, &[line.to_string()]).unwrap_err();
            assert!(err.to_string().contains(line), "{err}");
        }
    }
}
