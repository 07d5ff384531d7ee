//! Records written by kiste before the configuration was typed kept some settings as the
//! flag strings the user gave (`"nofile=512:1024"`, `"map=0:1000:1"`, `"/dev/sda:1048576"`).
//! These deserializers read either form: a string goes through the same parser as the
//! flag, so an old record means what it meant, and the next save writes the typed form.

use super::{DeviceMapping, DeviceRate, FlagError, SecurityOptions, Ulimit, UsernsMode};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

#[derive(Deserialize)]
#[serde(untagged)]
enum Stored<T> {
    Typed(T),
    Legacy(String),
}

fn list<'de, D, T>(d: D, parse: impl Fn(&str) -> Result<T, FlagError>) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Vec::<Stored<T>>::deserialize(d)?
        .into_iter()
        .map(|item| match item {
            Stored::Typed(t) => Ok(t),
            Stored::Legacy(s) => parse(&s).map_err(D::Error::custom),
        })
        .collect()
}

pub fn ulimits<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Ulimit>, D::Error> {
    list(d, |s| Ulimit::parse("--ulimit", s))
}

pub fn devices<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<DeviceMapping>, D::Error> {
    list(d, |s| DeviceMapping::parse("--device", s))
}

/// Old records hold "PATH:RATE" with the rate already a plain number.
pub fn rates<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<DeviceRate>, D::Error> {
    list(d, |s| DeviceRate::parse("device rate", s, false))
}

pub fn userns<'de, D: Deserializer<'de>>(d: D) -> Result<UsernsMode, D::Error> {
    match Stored::<UsernsMode>::deserialize(d)? {
        Stored::Typed(u) => Ok(u),
        Stored::Legacy(s) => UsernsMode::parse("--userns", &s).map_err(D::Error::custom),
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum StoredSecurity {
    Typed(SecurityOptions),
    Legacy(Vec<String>),
}

pub fn security<'de, D: Deserializer<'de>>(d: D) -> Result<SecurityOptions, D::Error> {
    match StoredSecurity::deserialize(d)? {
        StoredSecurity::Typed(s) => Ok(s),
        StoredSecurity::Legacy(opts) => {
            SecurityOptions::parse("--security-opt", &opts).map_err(D::Error::custom)
        }
    }
}
