//! `reelguard smtp-sink` (hidden): a local SMTP server keeping each message
//! as a .eml file, for the demo; `--show FILE` prints a stored message's
//! envelope, subject and plain-text part.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use super::InputError;
use crate::testkit::smtp_sink::{SinkTls, SmtpSink};
use crate::testkit::tls::{server_config, TestCertificates};

#[derive(Debug, Args)]
pub struct SmtpSinkArgs {
    /// Directory the received messages are written to
    #[arg(long, required_unless_present = "show")]
    pub dir: Option<PathBuf>,
    /// Loopback address to listen on (port 0: any free port)
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Require AUTH with this user (password from REELGUARD_SINK_PASSWORD)
    #[arg(long)]
    pub user: Option<String>,
    /// Offer TLS: `starttls` (required before AUTH and MAIL) or `implicit`
    /// (TLS from the first byte). Without --tls-cert and --tls-key, a
    /// throwaway CA and certificate for 127.0.0.1 are made in DIR/tls/
    /// (clients trust DIR/tls/ca.pem)
    #[arg(long, value_name = "MODE")]
    pub tls: Option<TlsMode>,
    /// The server certificate chain (PEM) for --tls
    #[arg(long, value_name = "PEM", requires_all = ["tls", "tls_key"])]
    pub tls_cert: Option<PathBuf>,
    /// The server's private key (PEM) for --tls
    #[arg(long, value_name = "PEM", requires_all = ["tls", "tls_cert"])]
    pub tls_key: Option<PathBuf>,
    /// Print a stored message instead of serving
    #[arg(long, value_name = "FILE")]
    pub show: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum TlsMode {
    Starttls,
    Implicit,
}

pub async fn run(args: SmtpSinkArgs) -> anyhow::Result<()> {
    if let Some(file) = &args.show {
        let bytes =
            std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        print!("{}", summary(&bytes)?);
        return Ok(());
    }
    if !args.listen.ip().is_loopback() {
        return Err(InputError(format!(
            "--listen {}: the SMTP sink listens on loopback addresses only",
            args.listen
        ))
        .into());
    }
    let auth = match args.user {
        Some(user) => {
            let password = std::env::var("REELGUARD_SINK_PASSWORD").map_err(|_| {
                InputError("--user needs the password in REELGUARD_SINK_PASSWORD".into())
            })?;
            Some((user, password))
        }
        None => None,
    };
    let dir = args.dir.expect("clap requires --dir");
    let tls = match args.tls {
        Some(mode) => {
            let config = match (&args.tls_cert, &args.tls_key) {
                (Some(cert), Some(key)) => server_config(cert, key),
                _ => TestCertificates::create(&dir.join("tls")).and_then(|c| c.server_config()),
            }
            .map_err(|e| InputError(format!("--tls: {e:#}")))?;
            match mode {
                TlsMode::Starttls => SinkTls::Starttls(config),
                TlsMode::Implicit => SinkTls::Implicit(config),
            }
        }
        None => SinkTls::None,
    };
    let sink = SmtpSink::start(args.listen, &dir, auth, tls).await?;
    println!("{}", sink.addr);
    std::io::stdout().flush()?;
    tokio::signal::ctrl_c().await?;
    sink.stop();
    Ok(())
}

/// Envelope, From, To, Subject and the plain-text part of a stored message.
pub fn summary(bytes: &[u8]) -> anyhow::Result<String> {
    let mail = mailparse::parse_mail(bytes).context("not a MIME message")?;
    let mut out = String::new();
    for name in [
        "X-Sink-Mail-From",
        "X-Sink-Rcpt-To",
        "X-Sink-Tls",
        "From",
        "To",
        "Reply-To",
        "Subject",
        "Date",
    ] {
        for header in mail
            .headers
            .iter()
            .filter(|h| h.get_key().eq_ignore_ascii_case(name))
        {
            out.push_str(&format!("{}: {}\n", name, header.get_value()));
        }
    }
    let mut parts = Vec::new();
    collect_parts(&mail, &mut parts);
    out.push_str("Parts:");
    for (mime, _) in &parts {
        out.push_str(&format!(" {mime}"));
    }
    for (name, size) in attachments(&mail) {
        out.push_str(&format!("\nAttachment: {name} ({size} bytes)"));
    }
    out.push_str("\n\n");
    if let Some((_, text)) = parts.iter().find(|(mime, _)| mime == "text/plain") {
        out.push_str(text);
    }
    Ok(out)
}

/// (file name, decoded size) of each attached file.
fn attachments(part: &mailparse::ParsedMail) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let disposition = part.get_content_disposition();
    if disposition.disposition == mailparse::DispositionType::Attachment {
        let name = disposition
            .params
            .get("filename")
            .cloned()
            .unwrap_or_default();
        out.push((name, part.get_body_raw().map(|b| b.len()).unwrap_or(0)));
    }
    for sub in &part.subparts {
        out.extend(attachments(sub));
    }
    out
}

fn collect_parts(part: &mailparse::ParsedMail, out: &mut Vec<(String, String)>) {
    if part.subparts.is_empty() {
        let body = if part.ctype.mimetype.starts_with("text/") {
            part.get_body().unwrap_or_default()
        } else {
            String::new()
        };
        out.push((part.ctype.mimetype.clone(), body));
    }
    for sub in &part.subparts {
        collect_parts(sub, out);
    }
}
