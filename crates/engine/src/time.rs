//! Kusto's datetime and timespan: 100-nanosecond ticks, here counted from the Unix epoch.
//! Parsing of the literal forms Kusto accepts, and Kusto's text formats.

pub const TICKS_PER_SEC: i64 = 10_000_000;
pub const TICKS_PER_DAY: i64 = 86_400 * TICKS_PER_SEC;

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

pub fn ticks_from_parts(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64, frac_ticks: i64) -> i64 {
    days_from_civil(y, mo, d) * TICKS_PER_DAY
        + (h * 3600 + mi * 60 + s) * TICKS_PER_SEC
        + frac_ticks
}

/// Parses the fractional part `.fffffff` (any number of digits) as ticks.
fn frac_ticks(digits: &str) -> Option<i64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut s = digits.to_string();
    s.truncate(7);
    while s.len() < 7 {
        s.push('0');
    }
    s.parse().ok()
}

/// Parses a datetime in ISO 8601 and the other forms Kusto takes (`2020-01-01`,
/// `2020-01-01 10:00`, `2020-01-01T10:00:00.123Z`, offsets, RFC 1123 such as
/// `Sat, 01 Jan 2000 10:00:00 GMT`). `day_first` decides `dd/mm/yyyy` against `mm/dd/yyyy`.
pub fn parse_datetime(text: &str, day_first: Option<bool>) -> Option<i64> {
    let t = text.trim();
    if let Some(v) = parse_iso(t) {
        return Some(v);
    }
    if let Some(v) = parse_slashed(t, day_first.unwrap_or(false)) {
        return Some(v);
    }
    parse_rfc1123(t)
}

fn num(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_iso(t: &str) -> Option<i64> {
    let b = t.as_bytes();
    if b.len() < 8 {
        return None;
    }
    let (date, rest) = match t.find(['T', ' ', 't']) {
        Some(i) => (&t[..i], t[i + 1..].trim_start()),
        None => (t, ""),
    };
    let mut parts = date.split('-');
    let y = num(parts.next()?)?;
    let m = num(parts.next()?)?;
    let d = num(parts.next()?)?;
    if parts.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) || y > 9999 {
        return None;
    }
    if d > days_in_month(y, m) {
        return None;
    }
    let (time, zone) = split_zone(rest);
    let (h, mi, s, f) = parse_clock(time)?;
    let base = ticks_from_parts(y, m, d, h, mi, s, f);
    Some(base - zone?)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Splits a trailing zone (`Z`, `+02:00`, ` GMT`) off a clock; the zone as an offset in ticks.
fn split_zone(t: &str) -> (&str, Option<i64>) {
    let t = t.trim();
    if let Some(c) = t.strip_suffix(['Z', 'z']) {
        return (c, Some(0));
    }
    if let Some(c) = t.strip_suffix("GMT").or_else(|| t.strip_suffix("UTC")) {
        return (c.trim_end(), Some(0));
    }
    if t.len() >= 6 {
        let (c, z) = t.split_at(t.len() - 6);
        let zb = z.as_bytes();
        if (zb[0] == b'+' || zb[0] == b'-') && zb[3] == b':' && c.contains(':') {
            if let (Some(h), Some(m)) = (num(&z[1..3]), num(&z[4..6])) {
                let off = (h * 3600 + m * 60) * TICKS_PER_SEC;
                return (c, Some(if zb[0] == b'-' { -off } else { off }));
            }
        }
    }
    (t, Some(0))
}

/// `hh:mm[:ss[.fffffff]]`, or empty for midnight.
fn parse_clock(t: &str) -> Option<(i64, i64, i64, i64)> {
    let t = t.trim();
    if t.is_empty() {
        return Some((0, 0, 0, 0));
    }
    let (hms, frac) = match t.split_once('.') {
        Some((a, b)) => (a, frac_ticks(b)?),
        None => (t, 0),
    };
    let mut p = hms.split(':');
    let h = num(p.next()?)?;
    let mi = num(p.next()?)?;
    let s = match p.next() {
        Some(s) => num(s)?,
        None => 0,
    };
    if p.next().is_some() || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    Some((h, mi, s, frac))
}

/// `26/03/2026, 15:18:18.790` (portal exports), `03/26/2026 3:18:18 PM`.
fn parse_slashed(t: &str, day_first: bool) -> Option<i64> {
    let (date, rest) = match t.find([',', ' ']) {
        Some(i) => (&t[..i], t[i + 1..].trim_start_matches([',', ' '])),
        None => (t, ""),
    };
    let mut p = date.split('/');
    let a = num(p.next()?)?;
    let b = num(p.next()?)?;
    let y = num(p.next()?)?;
    let (d, m) = if day_first { (a, b) } else { (b, a) };
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    let (clock, pm) = match rest.trim().rsplit_once(' ') {
        Some((c, ap)) if ap.eq_ignore_ascii_case("PM") => (c, Some(true)),
        Some((c, ap)) if ap.eq_ignore_ascii_case("AM") => (c, Some(false)),
        _ => (rest, None),
    };
    let (mut h, mi, s, f) = parse_clock(clock)?;
    match pm {
        Some(true) if h < 12 => h += 12,
        Some(false) if h == 12 => h = 0,
        _ => {}
    }
    Some(ticks_from_parts(y, m, d, h, mi, s, f))
}

fn parse_rfc1123(t: &str) -> Option<i64> {
    let t = t.split_once(", ").map_or(t, |(_, r)| r);
    let parts: Vec<&str> = t.split_whitespace().collect();
    if parts.len() < 3 {
        return None;
    }
    let d = num(parts[0])?;
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let m = MONTHS
        .iter()
        .position(|x| parts[1].to_ascii_lowercase().starts_with(x))? as i64
        + 1;
    let y = num(parts[2])?;
    let (h, mi, s, f) = parse_clock(parts.get(3).copied().unwrap_or(""))?;
    Some(ticks_from_parts(y, m, d, h, mi, s, f))
}

/// `2020-01-01T00:00:00.0000000Z`.
pub fn format_datetime(ticks: i64) -> String {
    let days = ticks.div_euclid(TICKS_PER_DAY);
    let rem = ticks.rem_euclid(TICKS_PER_DAY);
    let (y, m, d) = civil_from_days(days);
    let secs = rem / TICKS_PER_SEC;
    let frac = rem % TICKS_PER_SEC;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:07}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// `[-][d.]hh:mm:ss[.fffffff]`.
pub fn format_timespan(ticks: i64) -> String {
    let neg = ticks < 0;
    let t = ticks.unsigned_abs();
    let tps = TICKS_PER_SEC as u64;
    let days = t / (TICKS_PER_DAY as u64);
    let secs = t / tps % 86_400;
    let frac = t % tps;
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    if days > 0 {
        s.push_str(&format!("{days}."));
    }
    s.push_str(&format!(
        "{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    ));
    if frac > 0 {
        s.push_str(&format!(".{frac:07}"));
    }
    s
}

/// Parses a timespan literal (`2d`, `1.5h`, `30m`, `100ms`, `10microsecond`, `1tick`) or the
/// `[-][d.]hh:mm[:ss[.fffffff]]` form.
pub fn parse_timespan(text: &str) -> Option<i64> {
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t),
    };
    let v = if t.contains(':') {
        parse_clock_span(t)?
    } else {
        parse_unit_span(t)?
    };
    Some(if neg { -v } else { v })
}

fn parse_unit_span(t: &str) -> Option<i64> {
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: f64 = n.parse().ok()?;
    let per: f64 = match unit.to_ascii_lowercase().as_str() {
        "d" | "day" | "days" | "" => TICKS_PER_DAY as f64,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600.0 * TICKS_PER_SEC as f64,
        "m" | "min" | "minute" | "minutes" => 60.0 * TICKS_PER_SEC as f64,
        "s" | "sec" | "second" | "seconds" => TICKS_PER_SEC as f64,
        "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 10_000.0,
        "microsecond" | "microseconds" => 10.0,
        "nanosecond" | "nanoseconds" => 0.01,
        "tick" | "ticks" => 1.0,
        _ => return None,
    };
    Some((n * per).round() as i64)
}

fn parse_clock_span(t: &str) -> Option<i64> {
    let (days, clock) = match t.split_once(':') {
        Some((first, _)) if first.contains('.') => {
            let (d, rest) = t.split_once('.')?;
            (num(d)?, rest)
        }
        _ => (0, t),
    };
    let (hms, frac) = match clock.split_once('.') {
        Some((a, b)) => (a, frac_ticks(b)?),
        None => (clock, 0),
    };
    let mut p = hms.split(':');
    let h = num(p.next()?)?;
    let m = num(p.next()?)?;
    let s = match p.next() {
        Some(s) => num(s)?,
        None => 0,
    };
    Some(days * TICKS_PER_DAY + (h * 3600 + m * 60 + s) * TICKS_PER_SEC + frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_parse_and_format_as_kusto_does() {
        let t = parse_datetime("2020-01-01", None).unwrap();
        assert_eq!(format_datetime(t), "2020-01-01T00:00:00.0000000Z");
        let t = parse_datetime("2026-03-26T15:18:18.79+01:00", None).unwrap();
        assert_eq!(format_datetime(t), "2026-03-26T14:18:18.7900000Z");
        let dmy = parse_datetime("26/03/2026, 15:18:18.790", Some(true)).unwrap();
        assert_eq!(format_datetime(dmy), "2026-03-26T15:18:18.7900000Z");
        assert_eq!(parse_datetime("2020-02-30", None), None);
    }

    #[test]
    fn timespans_parse_and_format_as_kusto_does() {
        assert_eq!(format_timespan(parse_timespan("1d").unwrap()), "1.00:00:00");
        assert_eq!(format_timespan(parse_timespan("1.5h").unwrap()), "01:30:00");
        assert_eq!(
            format_timespan(parse_timespan("100ms").unwrap()),
            "00:00:00.1000000"
        );
        assert_eq!(
            format_timespan(parse_timespan("-1.02:03:04").unwrap()),
            "-1.02:03:04"
        );
        assert_eq!(parse_timespan("1tick"), Some(1));
        assert_eq!(parse_timespan("10microsecond"), Some(100));
    }
}
