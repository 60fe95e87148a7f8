//! Means and 95 % confidence half-widths across replications (Student t with n − 1 degrees of
//! freedom). `tests/it/stats.rs` uses these functions and checks them against published tables.

/// Arithmetic mean (NaN for an empty slice).
pub fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Sample standard deviation (divisor n − 1); 0 for fewer than two values.
pub fn sample_std_dev(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return 0.0;
    }
    let m = mean(xs);
    let ss: f64 = xs.iter().map(|x| (x - m) * (x - m)).sum();
    (ss / (xs.len() - 1) as f64).sqrt()
}

/// `∫₀^θ cos^(ν−1)(x) dx` by composite Simpson's rule: with t = √ν·tan x the Student-t density
/// with ν degrees of freedom is proportional to cos^(ν−1)(x) on (−π/2, π/2).
fn cos_power_integral(df: u32, theta: f64) -> f64 {
    const STEPS: usize = 4_000; // even
    let h = theta / STEPS as f64;
    let f = |x: f64| x.cos().powi(df as i32 - 1);
    let mut sum = f(0.0) + f(theta);
    for i in 1..STEPS {
        let weight = if i % 2 == 1 { 4.0 } else { 2.0 };
        sum += weight * f(i as f64 * h);
    }
    sum * h / 3.0
}

/// The `p` quantile (0.5 < p < 1) of Student's t distribution with `df` ≥ 1 degrees of
/// freedom: bisection on the exact distribution function, accurate to about 1e-8 (checked
/// against published tables in `tests/it/stats.rs`).
pub fn t_quantile(p: f64, df: u32) -> f64 {
    assert!(df >= 1, "Student t needs at least one degree of freedom");
    assert!(p > 0.5 && p < 1.0, "t_quantile takes 0.5 < p < 1, got {p}");
    let whole = cos_power_integral(df, std::f64::consts::FRAC_PI_2);
    let target = 2.0 * p - 1.0; // P(|T| < t)
    let (mut lo, mut hi) = (0.0_f64, std::f64::consts::FRAC_PI_2);
    // 60 halvings of π/2 reach the resolution of f64.
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if cos_power_integral(df, mid) / whole < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (df as f64).sqrt() * (0.5 * (lo + hi)).tan()
}

/// The 0.975 quantile of Student's t: the multiplier of a two-sided 95 % interval.
pub fn t975(df: u32) -> f64 {
    t_quantile(0.975, df)
}

/// Mean and 95 % half-width (`None` with fewer than two values: no interval).
pub fn interval(xs: &[f64]) -> (f64, Option<f64>) {
    let m = mean(xs);
    if xs.len() < 2 {
        return (m, None);
    }
    let n = xs.len();
    (
        m,
        Some(t975((n - 1) as u32) * sample_std_dev(xs) / (n as f64).sqrt()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_multipliers_match_tables() {
        for (df, expected) in [
            (1, 12.7062),
            (2, 4.3027),
            (4, 2.7764),
            (9, 2.2622),
            (30, 2.0423),
        ] {
            assert!((t975(df) - expected).abs() < 6e-5, "df {df}: {}", t975(df));
        }
    }

    #[test]
    fn interval_of_three() {
        let (m, h) = interval(&[9.0, 10.0, 11.0]);
        assert_eq!(m, 10.0);
        assert!((h.unwrap() - 4.302653 / 3f64.sqrt()).abs() < 1e-5);
        assert_eq!(interval(&[3.0]), (3.0, None));
        assert_eq!(interval(&[2.0, 2.0]).1, Some(0.0));
    }
}
