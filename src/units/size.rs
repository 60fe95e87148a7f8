//! Sizes of memory and files, as the command line takes them (`--max-memory 4GiB`,
//! `--max-output 500MB`) and as messages show them.

/// Binary size units, largest first.
const SIZE_UNITS: &[(&str, u64)] = &[
    ("TiB", 1 << 40),
    ("GiB", 1 << 30),
    ("MiB", 1 << 20),
    ("KiB", 1 << 10),
];

/// Decimal size units.
const DECIMAL_UNITS: &[(&str, u64)] = &[
    ("TB", 1_000_000_000_000),
    ("GB", 1_000_000_000),
    ("MB", 1_000_000),
    ("kB", 1_000),
    ("KB", 1_000),
];

/// A size in the largest binary unit it reaches, with up to two decimals: `4GiB`, `1.5MiB`.
pub fn format_size(bytes: u64) -> String {
    for &(unit, size) in SIZE_UNITS {
        if bytes >= size {
            let value = format!("{:.2}", bytes as f64 / size as f64);
            let value = value.trim_end_matches('0').trim_end_matches('.');
            return format!("{value}{unit}");
        }
    }
    format!("{bytes}B")
}

/// Parses a memory size with its unit: `4GiB`, `512MiB`, `1.5GB`, `800000B` (binary units
/// KiB, MiB, GiB, TiB; decimal kB, MB, GB, TB; B). A bare number is refused, as durations are:
/// bytes or gibibytes would be a guess.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let text = s.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = (&text[..split], text[split..].trim());
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid size \"{s}\": write a number with a unit, like 4GiB"))?;
    let scale = SIZE_UNITS
        .iter()
        .chain(DECIMAL_UNITS)
        .chain(&[("B", 1)])
        .find(|(name, _)| *name == unit)
        .map(|&(_, size)| size)
        .ok_or_else(|| {
            format!(
                "invalid size \"{s}\": units are B, KiB, MiB, GiB, TiB (or kB, MB, GB, TB), \
                 like 4GiB"
            )
        })?;
    let bytes = value * scale as f64;
    if !(bytes >= 1.0 && bytes < u64::MAX as f64) {
        return Err(format!("invalid size \"{s}\": must be at least 1B"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units_and_format_back() {
        assert_eq!(parse_size("4GiB"), Ok(4 << 30));
        assert_eq!(parse_size("512MiB"), Ok(512 << 20));
        assert_eq!(parse_size("1.5GB"), Ok(1_500_000_000));
        assert_eq!(parse_size("64 KiB"), Ok(64 << 10));
        assert_eq!(parse_size("100B"), Ok(100));
        assert!(parse_size("4").unwrap_err().contains("units are"));
        assert!(parse_size("4gb").unwrap_err().contains("units are"));
        assert!(
            parse_size("GiB")
                .unwrap_err()
                .contains("a number with a unit")
        );
        assert!(parse_size("0MiB").unwrap_err().contains("at least"));
        for bad in ["", "5 parsecs", "-1GiB", "1e30GiB", "NaN"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        assert_eq!(format_size(4 << 30), "4GiB");
        assert_eq!(format_size(3 << 29), "1.5GiB");
        assert_eq!(format_size(1000), "1000B");
        assert_eq!(parse_size(&format_size(512 << 20)), Ok(512 << 20));
    }
}
