//! Times and durations as operators type them.

use crate::core::key_record::UnixSeconds;
use std::time::{Duration, UNIX_EPOCH};

/// A point in time: RFC 3339 (`2027-01-31T12:00:00Z`), a date (`2027-01-31`, midnight UTC),
/// Unix seconds (`1801234567`), or a duration from now with a leading `+` (`+30days`, `+12h`).
pub fn parse_when(raw: &str, now: UnixSeconds) -> Result<UnixSeconds, String> {
    let value = raw.trim();
    let invalid = || {
        format!(
            "{value:?} is not a time: use 2027-01-31, 2027-01-31T12:00:00Z, +30days or Unix seconds"
        )
    };
    if let Some(offset) = value.strip_prefix('+') {
        let duration = parse_duration(offset)?;
        return Ok(now.saturating_add(duration.as_secs() as UnixSeconds));
    }
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse().map_err(|_| invalid());
    }
    let rfc3339 = if value.len() == 10 {
        format!("{value}T00:00:00Z")
    } else {
        value.to_owned()
    };
    let time = humantime::parse_rfc3339(&rfc3339).map_err(|_| invalid())?;
    time.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as UnixSeconds)
        .map_err(|_| invalid())
}

/// A duration: `90s`, `30m`, `12h`, `7days`, `1h 30m`.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    humantime::parse_duration(raw.trim())
        .map_err(|_| format!("{raw:?} is not a duration such as 30m, 12h or 7days"))
}

/// RFC 3339 in UTC, to the second.
pub fn format_time(unix: UnixSeconds) -> String {
    let Ok(seconds) = u64::try_from(unix) else {
        return unix.to_string();
    };
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(seconds)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixSeconds = 1_800_000_000;

    #[test]
    fn every_documented_form_parses() {
        assert_eq!(parse_when("2027-01-31", NOW), Ok(1_801_353_600));
        assert_eq!(parse_when("2027-01-31T12:00:00Z", NOW), Ok(1_801_396_800));
        assert_eq!(parse_when("1801234567", NOW), Ok(1_801_234_567));
        assert_eq!(parse_when("+30days", NOW), Ok(NOW + 30 * 86_400));
        assert_eq!(parse_when("+1h 30m", NOW), Ok(NOW + 5_400));
    }

    #[test]
    fn other_text_is_refused_with_the_forms_named() {
        for bad in ["tomorrow", "2027-13-01", "+soon", "", "-5"] {
            let error = parse_when(bad, NOW).unwrap_err();
            assert!(error.contains("not a"), "{bad}: {error}");
        }
    }

    #[test]
    fn times_format_as_rfc3339() {
        assert_eq!(format_time(1_801_396_800), "2027-01-31T12:00:00Z");
    }
}
