//! `ytdlp` sources: platforms without a public API (TikTok, Bilibili,
//! Dailymotion, X, ...) through the `yt-dlp` program, for listing
//! (`--dump-json --flat-playlist`) and for downloading. When yt-dlp is not
//! installed the source says so in its scan error; every other source works.
//!
//! yt-dlp makes its own connections (the page, the extractor's API calls,
//! redirects, the media), so it is run with `--proxy` set to a
//! [`GuardProxy`] of ours, which judges each of them with the source's SSRF
//! guard and sends what it lets through on directly or through the
//! source's `http://` proxy. A source whose proxy is `socks5` or `https`
//! (which the guarding proxy cannot send on through) gives yt-dlp that
//! proxy instead, which then resolves names, as for the crawling client;
//! in every case the URL given to yt-dlp is checked before it runs.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context as _};
use futures_util::future::BoxFuture;
use serde_json::Value;

use super::guard_proxy::GuardProxy;
use super::{canonical_url, platform_of, Listing, ScanContext, Source};
use crate::source_config::SourceConfig;
use crate::ssrf;
use crate::store::NewCandidate;

pub struct YtdlpSource;

/// The yt-dlp program: `ytdlp_path`, else `yt-dlp` on PATH.
pub fn program(config: &SourceConfig) -> anyhow::Result<PathBuf> {
    let wanted = config.ytdlp_path.clone().unwrap_or_else(|| "yt-dlp".into());
    let path = PathBuf::from(&wanted);
    if path.components().count() > 1 {
        if path.is_file() {
            return Ok(path);
        }
        bail!("source {}: ytdlp_path = {wanted:?} does not exist; install yt-dlp (e.g. `pip install yt-dlp`) or fix ytdlp_path", config.name);
    }
    let found = std::env::var_os("PATH").map(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(&wanted))
            .find(|p| p.is_file())
    });
    match found.flatten() {
        Some(p) => Ok(p),
        None => bail!(
            "source {}: yt-dlp is not installed (no {wanted:?} on PATH); install it (e.g. `pip install yt-dlp`) or set ytdlp_path — other sources are not affected",
            config.name
        ),
    }
}

/// Refuses URLs the SSRF guard would refuse (yt-dlp connects by itself).
async fn guard(config: &SourceConfig, url: &str) -> anyhow::Result<()> {
    let parsed = url::Url::parse(url).with_context(|| format!("invalid URL {url:?}"))?;
    let allow = ssrf::Allow::of(config);
    ssrf::check_url(&parsed, &allow)?;
    if let Some(url::Host::Domain(host)) = parsed.host() {
        if config.proxy.is_none() {
            ssrf::resolve_checked(host, &allow).await?;
        }
    }
    Ok(())
}

/// A yt-dlp command line ready to run, and what must live until it has
/// finished: its private options file and its guarding proxy.
struct Prepared {
    command: tokio::process::Command,
    _options: Option<tempfile::TempPath>,
    _guard: Option<GuardProxy>,
}

/// [`base_command`] going out through a [`GuardProxy`] of ours, each of its
/// connections lasting at most `deadline`; or, for a source whose proxy the
/// guarding proxy cannot send on through (`socks5`, `https`), through that
/// proxy.
async fn guarded_command(
    config: &SourceConfig,
    program: &Path,
    deadline: Duration,
) -> anyhow::Result<Prepared> {
    let through_own = config
        .proxy
        .as_deref()
        .is_some_and(|proxy| !GuardProxy::sends_on_through(proxy));
    if through_own {
        let (command, options) = base_command(config, program, config.proxy.as_deref())?;
        return Ok(Prepared {
            command,
            _options: options,
            _guard: None,
        });
    }
    let guard = GuardProxy::start(ssrf::Allow::of(config), config.proxy.as_deref(), deadline)
        .await
        .map_err(|why| anyhow::anyhow!("source {}: {why}", config.name))?;
    let proxy = format!("http://{}", guard.addr());
    let (command, options) = base_command(config, program, Some(&proxy))?;
    Ok(Prepared {
        command,
        _options: options,
        _guard: Some(guard),
    })
}

/// A yt-dlp command line with the options every call shares, going out
/// through `proxy`. The proxy (which may hold a password) and the extra
/// headers (cookies, tokens) are written to a private options file rather
/// than given as arguments, which every local user can read in the process
/// list; the file is removed when the returned handle drops, so it must
/// live until yt-dlp has finished.
fn base_command(
    config: &SourceConfig,
    program: &Path,
    proxy: Option<&str>,
) -> anyhow::Result<(tokio::process::Command, Option<tempfile::TempPath>)> {
    let mut command = tokio::process::Command::new(program);
    command
        .arg("--no-warnings")
        .arg("--socket-timeout")
        .arg(config.timeout_s.to_string())
        .arg("--retries")
        .arg(config.retries.to_string())
        .stdin(Stdio::null())
        .kill_on_drop(true);
    if let Some(agent) = &config.user_agent {
        command.arg("--user-agent").arg(agent);
    }
    let mut private = Vec::new();
    if let Some(proxy) = proxy {
        private.push(("--proxy", proxy.to_string()));
    }
    for (name, value) in &config.headers {
        private.push(("--add-header", format!("{name}:{value}")));
    }
    if private.is_empty() {
        return Ok((command, None));
    }
    let mut text = String::new();
    for (option, value) in private {
        if value.contains(['\n', '\r']) {
            bail!(
                "sources.{}: a {option} value holds a line break; remove it",
                config.name
            );
        }
        // yt-dlp splits its options files like a POSIX shell.
        text.push_str(&format!("{option} '{}'\n", value.replace('\'', r"'\''")));
    }
    let mut file = tempfile::Builder::new()
        .prefix("reelguard-ytdlp-")
        .suffix(".conf")
        .tempfile()
        .context("cannot create the private yt-dlp options file")?;
    std::io::Write::write_all(&mut file, text.as_bytes())
        .context("cannot write the private yt-dlp options file")?;
    let path = file.into_temp_path();
    command.arg("--config-locations").arg(&path);
    Ok((command, Some(path)))
}

impl Source for YtdlpSource {
    fn discover<'a>(&'a self, cx: &'a ScanContext<'a>) -> BoxFuture<'a, anyhow::Result<Listing>> {
        Box::pin(async move {
            let config = cx.config;
            let program = program(config)?;
            if !config.url.starts_with("ytsearch") {
                guard(config, &config.url).await?;
            }
            let deadline = Duration::from_secs_f64(config.timeout_s * 4.0 + 30.0);
            let Prepared {
                mut command,
                _options,
                _guard,
            } = guarded_command(config, &program, deadline).await?;
            command
                .arg("--dump-json")
                .arg("--flat-playlist")
                .arg("--playlist-end")
                .arg(config.max_results.to_string())
                .arg(&config.url)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let output = tokio::time::timeout(deadline, command.output())
                .await
                .with_context(|| format!("yt-dlp listing {} timed out", config.url))?
                .with_context(|| format!("cannot run {}", program.display()))?;
            if !output.status.success() {
                bail!(
                    "yt-dlp could not list {}: {}",
                    config.url,
                    String::from_utf8_lossy(&output.stderr).trim()
                );
            }
            let mut listing = Listing::default();
            for line in String::from_utf8_lossy(&output.stdout).lines() {
                let line = line.trim();
                if line.is_empty() {
                    continue;
                }
                match serde_json::from_str::<Value>(line) {
                    Ok(entry) => {
                        if let Some(candidate) = candidate_from_entry(&entry) {
                            if cx.in_window(candidate.published_at) {
                                listing.candidates.push(candidate);
                            }
                        }
                    }
                    Err(e) => listing
                        .errors
                        .push(format!("yt-dlp printed a line that is not JSON: {e}")),
                }
            }
            Ok(listing)
        })
    }
}

/// A candidate from one line of `yt-dlp --dump-json`.
pub fn candidate_from_entry(entry: &Value) -> Option<NewCandidate> {
    let s = |key: &str| entry.get(key).and_then(Value::as_str).map(str::to_string);
    let page = s("webpage_url")
        .or_else(|| s("original_url"))
        .or_else(|| s("url"))?;
    // The extractor names the platform, except the generic ones (any page
    // with a video), where the host says more.
    let platform = s("extractor_key")
        .or_else(|| s("ie_key"))
        .map(|p| p.to_ascii_lowercase())
        .filter(|p| !matches!(p.as_str(), "generic" | "html5mediaembed"))
        .unwrap_or_else(|| platform_of(&page));
    let published_at = entry
        .get("timestamp")
        .and_then(Value::as_i64)
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0));
    Some(NewCandidate {
        canonical_url: canonical_url(&page),
        platform,
        uploader: s("uploader").or_else(|| s("channel")).unwrap_or_default(),
        title: s("title").unwrap_or_default(),
        published_at,
        media_url: None,
    })
}

/// Downloads an upload's video with yt-dlp into `dir` (yt-dlp resumes its
/// own partial files) and returns the file.
pub async fn download(
    config: &SourceConfig,
    page_url: &str,
    dir: &Path,
) -> anyhow::Result<PathBuf> {
    let program = program(config)?;
    guard(config, page_url).await?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let template = dir.join("media.%(ext)s");
    let Prepared {
        mut command,
        _options,
        _guard,
    } = guarded_command(config, &program, super::http::media_deadline(config)).await?;
    command
        .arg("--no-playlist")
        .arg("--max-filesize")
        .arg(config.max_media_bytes.to_string())
        .arg("-f")
        .arg("best[vcodec!=none]/best")
        .arg("--continue")
        .arg("-o")
        .arg(&template)
        .arg("--print")
        .arg("after_move:filepath")
        .arg(page_url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let output = command
        .output()
        .await
        .with_context(|| format!("cannot run {}", program.display()))?;
    if !output.status.success() {
        bail!(
            "yt-dlp could not download {page_url}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let printed = String::from_utf8_lossy(&output.stdout);
    let path = printed
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .with_context(|| {
            format!(
                "yt-dlp downloaded nothing for {page_url} (larger than max_media_bytes = {}?)",
                config.max_media_bytes
            )
        })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_and_headers_go_to_a_private_options_file() {
        use crate::source_config::SourceKind;
        use std::os::unix::fs::PermissionsExt;
        let mut config = SourceConfig::new("yt", SourceKind::Ytdlp, "ytsearch5:reelguard");
        config.proxy = Some("http://alice:s3cret@127.0.0.1:3128".into());
        config
            .headers
            .insert("Cookie".into(), "session=it's-secret".into());
        let (command, options) =
            base_command(&config, Path::new("yt-dlp"), config.proxy.as_deref()).unwrap();
        let args: Vec<String> = command
            .as_std()
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert!(
            !args
                .iter()
                .any(|a| a.contains("s3cret") || a.contains("session")),
            "{args:?}"
        );
        let path = options.expect("an options file");
        assert!(
            args.contains(&path.to_string_lossy().into_owned()),
            "{args:?}"
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "--proxy 'http://alice:s3cret@127.0.0.1:3128'\n--add-header 'Cookie:session=it'\\''s-secret'\n"
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
        let kept = path.to_path_buf();
        drop(path);
        assert!(!kept.exists(), "the options file is removed when done");

        config.headers.insert("X-Bad".into(), "a\nb".into());
        let error = base_command(&config, Path::new("yt-dlp"), None).unwrap_err();
        assert!(error.to_string().contains("sources.yt"), "{error}");
    }

    #[test]
    fn dump_json_entries_become_candidates() {
        let entry: Value = serde_json::from_str(
            r#"{"webpage_url":"https://www.bilibili.com/video/BV1x?p=1","extractor_key":"BiliBili",
                "uploader":"up","title":"t","timestamp":1764000000}"#,
        )
        .unwrap();
        let c = candidate_from_entry(&entry).unwrap();
        assert_eq!(c.platform, "bilibili");
        assert_eq!(c.uploader, "up");
        assert_eq!(
            c.published_at.map(crate::clock::to_seconds).as_deref(),
            Some("2025-11-24T16:00:00Z")
        );
    }

    #[test]
    fn a_missing_program_is_reported_clearly() {
        let mut config = SourceConfig::new(
            "tt",
            crate::source_config::SourceKind::Ytdlp,
            "https://www.tiktok.com/@x",
        );
        config.ytdlp_path = Some("/nonexistent/yt-dlp".into());
        let e = program(&config).unwrap_err().to_string();
        assert!(e.contains("install yt-dlp"), "{e}");
    }
}
