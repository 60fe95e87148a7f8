//! Statistics for comparing simulations with exact results (see VALIDATION.md): sample mean and
//! standard deviation, Student-t quantiles, 95 % confidence intervals from independent
//! replications, an assertion that names the case and says how far off it is, a runner of
//! replications with fixed seeds, and the Erlang B / Erlang C formulas.
//!
//! Everything here is checked against known values by the unit tests at the bottom.

use std::fmt;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use awsim::run::run_quietly;
use awsim::run::summary::Summary;
use awsim::scenario::{RunSettings, Scenario};
use serde_json::Value;

// The library's own statistics (sweeps use them); the tests below check them against
// published tables.
pub use awsim::sweep::stats::{mean, t_quantile, t975};

/// Sample standard deviation (divisor n − 1); needs at least two values.
pub fn sample_std_dev(xs: &[f64]) -> f64 {
    assert!(
        xs.len() >= 2,
        "a standard deviation needs two values or more"
    );
    awsim::sweep::stats::sample_std_dev(xs)
}

/// A 95 % confidence interval for a mean: `mean ± half_width`.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct ConfidenceInterval {
    /// The sample mean.
    pub mean: f64,
    /// t(0.975, n − 1) · s / √n.
    pub half_width: f64,
    /// Number of observations (replications).
    pub n: usize,
}

impl ConfidenceInterval {
    /// The Student-t interval from independent, identically distributed observations (one per
    /// replication); needs at least two.
    pub fn from_replications(xs: &[f64]) -> ConfidenceInterval {
        assert!(
            xs.len() >= 2,
            "a confidence interval needs two replications or more"
        );
        let n = xs.len();
        let s = sample_std_dev(xs);
        ConfidenceInterval {
            mean: mean(xs),
            half_width: t975((n - 1) as u32) * s / (n as f64).sqrt(),
            n,
        }
    }

    /// Half-width relative to the mean's magnitude.
    pub fn relative_half_width(&self) -> f64 {
        self.half_width / self.mean.abs()
    }
}

impl fmt::Display for ConfidenceInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:.6} ± {:.6} (95 %, n = {}, ±{:.2} %)",
            self.mean,
            self.half_width,
            self.n,
            100.0 * self.relative_half_width()
        )
    }
}

/// How many half-widths the estimate is from `exact` (infinite when the interval is a point
/// that misses).
pub fn half_widths_off(exact: f64, ci: &ConfidenceInterval) -> f64 {
    let off = (ci.mean - exact).abs();
    if off == 0.0 { 0.0 } else { off / ci.half_width }
}

/// `Ok` when |estimate − exact| ≤ k · half-width, else a message naming the case with the exact
/// value, the estimate, the half-width and how many half-widths off it is.
pub fn within(name: &str, exact: f64, ci: &ConfidenceInterval, k: f64) -> Result<(), String> {
    let off = half_widths_off(exact, ci);
    if off <= k {
        return Ok(());
    }
    Err(format!(
        "{name}: exact {exact:.6}, estimate {:.6} ± {:.6} (95 % half-width, n = {}); \
         off by {:+.6} = {off:.2} half-widths (allowed {k})",
        ci.mean,
        ci.half_width,
        ci.n,
        ci.mean - exact,
    ))
}

/// Panics unless |estimate − exact| ≤ k · half-width, with a message naming the case.
pub fn assert_within(name: &str, exact: f64, ci: &ConfidenceInterval, k: f64) {
    if let Err(message) = within(name, exact, ci, k) {
        panic!("{message}");
    }
}

/// Runs `replications` independent runs of the scenario `text`, with seeds 1..=replications,
/// on all available cores, and returns `extract` of each summary in seed order.
///
/// Every run must pass the conservation check (`run_quietly` errors otherwise; this panics on
/// any error, naming the seed).
pub fn replicate<T: Send>(
    text: &str,
    replications: u64,
    extract: impl Fn(&Summary) -> T + Sync,
) -> Vec<T> {
    let scenario = Scenario::parse(text, Path::new("inline.toml"))
        .unwrap_or_else(|e| panic!("invalid scenario:\n{e}\n{text}"));
    let next_seed = AtomicU64::new(1);
    let results: Mutex<Vec<Option<T>>> = Mutex::new((0..replications).map(|_| None).collect());
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(replications as usize);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let seed = next_seed.fetch_add(1, Ordering::Relaxed);
                    if seed > replications {
                        break;
                    }
                    let settings = RunSettings {
                        seed: Some(seed),
                        duration: None,
                        interval: None,
                    };
                    let summary = run_quietly(&scenario, settings)
                        .unwrap_or_else(|e| panic!("run with seed {seed} failed: {e}"));
                    assert!(summary.conservation.ok, "seed {seed}: conservation");
                    let value = extract(&summary);
                    results.lock().unwrap()[(seed - 1) as usize] = Some(value);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|v| v.expect("every seed ran"))
        .collect()
}

/// The number at `path` inside a summary.json object, e.g.
/// `number(&summary.components, &["server", "wait_ms", "mean"])`.
pub fn number(root: &serde_json::Map<String, Value>, path: &[&str]) -> f64 {
    let mut v = root
        .get(path[0])
        .unwrap_or_else(|| panic!("no `{}` in the summary", path[0]));
    for key in &path[1..] {
        v = v
            .get(key)
            .unwrap_or_else(|| panic!("no `{}` in the summary", path.join(".")));
    }
    v.as_f64()
        .unwrap_or_else(|| panic!("`{}` is not a number: {v}", path.join(".")))
}

/// The list of integers at `path` inside a summary.json object (e.g. `instance_requests`).
pub fn counts(root: &serde_json::Map<String, Value>, path: &[&str]) -> Vec<u64> {
    let mut v = root
        .get(path[0])
        .unwrap_or_else(|| panic!("no `{}` in the summary", path[0]));
    for key in &path[1..] {
        v = v
            .get(key)
            .unwrap_or_else(|| panic!("no `{}` in the summary", path.join(".")));
    }
    v.as_array()
        .unwrap_or_else(|| panic!("`{}` is not a list: {v}", path.join(".")))
        .iter()
        .map(|x| x.as_u64().expect("a count"))
        .collect()
}

/// Erlang B: the blocking probability of `c` servers with no queue and offered load
/// `a` = λ·E[S] erlangs. Recursion B(0) = 1, B(k) = a·B(k−1) / (k + a·B(k−1)).
pub fn erlang_b(c: u32, a: f64) -> f64 {
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (k as f64 + a * b);
    }
    b
}

/// Erlang C: the probability that an arrival waits in an M/M/`c` queue with offered load
/// `a` = λ/μ erlangs (needs a < c). C = B / (1 − ρ(1 − B)) with ρ = a/c.
pub fn erlang_c(c: u32, a: f64) -> f64 {
    assert!(a < c as f64, "M/M/{c} with offered load {a} is unstable");
    let b = erlang_b(c, a);
    let rho = a / c as f64;
    b / (1.0 - rho * (1.0 - b))
}

/// Mean queueing delay (seconds) of M/M/c: Wq = C / (cμ − λ).
pub fn mmc_mean_wait(c: u32, lambda: f64, mu: f64) -> f64 {
    erlang_c(c, lambda / mu) / (c as f64 * mu - lambda)
}

/// σ of the E_k/M/1 queue a backend sees under round robin over `k` identical single-worker
/// backends with total Poisson rate `lambda` and service rate `mu` each: the root in (0, 1) of
/// σ = (λ / (λ + μ(1 − σ)))^k. It is the probability that an arrival waits; the sojourn time
/// is exponential with rate μ(1 − σ). Fixed-point iteration from 0 climbs monotonically to it.
pub fn ek_m1_sigma(k: u32, lambda: f64, mu: f64) -> f64 {
    assert!(
        lambda / (k as f64) < mu,
        "E_{k}/M/1 with λ/k ≥ μ is unstable"
    );
    let mut sigma = 0.0_f64;
    for _ in 0..100_000 {
        let next = (lambda / (lambda + mu * (1.0 - sigma))).powi(k as i32);
        if (next - sigma).abs() < 1e-15 {
            return next;
        }
        sigma = next;
    }
    sigma
}

#[test]
fn mean_and_sample_standard_deviation() {
    let xs = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
    assert_eq!(mean(&xs), 5.0);
    // Σ(x − 5)² = 32, divided by n − 1 = 7.
    assert!((sample_std_dev(&xs) - (32.0_f64 / 7.0).sqrt()).abs() < 1e-12);
}

#[test]
fn t_quantiles_match_published_tables() {
    // Two-sided 95 % (p = 0.975) multipliers, 4 decimals, from standard tables.
    let table = [
        (1, 12.7062),
        (2, 4.3027),
        (3, 3.1824),
        (4, 2.7764),
        (5, 2.5706),
        (6, 2.4469),
        (7, 2.3646),
        (8, 2.3060),
        (9, 2.2622),
        (10, 2.2281),
        (15, 2.1314),
        (19, 2.0930),
        (20, 2.0860),
        (24, 2.0639),
        (29, 2.0452),
        (30, 2.0423),
        (40, 2.0211),
        (50, 2.0086),
        (60, 2.0003),
        (80, 1.9901),
        (100, 1.9840),
        (120, 1.9799),
    ];
    for (df, expected) in table {
        let t = t975(df);
        assert!(
            (t - expected).abs() < 6e-5,
            "t(0.975, {df}) = {t}, tables say {expected}"
        );
    }
    // Other levels.
    assert!((t_quantile(0.95, 10) - 1.8125).abs() < 6e-5);
    assert!((t_quantile(0.995, 10) - 3.1693).abs() < 6e-5);
    assert!((t_quantile(0.995, 1) - 63.6567).abs() < 6e-4);
    // df = 1 is Cauchy: t = tan(π(p − ½)) exactly.
    let cauchy = (std::f64::consts::PI * 0.475).tan();
    assert!((t975(1) - cauchy).abs() < 1e-6, "{} vs {cauchy}", t975(1));
    // df = 2 has a closed form: t = (2p − 1)·√(2 / (1 − (2p − 1)²)).
    let x: f64 = 0.95;
    let closed = x * (2.0 / (1.0 - x * x)).sqrt();
    assert!((t975(2) - closed).abs() < 1e-7, "{} vs {closed}", t975(2));
    // Large df tends to the normal quantile 1.959964, from above and decreasing.
    assert!((t975(10_000) - 1.959964).abs() < 1e-3);
    for df in 1..100 {
        assert!(t975(df) > t975(df + 1), "t975 decreases with df ({df})");
    }
}

#[test]
fn confidence_interval_and_assertion() {
    let xs = [9.0, 10.0, 11.0];
    let ci = ConfidenceInterval::from_replications(&xs);
    assert_eq!(ci.mean, 10.0);
    assert_eq!(ci.n, 3);
    // s = 1, t(0.975, 2) = 4.3027, half-width = 4.3027 / √3 = 2.4842.
    assert!((ci.half_width - 4.302653 / 3f64.sqrt()).abs() < 1e-5);
    assert_within("inside", 12.0, &ci, 1.0);
    assert_within(
        "three half-widths",
        10.0 + 3.0 * ci.half_width - 1e-9,
        &ci,
        3.0,
    );
    let failure = std::panic::catch_unwind(|| assert_within("the case", 20.0, &ci, 3.0))
        .expect_err("10 ± 2.48 does not contain 20 within 3 half-widths");
    let message = failure
        .downcast_ref::<String>()
        .expect("a formatted message");
    assert!(message.contains("the case"), "{message}");
    assert!(message.contains("exact 20.000000"), "{message}");
    assert!(message.contains("4.03 half-widths"), "{message}");
}

#[test]
fn erlang_b_known_values() {
    assert_eq!(erlang_b(0, 3.0), 1.0);
    assert!((erlang_b(1, 2.0) - 2.0 / 3.0).abs() < 1e-15);
    // B(2, 1) = (1/2) / (1 + 1 + 1/2) = 0.2.
    assert!((erlang_b(2, 1.0) - 0.2).abs() < 1e-15);
    // Tables: 10 trunks, 5 erlangs -> 1.8385 % blocking.
    assert!((erlang_b(10, 5.0) - 0.018385).abs() < 1e-6);
}

#[test]
fn erlang_c_known_values() {
    // M/M/1: P(wait) = ρ.
    assert!((erlang_c(1, 0.9) - 0.9).abs() < 1e-12);
    // M/M/2: P(wait) = 2ρ² / (1 + ρ); ρ = 0.5 gives 1/3.
    assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
    // The mmc.toml example: c = 8, A = 7.2.
    assert!((erlang_c(8, 7.2) - 0.701533).abs() < 1e-6);
    // Wq = C / (cμ − λ) = 0.701533 / (80 − 72) s = 87.69 ms.
    assert!((mmc_mean_wait(8, 72.0, 10.0) - 0.701533 / 8.0).abs() < 1e-6);
    // M/M/1 Wq = ρ / (μ − λ).
    assert!((mmc_mean_wait(1, 9.0, 10.0) - 0.9).abs() < 1e-12);
}

#[test]
fn ek_m1_sigma_known_values() {
    // k = 1 is M/M/1: σ = ρ.
    assert!((ek_m1_sigma(1, 9.0, 10.0) - 0.9).abs() < 1e-12);
    // E_2/M/1 with λ = μ = 2: σ(4 − 2σ)² = 4, i.e. (σ − 1)(σ² − 3σ + 1) = 0, σ = (3 − √5)/2.
    let exact = (3.0 - 5f64.sqrt()) / 2.0;
    assert!((ek_m1_sigma(2, 2.0, 2.0) - exact).abs() < 1e-12);
    // Round robin smooths arrivals: σ is below the M/M/1 value ρ = λ/(kμ).
    assert!(ek_m1_sigma(4, 48.0, 20.0) < 0.6);
}

/// Half-widths a [`Checks::ci`] estimate may be off.
pub const CHECK_HALF_WIDTHS: f64 = 3.0;

/// The checks of one case: prints every comparison, then fails with all misses at once.
pub struct Checks {
    case: String,
    started: std::time::Instant,
    failures: Vec<String>,
}

impl Checks {
    /// The checks of case `case`.
    pub fn new(case: impl Into<String>) -> Checks {
        Checks {
            case: case.into(),
            started: std::time::Instant::now(),
            failures: Vec::new(),
        }
    }

    /// The exact value must lie within [`CHECK_HALF_WIDTHS`] half-widths of the replications' mean.
    pub fn ci(&mut self, what: &str, exact: f64, xs: impl IntoIterator<Item = f64>) {
        let xs: Vec<f64> = xs.into_iter().collect();
        let ci = ConfidenceInterval::from_replications(&xs);
        let name = format!("{} | {what}", self.case);
        println!(
            "{name}: exact {exact:.6}, estimate {ci}, {:.2} half-widths off",
            half_widths_off(exact, &ci)
        );
        if let Err(message) = within(&name, exact, &ci, CHECK_HALF_WIDTHS) {
            self.failures.push(message);
        }
    }

    /// A condition that must hold (per run or on the whole).
    pub fn holds(&mut self, what: &str, ok: bool, detail: String) {
        println!(
            "{} | {what}: {} ({detail})",
            self.case,
            if ok { "ok" } else { "FAILED" }
        );
        if !ok {
            self.failures
                .push(format!("{} | {what}: {detail}", self.case));
        }
    }

    /// Within `slack` of the expected value.
    pub fn near(&mut self, what: &str, expected: f64, observed: f64, slack: f64) {
        self.holds(
            what,
            (observed - expected).abs() <= slack,
            format!("expected {expected} ± {slack}, observed {observed}"),
        );
    }

    /// An exact count.
    pub fn equal(&mut self, what: &str, expected: f64, observed: f64) {
        self.holds(
            what,
            expected == observed,
            format!("expected {expected}, observed {observed}"),
        );
    }

    /// Prints the wall time and fails with every miss at once.
    pub fn finish(self) {
        println!(
            "{} | wall time {:.2} s",
            self.case,
            self.started.elapsed().as_secs_f64()
        );
        assert!(
            self.failures.is_empty(),
            "{} disagrees:\n  {}",
            self.case,
            self.failures.join("\n  ")
        );
    }
}
