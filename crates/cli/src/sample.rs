//! The bundled sample: the reference's indicators and exports of its four tables, holding
//! benign traffic, planted NetSupportManager RAT activity and near-misses (written by
//! `iochunt-gen logs sample 400`). Embedded in the binary so `iochunt hunt` works anywhere.

use engine::{Catalog, Source};
use std::path::PathBuf;

const FILES: [(&str, &str); 5] = [
    (
        "reference-iocs.md",
        include_str!("../sample/reference-iocs.md"),
    ),
    (
        "CommonSecurityLog.csv",
        include_str!("../sample/CommonSecurityLog.csv"),
    ),
    (
        "DeviceNetworkEvents.jsonl",
        include_str!("../sample/DeviceNetworkEvents.jsonl"),
    ),
    ("DnsEvents.jsonl", include_str!("../sample/DnsEvents.jsonl")),
    (
        "UrlClickEvents.jsonl",
        include_str!("../sample/UrlClickEvents.jsonl"),
    ),
];

/// The sample written out to a private temporary folder.
pub struct Sample {
    pub dir: PathBuf,
}

impl Sample {
    pub fn extract() -> anyhow::Result<Sample> {
        let dir = std::env::temp_dir().join(format!("iochunt-sample-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        for (name, text) in FILES {
            std::fs::write(dir.join(name), text)?;
        }
        Ok(Sample { dir })
    }

    pub fn feed(&self) -> PathBuf {
        self.dir.join("reference-iocs.md")
    }

    /// The sample's exports bound to their tables, shown as `sample/<file>`.
    pub fn catalog(&self) -> Catalog {
        let mut cat = Catalog::new();
        for (name, _) in &FILES[1..] {
            let table = name.split('.').next().unwrap_or_default();
            cat.bind(
                table,
                Source::new(self.dir.join(name), format!("sample/{name}")),
            );
        }
        cat
    }
}

impl Drop for Sample {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
