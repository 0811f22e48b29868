//! The `keyfence` binary end to end: exit codes, JSON output, and no key printed except by
//! `keys create` and `keys rotate`.

use crate::helpers::*;
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Output, Stdio};

struct Cli {
    table: String,
}

impl Cli {
    async fn new() -> Self {
        let table = TestTable::new().await;
        Self {
            table: table.store.table().to_owned(),
        }
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_keyfence"))
            .args([
                "--table",
                &self.table,
                "--endpoint-url",
                &dynamodb_endpoint(),
            ])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start keyfence");
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
        drop(input);
        child.wait_with_output().unwrap()
    }

    /// `keys create --json` for a partner in 192.0.2.0/24: the printed key and its id.
    fn create(&self, extra: &[&str]) -> (String, String) {
        let mut args = vec![
            "--json",
            "keys",
            "create",
            "--principal",
            "Example Partner",
            "--cidr",
            "192.0.2.0/24",
        ];
        args.extend_from_slice(extra);
        let output = self.run(&args, None);
        assert_eq!(code(&output), 0, "{}", text(&output));
        let created: Value = serde_json::from_slice(&output.stdout).unwrap();
        let field = |name: &str| created[name].as_str().unwrap().to_owned();
        (field("key"), field("key_id"))
    }
}

fn code(output: &Output) -> i32 {
    output.status.code().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test]
async fn an_operator_creates_checks_revokes_and_never_sees_the_key_again() {
    let cli = Cli::new().await;
    let (key, key_id) = cli.create(&["--route", "GET /pets/*"]);
    assert!(key.starts_with("kf_"));

    let allowed = cli.run(
        &[
            "check",
            "--key",
            "-",
            "--ip",
            "192.0.2.10",
            "--route",
            "GET /pets/1",
        ],
        Some(&key),
    );
    assert_eq!(code(&allowed), 0, "{}", text(&allowed));
    assert!(text(&allowed).contains("allowed"));
    let elsewhere = cli.run(&["check", "--key", &key, "--ip", "198.51.100.1"], None);
    assert_eq!(code(&elsewhere), 1);
    assert!(text(&elsewhere).contains("source_ip_not_allowed"));

    let outputs = [
        cli.run(&["keys", "list"], None),
        cli.run(&["--json", "keys", "list"], None),
        cli.run(&["keys", "show", &key_id], None),
        cli.run(
            &["keys", "update", &key_id, "--add-cidr", "198.51.100.0/24"],
            None,
        ),
        cli.run(&["keys", "revoke", &key_id], None),
    ];
    for output in &outputs {
        assert_eq!(code(output), 0, "{}", text(output));
        assert!(text(output).contains(&key_id), "{}", text(output));
        assert!(
            !text(output).contains(&key),
            "a command printed the key: {}",
            text(output)
        );
    }
    let revoked = cli.run(
        &["--json", "check", "--key", "-", "--ip", "192.0.2.10"],
        Some(&key),
    );
    assert_eq!(code(&revoked), 1);
    let revoked: Value = serde_json::from_slice(&revoked.stdout).unwrap();
    assert_eq!(revoked["reason"], "key_revoked");
    assert!(!revoked.to_string().contains(&key));
}

#[tokio::test]
async fn rotate_prints_only_the_new_key() {
    let cli = Cli::new().await;
    let (old_key, key_id) = cli.create(&[]);
    let rotated = cli.run(
        &["--json", "keys", "rotate", &key_id, "--overlap", "10m"],
        None,
    );
    assert_eq!(code(&rotated), 0, "{}", text(&rotated));
    let rotated_json: Value = serde_json::from_slice(&rotated.stdout).unwrap();
    assert_ne!(rotated_json["key"], old_key.as_str());
    assert!(rotated_json["key"].as_str().unwrap().starts_with("kf_"));
    assert!(!text(&rotated).contains(&old_key));
}

#[tokio::test]
async fn import_reads_the_key_from_stdin_and_does_not_echo_it() {
    let cli = Cli::new().await;
    let legacy = "legacy-partner-key-7a6b5c4d";
    let imported = cli.run(
        &[
            "keys",
            "import",
            "--principal",
            "Legacy",
            "--cidr",
            "192.0.2.0/24",
            "--key-id",
            "legacy-1",
        ],
        Some(&format!("{legacy}\n")),
    );
    assert_eq!(code(&imported), 0, "{}", text(&imported));
    assert!(!text(&imported).contains(legacy));
    let check = cli.run(&["check", "--key", "-", "--ip", "192.0.2.1"], Some(legacy));
    assert_eq!(code(&check), 0, "{}", text(&check));
    let empty = cli.run(
        &[
            "keys",
            "import",
            "--principal",
            "Legacy",
            "--cidr",
            "192.0.2.0/24",
        ],
        Some(""),
    );
    assert_eq!(code(&empty), 2);
}

#[tokio::test]
async fn exit_codes_follow_the_readme() {
    let cli = Cli::new().await;
    let bad_cidr = cli.run(
        &[
            "keys",
            "create",
            "--principal",
            "P",
            "--cidr",
            "192.0.2.1/24",
        ],
        None,
    );
    assert_eq!(code(&bad_cidr), 2);
    assert!(text(&bad_cidr).contains("--cidr"), "{}", text(&bad_cidr));
    let missing_cidr = cli.run(&["keys", "create", "--principal", "P"], None);
    assert_eq!(code(&missing_cidr), 2, "clap usage errors exit 2");
    let unknown = cli.run(&["keys", "show", "nosuchkey1"], None);
    assert_eq!(code(&unknown), 4);
    let exists = cli.run(&["table", "create"], None);
    assert_eq!(code(&exists), 3);
    let mistyped = cli.run(
        &[
            "check",
            "--key",
            "kf_aaaaaaaaaa_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "--ip",
            "192.0.2.1",
        ],
        None,
    );
    assert_eq!(code(&mistyped), 1);
    assert!(text(&mistyped).contains("key_malformed"));
}

#[tokio::test]
async fn an_unreachable_table_exits_5() {
    let output = Command::new(env!("CARGO_BIN_EXE_keyfence"))
        .args(["--endpoint-url", "http://127.0.0.1:9", "keys", "list"])
        .env("KEYFENCE_STORE_TIMEOUT_MS", "300")
        .output()
        .unwrap();
    assert_eq!(code(&output), 5, "{}", text(&output));
}
