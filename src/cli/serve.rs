//! `reelguard serve`: the dashboard and the API alone (the daemon serves
//! them too); `reelguard tokens create|list|revoke`: who may use them.

use std::sync::Arc;

use clap::{Args, Subcommand};

use super::{confirm, Context, InputError};
use crate::clock::{self, to_seconds};
use crate::daemon::{self, pipeline::Pipeline};
use crate::domain::{AccessRole, JobKind};
use crate::http::{self, AppState, Server};
use crate::shapes::{NewTokenJson, TokenJson};
use crate::store::JobFilter;

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  reelguard serve\n  reelguard serve --listen 127.0.0.1:8080")]
pub struct ServeArgs {
    /// Address and port to listen on [default: [http] listen, 127.0.0.1:8080];
    /// port 0 takes any free port (the first line printed names it)
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<String>,
}

/// Serves until SIGINT or SIGTERM, fingerprinting the videos uploaded for
/// registration meanwhile (as a daemon would).
pub async fn run(context: &Context, args: ServeArgs) -> anyhow::Result<()> {
    let listen = args
        .listen
        .unwrap_or_else(|| context.config.http.listen.clone());
    let server = bind(context, &listen).await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        eprintln!("reelguard serve: stopping (requests under way finish first)");
        let _ = stop_tx.send(true);
    });
    let pipeline = Arc::new(Pipeline::new(
        Arc::new(context.open_store().await?),
        context.config.daemon_settings(),
        &context.data_dir()?,
    ));
    let registering = tokio::spawn(daemon::run_workers(
        pipeline,
        1,
        JobFilter {
            kinds: vec![JobKind::Register],
            scans: None,
        },
        stop_rx.clone(),
    ));
    let served = server.run(stop_rx).await;
    registering.await??;
    served
}

/// Binds the dashboard and the API on `listen` and says where they are.
pub async fn bind(context: &Context, listen: &str) -> anyhow::Result<Server> {
    let store = context.open_store().await?;
    let live_tokens = store
        .list_tokens()
        .await?
        .iter()
        .filter(|t| t.revoked_at.is_none())
        .count();
    if live_tokens == 0 {
        eprintln!(
            "reelguard: no access tokens yet; create one to sign in: reelguard tokens create NAME --role admin"
        );
    }
    let state = AppState::new(store, context.config.http_settings(), context.data_dir()?).await?;
    let server = Server::bind(listen, state).await?;
    let bound = server.local_addr()?;
    // The first line names the address: scripts read it when port 0 was asked for.
    println!(
        "reelguard: dashboard and API at {} (listening on {bound})",
        http::public_base(&context.config.http, Some(bound))
    );
    Ok(server)
}

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Create a token and print it (only once: the database keeps its hash)
    #[command(
        after_help = "Examples:\n  reelguard tokens create \"Li Hua\" --role reviewer\n  reelguard tokens create ci-bot --role viewer --json"
    )]
    Create {
        /// Who holds it; the review history shows this name
        name: String,
        /// viewer (reads), reviewer (also reviews and exports), admin (also
        /// manages works, sources and tokens)
        #[arg(long, default_value = "viewer")]
        role: AccessRole,
        #[arg(long)]
        json: bool,
    },
    /// List the tokens, live and revoked (never the tokens themselves)
    #[command(after_help = "Examples:\n  reelguard tokens list\n  reelguard tokens list --json")]
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by name or id: its sessions end at once (asks first
    /// unless --yes)
    #[command(after_help = "Example:\n  reelguard tokens revoke \"Li Hua\" --yes")]
    Revoke {
        name: String,
        /// Do not ask for confirmation (needed when stdin is not a terminal)
        #[arg(long, short = 'y')]
        yes: bool,
        /// Print the revoked token's record as JSON
        #[arg(long)]
        json: bool,
    },
}

pub async fn run_tokens(context: &Context, command: TokensCommand) -> anyhow::Result<()> {
    let store = context.open_store().await?;
    let result = async {
        match command {
            TokensCommand::Create { name, role, json } => {
                let name = http::check_token_name(&name).map_err(InputError)?;
                let token = http::new_token();
                let record = store
                    .create_token(name, role, &http::hash_token(&token), clock::now())
                    .await
                    .map_err(|e| InputError(e.to_string()))?;
                if json {
                    let out = NewTokenJson {
                        record: TokenJson::from(&record),
                        token,
                    };
                    println!("{}", serde_json::json!(out));
                } else {
                    println!("{token}");
                    eprintln!(
                        "token {:?} ({}) created; it is shown only now: keep it somewhere safe",
                        record.name, record.role
                    );
                }
            }
            TokensCommand::List { json } => {
                let tokens = store.list_tokens().await?;
                if json {
                    let list: Vec<_> = tokens.iter().map(TokenJson::from).collect();
                    println!("{}", serde_json::json!({ "tokens": list }));
                } else if tokens.is_empty() {
                    println!(
                        "no tokens; create one with `reelguard tokens create NAME --role reviewer`"
                    );
                } else {
                    for t in &tokens {
                        println!(
                            "{}  {:<24} {:<8} created {}  last used {}{}",
                            t.id,
                            t.name,
                            t.role,
                            to_seconds(t.created_at),
                            t.last_used_at
                                .map(to_seconds)
                                .unwrap_or_else(|| "never".into()),
                            t.revoked_at
                                .map(|r| format!("  REVOKED {}", to_seconds(r)))
                                .unwrap_or_default()
                        );
                    }
                }
            }
            TokensCommand::Revoke { name, yes, json } => {
                confirm(
                    &format!("Revoke token {name:?}? Its holder is signed out at once."),
                    yes,
                )?;
                let record = store
                    .revoke_token(&name, clock::now())
                    .await
                    .map_err(|e| InputError(e.to_string()))?;
                if json {
                    println!("{}", serde_json::json!(TokenJson::from(&record)));
                } else {
                    println!("token {:?} ({}) revoked", record.name, record.id);
                }
            }
        }
        Ok(())
    }
    .await;
    store.close().await;
    result
}
