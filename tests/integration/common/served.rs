//! A dashboard to test: a data dir where a real scan of the mock platform
//! found two copies of bikes.mp4 (captured), a token of each role, and
//! `reelguard serve` on a free port of 127.0.0.1.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

use super::platform::{start_platform, write_catalog, Upload};
use super::{
    path_str, run, scratch_dir, shared_media, timestamp_config, transform, Backend, TsaServer,
};

/// The mock platform: v1 (mirrored, cropped) and v2 (from 2 s in, scaled,
/// re-encoded) copies of bikes.mp4, and v3, the very file of v1 uploaded
/// again by another channel (one upload, one match: a second location).
fn platform(backend: Backend) -> Option<&'static String> {
    static MEDIA: OnceLock<PathBuf> = OnceLock::new();
    static BASES: [OnceLock<String>; 2] = [OnceLock::new(), OnceLock::new()];
    let bikes = shared_media("bikes.mp4")?;
    let media = MEDIA.get_or_init(|| {
        let dir = super::process_dir("dashboard-platform");
        transform(
            &bikes,
            &["-vf", "hflip,crop=iw*0.9:ih*0.9,scale=480:-2"],
            &dir.join("v1.mp4"),
        );
        transform(
            &bikes,
            &["-ss", "2", "-vf", "scale=320:-2", "-crf", "32"],
            &dir.join("v2.mp4"),
        );
        std::fs::copy(dir.join("v1.mp4"), dir.join("v3.mp4")).expect("copy v1 to v3");
        write_catalog(
            &dir,
            &[
                Upload {
                    id: "v1",
                    title: "bikes (reupload)",
                    uploader: "copycat-1",
                    channel: "UC-A",
                },
                Upload {
                    id: "v2",
                    title: "bikes small",
                    uploader: "copycat-2",
                    channel: "UC-A",
                },
                Upload {
                    id: "v3",
                    title: "bikes (again)",
                    uploader: "copycat-3",
                    channel: "UC-A",
                },
            ],
        );
        dir
    });
    let base = match backend {
        Backend::Sqlite => &BASES[0],
        Backend::Postgres => &BASES[1],
    };
    Some(base.get_or_init(|| start_platform(media)))
}

/// A scanned data dir, tokens of each role and a running `reelguard serve`.
pub struct Served {
    _db: Option<reelguard::testkit::postgres::TestDatabase>,
    _scratch: tempfile::TempDir,
    _tsa: TsaServer,
    server: Child,
    pub dir: PathBuf,
    pub data: PathBuf,
    pub config: PathBuf,
    pub ca: PathBuf,
    pub base: String,
    pub viewer: String,
    pub reviewer: String,
    pub admin: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

impl Served {
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        let mut full = vec![
            "--data-dir",
            path_str(&self.data),
            "--config",
            path_str(&self.config),
        ];
        full.extend_from_slice(args);
        run(&full)
    }

    /// Downloads the export at `path` (a bundle or a provenance package)
    /// with `token`, keeps it as `name` in the test's directory and checks
    /// it with `reelguard verify --ca` (the local TSA's CA).
    pub async fn download_and_verify(
        &self,
        http: &reqwest::Client,
        path: &str,
        token: &str,
        name: &str,
    ) {
        let answer = http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), reqwest::StatusCode::OK, "GET {path}");
        let zip = self.dir.join(name);
        std::fs::write(&zip, answer.bytes().await.unwrap()).unwrap();
        let (code, stdout, stderr) = run(&["verify", path_str(&zip), "--ca", path_str(&self.ca)]);
        assert_eq!(code, 0, "{path} does not verify:\n{stdout}\n{stderr}");
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let (code, stdout, stderr) = self.run(args);
        assert_eq!(
            code,
            0,
            "reelguard {} failed\n{stdout}\n{stderr}",
            args.join(" ")
        );
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("invalid JSON ({e}): {stdout}"))
    }

    fn token(&self, name: &str, role: &str) -> String {
        let created = self.json(&["tokens", "create", name, "--role", role, "--json"]);
        assert_eq!(created["role"], role, "{created}");
        created["token"].as_str().unwrap().to_string()
    }
}

/// Registers bikes.mp4, scans the platform (two matches, captured) and
/// serves the dashboard on a free port. None when the media or the
/// PostgreSQL runs are not there.
pub fn served(backend: Backend) -> Option<Served> {
    let base = platform(backend)?;
    let scratch = scratch_dir();
    let dir = scratch.path().to_path_buf();
    let data = dir.join("data");
    let db = super::database_for(backend, "dashboard", &data)?;
    let tsa = TsaServer::start("127.0.0.1:0");
    let config = timestamp_config(&dir, std::slice::from_ref(&tsa.url), &tsa.ca_cert);
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "\n[[sources]]\nname = \"feed\"\nkind = \"feed\"\nurl = \"{base}/feeds/rss.xml?channel=UC-A\"\nallow_loopback = true\n"
    ));
    std::fs::write(&config, text).unwrap();
    let bikes = shared_media("bikes.mp4").expect("checked by platform()");
    let (code, stdout, stderr) = run(&[
        "--data-dir",
        path_str(&data),
        "--config",
        path_str(&config),
        "register",
        path_str(&bikes),
        "--title",
        "Dawn ride 清晨骑行",
    ]);
    assert_eq!(code, 0, "register failed: {stdout}{stderr}");
    let (code, stdout, stderr) = run(&[
        "--data-dir",
        path_str(&data),
        "--config",
        path_str(&config),
        "scan",
        "--json",
    ]);
    assert_eq!(code, 0, "scan failed: {stdout}{stderr}");
    let scan: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(scan["scans"][0]["new_matches"], 2, "{scan}");

    let mut command = Command::new(env!("CARGO_BIN_EXE_reelguard"));
    command
        .args([
            "--data-dir",
            path_str(&data),
            "--config",
            path_str(&config),
            "serve",
            "--listen",
            "127.0.0.1:0",
        ])
        .env_remove("REELGUARD_DATA_DIR")
        .env_remove("REELGUARD_CONFIG")
        .env_remove("REELGUARD_DATABASE_URL")
        .envs(super::database_url_of(&data).map(|url| ("REELGUARD_DATABASE_URL", url)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut server = command.spawn().expect("start reelguard serve");
    let mut first = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut first)
        .expect("read the first line of reelguard serve");
    let address = first
        .split("listening on ")
        .nth(1)
        .and_then(|rest| rest.strip_suffix(")\n"))
        .unwrap_or_else(|| panic!("no address in {first:?}"));
    let mut s = Served {
        _db: db,
        _scratch: scratch,
        ca: tsa.ca_cert.clone(),
        _tsa: tsa,
        server,
        dir,
        data,
        config,
        base: format!("http://{address}"),
        viewer: String::new(),
        reviewer: String::new(),
        admin: String::new(),
    };
    s.viewer = s.token("Vera Viewer", "viewer");
    s.reviewer = s.token("Rui Reviewer 审核员", "reviewer");
    s.admin = s.token("Ada Admin", "admin");
    Some(s)
}
