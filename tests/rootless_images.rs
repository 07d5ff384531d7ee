//! Images as an unprivileged user: push to and pull from a local docker-registry, save
//! and load, with the owners of the files (0, 33, 1000) kept both in the archives (the
//! container's ids, never the host's sub-ids) and inside the containers made from them.

mod support;

use support::registry::Registry;
use support::rootless::{unsupported, User};
use support::*;

const OWNERS: &str = "FROM busybox\nRUN mkdir /data && touch /data/root /data/www /data/user && chown 33:33 /data/www && chown 1000:1000 /data/user\n";
const STAT: &str = "stat -c '%n %u:%g' /data/root /data/www /data/user";
const WANT: &str = "/data/root 0:0\n/data/www 33:33\n/data/user 1000:1000\n";

#[test]
fn a_user_pushes_pulls_saves_and_loads_with_owners_kept() {
    if let Some(why) = unsupported() {
        return skip(why);
    }
    let tmp = tempfile::tempdir().unwrap();
    let Some(reg) = Registry::start(tmp.path(), "", "") else {
        return skip("docker-registry is not installed");
    };
    let u = User::create("img", true);
    u.busybox();
    let ctx = u.context("owners", &[("Dockerfile", OWNERS)]);
    let tag = format!("{}/owners:1", reg.host());
    u.ok(&["build", "-q", "-t", &tag, ctx.to_str().unwrap()]);
    u.ok(&["push", &tag]);
    u.ok(&["rmi", &tag]);
    u.ok(&["pull", &tag]);
    assert!(u
        .ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .contains(&tag));
    assert_eq!(u.ok(&["run", "--rm", &tag, "sh", "-c", STAT]), WANT);

    // save, then load into the store of a user who never had the image.
    let archive = u.home.join("owners.tar");
    u.ok(&["save", "-o", archive.to_str().unwrap(), &tag]);
    let listing = String::from_utf8(checked_output(
        std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "d=$(mktemp -d) && tar -xf {} -C $d && for f in $(find $d -type f); do tar -tvf $f 2>/dev/null; done; rm -rf $d",
                archive.display()
            )),
    ))
    .unwrap();
    for (file, owner) in [("data/www", "33/33"), ("data/user", "1000/1000")] {
        assert!(
            listing
                .lines()
                .any(|l| l.ends_with(file) && l.contains(owner)),
            "{file} as {owner} in the saved layers:\n{listing}"
        );
    }
    let other = User::create("imb", true);
    let copy = other.home.join("owners.tar");
    std::fs::copy(&archive, &copy).unwrap();
    other.give(&copy);
    other.ok(&["load", "-i", copy.to_str().unwrap()]);
    assert_eq!(other.ok(&["run", "--rm", &tag, "sh", "-c", STAT]), WANT);
}
