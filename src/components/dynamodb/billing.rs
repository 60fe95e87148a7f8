//! What a table is billed (prices from the run's price list, `models/prices.toml`):
//! - provisioned mode: the RCU and WCU provisioned, used or not, per hour. With auto scaling
//!   the capacity changes on the minute; the bill integrates it over time (capacity-seconds /
//!   3600). AWS says it bills "the hourly read and write capacity you have provisioned"; how
//!   it meters an hour in which the capacity changed is not spelled out there, so prorating it
//!   is an assumption. Throttled requests cost nothing more.
//! - on-demand mode: read and write request units as the model counts capacity units (reads
//!   per 4 KB rounded up, half for eventually consistent ones; writes per KB rounded up,
//!   double for transactions; a query on the total size of its items), for the requests
//!   admitted that arrived in the window. A throttled attempt is not billed; DAX hits use no
//!   request unit.
//! - storage: `table_gb` per GB-month, prorated over the window (a month of 730 hours).
//!
//! Not billed: DAX (the model has an item cache but no node type or count, so no node-hours),
//! backups, streams, global tables, the free tier.

use super::Mode;
use crate::defaults::DynamoDbPrices;
use crate::engine::time::SimTime;
use crate::metrics::cost::{Bill, dollars, figure};

/// Hours in the month storage is priced by.
const HOURS_PER_MONTH: f64 = 730.0;

/// A table's billed usage.
#[derive(Clone, Debug)]
pub(super) struct Billing {
    prices: DynamoDbPrices,
    mode: Mode,
    table_gb: f64,
    window_start: SimTime,
    /// Provisioned capacity since `since`, and the capacity-seconds before it (in the window).
    rcu: u32,
    wcu: u32,
    since: SimTime,
    rcu_seconds: f64,
    wcu_seconds: f64,
}

impl Billing {
    /// The billing of a table in `mode` holding `table_gb`, provisioned `rcu` and `wcu` from
    /// the start, measured from `window_start`.
    pub(super) fn new(
        prices: DynamoDbPrices,
        mode: Mode,
        table_gb: f64,
        (rcu, wcu): (u32, u32),
        window_start: SimTime,
    ) -> Billing {
        Billing {
            prices,
            mode,
            table_gb,
            window_start,
            rcu,
            wcu,
            since: window_start,
            rcu_seconds: 0.0,
            wcu_seconds: 0.0,
        }
    }

    /// The capacity-seconds provisioned in the window up to `now`: (read, write).
    fn capacity_seconds(&self, now: SimTime) -> (f64, f64) {
        let now = now.max(self.window_start);
        let s = now.saturating_since(self.since).as_secs_f64();
        (
            self.rcu_seconds + self.rcu as f64 * s,
            self.wcu_seconds + self.wcu as f64 * s,
        )
    }

    /// Adds the capacity held from `since` to `now` (the part in the window).
    fn accrue(&mut self, now: SimTime) {
        if now > self.since {
            (self.rcu_seconds, self.wcu_seconds) = self.capacity_seconds(now);
            self.since = now;
        }
    }

    /// What the window up to `end` costs: the amount of [`Billing::bill`], computed the same
    /// way, without its words (the time series asks every interval, and must not allocate).
    pub(super) fn usd(&self, end: SimTime, consumed_rcu: f64, consumed_wcu: f64) -> f64 {
        let p = &self.prices;
        let usage = match self.mode {
            Mode::Provisioned => {
                let (rcu_seconds, wcu_seconds) = self.capacity_seconds(end);
                rcu_seconds / 3600.0 * p.usd_per_rcu_hour
                    + wcu_seconds / 3600.0 * p.usd_per_wcu_hour
            }
            Mode::OnDemand => {
                consumed_rcu / 1e6 * p.usd_per_million_rru
                    + consumed_wcu / 1e6 * p.usd_per_million_wru
            }
        };
        let window_h = end.saturating_since(self.window_start).as_secs_f64() / 3600.0;
        usage + self.table_gb * window_h / HOURS_PER_MONTH * p.usd_per_gb_month
    }

    /// Auto scaling provisions `rcu` and `wcu` from `now` on.
    pub(super) fn capacity_changed(&mut self, now: SimTime, rcu: u32, wcu: u32) {
        self.accrue(now.max(self.window_start));
        self.rcu = rcu;
        self.wcu = wcu;
    }

    /// The bill of the window up to `end`, with `consumed_rcu` and `consumed_wcu` capacity
    /// units consumed in it (on-demand request units).
    pub(super) fn bill(&self, end: SimTime, consumed_rcu: f64, consumed_wcu: f64) -> Bill {
        let p = &self.prices;
        let mut bill = Bill::default();
        match self.mode {
            Mode::Provisioned => {
                let (rcu_seconds, wcu_seconds) = self.capacity_seconds(end);
                for (unit, seconds, price) in [
                    ("RCU", rcu_seconds, p.usd_per_rcu_hour),
                    ("WCU", wcu_seconds, p.usd_per_wcu_hour),
                ] {
                    let hours = seconds / 3600.0;
                    bill = bill.charge(
                        hours,
                        &format!("{unit}-hours"),
                        price,
                        format!(
                            "{} {unit}-hours provisioned (used or not) × {}",
                            figure(hours, 6),
                            dollars(price)
                        ),
                    );
                }
            }
            Mode::OnDemand => {
                for (unit, units, price) in [
                    ("read", consumed_rcu, p.usd_per_million_rru),
                    ("write", consumed_wcu, p.usd_per_million_wru),
                ] {
                    let millions = units / 1e6;
                    bill = bill.charge(
                        millions,
                        &format!("million {unit} request units"),
                        price,
                        format!(
                            "{} {unit} request units × {} per million",
                            figure(units, 9),
                            dollars(price)
                        ),
                    );
                }
            }
        }
        let window_h = end.saturating_since(self.window_start).as_secs_f64() / 3600.0;
        let gb_months = self.table_gb * window_h / HOURS_PER_MONTH;
        bill.charge(
            gb_months,
            "GB-months",
            p.usd_per_gb_month,
            format!(
                "{} GB stored × {} h / 730 h = {} GB-months × {}",
                figure(self.table_gb, 6),
                figure(window_h, 6),
                figure(gb_months, 6),
                dollars(p.usd_per_gb_month)
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::time::SimDuration;

    fn at(s: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs(s)
    }

    /// Auto scaling from 100 to 300 RCU half-way through an hour-long window (after a
    /// 10-minute warm-up, during which it had scaled to 200): 100 × 0.5 h + 300 × 0.5 h = 200
    /// RCU-hours; the change in the warm-up counts from the window's start.
    #[test]
    fn provisioned_capacity_is_billed_over_time_as_it_changes() {
        let prices = crate::defaults::embedded_prices().dynamodb.clone();
        let mut b = Billing::new(prices.clone(), Mode::Provisioned, 0.0, (50, 10), at(600));
        b.capacity_changed(at(300), 100, 10);
        b.capacity_changed(at(600 + 1800), 300, 10);
        let bill = b.bill(at(600 + 3600), 0.0, 0.0);
        assert!((bill.charges[0].usage - 200.0).abs() < 1e-9, "{bill:?}");
        assert!((bill.charges[1].usage - 10.0).abs() < 1e-9, "{bill:?}");
        let usd = 200.0 * prices.usd_per_rcu_hour + 10.0 * prices.usd_per_wcu_hour;
        assert!((bill.usd() - usd).abs() < 1e-12);
        // The time series' amount is the bill's, to the bit, in either mode.
        assert_eq!(b.usd(at(600 + 3600), 0.0, 0.0), bill.usd());
        let on_demand = Billing::new(prices, Mode::OnDemand, 12.5, (0, 0), at(600));
        let (end, reads, writes) = (at(600 + 1234), 98_765.5, 4_321.0);
        assert_eq!(
            on_demand.usd(end, reads, writes),
            on_demand.bill(end, reads, writes).usd()
        );
        assert_eq!(
            on_demand.usd(at(300), 0.0, 0.0),
            0.0,
            "nothing in the warm-up"
        );
    }
}
