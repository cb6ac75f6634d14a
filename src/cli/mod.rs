//! The `reelguard` command line: argument parsing, dispatch and exit codes.
//! One file per command group.

mod alerts;
mod backup;
mod cluster;
mod daemon;
mod db;
mod doctor;
mod evidence;
mod import;
mod init;
#[cfg(feature = "testkit")]
mod local_tsa;
mod logging;
mod match_video;
mod matches;
#[cfg(feature = "testkit")]
mod mock_platform;
mod progress;
mod register;
mod scan;
mod serve;
mod shell;
#[cfg(feature = "testkit")]
mod smtp_sink;
mod sources;
mod verify;
mod works;

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};

use crate::config::{self, Config};
use crate::media::MediaError;
use crate::store::{Store, StoreError};
use crate::timestamp::Stamper;

#[derive(Debug, Parser)]
#[command(
    name = "reelguard",
    version,
    about = "Find re-uploads of your videos and prove they are yours"
)]
pub struct Cli {
    /// Directory holding the database and blobs [default: ~/.local/share/reelguard]
    #[arg(long, env = "REELGUARD_DATA_DIR", global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// TOML configuration file (see config/reelguard.example.toml) [env:
    /// REELGUARD_CONFIG; default: $XDG_CONFIG_HOME/reelguard/config.toml,
    /// then /etc/reelguard/config.toml, else built-in defaults]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// More log output (-v: info, including which config file was read; -vv: debug)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Log lines as text (coloured only on a terminal) or as one JSON object
    /// per line, e.g. `reelguard daemon --log-format json`
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t,
        env = "REELGUARD_LOG_FORMAT",
        value_name = "FORMAT"
    )]
    pub log_format: logging::LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a config file where every command finds it, create the data
    /// directory and print what to run next
    Init(init::InitArgs),
    /// Check FFmpeg, Chromium, yt-dlp, the database, the data dir, each TSA,
    /// the clock and SMTP; say what to do about each problem (exit 1 on any FAIL)
    Doctor(doctor::DoctorArgs),
    /// Register a finished video as a work: fingerprint it and store it
    Register(register::RegisterArgs),
    /// Look for registered works in a video
    Match(match_video::MatchArgs),
    /// List, show or remove registered works
    #[command(subcommand)]
    Works(works::WorksCommand),
    /// Add, list, remove or try the places to watch
    #[command(subcommand)]
    Sources(sources::SourcesCommand),
    /// Scan one source (or all) now and wait for the results
    Scan(scan::ScanArgs),
    /// List past scans
    #[command(subcommand)]
    Scans(scan::ScansCommand),
    /// Run the scheduler and workers until SIGINT/SIGTERM (and serve the
    /// dashboard and the API, unless [http] enabled = false)
    Daemon(daemon::DaemonArgs),
    /// Serve the dashboard and the JSON API until SIGINT/SIGTERM
    Serve(serve::ServeArgs),
    /// Create, list or revoke the access tokens of the dashboard and the API
    #[command(subcommand)]
    Tokens(serve::TokensCommand),
    /// List, show and review matches found by scans
    #[command(subcommand)]
    Matches(matches::MatchesCommand),
    /// Capture a match's upload now, or export its evidence bundle
    #[command(subcommand)]
    Evidence(evidence::EvidenceCommand),
    /// Serve a mock video platform on 127.0.0.1 (tests and the demo)
    #[cfg(feature = "testkit")]
    #[command(hide = true)]
    MockPlatform(mock_platform::MockPlatformArgs),
    /// Check a provenance package or an evidence bundle offline: every hash, token, signature and the chain
    Verify(verify::VerifyArgs),
    /// Run a local RFC 3161 TSA on 127.0.0.1 (for the demo and tests)
    #[cfg(feature = "testkit")]
    #[command(hide = true)]
    LocalTsa(local_tsa::LocalTsaArgs),
    /// List the alert outbox, send a test email, or deliver due alerts now
    #[command(subcommand)]
    Alerts(alerts::AlertsCommand),
    /// Copy the data directory (SQLite database and files) consistently,
    /// while the daemon runs
    Backup(backup::BackupArgs),
    /// Put a backup back into the data directory (the daemon stopped)
    Restore(backup::RestoreArgs),
    /// Database maintenance: copy the database into PostgreSQL
    #[command(subcommand)]
    Db(db::DbCommand),
    /// The daemon nodes sharing this database, the scheduler and the queue
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
    /// Run a local SMTP sink on 127.0.0.1 that keeps messages as .eml files
    #[cfg(feature = "testkit")]
    #[command(hide = true)]
    SmtpSink(smtp_sink::SmtpSinkArgs),
    /// Print the shell completion script for bash, zsh or fish
    Completions(shell::CompletionsArgs),
    /// Print the man page (roff), e.g. `reelguard man > reelguard.1`
    Man(shell::ManArgs),
}

impl Command {
    /// Whether the command runs until stopped, serving connections.
    fn serves(&self) -> bool {
        matches!(self, Command::Daemon(_) | Command::Serve(_)) || self.is_stand_in()
    }

    /// Whether the command is one of the local stand-ins (tests, the demo).
    #[cfg(feature = "testkit")]
    fn is_stand_in(&self) -> bool {
        matches!(
            self,
            Command::MockPlatform(_) | Command::LocalTsa(_) | Command::SmtpSink(_)
        )
    }

    #[cfg(not(feature = "testkit"))]
    fn is_stand_in(&self) -> bool {
        false
    }
}

/// Output piped into a program that stops reading (`reelguard works list |
/// head`) ends the command quietly, as with other Unix tools, instead of a
/// panic on the failed write. The servers keep SIGPIPE ignored.
fn stop_quietly_on_a_closed_pipe() {
    // SAFETY: runs first in main, before any other thread exists, and
    // restores the default disposition of one signal.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// A problem with what the user gave (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// Parses the command line, runs the command and returns the exit code.
pub fn main() -> u8 {
    let cli = Cli::parse();
    if !cli.command.serves() {
        stop_quietly_on_a_closed_pipe();
    }
    logging::init(cli.verbose, cli.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return 1;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => 0,
        Err(error) => {
            eprintln!("error: {error:#}");
            exit_code(&error)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    // These read no configuration: `init` writes the file the others read.
    match cli.command {
        Command::Init(args) => {
            return init::run(args, cli.config.as_deref(), cli.data_dir.as_deref())
        }
        Command::Completions(args) => return shell::print(&shell::completions(args.shell)),
        Command::Man(_) => return shell::print(&shell::man_page()?),
        _ => {}
    }
    let source =
        config::discover(cli.config.as_deref()).map_err(|e| InputError(format!("{e:#}")))?;
    tracing::info!("{}", source.describe());
    let config = Config::load(source.path()).map_err(|e| InputError(format!("{e:#}")))?;
    let context = Context {
        config,
        config_source: source,
        data_dir_flag: cli.data_dir,
    };
    match cli.command {
        Command::Init(_) | Command::Completions(_) | Command::Man(_) => {
            unreachable!("run before the configuration is read")
        }
        Command::Doctor(args) => doctor::run(&context, args).await,
        Command::Register(args) => register::run(&context, args).await,
        Command::Match(args) => match_video::run(&context, args).await,
        Command::Works(command) => works::run(&context, command).await,
        Command::Sources(command) => sources::run(&context, command).await,
        Command::Scan(args) => scan::run(&context, args).await,
        Command::Scans(command) => scan::run_scans(&context, command).await,
        Command::Daemon(args) => daemon::run(&context, args).await,
        Command::Serve(args) => serve::run(&context, args).await,
        Command::Tokens(command) => serve::run_tokens(&context, command).await,
        Command::Matches(command) => matches::run(&context, command).await,
        Command::Evidence(command) => evidence::run(&context, command).await,
        #[cfg(feature = "testkit")]
        Command::MockPlatform(args) => mock_platform::run(args).await,
        Command::Verify(args) => verify::run(&context, args).await,
        #[cfg(feature = "testkit")]
        Command::LocalTsa(args) => local_tsa::run(args).await,
        Command::Alerts(command) => alerts::run(&context, command).await,
        #[cfg(feature = "testkit")]
        Command::SmtpSink(args) => smtp_sink::run(args).await,
        Command::Db(command) => db::run(&context, command).await,
        Command::Backup(args) => backup::backup(&context, args).await,
        Command::Restore(args) => backup::restore(&context, args).await,
        Command::Cluster(command) => cluster::run(&context, command).await,
    }
}

/// What every command needs: the configuration and where the data lives.
pub struct Context {
    pub config: Config,
    /// Which file `config` was read from.
    pub config_source: config::ConfigSource,
    data_dir_flag: Option<PathBuf>,
}

impl Context {
    /// Opens the store, creating the data directory on first use.
    pub async fn open_store(&self) -> anyhow::Result<Store> {
        if let Some(url) = &self.config.database_url {
            return Ok(Store::open(url).await?);
        }
        let dir = self
            .config
            .resolve_data_dir(self.data_dir_flag.as_deref())?;
        std::fs::create_dir_all(&dir)
            .map_err(|e| anyhow::anyhow!("cannot create data directory {}: {e}", dir.display()))?;
        Ok(Store::open_in(&dir).await?)
    }

    /// The RFC 3161 client for the configured TSAs.
    pub fn stamper(&self) -> anyhow::Result<Stamper> {
        Stamper::new(&self.config.timestamp).map_err(|e| InputError(e.to_string()).into())
    }

    /// The data directory (downloaded media lives there).
    pub fn data_dir(&self) -> anyhow::Result<PathBuf> {
        self.config.resolve_data_dir(self.data_dir_flag.as_deref())
    }

    /// The blob store (`blob_dir`, default `blobs/` in the data directory).
    pub fn blobs(&self) -> anyhow::Result<crate::blobs::Blobs> {
        Ok(self.config.capture_settings().blobs_in(&self.data_dir()?))
    }
}

/// 2 for problems with the input, 1 for everything else.
fn exit_code(error: &anyhow::Error) -> u8 {
    let is_input = error.chain().any(|cause| {
        cause.is::<InputError>()
            || cause.is::<MediaError>()
            || matches!(
                cause.downcast_ref::<StoreError>(),
                Some(
                    StoreError::WorkNotFound(_)
                        | StoreError::AmbiguousWork { .. }
                        | StoreError::AlreadyRegistered { .. }
                        | StoreError::SourceNotFound(_)
                        | StoreError::ScanNotFound(_)
                        | StoreError::MatchNotFound(_)
                        | StoreError::AmbiguousMatch { .. }
                        | StoreError::BadTransition { .. }
                )
            )
    });
    if is_input {
        2
    } else {
        1
    }
}

/// Asks `question` on the terminal before a destructive step; `yes`
/// (`--yes`) skips it. Without a terminal to ask on and without `--yes`,
/// nothing is done: a script has to say so.
fn confirm(question: &str, yes: bool) -> anyhow::Result<()> {
    use std::io::{BufRead, IsTerminal, Write};
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(InputError(format!(
            "{question} Not done: pass --yes to confirm without a terminal to ask on"
        ))
        .into());
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => Err(InputError("cancelled: nothing was changed".into()).into()),
    }
}

/// Rounds seconds and scores for display and JSON.
fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

/// Canonical absolute form of a path the user gave, for storing.
fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// The visible commands that run something (not the groups), by path.
    fn leaves(command: &clap::Command, path: &str, out: &mut Vec<(String, clap::Command)>) {
        for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
            let path = format!("{path} {}", sub.get_name());
            if sub.has_subcommands() {
                leaves(sub, &path, out);
            } else {
                out.push((path, sub.clone()));
            }
        }
    }

    #[test]
    fn every_visible_command_shows_an_example_in_its_help() {
        let mut all = Vec::new();
        leaves(&Cli::command(), "reelguard", &mut all);
        assert!(all.len() > 40, "{} commands", all.len());
        let missing: Vec<&str> = all
            .iter()
            .filter(|(path, command)| {
                let help = command
                    .get_after_help()
                    .map(|h| h.to_string())
                    .unwrap_or_default();
                !(help.starts_with("Example") && help.contains(path.as_str()))
            })
            .map(|(path, _)| path.as_str())
            .collect();
        assert!(missing.is_empty(), "no example of their own: {missing:?}");
    }
}
