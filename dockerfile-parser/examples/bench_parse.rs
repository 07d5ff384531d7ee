//! Parse-time benchmark: builds synthetic Dockerfiles of the given line
//! counts (a realistic mix of instructions, continuations, comments, JSON,
//! flags and heredocs), parses each several times and prints the median.
//!
//! Usage: `bench_parse [LINES...]` (default 10000 20000 40000)

use std::time::{Duration, Instant};

fn make(lines: usize) -> String {
    let block = [
        "# build stage comment",
        "FROM --platform=$BUILDPLATFORM golang:1.22 AS build{i}",
        "ARG VERSION=1.{i}",
        "ENV GOFLAGS=\"-mod=vendor\" CGO_ENABLED=0 HOME=/root",
        "WORKDIR /src/{i}",
        "COPY --chown=1000:1000 --chmod=0644 go.mod go.sum ./",
        "RUN --mount=type=cache,target=/root/.cache/go-build,id=go{i} \\",
        "    --mount=type=bind,source=.,target=/src \\",
        "    go build -ldflags \"-X main.version=${VERSION}\" -o /out/app{i} ./cmd/app",
        "RUN <<EOF",
        "set -e",
        "echo building {i}",
        "EOF",
        "LABEL org.opencontainers.image.title=\"app {i}\" version=$VERSION",
        "EXPOSE 8080/tcp 9090/udp",
        "HEALTHCHECK --interval=30s --timeout=3s CMD [\"/out/app\", \"health\"]",
        "CMD [\"/out/app{i}\", \"--serve\"]",
        "",
    ];
    let mut out = String::with_capacity(lines * 48);
    let mut n = 0;
    let mut i = 0;
    // Whole blocks only (never stop inside a heredoc), then pad with comments.
    while n + block.len() <= lines {
        for l in block {
            out.push_str(&l.replace("{i}", &i.to_string()));
            out.push('\n');
        }
        n += block.len();
        i += 1;
    }
    while n < lines {
        out.push_str("# padding\n");
        n += 1;
    }
    out
}

fn median(src: &str, runs: usize) -> (Duration, usize) {
    let mut times = Vec::with_capacity(runs);
    let mut stages = 0;
    for _ in 0..runs {
        let t = Instant::now();
        if std::env::var_os("BENCH_NODES_ONLY").is_some() {
            let root = dockerfile_parser::parse_nodes(src).expect("benchmark input must parse");
            times.push(t.elapsed());
            stages = root.children.len();
        } else {
            let df = dockerfile_parser::parse(src).expect("benchmark input must parse");
            times.push(t.elapsed());
            stages = df.stages.len();
        }
    }
    times.sort();
    (times[runs / 2], stages)
}

fn main() {
    let mut sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    if sizes.is_empty() {
        sizes = vec![10_000, 20_000, 40_000];
    }
    let mut prev: Option<Duration> = None;
    for n in sizes {
        let src = make(n);
        let _ = median(&src, 3); // warm up
        let (t, stages) = median(&src, 15);
        let ratio = prev
            .map(|p| {
                format!(
                    "  ratio vs previous: {:.2}",
                    t.as_secs_f64() / p.as_secs_f64()
                )
            })
            .unwrap_or_default();
        println!(
            "{n:>7} lines ({:>8} bytes, {stages} stages): median {:>9.3} ms{ratio}",
            src.len(),
            t.as_secs_f64() * 1e3
        );
        prev = Some(t);
    }
}
