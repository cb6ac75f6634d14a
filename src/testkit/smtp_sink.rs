//! A minimal SMTP server on 127.0.0.1 that keeps every message it accepts
//! as a `.eml` file, for the alert tests and the demo (hidden command
//! `reelguard smtp-sink`).
//!
//! It speaks EHLO/HELO, AUTH PLAIN and LOGIN (when started with a user),
//! MAIL, RCPT, DATA (with dot-unstuffing), RSET, NOOP and QUIT, in plain
//! text, with STARTTLS (then AUTH and MAIL are refused until the client has
//! upgraded) or over TLS from the first byte ([`SinkTls`]). Fault modes:
//! refuse every MAIL command with a chosen reply (451 try later, 554 no),
//! or wait before answering DATA. A message counts as accepted only when
//! the client is still connected to hear the 250 (as a server that commits
//! with its reply); one whose client went away first is dropped. The
//! envelope is written at the top of each file as `X-Sink-Mail-From` and
//! `X-Sink-Rcpt-To` headers, and the TLS version the message came over (or
//! `none`) as `X-Sink-Tls`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use base64::Engine as _;
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// Longest command line or message line accepted (RFC 5321 says 1000).
const MAX_LINE: usize = 4096;
/// Largest message accepted, in bytes.
const MAX_MESSAGE: usize = 50 * 1024 * 1024;

/// How the sink protects its connections.
#[derive(Clone, Default)]
pub enum SinkTls {
    /// Plain text only.
    #[default]
    None,
    /// Plain text upgraded by STARTTLS, which is required before AUTH and MAIL.
    Starttls(Arc<rustls::ServerConfig>),
    /// TLS from the first byte ("SMTPS").
    Implicit(Arc<rustls::ServerConfig>),
}

struct State {
    dir: PathBuf,
    auth: Option<(String, String)>,
    tls: SinkTls,
    refusal: Mutex<Option<String>>,
    data_delay: Mutex<Duration>,
    received: AtomicU64,
    bodies: AtomicU64,
}

/// A running sink; it stops when dropped or [`SmtpSink::stop`]ped.
pub struct SmtpSink {
    pub addr: SocketAddr,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    /// Listens on `listen` (loopback only) and stores messages in `dir`.
    /// With `auth`, clients must log in with that user and password.
    pub async fn start(
        listen: SocketAddr,
        dir: &Path,
        auth: Option<(String, String)>,
        tls: SinkTls,
    ) -> anyhow::Result<SmtpSink> {
        anyhow::ensure!(
            listen.ip().is_loopback(),
            "the SMTP sink listens on loopback addresses only, not {listen}"
        );
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            dir: dir.to_path_buf(),
            auth,
            tls,
            refusal: Mutex::new(None),
            data_delay: Mutex::new(Duration::ZERO),
            received: AtomicU64::new(0),
            bodies: AtomicU64::new(0),
        });
        let accept_state = state.clone();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let state = accept_state.clone();
                        connections.spawn(async move {
                            if let Err(e) = serve(stream, &state).await {
                                tracing::debug!("smtp sink session ended: {e:#}");
                            }
                        });
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        Ok(SmtpSink { addr, state, task })
    }

    /// Answers every MAIL command with `reply` (e.g. "451 4.3.0 try again
    /// later"), or (None) accepts again.
    pub fn set_refusal(&self, reply: Option<&str>) {
        *self.state.refusal.lock().expect("sink lock") = reply.map(str::to_string);
    }

    /// Waits this long before answering the end of DATA.
    pub fn set_data_delay(&self, delay: Duration) {
        *self.state.data_delay.lock().expect("sink lock") = delay;
    }

    /// Message bodies read to their end (stored or not).
    pub fn bodies_received(&self) -> u64 {
        self.state.bodies.load(Ordering::SeqCst)
    }

    /// The directory holding the messages.
    pub fn dir(&self) -> &Path {
        &self.state.dir
    }

    /// The stored messages, in the order they arrived.
    pub fn messages(&self) -> Vec<PathBuf> {
        stored_messages(&self.state.dir)
    }

    /// Stops listening and drops every open session.
    pub fn stop(self) {
        self.task.abort();
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The `.eml` files in `dir`, in the order they arrived.
pub fn stored_messages(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "eml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

async fn read_line<R: AsyncBufRead + Unpin>(reader: &mut R) -> anyhow::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let n = (&mut *reader)
        .take(MAX_LINE as u64)
        .read_until(b'\n', &mut line)
        .await?;
    if n == 0 {
        return Ok(None);
    }
    anyhow::ensure!(line.ends_with(b"\n"), "line longer than {MAX_LINE} bytes");
    Ok(Some(line))
}

fn trim_crlf(line: &[u8]) -> String {
    String::from_utf8_lossy(line)
        .trim_end_matches(['\r', '\n'])
        .to_string()
}

/// One client connection, upgraded to TLS as the sink's mode says.
async fn serve(stream: TcpStream, state: &State) -> anyhow::Result<()> {
    match &state.tls {
        SinkTls::None => {
            session(stream, state, Protection::Plain).await?;
        }
        SinkTls::Implicit(config) => {
            let tls = TlsAcceptor::from(config.clone()).accept(stream).await?;
            let version = tls_version(&tls);
            session(tls, state, Protection::Tls(version)).await?;
        }
        SinkTls::Starttls(config) => {
            if let Some(stream) = session(stream, state, Protection::OfferStarttls).await? {
                let tls = TlsAcceptor::from(config.clone()).accept(stream).await?;
                let version = tls_version(&tls);
                session(tls, state, Protection::Tls(version)).await?;
            }
        }
    }
    Ok(())
}

fn tls_version<S>(stream: &tokio_rustls::server::TlsStream<S>) -> String {
    stream
        .get_ref()
        .1
        .protocol_version()
        .and_then(|v| v.as_str())
        .unwrap_or("TLS")
        .to_string()
}

/// What protects one SMTP session.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Protection {
    /// Plain text, and the sink has no TLS.
    Plain,
    /// Plain text; STARTTLS is offered and required before AUTH and MAIL.
    OfferStarttls,
    /// TLS of this version.
    Tls(String),
}

/// Speaks SMTP on `stream` until QUIT or the client leaves. Returns the
/// stream when the client asked for STARTTLS, to be upgraded.
async fn session<S>(stream: S, state: &State, protection: Protection) -> anyhow::Result<Option<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (read, mut write) = tokio::io::split(stream);
    let mut reader = BufReader::new(read);
    // A client that upgraded says EHLO again without a new greeting.
    if !matches!(protection, Protection::Tls(_)) || matches!(state.tls, SinkTls::Implicit(_)) {
        write
            .write_all(b"220 127.0.0.1 ESMTP reelguard test sink\r\n")
            .await?;
    }
    let needs_starttls = protection == Protection::OfferStarttls;
    let tls_header = match &protection {
        Protection::Tls(version) => version.clone(),
        _ => "none".to_string(),
    };
    let mut authenticated = state.auth.is_none();
    let mut from: Option<String> = None;
    let mut recipients: Vec<String> = Vec::new();
    while let Some(line) = read_line(&mut reader).await? {
        let line = trim_crlf(&line);
        let (verb, rest) = match line.split_once(' ') {
            Some((verb, rest)) => (verb.to_ascii_uppercase(), rest.trim().to_string()),
            None => (line.to_ascii_uppercase(), String::new()),
        };
        let reply: String = match verb.as_str() {
            "EHLO" => {
                let mut lines = vec!["250-127.0.0.1 greets you", "250-8BITMIME", "250-SMTPUTF8"];
                if needs_starttls {
                    lines.push("250-STARTTLS");
                } else if state.auth.is_some() {
                    lines.push("250-AUTH PLAIN LOGIN");
                }
                lines.push("250 SIZE 52428800");
                lines.join("\r\n")
            }
            "HELO" => "250 127.0.0.1".into(),
            "STARTTLS" if needs_starttls => {
                write.write_all(b"220 2.0.0 Ready to start TLS\r\n").await?;
                // Anything the client sent after STARTTLS is dropped (RFC 3207).
                return Ok(Some(reader.into_inner().unsplit(write)));
            }
            "AUTH" | "MAIL" if needs_starttls => {
                "530 5.7.0 Must issue a STARTTLS command first".into()
            }
            "AUTH" => {
                let ok = authenticate(&rest, state, &mut reader, &mut write).await?;
                authenticated |= ok;
                if ok {
                    "235 2.7.0 Authentication successful".into()
                } else {
                    "535 5.7.8 Authentication credentials invalid".into()
                }
            }
            "MAIL" => {
                let refusal = state.refusal.lock().expect("sink lock").clone();
                if !authenticated {
                    "530 5.7.0 Authentication required".into()
                } else if let Some(refusal) = refusal {
                    refusal
                } else {
                    from = Some(address(&rest));
                    recipients.clear();
                    "250 2.1.0 OK".into()
                }
            }
            "RCPT" => {
                if from.is_none() {
                    "503 5.5.1 MAIL first".into()
                } else {
                    recipients.push(address(&rest));
                    "250 2.1.5 OK".into()
                }
            }
            "DATA" => {
                if recipients.is_empty() {
                    "503 5.5.1 RCPT first".into()
                } else {
                    write
                        .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                        .await?;
                    let data = read_data(&mut reader).await?;
                    state.bodies.fetch_add(1, Ordering::SeqCst);
                    let delay = *state.data_delay.lock().expect("sink lock");
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    if client_gone(&mut reader).await {
                        tracing::debug!("smtp sink: client left before the reply; message dropped");
                        return Ok(None);
                    }
                    let name = store(
                        state,
                        from.as_deref().unwrap_or_default(),
                        &recipients,
                        &tls_header,
                        &data,
                    )?;
                    from = None;
                    recipients.clear();
                    format!("250 2.0.0 OK queued as {name}")
                }
            }
            "RSET" => {
                from = None;
                recipients.clear();
                "250 2.0.0 OK".into()
            }
            "NOOP" => "250 2.0.0 OK".into(),
            "QUIT" => {
                write.write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(None);
            }
            _ => "502 5.5.2 Command not recognised".into(),
        };
        write.write_all(reply.as_bytes()).await?;
        write.write_all(b"\r\n").await?;
    }
    Ok(None)
}

/// `FROM:<a@b> SIZE=12` → `a@b`.
fn address(argument: &str) -> String {
    let after = argument.split_once(':').map(|(_, a)| a).unwrap_or(argument);
    let start = after.find('<').map(|i| i + 1).unwrap_or(0);
    let end = after.find('>').unwrap_or(after.len()).max(start);
    after[start..end].trim().to_string()
}

/// Whether the client has closed its side (checked without waiting).
async fn client_gone<R: AsyncBufRead + Unpin>(reader: &mut R) -> bool {
    match tokio::time::timeout(Duration::from_millis(20), reader.fill_buf()).await {
        Ok(Ok(buffer)) => buffer.is_empty(),
        Ok(Err(_)) => true,
        Err(_) => false,
    }
}

/// The message up to the lone dot, dot-unstuffed.
async fn read_data<R: AsyncBufRead + Unpin>(reader: &mut R) -> anyhow::Result<Vec<u8>> {
    let mut data = Vec::new();
    loop {
        let line = read_line(reader)
            .await?
            .context("connection closed inside DATA")?;
        if line == b".\r\n" || line == b".\n" {
            return Ok(data);
        }
        let line = line.strip_prefix(b".").unwrap_or(&line);
        data.extend_from_slice(line);
        anyhow::ensure!(
            data.len() <= MAX_MESSAGE,
            "message over {MAX_MESSAGE} bytes"
        );
    }
}

async fn authenticate<R, W>(
    argument: &str,
    state: &State,
    reader: &mut R,
    write: &mut W,
) -> anyhow::Result<bool>
where
    R: AsyncBufRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    let b64 = base64::engine::general_purpose::STANDARD;
    let Some((user, password)) = &state.auth else {
        return Ok(false);
    };
    let (mechanism, initial) = match argument.split_once(' ') {
        Some((m, i)) => (m.to_ascii_uppercase(), Some(i.trim().to_string())),
        None => (argument.to_ascii_uppercase(), None),
    };
    let mut ask = async |prompt: &str| -> anyhow::Result<String> {
        write
            .write_all(format!("334 {prompt}\r\n").as_bytes())
            .await?;
        let line = read_line(reader)
            .await?
            .context("connection closed inside AUTH")?;
        Ok(trim_crlf(&line))
    };
    let decode = |text: &str| b64.decode(text.trim()).unwrap_or_default();
    match mechanism.as_str() {
        "PLAIN" => {
            let response = match initial {
                Some(i) => i,
                None => ask("").await?,
            };
            let decoded = decode(&response);
            let parts: Vec<&[u8]> = decoded.split(|b| *b == 0).collect();
            Ok(parts.len() == 3 && parts[1] == user.as_bytes() && parts[2] == password.as_bytes())
        }
        "LOGIN" => {
            let given_user = match initial {
                Some(i) => decode(&i),
                None => decode(&ask(&b64.encode("Username:")).await?),
            };
            let given_password = decode(&ask(&b64.encode("Password:")).await?);
            Ok(given_user == user.as_bytes() && given_password == password.as_bytes())
        }
        _ => Ok(false),
    }
}

fn store(
    state: &State,
    from: &str,
    recipients: &[String],
    tls: &str,
    data: &[u8],
) -> anyhow::Result<String> {
    let n = state.received.fetch_add(1, Ordering::SeqCst) + 1;
    let name = format!(
        "{}-{n:04}-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.3f"),
        std::process::id()
    );
    let mut content = format!(
        "X-Sink-Mail-From: {from}\r\nX-Sink-Rcpt-To: {}\r\nX-Sink-Tls: {tls}\r\n",
        recipients.join(", ")
    )
    .into_bytes();
    content.extend_from_slice(data);
    let partial = state.dir.join(format!("{name}.part"));
    let done = state.dir.join(format!("{name}.eml"));
    std::fs::write(&partial, &content)
        .with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, &done)
        .with_context(|| format!("cannot move {} to {}", partial.display(), done.display()))?;
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_addresses_are_taken_from_the_brackets() {
        assert_eq!(address("FROM:<a@example.com> SIZE=100"), "a@example.com");
        assert_eq!(address("TO:<b@example.com>"), "b@example.com");
        assert_eq!(address("FROM:<>"), "");
    }
}
