//! `[[fault]]`: failures injected at given times (being split into specs, injection and impact).

mod spec;

pub use spec::*;
