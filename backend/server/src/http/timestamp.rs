//! Timestamps in response bodies, written as one string.
//!
//! chrono's own `Serialize` goes through `collect_str`, which gives serde_json the text one
//! character at a time, each checked for escaping on its own: about 2,000 instructions per
//! timestamp, a twentieth of a cached `GET /api/files/{id}`; its `to_rfc3339_opts` still costs
//! about 1,000 through `format!`'s machinery. These write the same text (RFC 3339, fractional
//! seconds only as far as needed, `Z` for UTC) digit by digit into one buffer for the years
//! 0 to 9999, and leave the rest (and leap seconds) to chrono. The tests hold the text to
//! chrono's over 160 years, to the nanosecond.

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
use serde::Serializer;

/// `#[serde(serialize_with = "timestamp::rfc3339")]` for a `DateTime<Utc>`.
pub fn rfc3339<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    let mut buffer = [0; 32];
    match text(at, &mut buffer) {
        Some(text) => serializer.serialize_str(text),
        None => serializer.serialize_str(&at.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
    }
}

/// The text chrono's `to_rfc3339_opts(SecondsFormat::AutoSi, true)` writes for `at`, written
/// into `buffer`; `None` for what is left to chrono: a year beyond four digits (it takes a
/// sign) or a leap second (chrono's nanosecond overflow).
fn text<'b>(at: &DateTime<Utc>, buffer: &'b mut [u8; 32]) -> Option<&'b str> {
    // One conversion: `DateTime`'s own accessors each work out the local time again.
    let (date, time) = (at.date_naive(), at.time());
    let year = u32::try_from(date.year()).ok().filter(|y| *y <= 9999)?;
    let nanos = Some(time.nanosecond()).filter(|n| *n < 1_000_000_000)?;
    let fraction = if nanos == 0 {
        None
    } else if nanos % 1_000_000 == 0 {
        Some((nanos / 1_000_000, 3))
    } else if nanos % 1_000 == 0 {
        Some((nanos / 1_000, 6))
    } else {
        Some((nanos, 9))
    };
    let mut out = Writer { buffer, len: 0 };
    out.digits(year, 4);
    out.byte(b'-');
    out.digits(date.month(), 2);
    out.byte(b'-');
    out.digits(date.day(), 2);
    out.byte(b'T');
    out.digits(time.hour(), 2);
    out.byte(b':');
    out.digits(time.minute(), 2);
    out.byte(b':');
    out.digits(time.second(), 2);
    if let Some((value, width)) = fraction {
        out.byte(b'.');
        out.digits(value, width);
    }
    out.byte(b'Z');
    let Writer { buffer, len } = out;
    std::str::from_utf8(&buffer[..len]).ok()
}

/// Bytes written one after another into a buffer long enough for any text of [`text`] (30).
struct Writer<'b> {
    buffer: &'b mut [u8; 32],
    len: usize,
}

impl Writer<'_> {
    fn byte(&mut self, byte: u8) {
        self.buffer[self.len] = byte;
        self.len += 1;
    }

    /// `value` in decimal, zero-padded to `width` digits (it has at most that many).
    fn digits(&mut self, value: u32, width: u32) {
        for place in (0..width).rev() {
            let digit = value / 10u32.pow(place) % 10;
            self.byte(b'0' + digit as u8);
        }
    }
}

/// [`rfc3339`] for an `Option<DateTime<Utc>>`: `null` when absent.
pub fn rfc3339_opt<S: Serializer>(
    at: &Option<DateTime<Utc>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => rfc3339(at, serializer),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde::Serialize;

    use super::*;

    #[derive(Serialize)]
    struct Ours {
        #[serde(serialize_with = "rfc3339")]
        at: DateTime<Utc>,
        #[serde(serialize_with = "rfc3339_opt")]
        maybe: Option<DateTime<Utc>>,
    }

    #[derive(Serialize)]
    struct Chronos {
        at: DateTime<Utc>,
        maybe: Option<DateTime<Utc>>,
    }

    #[test]
    fn years_of_other_widths_and_leap_seconds_are_chronos_too() {
        let far = [
            Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).single(),
            Utc.with_ymd_and_hms(999, 12, 31, 23, 59, 59).single(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).single(),
            Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).single(),
            Utc.with_ymd_and_hms(-5, 3, 1, 12, 0, 0).single(),
        ];
        for at in far.into_iter().flatten() {
            let at = at + chrono::Duration::milliseconds(250);
            let ours = serde_json::to_string(&Ours { at, maybe: None });
            let chronos = serde_json::to_string(&Chronos { at, maybe: None });
            assert_eq!(ours.ok(), chronos.ok(), "at {at:?}");
        }
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|d| d.and_hms_nano_opt(23, 59, 59, 1_500_000_000))
            .map(|n| n.and_utc());
        let Some(leap) = leap else {
            panic!("a valid leap second")
        };
        assert_eq!(text(&leap, &mut [0; 32]), None);
        let ours = serde_json::to_string(&Ours {
            at: leap,
            maybe: None,
        });
        assert_eq!(
            ours.ok().as_deref(),
            Some(r#"{"at":"2016-12-31T23:59:60.500Z","maybe":null}"#)
        );
    }

    #[test]
    fn the_text_is_chronos_own_to_the_nanosecond() {
        // A day every 1,000 hours and some minutes from 1970 to 2130: every month, leap
        // years and century years among them.
        let start = Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).single();
        let Some(start) = start else {
            panic!("a valid date")
        };
        for step in 0..1_400 {
            let base = start + chrono::Duration::minutes(step * 60_017);
            same_text_around(base);
        }
        let day = Utc.with_ymd_and_hms(2000, 2, 29, 23, 59, 59).single();
        same_text_around(day.unwrap_or(start));
    }

    fn same_text_around(base: DateTime<Utc>) {
        for nanos in [
            0,
            1,
            120_000_000,
            123_000_000,
            123_456_000,
            123_456_789,
            999_999_999,
        ] {
            let at = base + chrono::Duration::nanoseconds(nanos);
            for maybe in [None, Some(at), Some(base)] {
                let ours = serde_json::to_string(&Ours { at, maybe });
                let chronos = serde_json::to_string(&Chronos { at, maybe });
                assert_eq!(ours.ok(), chronos.ok(), "at {at:?}");
            }
        }
    }
}
