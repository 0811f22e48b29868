//! The `keyfence` command: operator tasks against the key table. Parsing and printing live
//! here; the work is in `keys` (and `seed` for fixtures).

pub mod keys;
pub mod output;
pub mod seed;
pub mod when;

use crate::clock::{Clock, SystemClock};
use crate::config::{self, Settings};
use crate::core::reason::Outcome;
use crate::store::StoreError;
use crate::store::dynamodb::DynamoDbStore;
use clap::{Parser, Subcommand};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "keyfence",
    version,
    about = "Manage keyfence API keys in DynamoDB"
)]
pub struct Cli {
    /// The key table.
    #[arg(long, global = true, env = config::TABLE_NAME, default_value = config::DEFAULT_TABLE_NAME)]
    table: String,
    /// A DynamoDB endpoint other than AWS's, such as a local server.
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL_DYNAMODB")]
    endpoint_url: Option<String>,
    /// Print JSON for scripts instead of text for people.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The key table itself.
    #[command(subcommand)]
    Table(TableCommand),
    /// Issue, inspect, change and retire keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The authorizer's decision and reason for a key, an address and a route, read from the
    /// table without invoking Lambda. Exits 0 when allowed, 1 when refused.
    Check {
        /// The key, or `-` to read it from standard input (keeps it out of shell history).
        #[arg(long)]
        key: String,
        /// The caller's source IP.
        #[arg(long)]
        ip: String,
        /// The request, such as 'GET /pets/1'; without it the route is not checked.
        #[arg(long)]
        route: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum TableCommand {
    /// Create the key table (for local use; the SAM template creates it in AWS).
    Create,
    /// Load key records from a JSON file (demo and test fixtures): each entry holds the key
    /// and the item's attributes; only the key's hash is stored.
    Seed { file: PathBuf },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Make a new key, print it once, store only its hash.
    Create(keys::GrantArgs),
    /// Store a key a partner already holds, read from standard input.
    Import {
        #[command(flatten)]
        grants: keys::GrantArgs,
        /// The public id for a key not issued by keyfence (default: a random id).
        #[arg(long)]
        key_id: Option<String>,
    },
    /// Every key and what it may do (never the key itself).
    List {
        #[arg(long)]
        principal: Option<String>,
    },
    /// One key and what it may do.
    Show { key_id: String },
    /// Refuse a key from now on (plus the caches' time to live).
    Revoke { key_id: String },
    /// Change a key's ranges, routes, expiry or description.
    Update {
        key_id: String,
        #[command(flatten)]
        changes: keys::UpdateArgs,
    },
    /// A new key with the same grants; the old one works until the overlap ends.
    Rotate {
        key_id: String,
        /// How long the old key keeps working: 30m, 12h, 7days.
        #[arg(long, default_value = "1h")]
        overlap: String,
    },
}

/// Exit codes, documented in the README.
pub mod exit {
    pub const OK: u8 = 0;
    pub const REFUSED: u8 = 1;
    pub const BAD_INPUT: u8 = 2;
    pub const CONFLICT: u8 = 3;
    pub const NOT_FOUND: u8 = 4;
    pub const STORE_UNAVAILABLE: u8 = 5;
    pub const INVALID_RECORD: u8 = 6;
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    BadInput(String),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::BadInput(_) => exit::BAD_INPUT,
            CliError::NotFound(_) => exit::NOT_FOUND,
            CliError::Store(StoreError::Conflict(_)) => exit::CONFLICT,
            CliError::Store(StoreError::Unavailable { .. }) => exit::STORE_UNAVAILABLE,
            CliError::Store(StoreError::InvalidRecord { .. }) => exit::INVALID_RECORD,
        }
    }
}

pub async fn run(cli: Cli) -> ExitCode {
    match execute(cli).await {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("keyfence: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

async fn execute(cli: Cli) -> Result<u8, CliError> {
    let mut settings = Settings::from_env().map_err(|e| CliError::BadInput(e.to_string()))?;
    settings.table_name = cli.table;
    let store = DynamoDbStore::from_settings(&settings, cli.endpoint_url.as_deref()).await;
    let now = SystemClock.unix_now();
    let json = cli.json;
    let show = |stored: &crate::store::item::StoredKey| {
        let view = output::KeyView::new(stored, now);
        if json {
            println!("{:#}", serde_json::json!(view));
        } else {
            print!("{}", view.render());
        }
    };
    match cli.command {
        Command::Table(TableCommand::Create) => {
            store.create_table().await?;
            println!("created table {}", store.table());
        }
        Command::Table(TableCommand::Seed { file }) => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| CliError::BadInput(format!("{}: {e}", file.display())))?;
            for entry in seed::parse(&text, now)? {
                store.insert(&entry).await?;
                println!(
                    "seeded key {} ({})",
                    entry.record.key_id,
                    entry.record.principal.as_str()
                );
            }
        }
        Command::Keys(KeysCommand::Create(grants)) => {
            let (key, stored) = keys::create(&store, &grants, now).await?;
            print!("{}", output::new_key(&key, &stored, now, json));
        }
        Command::Keys(KeysCommand::Import { grants, key_id }) => {
            let key = read_stdin_line("the key to import")?;
            show(&keys::import(&store, &key, key_id.as_deref(), &grants, now).await?);
        }
        Command::Keys(KeysCommand::List { principal }) => {
            let keys = keys::list(&store, principal.as_deref()).await?;
            if json {
                println!("{:#}", output::list_json(&keys, now));
            } else {
                print!("{}", output::render_list(&keys, now));
            }
        }
        Command::Keys(KeysCommand::Show { key_id }) => show(&keys::show(&store, &key_id).await?),
        Command::Keys(KeysCommand::Revoke { key_id }) => {
            show(&keys::revoke(&store, &key_id, now).await?)
        }
        Command::Keys(KeysCommand::Update { key_id, changes }) => {
            show(&keys::update(&store, &key_id, &changes, now).await?);
        }
        Command::Keys(KeysCommand::Rotate { key_id, overlap }) => {
            let overlap = when::parse_duration(&overlap)
                .map_err(|e| CliError::BadInput(format!("--overlap: {e}")))?;
            let (key, new, old) = keys::rotate(&store, &key_id, overlap, now).await?;
            if !json {
                println!(
                    "key {} keeps working until {}, then only the new key does.\n",
                    old.record.key_id,
                    old.record
                        .expires_at
                        .map(when::format_time)
                        .unwrap_or_default()
                );
            }
            print!("{}", output::new_key(&key, &new, now, json));
        }
        Command::Check { key, ip, route } => {
            let key = if key == "-" {
                read_stdin_line("the key to check")?
            } else {
                key
            };
            let outcome = keys::check(
                &store,
                &settings.deny_list,
                &key,
                &ip,
                route.as_deref(),
                now,
            )
            .await?;
            print!("{}", output::check(&outcome, json));
            return Ok(match outcome.reason.outcome() {
                Outcome::Allow => exit::OK,
                Outcome::Error => exit::STORE_UNAVAILABLE,
                Outcome::Deny | Outcome::Unauthorized => exit::REFUSED,
            });
        }
    }
    Ok(exit::OK)
}

fn read_stdin_line(what: &str) -> Result<String, CliError> {
    let mut text = String::new();
    std::io::stdin()
        .take(4096)
        .read_to_string(&mut text)
        .map_err(|e| CliError::BadInput(format!("reading {what} from standard input: {e}")))?;
    let line = text.lines().next().unwrap_or("").trim().to_owned();
    if line.is_empty() {
        return Err(CliError::BadInput(format!("give {what} on standard input")));
    }
    Ok(line)
}
