//! `reelguard db migrate-to URL`: the whole database copied into an empty
//! PostgreSQL database. The blob directory stays where it is.

use clap::Subcommand;

use super::{Context, InputError};
use crate::store::{redact_url, Backend, Store};

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Copy every row (works, fingerprints, artifacts, tokens, sources, scans,
    /// candidates, matches, evidence, alert outbox) into an empty PostgreSQL
    /// database, in one transaction, and verify row counts and hashes. Point
    /// database_url (or REELGUARD_DATABASE_URL) at it afterwards.
    #[command(
        after_help = "Example:\n  reelguard db migrate-to postgres://reelguard@127.0.0.1:5432/reelguard"
    )]
    MigrateTo {
        /// postgres://USER[:PASSWORD]@HOST:PORT/DATABASE (the database must exist and be empty)
        url: String,
        /// Print the copied tables as JSON
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(context: &Context, command: DbCommand) -> anyhow::Result<()> {
    match command {
        DbCommand::MigrateTo { url, json } => {
            if Backend::of_url(&url) != Some(Backend::Postgres) {
                return Err(InputError(format!(
                    "db migrate-to {:?}: give a postgres://USER@HOST:PORT/DATABASE URL",
                    redact_url(&url)
                ))
                .into());
            }
            let source = context.open_store().await?;
            let target = Store::open(&url).await?;
            let copied = source.copy_into(&target).await;
            source.close().await;
            target.close().await;
            let copied = copied?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "target": redact_url(&url), "tables": copied })
                );
            } else {
                for table in &copied {
                    println!(
                        "{:<22} {:>8} rows  sha256 {}",
                        table.table, table.rows, table.sha256
                    );
                }
                println!(
                    "copied into {}; set database_url (or REELGUARD_DATABASE_URL) to it to use it",
                    redact_url(&url)
                );
            }
            Ok(())
        }
    }
}
