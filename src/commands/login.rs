//! `kiste login` / `kiste logout`: check credentials against the registry, then keep
//! them in docker's config file (`$DOCKER_CONFIG/config.json`), where docker finds them
//! too.

use crate::cli::{LoginArgs, LogoutArgs};
use crate::paths::Paths;
use crate::registry::conf::RegistriesConf;
use crate::registry::creds::{self, Credentials};
use crate::registry::{Client, Endpoint};
use anyhow::Context;
use std::io::{IsTerminal, Read};

pub fn login(_paths: &Paths, args: LoginArgs) -> anyhow::Result<()> {
    let server = server(args.server.as_deref());
    let tty = std::io::stdin().is_terminal();
    let username = match args.username.filter(|u| !u.is_empty()) {
        Some(u) => u,
        None if tty && !args.password_stdin => prompt("Username: ", true)?,
        None if args.password_stdin => {
            anyhow::bail!("must provide --username with --password-stdin")
        }
        None => anyhow::bail!("cannot perform an interactive login from a non TTY device"),
    };
    let password = match (args.password, args.password_stdin) {
        (Some(_), true) => anyhow::bail!("--password and --password-stdin are mutually exclusive"),
        (Some(p), false) => {
            eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
            p
        }
        (None, true) => read_password_stdin()?,
        (None, false) if tty => prompt("Password: ", false)?,
        (None, false) => {
            anyhow::bail!("cannot perform an interactive login from a non TTY device")
        }
    };
    if password.is_empty() {
        anyhow::bail!("password is required");
    }
    let creds = Credentials { username, password };
    let conf = RegistriesConf::load(&crate::paths::registries_conf_files())?;
    let host = creds_host(&server);
    let endpoint = Endpoint {
        insecure: conf.is_insecure(&host) || !args.tls_verify,
        host: host.clone(),
    };
    let client = Client::connect(
        &endpoint,
        Some(creds.clone()),
        &crate::paths::certs_d_dirs(),
    )
    .with_context(|| format!("cannot log in to {server}"))?;
    client
        .authenticate(&[])
        .with_context(|| format!("cannot log in to {server}"))?;
    let file = crate::paths::docker_config_file();
    creds::store(&file, &server, &creds)?;
    println!("Login Succeeded");
    Ok(())
}

pub fn logout(_paths: &Paths, args: LogoutArgs) -> anyhow::Result<()> {
    let server = server(args.server.as_deref());
    let file = crate::paths::docker_config_file();
    if creds::remove(&file, &server)? {
        println!("Removing login credentials for {server}");
    } else {
        println!("Not logged in to {server}");
    }
    Ok(())
}

fn server(arg: Option<&str>) -> String {
    let s = arg.unwrap_or("docker.io");
    s.trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string()
}

/// The registry host credentials for `server` belong to.
fn creds_host(server: &str) -> String {
    match creds::server_key(server).as_str() {
        "https://index.docker.io/v1/" => "docker.io".to_string(),
        other => other.to_string(),
    }
}

fn read_password_stdin() -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .take(64 * 1024)
        .read_to_string(&mut text)
        .context("cannot read the password from stdin")?;
    Ok(text.trim_end_matches(['\n', '\r']).to_string())
}

/// Asks on the terminal; with `echo` off for passwords (restored however it ends).
fn prompt(label: &str, echo: bool) -> anyhow::Result<String> {
    use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg};
    use std::io::{BufRead, Write};
    let stdin = std::io::stdin();
    eprint!("{label}");
    let _ = std::io::stderr().flush();
    let saved = if echo {
        None
    } else {
        let saved = tcgetattr(&stdin).context("cannot read the terminal settings")?;
        let mut quiet = saved.clone();
        quiet.local_flags.remove(LocalFlags::ECHO);
        tcsetattr(&stdin, SetArg::TCSANOW, &quiet).context("cannot turn off echo")?;
        Some(saved)
    };
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if let Some(saved) = saved {
        let _ = tcsetattr(&stdin, SetArg::TCSANOW, &saved);
        eprintln!();
    }
    read.context("cannot read from the terminal")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}
