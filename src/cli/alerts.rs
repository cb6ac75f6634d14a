//! `reelguard alerts list|test|send`: the outbox's state, a test email
//! through the configured SMTP server, and delivering what is due now.

use std::sync::Arc;

use clap::Subcommand;

use super::{Context, InputError};
use crate::alerts::outbox::Outbox;
use crate::alerts::{self, email};
use crate::clock;
use crate::domain::AlertState;
use crate::secret::{redact_recipient, redact_urls_in_text};

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// The alerts in the outbox, newest first, with their delivery state
    #[command(
        after_help = "Examples:\n  reelguard alerts list\n  reelguard alerts list --limit 200 --json"
    )]
    List {
        /// How many alerts to show
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// Send a test email through [smtp] and print the server's answer
    #[command(
        after_help = "Examples:\n  reelguard alerts test\n  reelguard alerts test --to me@example.com"
    )]
    Test {
        /// Send to this address instead of the [alerts] recipients
        #[arg(long, value_name = "ADDR")]
        to: Option<String>,
        /// Print as JSON: {"sent": [{"to", "answer"}], "failed": [{"to", "error"}]}
        #[arg(long)]
        json: bool,
    },
    /// Deliver every alert that is due now (the daemon does this on its own)
    #[command(
        after_help = "Examples:\n  reelguard alerts send\n  reelguard alerts send --flush-digests\n  reelguard alerts send --retry-failed    # after fixing [smtp]"
    )]
    Send {
        /// Send the pending digests now instead of at their scheduled time
        #[arg(long)]
        flush_digests: bool,
        /// Queue the alerts that failed for good again, with fresh attempts
        #[arg(long)]
        retry_failed: bool,
        /// Print as JSON: {"sent", "retrying", "failed", "pending", "next_due"}
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(context: &Context, command: AlertsCommand) -> anyhow::Result<()> {
    match command {
        AlertsCommand::List { limit, json } => list(context, limit, json).await,
        AlertsCommand::Test { to, json } => test(context, to, json).await,
        AlertsCommand::Send {
            flush_digests,
            retry_failed,
            json,
        } => {
            let store = Arc::new(context.open_store().await?);
            let now = clock::now();
            if flush_digests {
                store.flush_digests(now).await?;
            }
            if retry_failed {
                store.retry_failed_alerts(now).await?;
            }
            let outbox = Outbox::new(
                store.clone(),
                context.config.alert_settings(),
                context.config.capture_settings(),
            )
            .with_captures(&context.data_dir()?);
            outbox.release_dead_leases().await?;
            let done = outbox.deliver_due().await?;
            let (pending, next) = store.pending_alerts().await?;
            if json {
                let out = serde_json::json!({
                    "sent": done.sent,
                    "retrying": done.retrying,
                    "failed": done.failed,
                    "pending": pending,
                    "next_due": next.map(clock::stored),
                });
                println!("{out}");
                return Ok(());
            }
            println!(
                "alerts: {} sent, {} waiting for a retry, {} failed; {pending} pending{}",
                done.sent,
                done.retrying,
                done.failed,
                next.map(|n| format!(" (next due {})", clock::stored(n)))
                    .unwrap_or_default()
            );
            Ok(())
        }
    }
}

async fn list(context: &Context, limit: i64, json: bool) -> anyhow::Result<()> {
    let store = context.open_store().await?;
    let rows = store.list_alerts(limit).await?;
    if json {
        let rows: Vec<_> = rows.iter().map(crate::shapes::AlertJson::from).collect();
        println!("{}", serde_json::json!({ "alerts": rows }));
    } else if rows.is_empty() {
        println!("no alerts yet; they are queued when a scan finds a match and [smtp]/[alerts] are configured");
    } else {
        for a in &rows {
            println!(
                "{}  {:<9}  {}  {} -> {}  match {}  attempts {}",
                a.id,
                a.state,
                clock::stored(a.created_at),
                a.channel,
                redact_recipient(&a.recipient),
                a.match_id,
                a.attempts
            );
            if a.batch.starts_with("digest:") {
                println!("  digest due {}", clock::stored(a.due_at));
            }
            match a.state {
                AlertState::Delivered => println!(
                    "  delivered {}: {}",
                    a.delivered_at.map(clock::stored).as_deref().unwrap_or("-"),
                    redact_urls_in_text(a.server_response.as_deref().unwrap_or(""))
                ),
                _ => {
                    if let Some(error) = &a.last_error {
                        println!("  last error: {}", redact_urls_in_text(error));
                    }
                    if a.state == AlertState::Queued {
                        println!("  next attempt {}", clock::stored(a.next_attempt_at));
                    }
                }
            }
        }
    }
    store.close().await;
    Ok(())
}

async fn test(context: &Context, to: Option<String>, json: bool) -> anyhow::Result<()> {
    let config = &context.config;
    if config.smtp.host.is_empty() {
        return Err(InputError(
            "smtp.host is not set: add an [smtp] section to the config file (see config/reelguard.example.toml)".into(),
        )
        .into());
    }
    let recipients = match to {
        Some(to) => vec![to],
        None => alerts::email_recipients(&config.alert_settings()),
    };
    if recipients.is_empty() {
        return Err(InputError(
            "no recipient: pass --to ADDR or set [alerts] to (or [owner] email)".into(),
        )
        .into());
    }
    let letter = email::Letter {
        subject: "[reelguard] Test alert / 测试提醒".into(),
        text: format!(
            "This is a test message from reelguard: alerts of new matches will reach you through {}:{}.\n\n\
             这是 reelguard 的测试邮件：发现新的转载时，提醒将通过 {}:{} 发送给您。\n",
            config.smtp.host, config.smtp.port, config.smtp.host, config.smtp.port
        ),
        html: "<p>This is a test message from reelguard.<br>这是 reelguard 的测试邮件。</p>".into(),
        images: Vec::new(),
        attachments: Vec::new(),
    };
    let mut sent = Vec::new();
    let mut not_sent = Vec::new();
    for recipient in &recipients {
        let message =
            email::build_message(&letter, &config.smtp.from, &config.smtp.reply_to, recipient)
                .map_err(|e| InputError(format!("{e:#}")))?;
        match email::send(&config.smtp, message).await {
            Ok(answer) => {
                if !json {
                    println!("{recipient}: server answered {answer}");
                }
                sent.push(serde_json::json!({ "to": recipient, "answer": answer }));
            }
            Err(e) => {
                if !json {
                    println!("{recipient}: not sent: {e:#}");
                }
                not_sent.push(serde_json::json!({ "to": recipient, "error": format!("{e:#}") }));
            }
        }
    }
    if json {
        println!(
            "{}",
            serde_json::json!({ "sent": sent, "failed": not_sent })
        );
    }
    let failed = not_sent.len();
    if failed > 0 {
        anyhow::bail!(
            "{failed} of {} test message(s) not sent; check [smtp] host, port, security and credentials",
            recipients.len()
        );
    }
    Ok(())
}
