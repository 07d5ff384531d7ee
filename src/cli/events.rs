//! `events`/`system events`: docker's flags, and the one step that turns them into the
//! typed query (`events::Follow`) with docker's messages for a bad filter or time.

use crate::events::{parse_time, EventFilter, Follow};
use clap::Args;

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Filter output based on conditions provided
    #[arg(short = 'f', long = "filter", value_name = "FILTER", value_parser = filter_shape)]
    pub filters: Vec<String>,
    /// Format output using a custom template: 'json' prints in JSON format, 'TEMPLATE' prints output using the given Go template
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Show all events created since timestamp
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Stream events until this timestamp
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
}

/// docker's CLI checks the shape of a filter when it reads the flag.
fn filter_shape(s: &str) -> Result<String, crate::events::FilterError> {
    match s.contains('=') {
        true => Ok(s.to_string()),
        false => Err(crate::events::FilterError::Format),
    }
}

/// A bad `--filter` key or `--since`/`--until` value, with docker's message.
#[derive(Debug, thiserror::Error)]
pub enum EventsArgsError {
    #[error(transparent)]
    Filter(#[from] crate::events::FilterError),
    #[error(transparent)]
    Time(#[from] crate::events::TimeError),
}

impl EventsArgs {
    /// The window and filter; relative times are counted back from `now_ns`.
    pub fn query(&self, now_ns: i128) -> Result<Follow, EventsArgsError> {
        let mut filter = EventFilter::default();
        for f in &self.filters {
            filter.add(f)?;
        }
        let time = |v: &Option<String>| v.as_deref().map(|s| parse_time(s, now_ns)).transpose();
        Ok(Follow {
            since: time(&self.since)?,
            until: time(&self.until)?,
            filter,
        })
    }
}
