//! Parse throughput: parses FILE (a KQL text of many statements) REPEAT times and prints
//! MB/s. Used by scripts/bench-parse.sh; not part of the tests.
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(path), repeat) = (
        args.get(1),
        args.get(2).and_then(|r| r.parse().ok()).unwrap_or(3),
    ) else {
        eprintln!("usage: bench_parse FILE [REPEAT]");
        std::process::exit(2);
    };
    let text = std::fs::read_to_string(path).expect("readable file");
    let mut best = f64::MAX;
    for _ in 0..repeat {
        let t = Instant::now();
        let q = kql::parse(&text).expect("valid KQL");
        let secs = t.elapsed().as_secs_f64();
        assert!(!q.statements.is_empty());
        best = best.min(secs);
    }
    let mb = text.len() as f64 / 1e6;
    println!(
        "parse: {mb:.1} MB in {best:.3} s (best of {repeat}): {:.1} MB/s",
        mb / best
    );
}
