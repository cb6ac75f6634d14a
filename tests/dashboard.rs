//! The dashboard and the HTTP API against `reelguard serve`, with data
//! made by a real scan of the mock platform: every route of the route
//! table under every role (the table here must list each route the server
//! has, and no other), sessions and CSRF, a review through the API recorded
//! with the token's name, the exported bundle passing `reelguard verify`,
//! the OpenAPI document naming every API route, and the metrics.

mod common;

use common::served::served;
use common::{path_str, run, Backend};
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
    ("GET", "/matches/{id}/bundle.zip", "reviewer"),
    ("GET", "/works", "viewer"),
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
    ("GET", "/api/v1/matches", "viewer"),
    ("GET", "/api/v1/matches/{id}", "viewer"),
    ("POST", "/api/v1/matches/{id}/review", "reviewer"),
    ("GET", "/api/v1/matches/{id}/bundle", "reviewer"),
    ("GET", "/api/v1/works", "viewer"),
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
    let (code, _, stderr) = s.run(&["tokens", "revoke", "Vera Viewer"]);
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
        let page = http
            .get(format!("{}/matches/{first}", s.base))
            .header("cookie", &session)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("Rui Reviewer 审核员") && page.contains("Ada Admin"),
            "{page}"
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
        let bundle = http
            .get(format!("{}/api/v1/matches/{first}/bundle", s.base))
            .bearer_auth(&s.reviewer)
            .send()
            .await
            .unwrap();
        assert_eq!(bundle.status(), StatusCode::OK);
        let zip = s.dir.join("downloaded.zip");
        std::fs::write(&zip, bundle.bytes().await.unwrap()).unwrap();
        let (code, stdout, stderr) = run(&["verify", path_str(&zip), "--ca", path_str(&s.ca)]);
        assert_eq!(
            code, 0,
            "the downloaded bundle does not verify:\n{stdout}\n{stderr}"
        );

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
