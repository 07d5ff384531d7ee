//! Unit tests of the mount flag parsers: docker's forms and docker's messages.

use super::*;

#[test]
fn volume_flag_forms() {
    let m = parse_volume("/tmp:/data:ro").unwrap();
    assert!(m.readonly && m.target == "/data" && m.mode == "ro");
    assert!(matches!(m.source, MountSource::Bind { create: true, .. }));
    let m = parse_volume("cache:/var/cache/").unwrap();
    assert_eq!(m.volume_name(), Some("cache"));
    assert_eq!((m.target.as_str(), m.mode.as_str()), ("/var/cache", "z"));
    let m = parse_volume("/anon").unwrap();
    assert!(
        matches!(m.source, MountSource::Volume { anonymous: true, ref name, .. } if name.len() == 64)
    );
}

#[test]
fn volume_flag_errors_are_dockers() {
    let e = |s| parse_volume(s).unwrap_err().to_string();
    assert_eq!(e("a:b:c:d"), "invalid volume specification: 'a:b:c:d'");
    assert_eq!(e("/a:/b:xx"), "invalid mode: xx");
    assert_eq!(e(":/x"), "invalid spec: :/x: empty section between colons");
    assert_eq!(
        e("/a:b"),
        "invalid volume specification: '/a:b': invalid mount config for type \"bind\": invalid mount path: 'b' mount path must be absolute"
    );
    assert!(
        e("bad@name:/x").starts_with("create bad@name: \"bad@name\" includes invalid characters")
    );
    assert_eq!(
        e("/nonexistent-kiste-path:/x:ro"),
        "invalid mount config for type \"bind\": bind source path does not exist: /nonexistent-kiste-path"
    );
}

#[test]
fn mount_flag_keys_and_aliases() {
    let m = parse_mount("type=bind,src=/tmp,dst=/x,ro,bind-propagation=rslave").unwrap();
    assert!(m.readonly);
    assert_eq!(
        m.source,
        MountSource::Bind {
            source: "/tmp".into(),
            propagation: Propagation::Rslave,
            create: false
        }
    );
    let m = parse_mount("type=tmpfs,destination=/t,tmpfs-size=1m,tmpfs-mode=1770").unwrap();
    assert_eq!(
        m.source,
        MountSource::Tmpfs {
            options: vec!["size=1048576".into(), "mode=1770".into()]
        }
    );
    let m = parse_mount("src=vol,dst=/d,volume-opt=a=b,volume-opt=o=x=y,volume-label=l").unwrap();
    let MountSource::Volume { create, .. } = &m.source else {
        panic!("{m:?}")
    };
    assert_eq!(create.options["a"], "b");
    assert_eq!(create.options["o"], "x=y");
    assert_eq!(create.labels["l"], "");
    assert!(parse_mount("type=tmpfs,dst=/t,volume-opt=a=b")
        .unwrap_err()
        .to_string()
        .ends_with("cannot mix 'volume-*' options with mount type 'tmpfs'"));
    let m = parse_mount("source=data,target=/d,volume-nocopy,volume-driver=local").unwrap();
    assert!(matches!(m.source, MountSource::Volume { nocopy: true, .. }));
}

#[test]
fn mount_flag_errors_are_dockers() {
    let e = |s| parse_mount(s).unwrap_err().to_string();
    assert_eq!(
        e("type=bind,source=/nope-kiste,target=/x"),
        "invalid mount config for type \"bind\": bind source path does not exist: /nope-kiste"
    );
    assert_eq!(
        e("type=foo,target=/x"),
        "invalid mount config for type \"foo\": mount type unknown"
    );
    assert_eq!(
        e("type=volume"),
        "invalid argument \"type=volume\" for \"--mount\" flag: target is required"
    );
    assert_eq!(
        e("src=/tmp,target=/x,bogus=1"),
        "invalid argument \"src=/tmp,target=/x,bogus=1\" for \"--mount\" flag: unexpected key 'bogus' in 'bogus=1'"
    );
    assert_eq!(
        e("type=bind,target=/x"),
        "invalid mount config for type \"bind\": field Source must not be empty"
    );
}

#[test]
fn tmpfs_and_volumes_from() {
    let m = parse_tmpfs("/t:size=1m,exec").unwrap();
    assert_eq!(m.spec, "size=1m,exec");
    assert_eq!(
        parse_tmpfs("rel").unwrap_err().to_string(),
        "invalid mount path: 'rel' mount path must be absolute"
    );
    assert_eq!(VolumesFrom::parse("c:ro").unwrap().readonly, Some(true));
    assert_eq!(
        VolumesFrom::parse("c:bad").unwrap_err().to_string(),
        "invalid mode: bad"
    );
}
