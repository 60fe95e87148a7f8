//! `--goal`: a bound on a workload figure, e.g. `p99<200ms`, `checkout.p999<=1s`, `errors<1%`.
//!
//! A point meets a goal when the figure's mean across replications is within the bound, for
//! the named workload or, without a name, for every workload. Latency figures are of successful
//! requests (as in summary.json), so pair a latency goal with an `errors` goal when the design
//! can shed load: a fleet that answers half its requests with 503 can show a fine p99.

use std::fmt;

use crate::units;
use crate::units::did_you_mean;

/// A figure a goal can bound.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum GoalFigure {
    /// End-to-end latency (`mean`, `p50`, `p90`, `p99`, `p999`), in ms.
    Latency(&'static str),
    /// Share of requests that failed, were throttled or timed out (0 to 1).
    Errors,
}

impl GoalFigure {
    /// The figure's name in `sweep.csv` (after `WORKLOAD.`).
    pub fn column(self) -> String {
        match self {
            GoalFigure::Latency(stat) => format!("latency_{stat}_ms"),
            GoalFigure::Errors => "error_share".into(),
        }
    }
}

/// One parsed `--goal`.
#[derive(Clone, Debug, PartialEq)]
pub struct Goal {
    /// As given.
    pub text: String,
    /// The workload it bounds (`None`: every workload).
    pub workload: Option<String>,
    /// The figure.
    pub figure: GoalFigure,
    /// `<=` rather than `<`.
    pub inclusive: bool,
    /// The bound in the figure's unit (ms, or a share).
    pub bound: f64,
}

impl fmt::Display for Goal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

const LATENCY: [&str; 5] = ["mean", "p50", "p90", "p99", "p999"];

impl Goal {
    /// Parses `[WORKLOAD.]FIGURE(<|<=)VALUE`; `workloads` are the scenario's, for checking the
    /// name.
    pub fn parse(text: &str, workloads: &[&str]) -> Result<Goal, String> {
        let usage = "write [WORKLOAD.]FIGURE<VALUE: FIGURE one of mean, p50, p90, p99, p999 \
                     (a latency, with a unit: 200ms, 1.5s) or errors (a share: 1% or 0.01); \
                     < or <=";
        let fail = |why: String| Err(format!("--goal {text}: {why}; {usage}"));
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let Some(at) = compact.find('<') else {
            return fail("no `<` or `<=`".into());
        };
        let left = &compact[..at];
        let (inclusive, right) = match compact[at + 1..].strip_prefix('=') {
            Some(r) => (true, r),
            None => (false, &compact[at + 1..]),
        };
        let (workload, name) = match left.rsplit_once('.') {
            Some((w, n)) => (Some(w.to_string()), n),
            None => (None, left),
        };
        let figure = if name == "errors" {
            GoalFigure::Errors
        } else if let Some(stat) = LATENCY.iter().find(|s| **s == name) {
            GoalFigure::Latency(stat)
        } else {
            let mut names: Vec<&str> = LATENCY.to_vec();
            names.push("errors");
            return fail(format!(
                "unknown figure `{name}`{}",
                did_you_mean(name, &names)
            ));
        };
        if let Some(w) = &workload
            && !workloads.contains(&w.as_str())
        {
            return Err(format!(
                "--goal {text}: no workload is named `{w}`{}; the scenario's workloads are {}",
                did_you_mean(w, workloads),
                workloads
                    .iter()
                    .map(|w| format!("`{w}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let bound = match figure {
            GoalFigure::Latency(_) => {
                if right.parse::<f64>().is_ok() {
                    return fail(format!("`{right}` needs a unit (ms or s)"));
                }
                match units::parse_duration(right) {
                    Ok(d) => d.as_secs_f64() * 1000.0,
                    Err(e) => return fail(format!("`{right}`: {e}")),
                }
            }
            GoalFigure::Errors => {
                let share = match right.strip_suffix('%') {
                    Some(p) => p.parse::<f64>().map(|p| p / 100.0),
                    None => right.parse::<f64>(),
                };
                match share {
                    Ok(s) if (0.0..=1.0).contains(&s) => s,
                    _ => {
                        return fail(format!(
                            "`{right}` is not a share between 0 and 1 (or 0% and 100%)"
                        ));
                    }
                }
            }
        };
        Ok(Goal {
            text: text.trim().to_string(),
            workload,
            figure,
            inclusive,
            bound,
        })
    }

    /// Whether `value` is within the bound.
    pub fn holds(&self, value: f64) -> bool {
        if self.inclusive {
            value <= self.bound
        } else {
            value < self.bound
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_goals() {
        let g = Goal::parse("p99<200ms", &["shoppers"]).unwrap();
        assert_eq!(g.workload, None);
        assert_eq!(g.figure, GoalFigure::Latency("p99"));
        assert_eq!(g.bound, 200.0);
        assert!(!g.inclusive);
        assert!(g.holds(199.9) && !g.holds(200.0));
        let g = Goal::parse("shoppers.p999 <= 1.5s", &["shoppers"]).unwrap();
        assert_eq!(g.workload.as_deref(), Some("shoppers"));
        assert_eq!(g.bound, 1500.0);
        assert!(g.holds(1500.0));
        let g = Goal::parse("errors<1%", &["a"]).unwrap();
        assert_eq!(g.figure, GoalFigure::Errors);
        assert!((g.bound - 0.01).abs() < 1e-12);
        let e = Goal::parse("mean<=0.05", &["a"]).unwrap_err();
        assert!(e.contains("needs a unit"), "{e}");
    }

    #[test]
    fn rejects_bad_goals() {
        let e = Goal::parse("meen<200ms", &["a"]).unwrap_err();
        assert!(e.contains("did you mean `mean`?"), "{e}");
        let e = Goal::parse("shopers.p99<200ms", &["shoppers"]).unwrap_err();
        assert!(e.contains("did you mean `shoppers`?"), "{e}");
        assert!(Goal::parse("p99>200ms", &["a"]).is_err());
        assert!(Goal::parse("errors<150%", &["a"]).is_err());
    }
}
