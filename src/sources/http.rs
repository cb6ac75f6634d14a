//! The crawling HTTP client shared by the sources and the media downloader:
//! proxy, user agent and headers, rate limit, timeouts, retries with
//! exponential backoff and jitter, conditional GET, size caps, resumable
//! downloads, and the SSRF guard on every request and redirect hop.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::StatusCode;
use tokio::time::Instant;
use url::Url;

use crate::source_config::SourceConfig;
use crate::ssrf::{self, Allow};
use crate::store::Validators;

/// Largest feed, page or API response read, in bytes.
pub const MAX_DOCUMENT_BYTES: u64 = 16 * 1024 * 1024;
/// Most redirects followed for one request.
const MAX_REDIRECTS: usize = 10;
/// Slowest average rate a media download may keep, in bytes per second.
/// Its whole-transfer deadline is `timeout_s` plus one second per this many
/// bytes received: a server trickling a byte every few seconds is cut off
/// once `timeout_s` has passed, whatever its read timeouts, and no download
/// of `max_media_bytes` outlives [`media_deadline`].
pub const MIN_DOWNLOAD_RATE: u64 = 16 * 1024;

/// The longest one source's media fetch may take in all (every attempt):
/// the candidate job's deadline for its download.
pub fn media_deadline(config: &SourceConfig) -> Duration {
    let attempts = f64::from(config.retries) + 1.0;
    let transfer_s = config.timeout_s + config.max_media_bytes as f64 / MIN_DOWNLOAD_RATE as f64;
    Duration::from_secs_f64((attempts * (transfer_s + config.timeout_s)).min(7.0 * 86_400.0))
}

/// Why a request failed; every variant names the URL.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{0}")]
    Refused(#[from] ssrf::SsrfError),
    #[error("GET {url}: {message}")]
    RedirectRefused { url: String, message: String },
    #[error("GET {url}: the server answered {status} (after {attempts} attempt(s))")]
    Status {
        url: String,
        status: StatusCode,
        attempts: u32,
    },
    #[error("GET {url}: no answer within {timeout_s} s (after {attempts} attempt(s)); raise timeout_s or check the proxy")]
    Timeout {
        url: String,
        timeout_s: f64,
        attempts: u32,
    },
    #[error("GET {url}: more than {MAX_REDIRECTS} redirects (a redirect loop?)")]
    RedirectLoop { url: String },
    #[error("GET {url}: larger than the limit of {limit} bytes{}", .announced.map(|n| format!(" (announced {n} bytes)")).unwrap_or_default())]
    TooLarge {
        url: String,
        limit: u64,
        announced: Option<u64>,
    },
    #[error("GET {url}: {message} (after {attempts} attempt(s))")]
    Network {
        url: String,
        message: String,
        attempts: u32,
    },
    #[error("GET {url}: the body is not UTF-8 text")]
    NotText { url: String },
    #[error("GET {url}: only {received} bytes in {elapsed_s:.0} s, slower than the {min_rate} bytes/s a download must keep after its first timeout_s")]
    TooSlow {
        url: String,
        received: u64,
        elapsed_s: f64,
        min_rate: u64,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("invalid URL {url:?}: {message}")]
    BadUrl { url: String, message: String },
}

/// A fetched document.
pub enum Document {
    /// 304: unchanged since the validators were recorded.
    NotModified,
    Fresh {
        text: String,
        final_url: Url,
        validators: Validators,
    },
}

/// Whether an answer with `status` may be different a little later: the
/// server failing (5xx) or asking us to slow down (429).
fn passing_status(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS
}

impl FetchError {
    /// Whether the failure may pass by itself: no answer or a connection
    /// lost, a timeout, a failing or overloaded server (after the client's
    /// own retries), a local file that could not be written or read (a
    /// full disk).
    pub fn may_pass(&self) -> bool {
        match self {
            FetchError::Network { .. } | FetchError::Timeout { .. } | FetchError::Io { .. } => true,
            FetchError::Status { status, .. } => passing_status(*status),
            _ => false,
        }
    }
}

/// A page fetched for evidence (`HttpClient::fetch_page`).
pub struct FetchedPage {
    pub status: u16,
    /// Response headers in the order received.
    pub headers: Vec<(String, String)>,
    /// The URL after redirects.
    pub final_url: Url,
    /// The address connected to (the proxy's, when one is used).
    pub remote_addr: Option<String>,
    pub body: Vec<u8>,
    /// Every redirect answered before the page, in order.
    pub redirects: Vec<RedirectHop>,
}

/// One redirect answered while fetching a page.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RedirectHop {
    /// The URL requested.
    pub url: String,
    /// The redirect status (301, 302, 303, 307 or 308).
    pub status: u16,
    /// The `Location` header as sent.
    pub location: String,
}

/// One source's HTTP client.
pub struct HttpClient {
    client: reqwest::Client,
    /// The same client with redirects not followed: `fetch_page` follows
    /// them itself to record every hop.
    page_client: reqwest::Client,
    allow: Allow,
    retries: u32,
    timeout: Duration,
    min_interval: Duration,
    last_request: tokio::sync::Mutex<Option<Instant>>,
}

impl HttpClient {
    pub fn new(config: &SourceConfig) -> Result<HttpClient, FetchError> {
        let allow = Allow::of(config);
        let timeout = Duration::from_secs_f64(config.timeout_s);
        let mut headers = HeaderMap::new();
        for (name, value) in &config.headers {
            // Validated with the configuration.
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                headers.insert(name, value);
            }
        }
        let user_agent = config
            .user_agent
            .clone()
            .unwrap_or_else(|| format!("reelguard/{}", env!("CARGO_PKG_VERSION")));
        let redirect_allow = allow.clone();
        let redirect = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
            }
            match ssrf::check_url(attempt.url(), &redirect_allow) {
                Ok(()) => attempt.follow(),
                Err(refused) => attempt.error(refused.to_string()),
            }
        });
        let extra_roots = match &config.ca_cert {
            Some(path) => {
                let pem = std::fs::read(path).map_err(|source| FetchError::Io {
                    context: format!("cannot read ca_cert {path}"),
                    source,
                })?;
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| FetchError::BadUrl {
                    url: config.url.clone(),
                    message: format!("ca_cert {path} is not a PEM certificate bundle: {e}"),
                })?
            }
            None => Vec::new(),
        };
        let build = |redirect: reqwest::redirect::Policy| {
            let mut builder = ssrf::guarded_client(&allow, config.proxy.as_deref())
                .map_err(|message| FetchError::BadUrl {
                    url: config.url.clone(),
                    message: format!("proxy: {message}"),
                })?
                .user_agent(user_agent.clone())
                .default_headers(headers.clone())
                .redirect(redirect)
                .connect_timeout(timeout)
                .read_timeout(timeout);
            for root in &extra_roots {
                builder = builder.add_root_certificate(root.clone());
            }
            builder.build().map_err(|e| FetchError::Network {
                url: config.url.clone(),
                message: format!("cannot build the HTTP client: {e}"),
                attempts: 0,
            })
        };
        let client = build(redirect)?;
        let page_client = build(reqwest::redirect::Policy::none())?;
        Ok(HttpClient {
            client,
            page_client,
            allow,
            retries: config.retries,
            timeout,
            min_interval: Duration::from_secs_f64(60.0 / f64::from(config.rate_limit_per_minute)),
            last_request: tokio::sync::Mutex::new(None),
        })
    }

    /// Parses and guards a URL.
    pub fn checked_url(&self, url: &str) -> Result<Url, FetchError> {
        let parsed = Url::parse(url).map_err(|e| FetchError::BadUrl {
            url: shown(url),
            message: e.to_string(),
        })?;
        ssrf::check_url(&parsed, &self.allow)?;
        Ok(parsed)
    }

    /// Waits until the rate limit allows the next request.
    async fn pace(&self) {
        let mut last = self.last_request.lock().await;
        if let Some(previous) = *last {
            tokio::time::sleep_until(previous + self.min_interval).await;
        }
        *last = Some(Instant::now());
    }

    /// Sends GET `url` with `headers`, retrying transient failures
    /// (connection errors, timeouts, 429 and 5xx) with exponential backoff
    /// and jitter. Returns the first non-retryable response.
    async fn send(
        &self,
        url: &Url,
        headers: HeaderMap,
        whole_request_timeout: bool,
    ) -> Result<reqwest::Response, FetchError> {
        self.send_with(&self.client, url, headers, whole_request_timeout, false)
            .await
    }

    /// [`Self::send`] on `client`; with `accept_redirects` (for
    /// `page_client`, which does not follow them) a 3xx answer is returned
    /// as it is.
    async fn send_with(
        &self,
        client: &reqwest::Client,
        url: &Url,
        headers: HeaderMap,
        whole_request_timeout: bool,
        accept_redirects: bool,
    ) -> Result<reqwest::Response, FetchError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.pace().await;
            let mut request = client.get(url.clone()).headers(headers.clone());
            if whole_request_timeout {
                request = request.timeout(self.timeout);
            }
            // The answer's headers arrive within timeout_s, however slowly
            // they trickle in (read_timeout bounds each read only).
            let Ok(outcome) = tokio::time::timeout(self.timeout, request.send()).await else {
                if attempt > self.retries {
                    return Err(FetchError::Timeout {
                        url: shown(url),
                        timeout_s: self.timeout.as_secs_f64(),
                        attempts: attempt,
                    });
                }
                continue;
            };
            let retryable = match &outcome {
                Ok(response) => passing_status(response.status()),
                Err(error) => error.is_timeout() || error.is_connect(),
            };
            let refused = matches!(&outcome, Err(e) if e.is_redirect() || is_guard_refusal(e));
            if !retryable || refused || attempt > self.retries {
                return match outcome {
                    Ok(response)
                        if response.status().is_success()
                            || (accept_redirects && response.status().is_redirection())
                            || response.status() == StatusCode::NOT_MODIFIED
                            || response.status() == StatusCode::PARTIAL_CONTENT
                            || response.status() == StatusCode::RANGE_NOT_SATISFIABLE =>
                    {
                        Ok(response)
                    }
                    Ok(response) => Err(FetchError::Status {
                        url: shown(url),
                        status: response.status(),
                        attempts: attempt,
                    }),
                    Err(error) => Err(self.describe(url, &error, attempt)),
                };
            }
            let backoff = 0.5 * 2f64.powi(attempt as i32 - 1) * (0.5 + fastrand::f64());
            tracing::debug!(url = %shown(url), attempt, backoff_s = backoff, "retrying");
            tokio::time::sleep(Duration::from_secs_f64(backoff.min(30.0))).await;
        }
    }

    fn describe(&self, url: &Url, error: &reqwest::Error, attempts: u32) -> FetchError {
        if let Some(refusal) = ssrf::refusal_in(error) {
            return FetchError::Refused(refusal.clone());
        }
        let message = error_chain(error);
        if error.is_redirect() {
            if message.contains("redirects") {
                return FetchError::RedirectLoop { url: shown(url) };
            }
            return FetchError::RedirectRefused {
                url: shown(url),
                message,
            };
        }
        if error.is_timeout() {
            return FetchError::Timeout {
                url: shown(url),
                timeout_s: self.timeout.as_secs_f64(),
                attempts,
            };
        }
        FetchError::Network {
            url: shown(url),
            message,
            attempts,
        }
    }

    /// GETs a document (feed, page, API JSON) of at most [`MAX_DOCUMENT_BYTES`],
    /// conditionally when `validators` are given.
    pub async fn get_document(
        &self,
        url: &str,
        validators: Option<&Validators>,
    ) -> Result<Document, FetchError> {
        let url = self.checked_url(url)?;
        let mut headers = HeaderMap::new();
        if let Some(v) = validators {
            if let Some(etag) = v
                .etag
                .as_deref()
                .and_then(|e| HeaderValue::from_str(e).ok())
            {
                headers.insert(reqwest::header::IF_NONE_MATCH, etag);
            }
            if let Some(date) = v
                .last_modified
                .as_deref()
                .and_then(|d| HeaderValue::from_str(d).ok())
            {
                headers.insert(reqwest::header::IF_MODIFIED_SINCE, date);
            }
        }
        let response = self.send(&url, headers, true).await?;
        if response.status() == StatusCode::NOT_MODIFIED {
            return Ok(Document::NotModified);
        }
        if !response.status().is_success() || response.status() == StatusCode::PARTIAL_CONTENT {
            return Err(FetchError::Status {
                url: shown(url),
                status: response.status(),
                attempts: 1,
            });
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        let validators = Validators {
            etag: header(reqwest::header::ETAG),
            last_modified: header(reqwest::header::LAST_MODIFIED),
        };
        let final_url = response.url().clone();
        let bytes = read_capped(
            response,
            &url,
            self.timeout.as_secs_f64(),
            MAX_DOCUMENT_BYTES,
            None,
            |_| Ok(()),
        )
        .await?;
        let text = String::from_utf8(bytes).map_err(|_| FetchError::NotText { url: shown(url) })?;
        Ok(Document::Fresh {
            text,
            final_url,
            validators,
        })
    }

    /// A page as fetched, for evidence: the status, headers, final URL,
    /// every redirect on the way and the body (at most `limit` bytes).
    /// Redirects are followed here, each hop through the SSRF guard, up to
    /// [`MAX_REDIRECTS`]. A status other than 2xx is an error.
    pub async fn fetch_page(&self, url: &str, limit: u64) -> Result<FetchedPage, FetchError> {
        let requested = self.checked_url(url)?;
        let mut current = requested.clone();
        let mut redirects = Vec::new();
        let response = loop {
            let response = self
                .send_with(&self.page_client, &current, HeaderMap::new(), true, true)
                .await?;
            let status = response.status();
            if !status.is_redirection() {
                break response;
            }
            if status == StatusCode::NOT_MODIFIED {
                return Err(FetchError::Status {
                    url: shown(&current),
                    status,
                    attempts: 1,
                });
            }
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .ok_or_else(|| FetchError::RedirectRefused {
                    url: shown(&current),
                    message: format!("the server answered {status} without a Location"),
                })?;
            let next = current
                .join(&location)
                .map_err(|e| FetchError::RedirectRefused {
                    url: shown(&current),
                    message: format!("redirect to an invalid URL {location:?}: {e}"),
                })?;
            redirects.push(RedirectHop {
                url: current.to_string(),
                status: status.as_u16(),
                location,
            });
            if redirects.len() >= MAX_REDIRECTS {
                return Err(FetchError::RedirectLoop {
                    url: shown(&requested),
                });
            }
            ssrf::check_url(&next, &self.allow).map_err(|refused| FetchError::RedirectRefused {
                url: shown(&requested),
                message: refused.to_string(),
            })?;
            current = next;
        };
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.to_string(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let final_url = response.url().clone();
        let remote_addr = response.remote_addr().map(|a| a.to_string());
        let body = read_capped(
            response,
            &current,
            self.timeout.as_secs_f64(),
            limit,
            None,
            |_| Ok(()),
        )
        .await?;
        Ok(FetchedPage {
            status,
            headers,
            final_url,
            remote_addr,
            body,
            redirects,
        })
    }

    /// Downloads `url` into `part` (resuming what is already there with a
    /// Range request) and returns its size. Refuses bodies larger than
    /// `max_bytes`, before reading when the server announces the size.
    pub async fn download(
        &self,
        url: &str,
        part: &Path,
        max_bytes: u64,
    ) -> Result<u64, FetchError> {
        let url = self.checked_url(url)?;
        let io = |context: String| move |source| FetchError::Io { context, source };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let have = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
            let mut headers = HeaderMap::new();
            if have > 0 {
                headers.insert(
                    reqwest::header::RANGE,
                    HeaderValue::from_str(&format!("bytes={have}-")).expect("ascii"),
                );
            }
            let response = self.send(&url, headers, false).await?;
            let status = response.status();
            if status == StatusCode::RANGE_NOT_SATISFIABLE && have > 0 {
                return Ok(have); // the part file already holds the whole body
            }
            let resume = status == StatusCode::PARTIAL_CONTENT && have > 0;
            let offset = if resume { have } else { 0 };
            if let Some(length) = response.content_length() {
                if offset + length > max_bytes {
                    return Err(FetchError::TooLarge {
                        url: shown(url),
                        limit: max_bytes,
                        announced: Some(offset + length),
                    });
                }
            }
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .append(resume)
                .truncate(!resume)
                .open(part)
                .map_err(io(format!("cannot write {}", part.display())))?;
            let mut written = offset;
            let pace = Pace {
                started: Instant::now(),
                grace: self.timeout,
                min_rate: MIN_DOWNLOAD_RATE,
            };
            let result = read_capped(
                response,
                &url,
                self.timeout.as_secs_f64(),
                max_bytes - offset,
                Some(pace),
                |chunk| {
                    written += chunk.len() as u64;
                    file.write_all(chunk)
                        .map_err(io(format!("cannot write {}", part.display())))
                },
            )
            .await;
            file.flush()
                .map_err(io(format!("cannot write {}", part.display())))?;
            match result {
                Ok(_) => return Ok(written),
                // A dropped connection: resume from what arrived.
                Err(FetchError::Network { .. } | FetchError::Timeout { .. })
                    if attempt <= self.retries =>
                {
                    tracing::debug!(url = %shown(&url), written, "download interrupted; resuming");
                }
                Err(FetchError::TooLarge { .. }) => {
                    let _ = std::fs::remove_file(part);
                    return Err(FetchError::TooLarge {
                        url: shown(url),
                        limit: max_bytes,
                        announced: None,
                    });
                }
                Err(other) => return Err(other),
            }
        }
    }
}

/// How fast a body must arrive: at least `min_rate` bytes per second on
/// average once `grace` has passed (see [`MIN_DOWNLOAD_RATE`]). Documents
/// and pages need none: their whole request is bounded by `timeout_s`.
#[derive(Clone, Copy)]
struct Pace {
    started: Instant,
    grace: Duration,
    min_rate: u64,
}

impl Pace {
    /// When the transfer must be over unless more bytes arrive.
    fn deadline(&self, received: u64) -> Instant {
        self.started + self.grace + Duration::from_secs_f64(received as f64 / self.min_rate as f64)
    }
}

/// Reads a body in chunks, handing each to `sink` (and keeping it when the
/// sink is a no-op), failing once more than `limit` bytes arrived, or once
/// the body falls behind `pace`.
async fn read_capped(
    response: reqwest::Response,
    url: &Url,
    timeout_s: f64,
    limit: u64,
    pace: Option<Pace>,
    mut sink: impl FnMut(&[u8]) -> Result<(), FetchError>,
) -> Result<Vec<u8>, FetchError> {
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(FetchError::TooLarge {
            url: shown(url),
            limit,
            announced: response.content_length(),
        });
    }
    let keep = limit <= MAX_DOCUMENT_BYTES;
    let mut kept = Vec::new();
    let mut total = 0u64;
    let mut stream = response.bytes_stream();
    loop {
        let next = match pace {
            Some(pace) => tokio::time::timeout_at(pace.deadline(total), stream.next())
                .await
                .map_err(|_| FetchError::TooSlow {
                    url: shown(url),
                    received: total,
                    elapsed_s: pace.started.elapsed().as_secs_f64(),
                    min_rate: pace.min_rate,
                })?,
            None => stream.next().await,
        };
        let Some(chunk) = next else {
            break;
        };
        let chunk = chunk.map_err(|e| {
            if e.is_timeout() {
                FetchError::Timeout {
                    url: shown(url),
                    timeout_s,
                    attempts: 1,
                }
            } else {
                FetchError::Network {
                    url: shown(url),
                    message: error_chain(&e),
                    attempts: 1,
                }
            }
        })?;
        total += chunk.len() as u64;
        if total > limit {
            return Err(FetchError::TooLarge {
                url: shown(url),
                limit,
                announced: None,
            });
        }
        sink(&chunk)?;
        if keep {
            kept.extend_from_slice(&chunk);
        }
    }
    Ok(kept)
}

fn is_guard_refusal(error: &reqwest::Error) -> bool {
    ssrf::refusal_in(error).is_some()
}

/// A URL as errors and logs show it: without credentials or secret query
/// values (a YouTube API key, a signed link's signature).
fn shown(url: impl AsRef<str>) -> String {
    crate::secret::redact_url(url.as_ref())
}

/// An error and its causes, joined (reqwest's own message is terse), with
/// the URLs in it redacted.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let text = inner.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cause = inner.source();
    }
    crate::secret::redact_urls_in_text(&message)
}

/// Shared handle (sources and the downloader use one client per source).
pub type SharedClient = Arc<HttpClient>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source_config::SourceKind;
    use crate::testkit::mock_platform::MockPlatform;

    /// A mock platform serving one 100 kB file `blob.mp4` (not a video: the
    /// client does not care).
    async fn platform() -> (MockPlatform, Vec<u8>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let body: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8 + 1).collect();
        std::fs::write(dir.path().join("blob.mp4"), &body).unwrap();
        std::fs::write(
            dir.path().join("catalog.json"),
            r#"[{"id": "b", "file": "blob.mp4"}]"#,
        )
        .unwrap();
        let platform =
            MockPlatform::start(dir.path().to_path_buf(), "127.0.0.1:0".parse().unwrap())
                .await
                .unwrap();
        (platform, body, dir)
    }

    /// A source of `platform` (whose port is the one loopback port allowed).
    fn config(platform: &MockPlatform, allow_loopback: bool) -> SourceConfig {
        let url = format!("{}/feeds/rss.xml", platform.base_url);
        let mut config = SourceConfig::new("t", SourceKind::Feed, &url);
        config.allow_loopback = allow_loopback;
        config.retries = 2;
        config.timeout_s = 5.0;
        config
    }

    async fn hits(platform: &MockPlatform, path: &str) -> u64 {
        let client = HttpClient::new(&config(platform, true)).unwrap();
        let Document::Fresh { text, .. } = client
            .get_document(&format!("{}/_stats", platform.base_url), None)
            .await
            .unwrap()
        else {
            panic!("stats are never cached")
        };
        let stats: serde_json::Value = serde_json::from_str(&text).unwrap();
        stats[path].as_u64().unwrap_or(0)
    }

    #[tokio::test]
    async fn downloads_resume_from_a_partial_file_with_a_range_request() {
        let (platform, body, dir) = platform().await;
        let client = HttpClient::new(&config(&platform, true)).unwrap();
        let part = dir.path().join("blob.part");
        // A partial file whose bytes differ from the server's: only a Range
        // request keeps them.
        std::fs::write(&part, vec![0u8; 1000]).unwrap();
        let url = format!("{}/media/blob.mp4", platform.base_url);
        let size = client.download(&url, &part, 1 << 20).await.unwrap();
        assert_eq!(size, body.len() as u64);
        let got = std::fs::read(&part).unwrap();
        assert_eq!(&got[..1000], &[0u8; 1000][..]);
        assert_eq!(&got[1000..], &body[1000..]);
        // A complete part file is answered 416 and kept as it is.
        assert_eq!(
            client.download(&url, &part, 1 << 20).await.unwrap(),
            body.len() as u64
        );
    }

    #[tokio::test]
    async fn size_caps_hold_with_and_without_a_content_length() {
        let (platform, _, dir) = platform().await;
        let client = HttpClient::new(&config(&platform, true)).unwrap();
        let part = dir.path().join("x.part");
        let small = client
            .download(
                &format!("{}/media/blob.mp4", platform.base_url),
                &part,
                10_000,
            )
            .await;
        assert!(
            matches!(
                small,
                Err(FetchError::TooLarge {
                    announced: Some(100_000),
                    ..
                })
            ),
            "{small:?}"
        );
        let endless = client
            .download(
                &format!("{}/fault/endless.mp4", platform.base_url),
                &part,
                1 << 20,
            )
            .await;
        assert!(
            matches!(
                endless,
                Err(FetchError::TooLarge {
                    announced: None,
                    ..
                })
            ),
            "{endless:?}"
        );
        assert!(!part.exists(), "a refused download leaves no part file");
    }

    #[tokio::test]
    async fn server_errors_are_retried_then_reported() {
        let (platform, _, _dir) = platform().await;
        let client = HttpClient::new(&config(&platform, true)).unwrap();
        let error = client
            .get_document(&format!("{}/fault/500", platform.base_url), None)
            .await
            .err()
            .unwrap();
        assert!(
            error.to_string().contains("500") && error.to_string().contains("3 attempt"),
            "{error}"
        );
        assert_eq!(hits(&platform, "/fault/500").await, 3);
    }

    #[tokio::test]
    async fn the_guard_refuses_loopback_names_and_private_redirects_before_connecting() {
        let (platform, _, _dir) = platform().await;
        // Not allowed to reach loopback: "localhost" is refused by the resolver.
        let strict = HttpClient::new(&config(&platform, false)).unwrap();
        let url = format!("http://localhost:{}/feeds/rss.xml", platform.addr.port());
        let refused = strict.get_document(&url, None).await.err().unwrap();
        // A refusal never passes: the candidate is not tried again.
        assert!(
            matches!(refused, FetchError::Refused(_)) && !refused.may_pass(),
            "{refused:?}"
        );
        let error = refused.to_string();
        assert!(error.contains("refused localhost"), "{error}");
        assert_eq!(
            hits(&platform, "/feeds/rss.xml").await,
            0,
            "no request reached the server"
        );
        // Allowed loopback, but a redirect to 10.0.0.1 is refused at that hop.
        let client = HttpClient::new(&config(&platform, true)).unwrap();
        let error = client
            .get_document(
                &format!("{}/fault/redirect-private", platform.base_url),
                None,
            )
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(
            error.contains("10.0.0.1") && error.contains("private"),
            "{error}"
        );
        assert_eq!(
            hits(&platform, "/fault/redirect-private").await,
            1,
            "refusals are not retried"
        );
    }

    #[tokio::test]
    async fn fetch_page_records_every_redirect_hop_and_guards_each() {
        let (platform, _, _dir) = platform().await;
        let client = HttpClient::new(&config(&platform, true)).unwrap();
        let base = &platform.base_url;
        let page = client
            .fetch_page(&format!("{base}/fault/redirect-chain/b"), 1 << 20)
            .await
            .unwrap();
        assert_eq!(page.status, 200);
        assert_eq!(page.final_url.as_str(), format!("{base}/pages/b"));
        assert_eq!(
            page.redirects,
            vec![
                RedirectHop {
                    url: format!("{base}/fault/redirect-chain/b"),
                    status: 301,
                    location: "/fault/redirect-chain/b/2".into(),
                },
                RedirectHop {
                    url: format!("{base}/fault/redirect-chain/b/2"),
                    status: 302,
                    location: "/pages/b".into(),
                },
            ]
        );
        assert!(String::from_utf8_lossy(&page.body).contains("<video"));
        // A page without redirects has none recorded.
        let direct = client
            .fetch_page(&format!("{base}/pages/b"), 1 << 20)
            .await
            .unwrap();
        assert!(direct.redirects.is_empty());
        // Each hop goes through the guard: a redirect to 10.0.0.1 is refused.
        let error = client
            .fetch_page(&format!("{base}/fault/redirect-private"), 1 << 20)
            .await
            .err()
            .unwrap();
        assert!(
            matches!(&error, FetchError::RedirectRefused { message, .. }
                if message.contains("10.0.0.1") && message.contains("private")),
            "{error}"
        );
        // Loops end after MAX_REDIRECTS hops.
        let error = client
            .fetch_page(&format!("{base}/fault/loop"), 1 << 20)
            .await
            .err()
            .unwrap();
        assert!(matches!(error, FetchError::RedirectLoop { .. }), "{error}");
        assert_eq!(
            hits(&platform, "/fault/loop").await + hits(&platform, "/fault/loop2").await,
            MAX_REDIRECTS as u64
        );
    }

    #[tokio::test]
    async fn requests_go_through_the_configured_proxy() {
        let (platform, _, _dir) = platform().await;
        // The mock platform also answers absolute-form (proxy) requests. The
        // target, 127.0.0.2:9, has no server: only the proxy can answer.
        let mut config = config(&platform, true);
        config.url = "http://127.0.0.2:9/feeds/rss.xml".into();
        config.proxy = Some(platform.base_url.clone());
        let client = HttpClient::new(&config).unwrap();
        let document = client
            .get_document("http://127.0.0.2:9/feeds/rss.xml", None)
            .await
            .unwrap();
        assert!(matches!(document, Document::Fresh { .. }));
        assert_eq!(hits(&platform, "/feeds/rss.xml").await, 1);
        let direct = HttpClient::new(&super::tests::config(&platform, true)).unwrap();
        assert!(direct
            .get_document("http://127.0.0.2:9/feeds/rss.xml", None)
            .await
            .is_err());
    }

    #[tokio::test]
    async fn requests_are_paced_by_the_rate_limit() {
        let (platform, _, _dir) = platform().await;
        let mut config = config(&platform, true);
        config.rate_limit_per_minute = 600; // one request per 100 ms
        let client = HttpClient::new(&config).unwrap();
        let started = std::time::Instant::now();
        for _ in 0..5 {
            client
                .get_document(&format!("{}/feeds/rss.xml", platform.base_url), None)
                .await
                .unwrap();
        }
        assert!(
            started.elapsed() >= Duration::from_millis(400),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test]
    async fn conditional_gets_send_the_validators_back() {
        let (platform, _, _dir) = platform().await;
        let client = HttpClient::new(&config(&platform, true)).unwrap();
        let url = format!("{}/feeds/rss.xml", platform.base_url);
        let Document::Fresh { validators, .. } = client.get_document(&url, None).await.unwrap()
        else {
            panic!("the first request gets the document")
        };
        assert!(validators.etag.is_some());
        assert!(matches!(
            client.get_document(&url, Some(&validators)).await.unwrap(),
            Document::NotModified
        ));
    }

    /// A server on 127.0.0.1 that answers every request one byte every
    /// 200 ms, until the client goes: its headers too with `trickle_head`,
    /// else the headers at once and then an endless body.
    async fn trickling_server(trickle_head: bool) -> String {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut request = [0u8; 4096];
                    let _ = socket.read(&mut request).await;
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nX-Padding: {}\r\n\r\n",
                        "a".repeat(200)
                    );
                    if !trickle_head && socket.write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                    let bytes = head.into_bytes().into_iter().filter(|_| trickle_head);
                    for byte in bytes.chain(std::iter::repeat(b'x')) {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        if socket.write_all(&[byte]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        base
    }

    #[tokio::test]
    async fn a_trickling_server_cannot_hold_a_download() {
        for trickle_head in [false, true] {
            let base = trickling_server(trickle_head).await;
            let mut config =
                SourceConfig::new("slow", SourceKind::Feed, &format!("{base}/feed.xml"));
            config.allow_loopback = true;
            config.retries = 0;
            config.timeout_s = 1.0;
            let client = HttpClient::new(&config).unwrap();
            let dir = tempfile::tempdir().unwrap();
            let result = client
                .download(
                    &format!("{base}/v.mp4"),
                    &dir.path().join("v.part"),
                    1 << 30,
                )
                .await;
            match (trickle_head, &result) {
                (false, Err(FetchError::TooSlow { received, .. })) => {
                    assert!(*received < 100, "{received} bytes")
                }
                (true, Err(FetchError::Timeout { .. })) => {}
                _ => panic!("trickled head {trickle_head}: {result:?}"),
            }
        }
        let mut config = SourceConfig::new("s", SourceKind::Feed, "https://example.com/f");
        config.timeout_s = 10.0;
        config.retries = 2;
        config.max_media_bytes = 1 << 30;
        // 3 attempts of (10 s + 1 GiB at 16 KiB/s + 10 s).
        assert_eq!(media_deadline(&config).as_secs(), 3 * (20 + 65_536));
    }
}
