//! The TLS peer certificate chain of an https page, for evidence.
//!
//! The crawling client does not expose the certificates it was shown, so a
//! capture makes a second TLS handshake to the same host and port: the
//! address goes through the SSRF guard as every request does, and no proxy
//! is used. The chain is recorded whether or not it verifies (against the
//! webpki roots and the source's `ca_cert`); the verification result is
//! recorded beside it. Nothing is sent over the connection: it is closed
//! right after the handshake.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context};
use der::Decode;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use serde_json::json;
use url::Url;

use crate::engine::sha256_hex;
use crate::ssrf::{self, Allow};

/// One certificate the server presented.
pub struct PeerCertificate {
    pub der: Vec<u8>,
    pub subject: String,
    pub issuer: String,
    pub not_before: String,
    pub not_after: String,
    /// SHA-256 of the DER, lowercase hex.
    pub sha256: String,
}

/// The chain a server presented, leaf first.
pub struct PeerChain {
    pub host: String,
    pub address: SocketAddr,
    pub certificates: Vec<PeerCertificate>,
    /// `Err` holds why the chain did not verify.
    pub verification: Result<(), String>,
}

impl PeerChain {
    /// Every certificate as PEM, leaf first.
    pub fn to_pem(&self) -> anyhow::Result<String> {
        let mut pem = String::new();
        for certificate in &self.certificates {
            pem.push_str(
                &der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &certificate.der)
                    .map_err(|e| anyhow::anyhow!("cannot encode a certificate as PEM: {e}"))?,
            );
        }
        Ok(pem)
    }

    /// What `fetch.json` says about the chain.
    pub fn summary(&self, pem_path: &str) -> serde_json::Value {
        json!({
            "host": self.host,
            "address": self.address.to_string(),
            "file": pem_path,
            "verified": self.verification.is_ok(),
            "verification_error": self.verification.as_ref().err(),
            "certificates": self.certificates.iter().map(|c| json!({
                "subject": c.subject,
                "issuer": c.issuer,
                "not_before": c.not_before,
                "not_after": c.not_after,
                "sha256": c.sha256,
            })).collect::<Vec<_>>(),
        })
    }
}

/// Connects to `url`'s host and port (checked by the SSRF guard with
/// `allow`), makes a TLS handshake and returns the chain the server
/// presented. `extra_roots_pem` are trusted besides the webpki roots.
pub async fn record(
    url: &Url,
    allow: &Allow,
    extra_roots_pem: Option<&[u8]>,
    timeout: Duration,
) -> anyhow::Result<PeerChain> {
    if url.scheme() != "https" {
        bail!("{url} is not https");
    }
    ssrf::check_url(url, allow)?;
    let port = url.port_or_known_default().unwrap_or(443);
    let (server_name, addresses) = match url.host() {
        Some(url::Host::Ipv4(ip)) => (
            ServerName::IpAddress(IpAddr::V4(ip).into()),
            vec![SocketAddr::new(IpAddr::V4(ip), port)],
        ),
        Some(url::Host::Ipv6(ip)) => (
            ServerName::IpAddress(IpAddr::V6(ip).into()),
            vec![SocketAddr::new(IpAddr::V6(ip), port)],
        ),
        Some(url::Host::Domain(name)) => {
            let server_name = ServerName::try_from(name.to_string())
                .with_context(|| format!("{name:?} is not a valid TLS server name"))?;
            let addresses = ssrf::resolve_checked(name, allow)
                .await?
                .into_iter()
                .map(|a| SocketAddr::new(a.ip(), port))
                .collect();
            (server_name, addresses)
        }
        None => bail!("{url} has no host"),
    };

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(pem) = extra_roots_pem {
        for certificate in CertificateDer::pem_slice_iter(pem) {
            let certificate = certificate.context("ca_cert is not a PEM certificate bundle")?;
            roots
                .add(certificate)
                .context("ca_cert holds a certificate that cannot be a trust anchor")?;
        }
    }
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .context("cannot build the certificate verifier")?;
    let recorder = Arc::new(Recorder {
        inner,
        provider: provider.clone(),
        seen: Mutex::new(None),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("no TLS protocol version available")?
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));

    let host = url.host_str().unwrap_or_default().to_string();
    let handshake = async {
        let tcp = tokio::net::TcpStream::connect(&addresses[..])
            .await
            .with_context(|| format!("cannot connect to {host}:{port}"))?;
        let address = tcp.peer_addr().context("no peer address")?;
        let tls = connector
            .connect(server_name, tcp)
            .await
            .with_context(|| format!("TLS handshake with {host}:{port} failed"));
        anyhow::Ok((address, tls))
    };
    let (address, tls) = tokio::time::timeout(timeout, handshake)
        .await
        .with_context(|| format!("no TLS handshake with {host}:{port} within {timeout:?}"))??;
    drop(tls); // the chain is recorded even when the handshake failed later
    let Some((chain, verification)) = recorder.seen.lock().expect("recorder lock").take() else {
        bail!("{host}:{port} presented no certificate");
    };
    let certificates = chain
        .iter()
        .map(|der| describe(der.as_ref()))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(PeerChain {
        host,
        address,
        certificates,
        verification,
    })
}

fn describe(der: &[u8]) -> anyhow::Result<PeerCertificate> {
    let certificate = x509_cert::Certificate::from_der(der)
        .context("the server presented a certificate that is not valid DER X.509")?;
    let tbs = &certificate.tbs_certificate;
    Ok(PeerCertificate {
        der: der.to_vec(),
        subject: tbs.subject.to_string(),
        issuer: tbs.issuer.to_string(),
        not_before: tbs.validity.not_before.to_string(),
        not_after: tbs.validity.not_after.to_string(),
        sha256: sha256_hex(der),
    })
}

/// Verifies as webpki does, records the chain and the result, and lets the
/// handshake go on either way (nothing is sent over the connection).
#[derive(Debug)]
struct Recorder {
    inner: Arc<WebPkiServerVerifier>,
    provider: Arc<CryptoProvider>,
    #[allow(clippy::type_complexity)]
    seen: Mutex<Option<(Vec<CertificateDer<'static>>, Result<(), String>)>>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verification = self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map(|_| ())
            .map_err(|e| e.to_string());
        let mut chain = vec![end_entity.clone().into_owned()];
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        *self.seen.lock().expect("recorder lock") = Some((chain, verification));
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source_config::{SourceConfig, SourceKind};
    use crate::sources::http::HttpClient;
    use crate::testkit::tls::TestCertificates;
    use std::path::Path;
    use std::process::Command;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// An https server on 127.0.0.1 answering every request with one page.
    async fn https_server(certificates: &TestCertificates) -> SocketAddr {
        let acceptor = tokio_rustls::TlsAcceptor::from(certificates.server_config().unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut request = Vec::new();
                    let mut buffer = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buffer[..n]),
                        }
                    }
                    let body = "<!doctype html><html><body>over https</body></html>";
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = tls.write_all(response.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        address
    }

    /// The SHA-256 fingerprint of a PEM certificate, as `openssl x509` prints it.
    fn fingerprint(pem: &Path) -> String {
        let output = Command::new("openssl")
            .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
            .arg(pem)
            .output()
            .expect("run openssl");
        assert!(output.status.success());
        String::from_utf8(output.stdout)
            .unwrap()
            .trim()
            .split('=')
            .nth(1)
            .unwrap()
            .replace(':', "")
            .to_lowercase()
    }

    #[tokio::test]
    async fn the_presented_chain_is_recorded_whether_or_not_it_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let certificates = TestCertificates::create(dir.path()).unwrap();
        let address = https_server(&certificates).await;
        let url = Url::parse(&format!("https://127.0.0.1:{}/page", address.port())).unwrap();
        let allow = Allow::for_url(url.as_str(), true, false);
        let ca_pem = std::fs::read(&certificates.ca_cert).unwrap();

        // The crawling client fetches the page with the CA trusted.
        let mut config = SourceConfig::new("t", SourceKind::Feed, url.as_str());
        config.allow_loopback = true;
        config.ca_cert = Some(certificates.ca_cert.to_string_lossy().into_owned());
        let client = HttpClient::new(&config).unwrap();
        let page = client.fetch_page(url.as_str(), 1 << 20).await.unwrap();
        assert_eq!(page.status, 200);
        assert!(String::from_utf8_lossy(&page.body).contains("over https"));

        let chain = record(&url, &allow, Some(&ca_pem), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(chain.verification, Ok(()));
        assert_eq!(chain.address, address);
        assert_eq!(chain.certificates.len(), 1);
        let leaf = &chain.certificates[0];
        assert_eq!(leaf.subject, "CN=localhost,O=reelguard test"); // RFC 4514 order
        assert_eq!(leaf.issuer, "CN=reelguard test CA");
        assert_eq!(leaf.sha256, fingerprint(&certificates.server_cert));
        // The PEM written to the capture is the leaf as generated.
        let pem = chain.to_pem().unwrap();
        let leaf_pem = std::fs::read_to_string(&certificates.server_cert).unwrap();
        assert_eq!(pem.trim(), leaf_pem.trim());
        let summary = chain.summary("capture/tls-chain.pem");
        assert_eq!(summary["certificates"][0]["sha256"], leaf.sha256.as_str());
        assert_eq!(summary["verified"], true);

        // Without the CA the chain does not verify, and is recorded all the same.
        let untrusted = record(&url, &allow, None, Duration::from_secs(5))
            .await
            .unwrap();
        assert!(untrusted.verification.is_err(), "verified without the CA");
        assert_eq!(untrusted.certificates[0].sha256, leaf.sha256);

        // The guard applies: loopback not allowed, nothing is contacted.
        let strict = Allow::default();
        let error = record(&url, &strict, Some(&ca_pem), Duration::from_secs(5))
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("127.0.0.1"), "{error}");
    }
}
