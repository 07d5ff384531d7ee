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
    let Some(username) = args.username.filter(|u| !u.is_empty()) else {
        anyhow::bail!("username is required: kiste login -u USER [--password-stdin] {server}");
    };
    let password = match (args.password, args.password_stdin) {
        (Some(_), true) => anyhow::bail!("--password and --password-stdin are mutually exclusive"),
        (Some(p), false) => {
            eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
            p
        }
        (None, true) => read_password_stdin()?,
        (None, false) if !std::io::stdin().is_terminal() => read_password_stdin()?,
        (None, false) => {
            anyhow::bail!("cannot prompt for a password: use --password-stdin or -p")
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
