//! `reelguard doctor` against the local stand-ins: the local TSA answers and
//! its token verifies, the SMTP sink accepts the login (and receives no
//! mail); a wrong password and a TSA that is not there are FAIL lines with
//! what to do, and exit code 1.

use crate::common;

use serde_json::Value;

use common::{path_str, run_with_env, scratch_dir, TsaServer};
use reelguard::testkit::smtp_sink::{stored_messages, SinkTls, SmtpSink};

/// The status of the check named `name` (the first when several start so).
fn status<'a>(report: &'a Value, name: &str) -> &'a str {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"].as_str().is_some_and(|n| n.starts_with(name)))
        .unwrap_or_else(|| panic!("no check {name} in {report:#}"))["status"]
        .as_str()
        .expect("a status")
}

#[test]
fn doctor_checks_the_tsa_and_smtp_login_and_fails_on_a_wrong_password() {
    let scratch = scratch_dir();
    let tsa = TsaServer::start("127.0.0.1:0");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let sink_dir = scratch.path().join("sink");
    let sink = runtime
        .block_on(SmtpSink::start(
            "127.0.0.1:0".parse().unwrap(),
            &sink_dir,
            Some(("alerts".into(), "s3cret".into())),
            SinkTls::None,
        ))
        .expect("start the SMTP sink");
    // A port nothing listens on: bound, then released.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_url = format!("http://{}/tsa", closed.local_addr().unwrap());
    drop(closed);

    let config = |urls: &[&str]| {
        let urls: Vec<String> = urls.iter().map(|u| format!("{u:?}")).collect();
        format!(
            "[timestamp]\nurls = [{}]\ntrust_anchors = [{:?}]\ntimeout_s = 5.0\nretries = 0\nallow_loopback = true\n\n\
             [smtp]\nhost = \"127.0.0.1\"\nport = {}\nallow_loopback = true\nsecurity = \"none\"\nusername = \"alerts\"\n\
             password_env = \"DOCTOR_TEST_SMTP_PASSWORD\"\nfrom = \"alerts@example.com\"\ntimeout_s = 5.0\n",
            urls.join(", "),
            path_str(&tsa.ca_cert),
            sink.addr.port()
        )
    };
    let good = scratch.path().join("good.toml");
    std::fs::write(&good, config(&[&tsa.url])).unwrap();
    let data = scratch.path().join("data");
    let doctor = |config: &std::path::Path, password: &str| {
        let args = [
            "--data-dir",
            path_str(&data),
            "--config",
            path_str(config),
            "doctor",
            "--json",
        ];
        let (code, stdout, stderr) =
            run_with_env(&args, &[("DOCTOR_TEST_SMTP_PASSWORD", password)]);
        let report: Value = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("doctor --json printed no JSON ({e})\n{stdout}\n{stderr}"));
        (code, report, stderr)
    };

    let (code, report, stderr) = doctor(&good, "s3cret");
    for name in ["config", "ffmpeg", "tsa http://127.0.0.1", "clock", "smtp"] {
        assert_eq!(status(&report, name), "ok", "{name}: {report:#}\n{stderr}");
    }
    // No database yet: the first command makes it; doctor creates nothing.
    assert_eq!(status(&report, "database"), "ok", "{report:#}");
    assert!(
        !data.join("reelguard.db").exists(),
        "doctor created the database"
    );
    let failures = report["failures"].as_u64().unwrap();
    assert_eq!(code, if failures == 0 { 0 } else { 1 }, "{report:#}");
    assert_eq!(failures, 0, "{report:#}\n{stderr}");
    assert!(stored_messages(&sink_dir).is_empty(), "doctor sent mail");

    let bad = scratch.path().join("bad.toml");
    std::fs::write(&bad, config(&[&closed_url, &tsa.url])).unwrap();
    let (code, report, stderr) = doctor(&bad, "wrong");
    assert_eq!(code, 1, "{report:#}\n{stderr}");
    assert_eq!(status(&report, "smtp"), "fail", "{report:#}");
    assert_eq!(
        status(&report, &format!("tsa {closed_url}")),
        "fail",
        "{report:#}"
    );
    assert_eq!(
        status(&report, &format!("tsa {}", tsa.url)),
        "ok",
        "{report:#}"
    );
    let checks = report["checks"].as_array().unwrap();
    assert!(
        checks
            .iter()
            .filter(|c| c["status"] == "fail")
            .all(|c| c["fix"].as_str().is_some_and(|f| !f.is_empty())),
        "every FAIL says what to do: {report:#}"
    );
    assert!(stderr.contains("check(s) failed"), "{stderr}");
}
