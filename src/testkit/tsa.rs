//! A local RFC 3161 TSA on 127.0.0.1 for the demo and the tests: OpenSSL's
//! `openssl ts -reply` behind a small HTTP handler, with its own test CA.
//!
//! `POST /tsr` answers properly. `POST /fault/KIND` answers the way a broken
//! or hostile TSA would: `wrong-nonce`, `wrong-imprint`, `bad-signature`,
//! `expired-cert` (signed by a certificate that expired in 2021),
//! `wrong-eku` (the token carries a signer certificate whose
//! extendedKeyUsage is not critical), `garbage`, `huge` (2 MiB), `http-500`,
//! `slow` (answers after 30 s), and three certificate paths through an intermediate that may
//! not issue certificates: `non-ca-issuer` (the intermediate is an end-entity
//! certificate, basicConstraints CA:FALSE), `issuer-without-keycertsign` (a CA
//! whose keyUsage lacks keyCertSign) and `path-length-exceeded` (two
//! intermediates below a CA with pathLenConstraint 0). `POST /tsr/via-intermediate`
//! answers properly with a TSA certificate issued by a proper intermediate CA.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use der::asn1::{Int, OctetString};
use der::{Any, Decode, Encode, Tag, TagNumber, Tagged};
use x509_tsp::{TimeStampReq, TimeStampResp};

use super::openssl;

/// The local TSA's keys and certificates, made once per directory.
#[derive(Clone, Debug)]
pub struct TsaFiles {
    pub dir: PathBuf,
    /// The test CA: what tokens chain to (`timestamp.trust_anchors`).
    pub ca_cert: PathBuf,
    /// The TSA's signing certificate.
    pub tsa_cert: PathBuf,
    expired_cert: PathBuf,
    weak_eku_cert: PathBuf,
    /// Issued by the intermediate (every intermediate variant has the same
    /// name and key, so it chains through whichever the token carries).
    tsa_via_intermediate: PathBuf,
}

/// Which certificates a token carries beside its signer's: the test CA and,
/// for a path through an intermediate, that intermediate.
#[derive(Clone, Copy, Debug)]
enum Chain {
    Direct,
    /// The chain file of `INTERMEDIATE_CHAINS` to carry.
    Through(&'static str),
}

impl Chain {
    /// The PEM file of the certificates `openssl ts -reply -chain` includes.
    fn chain_file(self) -> &'static str {
        match self {
            Chain::Direct => "tsa-ca.pem",
            Chain::Through(file) => file,
        }
    }
}

/// The token paths through an intermediate: (chain file, the intermediates
/// it holds before the test CA). The first is the proper one.
const INTERMEDIATE_CHAINS: &[(&str, &[&str])] = &[
    ("chain-intermediate.pem", &["int-ca.pem"]),
    ("chain-non-ca-issuer.pem", &["int-not-ca.pem"]),
    (
        "chain-issuer-without-keycertsign.pem",
        &["int-without-keycertsign.pem"],
    ),
    (
        "chain-path-length-exceeded.pem",
        &["int-below-path-len-0.pem", "int-path-len-0.pem"],
    ),
];

impl TsaFiles {
    /// Creates the CA and TSA certificates in `dir` with the `openssl` tool,
    /// or reuses them when they are there already.
    pub fn create(dir: &Path) -> anyhow::Result<TsaFiles> {
        static CREATING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one_at_a_time = CREATING.lock().unwrap_or_else(|e| e.into_inner());
        let files = TsaFiles {
            dir: dir.to_path_buf(),
            ca_cert: dir.join("tsa-ca.pem"),
            tsa_cert: dir.join("tsa.pem"),
            expired_cert: dir.join("tsa-expired.pem"),
            weak_eku_cert: dir.join("tsa-weak-eku.pem"),
            tsa_via_intermediate: dir.join("tsa-via-intermediate.pem"),
        };
        // The file made last: its presence means the directory is complete.
        let complete = dir.join(INTERMEDIATE_CHAINS[INTERMEDIATE_CHAINS.len() - 1].0);
        if complete.is_file() {
            return Ok(files);
        }
        // Made beside the target and renamed into place, so no other process
        // ever sees half a CA.
        let parent = dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
        let staging = tempfile::Builder::new()
            .prefix(".tsa-")
            .tempdir_in(parent)
            .with_context(|| format!("cannot write in {}", parent.display()))?;
        generate(staging.path())?;
        if !complete.is_file() {
            // An empty leftover, or one made by an older version without
            // every certificate.
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Err(e) = std::fs::rename(staging.path(), dir) {
            if !complete.is_file() {
                return Err(e).with_context(|| format!("cannot create {}", dir.display()));
            }
        }
        Ok(files)
    }

    /// Runs `openssl ts -reply` on a DER request, signing with `signer` and
    /// carrying the certificates of `chain`.
    fn reply(&self, request: &[u8], signer: &Path, chain: Chain) -> anyhow::Result<Vec<u8>> {
        let query = tempfile::NamedTempFile::new_in(&self.dir)?;
        std::fs::write(query.path(), request)?;
        let out = tempfile::NamedTempFile::new_in(&self.dir)?;
        let args = [
            "ts",
            "-reply",
            "-config",
            "tsa.cnf",
            "-section",
            "tsa_config",
            "-queryfile",
            &query.path().to_string_lossy(),
            "-signer",
            &signer.to_string_lossy(),
            "-inkey",
            "tsa.key",
            "-chain",
            chain.chain_file(),
            "-out",
            &out.path().to_string_lossy(),
        ];
        openssl(&self.dir, &args)?;
        Ok(std::fs::read(out.path())?)
    }
}

/// Writes the test CA, the TSA certificates and the OpenSSL TSA config into `dir`.
fn generate(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir.join("ca/newcerts"))?;
    std::fs::write(dir.join("tsa.cnf"), OPENSSL_CONFIG)?;
    std::fs::write(dir.join("tsaserial"), "01\n")?;
    std::fs::write(dir.join("ca/index.txt"), "")?;
    std::fs::write(dir.join("ca/serial"), "2000\n")?;
    std::fs::write(
        dir.join("tsa-ext.cnf"),
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\nsubjectKeyIdentifier=hash\n",
    )?;
    std::fs::write(
        dir.join("weak-ext.cnf"),
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=timeStamping\nsubjectKeyIdentifier=hash\n",
    )?;
    let run = |args: &[&str]| openssl(dir, args);
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "tsa-ca.pem",
        "-days",
        "3650",
        "-subj",
        &subject("reelguard test CA"),
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ])?;
    new_request(dir, "tsa.key", "tsa.csr", "reelguard test TSA")?;
    // The weak certificate shares the good one's key and serial number, so
    // a token re-issued with it differs only in the certificate.
    for (out, ext) in [
        ("tsa.pem", "tsa-ext.cnf"),
        ("tsa-weak-eku.pem", "weak-ext.cnf"),
    ] {
        sign(
            dir,
            out,
            "tsa.csr",
            ("tsa-ca.pem", "ca.key"),
            "4097",
            (ext, None),
        )?;
    }
    run(&[
        "ca",
        "-batch",
        "-config",
        "tsa.cnf",
        "-name",
        "test_ca",
        "-cert",
        "tsa-ca.pem",
        "-keyfile",
        "ca.key",
        "-in",
        "tsa.csr",
        "-out",
        "tsa-expired.pem",
        "-startdate",
        "20200101000000Z",
        "-enddate",
        "20210101000000Z",
        "-extensions",
        "tsa_ext",
        "-notext",
    ])?;
    generate_intermediates(dir)
}

/// The local test subject named `cn`.
fn subject(cn: &str) -> String {
    format!("/O=reelguard local test/CN={cn}")
}

/// A new RSA key in `key` and a certificate request for it in `request`.
fn new_request(dir: &Path, key: &str, request: &str, cn: &str) -> anyhow::Result<()> {
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            key,
            "-out",
            request,
            "-subj",
            &subject(cn),
        ],
    )
}

/// Issues `out` from `request`, signed by `issuer` (certificate, key), with
/// the extensions of `extensions` (file, and section if not the default).
fn sign(
    dir: &Path,
    out: &str,
    request: &str,
    issuer: (&str, &str),
    serial: &str,
    extensions: (&str, Option<&str>),
) -> anyhow::Result<()> {
    let mut args = vec![
        "x509",
        "-req",
        "-in",
        request,
        "-CA",
        issuer.0,
        "-CAkey",
        issuer.1,
        "-set_serial",
        serial,
        "-days",
        "3650",
        "-sha256",
        "-extfile",
        extensions.0,
        "-out",
        out,
    ];
    if let Some(section) = extensions.1 {
        args.extend(["-extensions", section]);
    }
    openssl(dir, &args)
}

/// The intermediates (one key, one name, four kinds) and the TSA certificate
/// they issue, and the chain file of each token path.
fn generate_intermediates(dir: &Path) -> anyhow::Result<()> {
    std::fs::write(dir.join("int-ext.cnf"), INTERMEDIATE_EXTENSIONS)?;
    let run = |args: &[&str]| openssl(dir, args);
    new_request(dir, "int.key", "int.csr", "reelguard test intermediate")?;
    run(&[
        "req",
        "-new",
        "-key",
        "int.key",
        "-out",
        "int0.csr",
        "-subj",
        &subject("reelguard test intermediate 0"),
    ])?;
    // (certificate, request, issuer, issuer key, extensions, serial)
    let issued = [
        (
            "int-ca.pem",
            "int.csr",
            "tsa-ca.pem",
            "ca.key",
            "ca",
            "5001",
        ),
        (
            "int-not-ca.pem",
            "int.csr",
            "tsa-ca.pem",
            "ca.key",
            "not_ca",
            "5002",
        ),
        (
            "int-without-keycertsign.pem",
            "int.csr",
            "tsa-ca.pem",
            "ca.key",
            "without_keycertsign",
            "5003",
        ),
        (
            "int-path-len-0.pem",
            "int0.csr",
            "tsa-ca.pem",
            "ca.key",
            "path_len_0",
            "5004",
        ),
        (
            "int-below-path-len-0.pem",
            "int.csr",
            "int-path-len-0.pem",
            "int.key",
            "ca",
            "5005",
        ),
        (
            "tsa-via-intermediate.pem",
            "tsa.csr",
            "int-ca.pem",
            "int.key",
            "tsa",
            "5006",
        ),
    ];
    for (out, request, issuer, key, extensions, serial) in issued {
        let extensions = ("int-ext.cnf", Some(extensions));
        sign(dir, out, request, (issuer, key), serial, extensions)?;
    }
    for (chain, intermediates) in INTERMEDIATE_CHAINS {
        let mut pem = Vec::new();
        for file in intermediates.iter().chain(&["tsa-ca.pem"]) {
            pem.extend(std::fs::read(dir.join(file))?);
        }
        std::fs::write(dir.join(chain), pem)?;
    }
    Ok(())
}

const INTERMEDIATE_EXTENSIONS: &str = "\
[ ca ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign

[ not_ca ]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature

[ without_keycertsign ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,digitalSignature,cRLSign

[ path_len_0 ]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign

[ tsa ]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,timeStamping
";

const OPENSSL_CONFIG: &str = "\
[ tsa ]
default_tsa = tsa_config

[ tsa_config ]
dir = .
serial = ./tsaserial
crypto_device = builtin
signer_digest = sha256
default_policy = 1.3.6.1.4.1.4146.2.3
other_policies = 1.3.6.1.4.1.4146.2.2
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256

[ test_ca ]
dir = ./ca
database = ./ca/index.txt
new_certs_dir = ./ca/newcerts
serial = ./ca/serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none

[ policy_any ]
commonName = supplied

[ tsa_ext ]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,timeStamping
";

/// A running local TSA.
pub struct LocalTsa {
    pub addr: SocketAddr,
    pub files: TsaFiles,
    task: tokio::task::JoinHandle<()>,
}

impl LocalTsa {
    /// Starts a TSA on `listener` (call inside a tokio runtime).
    pub fn start(listener: tokio::net::TcpListener, files: TsaFiles) -> anyhow::Result<LocalTsa> {
        let addr = listener.local_addr()?;
        if !addr.ip().is_loopback() {
            bail!("the local TSA only listens on a loopback address, not {addr}");
        }
        let task = tokio::spawn(serve(listener, files.clone()));
        Ok(LocalTsa { addr, files, task })
    }

    /// The URL that answers properly.
    pub fn url(&self) -> String {
        format!("http://{}/tsr", self.addr)
    }

    /// The URL that answers properly with a TSA certificate issued by an
    /// intermediate CA.
    pub fn url_via_intermediate(&self) -> String {
        format!("http://{}/tsr/via-intermediate", self.addr)
    }

    /// The URL that answers with fault `kind`.
    pub fn fault_url(&self, kind: &str) -> String {
        format!("http://{}/fault/{kind}", self.addr)
    }
}

impl Drop for LocalTsa {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves until the listener's task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, files: TsaFiles) {
    let state = Arc::new(ServerState { files });
    let app = Router::new()
        .route("/tsr", post(good))
        .route("/tsr/via-intermediate", post(via_intermediate))
        .route("/fault/{kind}", post(fault))
        .with_state(state);
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!("local TSA stopped: {e}");
    }
}

struct ServerState {
    files: TsaFiles,
}

async fn good(State(state): State<Arc<ServerState>>, body: Bytes) -> Response {
    answer(&state, body.to_vec(), &state.files.tsa_cert.clone()).await
}

async fn via_intermediate(State(state): State<Arc<ServerState>>, body: Bytes) -> Response {
    let signer = state.files.tsa_via_intermediate.clone();
    let path = Chain::Through(INTERMEDIATE_CHAINS[0].0);
    answer_with(&state, body.to_vec(), &signer, path).await
}

async fn fault(
    State(state): State<Arc<ServerState>>,
    UrlPath(kind): UrlPath<String>,
    body: Bytes,
) -> Response {
    let files = &state.files;
    match kind.as_str() {
        "http-500" => (StatusCode::INTERNAL_SERVER_ERROR, "TSA overloaded").into_response(),
        "garbage" => {
            reply_bytes(b"<html><body>Service temporarily unavailable</body></html>".to_vec())
        }
        "huge" => reply_bytes(vec![0x30; 2 * 1024 * 1024]),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            answer(&state, body.to_vec(), &files.tsa_cert.clone()).await
        }
        "wrong-nonce" => match mutate_request(&body, |r| {
            r.nonce = Some(Int::new(&[0x13, 0x37]).expect("int"))
        }) {
            Ok(request) => answer(&state, request, &files.tsa_cert.clone()).await,
            Err(e) => bad_request(e),
        },
        "wrong-imprint" => match mutate_request(&body, |r| {
            r.message_imprint.hashed_message = OctetString::new(vec![0x42; 32]).expect("octets")
        }) {
            Ok(request) => answer(&state, request, &files.tsa_cert.clone()).await,
            Err(e) => bad_request(e),
        },
        "expired-cert" => answer(&state, body.to_vec(), &files.expired_cert.clone()).await,
        "bad-signature" => {
            match signed_reply(&state, body.to_vec(), &files.tsa_cert, Chain::Direct).await {
                // The signature is the last field of the last structure: flip its last byte.
                Ok(mut response) => {
                    if let Some(last) = response.last_mut() {
                        *last ^= 0x01;
                    }
                    reply_bytes(response)
                }
                Err(e) => server_error(e),
            }
        }
        "non-ca-issuer" | "issuer-without-keycertsign" | "path-length-exceeded" => {
            let chain = INTERMEDIATE_CHAINS
                .iter()
                .find(|(file, _)| file.strip_prefix("chain-") == Some(&format!("{kind}.pem")))
                .map(|(file, _)| *file)
                .expect("every such fault has its chain file");
            let signer = files.tsa_via_intermediate.clone();
            answer_with(&state, body.to_vec(), &signer, Chain::Through(chain)).await
        }
        "wrong-eku" => {
            let result =
                match signed_reply(&state, body.to_vec(), &files.tsa_cert, Chain::Direct).await {
                    Ok(response) => replace_certificates(&response, &files.weak_eku_cert),
                    Err(e) => Err(e),
                };
            match result {
                Ok(response) => reply_bytes(response),
                Err(e) => server_error(e),
            }
        }
        _ => (StatusCode::NOT_FOUND, format!("no fault named {kind:?}")).into_response(),
    }
}

async fn answer(state: &ServerState, request: Vec<u8>, signer: &Path) -> Response {
    answer_with(state, request, signer, Chain::Direct).await
}

async fn answer_with(
    state: &ServerState,
    request: Vec<u8>,
    signer: &Path,
    chain: Chain,
) -> Response {
    match signed_reply(state, request, signer, chain).await {
        Ok(response) => reply_bytes(response),
        Err(e) => server_error(e),
    }
}

async fn signed_reply(
    state: &ServerState,
    request: Vec<u8>,
    signer: &Path,
    chain: Chain,
) -> anyhow::Result<Vec<u8>> {
    // `openssl ts -reply` updates the serial file: one at a time, across all
    // TSAs of this process.
    static OPENSSL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _one_at_a_time = OPENSSL.lock().await;
    let files = state.files.clone();
    let signer = signer.to_path_buf();
    tokio::task::spawn_blocking(move || files.reply(&request, &signer, chain)).await?
}

fn mutate_request(body: &[u8], change: impl FnOnce(&mut TimeStampReq)) -> anyhow::Result<Vec<u8>> {
    let mut request = TimeStampReq::from_der(body).context("not a TimeStampReq")?;
    change(&mut request);
    Ok(request.to_der()?)
}

/// Re-encodes a response with the token's certificates replaced by the one in `pem_path`.
fn replace_certificates(response_der: &[u8], pem_path: &Path) -> anyhow::Result<Vec<u8>> {
    let mut response = TimeStampResp::from_der(response_der)?;
    let token = response.time_stamp_token.as_mut().context("no token")?;
    let mut parts: Vec<Any> = token.content.decode_as()?;
    let pem = std::fs::read(pem_path)?;
    let replacement = crate::timestamp::token::parse_pem_certificates(&pem)?;
    let certificate_bytes = replacement[0].to_der()?;
    for part in &mut parts {
        if let Tag::ContextSpecific { number, .. } = part.tag() {
            if number == TagNumber::N0 {
                *part = Any::new(
                    Tag::ContextSpecific {
                        constructed: true,
                        number: TagNumber::N0,
                    },
                    certificate_bytes.clone(),
                )?;
            }
        }
    }
    token.content = Any::from_der(&parts.to_der()?)?;
    Ok(response.to_der()?)
}

fn reply_bytes(bytes: Vec<u8>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/timestamp-reply")],
        bytes,
    )
        .into_response()
}

fn bad_request(error: anyhow::Error) -> Response {
    (StatusCode::BAD_REQUEST, format!("{error:#}")).into_response()
}

fn server_error(error: anyhow::Error) -> Response {
    tracing::error!("local TSA: {error:#}");
    (StatusCode::INTERNAL_SERVER_ERROR, format!("{error:#}")).into_response()
}
