//! The AWS account's limits that several components share: the `[account]` table, the Lambda
//! concurrency pool of the functions without a reservation, and the API Gateway account-level
//! token bucket.
//!
//! ```toml
//! [account]
//! lambda_concurrency = 1000          # concurrent executions of the account (default 1000)
//! lambda_unreserved_minimum = 100    # what reservations must leave unreserved (default 100)
//! api_gateway_throttle = { rate = "10000/s", burst = 5000 }   # shared by every api_gateway
//! ```
//!
//! The limits are built once per run from the table and the component specs (the functions'
//! reservations shrink the pool), and handed to every component's builder through
//! [`super::BuildContext::account`]. Components of one run share them through an `Arc`: a run is
//! single-threaded, so the atomic counter and the mutex are never contended, they only let
//! components share state, and the order of events alone decides who gets what.

use std::ops::Range;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Deserialize;
use toml::Spanned;

use super::api_gateway::ThrottleSpec;
use super::token_bucket::ExactBucket;
use super::{ComponentSpec, SpecIssue};
use crate::units::limits;

/// The `[account]` table: limits shared by every component of the scenario.
#[derive(Clone, Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountSpec {
    /// Concurrent Lambda executions of the account (default 1000).
    #[schemars(with = "Option<u32>")]
    pub lambda_concurrency: Option<Spanned<u32>>,
    /// Concurrency Lambda keeps unreserved (default 100).
    #[schemars(with = "Option<u32>")]
    pub lambda_unreserved_minimum: Option<Spanned<u32>>,
    /// Account-level API Gateway throttling, shared by every `api_gateway` (default 10 000
    /// requests/s, burst 5 000).
    pub api_gateway_throttle: Option<ThrottleSpec>,
}

impl AccountSpec {
    /// The account's Lambda concurrency limit.
    pub fn lambda_concurrency(&self) -> u32 {
        self.lambda_concurrency
            .as_ref()
            .map_or(crate::defaults::lambda().account_concurrency_limit, |v| {
                *v.get_ref()
            })
    }

    /// Concurrency that must stay unreserved.
    pub fn lambda_unreserved_minimum(&self) -> u32 {
        self.lambda_unreserved_minimum
            .as_ref()
            .map_or(crate::defaults::lambda().unreserved_minimum, |v| {
                *v.get_ref()
            })
    }

    /// Account-wide problems, as (message, span): Lambda reservations that leave less than the
    /// unreserved minimum, provisioned concurrency of unreserved functions beyond the unreserved
    /// pool, and a bad `api_gateway_throttle`. `components` are the scenario's, by name, in file
    /// order.
    pub fn issues<'a>(
        &self,
        components: impl IntoIterator<Item = (&'a str, &'a ComponentSpec)>,
    ) -> Vec<(String, Range<usize>)> {
        let bounds: Vec<(String, Range<usize>)> = [
            ("lambda_concurrency", &self.lambda_concurrency),
            ("lambda_unreserved_minimum", &self.lambda_unreserved_minimum),
        ]
        .into_iter()
        .filter_map(|(field, value)| {
            let i = SpecIssue::above_limit(field, value.as_ref()?, limits::LAMBDA_CONCURRENCY)?;
            Some((format!("`{field}` {}", i.message), i.span))
        })
        .collect();
        let mut out = bounds;
        if out.is_empty() {
            // Reservations are weighed against the account's numbers only once those are sound.
            out.extend(self.lambda_issues(&functions(components)));
        }
        if let Some(t) = &self.api_gateway_throttle {
            let mut issues = Vec::new();
            t.issues("api_gateway_throttle", &mut issues);
            out.extend(issues.into_iter().map(|i| (i.message, i.span)));
        }
        out
    }

    fn lambda_issues(&self, functions: &[Function<'_>]) -> Vec<(String, Range<usize>)> {
        let limit = self.lambda_concurrency();
        let minimum = self.lambda_unreserved_minimum();
        let mut out = Vec::new();
        let reserved_total = reserved_total(functions);
        let pool = limit.saturating_sub(reserved_total);
        let mut provisioned_unreserved = 0u32;
        for f in functions.iter().filter(|f| f.reserved.is_none()) {
            if let Some(p) = f.provisioned {
                provisioned_unreserved = provisioned_unreserved.saturating_add(*p.get_ref());
                if provisioned_unreserved > pool {
                    out.push((
                        format!(
                            "`{}` provisions {} from the unreserved pool, which brings the \
                             unreserved functions' provisioned concurrency to \
                             {provisioned_unreserved}, more than the {pool} the account leaves \
                             unreserved (limit {limit} minus {reserved_total} reserved); reserve \
                             concurrency for it or provision less",
                            f.name,
                            p.get_ref()
                        ),
                        p.span(),
                    ));
                }
            }
        }
        let mut reserved_so_far = 0u32;
        for f in functions {
            if let Some(r) = f.reserved {
                reserved_so_far = reserved_so_far.saturating_add(*r.get_ref());
                if reserved_so_far.saturating_add(minimum) > limit {
                    out.push((
                        format!(
                            "`{}` reserves {}, which brings the reserved total to \
                             {reserved_so_far}; the account limit is {limit} and {minimum} must \
                             stay unreserved, so at most {} can be reserved in all (raise \
                             [account] lambda_concurrency or lower the reservations)",
                            f.name,
                            r.get_ref(),
                            limit.saturating_sub(minimum)
                        ),
                        r.span(),
                    ));
                }
            }
        }
        out
    }
}

/// What the account needs to know of one Lambda function.
struct Function<'a> {
    name: &'a str,
    reserved: Option<&'a Spanned<u32>>,
    provisioned: Option<&'a Spanned<u32>>,
}

/// The Lambda functions among `components`, in their order.
fn functions<'a>(
    components: impl IntoIterator<Item = (&'a str, &'a ComponentSpec)>,
) -> Vec<Function<'a>> {
    components
        .into_iter()
        .filter_map(|(name, spec)| match spec {
            ComponentSpec::Lambda(s) => Some(Function {
                name,
                reserved: s.reserved_concurrency.as_ref(),
                provisioned: s.provisioned_concurrency.as_ref(),
            }),
            _ => None,
        })
        .collect()
}

fn reserved_total(functions: &[Function<'_>]) -> u32 {
    functions
        .iter()
        .filter_map(|f| f.reserved.map(|r| *r.get_ref()))
        .fold(0, u32::saturating_add)
}

/// The account's limits of one run, shared by the components that draw on them.
#[derive(Debug)]
pub struct Account {
    lambda_pool: Arc<LambdaPool>,
    api_gateway_bucket: Arc<ApiGatewayBucket>,
}

impl Account {
    /// The limits `spec` sets for a scenario of `components` (by name, in file order). A
    /// scenario without functions or APIs gets them too; nobody draws on them.
    pub fn new<'a>(
        spec: &AccountSpec,
        components: impl IntoIterator<Item = (&'a str, &'a ComponentSpec)>,
    ) -> Account {
        let reserved = reserved_total(&functions(components));
        let d = crate::defaults::api_gateway();
        let (rate, burst) = match &spec.api_gateway_throttle {
            Some(t) => (*t.rate.get_ref(), *t.burst.get_ref()),
            None => (d.account_rate, d.account_burst),
        };
        Account {
            lambda_pool: Arc::new(LambdaPool {
                unreserved_limit: spec.lambda_concurrency().saturating_sub(reserved),
                in_use: AtomicU32::new(0),
            }),
            api_gateway_bucket: Arc::new(ApiGatewayBucket(Mutex::new(ExactBucket::new(
                rate, burst,
            )))),
        }
    }

    /// The unreserved Lambda concurrency, shared by the functions without a reservation.
    pub fn lambda_pool(&self) -> Arc<LambdaPool> {
        Arc::clone(&self.lambda_pool)
    }

    /// The account-level API Gateway token bucket, shared by every `api_gateway`.
    pub fn api_gateway_bucket(&self) -> Arc<ApiGatewayBucket> {
        Arc::clone(&self.api_gateway_bucket)
    }
}

/// The account's unreserved Lambda concurrency: the account limit minus every function's
/// reservation, shared by every function without a reservation.
#[derive(Debug)]
pub struct LambdaPool {
    unreserved_limit: u32,
    in_use: AtomicU32,
}

impl LambdaPool {
    /// Takes `n` units of concurrency if all of them are free.
    pub fn try_acquire(&self, n: u32) -> bool {
        let in_use = self.in_use.load(Ordering::Relaxed);
        if in_use + n <= self.unreserved_limit {
            self.in_use.store(in_use + n, Ordering::Relaxed);
            true
        } else {
            false
        }
    }

    /// Takes `n` units of concurrency, or as many as are free; returns how many it took.
    pub fn acquire_up_to(&self, n: u32) -> u32 {
        if self.try_acquire(n) {
            return n;
        }
        let left = self
            .unreserved_limit
            .saturating_sub(self.in_use.load(Ordering::Relaxed));
        self.try_acquire(left);
        left
    }

    /// Gives back `n` units.
    pub fn release(&self, n: u32) {
        self.in_use.fetch_sub(n, Ordering::Relaxed);
    }
}

/// The account-level API Gateway token bucket (`[account] api_gateway_throttle`).
#[derive(Debug)]
pub struct ApiGatewayBucket(Mutex<ExactBucket>);

impl ApiGatewayBucket {
    /// The bucket, for one request's admission.
    pub fn lock(&self) -> MutexGuard<'_, ExactBucket> {
        self.0
            .lock()
            .expect("a run is single-threaded: the lock is never poisoned")
    }
}
