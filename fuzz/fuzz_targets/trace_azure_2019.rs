//! Fuzzes the `azure_functions_2019` trace reader (see common.rs).
#![no_main]

mod common;

use awsim::workload::trace::TraceFormat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| common::run(TraceFormat::AzureFunctions2019, data));
