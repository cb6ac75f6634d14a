//! The RFC 3161 client against a local OpenSSL TSA: good tokens are accepted
//! and pass `openssl ts -verify`; every kind of bad answer is refused.

use crate::common;

use std::process::Command;

use reelguard::testkit::tsa::{LocalTsa, TsaFiles};
use reelguard::timestamp::{StampError, Stamper, TimestampConfig};
use sha2::{Digest, Sha256};

async fn start_tsa() -> LocalTsa {
    let files = TsaFiles::create(&common::test_media_root().join("tsa")).expect("create TSA files");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    LocalTsa::start(listener, files).unwrap()
}

fn stamper(tsa: &LocalTsa, urls: Vec<String>, timeout_s: f64) -> Stamper {
    Stamper::new(&TimestampConfig {
        urls,
        trust_anchors: vec![tsa.files.ca_cert.clone()],
        timeout_s,
        retries: 0,
        allow_loopback: true,
        ..TimestampConfig::default()
    })
    .unwrap()
}

/// TSA requests leave through the SSRF guard: a TSA on this machine needs
/// `allow_loopback`, and is otherwise refused, in any spelling, before
/// anything connects; a redirect is never followed.
#[tokio::test]
async fn tsa_requests_are_guarded_like_the_crawl() {
    let tsa = start_tsa().await;
    let digest: [u8; 32] = Sha256::digest(b"storyboard").into();
    // A service nothing may reach: any connection to it fails the test.
    let internal = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    internal.set_nonblocking(true).unwrap();
    let internal_port = internal.local_addr().unwrap().port();
    let stamp = |urls: Vec<String>, allow_loopback: bool| {
        let stamper = Stamper::new(&TimestampConfig {
            urls,
            trust_anchors: vec![tsa.files.ca_cert.clone()],
            timeout_s: 3.0,
            retries: 0,
            allow_loopback,
            ..TimestampConfig::default()
        })
        .unwrap();
        async move { stamper.stamp(&digest).await }
    };
    let refusal = |result: Result<reelguard::timestamp::Stamp, StampError>| match result {
        Err(StampError::AllFailed(failures)) => failures[0].1.clone(),
        other => panic!("expected a refusal, got {other:?}"),
    };

    // Loopback without allow_loopback, in every spelling: refused, naming
    // the setting.
    for url in [
        format!("http://127.0.0.1:{internal_port}/tsr"),
        format!("http://localhost:{internal_port}/tsr"),
        format!("http://[::1]:{internal_port}/tsr"),
        format!("http://[::ffff:127.0.0.1]:{internal_port}/tsr"),
        format!("http://0.0.0.0:{internal_port}/tsr"),
        format!("http://2130706433:{internal_port}/tsr"),
        format!("http://0x7f.1:{internal_port}/tsr"),
    ] {
        let error = refusal(stamp(vec![url.clone()], false).await);
        assert!(error.contains("private, loopback"), "{url}: {error}");
    }
    let error = refusal(stamp(vec![tsa.url()], false).await);
    assert!(error.contains("allow_loopback = true"), "{error}");

    // A TSA that redirects (here to the internal service): not followed.
    let redirecting = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let redirect_url = format!("http://{}/tsr", redirecting.local_addr().unwrap());
    let redirector = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut stream, _) = redirecting.accept().unwrap();
        let mut request = [0u8; 4096];
        let _ = stream.read(&mut request);
        write!(
            stream,
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:{internal_port}/tsr\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
    });
    let error = refusal(stamp(vec![redirect_url], true).await);
    redirector.join().unwrap();
    assert!(
        error.contains("307") && error.contains("not followed"),
        "{error}"
    );

    // Allowed, the local TSA answers.
    assert!(stamp(vec![tsa.url()], true).await.is_ok());
    assert!(
        matches!(internal.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "nothing connected to the internal service"
    );
}

#[tokio::test]
async fn good_token_is_accepted_and_passes_openssl_verify() {
    let tsa = start_tsa().await;
    let data = b"concept notes, version 3";
    let digest: [u8; 32] = Sha256::digest(data).into();
    let stamp = stamper(&tsa, vec![tsa.url()], 10.0)
        .stamp(&digest)
        .await
        .expect("a token from the local TSA");
    assert!(stamp.verified.tsa_name.contains("reelguard test TSA"));
    assert_eq!(stamp.verified.chain.len(), 2, "TSA certificate and the CA");
    let age = chrono::Utc::now() - stamp.verified.gen_time;
    assert!(
        age.num_seconds().abs() < 60,
        "genTime {}",
        stamp.verified.gen_time
    );

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data"), data).unwrap();
    std::fs::write(dir.path().join("token.tsr"), &stamp.token).unwrap();
    let output = Command::new("openssl")
        .args([
            "ts",
            "-verify",
            "-token_in",
            "-in",
            "token.tsr",
            "-data",
            "data",
            "-CAfile",
        ])
        .arg(&tsa.files.ca_cert)
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("Verification: OK"),
        "openssl ts -verify: {stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );

    // The same token checked again offline, and against other data.
    let again = reelguard::timestamp::token::verify_token(
        &stamp.token,
        &digest,
        None,
        stamper(&tsa, vec![], 1.0).anchors(),
    )
    .unwrap();
    assert_eq!(again.serial, stamp.verified.serial);
    let other: [u8; 32] = Sha256::digest(b"something else").into();
    assert!(reelguard::timestamp::token::verify_token(
        &stamp.token,
        &other,
        None,
        stamper(&tsa, vec![], 1.0).anchors()
    )
    .is_err());
}

#[tokio::test]
async fn bad_answers_are_refused_with_the_reason() {
    let tsa = start_tsa().await;
    let digest: [u8; 32] = Sha256::digest(b"storyboard.pdf").into();
    let cases = [
        ("wrong-nonce", "nonce"),
        ("wrong-imprint", "message imprint"),
        ("bad-signature", "signature does not verify"),
        ("expired-cert", "not valid at the stamped time"),
        ("wrong-eku", "extendedKeyUsage extension is not critical"),
        // Certificate paths: an issuer that is no CA, a CA that may not sign
        // certificates, a CA below one whose path length is 0.
        (
            "non-ca-issuer",
            "not a CA (no basicConstraints CA:TRUE) issued another",
        ),
        (
            "issuer-without-keycertsign",
            "does not allow signing certificates (keyCertSign)",
        ),
        (
            "path-length-exceeded",
            "more CAs below it than its pathLenConstraint allows",
        ),
        ("garbage", "not a DER-encoded TimeStampResp"),
        ("huge", "larger than 1048576 bytes"),
        ("http-500", "HTTP 500"),
        ("slow", "no answer within the timeout"),
    ];
    for (fault, expected) in cases {
        let result = stamper(&tsa, vec![tsa.fault_url(fault)], 2.0)
            .stamp(&digest)
            .await;
        let error = match result {
            Err(StampError::AllFailed(failures)) => failures[0].1.clone(),
            other => panic!("{fault}: expected a refusal, got {other:?}"),
        };
        assert!(error.contains(expected), "{fault}: {error}");
    }
}

#[tokio::test]
async fn a_path_through_an_intermediate_ca_is_accepted() {
    let tsa = start_tsa().await;
    let digest: [u8; 32] = Sha256::digest(b"edit decision list").into();
    let stamp = stamper(&tsa, vec![tsa.url_via_intermediate()], 10.0)
        .stamp(&digest)
        .await
        .expect("a token whose TSA certificate an intermediate CA issued");
    let names: Vec<String> = stamp
        .verified
        .chain
        .iter()
        .map(|der| {
            use der::Decode as _;
            x509_cert::Certificate::from_der(der)
                .unwrap()
                .tbs_certificate
                .subject
                .to_string()
        })
        .collect();
    assert_eq!(names.len(), 3, "TSA, intermediate, CA: {names:?}");
    assert!(names[0].contains("reelguard test TSA"), "{names:?}");
    assert!(
        names[1].contains("reelguard test intermediate"),
        "{names:?}"
    );
    assert!(names[2].contains("reelguard test CA"), "{names:?}");
}

#[tokio::test]
async fn a_bad_tsa_is_skipped_for_the_next_one() {
    let tsa = start_tsa().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down = format!("http://{}/tsr", closed.local_addr().unwrap());
    drop(closed);
    let digest: [u8; 32] = Sha256::digest(b"raw footage").into();
    let urls = vec![down.clone(), tsa.fault_url("wrong-eku"), tsa.url()];
    let stamp = stamper(&tsa, urls, 5.0).stamp(&digest).await.unwrap();
    assert_eq!(stamp.tsa_url, tsa.url());

    let all_down = stamper(&tsa, vec![down], 2.0).stamp(&digest).await;
    match all_down {
        Err(StampError::AllFailed(failures)) => {
            assert!(failures[0].1.contains("cannot connect"), "{failures:?}")
        }
        other => panic!("expected all failed, got {other:?}"),
    }
}

/// `system_roots = true` trusts the roots of the system's bundle (here
/// `SSL_CERT_FILE` naming the local TSA's CA, as a root file), and nothing
/// else: with the real system bundle the local TSA's tokens are refused, as
/// is a TSA certificate whose timeStamping usage is not critical.
#[test]
fn system_roots_anchor_tokens_and_the_eku_is_still_required() {
    let tsa = common::TsaServer::start("127.0.0.1:0");
    let dir = common::scratch_dir();
    let wrong_eku = format!("{}/fault/wrong-eku", tsa.base);
    let register = |url: &str, roots: &std::path::Path, name: &str| {
        let config = dir.path().join(format!("{name}.toml"));
        std::fs::write(
            &config,
            format!(
                "[timestamp]\nurls = [{url:?}]\nsystem_roots = true\ntimeout_s = 3.0\nretries = 0\nallow_loopback = true\n"
            ),
        )
        .unwrap();
        let data = dir.path().join(name);
        let (code, stdout, stderr) = common::run_with_env(
            &[
                "--data-dir",
                common::path_str(&data),
                "--config",
                common::path_str(&config),
                "register",
                common::path_str(&common::repo_root().join("fixtures/bikes.mp4")),
                "--title",
                "Dawn ride",
                "--json",
            ],
            &[("SSL_CERT_FILE", common::path_str(roots))],
        );
        assert_eq!(code, 0, "{stdout}{stderr}");
        let work: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        (
            work["artifacts"][0]["timestamp"]["time"].is_string(),
            stderr,
        )
    };

    let (stamped, stderr) = register(&tsa.url, &tsa.ca_cert, "anchored");
    assert!(stamped, "the local CA as a system root: {stderr}");

    let (stamped, stderr) = register(&wrong_eku, &tsa.ca_cert, "wrong-eku");
    assert!(!stamped, "{stderr}");
    assert!(stderr.contains("extendedKeyUsage"), "{stderr}");

    let system = std::path::Path::new(reelguard::timestamp::SYSTEM_ROOT_FILES[0]);
    if system.is_file() {
        let (stamped, stderr) = register(&tsa.url, system, "other-roots");
        assert!(!stamped, "a CA outside the system roots is not trusted");
        assert!(
            stderr.contains("does not chain to a trust anchor"),
            "{stderr}"
        );
    }
}
