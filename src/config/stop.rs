//! How long `stop` waits for a container to exit before SIGKILL (`--stop-timeout`):
//! a number of seconds, or (docker's negative value) for ever. Records keep docker's
//! integer, so records written when the field was an unsigned number still read.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopTimeout {
    /// A negative `--stop-timeout`: wait until the container exits, never SIGKILL.
    Never,
    Seconds(u64),
}

impl StopTimeout {
    /// docker's integer: negative waits for ever.
    pub fn from_secs(secs: i64) -> Self {
        u64::try_from(secs).map_or(StopTimeout::Never, StopTimeout::Seconds)
    }

    /// The integer docker shows (Config.StopTimeout): -1 for ever.
    pub fn as_secs(self) -> i64 {
        match self {
            StopTimeout::Never => -1,
            StopTimeout::Seconds(s) => i64::try_from(s).unwrap_or(i64::MAX),
        }
    }

    /// The wait before SIGKILL; `None` waits for ever.
    pub fn duration(self) -> Option<Duration> {
        match self {
            StopTimeout::Never => None,
            StopTimeout::Seconds(s) => Some(Duration::from_secs(s)),
        }
    }
}

impl Serialize for StopTimeout {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.as_secs())
    }
}

impl<'de> Deserialize<'de> for StopTimeout {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        i64::deserialize(d).map(StopTimeout::from_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_waits_for_ever_and_round_trips_as_minus_one() {
        assert_eq!(StopTimeout::from_secs(-1), StopTimeout::Never);
        assert_eq!(StopTimeout::from_secs(-5).duration(), None);
        assert_eq!(serde_json::to_string(&StopTimeout::Never).unwrap(), "-1");
        let back: StopTimeout = serde_json::from_str("-1").unwrap();
        assert_eq!(back, StopTimeout::Never);
    }

    #[test]
    fn records_with_unsigned_seconds_still_read() {
        let t: Option<StopTimeout> = serde_json::from_str("7").unwrap();
        assert_eq!(t, Some(StopTimeout::Seconds(7)));
        assert_eq!(t.unwrap().duration(), Some(Duration::from_secs(7)));
        let none: Option<StopTimeout> = serde_json::from_str("null").unwrap();
        assert_eq!(none, None);
    }
}
