//! `iochunt-gen`: generates large test inputs for benchmarks (kept out of `cargo test`).
//!
//! `iochunt-gen threatfox N` prints a ThreatFox JSON export of N records: domains, URLs,
//! ip:port and hashes in the export's proportions, with a few duplicates and defanged or
//! invalid entries mixed in, as real feeds have.
//!
//! `iochunt-gen logs DIR EVENTS` writes exports of CommonSecurityLog (a portal CSV export),
//! DeviceNetworkEvents, DnsEvents and UrlClickEvents (JSON lines) holding about EVENTS
//! benign events, NetSupportManager RAT activity planted for the reference's indicators,
//! near-misses that must not match, and admin activity that the reference's scenarios 2
//! and 3 describe. `DIR/expected.jsonl` is the answer: one line per planted row,
//! `{"file", "line", "suppressed_by"}`.

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
    match (args.get(1).map(String::as_str), args.len()) {
        (Some("threatfox"), 3) => threatfox(args[2].parse().unwrap_or(1000)),
        (Some("logs"), 4) => logs::write(
            std::path::Path::new(&args[2]),
            args[3].parse().unwrap_or(1000),
        ),
        _ => {
            eprintln!("usage: iochunt-gen threatfox N | iochunt-gen logs DIR EVENTS");
            std::process::exit(2);
        }
    }
}

fn threatfox(n: u64) -> std::io::Result<()> {
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

mod logs {
    //! Log exports with a known answer.

    use super::Rng;
    use std::fs::File;
    use std::io::{BufWriter, Write};
    use std::path::Path;

    const C2: &str = "91.92.34.228";

    /// A table's writer that counts lines, so planted rows can be recorded with their line.
    struct Out {
        name: &'static str,
        w: BufWriter<File>,
        line: u64,
    }

    impl Out {
        fn new(dir: &Path, name: &'static str, header: Option<&str>) -> std::io::Result<Out> {
            let mut w = BufWriter::with_capacity(1 << 20, File::create(dir.join(name))?);
            let mut line = 0;
            if let Some(h) = header {
                writeln!(w, "{h}")?;
                line = 1;
            }
            Ok(Out { name, w, line })
        }

        fn row(&mut self, text: &str) -> std::io::Result<u64> {
            writeln!(self.w, "{text}")?;
            self.line += 1;
            Ok(self.line)
        }
    }

    /// 100 ns ticks are not needed here: seconds since 2026-06-18T00:00:00Z.
    fn iso(secs: u64) -> String {
        let (d, s) = (secs / 86_400, secs % 86_400);
        format!(
            "2026-06-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            18 + d,
            s / 3600,
            s / 60 % 60,
            s % 60,
            secs * 7 % 1000
        )
    }

    /// The portal's day-first export form.
    fn portal(secs: u64) -> String {
        let (d, s) = (secs / 86_400, secs % 86_400);
        format!(
            "{:02}/06/2026, {:02}:{:02}:{:02}.{:03}",
            18 + d,
            s / 3600,
            s / 60 % 60,
            s % 60,
            secs * 7 % 1000
        )
    }

    const HOSTS: [&str; 8] = [
        "WS-FIN-014",
        "WS-HR-022",
        "WS-ENG-107",
        "WS-ENG-131",
        "LT-SALES-09",
        "SRV-APP-03",
        "SRV-FILE-01",
        "WS-IT-001",
    ];
    const USERS: [&str; 8] = [
        "j.doe",
        "m.rossi",
        "a.khan",
        "l.chen",
        "s.meyer",
        "svc_app",
        "svc_backup",
        "it.admin",
    ];
    const DOMAINS: [&str; 12] = [
        "www.microsoft.com",
        "login.microsoftonline.com",
        "outlook.office365.com",
        "teams.microsoft.com",
        "www.google.com",
        "update.googleapis.com",
        "github.com",
        "slack.com",
        "zoom.us",
        "cdn.jsdelivr.net",
        "www.wikipedia.org",
        "contoso.sharepoint.com",
    ];
    /// Process, parent, and the folder the process runs from, JSON-escaped as Defender
    /// exports it: Windows paths put backslashes on nearly every line of real logs.
    const PROCS: [(&str, &str, &str); 6] = [
        (
            "chrome.exe",
            "explorer.exe",
            r"c:\\program files\\google\\chrome\\application",
        ),
        (
            "msedge.exe",
            "explorer.exe",
            r"c:\\program files (x86)\\microsoft\\edge\\application",
        ),
        (
            "Teams.exe",
            "explorer.exe",
            r"c:\\users\\{u}\\appdata\\local\\microsoft\\teams\\current",
        ),
        (
            "OneDrive.exe",
            "explorer.exe",
            r"c:\\users\\{u}\\appdata\\local\\microsoft\\onedrive",
        ),
        ("svchost.exe", "services.exe", r"c:\\windows\\system32"),
        (
            "OUTLOOK.EXE",
            "explorer.exe",
            r"c:\\program files\\microsoft office\\root\\office16",
        ),
    ];

    fn public_ip(r: &mut Rng) -> String {
        let firsts = [13u64, 20, 40, 52, 104, 142, 151, 172, 185, 199];
        let a = firsts[r.below(firsts.len() as u64) as usize];
        let mut ip = format!("{a}.{}.{}.{}", r.below(256), r.below(256), 1 + r.below(254));
        if ip == C2 {
            ip = "20.1.1.1".into();
        }
        ip
    }

    struct Answer {
        w: BufWriter<File>,
    }

    impl Answer {
        fn plant(
            &mut self,
            out: &Out,
            line: u64,
            suppressed_by: Option<&str>,
        ) -> std::io::Result<()> {
            let s = suppressed_by.map_or_else(|| "null".to_string(), |n| format!("\"{n}\""));
            writeln!(
                self.w,
                "{{\"file\": \"{}\", \"line\": {line}, \"suppressed_by\": {s}}}",
                out.name
            )
        }
    }

    pub fn write(dir: &Path, events: u64) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let mut r = Rng(0x2545_f491_4f6c_dd1d);
        let mut csl = Out::new(dir, "CommonSecurityLog.csv", Some("TimeGenerated [UTC],DeviceVendor,DeviceProduct,SourceIP,SourceUserName,DestinationIP,DestinationPort,DestinationHostName,RequestURL,DeviceAction,Activity,Protocol"))?;
        let mut dne = Out::new(dir, "DeviceNetworkEvents.jsonl", None)?;
        let mut dns = Out::new(dir, "DnsEvents.jsonl", None)?;
        let mut url = Out::new(dir, "UrlClickEvents.jsonl", None)?;
        let mut ans = Answer {
            w: BufWriter::new(File::create(dir.join("expected.jsonl"))?),
        };
        let span = 3 * 86_400; // 18 to 20 June
        let step = (span / events.max(1)).max(1);
        let plants = 40u64;
        let plant_every = (events / plants).max(1);
        let mut k = 0u64;
        for i in 0..events {
            // Spread over the whole span, also when there are more events than seconds
            // (before, those past the span's seconds all fell on its last second).
            let t = (i * span / events + r.below(step)).min(span - 1);
            let host = r.below(HOSTS.len() as u64) as usize;
            let (h, u) = (HOSTS[host], USERS[host]);
            let local = format!("10.20.{}.{}", 1 + host, 10 + host);
            match r.below(10) {
                0..=3 => {
                    let (p, parent, folder) = PROCS[r.below(PROCS.len() as u64) as usize];
                    let d = DOMAINS[r.below(DOMAINS.len() as u64) as usize];
                    let folder = folder.replace("{u}", u);
                    let line = format!(
                        "{{\"Timestamp\":\"{}\",\"DeviceName\":\"{}\",\"LocalIP\":\"{local}\",\"RemoteIP\":\"{}\",\"RemotePort\":443,\"RemoteUrl\":\"{d}\",\"Protocol\":\"Tcp\",\"InitiatingProcessFileName\":\"{p}\",\"InitiatingProcessFolderPath\":\"{folder}\\\\{p}\",\"InitiatingProcessParentFileName\":\"{parent}\",\"InitiatingProcessAccountName\":\"{u}\",\"ActionType\":\"ConnectionSuccess\"}}",
                        iso(t), h.to_lowercase(), public_ip(&mut r)
                    );
                    dne.row(&line)?;
                }
                4..=6 => {
                    let d = DOMAINS[r.below(DOMAINS.len() as u64) as usize];
                    let line = format!(
                        "{{\"TimeGenerated\":\"{}\",\"Computer\":\"{h}.corp.contoso.com\",\"ClientIP\":\"{local}\",\"Name\":\"{d}\",\"IPAddresses\":\"{}\",\"QueryType\":\"A\",\"ResultCode\":0}}",
                        iso(t), public_ip(&mut r)
                    );
                    dns.row(&line)?;
                }
                7..=8 => {
                    let d = DOMAINS[r.below(DOMAINS.len() as u64) as usize];
                    let action = if r.below(20) == 0 { "deny" } else { "allow" };
                    let line = format!(
                        "\"{}\",Palo Alto Networks,PAN-OS,{local},{u},{},443,{d},https://{d}/,{action},TRAFFIC,TCP",
                        portal(t), public_ip(&mut r)
                    );
                    csl.row(&line)?;
                }
                _ => {
                    let d = DOMAINS[r.below(DOMAINS.len() as u64) as usize];
                    let line = format!(
                        "{{\"Timestamp\":\"{}\",\"AccountUpn\":\"{u}@contoso.com\",\"Url\":\"https://{d}/{}\",\"ActionType\":\"ClickAllowed\",\"IsClickedThrough\":{},\"Workload\":\"Email\"}}",
                        iso(t), r.word(8), r.below(2) == 0
                    );
                    url.row(&line)?;
                }
            }
            if i % plant_every == plant_every / 2 {
                plant(
                    k, t, &mut r, &mut csl, &mut dne, &mut dns, &mut url, &mut ans,
                )?;
                k += 1;
            }
        }
        for o in [&mut csl, &mut dne, &mut dns, &mut url] {
            o.w.flush()?;
        }
        ans.w.flush()
    }

    /// One planted event or near-miss, cycling through the cases.
    #[allow(clippy::too_many_arguments)]
    fn plant(
        k: u64,
        t: u64,
        r: &mut Rng,
        csl: &mut Out,
        dne: &mut Out,
        dns: &mut Out,
        url: &mut Out,
        ans: &mut Answer,
    ) -> std::io::Result<()> {
        let ts = iso(t);
        let dne_row = |proc: &str,
                       parent: &str,
                       user: &str,
                       host: &str,
                       ip: &str,
                       port: u16,
                       action: &str| {
            format!("{{\"Timestamp\":\"{ts}\",\"DeviceName\":\"{host}\",\"LocalIP\":\"10.20.1.14\",\"RemoteIP\":\"{ip}\",\"RemotePort\":{port},\"RemoteUrl\":\"\",\"Protocol\":\"Tcp\",\"InitiatingProcessFileName\":\"{proc}\",\"InitiatingProcessFolderPath\":\"c:\\\\users\\\\{user}\\\\appdata\\\\roaming\\\\{proc}\",\"InitiatingProcessParentFileName\":\"{parent}\",\"InitiatingProcessAccountName\":\"{user}\",\"ActionType\":\"{action}\"}}")
        };
        let dns_row = |name: &str, ips: &str| {
            format!("{{\"TimeGenerated\":\"{ts}\",\"Computer\":\"WS-FIN-014.corp.contoso.com\",\"ClientIP\":\"10.20.1.14\",\"Name\":\"{name}\",\"IPAddresses\":\"{ips}\",\"QueryType\":\"A\",\"ResultCode\":0}}")
        };
        let url_row = |u: &str| {
            format!("{{\"Timestamp\":\"{ts}\",\"AccountUpn\":\"j.doe@contoso.com\",\"Url\":\"{u}\",\"ActionType\":\"ClickAllowed\",\"IsClickedThrough\":true,\"Workload\":\"Email\"}}")
        };
        let csl_row = |dst: &str, port: u16, host: &str, req: &str, action: &str| {
            format!("\"{}\",Palo Alto Networks,PAN-OS,10.20.1.14,j.doe,{dst},{port},{host},{req},{action},TRAFFIC,TCP", portal(t))
        };
        let _ = r;
        match k % 20 {
            // Planted: client32.exe beaconing to the C2 on 443 and 80.
            0 | 5 | 10 => {
                let l = dne.row(&dne_row(
                    "client32.exe",
                    "wscript.exe",
                    "j.doe",
                    "ws-fin-014",
                    C2,
                    443,
                    "ConnectionSuccess",
                ))?;
                ans.plant(dne, l, None)?;
            }
            1 | 11 => {
                let l = dne.row(&dne_row(
                    "client32.exe",
                    "wscript.exe",
                    "j.doe",
                    "ws-fin-014",
                    C2,
                    80,
                    "ConnectionSuccess",
                ))?;
                ans.plant(dne, l, None)?;
            }
            // Planted: the firewall sees the beacon; one is blocked.
            2 => {
                let l = csl.row(&csl_row(C2, 443, "", "", "allow"))?;
                ans.plant(csl, l, None)?;
            }
            12 => {
                let l = csl.row(&csl_row(
                    C2,
                    80,
                    "",
                    &format!("http://{C2}/fakeurl.htm"),
                    "deny",
                ))?;
                ans.plant(csl, l, None)?;
            }
            // Planted: DNS lookups of the C2 domains, case and subdomain variants.
            3 => {
                let l = dns.row(&dns_row("tiqwtkmma.com", C2))?;
                ans.plant(dns, l, None)?;
            }
            13 => {
                let l = dns.row(&dns_row("CDN.BERONIW.COM", "104.21.3.3"))?;
                ans.plant(dns, l, None)?;
            }
            8 => {
                let l = dns.row(&dns_row("zbxcgtqt.com", "172.67.1.2"))?;
                ans.plant(dns, l, None)?;
            }
            // Planted: the click on the payload URL.
            4 => {
                let l = url.row(&url_row("https://beroniw.com/hwkOP5"))?;
                ans.plant(url, l, None)?;
            }
            14 => {
                let l = url.row(&url_row("https://beroniw.com/hwkOP5?utm_source=mail"))?;
                ans.plant(url, l, None)?;
            }
            // Admin activity the reference's scenarios 2 and 3 describe, reaching the C2 IP.
            6 => {
                let l = dne.row(&dne_row(
                    "NetSupportManager.exe",
                    "schtasks.exe",
                    "Maintenance_User",
                    "srv-app-03",
                    C2,
                    443,
                    "ConnectionSuccess",
                ))?;
                ans.plant(
                    dne,
                    l,
                    Some("Scheduled Maintenance Job Using NetSupportManager"),
                )?;
            }
            16 => {
                let l = dne.row(&dne_row(
                    "NetSupportManager.exe",
                    "taskhost.exe",
                    "Admin_User",
                    "ws-it-001",
                    C2,
                    443,
                    "ConnectionSuccess",
                ))?;
                ans.plant(
                    dne,
                    l,
                    Some("Admin Task to Push Updates via NetSupportManager"),
                )?;
            }
            // Near-misses: none of these may match.
            7 => {
                dne.row(&dne_row(
                    "chrome.exe",
                    "explorer.exe",
                    "m.rossi",
                    "ws-hr-022",
                    "191.92.34.228",
                    443,
                    "ConnectionSuccess",
                ))?;
            }
            17 => {
                dne.row(&dne_row(
                    "chrome.exe",
                    "explorer.exe",
                    "m.rossi",
                    "ws-hr-022",
                    "91.92.34.22",
                    443,
                    "ConnectionSuccess",
                ))?;
            }
            9 => {
                dns.row(&dns_row("xberoniw.com", "10.0.0.1"))?;
            }
            19 => {
                dns.row(&dns_row("beroniw.community", "10.0.0.2"))?;
            }
            15 => {
                url.row(&url_row("https://www.beroniw.com/hwkOP5"))?;
            }
            18 => {
                csl.row(&csl_row("191.92.34.228", 443, "", "", "allow"))?;
            }
            _ => {
                csl.row(&csl_row(
                    "91.92.34.229",
                    80,
                    "golviewcheckus.co",
                    "http://golviewcheckus.co/",
                    "allow",
                ))?;
            }
        }
        Ok(())
    }
}
