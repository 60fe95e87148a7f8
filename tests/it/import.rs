//! `awsim import`: every template of the corpus (tests/fixtures/templates/, public templates
//! with their origin in README.md there) imports, passes `awsim check`, runs one simulated
//! minute with conservation, and gives the scenario pinned beside it (`NAME.expected.toml`,
//! reviewed by eye once; `AWSIM_BLESS=1` rewrites them). Bad input fails with a located error.

use std::path::{Path, PathBuf};

use awsim::engine::time::SimDuration;
use awsim::run::run_quietly;
use awsim::scenario::{RunSettings, Scenario};

use crate::common::{awsim, text};

const DIR: &str = "tests/fixtures/templates";

fn templates() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(DIR)
        .expect("the corpus exists")
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.to_string_lossy();
            (name.ends_with(".yaml") || name.ends_with(".json")) && !name.contains(".expected.")
        })
        .collect();
    files.sort();
    files
}

fn import_file(
    path: &Path,
    overrides: &[(String, String)],
) -> Result<awsim::import::Imported, awsim::import::ImportError> {
    let text = std::fs::read_to_string(path).unwrap();
    let shown = path.file_name().unwrap().to_string_lossy().into_owned();
    awsim::import::import(&shown, &text, overrides, &awsim::components::importers())
}

/// The `--parameter`s of a template whose parameters lack a default (`NAME.parameters`).
fn parameters(path: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path.with_extension("parameters")).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[test]
fn the_corpus_imports_checks_runs_and_matches_its_pinned_scenarios() {
    let files = templates();
    assert!(
        files.len() >= 20,
        "the corpus has {} templates",
        files.len()
    );
    let bless = std::env::var_os("AWSIM_BLESS").is_some();
    let mut mismatches = Vec::new();
    for path in &files {
        let imported = import_file(path, &parameters(path)).unwrap_or_else(|e| panic!("{e}"));
        let scenario = Scenario::parse(&imported.scenario, path)
            .unwrap_or_else(|e| panic!("{}: {e}\n{}", path.display(), imported.scenario));
        let settings = RunSettings {
            duration: Some(SimDuration::from_secs(60)),
            ..RunSettings::default()
        };
        let summary =
            run_quietly(&scenario, settings).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            summary.conservation.ok,
            "{}: conservation {:?}",
            path.display(),
            summary.conservation
        );
        let expected = path.with_extension("expected.toml");
        if bless {
            std::fs::write(&expected, &imported.scenario).unwrap();
        } else {
            let pinned = std::fs::read_to_string(&expected).unwrap_or_default();
            if pinned != imported.scenario {
                mismatches.push(expected.display().to_string());
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "imports differ from their pinned scenarios (AWSIM_BLESS=1 rewrites them once reviewed): {mismatches:?}"
    );
}

#[test]
fn the_corpus_covers_every_mapped_kind() {
    let mut kinds = std::collections::BTreeSet::new();
    for path in templates() {
        for row in import_file(&path, &parameters(&path)).unwrap().table {
            if let awsim::import::Outcome::Mapped { kind, .. } = row.outcome {
                kinds.insert(kind);
            }
        }
    }
    for importer in awsim::components::importers() {
        assert!(
            kinds.contains(importer.kind),
            "no template of the corpus maps to {}",
            importer.kind
        );
    }
}

const SAM: &str = "\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  Memory: { Type: Number, Default: 512 }
Globals:
  Function:
    Timeout: 10
Resources:
  Orders:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 60
      RedrivePolicy: { deadLetterTargetArn: !GetAtt Dlq.Arn, maxReceiveCount: 3 }
  Dlq:
    Type: AWS::SQS::Queue
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PROVISIONED
      ProvisionedThroughput: { ReadCapacityUnits: 50, WriteCapacityUnits: 20 }
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      MemorySize: !Ref Memory
      ReservedConcurrentExecutions: 5
      Policies:
        - DynamoDBCrudPolicy: { TableName: !Ref Table }
      Events:
        FromQueue:
          Type: SQS
          Properties: { Queue: !GetAtt Orders.Arn, BatchSize: 5, ScalingConfig: { MaximumConcurrency: 4 } }
  Api:
    Type: AWS::Serverless::Function
    Properties:
      Environment: { Variables: { QUEUE_URL: !Ref Orders } }
      Events:
        Post: { Type: Api, Properties: { Path: /orders, Method: post } }
  Role:
    Type: AWS::IAM::Role
    Properties: { AssumeRolePolicyDocument: {} }
";

#[test]
fn a_sam_template_carries_its_settings_and_wiring() {
    let dir = std::env::temp_dir().join(format!("awsim-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let template = dir.join("app.yaml");
    std::fs::write(&template, SAM).unwrap();
    let out = dir.join("app.toml");
    let o = awsim(&[
        "import",
        template.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--parameter",
        "Memory=1024",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let table = text(&o.stdout);
    assert!(table.contains("WorkerFromQueue"), "{table}");
    assert!(table.contains("mapped into `Orders`"), "{table}");
    assert!(table.contains("skipped: permissions"), "{table}");
    let scenario = std::fs::read_to_string(&out).unwrap();
    for line in [
        "visibility_timeout = \"60s\"  # VisibilityTimeout",
        "dead_letter_queue = \"Dlq\"",
        "max_receive_count = 3",
        "consumer = \"Worker\"",
        "batch_size = 5",
        "maximum_concurrency = 4",
        "memory_mb = 1024  # MemorySize",
        "timeout = \"10s\"  # Timeout",
        "reserved_concurrency = 5",
        "{ call = \"Table\", op = \"write\" },  # inferred from its SAM policy DynamoDBCrudPolicy",
        "{ call = \"Orders\" },  # inferred from its environment variable QUEUE_URL",
        "rcu = 50",
        "target = \"Api\"",
        "name = \"ServerlessRestApi-clients\"",
    ] {
        assert!(scenario.contains(line), "missing `{line}` in\n{scenario}");
    }
    // The queue and the table are called, so only the API gets a load.
    assert_eq!(scenario.matches("[[workload]]").count(), 1, "{scenario}");
    let o = awsim(&["check", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_templates_fail_with_located_errors() {
    let dir = std::env::temp_dir().join(format!("awsim-import-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases: &[(&str, &str, &[&str], &str)] = &[
        (
            "malformed.yaml",
            "Resources:\n  A:\n  - b\n   c: d\n",
            &[],
            "malformed.yaml:4:5: malformed YAML",
        ),
        (
            "malformed.json",
            "{\"Resources\": {\"A\": }}",
            &[],
            "malformed.json:1:21: malformed JSON",
        ),
        (
            "ref.yaml",
            &SAM.replace("!Ref Table", "!Ref Tabel"),
            &[],
            "ref.yaml:27:44: `Ref Tabel` names no parameter, resource or pseudo parameter; did you mean `Table`?",
        ),
        (
            "param.yaml",
            &SAM.replace("Default: 512", "MinValue: 128"),
            &[],
            "param.yaml:4:3: parameter `Memory` has no Default: give it with --parameter Memory=VALUE",
        ),
        (
            "tag.yaml",
            &SAM.replace("!GetAtt Dlq.Arn", "!GetAttr Dlq.Arn"),
            &[],
            "tag.yaml:13:45: unknown intrinsic function `!GetAttr`; did you mean `!GetAtt`?",
        ),
        (
            "cycle.yaml",
            "Resources:\n  A: { Type: AWS::SQS::Queue, DependsOn: B }\n  B: { Type: AWS::SQS::Queue, DependsOn: A }\n",
            &[],
            "cycle.yaml:2:3: circular dependency between resources (Ref, Fn::GetAtt, Fn::Sub or DependsOn): A → B → A",
        ),
        (
            "memory.yaml",
            SAM,
            &["--parameter", "Memory=64"],
            "memory.yaml:24:19: `MemorySize` 64 is outside Lambda's 128 to 10240 MB",
        ),
    ];
    for (name, body, extra, expected) in cases {
        let path = dir.join(name);
        std::fs::write(&path, body).unwrap();
        let mut args = vec!["import", path.to_str().unwrap()];
        args.extend_from_slice(extra);
        let o = awsim(&args);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", text(&o.stderr));
        let err = text(&o.stderr);
        let shown = format!(
            "error: {}",
            expected.replacen(name, path.to_str().unwrap(), 1)
        );
        assert!(
            err.starts_with(&shown),
            "{name}: expected\n  {shown}\ngot\n  {err}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
