//! Calendar functions: the start and end of days, weeks, months and years (with Kusto's
//! offset argument), parts of a date (day of year, ISO week, `datetime_part`),
//! `make_timespan`, `bin_at`, and the custom formats of `format_datetime` and
//! `format_timespan`.

use crate::time::{civil_from_days, ticks_from_parts, TICKS_PER_DAY, TICKS_PER_SEC};
use crate::value::{Type, Value};

/// 0001-01-01T00:00:00 and 9999-12-31T23:59:59.9999999, in ticks from the Unix epoch: the
/// range of Kusto's datetime. A result outside it is null.
pub const MIN_DATETIME: i64 = -719_162 * TICKS_PER_DAY;
pub const MAX_DATETIME: i64 = 2_932_897 * TICKS_PER_DAY - 1;

/// A datetime value, or null outside Kusto's range.
pub fn datetime(t: i64) -> Value {
    if (MIN_DATETIME..=MAX_DATETIME).contains(&t) {
        Value::DateTime(t)
    } else {
        Value::Null
    }
}

fn ticks(v: Option<&Value>) -> Option<i64> {
    match v?.scalar().convert(Type::DateTime) {
        Value::DateTime(t) => Some(t),
        _ => None,
    }
}

fn long(v: Option<&Value>) -> Option<i64> {
    v?.scalar().as_i64()
}

fn real(v: Option<&Value>) -> Option<f64> {
    v?.scalar().as_f64()
}

/// The calendar functions by (lower-case) name: `None` for a name that is not one.
pub fn call(name: &str, v: &[Value]) -> Option<Value> {
    let t = || ticks(v.first());
    Some(match name {
        "startofday" | "startofweek" | "startofmonth" | "startofyear" | "endofday"
        | "endofweek" | "endofmonth" | "endofyear" => {
            let (Some(t), offset) = (t(), v.get(1)) else {
                return Some(Value::Null);
            };
            let offset = match offset {
                None => 0,
                Some(o) => match long(Some(o)) {
                    Some(o) => o,
                    None => return Some(Value::Null),
                },
            };
            let (end, unit) = name.split_at(if name.starts_with("start") { 7 } else { 5 });
            period_bound(t, unit, offset, end == "endof").map_or(Value::Null, datetime)
        }
        // The part functions, each one `datetime_part`.
        "dayofyear" | "monthofyear" | "getmonth" | "week_of_year" | "getyear" | "dayofmonth"
        | "hourofday" => {
            let part = match name {
                "monthofyear" | "getmonth" => "month",
                "getyear" => "year",
                "dayofmonth" => "day",
                "hourofday" => "hour",
                other => other,
            };
            t().and_then(|t| datetime_part(part, t))
                .map_or(Value::Null, Value::Long)
        }
        "datetime_part" => {
            let part = v.first()?.to_kusto_string().to_ascii_lowercase();
            match ticks(v.get(1)) {
                Some(t) => datetime_part(&part, t).map_or(Value::Null, Value::Long),
                None => Value::Null,
            }
        }
        "make_timespan" => make_timespan(v),
        "bin_at" => match (
            v.first().map(Value::scalar),
            v.get(1).map(Value::scalar),
            v.get(2),
        ) {
            (Some(x), Some(size), Some(at)) => bin_at(&x, &size, &at.scalar()),
            _ => Value::Null,
        },
        "format_datetime" => match (t(), v.get(1)) {
            (Some(t), Some(f)) => Value::str(&format_datetime(t, &f.to_kusto_string())),
            _ => Value::str(""),
        },
        "format_timespan" => {
            let span = match v.first().map(|x| x.scalar().convert(Type::Timespan)) {
                Some(Value::Timespan(s)) => s,
                _ => return Some(Value::str("")),
            };
            match v.get(1) {
                Some(f) => Value::str(&format_timespan(span, &f.to_kusto_string())),
                None => Value::str(""),
            }
        }
        _ => return None,
    })
}

/// The first (or, for `end`, last) tick of the day, week, month or year holding `t`,
/// moved by `offset` such periods. Weeks start on Sunday.
fn period_bound(t: i64, unit: &str, offset: i64, end: bool) -> Option<i64> {
    // Past about 30,000 years every result is out of range anyway.
    if offset.unsigned_abs() > 10_000_000 {
        return None;
    }
    let day = t.div_euclid(TICKS_PER_DAY);
    let start_day = |first: i64, next: i64| -> i64 {
        if end {
            next * TICKS_PER_DAY - 1
        } else {
            first * TICKS_PER_DAY
        }
    };
    let (y, m, _) = civil_from_days(day);
    Some(match unit {
        "day" => start_day(day + offset, day + offset + 1),
        "week" => {
            let sunday = day - (day + 4).rem_euclid(7) + 7 * offset;
            start_day(sunday, sunday + 7)
        }
        "month" => {
            let months = y.checked_mul(12)? + (m - 1) + offset;
            let (y, m) = (months.div_euclid(12), months.rem_euclid(12) + 1);
            let first = ticks_from_parts(y, m, 1, 0, 0, 0, 0) / TICKS_PER_DAY;
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            start_day(
                first,
                ticks_from_parts(ny, nm, 1, 0, 0, 0, 0) / TICKS_PER_DAY,
            )
        }
        "year" => {
            let y = y.checked_add(offset)?;
            if !(0..=10_000).contains(&y) {
                return None;
            }
            start_day(
                ticks_from_parts(y, 1, 1, 0, 0, 0, 0) / TICKS_PER_DAY,
                ticks_from_parts(y + 1, 1, 1, 0, 0, 0, 0) / TICKS_PER_DAY,
            )
        }
        _ => return None,
    })
}

/// The number of days in month `m` (1 to 12) of year `y`.
pub fn days_in_month(y: i64, m: i64) -> i64 {
    let next = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    (ticks_from_parts(next.0, next.1, 1, 0, 0, 0, 0) - ticks_from_parts(y, m, 1, 0, 0, 0, 0))
        / TICKS_PER_DAY
}

/// The ISO 8601 week number: weeks start on Monday, and week 1 holds the year's first
/// Thursday.
fn iso_week(t: i64) -> i64 {
    let day = t.div_euclid(TICKS_PER_DAY);
    // Monday = 0 (1970-01-01 was a Thursday).
    let weekday = (day + 3).rem_euclid(7);
    let thursday = day - weekday + 3;
    let (y, _, _) = civil_from_days(thursday);
    let jan1 = ticks_from_parts(y, 1, 1, 0, 0, 0, 0) / TICKS_PER_DAY;
    (thursday - jan1) / 7 + 1
}

fn datetime_part(part: &str, t: i64) -> Option<i64> {
    let day = t.div_euclid(TICKS_PER_DAY);
    let (y, m, d) = civil_from_days(day);
    let in_day = t.rem_euclid(TICKS_PER_DAY);
    Some(match part {
        "year" => y,
        "quarter" => (m - 1) / 3 + 1,
        "month" => m,
        "week_of_year" | "week" => iso_week(t),
        "day" => d,
        "dayofyear" => day - ticks_from_parts(y, 1, 1, 0, 0, 0, 0) / TICKS_PER_DAY + 1,
        "hour" => in_day / (3600 * TICKS_PER_SEC),
        "minute" => in_day / (60 * TICKS_PER_SEC) % 60,
        "second" => in_day / TICKS_PER_SEC % 60,
        "millisecond" => in_day % TICKS_PER_SEC / 10_000,
        "microsecond" => in_day % TICKS_PER_SEC / 10,
        "nanosecond" => in_day % TICKS_PER_SEC * 100,
        _ => return None,
    })
}

/// `make_timespan(hour, minute)`, `(hour, minute, second)` or `(day, hour, minute,
/// second)`: null when a part is negative or past its range (24 hours, 60 minutes, 60
/// seconds).
fn make_timespan(v: &[Value]) -> Value {
    let (d, rest) = if v.len() == 4 {
        (long(v.first()), &v[1..])
    } else {
        (Some(0), v)
    };
    let (Some(d), Some(h), Some(mi)) = (d, long(rest.first()), long(rest.get(1))) else {
        return Value::Null;
    };
    let s = if rest.len() > 2 {
        match real(rest.get(2)) {
            Some(s) => s,
            None => return Value::Null,
        }
    } else {
        0.0
    };
    if d < 0 || !(0..24).contains(&h) || !(0..60).contains(&mi) || !(0.0..60.0).contains(&s) {
        return Value::Null;
    }
    let whole = ((d * 24 + h) * 60 + mi) * 60 * TICKS_PER_SEC;
    Value::Timespan(whole + (s * TICKS_PER_SEC as f64).round() as i64)
}

/// `bin_at(value, size, at)`: bins of `size` aligned so that one starts at `at`.
fn bin_at(x: &Value, size: &Value, at: &Value) -> Value {
    match (x, size, at) {
        (Value::DateTime(t), Value::Timespan(s), Value::DateTime(a)) if *s > 0 => {
            datetime(a + (t - a).div_euclid(*s) * s)
        }
        (Value::Timespan(t), Value::Timespan(s), Value::Timespan(a)) if *s > 0 => {
            Value::Timespan(a + (t - a).div_euclid(*s) * s)
        }
        (Value::Long(t), Value::Long(s), Value::Long(a)) if *s > 0 => {
            Value::Long(a + (t - a).div_euclid(*s) * s)
        }
        _ => match (x.as_f64(), size.as_f64(), at.as_f64()) {
            (Some(t), Some(s), Some(a)) if s > 0.0 => Value::Real(a + ((t - a) / s).floor() * s),
            _ => Value::Null,
        },
    }
}

/// The runs of one repeated letter in a format, and the literal text between them.
fn runs(fmt: &str) -> Vec<(char, usize)> {
    let mut out: Vec<(char, usize)> = Vec::new();
    for c in fmt.chars() {
        match out.last_mut() {
            Some((p, n)) if *p == c => *n += 1,
            _ => out.push((c, 1)),
        }
    }
    out
}

/// The first `n` of the seven digits of a fraction of a second; `F` drops trailing zeros.
fn fraction(ticks: i64, n: usize, trim: bool) -> String {
    let mut s = format!("{:07}", ticks.rem_euclid(TICKS_PER_SEC));
    s.truncate(n.min(7));
    if trim {
        s.truncate(s.trim_end_matches('0').len());
    }
    s
}

/// `format_datetime`'s custom format: `y`/`yy` (two digits), `yyyy`, `M`/`MM`, `d`/`dd`,
/// `h`/`hh` (12-hour), `H`/`HH`, `m`/`mm`, `s`/`ss`, `f`... and `F`... (fractions), `tt`
/// (AM/PM); other characters are copied. Longer runs of a two-letter specifier repeat it
/// (`dddd` is `dd` twice), as Kusto does.
pub fn format_datetime(t: i64, fmt: &str) -> String {
    let day = t.div_euclid(TICKS_PER_DAY);
    let (y, mo, d) = civil_from_days(day);
    let in_day = t.rem_euclid(TICKS_PER_DAY);
    let h = in_day / (3600 * TICKS_PER_SEC);
    let mi = in_day / (60 * TICKS_PER_SEC) % 60;
    let s = in_day / TICKS_PER_SEC % 60;
    let mut out = String::new();
    let pair = |out: &mut String, value: i64, n: usize| {
        for _ in 0..n / 2 {
            out.push_str(&format!("{value:02}"));
        }
        if n % 2 == 1 {
            out.push_str(&value.to_string());
        }
    };
    for (c, n) in runs(fmt) {
        match c {
            'y' if n >= 3 => out.push_str(&format!("{y:0n$}")),
            'y' => out.push_str(&format!("{:02}", y % 100)),
            'M' => pair(&mut out, mo, n),
            'd' => pair(&mut out, d, n),
            'H' => pair(&mut out, h, n),
            'h' => pair(&mut out, if h % 12 == 0 { 12 } else { h % 12 }, n),
            'm' => pair(&mut out, mi, n),
            's' => pair(&mut out, s, n),
            'f' | 'F' => out.push_str(&fraction(t, n, c == 'F')),
            't' => {
                let ampm = if h < 12 { "AM" } else { "PM" };
                out.push_str(if n == 1 { &ampm[..1] } else { ampm });
            }
            other => out.extend(std::iter::repeat_n(other, n)),
        }
    }
    out
}

/// `format_timespan`'s custom format: `d`... (days, padded to the run's length), `h`/`hh`
/// and `H`/`HH` (hours of the day), `m`/`mm`, `s`/`ss`, `f`... and `F`...; a negative span
/// is written with a leading `-`.
pub fn format_timespan(span: i64, fmt: &str) -> String {
    let a = span.unsigned_abs() as i64;
    let days = a / TICKS_PER_DAY;
    let in_day = a % TICKS_PER_DAY;
    let h = in_day / (3600 * TICKS_PER_SEC);
    let mi = in_day / (60 * TICKS_PER_SEC) % 60;
    let s = in_day / TICKS_PER_SEC % 60;
    let mut out = String::new();
    if span < 0 {
        out.push('-');
    }
    let pad = |out: &mut String, value: i64, n: usize| out.push_str(&format!("{value:0n$}"));
    for (c, n) in runs(fmt) {
        match c {
            'd' => pad(&mut out, days, n),
            'h' | 'H' => pad(&mut out, h, n.min(2)),
            'm' => pad(&mut out, mi, n.min(2)),
            's' => pad(&mut out, s, n.min(2)),
            'f' | 'F' => out.push_str(&fraction(a, n, c == 'F')),
            other => out.extend(std::iter::repeat_n(other, n)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_datetime;

    fn at(s: &str) -> i64 {
        parse_datetime(s, None).unwrap()
    }

    #[test]
    fn formats_datetimes_as_kusto_does() {
        let t = at("2020-06-15 13:45:09.1234567");
        assert_eq!(
            format_datetime(t, "yyyy-MM-dd HH:mm:ss.fff"),
            "2020-06-15 13:45:09.123"
        );
        assert_eq!(
            format_datetime(t, "M/d/yy h:mm:ss tt"),
            "6/15/20 1:45:09 PM"
        );
        assert_eq!(
            format_datetime(at("2007-03-09 05:04:03"), "dddd, MMMM d"),
            "0909, 0303 9"
        );
        assert_eq!(format_datetime(at("2020-06-15 13:45:09"), "FFFFFFF"), "");
        assert_eq!(
            format_datetime(at("2020-06-15 00:30:00"), "hh:mm tt"),
            "12:30 AM"
        );
    }

    #[test]
    fn formats_timespans_as_kusto_does() {
        let span = |d: i64, h: i64, m: i64, s: i64, f: i64| {
            (((d * 24 + h) * 60 + m) * 60 + s) * TICKS_PER_SEC + f
        };
        assert_eq!(
            format_timespan(span(1, 2, 3, 4, 5_670_000), "dd.hh:mm:ss.fffffff"),
            "01.02:03:04.5670000"
        );
        assert_eq!(
            format_timespan(-span(1, 2, 30, 0, 0), "d.hh:mm:ss"),
            "-1.02:30:00"
        );
        assert_eq!(format_timespan(span(1, 0, 0, 0, 0), "dddd"), "0001");
        assert_eq!(format_timespan(span(2, 5, 0, 0, 0), "d.h"), "2.5");
    }

    #[test]
    fn bounds_periods_with_offsets() {
        let t = at("2020-06-15 13:45:00");
        let b = |unit, off, end| {
            period_bound(t, unit, off, end)
                .map(|x| format_datetime(x, "yyyy-MM-dd HH:mm:ss.fffffff"))
        };
        assert_eq!(b("week", 2, true).unwrap(), "2020-07-04 23:59:59.9999999");
        assert_eq!(b("day", -3, false).unwrap(), "2020-06-12 00:00:00.0000000");
        assert_eq!(b("year", -1, true).unwrap(), "2019-12-31 23:59:59.9999999");
        let jan31 = at("2020-01-31");
        assert_eq!(
            period_bound(jan31, "month", 13, true)
                .map(|x| format_datetime(x, "yyyy-MM-dd"))
                .unwrap(),
            "2021-02-28"
        );
    }

    #[test]
    fn numbers_iso_weeks() {
        for (d, w) in [
            ("2020-02-29", 9),
            ("2021-02-28", 8),
            ("2000-01-01", 52),
            ("1999-12-31", 52),
            ("0001-01-01", 1),
            ("9999-12-31", 52),
        ] {
            assert_eq!(iso_week(at(d)), w, "{d}");
        }
    }
}
