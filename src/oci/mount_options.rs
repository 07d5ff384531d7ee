//! The mount options of an OCI config: one table ([`OPTIONS`]) says what each word does
//! (set or clear an MS_* flag, set the propagation, make a bind), the parser
//! ([`mount`]) reads it, and `features` prints its words, so the list a client reads
//! is exactly what the parser applies. A word not in the table is filesystem data
//! ("mode=755", "size=64k"); a few words runc knows but kiste does not apply are named
//! in a warning and left out of `features`.

use std::path::Path;

use super::spec::Mount;
use nix::mount::MsFlags;

use super::{warn, OciError};
use crate::runtime::SpecMount;

/// What one option word does.
#[derive(Debug, Clone, Copy)]
pub enum Effect {
    Set(MsFlags),
    Clear(MsFlags),
    /// The propagation applied after mounting (the last such word wins).
    Propagation(MsFlags),
    /// A bind mount; `true`: of the whole tree (rbind).
    Bind(bool),
    /// Accepted and means nothing ("defaults").
    Nothing,
}

const fn raw(bits: libc::c_ulong) -> MsFlags {
    MsFlags::from_bits_truncate(bits)
}

/// runc's option words, and what each does here.
pub const OPTIONS: [(&str, Effect); 38] = {
    use Effect::{Bind, Clear, Nothing, Propagation as P, Set};
    [
        ("async", Clear(MsFlags::MS_SYNCHRONOUS)),
        ("atime", Clear(MsFlags::MS_NOATIME)),
        ("bind", Bind(false)),
        ("defaults", Nothing),
        ("dev", Clear(MsFlags::MS_NODEV)),
        ("diratime", Clear(MsFlags::MS_NODIRATIME)),
        ("dirsync", Set(MsFlags::MS_DIRSYNC)),
        ("exec", Clear(MsFlags::MS_NOEXEC)),
        ("iversion", Set(raw(libc::MS_I_VERSION))),
        ("lazytime", Set(raw(libc::MS_LAZYTIME))),
        ("loud", Clear(MsFlags::MS_SILENT)),
        ("mand", Set(MsFlags::MS_MANDLOCK)),
        ("noatime", Set(MsFlags::MS_NOATIME)),
        ("nodev", Set(MsFlags::MS_NODEV)),
        ("nodiratime", Set(MsFlags::MS_NODIRATIME)),
        ("noexec", Set(MsFlags::MS_NOEXEC)),
        ("noiversion", Clear(raw(libc::MS_I_VERSION))),
        ("nolazytime", Clear(raw(libc::MS_LAZYTIME))),
        ("nomand", Clear(MsFlags::MS_MANDLOCK)),
        ("norelatime", Clear(MsFlags::MS_RELATIME)),
        ("nostrictatime", Clear(MsFlags::MS_STRICTATIME)),
        ("nosuid", Set(MsFlags::MS_NOSUID)),
        ("private", P(MsFlags::MS_PRIVATE)),
        ("rbind", Bind(true)),
        ("relatime", Set(MsFlags::MS_RELATIME)),
        ("ro", Set(MsFlags::MS_RDONLY)),
        ("rprivate", P(MsFlags::MS_PRIVATE.union(MsFlags::MS_REC))),
        ("rshared", P(MsFlags::MS_SHARED.union(MsFlags::MS_REC))),
        ("rslave", P(MsFlags::MS_SLAVE.union(MsFlags::MS_REC))),
        (
            "runbindable",
            P(MsFlags::MS_UNBINDABLE.union(MsFlags::MS_REC)),
        ),
        ("rw", Clear(MsFlags::MS_RDONLY)),
        ("shared", P(MsFlags::MS_SHARED)),
        ("silent", Set(MsFlags::MS_SILENT)),
        ("slave", P(MsFlags::MS_SLAVE)),
        ("strictatime", Set(MsFlags::MS_STRICTATIME)),
        ("suid", Clear(MsFlags::MS_NOSUID)),
        ("sync", Set(MsFlags::MS_SYNCHRONOUS)),
        ("unbindable", P(MsFlags::MS_UNBINDABLE)),
    ]
};

/// Words runc takes that kiste does not apply: warned about, never listed in `features`.
const NOT_APPLIED: [&str; 4] = ["tmpcopyup", "idmap", "ridmap", "remount"];

/// The option words for `features`, sorted.
pub fn words() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = OPTIONS.iter().map(|(w, _)| *w).collect();
    v.sort_unstable();
    v
}

fn effect(word: &str) -> Option<Effect> {
    OPTIONS.iter().find(|(w, _)| *w == word).map(|(_, e)| *e)
}

/// The propagation flags of a word ("rslave"), empty for any other word.
pub fn propagation_flags(word: &str) -> MsFlags {
    match effect(word) {
        Some(Effect::Propagation(p)) => p,
        _ => MsFlags::empty(),
    }
}

/// A mount's options split into flags, propagation and filesystem data.
pub fn mount(bundle: &Path, m: &Mount) -> Result<SpecMount, OciError> {
    let destination = m.destination.to_string_lossy().into_owned();
    if !destination.starts_with('/') {
        return Err(OciError::Invalid {
            what: format!("mount destination {destination:?}"),
            reason: "it must be an absolute path".into(),
        });
    }
    let mut flags = MsFlags::empty();
    let mut propagation = MsFlags::empty();
    let mut data = Vec::new();
    let mut bind = m.typ.as_deref() == Some("bind");
    let mut recursive = false;
    for o in m.options.iter().flatten() {
        match effect(o) {
            Some(Effect::Set(f)) => flags |= f,
            Some(Effect::Clear(f)) => flags.remove(f),
            Some(Effect::Propagation(p)) => propagation = p,
            Some(Effect::Bind(rec)) => {
                bind = true;
                recursive |= rec;
            }
            Some(Effect::Nothing) => {}
            None if NOT_APPLIED.contains(&o.as_str()) => warn(&format!(
                "mount option {o} of {destination} is not applied by kiste"
            )),
            None => data.push(o.clone()),
        }
    }
    let source = m
        .source
        .as_ref()
        .map(|s| {
            if bind && s.is_relative() {
                bundle.join(s)
            } else {
                s.clone()
            }
        })
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let fstype = if bind {
        "bind".to_string()
    } else {
        m.typ.clone().unwrap_or_default()
    };
    if fstype.is_empty() {
        return Err(OciError::Invalid {
            what: format!("mount {destination}"),
            reason: "it has no type and is not a bind".into(),
        });
    }
    Ok(SpecMount {
        source,
        destination,
        fstype,
        flags: flags.bits(),
        propagation: propagation.bits(),
        data: data.join(","),
        recursive,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(options: &str) -> SpecMount {
        let m: Mount = serde_json::from_str(&format!(
            r#"{{"destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": {options}}}"#
        ))
        .unwrap();
        mount(Path::new("/b"), &m).unwrap()
    }

    #[test]
    fn mount_options_become_flags_propagation_and_data() {
        let m: Mount = serde_json::from_str(
            r#"{"destination": "/data", "type": "bind", "source": "rel",
                "options": ["rbind", "ro", "nosuid", "rslave", "mode=755"]}"#,
        )
        .unwrap();
        let s = mount(Path::new("/b"), &m).unwrap();
        assert_eq!(s.fstype, "bind");
        assert_eq!(s.source, "/b/rel");
        assert!(s.recursive);
        assert_eq!(s.flags, (MsFlags::MS_RDONLY | MsFlags::MS_NOSUID).bits());
        assert_eq!(s.propagation, (MsFlags::MS_SLAVE | MsFlags::MS_REC).bits());
        assert_eq!(s.data, "mode=755");
    }

    /// Every word `features` lists changes something or is "defaults": none falls
    /// through to the filesystem's data, where the kernel would refuse it.
    #[test]
    fn every_listed_word_is_parsed_and_none_becomes_data() {
        for w in words() {
            let s = parse(&format!("[\"{w}\"]"));
            assert_eq!(s.data, "", "{w} became data");
            let changed = s.flags != 0 || s.propagation != 0 || s.fstype == "bind";
            let clears = matches!(effect(w), Some(Effect::Clear(_)));
            assert!(changed || clears || w == "defaults", "{w} did nothing");
        }
        for w in NOT_APPLIED {
            assert!(!words().contains(&w), "{w} is listed but not applied");
        }
    }

    #[test]
    fn a_later_word_undoes_an_earlier_one() {
        let s = parse(r#"["ro", "lazytime", "rw", "nolazytime", "noexec"]"#);
        assert_eq!(s.flags, MsFlags::MS_NOEXEC.bits());
    }
}
