//! `[region]`: the availability zones a scenario places its instances in, and the network
//! latency between them.
//!
//! ```toml
//! [region]
//! azs = ["a", "b", "c"]                              # availability zones, by name
//! latency = { hop = "100us", cross_az = "400us" }    # optional; defaults from models/network.toml
//! ```
//!
//! # What it follows
//! A region has several availability zones (AZs), connected by low-latency links; a hop that
//! crosses AZs takes longer than one inside an AZ (AWS quotes single-digit milliseconds between
//! AZs; see `models/network.toml` for the figures and which of them are assumptions). EC2
//! instances live in one AZ each (`ec2_fleet` and `asg` take `azs = [...]`); a load balancer
//! has a node in each AZ of its targets. Lambda functions, DynamoDB tables and SQS queues are
//! regional: they have no AZ and no AZ outage reaches them.
//!
//! # What it simplifies
//! Latency is charged on one kind of hop only: from the load balancer node that received a
//! request to the target it forwards to, and back. Every other message (workload to load
//! balancer, calls from a handler to a table or a function) is instantaneous, as without a
//! `[region]`. Without a `[region]` table there is one implicit AZ (index 0) and no latency at
//! all, so scenarios written before AZs existed run exactly as before.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use crate::engine::time::SimDuration;

/// The `[region]` table.
#[derive(Clone, Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionSpec {
    /// Availability zone names, in order (their index is what messages carry).
    #[schemars(with = "Option<Vec<String>>")]
    pub azs: Option<Spanned<Vec<Spanned<String>>>>,
    /// One-way network latency of a hop (defaults from `models/network.toml`).
    pub latency: Option<LatencySpec>,
}

/// `latency = { hop = "100us", cross_az = "400us" }`.
#[derive(Clone, Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LatencySpec {
    /// One-way latency of a hop inside one AZ.
    pub hop: Option<SimDuration>,
    /// Extra one-way latency of a hop between two AZs.
    pub cross_az: Option<SimDuration>,
}

/// Most availability zones a region may declare (indices travel as `u8`; real regions have
/// three to six).
pub const MAX_AZS: usize = 16;

/// The one-way latency of a hop between two AZs: `hop` inside one, plus `cross_az` between two.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct HopLatency {
    /// One-way latency of a hop inside an AZ.
    pub hop: SimDuration,
    /// Extra one-way latency across AZs.
    pub cross_az: SimDuration,
}

impl HopLatency {
    /// One-way latency of a hop from AZ `from` to AZ `to`.
    pub fn between(self, from: u8, to: u8) -> SimDuration {
        if from == to {
            self.hop
        } else {
            self.hop + self.cross_az
        }
    }
}

/// The region a run happens in: AZ names and hop latencies, resolved.
#[derive(Clone, Debug, Default)]
pub struct Region {
    /// AZ names in declaration order; empty when the scenario declares none (one implicit AZ).
    pub azs: Vec<String>,
    /// One-way latency of a hop inside an AZ.
    pub hop: SimDuration,
    /// Extra one-way latency across AZs.
    pub cross_az: SimDuration,
}

impl Region {
    /// The region of a scenario: no `[region]` means one implicit AZ and no latency.
    pub fn from_spec(spec: Option<&RegionSpec>) -> Region {
        let Some(spec) = spec else {
            return Region::default();
        };
        let defaults = crate::defaults::network();
        let latency = spec.latency.clone().unwrap_or_default();
        Region {
            azs: spec
                .azs
                .as_ref()
                .map(|a| a.get_ref().iter().map(|n| n.get_ref().clone()).collect())
                .unwrap_or_default(),
            hop: latency.hop.unwrap_or(defaults.hop),
            cross_az: latency.cross_az.unwrap_or(defaults.cross_az),
        }
    }

    /// True when the scenario declares AZs.
    pub fn has_azs(&self) -> bool {
        !self.azs.is_empty()
    }

    /// The index of AZ `name`.
    pub fn az_index(&self, name: &str) -> Option<u8> {
        self.azs.iter().position(|a| a == name).map(|i| i as u8)
    }

    /// The name of AZ `index` (`"-"` for the implicit one).
    pub fn az_name(&self, index: u8) -> &str {
        self.azs.get(index as usize).map_or("-", String::as_str)
    }

    /// The region's hop latencies.
    pub fn hops(&self) -> HopLatency {
        HopLatency {
            hop: self.hop,
            cross_az: self.cross_az,
        }
    }

    /// One-way latency of a hop from AZ `from` to AZ `to`.
    pub fn latency(&self, from: u8, to: u8) -> SimDuration {
        self.hops().between(from, to)
    }

    /// Resolves a component's `azs` list to indices: every AZ of the region when the component
    /// gives none, or the one implicit AZ when the region declares none.
    pub fn placement(&self, azs: Option<&Spanned<Vec<Spanned<String>>>>) -> Vec<u8> {
        match azs {
            Some(list) if !list.get_ref().is_empty() => list
                .get_ref()
                .iter()
                .map(|n| self.az_index(n.get_ref()).unwrap_or(0))
                .collect(),
            _ if self.has_azs() => (0..self.azs.len() as u8).collect(),
            _ => vec![0],
        }
    }
}

/// Problems with the `[region]` table itself: `(message, span)`.
pub fn region_issues(spec: &RegionSpec) -> Vec<(String, Range<usize>)> {
    let mut out = Vec::new();
    let Some(azs) = &spec.azs else {
        return out;
    };
    if azs.get_ref().is_empty() {
        out.push((
            "`azs` must name at least one availability zone, e.g. [\"a\", \"b\"]".into(),
            azs.span(),
        ));
    }
    if azs.get_ref().len() > MAX_AZS {
        out.push((
            format!(
                "a region has at most {MAX_AZS} availability zones here, found {}",
                azs.get_ref().len()
            ),
            azs.span(),
        ));
    }
    for (i, name) in azs.get_ref().iter().enumerate() {
        if name.get_ref().trim().is_empty() {
            out.push((
                "an availability zone name must not be empty".into(),
                name.span(),
            ));
        } else if azs.get_ref()[..i]
            .iter()
            .any(|n| n.get_ref() == name.get_ref())
        {
            out.push((
                format!(
                    "the availability zone `{}` is listed twice; names must be unique",
                    name.get_ref()
                ),
                name.span(),
            ));
        }
    }
    out
}

/// Problems with a component's `azs` list against the region: `(message, span)`.
pub fn placement_issues(
    region: Option<&RegionSpec>,
    azs: Option<&Spanned<Vec<Spanned<String>>>>,
) -> Vec<(String, Range<usize>)> {
    let mut out = Vec::new();
    let Some(list) = azs else {
        return out;
    };
    let declared: Vec<&str> = region
        .and_then(|r| r.azs.as_ref())
        .map(|a| a.get_ref().iter().map(|n| n.get_ref().as_str()).collect())
        .unwrap_or_default();
    if declared.is_empty() {
        out.push((
            "`azs` places instances in availability zones, but the scenario declares none: add \
             [region] with azs = [...]"
                .into(),
            list.span(),
        ));
        return out;
    }
    if list.get_ref().is_empty() {
        out.push((
            "`azs` must name at least one availability zone".into(),
            list.span(),
        ));
    }
    for name in list.get_ref() {
        if !declared.contains(&name.get_ref().as_str()) {
            out.push((
                format!(
                    "unknown availability zone `{}`; the region declares {}{}",
                    name.get_ref(),
                    declared.join(", "),
                    crate::units::did_you_mean(name.get_ref(), &declared)
                ),
                name.span(),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_region_is_one_zone_without_latency() {
        let r = Region::from_spec(None);
        assert!(!r.has_azs());
        assert_eq!(r.placement(None), vec![0]);
        assert_eq!(r.latency(0, 0), SimDuration::ZERO);
    }

    #[test]
    fn a_region_takes_latency_defaults_from_the_model_file() {
        let spec: RegionSpec = toml::from_str("azs = [\"a\", \"b\"]").unwrap();
        let r = Region::from_spec(Some(&spec));
        assert_eq!(r.placement(None), vec![0, 1]);
        assert_eq!(r.latency(0, 0), SimDuration::from_micros(100));
        assert_eq!(r.latency(0, 1), SimDuration::from_micros(500));
    }
}
