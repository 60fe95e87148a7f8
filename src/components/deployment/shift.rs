//! CodeDeploy's traffic-shifting configurations: the predefined ones of
//! `models/codedeploy.toml` and custom canary and linear ones written the same way
//! (`Canary25Percent3Minutes`, `Linear20PercentEvery2Minutes`), and the schedule each makes.

use crate::engine::time::SimDuration;

/// How traffic moves to the new version.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Shift {
    /// Everything at once.
    AllAtOnce,
    /// `percent` first, the rest `minutes` later.
    Canary {
        /// The first increment.
        percent: u32,
        /// Minutes before the rest.
        minutes: u32,
    },
    /// `percent` more every `minutes` until all.
    Linear {
        /// Each increment.
        percent: u32,
        /// Minutes between increments.
        minutes: u32,
    },
}

/// The prefixes CodeDeploy's own names carry, which a scenario may write or leave out.
const PREFIXES: &[&str] = &["CodeDeployDefault.Lambda", "CodeDeployDefault.", "Lambda"];

impl Shift {
    /// Parses a configuration name: a predefined one (`Canary10Percent5Minutes`, with or
    /// without AWS's `CodeDeployDefault.Lambda` prefix) or a custom one of the same shape
    /// (`Canary<P>Percent<M>Minute(s)`, `Linear<P>PercentEvery<M>Minute(s)`, 1 ≤ P ≤ 99,
    /// 1 ≤ M ≤ the bound of `models/codedeploy.toml`). The error names the nearest predefined
    /// configuration.
    pub fn parse(name: &str) -> Result<Shift, String> {
        let trimmed = PREFIXES
            .iter()
            .find_map(|p| name.strip_prefix(p))
            .unwrap_or(name);
        let known: Vec<&str> = crate::defaults::codedeploy()
            .predefined
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        let unknown = || {
            format!(
                "unknown deployment type `{name}`; expected one of {}, or a custom \
                 `Canary<P>Percent<M>Minutes` or `Linear<P>PercentEvery<M>Minutes`{}",
                known.join(", "),
                crate::units::did_you_mean(trimmed, &known)
            )
        };
        if trimmed == "AllAtOnce" {
            return Ok(Shift::AllAtOnce);
        }
        let (canary, rest) = if let Some(r) = trimmed.strip_prefix("Canary") {
            (true, r)
        } else if let Some(r) = trimmed.strip_prefix("Linear") {
            (false, r)
        } else {
            return Err(unknown());
        };
        let split = if canary { "Percent" } else { "PercentEvery" };
        let Some((percent, minutes)) = rest.split_once(split) else {
            return Err(unknown());
        };
        let minutes = minutes
            .strip_suffix("Minutes")
            .or_else(|| minutes.strip_suffix("Minute"))
            .ok_or_else(unknown)?;
        let (Ok(percent), Ok(minutes)) = (percent.parse::<u32>(), minutes.parse::<u32>()) else {
            return Err(unknown());
        };
        let max = crate::defaults::codedeploy().max_interval_minutes;
        if !(1..=99).contains(&percent) {
            return Err(format!(
                "deployment type `{name}`: the percentage must be between 1 and 99, found \
                 {percent} (for all traffic at once write `AllAtOnce`)"
            ));
        }
        if !(1..=max).contains(&minutes) {
            return Err(format!(
                "deployment type `{name}`: the interval must be between 1 and {max} minutes, \
                 found {minutes}"
            ));
        }
        Ok(if canary {
            Shift::Canary { percent, minutes }
        } else {
            Shift::Linear { percent, minutes }
        })
    }

    /// Its name as a scenario writes it.
    pub fn name(self) -> String {
        match self {
            Shift::AllAtOnce => "AllAtOnce".into(),
            Shift::Canary { percent, minutes } => format!("Canary{percent}Percent{minutes}Minutes"),
            Shift::Linear { percent, minutes } => {
                let unit = if minutes == 1 { "Minute" } else { "Minutes" };
                format!("Linear{percent}PercentEvery{minutes}{unit}")
            }
        }
    }

    /// The increments: when (after traffic starts to shift) the new version's share becomes
    /// what percentage. The first is at zero, the last is 100.
    pub fn schedule(self) -> Vec<(SimDuration, u32)> {
        let minute = |m: u32| SimDuration::from_secs(60 * u64::from(m));
        match self {
            Shift::AllAtOnce => vec![(SimDuration::ZERO, 100)],
            Shift::Canary { percent, minutes } => {
                vec![(SimDuration::ZERO, percent), (minute(minutes), 100)]
            }
            Shift::Linear { percent, minutes } => {
                let steps = 100u32.div_ceil(percent);
                (0..steps)
                    .map(|k| (minute(k * minutes), ((k + 1) * percent).min(100)))
                    .collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: u64) -> SimDuration {
        SimDuration::from_nanos(minutes * 60 * 1_000_000_000)
    }

    #[test]
    fn every_predefined_type_shifts_on_aws_schedule_to_the_nanosecond() {
        let linear = |every: u64| -> Vec<(SimDuration, u32)> {
            (0..10)
                .map(|k| (at(k * every), 10 * (k as u32 + 1)))
                .collect()
        };
        let canary = |m: u64| vec![(SimDuration::ZERO, 10), (at(m), 100)];
        let expected: Vec<(&str, Vec<(SimDuration, u32)>)> = vec![
            ("AllAtOnce", vec![(SimDuration::ZERO, 100)]),
            ("Canary10Percent5Minutes", canary(5)),
            ("Canary10Percent10Minutes", canary(10)),
            ("Canary10Percent15Minutes", canary(15)),
            ("Canary10Percent30Minutes", canary(30)),
            ("Linear10PercentEvery1Minute", linear(1)),
            ("Linear10PercentEvery2Minutes", linear(2)),
            ("Linear10PercentEvery3Minutes", linear(3)),
            ("Linear10PercentEvery10Minutes", linear(10)),
        ];
        let predefined = &crate::defaults::codedeploy().predefined;
        assert_eq!(predefined.len(), expected.len());
        for ((name, schedule), p) in expected.iter().zip(predefined) {
            assert_eq!(p.name, *name);
            let shift = Shift::parse(name).unwrap();
            assert_eq!(shift.schedule(), *schedule, "{name}");
            assert_eq!(shift.name(), *name);
            // AWS's own spelling too.
            let aws = format!("CodeDeployDefault.Lambda{name}");
            assert_eq!(Shift::parse(&aws).unwrap(), shift);
            // The model file says the same.
            let from_file = match p.kind.as_str() {
                "all_at_once" => Shift::AllAtOnce,
                "canary" => Shift::Canary {
                    percent: p.percent,
                    minutes: p.minutes,
                },
                "linear" => Shift::Linear {
                    percent: p.percent,
                    minutes: p.minutes,
                },
                other => panic!("unknown kind {other}"),
            };
            assert_eq!(from_file, shift, "{name}");
        }
        // Linear 10 % every minute reaches 100 % 9 minutes (540 s) after the first shift.
        let last = Shift::parse("Linear10PercentEvery1Minute")
            .unwrap()
            .schedule()[9];
        assert_eq!(last, (SimDuration::from_nanos(540_000_000_000), 100));
    }

    #[test]
    fn custom_types_shift_by_their_own_figures() {
        assert_eq!(
            Shift::parse("Canary25Percent3Minutes").unwrap().schedule(),
            [(SimDuration::ZERO, 25), (at(3), 100)]
        );
        // 30 % steps: 30, 60, 90, then the last 10 %.
        assert_eq!(
            Shift::parse("Linear30PercentEvery2Minutes")
                .unwrap()
                .schedule(),
            [
                (SimDuration::ZERO, 30),
                (at(2), 60),
                (at(4), 90),
                (at(6), 100)
            ]
        );
        assert_eq!(
            Shift::parse("Linear50PercentEvery1Minute").unwrap().name(),
            "Linear50PercentEvery1Minute"
        );
    }

    #[test]
    fn bad_types_name_the_nearest_and_the_bounds() {
        let e = Shift::parse("Canery10Percent5Minutes").unwrap_err();
        assert!(
            e.ends_with("did you mean `Canary10Percent5Minutes`?"),
            "{e}"
        );
        let e = Shift::parse("Linear10PercentEvery1Minutes2").unwrap_err();
        assert!(e.starts_with("unknown deployment type"), "{e}");
        let e = Shift::parse("AllAtOnse").unwrap_err();
        assert!(e.ends_with("did you mean `AllAtOnce`?"), "{e}");
        let e = Shift::parse("Canary0Percent5Minutes").unwrap_err();
        assert!(e.contains("between 1 and 99, found 0"), "{e}");
        let e = Shift::parse("Linear10PercentEvery0Minutes").unwrap_err();
        assert!(e.contains("between 1 and 2880 minutes, found 0"), "{e}");
        assert!(Shift::parse("Linear10PercentEvery99999999999Minutes").is_err());
    }
}
