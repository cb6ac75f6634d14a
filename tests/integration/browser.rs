//! The dashboard in a real browser: Debian's Chromium driven through
//! chromedriver (WebDriver), against `reelguard serve` with data from a
//! real scan of the mock platform. Signs in, reviews from the keyboard and
//! in bulk (checking the stored statuses), plays the copy beside the work
//! in step, downloads the evidence bundle and verifies it, checks what a
//! viewer sees and that a forged post is refused, switches to Chinese, and
//! registers a video by upload as an admin (the upload's page follows the
//! fingerprinting until the work is ready; the work's chain page checks).
//! Screenshots of every page go to `target/browser-screenshots/`.

use crate::common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::served::{served, Served};
use common::{path_str, repo_root, run, shared_media, Backend};
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// chromedriver on a free port of 127.0.0.1, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

fn start_driver() -> Driver {
    let program = find_program(&["chromedriver"]).expect(
        "chromedriver is not installed: run scripts/setup.sh (Debian packages chromium and chromium-driver)",
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(program)
        .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "chromedriver did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Driver { child, url }
}

fn screenshots_dir() -> PathBuf {
    let dir = repo_root().join("target/browser-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn browser(driver: &Driver, downloads: &Path) -> Client {
    let chromium = find_program(&["chromium", "chromium-browser", "google-chrome"])
        .expect("chromium is not installed: run scripts/setup.sh");
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": path_str(&chromium),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1000",
                     "--autoplay-policy=no-user-gesture-required", "--lang=en-US",
                     "--disable-dev-shm-usage"],
            "prefs": {
                "download.default_directory": path_str(downloads),
                "download.prompt_for_download": false,
                "intl.accept_languages": "en-US,en",
            },
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a Chromium session through chromedriver")
}

async fn shoot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    std::fs::write(screenshots_dir().join(format!("{name}.png")), png).unwrap();
}

async fn press(client: &Client, key: char) {
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: key })
        .then(KeyAction::Up { value: key });
    client.perform_actions(keys).await.unwrap();
}

async fn js(client: &Client, script: &str) -> Value {
    client.execute(script, vec![]).await.unwrap()
}

/// Waits until `script` returns true (up to 20 s).
async fn until(client: &Client, what: &str, script: &str) {
    let started = Instant::now();
    loop {
        if js(client, script).await == Value::Bool(true) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn wait_for_url(client: &Client, what: &str, part: &str) -> String {
    let started = Instant::now();
    loop {
        let url = client.current_url().await.unwrap().to_string();
        if url.contains(part) {
            return url;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}: at {url}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn status(s: &Served, id: &str) -> String {
    s.json(&["matches", "show", id, "--json"])["status"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn sign_in(client: &Client, s: &Served, token: &str) {
    client.goto(&format!("{}/inbox", s.base)).await.unwrap();
    wait_for_url(client, "the sign-in page", "/signin").await;
    client
        .find(Locator::Css("#token"))
        .await
        .unwrap()
        .send_keys(token)
        .await
        .unwrap();
    client
        .find(Locator::Css("#signin"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_url(client, "the inbox after signing in", "/inbox").await;
}

/// The ids of the inbox's rows, top to bottom.
async fn rows(client: &Client) -> Vec<String> {
    let ids = js(
        client,
        "return Array.from(document.querySelectorAll('#inbox tr.match')).map(r => r.dataset.id);",
    )
    .await;
    ids.as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_reviewer_and_a_viewer_use_the_dashboard_in_chromium() {
    let Some(s) = served(Backend::Sqlite) else {
        return;
    };
    let driver = start_driver();
    let downloads = s.dir.join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let list = s.json(&["matches", "list", "--json"]);
    let trimmed = list["matches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["candidate_url"].as_str().unwrap().contains("v2"))
        .expect("the match of v2")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let client = browser(&driver, &downloads).await;
        client.goto(&format!("{}/signin", s.base)).await.unwrap();
        shoot(&client, "signin").await;
        sign_in(&client, &s, &s.reviewer).await;

        // The inbox: both pending matches, each with its frame pair.
        let pending = rows(&client).await;
        assert_eq!(pending.len(), 2, "{pending:?}");
        until(&client, "the thumbnails", "return Array.from(document.querySelectorAll('#inbox img.thumb')).length === 2 && Array.from(document.querySelectorAll('#inbox img.thumb')).every(i => i.complete && i.naturalWidth > 0);").await;
        shoot(&client, "inbox").await;

        // Bulk: select both with x and j, dismiss them with the button.
        press(&client, 'x').await;
        press(&client, 'j').await;
        press(&client, 'x').await;
        client.find(Locator::Css("button.bulk-dismissed")).await.unwrap().click().await.unwrap();
        wait_for_url(&client, "the bulk dismissal", "done=2").await;
        for id in &pending {
            assert_eq!(status(&s, id), "dismissed", "bulk dismiss of {id}");
        }

        // Keyboard: in the list of all, c confirms the row at the cursor, d dismisses it.
        client.goto(&format!("{}/inbox?status=all", s.base)).await.unwrap();
        let all = rows(&client).await;
        press(&client, 'c').await;
        wait_for_url(&client, "the keyboard confirmation", "done=1").await;
        assert_eq!(status(&s, &all[0]), "confirmed");
        client.goto(&format!("{}/inbox?status=all", s.base)).await.unwrap();
        press(&client, 'd').await;
        wait_for_url(&client, "the keyboard dismissal", "done=1").await;
        assert_eq!(status(&s, &all[0]), "dismissed");

        // The match page of the copy that starts 2 s into the work: Enter opens it.
        client.goto(&format!("{}/inbox?status=all", s.base)).await.unwrap();
        let at = all.iter().position(|id| *id == trimmed).unwrap();
        for _ in 0..at {
            press(&client, 'j').await;
        }
        press(&client, '\u{E007}').await;
        wait_for_url(&client, "the match page", &format!("/matches/{trimmed}")).await;
        client.find(Locator::Css("#action-confirmed")).await.unwrap().click().await.unwrap();
        wait_for_url(&client, "the match page after confirming", &format!("/matches/{trimmed}")).await;
        assert_eq!(status(&s, &trimmed), "confirmed");
        until(&client, "both videos' metadata", "const c = document.getElementById('copy-video'), w = document.getElementById('work-video'); return !!c && !!w && c.readyState >= 1 && w.readyState >= 1;").await;
        let offset: f64 = js(&client, "return parseFloat(document.getElementById('players').dataset.offset);").await.as_f64().unwrap();
        assert!((offset + 2.0).abs() < 0.5, "the copy starts 2 s into the work, offset {offset}");
        // Seeking the copy seeks the work.
        js(&client, "document.getElementById('copy-video').currentTime = 4.0; return true;").await;
        until(&client, "the work to follow the seek", &format!("const c = document.getElementById('copy-video'), w = document.getElementById('work-video'); return Math.abs((w.currentTime - c.currentTime) - ({}) ) <= 0.5;", -offset)).await;
        // Seeking the work seeks the copy.
        js(&client, "document.getElementById('work-video').currentTime = 7.0; return true;").await;
        until(&client, "the copy to follow the seek", &format!("const c = document.getElementById('copy-video'), w = document.getElementById('work-video'); return Math.abs((w.currentTime - c.currentTime) - ({}) ) <= 0.5 && Math.abs(w.currentTime - 7.0) < 0.3;", -offset)).await;
        // Both play, in step.
        js(&client, "document.getElementById('copy-video').play(); return true;").await;
        until(&client, "both videos to play", "const c = document.getElementById('copy-video'), w = document.getElementById('work-video'); return !c.paused && !w.paused && c.currentTime > 0.5;").await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let gap = js(&client, "const c = document.getElementById('copy-video'), w = document.getElementById('work-video'); c.pause(); return w.currentTime - c.currentTime;").await.as_f64().unwrap();
        assert!((gap + offset).abs() <= 0.5, "while playing the work is {gap} s ahead of the copy; the offset is {offset}");
        shoot(&client, "match").await;

        // The history names the reviewer; the bundle downloads and verifies.
        let history = client.find(Locator::Css("#history")).await.unwrap().text().await.unwrap();
        assert!(history.contains("Rui Reviewer"), "{history}");
        client.find(Locator::Css("#bundle")).await.unwrap().click().await.unwrap();
        let zip = downloads.join(format!("reelguard-match-{trimmed}.zip"));
        let started = Instant::now();
        while !zip.is_file() {
            assert!(started.elapsed() < Duration::from_secs(60), "the bundle did not download to {}", downloads.display());
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (code, stdout, stderr) = run(&["verify", path_str(&zip), "--ca", path_str(&s.ca)]);
        assert_eq!(code, 0, "the downloaded bundle does not verify:\n{stdout}\n{stderr}");

        // The takedown preview shows the confirmed match's notices, signed.
        client.find(Locator::Css("#takedown")).await.unwrap().click().await.unwrap();
        let notice = client.wait().for_element(Locator::Css("#notice-1")).await.unwrap().text().await.unwrap();
        assert!(notice.contains("NOTICE OF CLAIMED INFRINGEMENT") && !notice.contains("DRAFT"), "{notice}");
        assert!(client.find_all(Locator::Css("#draft")).await.unwrap().is_empty(), "a confirmed match's notices are marked draft");
        shoot(&client, "takedown").await;

        // The public page checks it too, and finds a changed byte.
        client.goto(&format!("{}/verify", s.base)).await.unwrap();
        client.find(Locator::Css("#verify-file")).await.unwrap().send_keys(path_str(&zip)).await.unwrap();
        client.find(Locator::Css("#verify-submit")).await.unwrap().click().await.unwrap();
        let verdict = client.wait().for_element(Locator::Css("#verdict")).await.unwrap();
        assert!(verdict.attr("class").await.unwrap().as_deref() == Some("pass"), "{}", verdict.text().await.unwrap());
        shoot(&client, "verify").await;
        let tampered = s.dir.join("tampered.zip");
        let mut bytes = std::fs::read(&zip).unwrap();
        let at = bytes.windows(7).position(|w| w == b"Segment" || w == b"segment").unwrap_or(bytes.len() / 3);
        bytes[at] ^= 0x20;
        std::fs::write(&tampered, bytes).unwrap();
        client.goto(&format!("{}/verify", s.base)).await.unwrap();
        client.find(Locator::Css("#verify-file")).await.unwrap().send_keys(path_str(&tampered)).await.unwrap();
        client.find(Locator::Css("#verify-submit")).await.unwrap().click().await.unwrap();
        let outcome = client.wait().for_element(Locator::Css("#verdict, #verify-error")).await.unwrap();
        let id = outcome.attr("id").await.unwrap().unwrap_or_default();
        let class = outcome.attr("class").await.unwrap().unwrap_or_default();
        assert!(id == "verify-error" || class == "fail", "a changed byte was not caught: {}", outcome.text().await.unwrap());
        shoot(&client, "verify-tampered").await;
        client.goto(&format!("{}/matches/{trimmed}", s.base)).await.unwrap();

        // A post without the session's CSRF token is refused.
        let forged = client.execute_async(
            "const done = arguments[arguments.length - 1]; fetch(arguments[0], {method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'action=dismissed'}).then(r => done(r.status));",
            vec![json!(format!("/matches/{trimmed}/review"))],
        ).await.unwrap();
        assert_eq!(forged, json!(403));
        assert_eq!(status(&s, &trimmed), "confirmed");

        for page in ["works", "sources", "alerts"] {
            client.goto(&format!("{}/{page}", s.base)).await.unwrap();
            client.find(Locator::Css("#listing")).await.unwrap();
            shoot(&client, page).await;
        }

        // Chinese labels after the switch.
        client.goto(&format!("{}/inbox", s.base)).await.unwrap();
        client.find(Locator::Css("#lang-switch")).await.unwrap().click().await.unwrap();
        wait_for_url(&client, "the inbox in Chinese", "/inbox").await;
        let label = client.find(Locator::Css("#nav-inbox")).await.unwrap().text().await.unwrap();
        assert_eq!(label, "待审核");
        shoot(&client, "inbox-zh").await;
        client.find(Locator::Css("#lang-switch")).await.unwrap().click().await.unwrap();

        // An admin registers a video by upload; its page follows the
        // fingerprinting until the work is ready.
        client.find(Locator::Css("#signout")).await.unwrap().click().await.unwrap();
        wait_for_url(&client, "the sign-in page after signing out", "/signin").await;
        sign_in(&client, &s, &s.admin).await;
        client.goto(&format!("{}/works", s.base)).await.unwrap();
        let video = shared_media("carphone_pristine.mp4").expect("the shared footage is there");
        client.find(Locator::Css("#register-title")).await.unwrap().send_keys("Car phone").await.unwrap();
        client.find(Locator::Css("#register-file")).await.unwrap().send_keys(path_str(&video)).await.unwrap();
        client.find(Locator::Css("#register-submit")).await.unwrap().click().await.unwrap();
        wait_for_url(&client, "the upload's page", "/uploads/").await;
        shoot(&client, "upload").await;
        let started = Instant::now();
        loop {
            if client.find(Locator::Css("#upload-work")).await.is_ok() {
                break;
            }
            if let Ok(error) = client.find(Locator::Css("#upload-error")).await {
                panic!("the upload failed: {}", error.text().await.unwrap());
            }
            assert!(started.elapsed() < Duration::from_secs(180), "the upload is not ready after 3 minutes");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        assert_eq!(client.find(Locator::Css("#upload-state")).await.unwrap().text().await.unwrap(), "ready");
        client.find(Locator::Css("#upload-work")).await.unwrap().click().await.unwrap();
        wait_for_url(&client, "the work's page", "/works/").await;
        let stages = client.find(Locator::Css("#stages")).await.unwrap().text().await.unwrap();
        assert!(stages.contains("final-cut"), "{stages}");
        shoot(&client, "work").await;
        let head = client.find(Locator::Css("#chain-head")).await.unwrap().text().await.unwrap();
        client.goto(&format!("{}/c/{head}", s.base)).await.unwrap();
        let verdict = client.find(Locator::Css("#chain-verdict")).await.unwrap();
        assert_eq!(verdict.attr("class").await.unwrap().as_deref(), Some("pass"), "{}", verdict.text().await.unwrap());
        shoot(&client, "chain").await;
        let works = s.json(&["works", "list", "--json"]);
        assert!(works["works"].as_array().unwrap().iter().any(|w| w["title"] == "Car phone"), "{works}");

        // A viewer sees no action buttons, and its posts are refused.
        client.find(Locator::Css("#signout")).await.unwrap().click().await.unwrap();
        wait_for_url(&client, "the sign-in page after signing out", "/signin").await;
        sign_in(&client, &s, &s.viewer).await;
        client.goto(&format!("{}/matches/{trimmed}", s.base)).await.unwrap();
        client.find(Locator::Css("#read-only")).await.unwrap();
        let buttons = client.find_all(Locator::Css("#review button, #bundle")).await.unwrap();
        assert!(buttons.is_empty(), "a viewer sees review actions");
        shoot(&client, "match-viewer").await;
        let csrf = js(&client, "return document.querySelector('input[name=csrf]').value;").await;
        let forged = client.execute_async(
            "const done = arguments[arguments.length - 1]; fetch(arguments[0], {method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'action=dismissed&csrf=' + arguments[1]}).then(r => done(r.status));",
            vec![json!(format!("/matches/{trimmed}/review")), csrf],
        ).await.unwrap();
        assert_eq!(forged, json!(403), "a viewer's post with its CSRF token is still refused");
        assert_eq!(status(&s, &trimmed), "confirmed");
        client.close().await.unwrap();
    });
}
