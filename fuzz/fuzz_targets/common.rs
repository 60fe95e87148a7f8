//! A trace reader under fuzzing. The input's first two bytes choose the replay options (see
//! [`spec`]); the rest is the trace file, written to a scratch file (the readers read real,
//! regular files, more than once) and replayed through [`Trace`], the library's own entry
//! point, with checks on what comes out.

use std::path::{Path, PathBuf};

use awsim::engine::rng::stream;
use awsim::engine::time::{SimDuration, SimTime};
use awsim::workload::trace::{
    BadRows, FunctionChoice, NumericTimes, Spread, Trace, TraceFormat, TraceSpec,
};

/// Arrivals drawn from a trace at most (a looped trace never ends).
const DRAWN: u64 = 2_000;

/// This process's scratch file, in memory when the machine has /dev/shm.
fn scratch_file() -> PathBuf {
    let dir = if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    dir.join(format!("awsim-fuzz-trace-{}.csv", std::process::id()))
}

/// The replay options the two control bytes choose. `options`: bit 0 skips bad rows, bit 1
/// loops, bit 2 reads Unix times (csv) or spreads evenly (Azure 2019), bit 3 replays the
/// window [60 s, 180 s) (whole minutes, so Azure 2019 counts are exact), bits 4–5 pick the
/// speedup (1, 2, 1000, 10⁶), bit 6 halves `scale`, bit 7 offsets by 5 s. `choice` picks
/// the Azure functions: all, the top 1–4, the 1st–4th busiest, or a hash prefix.
fn spec(format: TraceFormat, options: u8, choice: u8) -> TraceSpec {
    let window = options & 8 != 0;
    TraceSpec {
        format,
        speedup: [1.0, 2.0, 1e3, 1e6][usize::from(options >> 4 & 3)],
        offset: SimDuration::from_secs(if options & 128 != 0 { 5 } else { 0 }),
        repeat: options & 2 != 0,
        scale: if options & 64 != 0 { 0.5 } else { 1.0 },
        window_from: SimDuration::from_secs(if window { 60 } else { 0 }),
        window_to: window.then(|| SimDuration::from_secs(180)),
        on_bad_row: if options & 1 != 0 {
            BadRows::Skip
        } else {
            BadRows::Error
        },
        timestamps: if format == TraceFormat::Csv && options & 4 != 0 {
            NumericTimes::Unix
        } else {
            NumericTimes::Relative
        },
        functions: match (format, choice >> 6) {
            (TraceFormat::Csv, _) | (_, 0) => FunctionChoice::All,
            (_, 1) => FunctionChoice::Top(1 + u32::from(choice & 3)),
            (_, 2) => FunctionChoice::Rank(1 + u32::from(choice & 3)),
            _ => FunctionChoice::Hash(format!("{:x}", choice & 15)),
        },
        spread: if options & 4 != 0 {
            Spread::Even
        } else {
            Spread::Uniform
        },
        ..TraceSpec::csv("fuzz")
    }
}

/// Opens `data` as a trace of `format`; when it opens, replays up to [`DRAWN`] arrivals and
/// checks them: in time order, none before the offset, a loop that never runs dry, and one
/// pass yielding exactly the rows the check counted.
pub fn run(format: TraceFormat, data: &[u8]) {
    let [options, choice, file @ ..] = data else {
        return;
    };
    let path = scratch_file();
    std::fs::write(&path, file).expect("the scratch file is writable");
    let spec = spec(format, *options, *choice);
    let Ok(mut trace) = Trace::open(&path, "w", &spec) else {
        return;
    };
    let stats = trace.stats();
    assert!(stats.rows > 0, "a trace opens only with a row to replay");
    let mut rng = stream(1, "fuzz");
    let mut last = SimTime(spec.offset.as_nanos());
    let mut drawn = 0;
    while drawn < DRAWN {
        let Some(row) = trace.next_row(&mut rng) else {
            break;
        };
        assert!(row.at >= last, "{:?} after {last:?}", row.at);
        last = row.at;
        drawn += 1;
    }
    if spec.repeat {
        assert_eq!(drawn, DRAWN, "a looped trace ran dry");
    } else if spec.scale == 1.0 && drawn < DRAWN {
        assert_eq!(
            drawn, stats.rows,
            "one pass replays the rows the check counted"
        );
    }
}
