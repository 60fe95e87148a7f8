//! What an instance group (`ec2_fleet`, `asg`) is billed: its `instance_type` from the price
//! list (`models/prices.toml`), which also gives its vCPUs, and how it is bought (`purchase`,
//! `discount`).
//!
//! Linux instances are billed per second with a minimum of 60 s each time one starts
//! (`minimum_billed`): [`InstanceRate::billed_ns`] gives the part of one instance's billed time
//! that falls in the measured window.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::SpecIssue;
use crate::defaults::{InstanceType, Prices, embedded_prices};
use crate::engine::time::SimTime;
use crate::metrics::cost::{Bill, dollars, figure};

/// How instances are bought.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Purchase {
    /// The list price.
    #[default]
    OnDemand,
    /// Spot capacity, `discount` off the list price (default `spot_discount` of the price list,
    /// an assumption).
    Spot,
    /// Covered by a Savings Plan, `discount` off the list price (default
    /// `savings_plan_discount` of the price list, an assumption).
    SavingsPlan,
}

impl Purchase {
    fn name(self) -> &'static str {
        match self {
            Purchase::OnDemand => "on demand",
            Purchase::Spot => "spot",
            Purchase::SavingsPlan => "savings plan",
        }
    }
}

/// The billing fields of an instance group's spec.
#[derive(Copy, Clone, Debug)]
pub struct BillingFields<'a> {
    /// `instance_type`.
    pub instance_type: Option<&'a Spanned<String>>,
    /// `vcpus` (an empty span when the scenario does not set it).
    pub vcpus: &'a Spanned<u32>,
    /// `purchase`.
    pub purchase: Option<&'a Spanned<Purchase>>,
    /// `discount`.
    pub discount: Option<&'a Spanned<f64>>,
}

impl BillingFields<'_> {
    fn instance(&self) -> Option<InstanceType> {
        self.instance_type
            .and_then(|t| embedded_prices().ec2.instance_type(t.get_ref()).ok())
    }

    /// Requests an instance serves in parallel: `vcpus` when set, else the instance type's,
    /// else 1.
    pub fn vcpus(&self) -> u32 {
        match self.instance() {
            Some(t) if self.vcpus.span().is_empty() => t.vcpus,
            _ => *self.vcpus.get_ref(),
        }
    }

    /// Problems of the billing fields: an unknown instance type (with the nearest name), a
    /// `vcpus` that contradicts it, a purchase option without a type, a discount that is no
    /// share or that an on-demand purchase cannot have.
    pub fn check(&self) -> Vec<SpecIssue> {
        let mut out = Vec::new();
        let mut issue = |field: &str, message: String, span: Range<usize>| {
            out.push(SpecIssue {
                field: field.into(),
                message,
                span,
            })
        };
        if let Some(t) = self.instance_type {
            match embedded_prices().ec2.instance_type(t.get_ref()) {
                Err(why) => issue("instance_type", why, t.span()),
                Ok(it) => {
                    let v = *self.vcpus.get_ref();
                    if !self.vcpus.span().is_empty() && v != it.vcpus {
                        issue(
                            "vcpus",
                            format!(
                                "vcpus = {v} contradicts instance_type = \"{}\", which has {} \
                                 vCPUs; drop `vcpus` (the type sets it) or make it {}",
                                t.get_ref(),
                                it.vcpus,
                                it.vcpus
                            ),
                            self.vcpus.span(),
                        );
                    }
                }
            }
        } else if let Some(p) = self.purchase {
            issue(
                "purchase",
                "needs an `instance_type` to price (e.g. instance_type = \"c7g.large\")".into(),
                p.span(),
            );
        }
        if let Some(d) = self.discount {
            let purchase = self.purchase.map_or(Purchase::OnDemand, |p| *p.get_ref());
            if !(0.0..1.0).contains(d.get_ref()) {
                issue(
                    "discount",
                    format!(
                        "must be a share of the on-demand price from 0 up to (not including) 1, \
                         found {}",
                        d.get_ref()
                    ),
                    d.span(),
                );
            } else if purchase == Purchase::OnDemand {
                issue(
                    "discount",
                    "applies to purchase = \"spot\" or \"savings_plan\"; on demand is the list \
                     price"
                        .into(),
                    d.span(),
                );
            }
        }
        out
    }

    /// The rate its instances are billed at from `prices` (the run's price list); `Ok(None)`
    /// without an `instance_type` (the group is then not billed). The type's vCPUs come from
    /// the embedded catalogue when the scenario is checked: a price list that lacks the type,
    /// or gives it other vCPUs, is an error (a price file changes prices, not hardware).
    pub fn rate(&self, prices: &Prices) -> Result<Option<InstanceRate>, String> {
        let Some(type_name) = self.instance_type.map(|t| t.get_ref().clone()) else {
            return Ok(None);
        };
        let Some(catalogue) = self.instance() else {
            return Ok(None);
        };
        let listed = prices.ec2.instance_type(&type_name)?;
        if listed.vcpus != catalogue.vcpus {
            return Err(format!(
                "the price list gives instance_type \"{type_name}\" {} vCPUs, the catalogue \
                 (models/prices.toml) {}: a price file may change prices, not hardware",
                listed.vcpus, catalogue.vcpus
            ));
        }
        let list = listed.usd_per_hour;
        let ec2 = &prices.ec2;
        let purchase = self.purchase.map_or(Purchase::OnDemand, |p| *p.get_ref());
        let discount = match purchase {
            Purchase::OnDemand => 0.0,
            Purchase::Spot => self.discount.map_or(ec2.spot_discount, |d| *d.get_ref()),
            Purchase::SavingsPlan => self
                .discount
                .map_or(ec2.savings_plan_discount, |d| *d.get_ref()),
        };
        Ok(Some(InstanceRate {
            type_name,
            list_usd_per_hour: list,
            usd_per_hour: list * (1.0 - discount),
            purchase,
            discount,
            minimum_ns: ec2.minimum_billed.as_nanos(),
        }))
    }
}

/// The price of one instance of a group.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceRate {
    /// `c7g.large`.
    pub type_name: String,
    /// The on-demand list price per hour.
    pub list_usd_per_hour: f64,
    /// The price paid per hour, after the discount.
    pub usd_per_hour: f64,
    /// How the instances are bought.
    pub purchase: Purchase,
    /// The share taken off the list price.
    pub discount: f64,
    /// Billed at least this each time an instance starts (ns).
    minimum_ns: u64,
}

const NS_PER_SECOND: u64 = 1_000_000_000;

impl InstanceRate {
    /// The billed time (ns) of an instance started at `start` and stopped at `stop` (`None`:
    /// still running at `end`) that falls in the window from `warmup_end` to `end`: whole
    /// seconds, at least the minimum from its start.
    pub fn billed_ns(
        &self,
        start: SimTime,
        stop: Option<SimTime>,
        warmup_end: SimTime,
        end: SimTime,
    ) -> u64 {
        let billed_until = match stop {
            Some(stop) => {
                let ran = stop.saturating_since(start).as_nanos();
                let billed = ran.div_ceil(NS_PER_SECOND) * NS_PER_SECOND;
                start.as_nanos().saturating_add(billed.max(self.minimum_ns))
            }
            None => end.as_nanos(),
        };
        let from = start.as_nanos().max(warmup_end.as_nanos());
        let until = billed_until.min(end.as_nanos());
        until.saturating_sub(from)
    }

    /// The price per hour in words: `$0.0725/h`, or `$0.02175/h (spot, 70% off $0.0725/h)`.
    fn price_words(&self) -> String {
        let paid = format!("{}/h", dollars(self.usd_per_hour));
        if self.purchase == Purchase::OnDemand {
            paid
        } else {
            format!(
                "{paid} ({}, {}% off {}/h)",
                self.purchase.name(),
                figure(self.discount * 100.0, 4),
                dollars(self.list_usd_per_hour)
            )
        }
    }

    /// The bill of `instances` instances running for `hours` each (a fixed fleet).
    pub fn fleet_bill(&self, instances: u32, hours: f64) -> Bill {
        let usage = instances as f64 * hours;
        Bill::default().charge(
            usage,
            "instance-hours",
            self.usd_per_hour,
            format!(
                "{instances} × {} × {} h × {}",
                self.type_name,
                figure(hours, 4),
                self.price_words()
            ),
        )
    }

    /// The bill of `billed_ns` of instance time over `launches` instance starts (a group whose
    /// instances come and go).
    pub fn group_bill(&self, billed_ns: u128, launches: usize) -> Bill {
        let seconds = billed_ns as f64 / 1e9;
        let hours = seconds / 3600.0;
        Bill::default().charge(
            hours,
            "instance-hours",
            self.usd_per_hour,
            format!(
                "{} instance-hours of {} ({} s billed per second, at least 60 s per launch, \
                 {launches} instances) × {}",
                figure(hours, 4),
                self.type_name,
                figure(seconds, 9),
                self.price_words()
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::time::SimDuration;

    fn rate() -> InstanceRate {
        let name = Spanned::new(0..1, "c7g.large".to_string());
        let vcpus = Spanned::new(0..0, 1);
        BillingFields {
            instance_type: Some(&name),
            vcpus: &vcpus,
            purchase: None,
            discount: None,
        }
        .rate(embedded_prices())
        .expect("priced")
        .expect("a known type")
    }

    fn at(s: f64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs_f64(s)
    }

    #[test]
    fn billed_time_rounds_up_to_seconds_with_a_minute_minimum_and_is_clipped_to_the_window() {
        let r = rate();
        let w = (at(0.0), at(1000.0));
        // 10 s of life: billed 60 s.
        assert_eq!(
            r.billed_ns(at(100.0), Some(at(110.0)), w.0, w.1),
            60 * NS_PER_SECOND
        );
        // 90.2 s: billed 91 s.
        assert_eq!(
            r.billed_ns(at(100.0), Some(at(190.2)), w.0, w.1),
            91 * NS_PER_SECOND
        );
        // Still running at the end: up to the end.
        assert_eq!(r.billed_ns(at(400.0), None, w.0, w.1), 600 * NS_PER_SECOND);
        // Before the warm-up ends: only the part after it.
        assert_eq!(
            r.billed_ns(at(0.0), Some(at(500.0)), at(300.0), w.1),
            200 * NS_PER_SECOND
        );
        // The minimum reaches past the warm-up's end.
        assert_eq!(
            r.billed_ns(at(290.0), Some(at(295.0)), at(300.0), w.1),
            50 * NS_PER_SECOND
        );
        // Entirely before the window.
        assert_eq!(r.billed_ns(at(0.0), Some(at(100.0)), at(300.0), w.1), 0);
    }

    #[test]
    fn spot_takes_its_default_discount_and_says_so() {
        let name = Spanned::new(0..1, "c7g.large".to_string());
        let vcpus = Spanned::new(0..0, 1);
        let spot = Spanned::new(0..1, Purchase::Spot);
        let r = BillingFields {
            instance_type: Some(&name),
            vcpus: &vcpus,
            purchase: Some(&spot),
            discount: None,
        }
        .rate(embedded_prices())
        .unwrap()
        .unwrap();
        let d = embedded_prices().ec2.spot_discount;
        assert!((r.usd_per_hour - 0.0725 * (1.0 - d)).abs() < 1e-12);
        let b = r.fleet_bill(3, 2.0);
        assert!((b.usd() - 3.0 * 2.0 * 0.0725 * (1.0 - d)).abs() < 1e-12);
        assert!(
            b.basis().starts_with("3 × c7g.large × 2 h × $"),
            "{}",
            b.basis()
        );
        assert!(
            b.basis().contains("(spot, 70% off $0.0725/h)"),
            "{}",
            b.basis()
        );
    }

    #[test]
    fn a_contradicting_vcpus_names_both() {
        let name = Spanned::new(10..21, "c7g.large".to_string());
        let vcpus = Spanned::new(30..31, 4);
        let fields = BillingFields {
            instance_type: Some(&name),
            vcpus: &vcpus,
            purchase: None,
            discount: None,
        };
        let issues = fields.check();
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].field, "vcpus");
        assert_eq!(issues[0].span, 30..31);
        assert!(
            issues[0]
                .message
                .contains("vcpus = 4 contradicts instance_type = \"c7g.large\", which has 2 vCPUs"),
            "{}",
            issues[0].message
        );
        let same = Spanned::new(30..31, 2);
        let ok = BillingFields {
            vcpus: &same,
            ..fields
        };
        assert!(ok.check().is_empty());
        assert_eq!(ok.vcpus(), 2);
        let unset = Spanned::new(0..0, 1);
        assert_eq!(
            BillingFields {
                vcpus: &unset,
                ..fields
            }
            .vcpus(),
            2
        );
    }
}
