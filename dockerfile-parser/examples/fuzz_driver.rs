//! Pure-Rust fuzz driver: the same harness as the libFuzzer target
//! (`fuzz/harness.rs`), fed by a random-mutation loop with a little
//! outcome-based feedback, for machines where libFuzzer cannot be built.
//! Also checks that parse and expansion time grow linearly on pathological
//! inputs. Panics, hangs (> 2 s per input) and super-linear growth are
//! reported, their inputs saved, and the exit code is 1.
//!
//! Usage: `fuzz_driver [--seconds N] [--seed N] [--artifacts DIR] [--scaling-only]`

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

include!("../fuzz/harness.rs");

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const TOKENS: &[&str] = &[
    "\\\n",
    "`\n",
    "\n",
    "\r\n",
    " ",
    "\t",
    "#",
    "# escape=`\n",
    "# syntax=x\n",
    "# check=skip=all\n",
    "\u{feff}",
    "\0",
    "\"",
    "'",
    "\\",
    "`",
    "[",
    "]",
    "[\"a\", \"b\"]",
    "{",
    "}",
    "$",
    "${",
    "${A",
    "${A:-",
    "${A:+",
    "${A:?",
    "${A#",
    "${A##",
    "${A%",
    "${A%%",
    "${A/",
    "${A//",
    "*",
    "?",
    "<<",
    "<<EOF",
    "<<-EOF",
    "<<'EOF'",
    "\nEOF\n",
    "\n\tEOF\n",
    "3<<X",
    "--",
    "--mount=",
    "type=cache,",
    "target=/x,",
    "--from=",
    "--chown=",
    "--link",
    "--platform=",
    "--interval=1s",
    "=",
    ",",
    "FROM ",
    "RUN ",
    "COPY ",
    "ADD ",
    "ENV ",
    "LABEL ",
    "ARG ",
    "ONBUILD ",
    "HEALTHCHECK CMD ",
    "HEALTHCHECK NONE",
    "CMD ",
    "ENTRYPOINT ",
    "SHELL ",
    "EXPOSE ",
    "VOLUME ",
    "USER ",
    "WORKDIR ",
    "STOPSIGNAL ",
    "MAINTAINER ",
    " AS x",
    "é",
    "한",
    "\u{85}",
    "\u{a0}",
    "\u{2028}",
    "\u{7f}",
];

const SEEDS: &[&str] = &[
    "FROM alpine\nRUN echo hi\n",
    "# escape=`\nFROM x\nRUN a `\n b\n",
    "ARG V=1\nFROM --platform=$BUILDPLATFORM img:${V} AS b\nCOPY --from=b --chown=1:1 a /b/\n",
    "FROM x\nRUN --mount=type=cache,target=/c,id=1,sharing=locked,mode=0755 <<EOF\nls\nEOF\n",
    "FROM x\nCOPY <<A <<-B /d\na\nA\n\tb\n\tB\n",
    "FROM x\nENV a=\"b c\" d=e\\ f\nLABEL k v\nHEALTHCHECK --interval=5s CMD [\"x\"]\n",
    "FROM x\nONBUILD RUN <<'E' cat\n$x\nE\nWORKDIR ${A:-/w}\nEXPOSE ${N}/udp\n",
    "FROM x\nRUN echo ${A/a/b} ${A//?/x} ${A#*a} ${A%%b*} $1 $@ ${EMPTY:?no}\n",
    "CMD [\"a\", {\"b\": [1, 2.5e3, true, null]}]\n",
];

fn mutate(rng: &mut Rng, input: &mut Vec<u8>, corpus: &[Vec<u8>]) {
    for _ in 0..1 + rng.below(6) {
        let len = input.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                input[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                input[i] = rng.next() as u8;
            }
            2 | 3 => {
                let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
                let i = rng.below(len + 1);
                input.splice(i..i, t.iter().copied());
            }
            4 if len > 0 => {
                let a = rng.below(len);
                let b = (a + 1 + rng.below(16)).min(len);
                input.drain(a..b);
            }
            5 if len > 0 => {
                let a = rng.below(len);
                let b = (a + 1 + rng.below(64)).min(len);
                let chunk = input[a..b].to_vec();
                let i = rng.below(len + 1);
                input.splice(i..i, chunk);
            }
            6 => {
                let other = &corpus[rng.below(corpus.len())];
                if !other.is_empty() {
                    let a = rng.below(other.len());
                    let b = (a + 1 + rng.below(128)).min(other.len());
                    let i = rng.below(len + 1);
                    input.splice(i..i, other[a..b].iter().copied());
                }
            }
            _ => {
                let i = rng.below(len + 1);
                input.insert(i, b"\n \t\\$\"'{}[]<#"[rng.below(13)]);
            }
        }
    }
    input.truncate(8192);
}

/// A cheap "what happened" signature used as feedback.
fn signature(data: &[u8]) -> u64 {
    let mut h: u64 = 1469598103934665603;
    let mut feed = |s: &str| {
        for b in s.bytes() {
            h = (h ^ b as u64).wrapping_mul(1099511628211);
        }
    };
    match dockerfile_parser::parse_bytes(data) {
        Ok(df) => {
            feed("ok");
            for s in &df.stages {
                for i in &s.instructions {
                    feed(i.node.keyword());
                }
            }
        }
        Err(e) => feed(&e.message.chars().take(28).collect::<String>()),
    }
    h
}

fn save(dir: &PathBuf, kind: &str, data: &[u8]) -> PathBuf {
    let _ = std::fs::create_dir_all(dir);
    let mut h: u64 = 0;
    for b in data {
        h = h.wrapping_mul(31).wrapping_add(*b as u64);
    }
    let p = dir.join(format!("{kind}-{h:016x}"));
    let _ = std::fs::write(&p, data);
    p
}

fn time_of(data: &[u8]) -> Duration {
    (0..3)
        .map(|_| {
            let t = Instant::now();
            exercise(data);
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// Pathological shapes at growing sizes; returns false on super-linear growth.
fn scaling_check() -> bool {
    let shapes: &[(&str, &str, &str, &str)] = &[
        ("continuations", "FROM x\nRUN a", " \\\n b", "\n"),
        (
            "blank continuations",
            "FROM x\nRUN a",
            " \\\n\n# c\n b",
            "\n",
        ),
        ("instructions", "FROM x\n", "RUN echo $A ${A:-b}\n", ""),
        ("heredocs", "FROM x\n", "COPY <<A <<B /d\na\nA\nb\nB\n", ""),
        ("long word", "FROM x\nENV a=", "b\\ \"c d\"", "\n"),
        ("flags", "FROM x\nCOPY", " --exclude=\"a b\"", " a b\n"),
        ("json", "FROM x\nCMD [\"a\"", ", \"b\\u00e9\"", "]\n"),
        ("nested json", "FROM x\nCMD [\"a\", ", "[", "\n"),
        ("quotes", "FROM x\nLABEL a=", "'x'\"y\"", "\n"),
        ("dollars", "FROM x\nWORKDIR /", "${A:-${A}}$A", "\n"),
        ("patterns", "FROM x\nWORKDIR ", "${A//?/x}${A%%*b}", "\n"),
        ("heredoc markers", "FROM x\nRUN", " <<x", "\n"),
        ("onbuild", "FROM x\n", "ONBUILD ", "RUN x\n"),
        ("comments", "", "# c\n", "FROM x\n"),
    ];
    let mut ok = true;
    for (name, head, unit, tail) in shapes {
        let make = |n: usize| format!("{head}{}{tail}", unit.repeat(n)).into_bytes();
        let base = 1000;
        let t1 = time_of(&make(base));
        let t8 = time_of(&make(base * 8));
        let ratio = t8.as_secs_f64() / t1.as_secs_f64().max(1e-6);
        // Linear growth gives ~8; allow generous noise for tiny timings.
        let bad = ratio > 24.0 && t8 > Duration::from_millis(20);
        println!(
            "scaling {name:<20} {:>8.2?} -> {:>8.2?} for 8x input (x{ratio:.1}){}",
            t1,
            t8,
            if bad { "  SUPER-LINEAR" } else { "" }
        );
        ok &= !bad;
    }
    ok
}

fn main() {
    let mut seconds = 60u64;
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut artifacts = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fuzz/artifacts/driver"
    ));
    let mut scaling_only = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seconds" => seconds = args.next().and_then(|v| v.parse().ok()).unwrap_or(seconds),
            "--seed" => seed = args.next().and_then(|v| v.parse().ok()).unwrap_or(seed) | 1,
            "--artifacts" => artifacts = args.next().map(PathBuf::from).unwrap_or(artifacts),
            "--scaling-only" => scaling_only = true,
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2);
            }
        }
    }
    let mut failed = !scaling_check();
    if scaling_only {
        std::process::exit(i32::from(failed));
    }
    std::panic::set_hook(Box::new(|_| {}));
    let mut corpus: Vec<Vec<u8>> = SEEDS.iter().map(|s| s.as_bytes().to_vec()).collect();
    let data = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/conformance/dockerfile"
    ));
    for sub in ["testfiles", "testfiles-negative"] {
        if let Ok(rd) = std::fs::read_dir(data.join(sub)) {
            for e in rd.flatten() {
                if let Ok(b) = std::fs::read(e.path().join("Dockerfile")) {
                    corpus.push(b);
                }
            }
        }
    }
    let mut seen: HashSet<u64> = corpus.iter().map(|c| signature(c)).collect();
    let mut rng = Rng(seed);
    let start = Instant::now();
    let deadline = Duration::from_secs(seconds);
    let (mut execs, mut crashes, mut hangs) = (0u64, 0u64, 0u64);
    let mut last_report = Instant::now();
    let mut slowest = Duration::ZERO;
    while start.elapsed() < deadline {
        let mut input = corpus[rng.below(corpus.len())].clone();
        mutate(&mut rng, &mut input, &corpus);
        let t = Instant::now();
        let r = std::panic::catch_unwind(|| exercise(&input));
        let took = t.elapsed();
        execs += 1;
        slowest = slowest.max(took);
        if r.is_err() {
            crashes += 1;
            let p = save(&artifacts, "crash", &input);
            println!("PANIC on input saved to {}", p.display());
            failed = true;
            continue;
        }
        if took > Duration::from_secs(2) {
            hangs += 1;
            let p = save(&artifacts, "slow", &input);
            println!("SLOW ({took:?}) input saved to {}", p.display());
            failed = true;
        }
        let sig = signature(&input);
        let novel = seen.insert(sig);
        if (novel || rng.below(64) == 0) && corpus.len() < 20_000 {
            corpus.push(input);
        }
        if last_report.elapsed() > Duration::from_secs(30) {
            last_report = Instant::now();
            println!(
                "#{execs} {:>5}s corpus {} signatures {} crashes {crashes} slow {hangs} slowest {slowest:?}",
                start.elapsed().as_secs(),
                corpus.len(),
                seen.len()
            );
        }
    }
    println!(
        "done: {execs} executions in {:?}, corpus {}, {} outcome signatures, {crashes} panics, {hangs} slow inputs, slowest {slowest:?}",
        start.elapsed(),
        corpus.len(),
        seen.len()
    );
    std::process::exit(i32::from(failed));
}
