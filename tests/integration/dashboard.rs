//! The dashboard and the HTTP API against `reelguard serve`, with data
//! made by a real scan of the mock platform: every route of the route
//! table under every role (the table here must list each route the server
//! has, and no other), sessions and CSRF, a review through the API recorded
//! with the token's name, the exported bundle passing `reelguard verify`,
//! the OpenAPI document naming every API route, and the metrics.

use crate::common;

use common::served::served;
use common::{path_str, Backend};
use reelguard::http::{route_table, Access};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Who may call each route. A route added to the server and not here, or
/// listed here and gone from the server, fails the test.
const EXPECTED: &[(&str, &str, &str)] = &[
    ("GET", "/healthz", "public"),
    ("GET", "/readyz", "public"),
    ("GET", "/metrics", "public"),
    ("GET", "/static/{file}", "public"),
    ("GET", "/lang/{lang}", "public"),
    ("GET", "/signin", "public"),
    ("POST", "/signin", "public"),
    ("POST", "/signout", "viewer"),
    ("GET", "/verify", "public"),
    ("POST", "/verify", "public"),
    ("GET", "/", "viewer"),
    ("GET", "/inbox", "viewer"),
    ("POST", "/inbox/review", "reviewer"),
    ("GET", "/matches/{id}", "viewer"),
    ("POST", "/matches/{id}/review", "reviewer"),
    ("GET", "/matches/{id}/files/{*path}", "viewer"),
    (
        "GET",
        "/matches/{id}/locations/{candidate}/files/{*path}",
        "viewer",
    ),
    ("GET", "/matches/{id}/bundle.zip", "reviewer"),
    ("GET", "/matches/{id}/takedown", "reviewer"),
    ("GET", "/works", "viewer"),
    ("POST", "/works", "admin"),
    ("GET", "/uploads/{id}", "viewer"),
    ("GET", "/works/{id}", "viewer"),
    ("POST", "/works/{id}/artifacts", "admin"),
    ("GET", "/works/{id}/certificate.pdf", "viewer"),
    ("GET", "/works/{id}/certificate.html", "viewer"),
    ("GET", "/works/{id}/package.zip", "reviewer"),
    ("GET", "/c/{hash}", "public"),
    ("GET", "/works/{id}/video", "viewer"),
    ("GET", "/sources", "viewer"),
    ("POST", "/sources", "admin"),
    ("GET", "/sources/{name}/edit", "admin"),
    ("POST", "/sources/{name}/edit", "admin"),
    ("POST", "/sources/{name}/remove", "admin"),
    ("POST", "/sources/{name}/scan", "admin"),
    ("GET", "/alerts", "viewer"),
    ("POST", "/alerts/{id}/retry", "reviewer"),
    ("POST", "/alerts/retry", "admin"),
    ("GET", "/api/openapi.json", "public"),
    ("POST", "/api/v1/verify", "public"),
    ("GET", "/api/v1/matches", "viewer"),
    ("GET", "/api/v1/matches/{id}", "viewer"),
    ("POST", "/api/v1/matches/{id}/review", "reviewer"),
    ("GET", "/api/v1/matches/{id}/bundle", "reviewer"),
    ("GET", "/api/v1/matches/{id}/takedown", "reviewer"),
    ("GET", "/api/v1/works", "viewer"),
    ("POST", "/api/v1/works", "admin"),
    ("GET", "/api/v1/works/{id}", "viewer"),
    ("POST", "/api/v1/works/{id}/artifacts", "admin"),
    ("GET", "/api/v1/works/{id}/package", "reviewer"),
    ("GET", "/api/v1/works/{id}/certificate", "viewer"),
    ("GET", "/api/v1/uploads", "viewer"),
    ("GET", "/api/v1/uploads/{id}", "viewer"),
    ("GET", "/api/v1/sources", "viewer"),
    ("POST", "/api/v1/sources", "admin"),
    ("PUT", "/api/v1/sources/{name}", "admin"),
    ("DELETE", "/api/v1/sources/{name}", "admin"),
    ("POST", "/api/v1/sources/{name}/scan", "admin"),
    ("GET", "/api/v1/sources/{name}/scans", "viewer"),
    ("GET", "/api/v1/alerts", "viewer"),
    ("POST", "/api/v1/alerts/{id}/retry", "reviewer"),
    ("POST", "/api/v1/alerts/retry", "admin"),
    ("GET", "/api/v1/tokens", "admin"),
    ("POST", "/api/v1/tokens", "admin"),
    ("DELETE", "/api/v1/tokens/{id}", "admin"),
];

fn access_name(access: Access) -> String {
    match access {
        Access::Public => "public".into(),
        Access::Signed(role) => role.to_string(),
    }
}

#[test]
fn the_route_table_is_the_one_this_test_expects() {
    let served: Vec<(String, String, String)> = route_table()
        .iter()
        .map(|r| {
            (
                r.method.to_string(),
                r.path.to_string(),
                access_name(r.access),
            )
        })
        .collect();
    let expected: Vec<(String, String, String)> = EXPECTED
        .iter()
        .map(|(m, p, a)| (m.to_string(), p.to_string(), a.to_string()))
        .collect();
    for route in &served {
        assert!(
            expected.contains(route),
            "route {route:?} has no entry in EXPECTED"
        );
    }
    for route in &expected {
        assert!(
            served.contains(route),
            "EXPECTED lists {route:?}, which the server does not have"
        );
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn block<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// A request of the matrix: the route's path with real ids, and a body
/// that reaches the handler without changing anything that matters (the
/// source named is the config file's, which the dashboard does not change).
fn concrete(path: &str, match_id: &str, work_id: &str) -> String {
    path.replace("{name}", "feed")
        .replace("{id}/video", &format!("{work_id}/video"))
        .replace("/works/{id}", &format!("/works/{work_id}"))
        .replace("/tokens/{id}", "/tokens/no-such-token")
        .replace("{id}", match_id)
        .replace("{file}", "app.css")
        .replace("{lang}", "zh")
        .replace("{candidate}", "no-such-location")
        .replace("{*path}", "frames/pair-1.png")
}

on_both_backends!(every_route_answers_each_role_as_the_table_says);

fn every_route_answers_each_role_as_the_table_says(backend: Backend) {
    let Some(s) = served(backend) else {
        return;
    };
    let matches = s.json(&["matches", "list", "--json"]);
    let match_id = matches["matches"][0]["id"].as_str().unwrap().to_string();
    let work_id = s.json(&["works", "list", "--json"])["works"][0]["work_id"]
        .as_str()
        .unwrap()
        .to_string();
    let http = client();
    let roles = [
        ("viewer", &s.viewer),
        ("reviewer", &s.reviewer),
        ("admin", &s.admin),
    ];
    block(async {
        for route in route_table() {
            let url = format!("{}{}", s.base, concrete(route.path, &match_id, &work_id));
            let request = |token: Option<&str>| {
                let mut r = http.request(
                    Method::from_bytes(route.method.as_str().as_bytes()).unwrap(),
                    &url,
                );
                if let Some(token) = token {
                    r = r.bearer_auth(token);
                }
                if route.method == Method::POST {
                    r = r.header("content-type", "application/json").body("{}");
                }
                r
            };
            let anonymous = request(None).send().await.unwrap().status();
            let needed = match route.access {
                Access::Public => {
                    assert!(
                        !anonymous.is_server_error()
                            && anonymous != StatusCode::FORBIDDEN
                            && anonymous != StatusCode::UNAUTHORIZED,
                        "{} {} without a token: {anonymous}",
                        route.method,
                        route.path
                    );
                    continue;
                }
                Access::Signed(role) => role,
            };
            let expected_anonymous = if route.is_api() || route.method != Method::GET {
                StatusCode::UNAUTHORIZED
            } else {
                StatusCode::SEE_OTHER
            };
            assert_eq!(
                anonymous, expected_anonymous,
                "{} {} without a token",
                route.method, route.path
            );
            for (name, token) in roles {
                let role: reelguard::domain::AccessRole = name.parse().unwrap();
                let status = request(Some(token)).send().await.unwrap().status();
                if role.includes(needed) {
                    assert!(
                        status != StatusCode::UNAUTHORIZED
                            && status != StatusCode::FORBIDDEN
                            && !status.is_server_error(),
                        "{} {} as {name}: {status}",
                        route.method,
                        route.path
                    );
                } else {
                    assert_eq!(
                        status,
                        StatusCode::FORBIDDEN,
                        "{} {} as {name}",
                        route.method,
                        route.path
                    );
                }
            }
        }
        // No stored text holds a NUL: page addresses and forms with one
        // are refused with 400, never a database error.
        for path in [
            "/inbox?work=%00".to_string(),
            "/inbox?status=all&source=a%00b".to_string(),
            "/matches/%00".to_string(),
            format!("/works/{work_id}%00"),
            "/uploads/%00".to_string(),
        ] {
            let status = http
                .get(format!("{}{path}", s.base))
                .bearer_auth(&s.admin)
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(status, StatusCode::BAD_REQUEST, "GET {path}");
        }
        let status = http
            .post(format!("{}/matches/{match_id}/review", s.base))
            .bearer_auth(&s.reviewer)
            .form(&[("action", "confirmed"), ("note", "a\0b")])
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::BAD_REQUEST, "a review note with a NUL");

        // A wrong or revoked token is no token.
        let status = http
            .get(format!("{}/api/v1/matches", s.base))
            .bearer_auth("rg_wrong")
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    });
    let (code, _, stderr) = s.run(&["tokens", "revoke", "Vera Viewer", "--yes"]);
    assert_eq!(code, 0, "{stderr}");
    block(async {
        let status = http
            .get(format!("{}/api/v1/matches", s.base))
            .bearer_auth(&s.viewer)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "a revoked token still works"
        );
    });
}

on_both_backends!(sessions_need_their_csrf_token_and_reviews_name_their_reviewer);

fn sessions_need_their_csrf_token_and_reviews_name_their_reviewer(backend: Backend) {
    let Some(s) = served(backend) else {
        return;
    };
    let http = client();
    let list = s.json(&["matches", "list", "--json"]);
    let first = list["matches"][0]["id"].as_str().unwrap().to_string();
    let second = list["matches"][1]["id"].as_str().unwrap().to_string();
    block(async {
        // A bad token does not sign in; a good one gets an HttpOnly, SameSite=Strict cookie.
        let refused = http
            .post(format!("{}/signin", s.base))
            .form(&[("token", "rg_wrong"), ("next", "/inbox")])
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        let signed = http
            .post(format!("{}/signin", s.base))
            .form(&[
                ("token", s.reviewer.as_str()),
                ("next", "https://elsewhere.example/"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(signed.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            signed.headers()["location"],
            "/inbox",
            "a sign-in never sends the browser elsewhere"
        );
        let cookie = signed.headers()["set-cookie"].to_str().unwrap().to_string();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
            "{cookie}"
        );
        let session = cookie.split(';').next().unwrap().to_string();

        // The inbox lists both pending matches, with the CSP that forbids inline script.
        let inbox = http
            .get(format!("{}/inbox", s.base))
            .header("cookie", &session)
            .send()
            .await
            .unwrap();
        assert_eq!(inbox.status(), StatusCode::OK);
        let csp = inbox.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        let html = inbox.text().await.unwrap();
        assert!(html.contains(&first) && html.contains(&second), "{html}");
        assert!(!html.contains("<script>"), "inline script in the inbox");
        let csrf = html
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string();

        // A forged post (the cookie, no CSRF token) is refused and changes nothing.
        let forged = http
            .post(format!("{}/inbox/review", s.base))
            .header("cookie", &session)
            .form(&[("id", first.as_str()), ("action", "dismissed")])
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            s.json(&["matches", "show", &first, "--json"])["status"],
            "pending"
        );

        // With it, the bulk review changes both and names the reviewer.
        let done = http
            .post(format!("{}/inbox/review", s.base))
            .header("cookie", &session)
            .form(&[
                ("csrf", csrf.as_str()),
                ("id", first.as_str()),
                ("id", second.as_str()),
                ("action", "dismissed"),
                ("note", "not ours"),
                ("back", "/inbox"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(done.status(), StatusCode::SEE_OTHER);
        assert_eq!(done.headers()["location"], "/inbox?done=2&failed=0");

        // The API: back to confirmed, by bearer token; the history says who.
        let answer: Value = http
            .post(format!("{}/api/v1/matches/{first}/review", s.base))
            .bearer_auth(&s.admin)
            .json(&serde_json::json!({"status": "confirmed", "note": "it is ours after all"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(answer["from"], "dismissed", "{answer}");
        assert_eq!(answer["status"], "confirmed", "{answer}");
        let refused = http
            .post(format!("{}/api/v1/matches/{first}/review", s.base))
            .bearer_auth(&s.reviewer)
            .json(&serde_json::json!({"status": "resolved"}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            refused.status(),
            StatusCode::CONFLICT,
            "the review flow is the store's"
        );
        let shown: Value = http
            .get(format!("{}/api/v1/matches/{first}", s.base))
            .bearer_auth(&s.viewer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let by: Vec<&str> = shown["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["by"].as_str().unwrap())
            .collect();
        assert_eq!(by, ["Rui Reviewer 审核员", "Ada Admin"], "{shown}");
        let cli = s.json(&["matches", "show", &first, "--json"]);
        assert_eq!(
            cli["history"], shown["history"],
            "the CLI and the API show one shape"
        );

        // One upload, one match: v1 and v3 are the same file, found at two URLs.
        let mut located = 0;
        for id in [&first, &second] {
            let shown: Value = http
                .get(format!("{}/api/v1/matches/{id}", s.base))
                .bearer_auth(&s.viewer)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let url = shown["candidate_url"].as_str().unwrap();
            let locations = shown["locations"].as_array().unwrap();
            if url.ends_with("v1") || url.ends_with("v3") {
                assert_eq!(locations.len(), 1, "{shown}");
                let other = locations[0]["url"].as_str().unwrap();
                assert!(
                    other.ends_with(if url.ends_with("v1") { "v3" } else { "v1" }),
                    "{shown}"
                );
                assert_eq!(
                    locations[0]["uploader"].as_str().unwrap(),
                    if url.ends_with("v1") {
                        "copycat-3"
                    } else {
                        "copycat-1"
                    }
                );
                // The second URL has its own capture: page, screenshot,
                // manifest and token, shown and served on the match page.
                let capture = &locations[0]["capture"];
                assert_eq!(capture["state"], "done", "{shown}");
                assert!(capture["tsa_time"].is_string(), "{shown}");
                assert_ne!(
                    capture["manifest_sha256"], shown["capture"]["manifest_sha256"],
                    "{shown}"
                );
                let paths: Vec<&str> = capture["files"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| f["path"].as_str().unwrap())
                    .collect();
                for expected in [
                    "capture/fetch.json",
                    "capture/page.html",
                    "capture/screenshot.png",
                    "capture/media.sha256",
                    "capture/manifest.json",
                ] {
                    assert!(paths.contains(&expected), "no {expected} in {paths:?}");
                }
                let candidate = locations[0]["candidate_id"].as_str().unwrap();
                let files = format!("/matches/{id}/locations/{candidate}/files");
                let page = http
                    .get(format!("{}/matches/{id}", s.base))
                    .header("cookie", &session)
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                assert!(
                    page.contains(&format!("{files}/capture/screenshot.png"))
                        && page.contains(&format!("{files}/capture/manifest.json")),
                    "{page}"
                );
                let manifest: Value = http
                    .get(format!("{}{files}/capture/manifest.json", s.base))
                    .bearer_auth(&s.viewer)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                assert_eq!(manifest["upload_url"], other, "{manifest}");
                assert_eq!(manifest["match_id"], id.as_str(), "{manifest}");
                let cli = s.json(&["matches", "show", id.as_str(), "--json"]);
                assert_eq!(cli["locations"], shown["locations"], "one shape");
                located += 1;
            } else {
                assert!(locations.is_empty(), "{shown}");
            }
        }
        assert_eq!(
            located, 1,
            "the copy found twice is one match with two locations"
        );

        // The match page shows the reviewer in its history.
        let (_, shown, _) = page(&http, &format!("{}/matches/{first}", s.base), &session).await;
        assert!(
            shown.contains("Rui Reviewer 审核员") && shown.contains("Ada Admin"),
            "{shown}"
        );

        // Filters and paging.
        let listed: Value = http
            .get(format!(
                "{}/api/v1/matches?status=dismissed&limit=1",
                s.base
            ))
            .bearer_auth(&s.viewer)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(listed["total"], 1, "{listed}");
        assert_eq!(listed["matches"][0]["id"].as_str(), Some(second.as_str()));
        let bad = http
            .get(format!("{}/api/v1/matches?status=maybe", s.base))
            .bearer_auth(&s.viewer)
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        let error: Value = bad.json().await.unwrap();
        assert!(
            error["error"]
                .as_str()
                .unwrap()
                .contains("unknown match status"),
            "{error}"
        );

        // The evidence bundle downloads and verifies.
        s.download_and_verify(
            &http,
            &format!("/api/v1/matches/{first}/bundle"),
            &s.reviewer,
            "downloaded.zip",
        )
        .await;

        // The takedown texts: drafts until a match is confirmed, the same
        // on the match's page.
        for id in [&first, &second] {
            let shown: Value = http
                .get(format!("{}/api/v1/matches/{id}", s.base))
                .bearer_auth(&s.viewer)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let takedown: Value = http
                .get(format!("{}/api/v1/matches/{id}/takedown", s.base))
                .bearer_auth(&s.reviewer)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let confirmed = shown["status"] == "confirmed";
            assert_eq!(takedown["draft"], !confirmed, "{takedown}");
            let files = takedown["files"].as_array().unwrap();
            let paths: Vec<_> = files.iter().map(|f| f["path"].as_str().unwrap()).collect();
            assert_eq!(
                paths,
                [
                    "takedown/dmca-notice.txt",
                    "takedown/youtube-webform.txt",
                    "takedown/tiktok-ip-report.txt",
                    "takedown/email.txt"
                ]
            );
            let dmca = files[0]["text"].as_str().unwrap();
            assert_eq!(dmca.starts_with("DRAFT"), !confirmed, "{dmca}");
            assert!(
                dmca.contains(shown["candidate_url"].as_str().unwrap()),
                "{dmca}"
            );
            let (_, preview, _) = page(
                &http,
                &format!("{}/matches/{id}/takedown", s.base),
                &session,
            )
            .await;
            assert!(preview.contains("takedown/dmca-notice.txt"), "{preview}");
            assert_eq!(preview.contains("id=\"draft\""), !confirmed, "{preview}");
        }

        // The OpenAPI document names every API route.
        let doc: Value = http
            .get(format!("{}/api/openapi.json", s.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{doc}");
        for route in route_table()
            .iter()
            .filter(|r| r.path.starts_with("/api/v1/"))
        {
            let method = route.method.as_str().to_ascii_lowercase();
            assert!(
                doc["paths"][route.path][&method].is_object(),
                "{} {} is not in the OpenAPI document",
                route.method,
                route.path
            );
        }

        // Metrics count the matches by status and time the requests.
        let metrics = http
            .get(format!("{}/metrics", s.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            metrics.contains("reelguard_matches{status=\"confirmed\"} 1"),
            "{metrics}"
        );
        assert!(
            metrics.contains(
                "reelguard_http_request_duration_seconds_count{method=\"GET\",route=\"/inbox\""
            ),
            "{metrics}"
        );
    });
}

/// Signs in with `token`: the session cookie (`name=value`).
async fn sign_in(http: &reqwest::Client, base: &str, token: &str) -> String {
    let signed = http
        .post(format!("{base}/signin"))
        .form(&[("token", token), ("next", "/inbox")])
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    let cookie = signed.headers()["set-cookie"].to_str().unwrap();
    cookie.split(';').next().unwrap().to_string()
}

/// A page and its form's CSRF token, as the session sees it.
async fn page(http: &reqwest::Client, url: &str, session: &str) -> (StatusCode, String, String) {
    let answer = http
        .get(url)
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    let html = answer.text().await.unwrap();
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_string();
    (status, html, csrf)
}

/// Posts a form with a session: its status, `Location` and body.
async fn post_form(
    http: &reqwest::Client,
    url: &str,
    session: &str,
    form: &[(&str, &str)],
) -> (StatusCode, String, String) {
    let answer = http
        .post(url)
        .header("cookie", session)
        .form(form)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    let location = answer
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, location, answer.text().await.unwrap())
}

/// Calls the API with a bearer token: the status and the JSON answer.
async fn api(
    http: &reqwest::Client,
    method: Method,
    url: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = http.request(method, url).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let answer = request.send().await.unwrap();
    let status = answer.status();
    let text = answer.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, json)
}

/// The source named `name` in `GET /api/v1/sources`, if listed.
async fn listed_source(http: &reqwest::Client, base: &str, token: &str, name: &str) -> Value {
    let (status, list) = api(
        http,
        Method::GET,
        &format!("{base}/api/v1/sources"),
        token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .cloned()
        .unwrap_or(Value::Null)
}

on_both_backends!(an_admin_adds_edits_scans_and_removes_sources_and_others_may_not);

fn an_admin_adds_edits_scans_and_removes_sources_and_others_may_not(backend: Backend) {
    let Some(s) = served(backend) else {
        return;
    };
    let sources = s.json(&["sources", "list", "--json"]);
    let feed_url = sources["sources"][0]["url"].as_str().unwrap().to_string();
    let http = client();
    let base = s.base.as_str();
    block(async {
        let new_source = serde_json::json!({
            "name": "extra", "kind": "feed", "url": feed_url, "schedule": "0 30 9 * * *",
            "timezone": "Asia/Shanghai", "allow_loopback": true,
        });

        // Only an admin acts on sources, through the API or the pages.
        let url = |path: &str| format!("{base}{path}");
        let viewer_session = sign_in(&http, base, &s.viewer).await;
        let reviewer_session = sign_in(&http, base, &s.reviewer).await;
        for (token, session) in [
            (&s.viewer, &viewer_session),
            (&s.reviewer, &reviewer_session),
        ] {
            let calls = [
                (Method::POST, "/api/v1/sources", Some(new_source.clone())),
                (
                    Method::PUT,
                    "/api/v1/sources/feed",
                    Some(new_source.clone()),
                ),
                (Method::DELETE, "/api/v1/sources/feed", None),
                (Method::POST, "/api/v1/sources/feed/scan", None),
            ];
            for (method, path, body) in calls {
                let (status, answer) = api(&http, method.clone(), &url(path), token, body).await;
                assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {answer}");
                assert!(
                    answer["error"].as_str().unwrap().contains("admin"),
                    "{answer}"
                );
            }
            let (_, _, csrf) = page(&http, &url("/sources"), session).await;
            assert!(!csrf.is_empty(), "the sign-out form carries the CSRF token");
            for path in [
                "/sources",
                "/sources/feed/edit",
                "/sources/feed/remove",
                "/sources/feed/scan",
            ] {
                let form = [("csrf", csrf.as_str()), ("confirm", "yes")];
                let (status, _, _) = post_form(&http, &url(path), session, &form).await;
                assert_eq!(status, StatusCode::FORBIDDEN, "POST {path}");
            }
            let (status, _, _) = page(&http, &url("/sources/feed/edit"), session).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "GET /sources/feed/edit");
            let (status, html, _) = page(&http, &url("/sources"), session).await;
            assert_eq!(status, StatusCode::OK);
            assert!(
                html.contains("id=\"read-only\"") && !html.contains("id=\"source-form\""),
                "a viewer or reviewer is shown no source actions"
            );
        }
        assert_eq!(
            listed_source(&http, base, &s.viewer, "extra").await,
            Value::Null
        );

        // The API adds a source, lists it, and refuses its name twice.
        let (status, added) = api(
            &http,
            Method::POST,
            &url("/api/v1/sources"),
            &s.admin,
            Some(new_source.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{added}");
        assert_eq!(added["origin"], "cli", "{added}");
        assert_eq!(added["timezone"], "Asia/Shanghai", "{added}");
        assert_eq!(added["quota"], Value::Null, "a feed has no API quota");
        let listed = listed_source(&http, base, &s.viewer, "extra").await;
        assert_eq!(listed["schedule"], "0 30 9 * * *", "{listed}");
        let (status, taken) = api(
            &http,
            Method::POST,
            &url("/api/v1/sources"),
            &s.admin,
            Some(new_source.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "{taken}");
        let (status, taken) = api(
            &http,
            Method::POST,
            &url("/api/v1/sources"),
            &s.admin,
            Some(serde_json::json!({"name": "feed", "kind": "feed", "url": feed_url})),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "{taken}");
        assert!(
            taken["error"].as_str().unwrap().contains("config file"),
            "{taken}"
        );

        // An invalid source is refused with SourceConfig::validate's words.
        let (status, refused) = api(
            &http,
            Method::POST,
            &url("/api/v1/sources"),
            &s.admin,
            Some(serde_json::json!({"name": "bad", "kind": "feed", "url": feed_url, "schedule": "every hour"})),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
        assert!(
            refused["error"]
                .as_str()
                .unwrap()
                .contains("sources.bad.schedule = \"every hour\""),
            "{refused}"
        );
        let (status, refused) = api(
            &http,
            Method::POST,
            &url("/api/v1/sources"),
            &s.admin,
            Some(serde_json::json!({"name": "bad", "kind": "tiktok", "url": feed_url})),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        assert_eq!(
            listed_source(&http, base, &s.viewer, "bad").await,
            Value::Null
        );

        // A youtube-search source shows its daily API quota.
        let (status, searched) = api(
            &http,
            Method::POST,
            &url("/api/v1/sources"),
            &s.admin,
            Some(serde_json::json!({"name": "yt", "kind": "youtube-search", "url": "https://www.googleapis.com/youtube/v3", "keywords": ["dawn ride"]})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{searched}");
        assert_eq!(
            searched["quota"],
            serde_json::json!({"per_day": 10000, "day": null, "used": 0})
        );

        // The page adds a source; an invalid one comes back with the reason.
        let admin = sign_in(&http, base, &s.admin).await;
        let (status, html, csrf) = page(&http, &url("/sources"), &admin).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("id=\"source-form\""), "{html}");
        assert!(
            html.contains("10000 / 10000"),
            "the quota left today: {html}"
        );
        let paged = [
            ("csrf", csrf.as_str()),
            ("name", "paged"),
            ("kind", "feed"),
            ("url", feed_url.as_str()),
            ("schedule", "*/15 * * * *"),
            ("timezone", "Europe/Berlin"),
            ("allow_loopback", "yes"),
        ];
        let (status, location, _) = post_form(&http, &url("/sources"), &admin, &paged).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(location, "/sources?notice=added&source=paged");
        let (_, html, _) = page(&http, &url(&location), &admin).await;
        assert!(html.contains("id=\"flash\""), "{html}");
        assert!(
            html.contains("id=\"source-paged\"") && html.contains("Europe/Berlin"),
            "{html}"
        );

        // A proxy password never goes back to the browser; the form posted
        // back as shown keeps it.
        let mut proxied = paged.to_vec();
        proxied.push(("proxy", "http://agent:hunter2@127.0.0.1:9"));
        let (status, _, html) =
            post_form(&http, &url("/sources/paged/edit"), &admin, &proxied).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        let (_, html, _) = page(&http, &url("/sources/paged/edit"), &admin).await;
        assert!(
            !html.contains("hunter2"),
            "the password is in the form: {html}"
        );
        let shown = "http://agent:********@127.0.0.1:9/";
        assert!(html.contains(shown), "{html}");
        proxied.pop();
        proxied.push(("proxy", shown));
        let (status, _, html) =
            post_form(&http, &url("/sources/paged/edit"), &admin, &proxied).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{html}");
        let store = reelguard::store::Store::open(&common::store_url(&s.data))
            .await
            .unwrap();
        let kept = store.get_source("paged").await.unwrap().config.proxy;
        assert_eq!(kept.as_deref(), Some("http://agent:hunter2@127.0.0.1:9/"));
        store.close().await;

        let mut invalid = paged;
        invalid[1] = ("name", "mars");
        invalid[5] = ("timezone", "Mars/Olympus");
        let (status, _, html) = post_form(&http, &url("/sources"), &admin, &invalid).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{html}");
        let error = html
            .split("id=\"error\">")
            .nth(1)
            .unwrap_or_else(|| panic!("no error shown: {html}"));
        assert!(
            error.contains("sources.mars.timezone") && error.contains("not an IANA time zone"),
            "{error}"
        );
        assert!(
            html.contains("value=\"mars\""),
            "the refused form keeps what was typed"
        );
        assert_eq!(
            listed_source(&http, base, &s.viewer, "mars").await,
            Value::Null
        );

        // Edit through the API: a new schedule; no renaming, not the config file's.
        let mut edited = new_source.clone();
        edited["schedule"] = "0 0 6 * * *".into();
        let (status, answer) = api(
            &http,
            Method::PUT,
            &url("/api/v1/sources/extra"),
            &s.admin,
            Some(edited.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["schedule"], "0 0 6 * * *", "{answer}");
        let (status, answer) = api(
            &http,
            Method::PUT,
            &url("/api/v1/sources/paged"),
            &s.admin,
            Some(edited.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert!(
            answer["error"].as_str().unwrap().contains("renamed"),
            "{answer}"
        );
        edited["name"] = "feed".into();
        let (status, answer) = api(
            &http,
            Method::PUT,
            &url("/api/v1/sources/feed"),
            &s.admin,
            Some(edited.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "{answer}");
        edited["name"] = "nowhere".into();
        let (status, _) = api(
            &http,
            Method::PUT,
            &url("/api/v1/sources/nowhere"),
            &s.admin,
            Some(edited),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Edit through the page: the form comes prefilled.
        let (status, html, csrf) = page(&http, &url("/sources/paged/edit"), &admin).await;
        assert_eq!(status, StatusCode::OK, "{html}");
        assert!(
            html.contains("value=\"Europe/Berlin\"") && html.contains("value=\"*/15 * * * *\""),
            "{html}"
        );
        let mut moved = paged;
        moved[0] = ("csrf", csrf.as_str());
        moved[5] = ("timezone", "Asia/Tokyo");
        let (status, location, _) =
            post_form(&http, &url("/sources/paged/edit"), &admin, &moved).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(location, "/sources?notice=saved&source=paged");
        assert_eq!(
            listed_source(&http, base, &s.viewer, "paged").await["timezone"],
            "Asia/Tokyo"
        );
        moved[4] = ("schedule", "now and then");
        let (status, _, html) = post_form(&http, &url("/sources/paged/edit"), &admin, &moved).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{html}");
        assert!(html.contains("sources.paged.schedule"), "{html}");
        let (status, html, _) = page(&http, &url("/sources/feed/edit"), &admin).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert!(
            html.contains("Declared in the config file") && !html.contains("id=\"source-form\""),
            "{html}"
        );

        // Scan now through the API queues a scan job that `reelguard scan`
        // then carries out, as a daemon would.
        let (status, queued) = api(
            &http,
            Method::POST,
            &url("/api/v1/sources/extra/scan"),
            &s.admin,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
        let scan_id = queued["scan_id"].as_str().unwrap().to_string();
        let (status, scans) = api(
            &http,
            Method::GET,
            &url("/api/v1/sources/extra/scans"),
            &s.viewer,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(scans["scans"][0]["id"], scan_id.as_str(), "{scans}");
        assert_eq!(scans["scans"][0]["status"], "discovering", "{scans}");
        let cli = s.json(&["scans", "list", "--json"]);
        assert_eq!(
            cli["scans"][0], scans["scans"][0],
            "the CLI and the API show one shape"
        );
        let ran = s.json(&["scan", "extra", "--json"]);
        assert_eq!(ran["scans"][0]["scan_id"], scan_id.as_str(), "{ran}");
        let (_, scans) = api(
            &http,
            Method::GET,
            &url("/api/v1/sources/extra/scans"),
            &s.viewer,
            None,
        )
        .await;
        let done = &scans["scans"][0];
        assert_eq!(done["status"], "done", "{scans}");
        assert_eq!(done["candidates"], 3, "three uploads listed: {scans}");
        assert_eq!(done["new_candidates"], 0, "all known by URL: {scans}");
        // Its next run is the schedule's, shown in its time zone.
        let (_, html, csrf) = page(&http, &url("/sources"), &admin).await;
        let row = html.split("id=\"source-extra\"").nth(1).unwrap();
        let row = row.split("</tr>").next().unwrap();
        assert!(row.contains("06:00:00 CST"), "{row}");
        assert!(row.contains("3 / 0 / 0"), "{row}");

        // Scan now through the page.
        let (status, location, _) = post_form(
            &http,
            &url("/sources/paged/scan"),
            &admin,
            &[("csrf", csrf.as_str())],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let scan_id = location.split("scan=").nth(1).unwrap().to_string();
        assert!(
            location.starts_with("/sources?notice=queued&source=paged"),
            "{location}"
        );
        let (_, scans) = api(
            &http,
            Method::GET,
            &url("/api/v1/sources/paged/scans"),
            &s.viewer,
            None,
        )
        .await;
        assert_eq!(scans["scans"][0]["id"], scan_id.as_str(), "{scans}");

        // Remove: the page wants the box ticked; the config file's stays.
        let csrf_only = [("csrf", csrf.as_str())];
        let (status, _, html) =
            post_form(&http, &url("/sources/paged/remove"), &admin, &csrf_only).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(html.contains("tick the box"), "{html}");
        assert_ne!(
            listed_source(&http, base, &s.viewer, "paged").await,
            Value::Null
        );
        let confirmed = [("csrf", csrf.as_str()), ("confirm", "yes")];
        let (status, location, _) =
            post_form(&http, &url("/sources/paged/remove"), &admin, &confirmed).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(location, "/sources?notice=removed&source=paged");
        assert_eq!(
            listed_source(&http, base, &s.viewer, "paged").await,
            Value::Null
        );
        let (status, _) = api(
            &http,
            Method::DELETE,
            &url("/api/v1/sources/extra"),
            &s.admin,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            listed_source(&http, base, &s.viewer, "extra").await,
            Value::Null
        );
        let (status, _) = api(
            &http,
            Method::DELETE,
            &url("/api/v1/sources/extra"),
            &s.admin,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, answer) = api(
            &http,
            Method::DELETE,
            &url("/api/v1/sources/feed"),
            &s.admin,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "{answer}");
        assert_ne!(
            listed_source(&http, base, &s.viewer, "feed").await,
            Value::Null
        );
    });
    // The command line sees what the dashboard did.
    let names: Vec<String> = s.json(&["sources", "list", "--json"])["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["feed", "yt"]);
}

on_both_backends!(failed_alerts_go_back_to_the_queue_from_the_dashboard);

fn failed_alerts_go_back_to_the_queue_from_the_dashboard(backend: Backend) {
    let Some(s) = served(backend) else {
        return;
    };
    // Alerts by email through a port nobody listens on: each fails at its
    // one attempt.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = std::fs::read_to_string(&s.config).unwrap();
    config.push_str(&format!(
        "\n[smtp]\nhost = \"127.0.0.1\"\nport = {closed}\nallow_loopback = true\nsecurity = \"none\"\nfrom = \"reelguard <alerts@example.com>\"\ntimeout_s = 5.0\n\n\
         [alerts]\nto = [\"a@example.com\", \"b@example.com\"]\nmax_attempts = 1\n"
    ));
    std::fs::write(&s.config, config).unwrap();
    // A new copy (from 1 s in, smaller) in a folder source added through the API.
    let folder = s.dir.join("downloads");
    std::fs::create_dir_all(&folder).unwrap();
    let bikes = common::shared_media("bikes.mp4").unwrap();
    common::transform(
        &bikes,
        &["-ss", "1", "-vf", "scale=400:-2"],
        &folder.join("copy.mp4"),
    );
    // A folder source leaves files changed in the last seconds for later.
    std::fs::File::options()
        .write(true)
        .open(folder.join("copy.mp4"))
        .unwrap()
        .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(60))
        .unwrap();
    let http = client();
    let base = s.base.as_str();
    let url = |path: &str| format!("{base}{path}");
    block(async {
        let (status, added) = api(
            &http,
            Method::POST,
            &url("/api/v1/sources"),
            &s.admin,
            Some(serde_json::json!({"name": "downloads", "kind": "folder", "url": path_str(&folder)})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{added}");
        let (status, refused) = api(
            &http,
            Method::POST,
            &url("/api/v1/sources"),
            &s.admin,
            Some(serde_json::json!({"name": "relative", "kind": "folder", "url": "downloads"})),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
        assert!(
            refused["error"].as_str().unwrap().contains("absolute path"),
            "{refused}"
        );
    });
    let scanned = s.json(&["scan", "downloads", "--json"]);
    assert_eq!(scanned["scans"][0]["new_matches"], 1, "{scanned}");

    block(async {
        let alerts = |token: String| {
            let http = http.clone();
            let url = url("/api/v1/alerts");
            async move {
                let (status, list) = api(&http, Method::GET, &url, &token, None).await;
                assert_eq!(status, StatusCode::OK);
                list["alerts"].as_array().unwrap().clone()
            }
        };
        let failed = alerts(s.viewer.clone()).await;
        assert_eq!(failed.len(), 2, "{failed:?}");
        for a in &failed {
            assert_eq!(a["state"], "failed", "{a}");
            assert!(!a["last_error"].as_str().unwrap().is_empty(), "{a}");
        }
        let (first, second) = (
            failed[0]["id"].as_str().unwrap().to_string(),
            failed[1]["id"].as_str().unwrap().to_string(),
        );

        // A viewer may not retry; a reviewer may not retry them all.
        let (status, _) = api(
            &http,
            Method::POST,
            &url(&format!("/api/v1/alerts/{first}/retry")),
            &s.viewer,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = api(
            &http,
            Method::POST,
            &url("/api/v1/alerts/retry"),
            &s.reviewer,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let viewer = sign_in(&http, base, &s.viewer).await;
        let (status, html, csrf) = page(&http, &url("/alerts"), &viewer).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            !html.contains("class=\"retry\"") && !html.contains("id=\"retry-all\""),
            "{html}"
        );
        let (status, _, _) = post_form(
            &http,
            &url(&format!("/alerts/{first}/retry")),
            &viewer,
            &[("csrf", csrf.as_str())],
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // A reviewer retries one from the page: it waits again, with fresh attempts.
        let reviewer = sign_in(&http, base, &s.reviewer).await;
        let (_, html, csrf) = page(&http, &url("/alerts"), &reviewer).await;
        let row = html.split(&format!("id=\"alert-{first}\"")).nth(1).unwrap();
        let row = row.split("</tr>").next().unwrap();
        assert!(
            row.contains("data-state=\"failed\"") && row.contains("class=\"state\">failed<"),
            "{row}"
        );
        assert!(row.contains("class=\"retry\""), "{row}");
        assert!(
            row.contains("class=\"error\""),
            "the reason is shown: {row}"
        );
        assert!(
            !html.contains("id=\"retry-all\""),
            "retry all is an admin's"
        );
        let (status, location, _) = post_form(
            &http,
            &url(&format!("/alerts/{first}/retry")),
            &reviewer,
            &[("csrf", csrf.as_str())],
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert_eq!(location, "/alerts?retried=1");
        let now = alerts(s.viewer.clone()).await;
        let state_of = |id: &str| {
            let a = now.iter().find(|a| a["id"] == id).unwrap();
            (
                a["state"].as_str().unwrap().to_string(),
                a["attempts"].as_i64().unwrap(),
            )
        };
        assert_eq!(state_of(&first), ("queued".to_string(), 0));
        assert_eq!(state_of(&second).0, "failed");

        // Only a failed alert is retried; an unknown one is not found.
        let (status, answer) = api(
            &http,
            Method::POST,
            &url(&format!("/api/v1/alerts/{first}/retry")),
            &s.reviewer,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::CONFLICT, "{answer}");
        let (status, _) = api(
            &http,
            Method::POST,
            &url("/api/v1/alerts/no-such-alert/retry"),
            &s.reviewer,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // An admin retries every failed one through the API.
        let (status, answer) = api(
            &http,
            Method::POST,
            &url("/api/v1/alerts/retry"),
            &s.admin,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(answer["retried"], 1, "{answer}");
        let now = alerts(s.viewer.clone()).await;
        assert!(now.iter().all(|a| a["state"] == "queued"), "{now:?}");
    });
    // The next delivery tries them again, and they fail again for real.
    let (code, stdout, stderr) = s.run(&["alerts", "send"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("2 failed"), "{stdout}");
}
