//! The registry's authentication challenge (`WWW-Authenticate: Bearer realm=…,
//! service=…,scope=…` or `Basic realm=…`) and the token exchange of the distribution
//! spec: GET the realm with `service` and `scope` parameters, anonymously or with the
//! user's credentials as Basic auth, and read `token` (or `access_token`) from the JSON.

use super::creds::Credentials;
use super::RegistryError;
use std::collections::BTreeMap;

/// How a registry wants requests authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

impl Challenge {
    /// Parses a `WWW-Authenticate` header value; `None` for schemes kiste cannot answer.
    pub fn parse(header: &str) -> Option<Challenge> {
        let (scheme, params) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
        let params = parse_params(params);
        match scheme.to_ascii_lowercase().as_str() {
            "basic" => Some(Challenge::Basic),
            "bearer" => Some(Challenge::Bearer {
                realm: params.get("realm")?.clone(),
                service: params.get("service").cloned(),
            }),
            _ => None,
        }
    }
}

/// `key="value", key2=value2` (quoted strings may contain commas and `\"`).
fn parse_params(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| *c != ',') {
                value.push(c);
            }
        }
        out.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    out
}

/// Asks the token server for a token covering `scopes`.
pub fn fetch_token(
    agent: &ureq::Agent,
    realm: &str,
    service: Option<&str>,
    scopes: &[String],
    creds: Option<&Credentials>,
    registry: &str,
) -> Result<String, RegistryError> {
    let mut req = agent.get(realm);
    if let Some(service) = service {
        req = req.query("service", service);
    }
    for scope in scopes {
        req = req.query("scope", scope);
    }
    if let Some(c) = creds {
        req = req.header("Authorization", c.basic_header());
        req = req.query("account", &c.username);
    }
    let mut resp = req.call().map_err(|e| RegistryError::Transport {
        url: realm.to_string(),
        reason: e.to_string(),
    })?;
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .with_config()
        .limit(1 << 20)
        .read_to_vec()
        .unwrap_or_default();
    if status == 401 || status == 403 {
        return Err(RegistryError::Unauthorized {
            registry: registry.to_string(),
            message: format!(
                "the token server refused {}",
                if creds.is_some() {
                    "the credentials"
                } else {
                    "anonymous access"
                }
            ),
        });
    }
    if !(200..300).contains(&status) {
        return Err(RegistryError::Status {
            what: format!("token from {realm}"),
            status,
            message: format!("status {status}"),
        });
    }
    #[derive(serde::Deserialize)]
    struct TokenResponse {
        token: Option<String>,
        access_token: Option<String>,
    }
    let parsed: TokenResponse =
        serde_json::from_slice(&body).map_err(|e| RegistryError::Invalid {
            what: format!("token response from {realm}"),
            reason: e.to_string(),
        })?;
    parsed
        .token
        .or(parsed.access_token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| RegistryError::Invalid {
            what: format!("token response from {realm}"),
            reason: "no token in it".to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenge_with_quoted_params() {
        let c = Challenge::parse(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/httpd:pull,push""#,
        );
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
            })
        );
        assert_eq!(
            Challenge::parse(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(Challenge::parse("Negotiate"), None);
        assert_eq!(Challenge::parse("Bearer service=x"), None);
    }
}
