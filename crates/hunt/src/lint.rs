//! Checking exclusions, and applying them to a pack. Every scenario gets a level (error,
//! warning, ok) with reasons. A scenario with an error is not applied unless forced: an
//! exclusion must never silently hide the activity the hunt exists to find.

use crate::exclusion::{self, is_known_field, Cond, Scenario};
use crate::pack::Pack;
use crate::profile::Profile;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Ok,
    Warning,
    Error,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// The verdict on one scenario.
#[derive(Clone, Debug)]
pub struct Verdict {
    pub scenario: Scenario,
    pub level: Level,
    /// The errors first, then the warnings.
    pub reasons: Vec<String>,
    /// How many of `reasons` are errors.
    pub errors: usize,
    pub condition: Option<Cond>,
}

/// Fields whose values an attacker chooses: renaming a binary or running as another account
/// defeats an exclusion that keys only on them.
const ATTACKER_CONTROLLED: &[&str] = &[
    "process.name",
    "process.parent.name",
    "process.user",
    "user.name",
    "file.name",
    "process.command_line",
];

/// Parents that do not start the programs of the role a scenario gives them, with why.
const IMPLAUSIBLE_PARENTS: &[(&str, &str)] = &[
    (
        "schtasks.exe",
        "scheduled tasks start their programs under svchost.exe (the Task Scheduler service) or \
         taskeng.exe, never under schtasks.exe, which only creates and changes tasks",
    ),
    (
        "taskhost.exe",
        "taskhost.exe hosts DLL-based tasks; programs a scheduled task starts run under \
         svchost.exe or taskeng.exe",
    ),
];

/// Three-valued evaluation with some fields known: `None` when the outcome depends on
/// fields not given.
fn eval(c: &Cond, known: &[(&str, &str)]) -> Option<bool> {
    let get = |f: &str| known.iter().find(|(k, _)| *k == f).map(|(_, v)| *v);
    match c {
        Cond::Cmp { field, op, value } => {
            let v = get(field)?.to_lowercase();
            let x = value.to_lowercase();
            Some(match op.as_str() {
                "==" => v == x,
                "!=" => v != x,
                "contains" => v.contains(&x),
                "startswith" => v.starts_with(&x),
                _ => v.ends_with(&x),
            })
        }
        Cond::In { field, values } => {
            let v = get(field)?.to_lowercase();
            Some(values.iter().any(|x| x.to_lowercase() == v))
        }
        Cond::Not(p) => eval(p, known).map(|b| !b),
        Cond::And(ps) => {
            let r: Vec<Option<bool>> = ps.iter().map(|p| eval(p, known)).collect();
            if r.contains(&Some(false)) {
                Some(false)
            } else if r.iter().all(|x| *x == Some(true)) {
                Some(true)
            } else {
                None
            }
        }
        Cond::Or(ps) => {
            let r: Vec<Option<bool>> = ps.iter().map(|p| eval(p, known)).collect();
            if r.contains(&Some(true)) {
                Some(true)
            } else if r.iter().all(|x| *x == Some(false)) {
                Some(false)
            } else {
                None
            }
        }
    }
}

fn is_negative(c: &Cond) -> bool {
    matches!(c, Cond::Cmp { op, .. } if op == "!=") || matches!(c, Cond::Not(_))
}

/// An AND that can never hold: one field required equal to two values, or equal and
/// unequal to one.
fn contradiction(c: &Cond) -> Option<String> {
    match c {
        Cond::And(ps) => {
            for (i, a) in ps.iter().enumerate() {
                for b in &ps[i + 1..] {
                    if let (
                        Cond::Cmp {
                            field: fa,
                            op: oa,
                            value: va,
                        },
                        Cond::Cmp {
                            field: fb,
                            op: ob,
                            value: vb,
                        },
                    ) = (a, b)
                    {
                        if fa != fb {
                            continue;
                        }
                        let same = va.eq_ignore_ascii_case(vb);
                        if oa == "==" && ob == "==" && !same {
                            return Some(format!("{fa} cannot equal both \"{va}\" and \"{vb}\""));
                        }
                        if same && ((oa == "==" && ob == "!=") || (oa == "!=" && ob == "==")) {
                            return Some(format!(
                                "{fa} cannot both equal and differ from \"{va}\""
                            ));
                        }
                    }
                }
            }
            ps.iter().find_map(contradiction)
        }
        Cond::Or(ps) if ps.iter().all(|p| contradiction(p).is_some()) => contradiction(&ps[0]),
        Cond::Not(_) | Cond::Or(_) | Cond::Cmp { .. } | Cond::In { .. } => None,
    }
}

fn parent_values(c: &Cond, out: &mut Vec<String>) {
    match c {
        Cond::Cmp { field, op, value } if field == "process.parent.name" && op == "==" => {
            out.push(value.to_lowercase())
        }
        Cond::In { field, values } if field == "process.parent.name" => {
            out.extend(values.iter().map(|v| v.to_lowercase()))
        }
        Cond::And(ps) | Cond::Or(ps) => ps.iter().for_each(|p| parent_values(p, out)),
        _ => {}
    }
}

/// Checks one scenario against the family profiles and the tables the pack hunts.
pub fn lint(s: &Scenario, profiles: &[&Profile], tables: &[&str]) -> Verdict {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let cond = match s.condition() {
        Ok(c) => c,
        Err(e) => {
            return Verdict {
                scenario: s.clone(),
                level: Level::Error,
                reasons: vec![format!("the exclusion does not parse: {e}")],
                errors: 1,
                condition: None,
            }
        }
    };
    let fields = cond.fields();
    for f in fields.iter().filter(|f| !is_known_field(f)) {
        let known: Vec<&str> = exclusion::FIELD_MAP.iter().map(|(k, _)| *k).collect();
        errors.push(format!(
            "unknown field {f} (known fields: {})",
            known.join(", ")
        ));
    }
    if let Cond::Or(branches) = &cond {
        for b in branches.iter().filter(|b| is_negative(b)) {
            errors.push(format!(
                "inverted logic: the OR branch `{b}` alone matches every event it does not name, so \
                 the exclusion would suppress almost everything the hunt finds"
            ));
        }
    }
    for p in profiles {
        for proc_name in &p.processes {
            let known = [
                ("process.name", proc_name.as_str()),
                ("file.name", proc_name.as_str()),
            ];
            match eval(&cond, &known) {
                Some(true) => errors.push(format!(
                    "it would suppress {proc_name}, the process {} itself runs as, whatever else the event says",
                    p.name
                )),
                None if cond.to_string().to_lowercase().contains(&proc_name.to_lowercase()) => warnings.push(format!(
                    "it names {proc_name}, the process {} runs as: on the events it matches, it hides the family's own activity",
                    p.name
                )),
                _ => {}
            }
        }
    }
    if let Some(why) = contradiction(&cond) {
        errors.push(format!("the condition can never hold: {why}"));
    }
    if !fields.is_empty() && fields.iter().all(|f| ATTACKER_CONTROLLED.contains(f)) {
        warnings.push(format!(
            "it keys only on values an attacker controls ({}): renaming a binary or running it as that \
             account defeats it; add a host, path or signer condition",
            fields.join(", ")
        ));
    }
    let mut parents = Vec::new();
    parent_values(&cond, &mut parents);
    for (parent, why) in IMPLAUSIBLE_PARENTS {
        if parents.iter().any(|p| p == parent) {
            warnings.push(format!(
                "process.parent.name \"{parent}\" will not match real telemetry: {why}"
            ));
        }
    }
    if !tables.is_empty()
        && tables
            .iter()
            .all(|t| !exclusion::missing_fields(&cond, t).is_empty())
    {
        warnings.push(format!(
            "it applies to no hunt: none of {} has all of its fields",
            tables.join(", ")
        ));
    }
    let level = if !errors.is_empty() {
        Level::Error
    } else if !warnings.is_empty() {
        Level::Warning
    } else {
        Level::Ok
    };
    let n_errors = errors.len();
    errors.extend(warnings);
    Verdict {
        scenario: s.clone(),
        level,
        reasons: errors,
        errors: n_errors,
        condition: Some(cond),
    }
}

/// What applying one scenario to a pack did.
#[derive(Clone, Debug)]
pub struct Application {
    pub verdict: Verdict,
    /// Hunts it was rendered into, with the KQL predicate.
    pub applied: Vec<(String, String)>,
    /// Why it was not applied at all (a lint error without --force-exclusions).
    pub refused: Option<String>,
    /// Tables it does not apply to, with the fields each lacks.
    pub not_applicable: Vec<(String, Vec<String>)>,
}

/// Lints the scenarios and renders the acceptable ones into the hunts they apply to.
pub fn apply(
    pack: &mut Pack,
    scenarios: &[Scenario],
    profiles: &[&Profile],
    force: bool,
) -> Vec<Application> {
    let mut tables: Vec<&'static str> = Vec::new();
    for h in &pack.hunts {
        if !tables.contains(&h.table) {
            tables.push(h.table);
        }
    }
    let mut out = Vec::new();
    for s in scenarios {
        let verdict = lint(s, profiles, &tables);
        let mut app = Application {
            verdict: verdict.clone(),
            applied: Vec::new(),
            refused: None,
            not_applicable: Vec::new(),
        };
        let Some(cond) = &verdict.condition else {
            app.refused = Some(verdict.reasons.join("; "));
            out.push(app);
            continue;
        };
        if verdict.level == Level::Error && !force {
            app.refused = Some(verdict.reasons[..verdict.errors].join("; "));
            out.push(app);
            continue;
        }
        for t in &tables {
            match exclusion::to_kql(cond, t) {
                Ok(pred) => {
                    for h in pack.hunts.iter_mut().filter(|h| h.table == *t) {
                        h.exclusions.push((s.name.clone(), pred.clone()));
                        app.applied.push((h.name.clone(), pred.clone()));
                    }
                }
                Err(missing) => app.not_applicable.push((t.to_string(), missing)),
            }
        }
        out.push(app);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(exclude: &str, description: &str) -> Scenario {
        Scenario {
            name: "s".into(),
            description: description.into(),
            exclude: exclude.into(),
            origin: "t:1".into(),
        }
    }

    fn verdict(exclude: &str) -> Verdict {
        let nsm = crate::profile::find("NetSupportManager RAT").unwrap();
        lint(
            &scenario(exclude, ""),
            &[nsm],
            &["DeviceNetworkEvents", "DnsEvents"],
        )
    }

    #[test]
    fn inverted_or_is_an_error() {
        let v = verdict(
            r#"process.name != "NetSupportManager.exe" OR process.parent.name == "explorer.exe""#,
        );
        assert_eq!(v.level, Level::Error);
        assert!(v.reasons[0].contains("inverted logic"), "{:?}", v.reasons);
        assert!(
            v.reasons
                .iter()
                .any(|r| r.contains("would suppress client32.exe")),
            "{:?}",
            v.reasons
        );
    }

    #[test]
    fn suppressing_the_family_process_is_an_error() {
        let v = verdict(r#"process.name in ("client32.exe", "x.exe") AND host.name == "a""#);
        assert_eq!(
            v.level,
            Level::Warning,
            "depends on the host, so not certain: {:?}",
            v.reasons
        );
        let v = verdict(r#"process.name in ("client32.exe", "x.exe")"#);
        assert_eq!(v.level, Level::Error);
        assert!(v.reasons.iter().any(|r| r.contains("client32.exe")));
    }

    #[test]
    fn contradictions_and_unknown_fields_are_errors() {
        let v = verdict(r#"process.name == "a.exe" AND process.name == "b.exe""#);
        assert!(
            v.reasons.iter().any(|r| r.contains("can never hold")),
            "{:?}",
            v.reasons
        );
        let v = verdict(r#"host.name == "a" AND host.name != "A""#);
        assert!(
            v.reasons.iter().any(|r| r.contains("can never hold")),
            "{:?}",
            v.reasons
        );
        let v = verdict(r#"proces.name == "a.exe""#);
        assert_eq!(v.level, Level::Error);
        assert!(v.reasons[0].contains("unknown field proces.name"));
        let v = verdict(r#"process.name == "a.exe" AND"#);
        assert!(v.reasons[0].contains("does not parse: column"));
    }

    #[test]
    fn attacker_controlled_keys_and_implausible_parents_warn() {
        let v = verdict(
            r#"process.name == "NetSupportManager.exe" AND process.parent.name == "schtasks.exe" AND process.user == "Maintenance_User""#,
        );
        assert_eq!(v.level, Level::Warning);
        assert!(v.reasons.iter().any(|r| r.contains("attacker controls")));
        assert!(v.reasons.iter().any(|r| r.contains("svchost.exe")));
    }

    #[test]
    fn a_scenario_for_no_hunt_warns_and_a_good_one_is_ok() {
        let v = verdict(r#"file.hash.sha256 == "abc""#);
        assert!(
            v.reasons.iter().any(|r| r.contains("applies to no hunt")),
            "{:?}",
            v.reasons
        );
        let v = verdict(r#"host.name == "build-01" AND process.name == "NetSupportManager.exe""#);
        assert_eq!(v.level, Level::Ok, "{:?}", v.reasons);
    }
}
