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

const WEB: &str = "\
Resources:
  Lb:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties:
      LoadBalancerAttributes: [{ Key: idle_timeout.timeout_seconds, Value: '20' }]
  Listener:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      LoadBalancerArn: !Ref Lb
      DefaultActions: [{ Type: forward, TargetGroupArn: !Ref Tg }]
  Tg:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties:
      HealthCheckIntervalSeconds: 15
      HealthyThresholdCount: 3
      TargetGroupAttributes:
        - { Key: load_balancing.algorithm.type, Value: least_outstanding_requests }
        - { Key: deregistration_delay.timeout_seconds, Value: '45' }
        - { Key: load_balancing.cross_zone.enabled, Value: 'false' }
  Lt:
    Type: AWS::EC2::LaunchTemplate
    Properties: { LaunchTemplateData: { InstanceType: m5.large, CreditSpecification: { CpuCredits: unlimited } } }
  Group:
    Type: AWS::AutoScaling::AutoScalingGroup
    Properties:
      MinSize: '2'
      MaxSize: '8'
      DesiredCapacity: 3
      LaunchTemplate: { LaunchTemplateId: !Ref Lt, Version: '1' }
      TargetGroupARNs: [!Ref Tg]
      HealthCheckType: ELB
      HealthCheckGracePeriod: 90
      Cooldown: 120
  Tracking:
    Type: AWS::AutoScaling::ScalingPolicy
    Properties:
      AutoScalingGroupName: !Ref Group
      PolicyType: TargetTrackingScaling
      TargetTrackingConfiguration:
        PredefinedMetricSpecification: { PredefinedMetricType: ALBRequestCountPerTarget }
        TargetValue: 500
  Steps:
    Type: AWS::AutoScaling::ScalingPolicy
    Properties:
      AutoScalingGroupName: !Ref Group
      PolicyType: StepScaling
      AdjustmentType: ChangeInCapacity
      StepAdjustments:
        - { MetricIntervalLowerBound: 0, MetricIntervalUpperBound: 20, ScalingAdjustment: 1 }
        - { MetricIntervalLowerBound: 20, ScalingAdjustment: 3 }
  High:
    Type: AWS::CloudWatch::Alarm
    Properties:
      MetricName: CPUUtilization
      Namespace: AWS/EC2
      Statistic: Maximum
      Period: 120
      EvaluationPeriods: 3
      DatapointsToAlarm: 2
      Threshold: 70
      ComparisonOperator: GreaterThanOrEqualToThreshold
      AlarmActions: [!Ref Steps]
  Down:
    Type: AWS::AutoScaling::ScalingPolicy
    Properties: { AutoScalingGroupName: !Ref Group, ScalingAdjustment: -1, Cooldown: '600' }
  Low:
    Type: AWS::CloudWatch::Alarm
    Properties:
      MetricName: CPUUtilization
      Threshold: 20
      ComparisonOperator: LessThanThreshold
      AlarmActions: [!Ref Down]
  Network:
    Type: AWS::AutoScaling::ScalingPolicy
    Properties:
      AutoScalingGroupName: !Ref Group
      PolicyType: TargetTrackingScaling
      TargetTrackingConfiguration:
        PredefinedMetricSpecification: { PredefinedMetricType: ASGAverageNetworkIn }
        TargetValue: 1000000
  Nightly:
    Type: AWS::AutoScaling::ScheduledAction
    Properties: { AutoScalingGroupName: !Ref Group, Recurrence: '0 22 * * *', MinSize: 1, MaxSize: 2 }
  Box:
    Type: AWS::EC2::Instance
    Properties: { InstanceType: t3.micro, CreditSpecification: { CPUCredits: standard } }
  Nlb:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties: { Type: network }
  NlbListener:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties:
      LoadBalancerArn: !Ref Nlb
      DefaultActions: [{ Type: forward, TargetGroupArn: !Ref NlbTg }]
  NlbTg:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties:
      Targets: [{ Id: !Ref Box }]
      TargetGroupAttributes: [{ Key: deregistration_delay.timeout_seconds, Value: '10' }]
";

#[test]
fn load_balancers_groups_policies_and_instances_carry_their_settings() {
    let imported = awsim::import::import("web.yaml", WEB, &[], &awsim::components::importers())
        .unwrap_or_else(|e| panic!("{e}"));
    let scenario = &imported.scenario;
    for line in [
        "kind = \"alb\"",
        "targets = \"Group\"  # target group `Tg`",
        "algorithm = \"least_outstanding_requests\"  # load_balancing.algorithm.type",
        "idle_timeout = \"20s\"  # idle_timeout.timeout_seconds",
        "deregistration_delay = \"45s\"",
        "cross_zone = false  # the target group's load_balancing.cross_zone.enabled",
        "health_check = { healthy_threshold = 3, interval = \"15s\" }",
        "kind = \"asg\"",
        "min = 2  # MinSize",
        "max = 8  # MaxSize",
        "desired = 3  # DesiredCapacity",
        "instance_type = \"m5.large\"  # InstanceType of LaunchTemplate `Lt`",
        "health_check_type = \"elb\"",
        "health_check_grace_period = \"90s\"",
        "default_cooldown = \"120s\"",
        "metric = \"request_count_per_target\"  # PredefinedMetricType ALBRequestCountPerTarget",
        "target = 500.0  # TargetValue",
        "type = \"step\"  # StepScaling",
        "comparison = \">=\"  # ComparisonOperator",
        "threshold = 70.0  # Threshold",
        "period = \"120s\"  # Period",
        "evaluation_periods = 3",
        "datapoints_to_alarm = 2",
        "statistic = \"maximum\"",
        "steps = [{ change = 1, lower = 0.0, upper = 20.0 }, { change = 3, lower = 20.0 }]",
        "type = \"simple\"  # SimpleScaling",
        "adjustment = -1  # ScalingAdjustment",
        "cooldown = \"600s\"  # Cooldown",
        "scheduled action `Nightly` (Recurrence `0 22 * * *`): TODO(import)",
        "kind = \"nlb\"",
        "targets = \"Box\"  # target group `NlbTg`",
        "deregistration_delay = \"10s\"",
        "kind = \"ec2_fleet\"",
        "instances = 1",
        "instance_type = \"t3.micro\"  # InstanceType",
        // A burstable instance keeps its template's credit mode; another type's is noted.
        "credit_specification = \"standard\"  # CreditSpecification.CPUCredits",
        "CreditSpecification of LaunchTemplate `Lt` is `unlimited`, which only a burstable (T) \
         instance type uses: not carried over",
    ] {
        assert!(scenario.contains(line), "missing `{line}` in\n{scenario}");
    }
    let outcome = |id: &str| {
        imported
            .table
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.outcome.clone())
            .unwrap()
    };
    use awsim::import::Outcome;
    for id in [
        "Listener", "Tg", "Tracking", "Steps", "High", "Down", "Low", "Lt", "Nightly",
    ] {
        assert!(
            matches!(outcome(id), Outcome::Into { .. }),
            "{id}: {:?}",
            outcome(id)
        );
    }
    assert!(
        matches!(outcome("Network"), Outcome::Unsupported(ref why) if why.contains("ASGAverageNetworkIn")),
        "{:?}",
        outcome("Network")
    );
    // The load balancers are the entry points: each gets a load, their targets none.
    assert_eq!(scenario.matches("[[workload]]").count(), 2, "{scenario}");
    let parsed = Scenario::parse(scenario, Path::new("web.toml"))
        .unwrap_or_else(|e| panic!("{e}\n{scenario}"));
    let summary = run_quietly(
        &parsed,
        RunSettings {
            duration: Some(SimDuration::from_secs(60)),
            ..RunSettings::default()
        },
    )
    .unwrap();
    assert!(summary.conservation.ok);
}

#[test]
fn a_lambda_target_group_or_an_empty_one_is_unsupported_with_its_reason() {
    let template = "\
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties: { MemorySize: 256 }
  Lb:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
  Listener:
    Type: AWS::ElasticLoadBalancingV2::Listener
    Properties: { LoadBalancerArn: !Ref Lb, DefaultActions: [{ Type: forward, TargetGroupArn: !Ref Tg }] }
  Tg:
    Type: AWS::ElasticLoadBalancingV2::TargetGroup
    Properties: { TargetType: lambda, Targets: [{ Id: !GetAtt Fn.Arn }] }
  Empty:
    Type: AWS::ElasticLoadBalancingV2::LoadBalancer
    Properties: { Type: network }
";
    let imported = awsim::import::import(
        "lambda-alb.yaml",
        template,
        &[],
        &awsim::components::importers(),
    )
    .unwrap();
    let text = awsim::import::table_text(&imported.table);
    assert!(
        text.contains("unsupported: its target group `Tg` holds Lambda functions"),
        "{text}"
    );
    assert!(
        text.contains("unsupported: its listeners forward to no target group of the template"),
        "{text}"
    );
    let tg = imported.table.iter().find(|r| r.id == "Tg").unwrap();
    assert_eq!(
        tg.outcome,
        awsim::import::Outcome::Unsupported(
            "its load balancer is not imported (see the load balancer's row)".into()
        )
    );
    // The function is then the entry point.
    assert!(
        imported.scenario.contains("target = \"Fn\""),
        "{}",
        imported.scenario
    );
}

/// The example `scenarios/examples/imported_web_tier.toml` is the import of
/// `scenarios/examples/templates/web_tier.yaml` with its TODOs filled: every line the import
/// writes without a TODO is in the example, in the same order, and no TODO is left.
#[test]
fn the_imported_example_is_its_template_s_import_with_the_todos_filled() {
    let template = Path::new("scenarios/examples/templates/web_tier.yaml");
    let imported = import_file(template, &[]).unwrap_or_else(|e| panic!("{e}"));
    let example = std::fs::read_to_string("scenarios/examples/imported_web_tier.toml").unwrap();
    assert!(
        !example.contains("TODO(import)"),
        "the example leaves a TODO unfilled"
    );
    let mut lines = example.lines();
    for wanted in imported
        .scenario
        .lines()
        .filter(|l| !l.contains("TODO(import)") && !l.trim().is_empty())
    {
        assert!(
            lines.any(|l| l == wanted),
            "the import's line `{wanted}` is not in the example (in order): re-import the \
             template and fill its TODOs again"
        );
    }
}
