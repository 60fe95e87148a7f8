//! Integration tests: one binary (faster to build than one per file), one module per concern.
//! They run real scenarios end to end through the library, as `awsim run` does.

mod api_gateway;
mod architecture;
mod asg;
mod bench;
mod bounds;
mod cli;
mod common;
mod cost;
mod cost_outputs;
mod deployments;
mod determinism;
mod dynamodb;
mod errors;
mod faults;
mod golden;
mod import;
mod kinesis;
mod lambda;
mod limits;
mod long_runs;
mod nlb;
mod outputs;
mod properties;
mod report;
mod scale;
mod scenarios;
mod sns;
mod sqs;
mod stats;
mod step_functions;
mod sweep;
mod theory;
mod trace;
