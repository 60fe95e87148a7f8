//! The JSON Schema of scenario files (`awsim schema`, `awsim.schema.json`) and `awsim kinds`:
//! generated from the loader's own types, so the tests here check that they are current and
//! that the schema and the loader agree, with an independent validator (the `jsonschema`
//! crate, not the `schemars` that generates the schema).

use std::path::{Path, PathBuf};

use awsim::components;
use awsim::scenario::Scenario;
use awsim::scenario::schema::{kind_keys, scenario_schema, schema_text};
use serde_json::Value;

use crate::common::{awsim, text};

/// Every `.toml` under `scenarios/`, sorted.
fn shipped_scenarios() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "toml") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(Path::new("scenarios"), &mut files);
    files.sort();
    files
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&scenario_schema()).expect("the schema is a valid JSON Schema")
}

/// The schema's complaints about `toml_text`, one line each.
fn schema_errors(validator: &jsonschema::Validator, toml_text: &str) -> Vec<String> {
    let instance: Value = toml::from_str(toml_text).expect("TOML");
    validator
        .iter_errors(&instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn the_committed_schema_is_what_awsim_schema_prints() {
    let committed = std::fs::read_to_string("awsim.schema.json").expect("awsim.schema.json");
    let printed = awsim(&["schema"]);
    assert!(printed.status.success());
    assert_eq!(text(&printed.stdout), schema_text());
    assert!(
        committed == schema_text(),
        "awsim.schema.json is stale: run `cargo run --release -- schema --out awsim.schema.json`"
    );
}

#[test]
fn awsim_schema_out_writes_the_file() {
    let dir = crate::common::scratch("schema", "out");
    let path = dir.join("awsim.schema.json");
    let done = awsim(&["schema", "--out", path.to_str().unwrap()]);
    assert!(done.status.success(), "{}", text(&done.stderr));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), schema_text());
    let refused = awsim(&[
        "schema",
        "--out",
        dir.join("no/such/dir/x.json").to_str().unwrap(),
    ]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(text(&refused.stderr).contains("cannot write"));
}

#[test]
fn every_shipped_scenario_passes_the_schema_and_the_loader() {
    let validator = validator();
    let files = shipped_scenarios();
    assert!(files.len() >= 25, "found only {} scenarios", files.len());
    for file in files {
        let toml_text = std::fs::read_to_string(&file).unwrap();
        Scenario::load(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let errors = schema_errors(&validator, &toml_text);
        assert!(errors.is_empty(), "{}: {errors:#?}", file.display());
    }
}

#[test]
fn every_shipped_scenario_names_the_schema_for_editors() {
    for file in shipped_scenarios() {
        let toml_text = std::fs::read_to_string(&file).unwrap();
        let first = toml_text.lines().next().unwrap_or("");
        let relative = first
            .strip_prefix("#:schema ")
            .unwrap_or_else(|| panic!("{}: first line is not `#:schema PATH`", file.display()));
        let schema = file.parent().unwrap().join(relative);
        assert!(
            schema.canonicalize().ok() == Path::new("awsim.schema.json").canonicalize().ok(),
            "{}: `#:schema {relative}` is not the repository's awsim.schema.json",
            file.display()
        );
    }
}

/// Mistakes both must refuse: the schema, because an editor should mark them, and the loader.
#[test]
fn the_schema_and_the_loader_refuse_the_same_mistakes() {
    let validator = validator();
    let base = std::fs::read_to_string("scenarios/examples/web_tier.toml").unwrap();
    let mistakes: Vec<(&str, String)> = vec![
        (
            "an unknown top-level table",
            format!("{base}\n[simulaton]\nduration = \"1m\"\n"),
        ),
        (
            "an unknown key in a component",
            base.replacen(
                "kind = \"alb\"",
                "kind = \"alb\"\nalgoritm = \"round_robin\"",
                1,
            ),
        ),
        (
            "a duration without a unit",
            base.replacen("duration = \"", "duration = 5 #\"", 1),
        ),
        (
            "an unknown kind",
            base.replacen("kind = \"alb\"", "kind = \"elb\"", 1),
        ),
        (
            "a value of the wrong enum",
            base.replacen(
                "algorithm = \"least_outstanding_requests\"",
                "algorithm = \"fastest\"",
                1,
            ),
        ),
        (
            "a distribution with another's fields",
            base.replacen(
                "handler = [",
                "handler = [ { compute = { dist = \"exponential\", sd = \"1ms\" } }, ",
                1,
            ),
        ),
    ];
    for (what, mistaken) in mistakes {
        assert_ne!(mistaken, base, "{what}: the edit did not apply");
        let loader = Scenario::parse(&mistaken, Path::new("web_tier.toml"));
        assert!(loader.is_err(), "{what}: the loader accepted it");
        assert!(
            !schema_errors(&validator, &mistaken).is_empty(),
            "{what}: the schema accepted it"
        );
    }
}

/// README's TOML examples that are whole tables (not keys shown inside another table) pass the
/// schema, with a `[simulation]` table added where the example leaves it out.
#[test]
fn readme_examples_pass_the_schema() {
    let validator = validator();
    let readme = std::fs::read_to_string("README.md").unwrap();
    let mut checked = 0;
    let mut in_block = false;
    let mut block = String::new();
    for line in readme.lines() {
        if line == "```toml" {
            in_block = true;
            block.clear();
        } else if in_block && line == "```" {
            in_block = false;
            let first = block.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            if !first.starts_with('[') {
                continue; // keys of a table shown elsewhere (an `arrival`, a `deploy`)
            }
            let whole = if block.contains("[simulation]") {
                block.clone()
            } else {
                format!("[simulation]\nduration = \"1m\"\n{block}")
            };
            let errors = schema_errors(&validator, &whole);
            assert!(errors.is_empty(), "README example:\n{block}\n{errors:#?}");
            checked += 1;
        } else if in_block {
            block.push_str(line);
            block.push('\n');
        }
    }
    assert!(checked >= 10, "only {checked} README examples checked");
}

/// Every key of the schema says what it is: its doc comment in the code became its
/// description.
#[test]
fn every_key_has_a_description() {
    let schema = scenario_schema();
    let definitions = schema["definitions"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut missing = Vec::new();
    walk(&schema, "", &definitions, &mut missing);
    for (name, definition) in &definitions {
        walk(
            definition,
            &format!("definitions/{name}"),
            &definitions,
            &mut missing,
        );
    }
    missing.sort();
    missing.dedup();
    assert!(
        missing.is_empty(),
        "keys without a description: {missing:#?}"
    );
}

fn walk(
    schema: &Value,
    path: &str,
    definitions: &serde_json::Map<String, Value>,
    missing: &mut Vec<String>,
) {
    match schema {
        Value::Object(object) => {
            if let Some(Value::Object(properties)) = object.get("properties") {
                for (key, property) in properties {
                    if property == &Value::Bool(true) || key == "kind" {
                        continue;
                    }
                    let described = property.get("description").is_some()
                        || property
                            .get("$ref")
                            .and_then(Value::as_str)
                            .and_then(|r| definitions.get(r.trim_start_matches("#/definitions/")))
                            .is_some_and(|d| d.get("description").is_some());
                    if !described {
                        missing.push(format!("{path}/{key}"));
                    }
                }
            }
            for (key, value) in object {
                walk(value, &format!("{path}/{key}"), definitions, missing);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, &format!("{path}/{i}"), definitions, missing);
            }
        }
        _ => {}
    }
}

/// A README section `### \`kind = "K"\``: its first paragraph and its key table's keys.
fn readme_section(readme: &str, kind: &str) -> (String, Vec<String>) {
    let heading = format!("### `kind = \"{kind}\"`");
    let start = readme
        .find(&heading)
        .unwrap_or_else(|| panic!("README has no section {heading}"));
    let body = &readme[start + heading.len()..];
    let body = &body[..body.find("\n### ").unwrap_or(body.len())];
    let paragraph = body
        .trim_start()
        .split("\n\n")
        .next()
        .unwrap()
        .lines()
        .take_while(|l| !l.starts_with('|'))
        .collect::<Vec<_>>()
        .join(" ");
    let mut keys = Vec::new();
    let mut lines = body.lines().skip_while(|l| !l.starts_with("| key |"));
    lines.next();
    lines.next();
    for row in lines.take_while(|l| l.starts_with('|')) {
        let cell = row.trim_start_matches('|').split(" | ").next().unwrap();
        for key in cell.split(", ") {
            // `[[component.policy]]` is the key `policy`, written as an array of tables.
            let key = key.trim().trim_matches('`');
            let key = key
                .strip_prefix("[[component.")
                .and_then(|k| k.strip_suffix("]]"))
                .unwrap_or(key);
            keys.push(key.to_string());
        }
    }
    (paragraph, keys)
}

#[test]
fn readme_describes_each_kind_as_the_kind_declares_itself() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let models = &readme[readme
        .find("### Models: what they follow and what they simplify")
        .expect("README's models table")..];
    for k in components::kind_descriptions() {
        let (paragraph, readme_keys) = readme_section(&readme, k.kind);
        assert!(
            paragraph.starts_with(k.summary),
            "{}: README's first paragraph does not start with its SUMMARY:\n{paragraph}\n{}",
            k.kind,
            k.summary
        );
        let row = format!("| `{}` | {} | {} |", k.kind, k.follows, k.simplifies);
        assert!(
            models.contains(&row),
            "README's models table row for {} is not its FOLLOWS and SIMPLIFIES:\n{row}",
            k.kind
        );
        // Every key README's table names exists; every key of the kind is in README's table.
        let keys: Vec<String> = kind_keys(k.kind)
            .unwrap()
            .into_iter()
            .map(|k| k.name)
            .collect();
        for key in &readme_keys {
            let top = key.split(['.', '[', ' ']).next().unwrap();
            assert!(
                keys.iter().any(|k| k == top),
                "README's table for {} names `{key}`, which is no key of the kind ({keys:?})",
                k.kind
            );
        }
        for key in &keys {
            assert!(
                readme_keys
                    .iter()
                    .any(|r| r.split(['.', '[', ' ']).next() == Some(key)),
                "the {} key `{key}` is missing from README's table ({readme_keys:?})",
                k.kind
            );
        }
    }
}

#[test]
fn awsim_kinds_lists_every_kind_and_describes_each() {
    let list = awsim(&["kinds"]);
    assert!(list.status.success());
    let list = text(&list.stdout);
    for k in components::kind_descriptions() {
        assert!(
            list.lines().any(|l| l.starts_with(&format!("{} ", k.kind))),
            "{}",
            k.kind
        );
        let one = awsim(&["kinds", k.kind]);
        assert!(one.status.success());
        let one = text(&one.stdout);
        for key in kind_keys(k.kind).unwrap() {
            assert!(
                one.contains(&format!("\n  {}  (", key.name)),
                "`awsim kinds {}` leaves out `{}`",
                k.kind,
                key.name
            );
        }
        for column in k.columns.iter().chain(k.optional_columns) {
            assert!(one.contains(column.name), "{}: {}", k.kind, column.name);
        }
        assert!(one.contains("Follows:") && one.contains("Simplifies:"));
    }
    let wrong = awsim(&["kinds", "sqss"]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(text(&wrong.stderr).contains("did you mean `sqs`?"));
}

#[test]
fn kind_keys_carry_defaults_and_bounds_from_the_code() {
    let sqs = kind_keys("sqs").unwrap();
    let queue_type = sqs.iter().find(|k| k.name == "type").unwrap();
    assert_eq!(queue_type.value, "\"standard\" | \"fifo\"");
    assert_eq!(queue_type.default.as_deref(), Some("\"standard\""));
    let heartbeat = sqs.iter().find(|k| k.name == "heartbeat").unwrap();
    assert_eq!(heartbeat.default.as_deref(), Some("false"));
    assert!(kind_keys("no_such_kind").is_none());
}
