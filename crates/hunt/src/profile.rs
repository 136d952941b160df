//! Family profiles: what iochunt knows about a malware family (ATT&CK techniques, its
//! processes and files, usual C2 ports), read from `data/families.json`, each fact with its
//! public source. `generate` takes techniques from here; `lint` checks exclusions against it.

use serde::Deserialize;
use std::sync::OnceLock;

#[derive(Clone, Debug, Deserialize)]
pub struct Profile {
    pub name: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub remote_access_tool: bool,
    #[serde(default)]
    pub tactics: Vec<String>,
    #[serde(default)]
    pub techniques: Vec<String>,
    /// Process names the family itself runs as.
    #[serde(default)]
    pub processes: Vec<String>,
    #[serde(default)]
    pub companion_files: Vec<String>,
    #[serde(default)]
    pub c2_ports: Vec<u16>,
}

#[derive(Deserialize)]
struct File {
    families: Vec<Profile>,
}

const FAMILIES_JSON: &str = include_str!("../data/families.json");

fn all() -> &'static [Profile] {
    static P: OnceLock<Vec<Profile>> = OnceLock::new();
    P.get_or_init(|| {
        serde_json::from_str::<File>(FAMILIES_JSON)
            .map(|f| f.families)
            .unwrap_or_default()
    })
}

/// The profile of a family, by name or alias (case-insensitive).
pub fn find(family: &str) -> Option<&'static Profile> {
    let f = family.trim();
    all().iter().find(|p| {
        p.name.eq_ignore_ascii_case(f) || p.aliases.iter().any(|a| a.eq_ignore_ascii_case(f))
    })
}

/// The profiles of any of the families named.
pub fn for_families<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<&'static Profile> {
    let mut out: Vec<&'static Profile> = Vec::new();
    for n in names {
        if let Some(p) = find(n) {
            if !out.iter().any(|x| std::ptr::eq(*x, p)) {
                out.push(p);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_profiles_parse_and_resolve_aliases() {
        assert!(!all().is_empty());
        let p = find("win.netsupportmanager_rat").unwrap();
        assert_eq!(p.name, "NetSupportManager RAT");
        assert_eq!(p.techniques, vec!["T1219"]);
        assert!(p.processes.iter().any(|x| x == "client32.exe"));
    }
}
