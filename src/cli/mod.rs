//! The `keyfence` command: operator tasks against the key table.

pub mod seed;

use crate::config::{self, Settings};
use crate::store::StoreError;
use crate::store::dynamodb::DynamoDbStore;
use clap::{Parser, Subcommand};
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
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The key table itself.
    #[command(subcommand)]
    Table(TableCommand),
}

#[derive(Debug, Subcommand)]
enum TableCommand {
    /// Create the key table (for local use; the SAM template creates it in AWS).
    Create,
    /// Load key records from a JSON file (demo and test fixtures): each entry holds the key
    /// and the item's attributes; only the key's hash is stored.
    Seed { file: PathBuf },
}

/// Exit codes, documented in the README.
pub mod exit {
    pub const OK: u8 = 0;
    pub const BAD_INPUT: u8 = 2;
    pub const CONFLICT: u8 = 3;
    pub const STORE_UNAVAILABLE: u8 = 4;
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    BadInput(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::BadInput(_) | CliError::Store(StoreError::InvalidRecord { .. }) => {
                exit::BAD_INPUT
            }
            CliError::Store(StoreError::Conflict(_)) => exit::CONFLICT,
            CliError::Store(StoreError::Unavailable { .. }) => exit::STORE_UNAVAILABLE,
        }
    }
}

pub async fn run(cli: Cli) -> ExitCode {
    match execute(cli).await {
        Ok(()) => ExitCode::from(exit::OK),
        Err(error) => {
            eprintln!("keyfence: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

async fn execute(cli: Cli) -> Result<(), CliError> {
    let mut settings = Settings::from_env().map_err(|e| CliError::BadInput(e.to_string()))?;
    settings.table_name = cli.table;
    let store = DynamoDbStore::from_settings(&settings, cli.endpoint_url.as_deref()).await;
    match cli.command {
        Command::Table(TableCommand::Create) => {
            store.create_table().await?;
            println!("created table {}", store.table());
        }
        Command::Table(TableCommand::Seed { file }) => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| CliError::BadInput(format!("{}: {e}", file.display())))?;
            for entry in seed::parse(&text)? {
                store.insert(&entry.hash, &entry.record).await?;
                println!(
                    "seeded key {} ({})",
                    entry.record.key_id,
                    entry.record.principal.as_str()
                );
            }
        }
    }
    Ok(())
}
