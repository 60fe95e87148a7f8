//! The listener's forward action: one target group, or several with weights (AWS's weighted
//! target groups), and the weight changes given at times (a blue/green or canary shift).

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::super::{Expects, Reference, Role, SpecIssue};
use crate::engine::time::SimDuration;

/// Target groups one forward action may name (the ALB quota "target groups per action", not
/// adjustable).
pub const MAX_GROUPS: usize = 5;

/// The largest weight AWS accepts (weights run from 0 to 999).
pub const MAX_WEIGHT: u32 = 999;

/// Weight changes one ALB may schedule: each is one event, and a shift in steps of 1 % needs a
/// hundred.
pub const MAX_CHANGES: usize = 10_000;

/// One entry of `forward = [...]`: a target group and its weight.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WeightedTargetGroup {
    /// The target group: the name of an `ec2_fleet` or `asg`.
    #[schemars(with = "String")]
    pub targets: Spanned<String>,
    /// Its weight, 0 to 999: the group receives weight / (sum of the weights) of the requests;
    /// 0 sends it none. Required.
    #[schemars(with = "u32")]
    pub weight: Spanned<u32>,
}

/// One entry of `weight_changes = [...]`: new weights from a time on.
#[derive(Clone, Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WeightChange {
    /// When the new weights apply, from the start of the run. Changes are listed in time order.
    pub at: SimDuration,
    /// The new weight of each group of `forward`, in its order, each 0 to 999, not all 0.
    pub weights: Vec<u32>,
}

/// The names the forward action refers to: each is a `targets` field (the load balancer's
/// target group, as with a single group).
pub fn references(forward: &[WeightedTargetGroup]) -> Vec<Reference<'_>> {
    forward
        .iter()
        .map(|g| Reference {
            field: "targets".into(),
            name: &g.targets,
            expects: Expects::Role(Role::LoadBalancerTarget),
            synchronous: true,
        })
        .collect()
}

fn issue(field: &str, message: String, span: Range<usize>) -> SpecIssue {
    SpecIssue {
        field: field.into(),
        message,
        span,
    }
}

/// What is wrong with `targets`, `forward` and `weight_changes` taken together.
pub fn issues(
    targets: Option<&Spanned<String>>,
    forward: Option<&Spanned<Vec<WeightedTargetGroup>>>,
    changes: &[Spanned<WeightChange>],
    span: Range<usize>,
) -> Vec<SpecIssue> {
    let mut out = Vec::new();
    let Some(forward) = forward else {
        if targets.is_none() {
            out.push(issue(
                "targets",
                "missing field `targets`: an ALB needs `targets` (one target group) or \
                 `forward` (target groups with weights)"
                    .into(),
                span,
            ));
        }
        if let Some(first) = changes.first() {
            out.push(issue(
                "weight_changes",
                "weight changes need `forward` (target groups with weights)".into(),
                first.span(),
            ));
        }
        return out;
    };
    if let Some(t) = targets {
        out.push(issue(
            "targets",
            "give either `targets` (one target group) or `forward` (several), not both".into(),
            t.span(),
        ));
    }
    let groups = forward.get_ref();
    if groups.is_empty() || groups.len() > MAX_GROUPS {
        out.push(issue(
            "forward",
            format!(
                "a forward action names 1 to {MAX_GROUPS} target groups, found {}",
                groups.len()
            ),
            forward.span(),
        ));
    }
    for (i, g) in groups.iter().enumerate() {
        let w = *g.weight.get_ref();
        if w > MAX_WEIGHT {
            out.push(issue(
                &format!("forward[{i}].weight"),
                format!("a weight is 0 to {MAX_WEIGHT}, found {w}"),
                g.weight.span(),
            ));
        }
        if groups[..i]
            .iter()
            .any(|earlier| earlier.targets.get_ref() == g.targets.get_ref())
        {
            out.push(issue(
                &format!("forward[{i}].targets"),
                format!("`{}` is named twice", g.targets.get_ref()),
                g.targets.span(),
            ));
        }
    }
    if !groups.is_empty() && groups.iter().all(|g| *g.weight.get_ref() == 0) {
        out.push(issue(
            "forward",
            "every weight is 0: at least one group needs a weight above 0".into(),
            forward.span(),
        ));
    }
    if changes.len() > MAX_CHANGES {
        out.push(issue(
            "weight_changes",
            format!(
                "at most {MAX_CHANGES} weight changes, found {}",
                changes.len()
            ),
            changes[MAX_CHANGES].span(),
        ));
    }
    let mut last = None;
    for (i, c) in changes.iter().enumerate() {
        let change = c.get_ref();
        let field = format!("weight_changes[{i}]");
        if change.weights.len() != groups.len() {
            out.push(issue(
                &format!("{field}.weights"),
                format!(
                    "one weight per group of `forward` ({}), found {}",
                    groups.len(),
                    change.weights.len()
                ),
                c.span(),
            ));
        }
        if let Some(&w) = change.weights.iter().find(|&&w| w > MAX_WEIGHT) {
            out.push(issue(
                &format!("{field}.weights"),
                format!("a weight is 0 to {MAX_WEIGHT}, found {w}"),
                c.span(),
            ));
        }
        if change.weights.iter().all(|&w| w == 0) {
            out.push(issue(
                &format!("{field}.weights"),
                "every weight is 0: at least one group needs a weight above 0".into(),
                c.span(),
            ));
        }
        if last.is_some_and(|l| change.at <= l) {
            out.push(issue(
                &format!("{field}.at"),
                "weight changes are listed in time order, each later than the one before".into(),
                c.span(),
            ));
        }
        last = Some(change.at);
    }
    out
}

/// Draws a group from `weights` with `draw` uniform in 0..(sum of the weights): the group
/// whose share of the cumulative weights holds it.
pub fn weighted_pick(weights: impl IntoIterator<Item = u32>, draw: u32) -> usize {
    let mut below = 0;
    let mut last = 0;
    for (g, w) in weights.into_iter().enumerate() {
        below += w;
        if draw < below {
            return g;
        }
        last = g;
    }
    last
}

#[cfg(test)]
mod tests {
    use super::weighted_pick;

    #[test]
    fn each_draw_falls_in_its_groups_share_of_the_weights() {
        // Weights 1, 0, 3: draw 0 is the first group's, 1..=3 the third's; the zero-weight
        // group gets none.
        let picks: Vec<usize> = (0..4).map(|d| weighted_pick([1, 0, 3], d)).collect();
        assert_eq!(picks, [0, 2, 2, 2]);
        let picks: Vec<usize> = (0..4).map(|d| weighted_pick([0, 2, 2], d)).collect();
        assert_eq!(picks, [1, 1, 2, 2]);
    }
}
