//! `awsim import`: `AWS::AutoScaling::AutoScalingGroup`, with the launch template or
//! configuration it launches from, its `AWS::AutoScaling::ScalingPolicy`s, the
//! `AWS::CloudWatch::Alarm`s that trigger them, and its `AWS::AutoScaling::ScheduledAction`s
//! → `asg`.
//!
//! Carried over: `MinSize`, `MaxSize`, `DesiredCapacity`, the `InstanceType` and CPU credits,
//! `HealthCheckType`, `HealthCheckGracePeriod`, `DefaultInstanceWarmup`, `Cooldown`,
//! `TerminationPolicies`; target tracking on the predefined metrics `ASGAverageCPUUtilization`
//! and `ALBRequestCountPerTarget` (`TargetValue`, `DisableScaleIn`); step and simple policies
//! (`StepAdjustments`, `ScalingAdjustment`, `AdjustmentType`, `Cooldown`) with their alarm
//! (`MetricName` `CPUUtilization` or `RequestCountPerTarget`, `ComparisonOperator`,
//! `Threshold`, `Period`, `EvaluationPeriods`, `DatapointsToAlarm`, `Statistic`,
//! `TreatMissingData`). A scheduled action's time is a clock time or a cron expression, which
//! a run that starts at zero cannot place: it is written as a note, marked TODO. The load
//! balancer a group registers with says so itself (its `targets`).

use toml::Value as Toml;

use crate::import::text::{self, s, seconds};
use crate::import::tree::{Node, number_text};
use crate::import::wiring::any_id;
use crate::import::{Cx, Draft, ImportError, Resource, ec2};

/// The resource types that become a group.
pub const RESOURCE_TYPES: &[&str] = &["AWS::AutoScaling::AutoScalingGroup"];

/// Writes the group of `r`.
pub fn map(r: &Resource, cx: &Cx<'_>, d: &mut Draft) -> Result<(), ImportError> {
    let size = |name: &str| -> Result<Option<u32>, ImportError> {
        Ok(cx.number(r, name)?.map(|v| v as u32))
    };
    let min = size("MinSize")?;
    let max = size("MaxSize")?;
    match (min, max) {
        (Some(min), Some(max)) => {
            d.set("min", Toml::Integer(min.into()), "MinSize");
            d.set("max", Toml::Integer(max.into()), "MaxSize");
        }
        _ => {
            return Err(cx.error(
                r.pos,
                format!("Auto Scaling group `{}` needs MinSize and MaxSize", r.id),
            ));
        }
    }
    if let Some(desired) = size("DesiredCapacity")? {
        d.set("desired", Toml::Integer(desired.into()), "DesiredCapacity");
    }
    let launch = ec2::launch(r, cx);
    if let Some(h) = &launch.holder {
        d.absorb(h);
    }
    text::instance_type(d, launch.instance_type.as_deref(), &launch.from);
    text::credit_specification(d, launch.instance_type.as_deref(), launch.cpu_credits);
    text::instance_handler(d);
    if r.prop("HealthCheckType").and_then(Node::text).as_deref() == Some("ELB") {
        d.set("health_check_type", s("elb"), "HealthCheckType");
    }
    for (prop, key) in [
        ("HealthCheckGracePeriod", "health_check_grace_period"),
        ("DefaultInstanceWarmup", "instance_warmup"),
        ("Cooldown", "default_cooldown"),
    ] {
        if let Some(v) = cx.number(r, prop)? {
            d.set(key, seconds(v), prop);
        }
    }
    let policies = r
        .prop("TerminationPolicies")
        .map(Node::items)
        .unwrap_or_default();
    if let Some(p) = policies.first().and_then(Node::text) {
        match p.as_str() {
            "OldestInstance" => d.set(
                "termination_policy",
                s("oldest_instance"),
                "TerminationPolicies",
            ),
            "NewestInstance" => d.set(
                "termination_policy",
                s("newest_instance"),
                "TerminationPolicies",
            ),
            other => d.note(format!(
                "TerminationPolicies `{other}` is not simulated: the oldest instance goes first"
            )),
        }
    }
    for sa in cx.referring(
        "AWS::AutoScaling::ScheduledAction",
        "AutoScalingGroupName",
        &r.id,
    ) {
        d.absorb(&sa.id);
        let when = sa
            .prop("Recurrence")
            .and_then(Node::text)
            .map(|c| format!("Recurrence `{c}`"))
            .or_else(|| {
                sa.prop("StartTime")
                    .and_then(Node::text)
                    .map(|t| format!("StartTime {t}"))
            })
            .unwrap_or_else(|| "no time".into());
        let mut sizes = Vec::new();
        for (prop, key) in [
            ("MinSize", "min"),
            ("MaxSize", "max"),
            ("DesiredCapacity", "desired"),
        ] {
            if let Some(v) = cx.number(sa, prop)? {
                sizes.push(format!("{key} = {}", number_text(v)));
            }
        }
        d.note(format!(
            "scheduled action `{}` ({when}): TODO(import): when in the run? \
             [[component.scheduled]] at = \"...\", {}",
            sa.id,
            sizes.join(", ")
        ));
    }
    for p in cx.referring(
        "AWS::AutoScaling::ScalingPolicy",
        "AutoScalingGroupName",
        &r.id,
    ) {
        match policy(p, cx)? {
            Ok(lines) => {
                d.absorb(&p.id);
                for a in alarms(p, cx) {
                    d.absorb(&a.id);
                }
                d.sub_table("[[component.policy]]", lines);
            }
            Err(why) => {
                d.unsupported.push((p.id.clone(), why.clone()));
                for a in alarms(p, cx) {
                    d.unsupported
                        .push((a.id.clone(), format!("it triggers `{}`: {why}", p.id)));
                }
            }
        }
    }
    Ok(())
}

/// The alarms whose `AlarmActions` name policy `p`.
fn alarms<'t>(p: &Resource, cx: &Cx<'t>) -> Vec<&'t Resource> {
    cx.template
        .of_type("AWS::CloudWatch::Alarm")
        .filter(|a| {
            a.prop("AlarmActions")
                .map(Node::items)
                .unwrap_or_default()
                .iter()
                .any(|n| any_id(n, cx.template).as_deref() == Some(p.id.as_str()))
        })
        .collect()
}

type Line = (String, Toml, String);

fn line(key: &str, value: Toml, from: &str) -> Line {
    (key.to_string(), value, from.to_string())
}

/// The `[[component.policy]]` lines of policy `p`, or why it cannot be one.
fn policy(p: &Resource, cx: &Cx<'_>) -> Result<Result<Vec<Line>, String>, ImportError> {
    let ty = p
        .prop("PolicyType")
        .and_then(Node::text)
        .unwrap_or_else(|| "SimpleScaling".into());
    let mut lines = vec![line("name", s(&p.id), "")];
    match ty.as_str() {
        "TargetTrackingScaling" => {
            let config = p.prop("TargetTrackingConfiguration");
            let predefined = config
                .and_then(|c| c.get("PredefinedMetricSpecification"))
                .and_then(|m| m.get("PredefinedMetricType"))
                .and_then(Node::text);
            let metric = match predefined.as_deref() {
                Some("ASGAverageCPUUtilization") => "cpu_utilization",
                Some("ALBRequestCountPerTarget") => "request_count_per_target",
                Some(other) => {
                    return Ok(Err(format!(
                        "target tracking on `{other}`: awsim's groups track CPU utilization or \
                         requests per target"
                    )));
                }
                None => {
                    return Ok(Err(
                        "target tracking on a customized metric: awsim's groups track CPU \
                         utilization or requests per target"
                            .into(),
                    ));
                }
            };
            lines.push(line("type", s("target_tracking"), "TargetTrackingScaling"));
            lines.push(line(
                "metric",
                s(metric),
                &format!("PredefinedMetricType {}", predefined.unwrap_or_default()),
            ));
            let Some(target) = cx.number_in(config, "TargetValue")? else {
                return Ok(Err("target tracking without a TargetValue".into()));
            };
            lines.push(line("target", Toml::Float(target), "TargetValue"));
            if config
                .and_then(|c| c.get("DisableScaleIn"))
                .and_then(Node::boolean)
                == Some(true)
            {
                lines.push(line(
                    "disable_scale_in",
                    Toml::Boolean(true),
                    "DisableScaleIn",
                ));
            }
            Ok(Ok(lines))
        }
        "StepScaling" | "SimpleScaling" => {
            let found = alarms(p, cx);
            let Some(alarm) = found.first() else {
                return Ok(Err("no CloudWatch alarm of the template triggers it".into()));
            };
            let step = ty == "StepScaling";
            lines.push(line("type", s(if step { "step" } else { "simple" }), &ty));
            if let Err(why) = alarm_lines(alarm, cx, &mut lines)? {
                return Ok(Err(why));
            }
            match p.prop("AdjustmentType").and_then(Node::text).as_deref() {
                Some("ExactCapacity") => lines.push(line(
                    "adjustment_type",
                    s("exact_capacity"),
                    "AdjustmentType",
                )),
                Some("PercentChangeInCapacity") => lines.push(line(
                    "adjustment_type",
                    s("percent_change_in_capacity"),
                    "AdjustmentType",
                )),
                _ => {}
            }
            if step {
                let mut steps = Vec::new();
                for st in p
                    .prop("StepAdjustments")
                    .map(Node::items)
                    .unwrap_or_default()
                {
                    let mut t = toml::map::Map::new();
                    let lower = cx.number_signed(st, "MetricIntervalLowerBound")?;
                    let upper = cx.number_signed(st, "MetricIntervalUpperBound")?;
                    if let Some(l) = lower {
                        t.insert("lower".into(), Toml::Float(l));
                    }
                    if let Some(u) = upper {
                        t.insert("upper".into(), Toml::Float(u));
                    }
                    let change = cx.number_signed(st, "ScalingAdjustment")?.unwrap_or(0.0);
                    t.insert("change".into(), Toml::Integer(change as i64));
                    steps.push(Toml::Table(t));
                }
                if steps.is_empty() {
                    return Ok(Err("a step policy without StepAdjustments".into()));
                }
                lines.push(line("steps", Toml::Array(steps), "StepAdjustments"));
            } else {
                let Some(change) = cx.number_signed(&p.properties, "ScalingAdjustment")? else {
                    return Ok(Err("a simple policy without ScalingAdjustment".into()));
                };
                lines.push(line(
                    "adjustment",
                    Toml::Integer(change as i64),
                    "ScalingAdjustment",
                ));
                if let Some(c) = cx.number(p, "Cooldown")? {
                    lines.push(line("cooldown", seconds(c), "Cooldown"));
                }
            }
            if found.len() > 1 {
                lines[0].2 = format!(
                    "TODO(import): alarms {} also trigger it; awsim's policy has one",
                    found[1..]
                        .iter()
                        .map(|a| format!("`{}`", a.id))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            Ok(Ok(lines))
        }
        other => Ok(Err(format!(
            "a `{other}` policy: awsim's groups have target tracking, step and simple policies"
        ))),
    }
}

/// The alarm's settings as a step or simple policy's lines, or why it cannot be one.
fn alarm_lines(
    a: &Resource,
    cx: &Cx<'_>,
    lines: &mut Vec<Line>,
) -> Result<Result<(), String>, ImportError> {
    let from = format!("alarm `{}`", a.id);
    let metric = match a.prop("MetricName").and_then(Node::text).as_deref() {
        Some("CPUUtilization") => "cpu_utilization",
        Some("RequestCountPerTarget") => "request_count_per_target",
        Some(other) => {
            return Ok(Err(format!(
                "its alarm `{}` watches `{other}`: awsim's groups scale on CPU utilization or \
                 requests per target",
                a.id
            )));
        }
        None => return Ok(Err(format!("its alarm `{}` names no metric", a.id))),
    };
    lines.push(line("metric", s(metric), &format!("{from}'s MetricName")));
    let comparison = match a.prop("ComparisonOperator").and_then(Node::text).as_deref() {
        Some("GreaterThanThreshold") => ">",
        Some("GreaterThanOrEqualToThreshold") => ">=",
        Some("LessThanThreshold") => "<",
        Some("LessThanOrEqualToThreshold") => "<=",
        other => {
            return Ok(Err(format!(
                "its alarm `{}` compares with {}: awsim's alarms compare with a static threshold",
                a.id,
                other.unwrap_or("nothing")
            )));
        }
    };
    lines.push(line("comparison", s(comparison), "ComparisonOperator"));
    let Some(threshold) = cx.number_signed(&a.properties, "Threshold")? else {
        return Ok(Err(format!("its alarm `{}` has no Threshold", a.id)));
    };
    lines.push(line("threshold", Toml::Float(threshold), "Threshold"));
    if let Some(period) = cx.number(a, "Period")? {
        if period >= 60.0 && period % 60.0 == 0.0 {
            lines.push(line("period", seconds(period), "Period"));
        } else {
            lines.push(line(
                "period",
                s("60s"),
                &format!(
                    "TODO(import): Period {} s is not a multiple of the group's 60 s metric period",
                    number_text(period)
                ),
            ));
        }
    }
    if let Some(n) = cx.number(a, "EvaluationPeriods")? {
        lines.push(line(
            "evaluation_periods",
            Toml::Integer(n as i64),
            "EvaluationPeriods",
        ));
    }
    if let Some(m) = cx.number(a, "DatapointsToAlarm")? {
        lines.push(line(
            "datapoints_to_alarm",
            Toml::Integer(m as i64),
            "DatapointsToAlarm",
        ));
    }
    let statistic = match a.prop("Statistic").and_then(Node::text).as_deref() {
        Some("Sum") => Some("sum"),
        Some("Maximum") => Some("maximum"),
        Some("Minimum") => Some("minimum"),
        Some("SampleCount") => Some("sample_count"),
        _ => None,
    };
    if let Some(st) = statistic {
        lines.push(line("statistic", s(st), "Statistic"));
    } else if let Some(p) = a.prop("ExtendedStatistic").and_then(Node::text) {
        lines.push(line(
            "statistic",
            s(p.to_ascii_lowercase()),
            "ExtendedStatistic",
        ));
    }
    let missing = match a.prop("TreatMissingData").and_then(Node::text).as_deref() {
        Some("breaching") => Some("breaching"),
        Some("notBreaching") => Some("not_breaching"),
        Some("ignore") => Some("ignore"),
        _ => None,
    };
    if let Some(m) = missing {
        lines.push(line("treat_missing_data", s(m), "TreatMissingData"));
    }
    Ok(Ok(()))
}
