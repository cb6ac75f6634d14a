//! `reelguard init`: writes a configuration file where every command finds
//! it, creates the data directory and prints what to run next.
//!
//! The file is the annotated example (`config/reelguard.example.toml`) with
//! the owner filled in and, unless `--no-timestamps`, the public TSAs its
//! `[timestamp]` section suggests switched on, trusted through the system's
//! root certificates.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Args;

use super::InputError;
use crate::config::{self, Config};

/// The annotated example every generated file starts from.
const EXAMPLE: &str = include_str!("../../config/reelguard.example.toml");

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    reelguard init --owner-name \"Li Hua\" --owner-email lihua@example.com\n  \
    reelguard init --config /etc/reelguard/config.toml --no-timestamps --force")]
pub struct InitArgs {
    /// The owner's name, as notices and certificates show it ([owner] name)
    #[arg(long, value_name = "NAME")]
    pub owner_name: Option<String>,
    /// The owner's email address ([owner] email)
    #[arg(long, value_name = "EMAIL")]
    pub owner_email: Option<String>,
    /// The owner's postal address ([owner] address)
    #[arg(long, value_name = "ADDRESS")]
    pub owner_address: Option<String>,
    /// The owner's phone number ([owner] phone)
    #[arg(long, value_name = "PHONE")]
    pub owner_phone: Option<String>,
    /// Leave trusted timestamps off (no TSA is configured)
    #[arg(long)]
    pub no_timestamps: bool,
    /// Replace an existing configuration file
    #[arg(long)]
    pub force: bool,
    /// Print as JSON: {"config", "data_dir", "timestamps", "owner_set", "next"}
    #[arg(long)]
    pub json: bool,
}

/// The owner's details, each set or left to the example's comment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Owner {
    pub name: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
}

/// What goes into the generated file.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub owner: Owner,
    /// Written as `data_dir` when given (`--data-dir`).
    pub data_dir: Option<PathBuf>,
    pub timestamps: bool,
}

pub fn run(
    args: InitArgs,
    config_flag: Option<&Path>,
    data_dir_flag: Option<&Path>,
) -> anyhow::Result<()> {
    let path = match config_flag {
        Some(path) => path.to_path_buf(),
        None => match std::env::var_os("REELGUARD_CONFIG").filter(|v| !v.is_empty()) {
            Some(path) => PathBuf::from(path),
            None => config::user_config_path().ok_or_else(|| {
                InputError(
                    "no home directory: set HOME or XDG_CONFIG_HOME, or pass --config FILE".into(),
                )
            })?,
        },
    };
    if path.exists() && !args.force {
        return Err(InputError(format!(
            "{} already exists: pass --force to replace it, or --config FILE to write another file",
            path.display()
        ))
        .into());
    }
    let mut owner = Owner {
        name: args.owner_name,
        email: args.owner_email,
        address: args.owner_address,
        phone: args.owner_phone,
    };
    if std::io::stdin().is_terminal() && !args.json {
        prompt_missing(&mut owner)?;
    }
    let data_dir = match data_dir_flag {
        Some(dir) => Some(
            std::path::absolute(dir)
                .with_context(|| format!("cannot resolve {}", dir.display()))?,
        ),
        None => None,
    };
    let settings = Settings {
        owner,
        data_dir: data_dir.clone(),
        timestamps: !args.no_timestamps,
    };
    let text = render(&settings);
    // What is written must load: checked before anything is touched.
    let parsed: Config =
        toml::from_str(&text).context("the generated configuration does not parse")?;

    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(&path, &text).with_context(|| format!("cannot write {}", path.display()))?;
    Config::load(Some(&path))
        .with_context(|| format!("the written {} does not load", path.display()))?;
    let data = parsed.resolve_data_dir(None)?;
    std::fs::create_dir_all(&data)
        .with_context(|| format!("cannot create the data directory {}", data.display()))?;

    // The commands need --config only when it would not be found on its own.
    let found = config::discover(None).ok();
    let prefix = if found.as_ref().and_then(|s| s.path()) == Some(path.as_path()) {
        "reelguard".to_string()
    } else {
        format!(
            "reelguard --config {}",
            crate::provenance::commands::shell_word(&path.display().to_string())
        )
    };
    let next = [
        format!("{prefix} doctor"),
        format!("{prefix} register VIDEO --title \"TITLE\" --artifact script=FILE"),
        format!("{prefix} sources add NAME --kind feed --url URL"),
        format!("{prefix} daemon"),
    ];
    if args.json {
        let out = serde_json::json!({
            "config": path,
            "data_dir": data,
            "timestamps": parsed.timestamp.urls,
            "owner_set": settings.owner.name.is_some(),
            "next": next,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!("wrote {}", path.display());
    println!("data directory: {}", data.display());
    if settings.timestamps {
        println!(
            "trusted timestamps: {} (trusted through the system's root certificates)",
            parsed.timestamp.urls.join(", ")
        );
    } else {
        println!("trusted timestamps: off (set [timestamp] urls in the file to turn them on)");
    }
    if settings.owner.name.is_none() {
        println!(
            "owner: not set (fill in [owner] in the file: notices and certificates name the owner)"
        );
    }
    let what = [
        "checks what reelguard needs",
        "a work and its creation stages",
        "a place to watch",
        "scans, captures and alerts on schedule",
    ];
    let width = next.iter().map(String::len).max().unwrap_or(0);
    println!("\nnext:");
    for (command, what) in next.iter().zip(what) {
        println!("  {command:<width$}   # {what}");
    }
    Ok(())
}

/// Asks on the terminal for the owner details not given as flags (Enter
/// leaves one unset).
fn prompt_missing(owner: &mut Owner) -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    let ask = |field: &mut Option<String>, question: &str| -> anyhow::Result<()> {
        if field.is_some() {
            return Ok(());
        }
        eprint!("{question} (Enter to skip): ");
        std::io::stderr().flush()?;
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        let answer = line.trim();
        if !answer.is_empty() {
            *field = Some(answer.to_string());
        }
        Ok(())
    };
    ask(
        &mut owner.name,
        "Owner's name, as notices and certificates show it",
    )?;
    ask(&mut owner.email, "Owner's email address")?;
    ask(&mut owner.address, "Owner's postal address")?;
    ask(&mut owner.phone, "Owner's phone number")?;
    Ok(())
}

/// The configuration file: the example with `settings` filled in.
pub fn render(settings: &Settings) -> String {
    let mut out = String::from(
        "# Written by `reelguard init`. Every command finds this file on its own\n\
         # (see `reelguard --help`, --config); edit it freely.\n#\n",
    );
    let mut section = String::new();
    let suggested_urls = suggested_tsa_urls();
    for line in EXAMPLE.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') && !trimmed.starts_with("[[") {
            section = trimmed.to_string();
        }
        let value = |key: &str| -> Option<&Option<String>> {
            match (section.as_str(), key) {
                ("[owner]", "name") => Some(&settings.owner.name),
                ("[owner]", "email") => Some(&settings.owner.email),
                ("[owner]", "address") => Some(&settings.owner.address),
                ("[owner]", "phone") => Some(&settings.owner.phone),
                _ => None,
            }
        };
        let commented_key = trimmed
            .strip_prefix("# ")
            .and_then(|rest| rest.split_once(" = "))
            .map(|(key, _)| key);
        match (section.as_str(), commented_key, trimmed) {
            ("", Some("data_dir"), _) if settings.data_dir.is_some() => {
                let dir = settings
                    .data_dir
                    .as_ref()
                    .expect("checked")
                    .display()
                    .to_string();
                out.push_str(&format!("data_dir = {}\n", toml_string(&dir)));
            }
            ("[owner]", Some(key), _) if matches!(value(key), Some(Some(_))) => {
                let text = value(key).and_then(Option::as_ref).expect("checked");
                out.push_str(&format!("{key} = {}\n", toml_string(text)));
            }
            ("[timestamp]", _, "urls = []") if settings.timestamps => {
                let urls: Vec<String> = suggested_urls.iter().map(|u| toml_string(u)).collect();
                out.push_str(&format!("urls = [{}]\n", urls.join(", ")));
            }
            ("[timestamp]", _, "system_roots = false") if settings.timestamps => {
                out.push_str("system_roots = true\n");
            }
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// The public TSA URLs the example's `[timestamp]` section suggests (its
/// commented-out `# urls = [...]` line).
pub fn suggested_tsa_urls() -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct Urls {
        urls: Vec<String>,
    }
    EXAMPLE
        .lines()
        .find_map(|line| line.trim().strip_prefix("# urls = ["))
        .and_then(|rest| toml::from_str::<Urls>(&format!("urls = [{rest}")).ok())
        .map(|parsed| parsed.urls)
        .unwrap_or_default()
}

/// `text` as a TOML basic string (JSON's escapes are TOML's).
fn toml_string(text: &str) -> String {
    serde_json::to_string(text).expect("a string serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_suggests_public_tsas() {
        let urls = suggested_tsa_urls();
        assert!(urls.len() >= 2, "{urls:?}");
        assert!(urls.iter().all(|u| u.starts_with("http")), "{urls:?}");
    }

    #[test]
    fn the_rendered_file_loads_with_the_owner_and_the_tsas() {
        let settings = Settings {
            owner: Owner {
                name: Some("李华 \"Li\" Hua".into()),
                email: Some("lihua@example.com".into()),
                address: None,
                phone: Some("+86 571 0000 0000".into()),
            },
            data_dir: Some("/srv/reelguard".into()),
            timestamps: true,
        };
        let text = render(&settings);
        let config: Config = toml::from_str(&text).expect("parses");
        assert_eq!(config.owner.name.as_deref(), Some("李华 \"Li\" Hua"));
        assert_eq!(config.owner.email.as_deref(), Some("lihua@example.com"));
        assert_eq!(config.owner.address, None);
        assert_eq!(config.owner.phone.as_deref(), Some("+86 571 0000 0000"));
        assert_eq!(config.data_dir, Some(PathBuf::from("/srv/reelguard")));
        assert_eq!(config.timestamp.urls, suggested_tsa_urls());
        assert!(config.timestamp.system_roots);
        assert!(config.timestamp.trust_anchors.is_empty());
        config
            .timestamp
            .validate()
            .expect("anchored in the system roots");

        let text = render(&Settings::default());
        let config: Config = toml::from_str(&text).expect("parses");
        assert!(config.timestamp.urls.is_empty());
        assert!(!config.timestamp.system_roots);
        assert_eq!(config.owner, crate::domain::OwnerConfig::default());
        assert_eq!(config.data_dir, None);
    }
}
