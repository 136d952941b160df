//! `iochunt-gen`: generates large test inputs for benchmarks (kept out of `cargo test`).
//!
//! `iochunt-gen threatfox N` prints a ThreatFox JSON export of N records: domains, URLs,
//! ip:port and hashes in the export's proportions, with a few duplicates and defanged or
//! invalid entries mixed in, as real feeds have.

use std::io::{BufWriter, Write};

/// A small deterministic generator (xorshift), so runs are reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn word(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| (b'a' + self.below(26) as u8) as char)
            .collect()
    }
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 || args[1] != "threatfox" {
        eprintln!("usage: iochunt-gen threatfox N");
        std::process::exit(2);
    }
    let n: u64 = args[2].parse().unwrap_or(1000);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let tlds = ["com", "net", "org", "top", "xyz", "ru", "info", "co.uk"];
    let families = [
        ("win.netsupportmanager_rat", "NetSupportManager RAT"),
        ("win.vidar", "Vidar"),
        ("win.asyncrat", "AsyncRAT"),
        ("js.clearfake", "ClearFake"),
    ];
    let threats = ["botnet_cc", "payload_delivery", "payload"];
    let mut out = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    writeln!(out, "{{")?;
    for i in 0..n {
        let (fid, fname) = families[rng.below(families.len() as u64) as usize];
        let tld = tlds[rng.below(tlds.len() as u64) as usize];
        let k = rng.below(100);
        let (value, kind) = if rng.below(200) == 0 && i > 0 {
            ("duplicate.example-dup.com".to_string(), "domain")
        } else if k < 54 {
            let ip = format!(
                "{}.{}.{}.{}",
                1 + rng.below(222),
                rng.below(256),
                rng.below(256),
                1 + rng.below(254)
            );
            (format!("{ip}:{}", 1 + rng.below(65535)), "ip:port")
        } else if k < 81 {
            (format!("{}.{}.{tld}", rng.word(6), rng.word(8)), "domain")
        } else if k < 90 {
            (
                format!("https://{}.{tld}/{}", rng.word(9), rng.word(6)),
                "url",
            )
        } else if k < 99 {
            (
                format!(
                    "{:016x}{:016x}{:016x}{:016x}",
                    rng.next(),
                    rng.next(),
                    rng.next(),
                    rng.next()
                ),
                "sha256_hash",
            )
        } else {
            (
                format!("{}[.]invalid-tld-{}", rng.word(5), rng.word(3)),
                "domain",
            )
        };
        let comma = if i + 1 < n { "," } else { "" };
        writeln!(
            out,
            "  \"{id}\": [{{\"ioc_value\": \"{value}\", \"ioc_type\": \"{kind}\", \"threat_type\": \"{t}\", \"malware\": \"{fid}\", \"malware_alias\": null, \"malware_printable\": \"{fname}\", \"first_seen_utc\": \"2026-07-{d:02} 1{h}:00:00\", \"last_seen_utc\": null, \"confidence_level\": {c}, \"is_compromised\": false, \"reference\": null, \"tags\": \"gen\", \"anonymous\": 0, \"reporter\": \"gen\"}}]{comma}",
            id = 2_000_000 + i,
            t = threats[rng.below(3) as usize],
            d = 1 + rng.below(28),
            h = rng.below(10),
            c = [50, 75, 100][rng.below(3) as usize],
        )?;
    }
    writeln!(out, "}}")?;
    out.flush()
}
