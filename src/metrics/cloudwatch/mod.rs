//! CloudWatch-style metrics and alarms (being split into periods and alarms).

mod alarm;

pub use alarm::*;
