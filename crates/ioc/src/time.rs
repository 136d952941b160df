//! Timestamps as feeds write them (`2026-07-24 13:50:06`, `... UTC`, ISO 8601 with `T`/`Z`,
//! fractions and offsets, bare dates, Unix seconds), held as UTC seconds.

use std::fmt;

/// A UTC instant with one-second precision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Parses the forms feeds use; `None` when the text is none of them.
    pub fn parse(text: &str) -> Option<Timestamp> {
        let t = text.trim();
        if t.is_empty() {
            return None;
        }
        if t.bytes().all(|b| b.is_ascii_digit()) && t.len() >= 9 {
            return t.parse().ok().map(Timestamp);
        }
        let t = t.strip_suffix(" UTC").unwrap_or(t);
        let b = t.as_bytes();
        if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let year: i64 = t.get(0..4)?.parse().ok()?;
        let month: u32 = t.get(5..7)?.parse().ok()?;
        let day: u32 = t.get(8..10)?.parse().ok()?;
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        let mut secs = days_from_civil(year, month, day) * 86_400;
        let rest = &t[10..];
        if rest.is_empty() {
            return Some(Timestamp(secs));
        }
        let rest = rest.strip_prefix(['T', ' '])?;
        let hms = rest.get(0..8)?;
        let hb = hms.as_bytes();
        if hb[2] != b':' || hb[5] != b':' {
            return None;
        }
        let h: i64 = hms[0..2].parse().ok()?;
        let m: i64 = hms[3..5].parse().ok()?;
        let s: i64 = hms[6..8].parse().ok()?;
        if h > 23 || m > 59 || s > 60 {
            return None;
        }
        secs += h * 3600 + m * 60 + s;
        let mut zone = &rest[8..];
        if let Some(frac) = zone.strip_prefix('.') {
            let digits = frac.bytes().take_while(|b| b.is_ascii_digit()).count();
            zone = &frac[digits..];
        }
        match zone {
            "" | "Z" | "z" => {}
            z if (z.starts_with('+') || z.starts_with('-')) && z.len() == 6 => {
                let sign = if z.starts_with('-') { -1 } else { 1 };
                let oh: i64 = z.get(1..3)?.parse().ok()?;
                let om: i64 = z.get(4..6)?.parse().ok()?;
                secs -= sign * (oh * 3600 + om * 60);
            }
            _ => return None,
        }
        Some(Timestamp(secs))
    }

    /// `YYYY-MM-DD`.
    pub fn date(self) -> String {
        let (y, m, d) = civil_from_days(self.0.div_euclid(86_400));
        format!("{y:04}-{m:02}-{d:02}")
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn iso(self) -> String {
        self.to_string()
    }

    /// Appends `YYYY-MM-DDTHH:MM:SSZ` to `out`, as [`Timestamp::iso`] writes it, without the
    /// formatting machinery: output of millions of indicators writes one a line.
    pub fn write_iso(self, out: &mut Vec<u8>) {
        let (y, m, d) = civil_from_days(self.0.div_euclid(86_400));
        if !(0..=9999).contains(&y) {
            out.extend_from_slice(self.iso().as_bytes());
            return;
        }
        let secs = self.0.rem_euclid(86_400);
        let two = |n: i64| [b'0' + (n / 10) as u8, b'0' + (n % 10) as u8];
        let [y1, y2] = two(y / 100);
        let [y3, y4] = two(y % 100);
        let [m1, m2] = two(i64::from(m));
        let [d1, d2] = two(i64::from(d));
        let [h1, h2] = two(secs / 3600);
        let [n1, n2] = two(secs / 60 % 60);
        let [s1, s2] = two(secs % 60);
        out.extend_from_slice(&[
            y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2, b'T', h1, h2, b':', n1, n2, b':', s1, s2,
            b'Z',
        ]);
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.rem_euclid(86_400);
        write!(
            f,
            "{}T{:02}:{:02}:{:02}Z",
            self.date(),
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_iso_writes_what_iso_does() {
        for t in [
            0,
            1,
            59,
            86_399,
            951_782_400,
            1_784_901_006,
            253_402_300_799,
            -1,
        ] {
            let t = Timestamp(t);
            let mut out = Vec::new();
            t.write_iso(&mut out);
            assert_eq!(String::from_utf8(out).unwrap(), t.iso());
        }
    }

    #[test]
    fn parses_feed_forms_to_one_instant() {
        let want = Timestamp::parse("2026-07-24 13:50:06").unwrap();
        for form in [
            "2026-07-24 13:50:06 UTC",
            "2026-07-24T13:50:06Z",
            "2026-07-24T13:50:06.000Z",
            "2026-07-24T15:50:06+02:00",
            "1784901006",
        ] {
            assert_eq!(Timestamp::parse(form), Some(want), "{form}");
        }
        assert_eq!(want.to_string(), "2026-07-24T13:50:06Z");
        assert_eq!(want.date(), "2026-07-24");
    }

    #[test]
    fn rejects_impossible_dates() {
        for bad in [
            "2026-02-30",
            "2026-13-01",
            "yesterday",
            "2026-07-24 25:00:00",
            "",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
        assert!(Timestamp::parse("2024-02-29").is_some());
    }
}
