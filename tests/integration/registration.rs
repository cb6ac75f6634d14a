//! Registering works through the dashboard's API against `reelguard serve`
//! (which fingerprints uploads with its own register worker): a video
//! uploaded becomes a ready work with a timestamped chain; the same video
//! again fails with the reason; a stage's file is added and timestamped; the
//! certificate and the provenance package download, and the package passes
//! `reelguard verify`; the public `/c/<chain head>` page checks the tokens.

use crate::common;

use std::time::{Duration, Instant};

use common::served::served;
use common::{shared_media, Backend};
use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::Value;

fn block<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

fn video_form(title: Option<&str>, file: &std::path::Path) -> Form {
    let mut form = Form::new();
    if let Some(title) = title {
        form = form.text("title", title.to_string());
    }
    form.text("rights", "All rights reserved").part(
        "file",
        Part::bytes(std::fs::read(file).unwrap())
            .file_name(file.file_name().unwrap().to_string_lossy().into_owned()),
    )
}

/// Follows an upload until it is finished (ready or failed).
async fn finished_upload(http: &reqwest::Client, base: &str, token: &str, id: &str) -> Value {
    let started = Instant::now();
    loop {
        let upload: Value = http
            .get(format!("{base}/api/v1/uploads/{id}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if matches!(upload["state"].as_str(), Some("ready" | "failed")) {
            return upload;
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "upload {id} is not finished after 3 minutes: {upload}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

on_both_backends!(an_uploaded_video_becomes_a_work_with_its_provenance);

fn an_uploaded_video_becomes_a_work_with_its_provenance(backend: Backend) {
    let Some(s) = served(backend) else {
        return;
    };
    let Some(video) = shared_media("carphone_pristine.mp4") else {
        return;
    };
    let http = reqwest::Client::new();
    let uploads_dir = s.data.join("blobs").join("uploads");
    block(async {
        // No title: refused, and nothing is kept.
        let refused = http
            .post(format!("{}/api/v1/works", s.base))
            .bearer_auth(&s.admin)
            .multipart(video_form(None, &video))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        let error: Value = refused.json().await.unwrap();
        assert!(
            error["error"].as_str().unwrap().contains("title"),
            "{error}"
        );
        let kept = std::fs::read_dir(&uploads_dir)
            .map(|d| d.count())
            .unwrap_or(0);
        assert_eq!(
            kept,
            0,
            "a refused upload left files in {}",
            uploads_dir.display()
        );

        // A viewer may not register (refused before the body is read, so
        // a small one: a large one would meet a closed connection).
        let forbidden = http
            .post(format!("{}/api/v1/works", s.base))
            .bearer_auth(&s.viewer)
            .multipart(Form::new().text("title", "nope"))
            .send()
            .await
            .unwrap();
        assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);

        // The upload is taken at once and fingerprinted by a job.
        let taken = http
            .post(format!("{}/api/v1/works", s.base))
            .bearer_auth(&s.admin)
            .multipart(video_form(Some("Car phone 车载电话"), &video))
            .send()
            .await
            .unwrap();
        assert_eq!(taken.status(), StatusCode::ACCEPTED);
        let location = taken.headers()["location"].to_str().unwrap().to_string();
        let upload: Value = taken.json().await.unwrap();
        let id = upload["upload_id"].as_str().unwrap().to_string();
        assert_eq!(location, format!("/api/v1/uploads/{id}"));
        assert_eq!(upload["uploaded_by"], "Ada Admin", "{upload}");
        assert_eq!(upload["file_name"], "carphone_pristine.mp4");
        let done = finished_upload(&http, &s.base, &s.viewer, &id).await;
        assert_eq!(done["state"], "ready", "{done}");
        assert_eq!(done["progress"], 1.0, "{done}");
        let work_id = done["work_id"].as_str().unwrap().to_string();

        // The work: fingerprinted, its video chained as the final cut and
        // timestamped by the TSA, like `reelguard register` does.
        let work: Value = http
            .get(format!("{}/api/v1/works/{work_id}", s.base))
            .bearer_auth(&s.viewer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(work["title"], "Car phone 车载电话", "{work}");
        assert_eq!(work["rights_statement"], "All rights reserved");
        assert!(work["frames"].as_i64().unwrap() > 0, "{work}");
        assert_eq!(work["artifacts"][0]["stage"], "final-cut", "{work}");
        assert!(
            work["artifacts"][0]["timestamp"]["time"].is_string(),
            "{work}"
        );
        assert!(
            work["chain_head"]["timestamp"]["time"].is_string(),
            "{work}"
        );
        let listed = s.json(&["works", "list", "--json"]);
        assert_eq!(listed["works"].as_array().unwrap().len(), 2, "{listed}");

        // The same video again: the upload fails and says why.
        let again: Value = http
            .post(format!("{}/api/v1/works", s.base))
            .bearer_auth(&s.admin)
            .multipart(video_form(Some("Car phone again"), &video))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let again = finished_upload(
            &http,
            &s.base,
            &s.viewer,
            again["upload_id"].as_str().unwrap(),
        )
        .await;
        assert_eq!(again["state"], "failed", "{again}");
        assert!(
            again["error"]
                .as_str()
                .unwrap()
                .contains("already registered"),
            "{again}"
        );

        // A stage's file is added, chained and timestamped; the final cut
        // is not a stage one adds, nor is a stage that does not exist.
        let script = s.dir.join("script.txt");
        std::fs::write(&script, "INT. CAR - DAY\nA phone rings.\n").unwrap();
        let stage_form = |stage: &str| {
            Form::new().text("stage", stage.to_string()).part(
                "file",
                Part::bytes(std::fs::read(&script).unwrap()).file_name("../../script.txt"),
            )
        };
        for bad in ["final-cut", "trailer"] {
            let answer = http
                .post(format!("{}/api/v1/works/{work_id}/artifacts", s.base))
                .bearer_auth(&s.admin)
                .multipart(stage_form(bad))
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "stage {bad}");
        }
        let added = http
            .post(format!("{}/api/v1/works/{work_id}/artifacts", s.base))
            .bearer_auth(&s.admin)
            .multipart(stage_form("script"))
            .send()
            .await
            .unwrap();
        assert_eq!(added.status(), StatusCode::CREATED);
        let added: Value = added.json().await.unwrap();
        let stages = added["artifacts"].as_array().unwrap();
        assert_eq!(stages.len(), 2, "{added}");
        assert_eq!(stages[1]["stage"], "script");
        assert_eq!(
            stages[1]["file_name"], "script.txt",
            "the sent path is not kept"
        );
        assert!(stages[1]["timestamp"]["time"].is_string(), "{added}");
        let head = added["chain_head"]["hash"].as_str().unwrap().to_string();
        let first_head = work["chain_head"]["hash"].as_str().unwrap().to_string();
        assert_ne!(head, first_head);

        // The certificate and the package download; the package verifies.
        let certificate = http
            .get(format!("{}/api/v1/works/{work_id}/certificate", s.base))
            .bearer_auth(&s.viewer)
            .send()
            .await
            .unwrap();
        assert_eq!(certificate.status(), StatusCode::OK);
        assert!(certificate.bytes().await.unwrap().starts_with(b"%PDF"));
        s.download_and_verify(
            &http,
            &format!("/api/v1/works/{work_id}/package"),
            &s.reviewer,
            "work.zip",
        )
        .await;

        // The public chain page, without signing in: the current head and
        // an earlier one name the work; every token checks.
        for (hash, earlier) in [(&head, false), (&first_head, true)] {
            let page = http
                .get(format!("{}/c/{hash}", s.base))
                .header("accept-language", "en")
                .send()
                .await
                .unwrap();
            assert_eq!(page.status(), StatusCode::OK);
            let html = page.text().await.unwrap();
            assert!(html.contains("Car phone 车载电话"), "{html}");
            assert!(html.contains("Every timestamp token checks"), "{html}");
            assert_eq!(html.contains("id=\"chain-earlier\""), earlier, "{html}");
        }
        let unknown = http
            .get(format!("{}/c/{}", s.base, "0".repeat(64)))
            .send()
            .await
            .unwrap();
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    });
}

/// `works list --json`: (works by title, registrations not done yet).
fn listed(data: &std::path::Path) -> (Vec<String>, Vec<Value>) {
    let list = common::run_json(data, &["works", "list"]);
    let mut titles: Vec<String> = list["works"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["title"].as_str().unwrap().to_string())
        .collect();
    titles.sort();
    (titles, list["registrations"].as_array().unwrap().clone())
}

on_both_backends!(a_queued_folder_is_registered_by_the_daemon_once);

/// `register --queue` and `works import` copy videos into the blob store
/// and queue them; nothing is fingerprinted until a daemon's workers take
/// them; the same bytes are never queued or registered twice.
fn a_queued_folder_is_registered_by_the_daemon_once(backend: Backend) {
    let scratch = common::scratch_dir();
    let data = scratch.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let Some(_db) = common::database_for(backend, "import", &data) else {
        return;
    };
    let media = |name: &str| shared_media(name);
    let (Some(bikes), Some(bunny), Some(carphone), Some(balle)) = (
        media("bikes.mp4"),
        media("bigbuckbunny.mp4"),
        media("carphone_pristine.mp4"),
        media("balle-jbart.mp4"),
    ) else {
        return;
    };
    let data_arg = common::path_str(&data);

    // One video queued on its own; queued again, it is refused by name.
    let queued = common::run_json(
        &data,
        &[
            "register",
            common::path_str(&balle),
            "--title",
            "Balle",
            "--queue",
        ],
    );
    assert_eq!(queued["queued"]["state"], "queued", "{queued}");
    let again = common::run(&[
        "--data-dir",
        data_arg,
        "register",
        common::path_str(&balle),
        "--title",
        "Balle again",
        "--queue",
    ]);
    assert_ne!(again.0, 0);
    assert!(
        again.2.contains("already queued as registration"),
        "{}",
        again.2
    );
    let with_stage = common::run(&[
        "--data-dir",
        data_arg,
        "register",
        common::path_str(&bikes),
        "--title",
        "Bikes",
        "--queue",
        "--artifact",
        &format!("script={}", common::path_str(&balle)),
    ]);
    assert_ne!(with_stage.0, 0);
    assert!(
        with_stage.2.contains("works add-artifact"),
        "{}",
        with_stage.2
    );

    // A folder: three videos (one in a subfolder), one of them again under
    // another name (found after it: files are taken in path order), and a
    // file that is not a video.
    let folder = scratch.path().join("catalogue");
    std::fs::create_dir_all(folder.join("2025")).unwrap();
    std::fs::create_dir_all(folder.join("old")).unwrap();
    std::fs::copy(&bikes, folder.join("bikes.mp4")).unwrap();
    std::fs::copy(&bunny, folder.join("2025/Big Buck Bunny.mp4")).unwrap();
    std::fs::copy(&carphone, folder.join("carphone.mp4")).unwrap();
    std::fs::copy(&bikes, folder.join("old/bikes copy.MP4")).unwrap();
    std::fs::write(folder.join("notes.txt"), "shot in June").unwrap();
    let imported = common::run_json(&data, &["works", "import", common::path_str(&folder)]);
    assert_eq!(
        imported["queued"].as_array().unwrap().len(),
        3,
        "{imported}"
    );
    assert_eq!(
        imported["failed"].as_array().unwrap().len(),
        0,
        "{imported}"
    );
    let skipped = imported["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{imported}");
    assert!(
        skipped[0]["file"]
            .as_str()
            .unwrap()
            .ends_with("old/bikes copy.MP4")
            && skipped[0]["reason"]
                .as_str()
                .unwrap()
                .contains("already queued"),
        "{imported}"
    );
    let (works, registrations) = listed(&data);
    assert!(works.is_empty(), "nothing is fingerprinted yet: {works:?}");
    assert_eq!(registrations.len(), 4);
    assert!(registrations.iter().all(|r| r["state"] == "queued"));

    // A daemon registers them all.
    let config = scratch.path().join("reelguard.toml");
    std::fs::write(&config, "[daemon]\nworkers = 2\n").unwrap();
    let mut daemon = common::start_daemon(&data, &config, &scratch.path().join("daemon.log"));
    let started = Instant::now();
    loop {
        let (works, registrations) = listed(&data);
        if registrations.is_empty() {
            assert_eq!(works, ["Balle", "Big Buck Bunny", "bikes", "carphone"]);
            break;
        }
        assert!(
            registrations.iter().all(|r| r["state"] != "failed"),
            "{registrations:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "not registered after 4 minutes: {registrations:?}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    common::sigterm_and_wait(&mut daemon, Duration::from_secs(30));

    // Each work's file is the copy in the blob store, and an import run
    // again skips everything as registered.
    let list = common::run_json(&data, &["works", "list"]);
    for work in list["works"].as_array().unwrap() {
        let source = work["source_path"].as_str().unwrap();
        assert!(
            std::path::Path::new(source)
                .starts_with(std::fs::canonicalize(data.join("blobs/uploads")).unwrap()),
            "{work}"
        );
    }
    let again = common::run_json(&data, &["works", "import", common::path_str(&folder)]);
    assert_eq!(again["queued"].as_array().unwrap().len(), 0, "{again}");
    let skipped = again["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 4, "{again}");
    assert!(
        skipped
            .iter()
            .all(|s| s["reason"].as_str().unwrap().contains("already registered")),
        "{again}"
    );
}
