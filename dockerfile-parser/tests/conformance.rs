//! BuildKit conformance: every positive case's dump matches its `result`
//! byte for byte, every negative case is rejected, `testfile-line` has the
//! expected spans, and every line of `envVarTest` and `wordsTest` expands
//! as BuildKit's lexer does. The data is read from the shared checkout.

mod common;

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use dockerfile_parser::shell::Lexer;
use dockerfile_parser::{bytes_to_str, parse_nodes};

fn sorted_dirs(path: std::path::PathBuf) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = fs::read_dir(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

fn positive(data: &Path) -> (usize, usize, Vec<String>) {
    let mut fails = Vec::new();
    let dirs = sorted_dirs(data.join("testfiles"));
    for d in &dirs {
        let src = fs::read(d.join("Dockerfile")).unwrap();
        let want = fs::read(d.join("result")).unwrap();
        let got = bytes_to_str(&src)
            .and_then(parse_nodes)
            .map(|n| n.dump() + "\n");
        match got {
            Ok(g) if g.as_bytes() == want.as_slice() => {}
            Ok(g) => fails.push(format!(
                "{}: dump differs\n--- got\n{g}--- want\n{}",
                d.display(),
                String::from_utf8_lossy(&want)
            )),
            Err(e) => fails.push(format!("{}: error {e}", d.display())),
        }
    }
    (dirs.len() - fails.len(), dirs.len(), fails)
}

fn negative(data: &Path) -> (usize, usize, Vec<String>) {
    let mut fails = Vec::new();
    let dirs = sorted_dirs(data.join("testfiles-negative"));
    for d in &dirs {
        let src = fs::read(d.join("Dockerfile")).unwrap();
        if let Ok(n) = bytes_to_str(&src).and_then(parse_nodes) {
            fails.push(format!("{}: accepted: {}", d.display(), n.dump()));
        }
    }
    (dirs.len() - fails.len(), dirs.len(), fails)
}

fn env_var_test(data: &Path) -> (usize, usize, usize, Vec<String>) {
    let text = fs::read_to_string(data.join("shell/envVarTest")).unwrap();
    let env: HashMap<String, String> = [
        ("PWD", "/home"),
        ("SHELL", "bash"),
        ("KOREAN", "한국어"),
        ("NULL", ""),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let lexer = Lexer::new('\\');
    let (mut total, mut skipped, mut fails) = (0, 0, Vec::new());
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.trim().split('|').map(str::trim).collect();
        assert_eq!(f.len(), 3, "bad envVarTest line {line:?}");
        if f[0] == "W" {
            skipped += 1;
            continue;
        }
        total += 1;
        let got = lexer.expand_word(f[1], &env);
        let ok = match (&got, f[2]) {
            (Err(_), "error") => true,
            (Ok(g), want) => want != "error" && g == want,
            _ => false,
        };
        if !ok {
            fails.push(format!(
                "envVarTest {:?}: got {got:?}, want {:?}",
                f[1], f[2]
            ));
        }
    }
    (total - fails.len(), total, skipped, fails)
}

fn words_test(data: &Path) -> (usize, usize, Vec<String>) {
    let text = fs::read_to_string(data.join("shell/wordsTest")).unwrap();
    let lexer = Lexer::new('\\');
    let mut env: Vec<String> = Vec::new();
    let (mut total, mut fails) = (0, Vec::new());
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("ENV ") {
            env.push(rest.trim_start().to_string());
            continue;
        }
        let parts: Vec<&str> = line.split('|').collect();
        assert_eq!(parts.len(), 2, "bad wordsTest line {line:?}");
        total += 1;
        let input = parts[0].trim();
        let want: Vec<&str> = parts[1].trim_start().split(',').collect();
        let got = lexer
            .expand_words(input, &env)
            .unwrap_or_else(|_| vec!["error".to_string()]);
        if got != want {
            fails.push(format!("wordsTest {input:?}: got {got:?}, want {want:?}"));
        }
    }
    (total - fails.len(), total, fails)
}

#[test]
fn buildkit_conformance() {
    let Some(data) = common::data_dir_or_skip() else {
        return;
    };
    let (p, pt, mut fails) = positive(&data);
    let (n, nt, f2) = negative(&data);
    let (e, et, skipped, f3) = env_var_test(&data);
    let (w, wt, f4) = words_test(&data);
    fails.extend(f2);
    fails.extend(f3);
    fails.extend(f4);
    let summary = format!(
        "{p}/{pt} parser cases, {n}/{nt} negative cases, {e}/{et} expansion cases (envVarTest; {skipped} Windows-only skipped), {w}/{wt} word-splitting cases (wordsTest)"
    );
    println!("{summary}");
    assert!(fails.is_empty(), "{summary}\n{}", fails.join("\n"));
    assert_eq!(pt, 33, "expected 33 positive cases");
    assert_eq!(nt, 4, "expected 4 negative cases");
}

#[test]
fn testfile_line_spans() {
    let Some(data) = common::data_dir_or_skip() else {
        return;
    };
    let src = fs::read_to_string(data.join("testfile-line/Dockerfile")).unwrap();
    let root = parse_nodes(&src).unwrap();
    assert_eq!((root.start_line, root.end_line), (5, 31));
    let spans: Vec<_> = root
        .children
        .iter()
        .map(|c| (c.start_line, c.end_line))
        .collect();
    assert_eq!(spans, vec![(5, 5), (11, 12), (17, 31)]);
}
