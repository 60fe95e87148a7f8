//! CPU credits of burstable instances (T2, T3, T3a, T4g): the part `ec2_fleet` and `asg` share
//! through their instance pool ([`super::instances::Pool::burstable`]).
//!
//! AWS's model (`models/burstable.toml`): an instance earns its type's credits per hour
//! continuously and spends one credit per vCPU-minute of CPU; earned credits accrue up to the
//! type's maximum balance (24 hours of earnings) and the rest is discarded. A T2 launched in
//! standard mode also gets launch credits (30 per vCPU), spent first and not counted against
//! the maximum. In standard mode an instance whose balance is empty runs at its baseline; in
//! unlimited mode it keeps bursting on surplus credits, which later earnings pay down, and
//! surplus credits left are billed per vCPU-hour.
//!
//! The balance is exact between events: the busy vCPUs (compute steps in progress) are constant
//! there, so the balance moves in straight lines, with kinks where the maximum caps it, where
//! the launch credits run out and (unlimited) where surplus starts or is paid off. The owner
//! asks [`Credits::time_to_empty`] for the instant a standard instance's balance reaches zero
//! and sets a timer for it: throttling starts exactly then.
//!
//! What it simplifies: at an empty balance the instance gets its baseline share of the CPU,
//! `baseline × vcpus` vCPUs of work, shared evenly among its busy vCPUs: each runs at
//! `min(1, baseline × vcpus / busy)` of its speed (the baseline when every vCPU is busy), and
//! the balance stays at zero while it is throttled (AWS lowers the CPU "gradually"; here at
//! once). Only compute steps spend credits (an idle or waiting request costs none); a balance
//! that is not empty is spent at full speed; credits are not kept across a stop.

use serde::Deserialize;
use serde_json::Value;
use toml::Spanned;

use super::SpecIssue;
use crate::defaults::{BurstableType, burstable};
use crate::engine::time::{SimDuration, SimTime};
use crate::metrics::Column;
use crate::metrics::cost::{Bill, dollars, figure};
use crate::metrics::plot::{Color, Figure, Line, Panel, safe_name};
use crate::metrics::series::Series;

/// How a burstable instance may burst (`credit_specification`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CreditSpecification {
    /// Bursts on its credit balance; at an empty balance it runs at its baseline (T2's
    /// default).
    Standard,
    /// Never throttled: past an empty balance it spends surplus credits, billed per vCPU-hour
    /// (T3, T3a and T4g's default).
    Unlimited,
}

/// The credit figures of one burstable type as a group runs it.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct CreditModel {
    /// Credits earned per second.
    pub earn_per_s: f64,
    /// The most earned credits an instance keeps.
    pub max_balance: f64,
    /// Baseline utilisation per vCPU (0..1).
    pub baseline: f64,
    /// vCPUs of the type.
    pub vcpus: u32,
    /// Standard or unlimited.
    pub mode: CreditSpecification,
    /// Launch credits of each new instance (T2 in standard mode).
    pub launch_credits: f64,
    /// Earned credits each instance starts with.
    pub initial_balance: f64,
    /// Price of one surplus credit (USD).
    pub usd_per_surplus_credit: f64,
}

/// The credit figures of `type_name`, if it is a burstable type.
pub fn burstable_type(type_name: &str) -> Option<BurstableType> {
    burstable().types.get(type_name).copied()
}

impl CreditModel {
    /// The model of burstable type `type_name` with `vcpus` vCPUs in `mode` (default: the
    /// type's), its instances starting with `initial_balance` earned credits; `None` for a
    /// type that is not burstable.
    pub fn of(
        type_name: &str,
        vcpus: u32,
        mode: Option<CreditSpecification>,
        initial_balance: f64,
    ) -> Option<CreditModel> {
        let t = burstable_type(type_name)?;
        let is_t2 = type_name.starts_with("t2.");
        let mode = mode.unwrap_or(if is_t2 {
            CreditSpecification::Standard
        } else {
            CreditSpecification::Unlimited
        });
        let defaults = burstable();
        let launch_credits = if is_t2 && mode == CreditSpecification::Standard {
            defaults.t2_launch_credits_per_vcpu * vcpus as f64
        } else {
            0.0
        };
        Some(CreditModel {
            earn_per_s: t.credits_per_hour / 3600.0,
            max_balance: t.max_balance,
            baseline: t.baseline,
            vcpus,
            mode,
            launch_credits,
            initial_balance,
            // One vCPU-hour is 60 credits.
            usd_per_surplus_credit: defaults.surplus_usd_per_vcpu_hour / 60.0,
        })
    }

    /// vCPUs' worth of work the instance gets at an empty balance.
    fn baseline_vcpus(&self) -> f64 {
        self.baseline * self.vcpus as f64
    }
}

/// Seconds from `a` to `b`.
fn secs(a: SimTime, b: SimTime) -> f64 {
    b.saturating_since(a).as_secs_f64()
}

/// The credits of one instance.
#[derive(Clone, Debug)]
pub struct Credits {
    /// Earned credits (at most the model's maximum).
    balance: f64,
    /// Launch credits not yet spent.
    launch: f64,
    /// Surplus credits spent and not yet paid down (unlimited).
    surplus: f64,
    /// vCPUs running compute steps.
    busy: u32,
    /// True while a standard instance runs at its baseline share.
    throttled: bool,
    /// When the figures below were last brought up to date.
    at: SimTime,
    /// End of the warm-up: the window's figures start there.
    warmup_end: SimTime,
    /// In the window: the time throttled (s), surplus credits spent and paid down, the
    /// integral of the balance (credit-seconds) and its lowest value.
    throttled_s: f64,
    surplus_spent: f64,
    surplus_repaid: f64,
    balance_integral: f64,
    balance_min: f64,
    /// When it was first throttled in the window.
    first_throttled: Option<SimTime>,
}

impl Credits {
    /// A new instance at `now`: its initial balance and launch credits.
    pub fn new(model: &CreditModel, now: SimTime, warmup_end: SimTime) -> Credits {
        let balance = model.initial_balance.min(model.max_balance);
        Credits {
            balance,
            launch: model.launch_credits,
            surplus: 0.0,
            busy: 0,
            throttled: false,
            at: now,
            warmup_end,
            throttled_s: 0.0,
            surplus_spent: 0.0,
            surplus_repaid: 0.0,
            balance_integral: 0.0,
            balance_min: f64::INFINITY,
            first_throttled: None,
        }
    }

    /// Earned credits now (launch credits apart).
    pub fn balance(&self) -> f64 {
        self.balance
    }

    /// Launch credits left.
    pub fn launch_credits(&self) -> f64 {
        self.launch
    }

    /// Surplus credits spent and not paid down.
    pub fn surplus(&self) -> f64 {
        self.surplus
    }

    /// True while throttled to the baseline.
    pub fn is_throttled(&self) -> bool {
        self.throttled
    }

    /// The share of its speed each busy vCPU runs at.
    pub fn speed_factor(&self, model: &CreditModel) -> f64 {
        if self.throttled && self.busy > 0 {
            (model.baseline_vcpus() / self.busy as f64).min(1.0)
        } else {
            1.0
        }
    }

    /// Credits spent per second at the current speed.
    fn spend_per_s(&self, model: &CreditModel) -> f64 {
        self.busy as f64 * self.speed_factor(model) / 60.0
    }

    /// Brings the figures up to `now` (the busy vCPUs were constant since the last call).
    pub fn advance(&mut self, model: &CreditModel, now: SimTime) {
        if self.at < self.warmup_end && self.warmup_end < now {
            self.advance_piece(model, self.warmup_end);
        }
        self.advance_piece(model, now);
    }

    /// [`Credits::advance`] over an interval wholly inside or wholly before the window.
    fn advance_piece(&mut self, model: &CreditModel, now: SimTime) {
        let in_window = self.at >= self.warmup_end;
        let mut dt = secs(self.at, now);
        self.at = now;
        if in_window && self.throttled {
            self.throttled_s += dt;
        }
        let earn = model.earn_per_s;
        let spend = self.spend_per_s(model);
        // Launch credits go first; meanwhile earnings accrue.
        if self.launch > 0.0 && spend > 0.0 {
            let d = dt.min(self.launch / spend);
            self.launch = (self.launch - spend * d).max(0.0);
            self.accrue(model, earn, d, in_window);
            dt -= d;
            if dt <= 0.0 {
                return;
            }
        }
        let spend_now = if self.launch > 0.0 { 0.0 } else { spend };
        let net = earn - spend_now;
        if net >= 0.0 {
            // Earnings pay down surplus credits first.
            let repay = if self.surplus > 0.0 && net > 0.0 {
                dt.min(self.surplus / net)
            } else {
                0.0
            };
            if repay > 0.0 {
                self.surplus = (self.surplus - net * repay).max(0.0);
                if in_window {
                    self.surplus_repaid += net * repay;
                }
                self.hold(0.0, repay, in_window);
            }
            self.accrue(model, net, dt - repay, in_window);
        } else {
            let d = dt.min(self.balance / -net);
            let start = self.balance;
            self.balance = (self.balance + net * d).max(0.0);
            if in_window {
                self.balance_integral += (start + self.balance) / 2.0 * d;
                self.balance_min = self.balance_min.min(start).min(self.balance);
            }
            let rest = dt - d;
            if rest > 0.0 {
                // The balance is empty: standard mode is throttled by its timer at this very
                // instant (float rounding may leave a hair), unlimited mode runs on surplus.
                self.balance = 0.0;
                if model.mode == CreditSpecification::Unlimited {
                    self.surplus += -net * rest;
                    if in_window {
                        self.surplus_spent += -net * rest;
                    }
                }
                self.hold(0.0, rest, in_window);
            }
        }
    }

    /// The balance grows at `rate` for `d` seconds, capped at the maximum.
    fn accrue(&mut self, model: &CreditModel, rate: f64, d: f64, in_window: bool) {
        if d <= 0.0 {
            return;
        }
        let start = self.balance;
        let to_cap = if rate > 0.0 {
            ((model.max_balance - start) / rate).max(0.0)
        } else {
            f64::INFINITY
        };
        let rising = d.min(to_cap);
        self.balance = (start + rate * rising).min(model.max_balance);
        if in_window {
            self.balance_integral += (start + self.balance) / 2.0 * rising;
            self.balance_min = self.balance_min.min(start);
        }
        self.hold(self.balance, d - rising, in_window);
    }

    /// The balance stays at `value` for `d` seconds.
    fn hold(&mut self, value: f64, d: f64, in_window: bool) {
        if in_window && d > 0.0 {
            self.balance_integral += value * d;
            self.balance_min = self.balance_min.min(value);
        }
    }

    /// The busy vCPUs become `busy` at `now` (a compute step started or ended): the figures
    /// are brought up to `now` first. Returns true when the speed factor changed.
    pub fn set_busy(&mut self, model: &CreditModel, busy: u32, now: SimTime) -> bool {
        self.advance(model, now);
        let before = self.speed_factor(model);
        self.busy = busy;
        self.update_throttle(model, now);
        self.speed_factor(model) != before
    }

    /// The balance reached zero (the owner's timer from [`Credits::time_to_empty`]): a
    /// standard instance is throttled from `now`. Returns true when the speed factor changed.
    pub fn on_empty(&mut self, model: &CreditModel, now: SimTime) -> bool {
        self.advance(model, now);
        let before = self.speed_factor(model);
        self.balance = 0.0;
        self.update_throttle(model, now);
        self.speed_factor(model) != before
    }

    /// Throttled when standard, out of credits and asking for more than the baseline.
    fn update_throttle(&mut self, model: &CreditModel, now: SimTime) {
        let was = self.throttled;
        self.throttled = model.mode == CreditSpecification::Standard
            && self.balance <= 0.0
            && self.launch <= 0.0
            && self.busy as f64 > model.baseline_vcpus();
        if self.throttled && !was && now >= self.warmup_end && self.first_throttled.is_none() {
            self.first_throttled = Some(now);
        }
    }

    /// How long until a standard instance's balance reaches zero at the current load, if it
    /// will (not while throttled or unlimited).
    pub fn time_to_empty(&self, model: &CreditModel) -> Option<SimDuration> {
        if model.mode != CreditSpecification::Standard || self.throttled {
            return None;
        }
        let spend = self.spend_per_s(model);
        let earn = model.earn_per_s;
        if spend <= earn {
            return None;
        }
        let mut t = 0.0;
        let mut balance = self.balance;
        if self.launch > 0.0 {
            let d = self.launch / spend;
            t += d;
            balance = (balance + earn * d).min(model.max_balance);
        }
        t += balance / (spend - earn);
        Some(SimDuration::from_secs_f64(t))
    }

    /// Earned credits at `now`, as they would be after [`Credits::advance`] to it (the
    /// instance itself is not changed).
    pub fn balance_at(&self, model: &CreditModel, now: SimTime) -> f64 {
        let mut c = self.clone();
        c.advance(model, now);
        c.balance
    }

    /// The window's figures up to `end`, as they would be after [`Credits::advance`] to it
    /// (the instance itself is not changed).
    pub fn window(&self, model: &CreditModel, end: SimTime) -> CreditWindow {
        let mut c = self.clone();
        c.advance(model, end);
        CreditWindow {
            balance_end: c.balance,
            balance_min: if c.balance_min.is_finite() {
                c.balance_min
            } else {
                c.balance
            },
            balance_integral: c.balance_integral,
            throttled_s: c.throttled_s,
            surplus_spent: c.surplus_spent,
            surplus_billed: (c.surplus_spent - c.surplus_repaid).max(0.0),
            first_throttled: c.first_throttled,
        }
    }
}

/// The burstable fields of an instance group's spec.
#[derive(Copy, Clone, Debug)]
pub struct CreditFields<'a> {
    /// `instance_type`.
    pub instance_type: Option<&'a Spanned<String>>,
    /// `credit_specification`.
    pub credit_specification: Option<&'a Spanned<CreditSpecification>>,
    /// `initial_credit_balance`.
    pub initial_credit_balance: Option<&'a Spanned<f64>>,
}

impl CreditFields<'_> {
    /// The group's credit model with `vcpus` vCPUs, when its type is burstable.
    pub fn model(&self, vcpus: u32) -> Option<CreditModel> {
        CreditModel::of(
            self.instance_type?.get_ref(),
            vcpus,
            self.credit_specification.map(|s| *s.get_ref()),
            self.initial_credit_balance.map_or(0.0, |b| *b.get_ref()),
        )
    }

    /// True when its type is burstable (it then writes [`CREDIT_COLUMNS`]).
    pub fn is_burstable(&self) -> bool {
        self.instance_type
            .is_some_and(|t| burstable_type(t.get_ref()).is_some())
    }

    /// Credit fields on a type that is not burstable (or without a type), and an initial
    /// balance outside 0 to the type's maximum.
    pub fn check(&self) -> Vec<SpecIssue> {
        let burstable = self.instance_type.and_then(|t| burstable_type(t.get_ref()));
        let mut issues = Vec::new();
        let what = match self.instance_type {
            Some(t) => format!("instance_type = \"{}\" is not burstable", t.get_ref()),
            None => "it needs a burstable `instance_type`".to_string(),
        };
        let families = "t2, t3, t3a or t4g, e.g. instance_type = \"t3.micro\"";
        if burstable.is_none() {
            if let Some(s) = self.credit_specification {
                issues.push(SpecIssue {
                    field: "credit_specification".into(),
                    message: format!("applies to burstable instances only: {what} ({families})"),
                    span: s.span(),
                });
            }
            if let Some(b) = self.initial_credit_balance {
                issues.push(SpecIssue {
                    field: "initial_credit_balance".into(),
                    message: format!("applies to burstable instances only: {what} ({families})"),
                    span: b.span(),
                });
            }
        } else if let (Some(t), Some(b)) = (burstable, self.initial_credit_balance) {
            let v = *b.get_ref();
            if !(0.0..=t.max_balance).contains(&v) {
                issues.push(SpecIssue {
                    field: "initial_credit_balance".into(),
                    message: format!(
                        "must be from 0 to the type's maximum balance, {} credits (24 hours of \
                         its earnings), found {v}",
                        t.max_balance
                    ),
                    span: b.span(),
                });
            }
        }
        issues
    }
}

/// The time-series columns of a group of burstable instances (`ec2_fleet` and `asg` declare
/// them as their [`super::outputs::Outputs::OPTIONAL_COLUMNS`], written when the group's type
/// is burstable), in [`gauges`] order.
pub const CREDIT_COLUMNS: &[Column] = &[
    Column {
        name: "cpu_credits_min",
        description: "lowest earned CPU credit balance of the instances up at the end of the \
                      interval (credits; burstable types only)",
    },
    Column {
        name: "cpu_credits_mean",
        description: "mean earned CPU credit balance of the instances up at the end of the \
                      interval (credits; burstable types only)",
    },
    Column {
        name: "throttled_instances",
        description: "instances held to their baseline for want of CPU credits at the end of \
                      the interval (burstable types in standard mode only)",
    },
];

/// The values of [`CREDIT_COLUMNS`] at `now` for the credits of the instances up: empty when
/// none is up.
pub fn gauges<'a>(
    model: &CreditModel,
    up: impl Iterator<Item = &'a Credits>,
    now: SimTime,
) -> [Option<f64>; 3] {
    let (mut n, mut min, mut sum, mut throttled) = (0u32, f64::INFINITY, 0.0, 0u32);
    for credits in up {
        let balance = credits.balance_at(model, now);
        n += 1;
        min = min.min(balance);
        sum += balance;
        throttled += u32::from(credits.is_throttled());
    }
    if n == 0 {
        return [None; 3];
    }
    [Some(min), Some(sum / n as f64), Some(throttled as f64)]
}

/// The CPU credits of group `name` (of kind `kind`) over time: the lowest and the mean balance,
/// and the instances throttled when there were any; `None` without the columns.
pub fn credit_figure(series: &Series, name: &str, kind: &str) -> Option<Figure> {
    let time = series.time(name);
    let col = |c| series.column(name, c);
    let balance = Panel::new(
        format!("{name} ({kind}): CPU credit balance"),
        "credits",
        vec![
            Line::new("mean", Color::Blue, time, col("cpu_credits_mean")),
            Line::new("lowest", Color::Orange, time, col("cpu_credits_min")).dashed(),
        ],
    );
    if !balance.has_data() {
        return None;
    }
    let mut panels = vec![balance];
    let throttled = Line::new(
        "throttled",
        Color::Vermilion,
        time,
        col("throttled_instances"),
    );
    if throttled.nonzero() {
        panels.push(Panel::new(
            format!("{name} ({kind}): instances at their baseline"),
            "instances",
            vec![throttled],
        ));
    }
    Some(Figure {
        stem: format!("cpu_credits_{}", safe_name(name)),
        title: format!("CPU credits of {name}"),
        panels,
    })
}

/// What a group of burstable instances reports, from its instances' windows
/// ([`super::instances::Pool::credit_windows`]): the lowest balance, the mean balance over the
/// window and the instances still up, the time throttled, the surplus credits and their price.
pub fn figures(model: &CreditModel, windows: &[(CreditWindow, bool)], window_s: f64) -> Value {
    let up: Vec<&CreditWindow> = windows.iter().filter(|w| w.1).map(|w| &w.0).collect();
    let n = up.len().max(1) as f64;
    let min = up
        .iter()
        .map(|w| w.balance_min)
        .fold(f64::INFINITY, f64::min);
    let mean = if window_s > 0.0 {
        up.iter().map(|w| w.balance_integral).sum::<f64>() / window_s / n
    } else {
        0.0
    };
    let throttled_s: f64 = windows.iter().map(|w| w.0.throttled_s).sum();
    let first = windows
        .iter()
        .filter_map(|w| w.0.first_throttled)
        .min()
        .map(SimTime::as_secs_f64);
    let spent: f64 = windows.iter().map(|w| w.0.surplus_spent).sum();
    let billed: f64 = windows.iter().map(|w| w.0.surplus_billed).sum();
    serde_json::json!({
        "credit_specification": match model.mode {
            CreditSpecification::Standard => "standard",
            CreditSpecification::Unlimited => "unlimited",
        },
        "baseline": model.baseline,
        "credits_per_hour": model.earn_per_s * 3600.0,
        "max_balance": model.max_balance,
        "balance_min": if min.is_finite() { min } else { 0.0 },
        "balance_mean": mean,
        "balance_end_mean": up.iter().map(|w| w.balance_end).sum::<f64>() / n,
        "throttled_s": throttled_s,
        "throttled_share": if window_s > 0.0 && !windows.is_empty() {
            throttled_s / window_s / windows.len() as f64
        } else {
            0.0
        },
        "first_throttled_s": first,
        "surplus_credits": spent,
        "surplus_credits_billed": billed,
    })
}

/// `bill` with the surplus credits of `windows` added, when there are any.
pub fn bill_surplus(bill: Bill, model: &CreditModel, windows: &[(CreditWindow, bool)]) -> Bill {
    let billed: f64 = windows.iter().map(|w| w.0.surplus_billed).sum();
    if billed <= 0.0 {
        return bill;
    }
    bill.charge(
        billed,
        "surplus CPU credits",
        model.usd_per_surplus_credit,
        format!(
            "{} surplus credits spent in unlimited mode and not paid down (60 credits = one \
             vCPU-hour at {}/vCPU-hour)",
            figure(billed, 6),
            dollars(model.usd_per_surplus_credit * 60.0)
        ),
    )
}

/// One instance's credit figures over the measured window.
#[derive(Clone, Debug, PartialEq)]
pub struct CreditWindow {
    /// Earned credits at the end.
    pub balance_end: f64,
    /// The lowest balance.
    pub balance_min: f64,
    /// The balance integrated over the window (credit-seconds).
    pub balance_integral: f64,
    /// Seconds throttled.
    pub throttled_s: f64,
    /// Surplus credits spent.
    pub surplus_spent: f64,
    /// Surplus credits spent and not paid down in the window: what is billed.
    pub surplus_billed: f64,
    /// When it was first throttled.
    pub first_throttled: Option<SimTime>,
}
