//! `reelguard sources add|list|remove|test`.

use clap::{Args, Subcommand};

use super::{confirm, Context, InputError};
use crate::clock;
use crate::daemon::sync_config_sources;
use crate::domain::SourceOrigin;
use crate::source_config::{SourceConfig, SourceKind};
use crate::sources::http::HttpClient;
use crate::sources::{self, ScanContext};

#[derive(Debug, Subcommand)]
pub enum SourcesCommand {
    /// Add a source (or replace one added earlier with the same name)
    #[command(
        after_help = "Examples:\n  reelguard sources add tiktok-feed --kind feed --url https://example.com/feed.xml\n  reelguard sources add my-channel --kind youtube-channel --url \"https://www.youtube.com/feeds/videos.xml?channel_id=UC...\" --schedule \"0 */30 * * * *\" --timezone Asia/Shanghai"
    )]
    Add(AddArgs),
    /// List the sources with their last run, next run and last error
    #[command(after_help = "Examples:\n  reelguard sources list\n  reelguard sources list --json")]
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a source added with `sources add` (asks first unless --yes)
    #[command(after_help = "Example:\n  reelguard sources remove tiktok-feed --yes")]
    Remove {
        name: String,
        /// Do not ask for confirmation (needed when stdin is not a terminal)
        #[arg(long, short = 'y')]
        yes: bool,
        /// Print as JSON: {"removed": NAME}
        #[arg(long)]
        json: bool,
    },
    /// List what a source shows now, without recording anything
    #[command(
        after_help = "Examples:\n  reelguard sources test tiktok-feed\n  reelguard sources test tiktok-feed --json"
    )]
    Test {
        name: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// A name for the source (letters, digits, '-', '_', '.')
    pub name: String,
    #[arg(long, value_enum)]
    pub kind: SourceKind,
    /// Feed, page or channel-feed URL; the API base URL for youtube-search; a directory for folder
    #[arg(long)]
    pub url: String,
    /// Cron schedule: 6 fields with seconds, or a 5-field crontab [default: hourly]
    #[arg(long)]
    pub schedule: Option<String>,
    /// IANA time zone of the schedule [default: UTC]
    #[arg(long)]
    pub timezone: Option<String>,
    /// Let the source reach private, loopback and link-local addresses
    #[arg(long)]
    pub allow_private: bool,
    /// Let the source reach loopback addresses (127.0.0.0/8, ::1) only
    #[arg(long)]
    pub allow_loopback: bool,
    /// Proxy for every request: http://, https://, socks5:// or socks5h://
    #[arg(long)]
    pub proxy: Option<String>,
    /// youtube-search: an extra search term (repeatable)
    #[arg(long = "keyword")]
    pub keywords: Vec<String>,
    /// yt-dlp program for this source
    #[arg(long)]
    pub ytdlp_path: Option<String>,
    /// Print the added source as JSON: {"added": {...}}, as `sources list --json` shows it
    #[arg(long)]
    pub json: bool,
}

pub async fn run(context: &Context, command: SourcesCommand) -> anyhow::Result<()> {
    let store = context.open_store().await?;
    sync_config_sources(&store, &context.config.sources).await?;
    match command {
        SourcesCommand::Add(args) => {
            let mut config = SourceConfig::new(&args.name, args.kind, &args.url);
            if let Some(schedule) = args.schedule {
                config.schedule = schedule;
            }
            if let Some(timezone) = args.timezone {
                config.timezone = timezone;
            }
            config.allow_private = args.allow_private;
            config.allow_loopback = args.allow_loopback;
            config.proxy = args.proxy;
            config.keywords = args.keywords;
            config.ytdlp_path = args.ytdlp_path;
            if config.kind == SourceKind::Folder {
                config.url = super::absolute(std::path::Path::new(&config.url))
                    .display()
                    .to_string();
            }
            config
                .validate()
                .map_err(|e| InputError(format!("{e:#}")))?;
            if context.config.sources.iter().any(|s| s.name == config.name) {
                return Err(InputError(format!(
                    "source {:?} is declared in the config file; change it there or pick another name",
                    config.name
                ))
                .into());
            }
            store
                .upsert_source(&config, SourceOrigin::Cli, clock::now())
                .await?;
            if args.json {
                let stored = store.get_source(&config.name).await?;
                let shown = crate::shapes::SourceJson::from(&stored);
                println!("{}", serde_json::json!({ "added": shown }));
            } else {
                println!(
                    "source {} added ({} {}, schedule {:?} {})",
                    config.name,
                    config.kind.as_str(),
                    config.url,
                    config.schedule,
                    config.timezone
                );
            }
        }
        SourcesCommand::List { json } => {
            let mut sources = store.list_sources().await?;
            // Without a daemon to plan it, the next run follows from the schedule.
            for s in &mut sources {
                if s.next_run_at.is_none() && s.last_run_at.is_some() {
                    if let Ok((schedule, tz)) = s.config.cron() {
                        s.next_run_at = crate::crontab::next_fire(&schedule, tz, clock::now());
                    }
                }
            }
            if json {
                let list: Vec<_> = sources
                    .iter()
                    .map(crate::shapes::SourceJson::from)
                    .collect();
                println!("{}", serde_json::json!({ "sources": list }));
            } else if sources.is_empty() {
                println!(
                    "no sources; add one with `reelguard sources add NAME --kind feed --url URL`"
                );
            } else {
                for s in &sources {
                    println!(
                        "{}  {} {}\n    schedule {:?} {} ({})  last run {}  next run {}{}",
                        s.config.name,
                        s.config.kind.as_str(),
                        s.config.url,
                        s.config.schedule,
                        s.config.timezone,
                        s.origin,
                        s.last_run_at
                            .map(clock::stored)
                            .as_deref()
                            .unwrap_or("never"),
                        s.next_run_at
                            .map(clock::stored)
                            .as_deref()
                            .unwrap_or("when the daemon starts"),
                        s.last_error
                            .as_deref()
                            .map(|e| format!("\n    last error: {e}"))
                            .unwrap_or_default()
                    );
                }
            }
        }
        SourcesCommand::Remove { name, yes, json } => {
            if context.config.sources.iter().any(|s| s.name == name) {
                return Err(InputError(format!(
                    "source {name:?} is declared in the config file; remove it there"
                ))
                .into());
            }
            // Named wrongly, it is refused before anything is asked.
            store.get_source(&name).await?;
            confirm(
                &format!("Remove source {name:?} and its scan schedule?"),
                yes,
            )?;
            store.remove_source(&name).await?;
            if json {
                println!("{}", serde_json::json!({ "removed": name }));
            } else {
                println!("source {name} removed");
            }
        }
        SourcesCommand::Test { name, json } => {
            let config = store.get_source(&name).await?.config;
            let client = HttpClient::new(&config)?;
            let work_titles = store
                .list_works()
                .await?
                .into_iter()
                .map(|w| w.title)
                .collect();
            let cx = ScanContext {
                config: &config,
                client: &client,
                store: &store,
                work_titles,
                now: chrono::Utc::now(),
                conditional: false,
            };
            let listing = sources::for_kind(config.kind)
                .discover(&cx)
                .await?
                .bounded();
            if json {
                let candidates: Vec<_> = listing
                    .candidates
                    .iter()
                    .map(|c| {
                        serde_json::json!({
                            "url": c.canonical_url, "platform": c.platform, "uploader": c.uploader,
                            "title": c.title, "published_at": c.published_at.map(clock::to_seconds), "media_url": c.media_url,
                        })
                    })
                    .collect();
                println!(
                    "{}",
                    serde_json::json!({"source": name, "candidates": candidates, "errors": listing.errors})
                );
            } else {
                println!(
                    "source {name}: {} upload(s) listed",
                    listing.candidates.len()
                );
                for c in &listing.candidates {
                    println!("  {}  {:?} by {:?}", c.canonical_url, c.title, c.uploader);
                }
                for e in &listing.errors {
                    println!("  error: {e}");
                }
            }
        }
    }
    store.close().await;
    Ok(())
}
