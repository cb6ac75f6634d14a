//! A throwaway certificate authority and a server certificate for 127.0.0.1
//! and localhost, made with the `openssl` tool, for the local TLS servers of
//! the tests (the SMTP sink over STARTTLS or implicit TLS, an https page).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::openssl;

/// Files of a test CA and the server certificate it signed.
#[derive(Clone, Debug)]
pub struct TestCertificates {
    /// The CA certificate (PEM): what clients must trust.
    pub ca_cert: PathBuf,
    /// The server certificate (PEM) for IP 127.0.0.1 and DNS localhost.
    pub server_cert: PathBuf,
    /// The server's private key (PEM).
    pub server_key: PathBuf,
}

impl TestCertificates {
    /// Creates the CA and the server certificate in `dir` (P-256 keys, valid
    /// for two days).
    pub fn create(dir: &Path) -> anyhow::Result<TestCertificates> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        std::fs::write(
            dir.join("server.ext"),
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
             extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
        )
        .with_context(|| format!("cannot write in {}", dir.display()))?;
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
        let mut ca = vec!["req", "-x509", "-nodes", "-days", "2"];
        ca.extend_from_slice(&ec);
        ca.extend_from_slice(&[
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-subj",
            "/CN=reelguard test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(dir, &ca)?;
        let mut request = vec!["req", "-new", "-nodes"];
        request.extend_from_slice(&ec);
        request.extend_from_slice(&[
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/O=reelguard test/CN=localhost",
        ]);
        openssl(dir, &request)?;
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-set_serial",
                "2",
                "-days",
                "2",
                "-extfile",
                "server.ext",
                "-out",
                "server.pem",
            ],
        )?;
        Ok(TestCertificates {
            ca_cert: dir.join("ca.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server.key"),
        })
    }

    /// A TLS server configuration presenting the server certificate.
    pub fn server_config(&self) -> anyhow::Result<Arc<rustls::ServerConfig>> {
        server_config(&self.server_cert, &self.server_key)
    }
}

/// A TLS server configuration presenting the certificate chain in
/// `cert_pem` with the private key in `key_pem`.
pub fn server_config(cert_pem: &Path, key_pem: &Path) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_pem)
        .and_then(|certs| certs.collect())
        .with_context(|| format!("cannot read certificates from {}", cert_pem.display()))?;
    anyhow::ensure!(
        !chain.is_empty(),
        "{} holds no certificate",
        cert_pem.display()
    );
    let key = PrivateKeyDer::from_pem_file(key_pem)
        .with_context(|| format!("cannot read a private key from {}", key_pem.display()))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .with_context(|| {
            format!(
                "{} and {} do not make a usable certificate and key",
                cert_pem.display(),
                key_pem.display()
            )
        })?;
    Ok(Arc::new(config))
}
