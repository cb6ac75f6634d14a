//! RFC 3161 trusted timestamps: asks the configured TSAs, in order, for a
//! token over a SHA-256 digest and keeps a token only after checking it fully
//! (see `token` for every check).

pub mod token;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use x509_cert::Certificate;

use crate::ssrf::{self, Allow};

pub use token::{TokenError, VerifiedToken};

/// `[timestamp]` in the configuration.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TimestampConfig {
    /// RFC 3161 TSA URLs, tried in order.
    pub urls: Vec<String>,
    /// PEM files with the CA certificates tokens must chain to.
    pub trust_anchors: Vec<PathBuf>,
    /// Also trust the system's root certificates ([`system_roots_file`]):
    /// for public TSAs whose roots are there. Tokens must still be signed by
    /// a certificate whose only, critical, extended key usage is timeStamping.
    pub system_roots: bool,
    /// Seconds to wait for one TSA answer.
    pub timeout_s: f64,
    /// Further attempts per TSA after the first fails.
    pub retries: u32,
    /// Seconds between the daemon's retries of timestamps left pending.
    pub retry_interval_s: f64,
    /// Let a TSA on this machine be reached (127.0.0.0/8 or ::1, on the port
    /// of its URL only): a local TSA.
    pub allow_loopback: bool,
    /// Let TSAs on private, loopback or link-local addresses be reached.
    pub allow_private: bool,
    /// The proxy requests go through (http, https, socks5 or socks5h,
    /// possibly with `user:password@`); none: direct, whatever the
    /// environment's proxy variables say.
    pub proxy: Option<String>,
}

/// Everything but the proxy's password.
impl std::fmt::Debug for TimestampConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimestampConfig")
            .field("urls", &self.urls)
            .field("trust_anchors", &self.trust_anchors)
            .field("system_roots", &self.system_roots)
            .field("timeout_s", &self.timeout_s)
            .field("retries", &self.retries)
            .field("retry_interval_s", &self.retry_interval_s)
            .field("allow_loopback", &self.allow_loopback)
            .field("allow_private", &self.allow_private)
            .field(
                "proxy",
                &self.proxy.as_deref().map(crate::secret::redact_url),
            )
            .finish()
    }
}

impl Default for TimestampConfig {
    fn default() -> Self {
        TimestampConfig {
            urls: Vec::new(),
            trust_anchors: Vec::new(),
            system_roots: false,
            timeout_s: 10.0,
            retries: 1,
            retry_interval_s: 300.0,
            allow_loopback: false,
            allow_private: false,
            proxy: None,
        }
    }
}

impl TimestampConfig {
    /// Checks the values; names the key and the value at fault.
    pub fn validate(&self) -> anyhow::Result<()> {
        for url in &self.urls {
            let parsed = reqwest::Url::parse(url)
                .map_err(|e| anyhow::anyhow!("timestamp.urls: {url:?} is not a URL: {e}"))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                anyhow::bail!("timestamp.urls: {url:?} must be an http:// or https:// URL");
            }
        }
        if let Some(proxy) = &self.proxy {
            crate::source_config::check_proxy_url("timestamp.proxy", proxy)?;
        }
        use crate::bounds::{float, int, DAY_S};
        float(
            "timestamp.timeout_s",
            self.timeout_s,
            0.1..=600.0,
            "seconds",
        )?;
        int("timestamp.retries", self.retries, 0..=10, "")?;
        float(
            "timestamp.retry_interval_s",
            self.retry_interval_s,
            1.0..=DAY_S,
            "seconds",
        )?;
        if !self.urls.is_empty() && self.trust_anchors.is_empty() && !self.system_roots {
            anyhow::bail!(
                "timestamp.trust_anchors is empty and timestamp.system_roots is false: list the PEM file(s) of the CA certificates your TSAs chain to, or set system_roots = true for public TSAs, so their tokens can be checked"
            );
        }
        Ok(())
    }
}

/// Why no token could be obtained.
#[derive(Debug, thiserror::Error)]
pub enum StampError {
    #[error("no TSA is configured: add RFC 3161 URLs to [timestamp] urls in the config file")]
    NotConfigured,
    #[error("no TSA gave a valid token: {}", .0.iter().map(|(url, why)| format!("{url}: {why}")).collect::<Vec<_>>().join("; "))]
    AllFailed(Vec<(String, String)>),
    #[error("timestamp.proxy: {0}")]
    Proxy(String),
    #[error("cannot read trust anchor {path}: {reason}")]
    TrustAnchor { path: PathBuf, reason: String },
    #[error(
        "timestamp.system_roots is set but no system root certificates were found: set SSL_CERT_FILE to a PEM bundle, install ca-certificates, or list the TSAs' CA files in timestamp.trust_anchors (looked at {})",
        .tried.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    NoSystemRoots { tried: Vec<PathBuf> },
}

/// A checked token.
#[derive(Clone, Debug)]
pub struct Stamp {
    /// DER ContentInfo, as in a `.tsr` token file.
    pub token: Vec<u8>,
    pub tsa_url: String,
    pub verified: VerifiedToken,
}

/// Requests and checks timestamps.
pub struct Stamper {
    tsas: Vec<Tsa>,
    anchors: Vec<Certificate>,
    retries: u32,
}

/// One configured TSA and the guarded client that reaches it (loopback, when
/// allowed, on its own URL's port only).
struct Tsa {
    url: String,
    allow: Allow,
    client: reqwest::Client,
}

impl Stamper {
    pub fn new(config: &TimestampConfig) -> Result<Stamper, StampError> {
        let mut anchors = load_trust_anchors(&config.trust_anchors)?;
        if config.system_roots {
            anchors.extend(load_system_roots()?);
        }
        let timeout = Duration::from_secs_f64(config.timeout_s);
        let mut tsas = Vec::new();
        for url in &config.urls {
            let allow = Allow::for_url(url, config.allow_loopback, config.allow_private);
            let client = ssrf::guarded_client(&allow, config.proxy.as_deref())
                .map_err(StampError::Proxy)?
                .timeout(timeout)
                .connect_timeout(timeout)
                .user_agent(concat!("reelguard/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| StampError::Proxy(format!("cannot build the TSA client: {e}")))?;
            tsas.push(Tsa {
                url: url.clone(),
                allow,
                client,
            });
        }
        Ok(Stamper {
            tsas,
            anchors,
            retries: config.retries,
        })
    }

    pub fn is_configured(&self) -> bool {
        !self.tsas.is_empty()
    }

    pub fn anchors(&self) -> &[Certificate] {
        &self.anchors
    }

    /// A checked token over `sha256` from the first TSA that gives one.
    pub async fn stamp(&self, sha256: &[u8; 32]) -> Result<Stamp, StampError> {
        if self.tsas.is_empty() {
            return Err(StampError::NotConfigured);
        }
        let mut failures = Vec::new();
        for tsa in &self.tsas {
            let url = &tsa.url;
            for attempt in 0..=self.retries {
                if attempt > 0 {
                    tokio::time::sleep(Duration::from_millis(200 << attempt.min(5))).await;
                }
                match self.ask(tsa, sha256).await {
                    Ok(stamp) => return Ok(stamp),
                    Err(reason) => {
                        tracing::warn!(tsa = %url, attempt, %reason, "timestamp request failed");
                        // A refused address or a token that fails its checks
                        // will fail again: try the next TSA.
                        let retryable = matches!(reason, AskError::Transport(_));
                        failures.push((url.clone(), reason.to_string()));
                        if !retryable {
                            break;
                        }
                    }
                }
            }
        }
        Err(StampError::AllFailed(failures))
    }

    async fn ask(&self, tsa: &Tsa, sha256: &[u8; 32]) -> Result<Stamp, AskError> {
        let url = &tsa.url;
        let parsed = url::Url::parse(url).map_err(|e| AskError::Refused(e.to_string()))?;
        ssrf::check_url(&parsed, &tsa.allow).map_err(|e| {
            AskError::Refused(format!(
                "{e}; for a TSA on this machine set allow_loopback = true in [timestamp]"
            ))
        })?;
        let nonce = random_nonce();
        let request = token::build_request(sha256, nonce);
        let response = tsa
            .client
            .post(parsed)
            .header("Content-Type", "application/timestamp-query")
            .header("Accept", "application/timestamp-reply")
            .body(request)
            .send()
            .await
            .map_err(|e| AskError::Transport(describe_reqwest_error(&e)))?;
        let status = response.status();
        if status.is_redirection() {
            // Not followed: the redirect's target was never checked.
            let target = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .map(crate::secret::redact_url)
                .unwrap_or_default();
            return Err(AskError::Refused(format!(
                "HTTP {status}: a redirect to {target:?}, not followed; put the TSA's own URL in [timestamp] urls"
            )));
        }
        if !status.is_success() {
            return Err(AskError::Transport(format!("HTTP {status}")));
        }
        // A reply is a few kilobytes: read at most MAX_REPLY_BYTES of it.
        let mut response = response;
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| AskError::Transport(describe_reqwest_error(&e)))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_REPLY_BYTES {
                return Err(AskError::Transport(format!(
                    "the answer is larger than {MAX_REPLY_BYTES} bytes, not a timestamp reply"
                )));
            }
        }
        let (token, verified) =
            token::check_response(&body, sha256, nonce, &self.anchors).map_err(AskError::Token)?;
        Ok(Stamp {
            token,
            tsa_url: url.to_string(),
            verified,
        })
    }
}

/// Most bytes of a TSA's answer read (a reply with its certificates is a
/// few kilobytes).
const MAX_REPLY_BYTES: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
enum AskError {
    #[error("{0}")]
    Transport(String),
    #[error("{0}")]
    Refused(String),
    #[error("rejected the answer: {0}")]
    Token(TokenError),
}

fn describe_reqwest_error(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "no answer within the timeout".into();
    }
    // The whole chain: a connection the guard refused says why.
    let mut text = if error.is_connect() {
        "cannot connect".to_string()
    } else {
        error.to_string()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    crate::secret::redact_urls_in_text(&text)
}

fn random_nonce() -> u64 {
    let bytes = *uuid::Uuid::new_v4().as_bytes();
    u64::from_be_bytes(bytes[..8].try_into().expect("8 bytes"))
}

/// The system's root certificate bundles, most common first (Debian and
/// Ubuntu, Fedora and RHEL, openSUSE, Alpine and others).
pub const SYSTEM_ROOT_FILES: [&str; 4] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// The system's root certificates: the file `SSL_CERT_FILE` names when set
/// (as OpenSSL does), else the first of [`SYSTEM_ROOT_FILES`] that exists.
pub fn system_roots_file() -> Result<PathBuf, StampError> {
    let candidates: Vec<PathBuf> = match std::env::var_os("SSL_CERT_FILE").filter(|v| !v.is_empty())
    {
        Some(file) => vec![PathBuf::from(file)],
        None => SYSTEM_ROOT_FILES.iter().map(PathBuf::from).collect(),
    };
    candidates
        .iter()
        .find(|path| path.is_file())
        .cloned()
        .ok_or(StampError::NoSystemRoots { tried: candidates })
}

/// The certificates of the system's root bundle ([`system_roots_file`]).
/// A certificate in it that cannot be read is skipped (bundles carry a few
/// with encodings other code refuses), but at least one must be read.
pub fn load_system_roots() -> Result<Vec<Certificate>, StampError> {
    let path = system_roots_file()?;
    let text = std::fs::read_to_string(&path).map_err(|e| StampError::TrustAnchor {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let roots = pem_blocks_lenient(&text);
    tracing::debug!(file = %path.display(), roots = roots.len(), "system root certificates");
    if roots.is_empty() {
        return Err(StampError::TrustAnchor {
            path,
            reason: "no certificate in the file".into(),
        });
    }
    Ok(roots)
}

/// Every PEM certificate in `text` that parses; the others are left out.
fn pem_blocks_lenient(text: &str) -> Vec<Certificate> {
    use der::DecodePem;
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut certificates = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let Some(end) = rest[start..].find(END) else {
            break;
        };
        let block = &rest[start..start + end + END.len()];
        match Certificate::from_pem(block) {
            Ok(certificate) => certificates.push(certificate),
            Err(e) => tracing::debug!("a system root certificate is skipped: {e}"),
        }
        rest = &rest[start + end + END.len()..];
    }
    certificates
}

/// Reads the CA certificates in the given PEM files.
pub fn load_trust_anchors(paths: &[PathBuf]) -> Result<Vec<Certificate>, StampError> {
    let mut anchors = Vec::new();
    for path in paths {
        anchors.extend(load_pem_file(path)?);
    }
    Ok(anchors)
}

fn load_pem_file(path: &Path) -> Result<Vec<Certificate>, StampError> {
    let error = |reason: String| StampError::TrustAnchor {
        path: path.to_path_buf(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| error(e.to_string()))?;
    let certificates = token::parse_pem_certificates(&pem)
        .map_err(|e| error(format!("not PEM certificates: {e}")))?;
    if certificates.is_empty() {
        return Err(error("no certificate in the file".into()));
    }
    Ok(certificates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_with_an_unreadable_certificate_keeps_the_others() {
        let good = std::fs::read_to_string(SYSTEM_ROOT_FILES[0]);
        let Ok(good) = good else {
            eprintln!("no {}: skipped", SYSTEM_ROOT_FILES[0]);
            return;
        };
        let all = pem_blocks_lenient(&good);
        assert!(all.len() > 10, "{} roots", all.len());
        let broken = format!(
            "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n{good}"
        );
        assert_eq!(pem_blocks_lenient(&broken).len(), all.len());
    }

    #[test]
    fn system_roots_satisfy_the_anchor_requirement() {
        let mut config = TimestampConfig {
            urls: vec!["http://timestamp.digicert.com".into()],
            ..TimestampConfig::default()
        };
        let error = config.validate().unwrap_err().to_string();
        assert!(error.contains("system_roots"), "{error}");
        config.system_roots = true;
        config.validate().expect("system roots are anchors");
    }
}
