//! Property-based tests over random valid scenarios of every kind: whatever the architecture,
//! load and faults, a run ends within its event budget, conserves requests, gives the same
//! bytes twice and orders its percentiles.
//!
//! The generator builds scenario text the way a user would write it (an entry point, the
//! components behind it, handlers that call tables and queues, faults), so a failure shrinks
//! to a scenario that can be pasted into a file and run with `awsim run`.
//! `PROPTEST_CASES=2000 cargo test --release --test it properties` runs a longer search.

use std::fmt::Write as _;
use std::path::Path;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};

use awsim::engine::time::SimTime;
use awsim::engine::watchdog::Limits;
use awsim::metrics::{LatencySummary, SeriesRow, SeriesSink};
use awsim::run::{RunError, run_with_limits};
use awsim::scenario::{RunSettings, Scenario};

/// Most events one generated run may take. The largest scenario the generator makes (200
/// requests/s for 2 minutes, a few hops each, retries) stays well below it; a run beyond it is
/// a model that loops.
const EVENT_BUDGET: u64 = 2_000_000;

/// Cases per property in CI; `PROPTEST_CASES` overrides it.
const CASES: u32 = 48;

/// A distribution of service time, as a scenario writes it.
fn service_time() -> impl Strategy<Value = String> {
    prop_oneof![
        (1u32..200).prop_map(|ms| format!("\"{ms}ms\"")),
        (1u32..200).prop_map(|ms| format!("{{ dist = \"exponential\", mean = \"{ms}ms\" }}")),
        (1u32..100).prop_map(|ms| format!(
            "{{ dist = \"lognormal\", mean = \"{ms}ms\", p99 = \"{}ms\" }}",
            ms * 5
        )),
        (1u32..50, 1u32..100).prop_map(|(lo, span)| format!(
            "{{ dist = \"uniform\", min = \"{lo}ms\", max = \"{}ms\" }}",
            lo + span
        )),
    ]
}

/// A think time: never zero, as the loader requires of closed-loop users.
fn think_time() -> impl Strategy<Value = String> {
    prop_oneof![
        (1u32..2000).prop_map(|ms| format!("\"{ms}ms\"")),
        (10u32..2000).prop_map(|ms| format!("{{ dist = \"exponential\", mean = \"{ms}ms\" }}")),
    ]
}

/// How requests arrive.
fn arrival() -> impl Strategy<Value = String> {
    prop_oneof![
        (1u32..200).prop_map(|r| format!("{{ process = \"poisson\", rate = \"{r}/s\" }}")),
        (1u32..100).prop_map(|r| format!("{{ process = \"constant\", rate = \"{r}/s\" }}")),
        (1u32..40, think_time()).prop_map(|(users, think)| format!(
            "{{ process = \"closed\", users = {users}, think = {think} }}"
        )),
    ]
}

/// What a handler calls after computing: nothing, a table, a queue, or an asynchronous
/// function.
#[derive(Clone, Debug)]
enum Downstream {
    Nothing,
    Table {
        on_demand: bool,
        capacity: u32,
        op: &'static str,
    },
    Queue {
        fifo: bool,
        consumer: Consumer,
        visibility_s: u32,
        dlq: bool,
    },
    AsyncFunction {
        concurrency: Option<u32>,
    },
    Database {
        max_connections: u32,
        wait: bool,
        /// Through an `rds_proxy`.
        proxy: bool,
    },
    /// An `elasticache` cluster, cache-aside in front of an `rds` or a lookup cache alone.
    Cache {
        shards: u32,
        ttl: bool,
        on_miss: bool,
    },
}

/// Who consumes a queue.
#[derive(Clone, Copy, Debug)]
enum Consumer {
    Function,
    Fleet,
    Group,
}

fn downstream() -> impl Strategy<Value = Downstream> {
    prop_oneof![
        Just(Downstream::Nothing),
        (
            any::<bool>(),
            1u32..300,
            prop_oneof![
                Just("read"),
                Just("write"),
                Just("query"),
                Just("transact_write")
            ]
        )
            .prop_map(|(on_demand, capacity, op)| Downstream::Table {
                on_demand,
                capacity,
                op
            }),
        (
            any::<bool>(),
            prop_oneof![
                Just(Consumer::Function),
                Just(Consumer::Fleet),
                Just(Consumer::Group)
            ],
            1u32..60,
            any::<bool>()
        )
            .prop_map(|(fifo, consumer, visibility_s, dlq)| Downstream::Queue {
                fifo,
                consumer,
                visibility_s,
                dlq
            }),
        proptest::option::of(1u32..50)
            .prop_map(|concurrency| Downstream::AsyncFunction { concurrency }),
        (1u32..20, any::<bool>(), any::<bool>()).prop_map(|(max_connections, wait, proxy)| {
            Downstream::Database {
                max_connections,
                wait,
                proxy,
            }
        }),
        (1u32..4, any::<bool>(), any::<bool>()).prop_map(|(shards, ttl, on_miss)| {
            Downstream::Cache {
                shards,
                ttl,
                on_miss,
            }
        }),
    ]
}

/// The component the workload sends to, and what stands behind it.
#[derive(Clone, Debug)]
enum Entry {
    Fleet,
    Group {
        policy: bool,
    },
    Function,
    Alb {
        group: bool,
        least_outstanding: bool,
    },
    Nlb {
        group: bool,
    },
    ApiGateway {
        behind: Box<Entry>,
        throttle: Option<(u32, u32)>,
    },
    Queue,
    Table,
    /// A `kinesis` stream (or a table's stream, written to) read by a function.
    Stream {
        table: bool,
        shards: u32,
        bisect: bool,
    },
    /// An `sns` topic fanned out to a queue and a function.
    Topic {
        filtered: bool,
    },
    /// A `step_functions` machine calling a function.
    Machine {
        express: bool,
    },
    /// A `cloudfront` distribution in front of a fleet.
    Cdn {
        shield: bool,
    },
    /// A `route53` record over two fleets, with health checks.
    Dns {
        failover: bool,
    },
}

fn entry() -> impl Strategy<Value = Entry> {
    let leaf = prop_oneof![
        Just(Entry::Fleet),
        any::<bool>().prop_map(|policy| Entry::Group { policy }),
        Just(Entry::Function),
        (any::<bool>(), any::<bool>()).prop_map(|(group, least_outstanding)| Entry::Alb {
            group,
            least_outstanding
        }),
        any::<bool>().prop_map(|group| Entry::Nlb { group }),
        Just(Entry::Queue),
        Just(Entry::Table),
        (any::<bool>(), 1u32..4, any::<bool>()).prop_map(|(table, shards, bisect)| {
            Entry::Stream {
                table,
                shards,
                bisect,
            }
        }),
        any::<bool>().prop_map(|filtered| Entry::Topic { filtered }),
        any::<bool>().prop_map(|express| Entry::Machine { express }),
        any::<bool>().prop_map(|shield| Entry::Cdn { shield }),
        any::<bool>().prop_map(|failover| Entry::Dns { failover }),
    ];
    leaf.prop_flat_map(|inner| {
        let inner2 = inner.clone();
        prop_oneof![
            Just(inner),
            proptest::option::of((1u32..300, 1u32..300)).prop_map(move |throttle| {
                Entry::ApiGateway {
                    behind: Box::new(inner2.clone()),
                    throttle,
                }
            }),
        ]
    })
}

/// A whole generated scenario.
#[derive(Clone, Debug)]
struct Generated {
    seed: u64,
    duration_s: u32,
    warmup_s: u32,
    region: bool,
    arrival: String,
    keys: Option<u32>,
    entry: Entry,
    service: String,
    vcpus: u32,
    instances: u32,
    max_queue: Option<u32>,
    downstream: Downstream,
    outage: Option<(u32, u32)>,
    injection: Option<(u32, u32, u32)>,
    slowdown: Option<(u32, u32, u32)>,
    crashes: Option<u32>,
    surge: Option<(u32, u32, bool)>,
    concurrency: (Option<u32>, Option<u32>),
}

fn generated() -> impl Strategy<Value = Generated> {
    (
        (any::<u64>(), 10u32..120, 0u32..10, any::<bool>()),
        (arrival(), proptest::option::of(1u32..1000)),
        (
            entry(),
            service_time(),
            1u32..4,
            1u32..5,
            proptest::option::of(0u32..20),
        ),
        downstream(),
        (
            proptest::option::of((0u32..60, 1u32..60)),
            proptest::option::of((0u32..60, 1u32..60, 1u32..100)),
            proptest::option::of((0u32..60, 1u32..60, 2u32..10)),
            proptest::option::of(0u32..60),
        ),
        (
            proptest::option::of((1u32..100, 1u32..100, any::<bool>())),
            (
                proptest::option::of(1u32..20),
                proptest::option::of(0u32..5),
            ),
        ),
    )
        .prop_map(
            |(
                (seed, duration_s, warmup_s, region),
                (arrival, keys),
                (entry, service, vcpus, instances, max_queue),
                downstream,
                (outage, injection, slowdown, crashes),
                (surge, concurrency),
            )| Generated {
                seed,
                duration_s,
                warmup_s: warmup_s.min(duration_s / 2),
                region,
                arrival,
                keys,
                entry,
                service,
                vcpus,
                instances,
                max_queue,
                downstream,
                outage,
                injection,
                slowdown,
                crashes,
                surge,
                concurrency,
            },
        )
}

impl Generated {
    /// The scenario as TOML text.
    fn text(&self) -> String {
        let mut s = String::new();
        writeln!(
            s,
            "[simulation]\nname = \"generated\"\nduration = \"{}s\"\nwarmup = \"{}s\"\nseed = {}\ninterval = \"5s\"\n",
            self.duration_s, self.warmup_s, self.seed
        )
        .unwrap();
        if self.region {
            s.push_str("[region]\nazs = [\"a\", \"b\"]\n\n");
        }
        s.push_str("[[workload]]\nname = \"clients\"\ntarget = \"entry\"\n");
        writeln!(s, "arrival = {}", self.arrival).unwrap();
        if let Some(keys) = self.keys {
            writeln!(
                s,
                "key = {{ dist = \"zipf\", keys = {keys}, exponent = 1.1 }}"
            )
            .unwrap();
        }
        if matches!(self.entry, Entry::Table) {
            s.push_str("op = \"read\"\n");
        }
        if matches!(self.entry, Entry::Stream { table: true, .. }) {
            s.push_str("op = \"write\"\n");
        }
        s.push('\n');
        if let Some((from, to, ramp)) = self.surge {
            writeln!(
                s,
                "[[workload]]\nname = \"surge\"\ntarget = \"entry\"\narrival = {{ process = \"poisson\" }}\nramp = {ramp}\nschedule = [ {{ at = \"0s\", rate = \"{from}/s\" }}, {{ at = \"{}s\", rate = \"{to}/s\" }} ]",
                self.duration_s / 2
            )
            .unwrap();
            if matches!(self.entry, Entry::Table | Entry::Stream { table: true, .. }) {
                s.push_str("op = \"write\"\n");
            }
            s.push('\n');
        }
        self.entry_components(&self.entry, "entry", &mut s);
        self.downstream_components(&mut s);
        self.faults(&mut s);
        s
    }

    /// The handler of every computing component: compute, then the downstream call.
    fn handler(&self) -> String {
        let call = match &self.downstream {
            Downstream::Nothing => String::new(),
            Downstream::Table { op, .. } => format!(", {{ call = \"table\", op = \"{op}\" }}"),
            Downstream::Queue { .. } => ", { call = \"queue\" }".to_string(),
            Downstream::AsyncFunction { .. } => {
                ", { call = \"async\", op = \"event\" }".to_string()
            }
            Downstream::Database { proxy: true, .. } => {
                ", { call = \"db-proxy\", op = \"read\" }".to_string()
            }
            Downstream::Database { .. } => ", { call = \"db\", op = \"read\" }".to_string(),
            Downstream::Cache { .. } => ", { call = \"cache\", op = \"read\" }".to_string(),
        };
        format!("[ {{ compute = {} }}{call} ]", self.service)
    }

    fn fleet(&self, name: &str, s: &mut String) {
        writeln!(
            s,
            "[[component]]\nname = \"{name}\"\nkind = \"ec2_fleet\"\ninstances = {}\nvcpus = {}\nhandler = {}",
            self.instances,
            self.vcpus,
            self.handler()
        )
        .unwrap();
        if let Some(q) = self.max_queue {
            writeln!(s, "max_queue = {q}").unwrap();
        }
        s.push('\n');
    }

    fn group(&self, name: &str, policy: bool, s: &mut String) {
        writeln!(
            s,
            "[[component]]\nname = \"{name}\"\nkind = \"asg\"\nmin = 1\nmax = {}\ndesired = {}\nvcpus = {}\nlaunch_time = \"20s\"\nhandler = {}",
            self.instances + 3,
            self.instances,
            self.vcpus,
            self.handler()
        )
        .unwrap();
        if let Some(q) = self.max_queue {
            writeln!(s, "max_queue = {q}").unwrap();
        }
        if policy {
            s.push_str(
                "[[component.policy]]\ntype = \"target_tracking\"\nmetric = \"cpu_utilization\"\ntarget = 50\n",
            );
        }
        s.push('\n');
    }

    fn function(&self, name: &str, s: &mut String) {
        writeln!(
            s,
            "[[component]]\nname = \"{name}\"\nkind = \"lambda\"\nmemory_mb = 1769\ntimeout = \"2s\"\nhandler = {}",
            self.handler()
        )
        .unwrap();
        let (reserved, provisioned) = self.concurrency;
        if let Some(reserved) = reserved {
            writeln!(s, "reserved_concurrency = {reserved}").unwrap();
            if let Some(provisioned) = provisioned {
                writeln!(s, "provisioned_concurrency = {}", provisioned.min(reserved)).unwrap();
            }
        }
        s.push('\n');
    }

    fn entry_components(&self, entry: &Entry, name: &str, s: &mut String) {
        match entry {
            Entry::Fleet => self.fleet(name, s),
            Entry::Group { policy } => self.group(name, *policy, s),
            Entry::Function => self.function(name, s),
            Entry::Alb {
                group,
                least_outstanding,
            } => {
                let algorithm = if *least_outstanding {
                    "least_outstanding_requests"
                } else {
                    "round_robin"
                };
                writeln!(
                    s,
                    "[[component]]\nname = \"{name}\"\nkind = \"alb\"\ntargets = \"{name}-targets\"\nalgorithm = \"{algorithm}\"\nidle_timeout = \"5s\"\n"
                )
                .unwrap();
                self.targets(*group, &format!("{name}-targets"), s);
            }
            Entry::Nlb { group } => {
                writeln!(
                    s,
                    "[[component]]\nname = \"{name}\"\nkind = \"nlb\"\ntargets = \"{name}-targets\"\n"
                )
                .unwrap();
                self.targets(*group, &format!("{name}-targets"), s);
            }
            Entry::ApiGateway { behind, throttle } => {
                writeln!(
                    s,
                    "[[component]]\nname = \"{name}\"\nkind = \"api_gateway\"\ntarget = \"{name}-integration\"\nintegration_timeout = \"3s\""
                )
                .unwrap();
                if let Some((rate, burst)) = throttle {
                    writeln!(s, "throttle = {{ rate = \"{rate}/s\", burst = {burst} }}").unwrap();
                }
                s.push('\n');
                self.entry_components(behind, &format!("{name}-integration"), s);
            }
            Entry::Queue => {
                writeln!(
                    s,
                    "[[component]]\nname = \"{name}\"\nkind = \"sqs\"\nvisibility_timeout = \"10s\"\nconsumer = \"{name}-consumer\"\n"
                )
                .unwrap();
                self.function(&format!("{name}-consumer"), s);
            }
            Entry::Table => {
                s.push_str(&format!(
                    "[[component]]\nname = \"{name}\"\nkind = \"dynamodb\"\nrcu = 100\nwcu = 100\n\n"
                ));
            }
            Entry::Stream {
                table,
                shards,
                bisect,
            } => {
                let mapping = format!(
                    "{{ function = \"{name}-consumer\", batch_size = 20, bisect_batch_on_error = {bisect}, maximum_retry_attempts = 2, poison_probability = 0.01 }}"
                );
                if *table {
                    writeln!(
                        s,
                        "[[component]]\nname = \"{name}\"\nkind = \"dynamodb\"\nrcu = 100\nwcu = {}\nstream = true\nstream_consumer = {mapping}\n",
                        shards * 1000
                    )
                } else {
                    writeln!(
                        s,
                        "[[component]]\nname = \"{name}\"\nkind = \"kinesis\"\nshards = {shards}\nconsumer = {mapping}\n"
                    )
                }
                .unwrap();
                self.function(&format!("{name}-consumer"), s);
            }
            Entry::Topic { filtered } => {
                let filter = if *filtered {
                    ", filter = { fraction = 0.5 }"
                } else {
                    ""
                };
                writeln!(
                    s,
                    "[[component]]\nname = \"{name}\"\nkind = \"sns\"\nsubscriptions = [ {{ endpoint = \"{name}-queue\" }}, {{ endpoint = \"{name}-fn\"{filter} }} ]\n\n[[component]]\nname = \"{name}-queue\"\nkind = \"sqs\"\n"
                )
                .unwrap();
                self.function(&format!("{name}-fn"), s);
            }
            Entry::Machine { express } => {
                let kind = if *express { "express" } else { "standard" };
                writeln!(
                    s,
                    "[[component]]\nname = \"{name}\"\nkind = \"step_functions\"\ntype = \"{kind}\"\n\
                     [component.definition]\nStartAt = \"Pick\"\n\
                     [component.definition.States.Pick]\nType = \"Choice\"\n\
                     Choices = [ {{ Probability = 0.5, Next = \"Call\" }} ]\nDefault = \"Each\"\n\
                     [component.definition.States.Call]\nType = \"Task\"\nResource = \"{name}-fn\"\n\
                     Retry = [ {{ ErrorEquals = [\"States.ALL\"], MaxAttempts = 2 }} ]\n\
                     Catch = [ {{ ErrorEquals = [\"States.ALL\"], Next = \"Each\" }} ]\nNext = \"Each\"\n\
                     [component.definition.States.Each]\nType = \"Map\"\nItems = 3\nMaxConcurrency = 2\nEnd = true\n\
                     [component.definition.States.Each.ItemProcessor]\nStartAt = \"Rest\"\n\
                     [component.definition.States.Each.ItemProcessor.States.Rest]\nType = \"Wait\"\nSeconds = 1\nEnd = true\n"
                )
                .unwrap();
                self.function(&format!("{name}-fn"), s);
            }
            Entry::Cdn { shield } => {
                let shield = if *shield {
                    "origin_shield = { latency = \"20ms\" }\n"
                } else {
                    ""
                };
                writeln!(
                    s,
                    "[[component]]\nname = \"{name}\"\nkind = \"cloudfront\"\norigin = \"{name}-origin\"\n\
                     edge_locations = [ {{ name = \"e1\", share = 0.5 }}, {{ name = \"e2\", share = 0.5 }} ]\n\
                     cache = {{ default_ttl = \"2s\" }}\n{shield}"
                )
                .unwrap();
                self.fleet(&format!("{name}-origin"), s);
            }
            Entry::Dns { failover } => {
                let records = if *failover {
                    "routing = \"failover\"\nrecords = [ { target = \"{name}-origin\", role = \"primary\" }, { target = \"{name}-other\", role = \"secondary\" } ]"
                } else {
                    "routing = \"weighted\"\nrecords = [ { target = \"{name}-origin\", weight = 3 }, { target = \"{name}-other\", weight = 1 } ]"
                }
                .replace("{name}", name);
                writeln!(
                    s,
                    "[[component]]\nname = \"{name}\"\nkind = \"route53\"\n{records}\nttl = \"5s\"\n\
                     health_check = {{ interval = \"10s\", failure_threshold = 1 }}\n"
                )
                .unwrap();
                self.fleet(&format!("{name}-origin"), s);
                self.fleet(&format!("{name}-other"), s);
            }
        }
    }

    fn targets(&self, group: bool, name: &str, s: &mut String) {
        if group {
            self.group(name, false, s);
        } else {
            self.fleet(name, s);
        }
    }

    fn downstream_components(&self, s: &mut String) {
        match &self.downstream {
            Downstream::Nothing => {}
            Downstream::Table {
                on_demand,
                capacity,
                ..
            } => {
                if *on_demand {
                    s.push_str(
                        "[[component]]\nname = \"table\"\nkind = \"dynamodb\"\nmode = \"on_demand\"\n\n",
                    );
                } else {
                    writeln!(
                        s,
                        "[[component]]\nname = \"table\"\nkind = \"dynamodb\"\nrcu = {capacity}\nwcu = {capacity}\nmax_attempts = 3\n"
                    )
                    .unwrap();
                }
            }
            Downstream::Queue {
                fifo,
                consumer,
                visibility_s,
                dlq,
            } => {
                let queue_type = if *fifo { "fifo" } else { "standard" };
                writeln!(
                    s,
                    "[[component]]\nname = \"queue\"\nkind = \"sqs\"\ntype = \"{queue_type}\"\nvisibility_timeout = \"{visibility_s}s\"\nconsumer = \"consumer\"\nbatch_size = 5"
                )
                .unwrap();
                if *dlq {
                    s.push_str("max_receive_count = 2\ndead_letter_queue = \"dlq\"\n");
                }
                s.push('\n');
                if *dlq {
                    writeln!(
                        s,
                        "[[component]]\nname = \"dlq\"\nkind = \"sqs\"\ntype = \"{queue_type}\"\n"
                    )
                    .unwrap();
                }
                // The consumer does only the compute step: a handler calling its own queue
                // would loop by design.
                let handler = format!("[ {{ compute = {} }} ]", self.service);
                match consumer {
                    Consumer::Function => writeln!(
                        s,
                        "[[component]]\nname = \"consumer\"\nkind = \"lambda\"\ntimeout = \"5s\"\nhandler = {handler}\n"
                    ),
                    Consumer::Fleet => writeln!(
                        s,
                        "[[component]]\nname = \"consumer\"\nkind = \"ec2_fleet\"\ninstances = 2\nvcpus = 2\nhandler = {handler}\n"
                    ),
                    Consumer::Group => writeln!(
                        s,
                        "[[component]]\nname = \"consumer\"\nkind = \"asg\"\nmin = 1\nmax = 4\nvcpus = 2\nhandler = {handler}\n[[component.policy]]\ntype = \"target_tracking\"\nmetric = \"backlog_per_instance\"\ntarget = 20\n"
                    ),
                }
                .unwrap();
            }
            Downstream::AsyncFunction { concurrency } => {
                writeln!(
                    s,
                    "[[component]]\nname = \"async\"\nkind = \"lambda\"\nfailure_probability = 0.1\nhandler = [ {{ compute = {} }} ]",
                    self.service
                )
                .unwrap();
                if let Some(c) = concurrency {
                    writeln!(s, "reserved_concurrency = {c}").unwrap();
                }
                s.push('\n');
            }
            Downstream::Database {
                max_connections,
                wait,
                proxy,
            } => {
                if *proxy {
                    writeln!(
                        s,
                        "[[component]]\nname = \"db-proxy\"\nkind = \"rds_proxy\"\ntarget = \"db\"\nmax_connections_percent = 50\nconnection_borrow_timeout = \"2s\"\n"
                    )
                    .unwrap();
                }
                let pool = if *wait {
                    "no_free_connection = \"wait\"\npool_timeout = \"2s\"\n"
                } else {
                    ""
                };
                writeln!(
                    s,
                    "[[component]]\nname = \"db\"\nkind = \"rds\"\ninstance_class = \"db.t3.micro\"\nmax_connections = {max_connections}\nquery_cpu = {{ default = {} }}\n{pool}",
                    self.service
                )
                .unwrap();
            }
            Downstream::Cache {
                shards,
                ttl,
                on_miss,
            } => {
                let ttl = if *ttl { "ttl = \"5s\"\n" } else { "" };
                let on_miss = if *on_miss {
                    "on_miss = { call = \"cache-db\" }\n"
                } else {
                    ""
                };
                writeln!(
                    s,
                    "[[component]]\nname = \"cache\"\nkind = \"elasticache\"\nnode_type = \"cache.t3.micro\"\nshards = {shards}\n{ttl}{on_miss}"
                )
                .unwrap();
                if !on_miss.is_empty() {
                    writeln!(
                        s,
                        "[[component]]\nname = \"cache-db\"\nkind = \"rds\"\ninstance_class = \"db.t3.micro\"\nquery_cpu = {{ default = {} }}\n",
                        self.service
                    )
                    .unwrap();
                }
            }
        }
    }

    /// The computing component faults can hit: the first fleet or group, if any.
    fn faultable(&self) -> Option<String> {
        fn find(entry: &Entry, name: &str) -> Option<String> {
            match entry {
                Entry::Fleet | Entry::Group { .. } | Entry::Function => Some(name.to_string()),
                Entry::Alb { .. } | Entry::Nlb { .. } => Some(format!("{name}-targets")),
                Entry::ApiGateway { behind, .. } => find(behind, &format!("{name}-integration")),
                Entry::Queue | Entry::Stream { .. } => Some(format!("{name}-consumer")),
                Entry::Topic { .. } | Entry::Machine { .. } => Some(format!("{name}-fn")),
                Entry::Cdn { .. } | Entry::Dns { .. } => Some(format!("{name}-origin")),
                Entry::Table => None,
            }
        }
        find(&self.entry, "entry")
    }

    /// Whether the faultable component has instances to crash (a fleet or a group).
    fn crashable(&self) -> bool {
        fn find(entry: &Entry) -> bool {
            match entry {
                Entry::Fleet
                | Entry::Group { .. }
                | Entry::Alb { .. }
                | Entry::Nlb { .. }
                | Entry::Cdn { .. }
                | Entry::Dns { .. } => true,
                Entry::ApiGateway { behind, .. } => find(behind),
                Entry::Function
                | Entry::Queue
                | Entry::Table
                | Entry::Stream { .. }
                | Entry::Topic { .. }
                | Entry::Machine { .. } => false,
            }
        }
        find(&self.entry)
    }

    fn faults(&self, s: &mut String) {
        let end = self.duration_s;
        let component = self.faultable();
        if let (Some((at, length, factor)), Some(component)) = (self.slowdown, &component)
            && at < end
        {
            writeln!(
                s,
                "[[fault]]\nkind = \"latency_injection\"\ncomponent = \"{component}\"\nat = \"{at}s\"\nduration = \"{}s\"\nfactor = {factor}\n",
                length.min(end - at).max(1)
            )
            .unwrap();
        }
        if let (Some(at), Some(component)) = (self.crashes, &component)
            && at < end
            && !component.ends_with("consumer")
            && self.crashable()
        {
            writeln!(
                s,
                "[[fault]]\nkind = \"instance_failure\"\ncomponent = \"{component}\"\ntimes = [\"{at}s\"]\n"
            )
            .unwrap();
        }
        if let (Some((at, length)), true) = (self.outage, self.region)
            && at < end
        {
            writeln!(
                s,
                "[[fault]]\nkind = \"az_outage\"\naz = \"a\"\nat = \"{at}s\"\nduration = \"{}s\"\n",
                length.min(end - at).max(1)
            )
            .unwrap();
        }
        if let (Some((at, length, percent)), Some(component)) = (self.injection, self.faultable())
            && at < end
        {
            writeln!(
                s,
                "[[fault]]\nkind = \"error_injection\"\ncomponent = \"{component}\"\nat = \"{at}s\"\nduration = \"{}s\"\nfraction = {}\n",
                length.min(end - at).max(1),
                f64::from(percent) / 100.0
            )
            .unwrap();
        }
    }
}

/// Collects the time series as text, to compare two runs byte for byte.
#[derive(Default)]
struct TextSeries(String);

impl SeriesSink for TextSeries {
    fn row(&mut self, time: SimTime, name: &str, kind: &str, row: &SeriesRow) {
        writeln!(self.0, "{time:?} {name} {kind} {row:?}").unwrap();
    }
}

/// Runs generated scenario text once: the summary as JSON and the time series as text.
fn run_once(text: &str) -> Result<(String, String, u64), String> {
    let scenario = Scenario::parse(text, Path::new("generated.toml"))
        .map_err(|e| format!("the generator wrote an invalid scenario: {e}\n{text}"))?;
    let mut series = TextSeries::default();
    let limits = Limits {
        max_events: Some(EVENT_BUDGET),
        ..Limits::default()
    };
    match run_with_limits(
        &scenario,
        RunSettings::default(),
        limits,
        &mut series,
        |_| {},
    ) {
        Ok(summary) => Ok((summary.to_json(), series.0, summary.events)),
        Err(e @ RunError::Conservation { .. }) => Err(format!("{e}\n{text}")),
        Err(e) => Err(format!("the run failed: {e}\n{text}")),
    }
}

/// Every latency summary in a summary.json, with where it was found.
fn latency_summaries(
    json: &serde_json::Value,
    path: &str,
    out: &mut Vec<(String, LatencySummary)>,
) {
    match json {
        serde_json::Value::Object(map) => {
            let is_summary = ["p50", "p90", "p99", "p999", "max"]
                .iter()
                .all(|k| map.get(*k).is_some_and(serde_json::Value::is_number));
            if is_summary {
                let get = |k: &str| map[k].as_f64().unwrap();
                out.push((
                    path.to_string(),
                    LatencySummary {
                        count: map
                            .get("count")
                            .and_then(serde_json::Value::as_u64)
                            .unwrap_or(0),
                        mean: map
                            .get("mean")
                            .and_then(serde_json::Value::as_f64)
                            .unwrap_or(0.0),
                        p50: get("p50"),
                        p90: get("p90"),
                        p99: get("p99"),
                        p999: get("p999"),
                        max: get("max"),
                    },
                ));
            }
            for (k, v) in map {
                latency_summaries(v, &format!("{path}.{k}"), out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                latency_summaries(v, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

fn check(generated: &Generated) -> Result<(), TestCaseError> {
    let text = generated.text();
    if let Ok(path) = std::env::var("AWSIM_PROPERTY_LAST") {
        // To find a case that never ends: the scenario being run is always in this file.
        std::fs::write(path, &text).unwrap();
    }
    let (json, series, events) = run_once(&text).map_err(TestCaseError::fail)?;
    // The watchdog stops a run at the budget with an error; this also holds if it is off.
    prop_assert!(
        events <= EVENT_BUDGET,
        "{events} events, over the budget of {EVENT_BUDGET}:\n{text}"
    );
    let (json_again, series_again, _) = run_once(&text).map_err(TestCaseError::fail)?;
    prop_assert!(
        json == json_again,
        "summary.json differs between two runs:\n{text}"
    );
    prop_assert!(
        series == series_again,
        "the time series differs between two runs:\n{text}"
    );
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let mut summaries = Vec::new();
    latency_summaries(&value, "", &mut summaries);
    prop_assert!(
        !summaries.is_empty(),
        "no latency summary found in:\n{json}"
    );
    for (path, l) in summaries {
        prop_assert!(
            l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.p999 && l.p999 <= l.max,
            "percentiles out of order at {path}: {l:?}\n{text}"
        );
        prop_assert!(
            l.count == 0 || (l.mean <= l.max + 1e-9 && l.mean >= 0.0),
            "mean outside [0, max] at {path}: {l:?}\n{text}"
        );
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(CASES)
}

#[test]
fn random_scenarios_end_conserve_repeat_and_order_percentiles() {
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        // Fixed: a CI failure must reproduce on any machine.
        rng_algorithm: proptest::test_runner::RngAlgorithm::ChaCha,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&generated(), |g| check(&g));
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn the_generator_covers_every_request_kind() {
    // A property over random scenarios is only as good as the scenarios: check that the
    // generator reaches every kind that accepts requests, so a new kind is not left out.
    let mut runner = TestRunner::deterministic();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..400 {
        let g = generated().new_tree(&mut runner).unwrap().current();
        let text = g.text();
        for line in text.lines() {
            if let Some(kind) = line.strip_prefix("kind = \"") {
                seen.insert(kind.trim_end_matches('"').to_string());
            }
        }
    }
    for kind in awsim::components::kind_names() {
        assert!(
            seen.contains(kind),
            "the generator never makes a `{kind}`: teach it the new kind"
        );
    }
}
