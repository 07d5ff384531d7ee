//! The module import graph has no cycle: neither between the top-level modules of src/
//! nor between the sibling files of runtime/, cgroups/ and network/ (scripts/check-cycles.sh).

use std::process::Command;

#[test]
fn module_imports_form_no_cycle() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new("bash")
        .arg(format!("{root}/scripts/check-cycles.sh"))
        .output()
        .expect("run scripts/check-cycles.sh");
    assert!(
        out.status.success(),
        "import cycles:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("no import cycles"));
}
