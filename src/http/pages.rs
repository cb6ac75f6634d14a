//! The dashboard: server-rendered pages (askama templates in
//! `templates/`, escaped by default), the sign-in, the review forms, and
//! the files a match page plays and shows.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use clap::ValueEnum;
use serde::Deserialize;

use super::access::{self, Caller};
use super::api::{self, MatchQuery};
use super::text::{Lang, Text, LANG_COOKIE};
use super::AppState;
use crate::clock::to_seconds;
use crate::domain::{AccessRole, AlertState, MatchStatus, Named, ScanStatus, SourceOrigin};
use crate::source_config::{SourceConfig, SourceKind};
use crate::store::{CapturedFile, MatchRecord};

/// Percent-encodes a query value.
pub fn url_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// A local path to go back to: anything else becomes the inbox (no
/// redirect leaves this server).
fn local_path(next: Option<&str>) -> String {
    match next {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') => p.to_string(),
        _ => "/inbox".to_string(),
    }
}

/// Who is signed in, as the header shows them.
pub(super) struct Who {
    pub name: String,
    pub role: AccessRole,
    pub csrf: String,
}

pub(super) fn who(caller: &Caller) -> Who {
    Who {
        name: caller.token.name.clone(),
        role: caller.token.role,
        csrf: caller.csrf.clone(),
    }
}

pub(super) fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!("cannot render a page: {e}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot render this page; the server log says why",
            )
                .into_response()
        }
    }
}

fn failure(e: api::ApiError) -> Response {
    (e.0, e.1).into_response()
}

/// The path and query of a request, for "come back here" links.
fn here(request_uri: &axum::http::Uri) -> String {
    request_uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into())
}

/// `GET /static/{file}`: the script and the style sheet.
pub async fn static_file(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "app.js" => (
            include_str!("static/app.js"),
            "text/javascript; charset=utf-8",
        ),
        "app.css" => (include_str!("static/app.css"), "text/css; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "not found").into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        body,
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
    failed: Option<String>,
}

/// `GET /lang/{en|zh}`: keeps the chosen language in a cookie.
pub async fn switch_language(Path(code): Path<String>, Query(query): Query<NextQuery>) -> Response {
    let lang = Lang::from_code(&code).unwrap_or(Lang::En);
    let cookie = format!(
        "{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000",
        lang.code()
    );
    (
        [(header::SET_COOKIE, cookie)],
        Redirect::to(&local_path(query.next.as_deref())),
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "signin.html", config = "src/http/askama.toml")]
struct SigninPage {
    lang: Lang,
    t: &'static Text,
    who: Option<Who>,
    here: String,
    next: String,
    failed: bool,
}

fn signin_page(headers: &HeaderMap, next: &str, failed: bool) -> SigninPage {
    let lang = Lang::of(headers);
    SigninPage {
        lang,
        t: lang.text(),
        who: None,
        here: format!("/signin?next={}", url_encode(next)),
        next: next.to_string(),
        failed,
    }
}

/// `GET /signin`.
pub async fn signin_form(headers: HeaderMap, Query(query): Query<NextQuery>) -> Response {
    let next = local_path(query.next.as_deref());
    render(&signin_page(&headers, &next, query.failed.is_some()))
}

#[derive(Deserialize)]
pub struct SigninForm {
    token: String,
    next: Option<String>,
}

/// Whether a form came from a page of this server: its `Origin`, when
/// the browser sends one, names the host it was posted to.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    url::Url::parse(origin)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| {
                format!(
                    "{h}{}",
                    u.port().map(|p| format!(":{p}")).unwrap_or_default()
                )
            })
        })
        .is_some_and(|o| o == host)
}

/// `POST /signin`: a valid token becomes a session cookie.
pub async fn signin(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SigninForm>,
) -> Response {
    let next = local_path(form.next.as_deref());
    if !same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "sign-in posted from another site").into_response();
    }
    let token = match state
        .store
        .live_token_by_hash(&access::hash_token(&form.token))
        .await
    {
        Ok(Some(token)) => token,
        Ok(None) => {
            let mut page = render(&signin_page(&headers, &next, true));
            *page.status_mut() = StatusCode::UNAUTHORIZED;
            return page;
        }
        Err(e) => return failure(e.into()),
    };
    let lifetime = Duration::seconds((state.settings.http.session_hours * 3600.0) as i64);
    let value = access::session_value(
        &state.session_key,
        &token.id,
        crate::clock::now() + lifetime,
    );
    let secure = state.settings.http.public_url.starts_with("https://");
    (
        [(
            header::SET_COOKIE,
            access::session_cookie(&value, lifetime, secure),
        )],
        Redirect::to(&next),
    )
        .into_response()
}

/// `POST /signout`.
pub async fn signout() -> Response {
    (
        [(header::SET_COOKIE, access::cleared_session_cookie())],
        Redirect::to("/signin"),
    )
        .into_response()
}

/// `GET /`.
pub async fn home() -> Redirect {
    Redirect::to("/inbox")
}

/// One row of the inbox.
struct InboxRow {
    id: String,
    thumbnail: Option<String>,
    work_title: String,
    platform: String,
    uploader: String,
    matched: String,
    share: String,
    score: String,
    found: String,
    status: MatchStatus,
}

/// Seconds of the work a match covers (overlaps counted once).
fn matched_work_seconds(m: &MatchRecord) -> f64 {
    let mut spans: Vec<(f64, f64)> = m
        .segments
        .iter()
        .map(|s| (s.work_start_s, s.work_end_s.max(s.work_start_s)))
        .collect();
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut total = 0.0;
    let mut reach = f64::NEG_INFINITY;
    for (start, end) in spans {
        let start = start.max(reach);
        if end > start {
            total += end - start;
        }
        reach = reach.max(end);
    }
    total
}

fn file_link(match_id: &str, files: &[CapturedFile], path: &str) -> Option<String> {
    files
        .iter()
        .any(|f| f.path == path)
        .then(|| format!("/matches/{match_id}/files/{path}"))
}

#[derive(Template)]
#[template(path = "inbox.html", config = "src/http/askama.toml")]
struct InboxPage {
    lang: Lang,
    t: &'static Text,
    who: Option<Who>,
    here: String,
    csrf: String,
    may_review: bool,
    rows: Vec<InboxRow>,
    total: u64,
    first: u64,
    last: u64,
    previous: Option<String>,
    next_page: Option<String>,
    statuses: &'static [MatchStatus],
    actions: [MatchStatus; 3],
    works: Vec<(String, String)>,
    status_filter: String,
    work_filter: String,
    source_filter: String,
    platform_filter: String,
    since_filter: String,
    until_filter: String,
    flash: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct InboxQuery {
    #[serde(flatten)]
    matches: MatchQuery,
    page: Option<String>,
    done: Option<String>,
    failed: Option<String>,
}

/// Matches per inbox page.
const INBOX_PAGE: u32 = 50;

/// `GET /inbox`: pending matches newest first (or as filtered), paged.
pub async fn inbox(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    request: Request,
) -> Response {
    let lang = Lang::of(&headers);
    let t = lang.text();
    let uri = request.uri().clone();
    let Query(mut query) = match Query::<InboxQuery>::try_from_uri(&uri) {
        Ok(q) => q,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let status_filter = query
        .matches
        .status
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| MatchStatus::Pending.to_string());
    query.matches.status = (status_filter != "all").then(|| status_filter.clone());
    let filter = match query.matches.filter() {
        Ok(f) => f,
        Err(e) => return failure(e),
    };
    let page: u64 = query
        .page
        .as_deref()
        .and_then(|p| p.parse().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let offset = (page - 1) * u64::from(INBOX_PAGE);
    let found = match state
        .store
        .page_of_matches(&filter, INBOX_PAGE, offset)
        .await
    {
        Ok(found) => found,
        Err(e) => return failure(e.into()),
    };
    let ids: Vec<String> = found.matches.iter().map(|m| m.id.clone()).collect();
    let files = match state.store.capture_files_of(&ids).await {
        Ok(files) => files,
        Err(e) => return failure(e.into()),
    };
    let works = match state.store.list_works().await {
        Ok(works) => works.into_iter().map(|w| (w.id, w.title)).collect(),
        Err(e) => return failure(e.into()),
    };
    let rows = found
        .matches
        .iter()
        .map(|m| {
            let seconds = matched_work_seconds(m);
            let no_files = Vec::new();
            let captured = files.get(&m.id).unwrap_or(&no_files);
            InboxRow {
                id: m.id.clone(),
                thumbnail: file_link(&m.id, captured, "frames/pair-1.png"),
                work_title: m.work_title.clone(),
                platform: m.platform.clone(),
                uploader: m.uploader.clone(),
                matched: format!("{seconds:.0} s"),
                share: if m.work_duration_s > 0.0 {
                    format!("{:.0} %", (seconds / m.work_duration_s * 100.0).min(100.0))
                } else {
                    "–".into()
                },
                score: format!("{:.2}", m.score),
                found: to_seconds(m.created_at),
                status: m.status,
            }
        })
        .collect();
    let page_link = |p: u64| {
        let mut pairs = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
            if !matches!(k.as_ref(), "page" | "done" | "failed") {
                pairs.append_pair(&k, &v);
            }
        }
        pairs.append_pair("page", &p.to_string());
        format!("/inbox?{}", pairs.finish())
    };
    let shown = found.matches.len() as u64;
    let flash = match (query.done.as_deref(), query.failed.as_deref()) {
        (None, None) => None,
        (done, failed) => Some(format!(
            "{}: {} · {}: {}",
            t.review_done,
            done.unwrap_or("0"),
            t.review_failed,
            failed.unwrap_or("0")
        )),
    };
    let given = |v: &Option<String>| v.clone().unwrap_or_default();
    render(&InboxPage {
        lang,
        t,
        here: here(&uri),
        csrf: caller.csrf.clone(),
        may_review: caller.may(AccessRole::Reviewer),
        who: Some(who(&caller)),
        rows,
        total: found.total,
        first: if shown == 0 { 0 } else { offset + 1 },
        last: offset + shown,
        previous: (page > 1).then(|| page_link(page - 1)),
        next_page: (offset + shown < found.total).then(|| page_link(page + 1)),
        statuses: MatchStatus::ALL,
        actions: [
            MatchStatus::Confirmed,
            MatchStatus::Dismissed,
            MatchStatus::Licensed,
        ],
        works,
        status_filter,
        work_filter: given(&query.matches.work),
        source_filter: given(&query.matches.source),
        platform_filter: given(&query.matches.platform),
        since_filter: given(&query.matches.since),
        until_filter: given(&query.matches.until),
        flash,
    })
}

/// `POST /inbox/review`: one review action on every selected match
/// (`id` repeated), then back to the inbox with how many changed.
pub async fn review_many(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: Bytes,
) -> Response {
    let mut ids = Vec::new();
    let (mut action, mut note, mut back) = (None, None, None);
    for (k, v) in url::form_urlencoded::parse(&body) {
        match k.as_ref() {
            "id" => ids.push(v.into_owned()),
            "action" => action = Some(v.into_owned()),
            "note" => note = Some(v.into_owned()).filter(|n| !n.trim().is_empty()),
            "back" => back = Some(v.into_owned()),
            _ => {}
        }
    }
    if ids.iter().chain(note.iter()).any(|v| v.contains('\0')) {
        return (
            StatusCode::BAD_REQUEST,
            "a match id or the note holds a NUL character",
        )
            .into_response();
    }
    let Some(to) = action
        .as_deref()
        .and_then(|a| a.parse::<MatchStatus>().ok())
    else {
        return (
            StatusCode::BAD_REQUEST,
            "choose an action: confirmed, dismissed or licensed",
        )
            .into_response();
    };
    let (mut done, mut failed) = (0, 0);
    for id in &ids {
        let changed = state
            .store
            .set_match_status(
                id,
                to,
                note.as_deref(),
                Some(&caller.token.name),
                crate::clock::now(),
            )
            .await;
        match changed {
            Ok(_) => done += 1,
            Err(e) => {
                tracing::info!("review of match {id} by {}: {e}", caller.token.name);
                failed += 1;
            }
        }
    }
    Redirect::to(&with_outcome(&local_path(back.as_deref()), done, failed)).into_response()
}

/// `back` with how many reviews were made and refused in its query.
fn with_outcome(back: &str, done: usize, failed: usize) -> String {
    let (path, query) = back.split_once('?').unwrap_or((back, ""));
    let mut pairs = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        if k != "done" && k != "failed" {
            pairs.append_pair(&k, &v);
        }
    }
    pairs.append_pair("done", &done.to_string());
    pairs.append_pair("failed", &failed.to_string());
    format!("{path}?{}", pairs.finish())
}

#[derive(Template)]
#[template(path = "match.html", config = "src/http/askama.toml")]
struct MatchPage {
    lang: Lang,
    t: &'static Text,
    who: Option<Who>,
    here: String,
    csrf: String,
    may_review: bool,
    m: MatchRecord,
    score: String,
    found: String,
    offset: String,
    copy_video: Option<String>,
    work_video: Option<String>,
    /// Left and width in percent of the upload, and a label.
    bars: Vec<(String, String, String)>,
    pairs: Vec<String>,
    screenshot: Option<String>,
    capture: crate::store::CaptureRecord,
    capture_time: Option<String>,
    /// Other places the same upload was found, each with its capture.
    locations: Vec<LocationView>,
    /// When, from, to, note, by.
    history: Vec<(String, MatchStatus, MatchStatus, String, String)>,
    actions: Vec<MatchStatus>,
    confirmed: bool,
}

/// A further location of a match on its page: the URL, its capture and
/// where its captured files are served.
struct LocationView {
    l: crate::store::Candidate,
    capture: crate::store::CaptureRecord,
    capture_time: Option<String>,
    /// `/matches/MATCH/locations/CANDIDATE/files`.
    files: String,
    screenshot: Option<String>,
}

impl LocationView {
    fn new(
        match_id: &str,
        l: crate::store::Candidate,
        capture: crate::store::CaptureRecord,
    ) -> LocationView {
        let files = format!("/matches/{match_id}/locations/{}/files", l.id);
        let screenshot = capture
            .files
            .iter()
            .any(|f| f.path == "capture/screenshot.png")
            .then(|| format!("{files}/capture/screenshot.png"));
        LocationView {
            capture_time: capture.tsa_time.map(to_seconds),
            l,
            capture,
            files,
            screenshot,
        }
    }
}

/// `GET /matches/{id}`: the copy beside the work, segments, frames,
/// capture, history and the review actions.
pub async fn match_page(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let lang = Lang::of(&headers);
    let t = lang.text();
    let loaded = async {
        let m = state.store.find_match(&id).await?;
        let history = state.store.status_history(&m.id).await?;
        let capture = state.store.capture(&m.id).await?;
        let work = state.store.find_work(&m.work_id).await?;
        let locations = state.store.captured_locations(&m.id).await?;
        Ok::<_, crate::store::StoreError>((m, history, capture, work, locations))
    };
    let (m, history, capture, work, locations) = match loaded.await {
        Ok(loaded) => loaded,
        Err(e) => return failure(e.into()),
    };
    let best = crate::evidence::frames::best_first(&m.segments);
    let offset = best
        .first()
        .map(|s| s.query_start_s - s.work_start_s)
        .unwrap_or(0.0);
    let upload_end = m
        .segments
        .iter()
        .map(|s| s.query_end_s)
        .fold(1.0_f64, f64::max);
    let bars = m
        .segments
        .iter()
        .map(|s| {
            (
                format!("{:.2}", s.query_start_s / upload_end * 100.0),
                format!(
                    "{:.2}",
                    ((s.query_end_s - s.query_start_s) / upload_end * 100.0).max(0.5)
                ),
                format!("{:.1}–{:.1} s", s.query_start_s, s.query_end_s),
            )
        })
        .collect();
    let copy_video = capture
        .files
        .iter()
        .find(|f| f.path.starts_with("capture/media."))
        .map(|f| format!("/matches/{}/files/{}", m.id, f.path));
    let work_video = std::path::Path::new(&work.source_path)
        .is_file()
        .then(|| format!("/works/{}/video", work.id));
    let mut pairs: Vec<String> = capture
        .files
        .iter()
        .filter(|f| f.path.starts_with("frames/pair-") || f.path == "frames/timeline.png")
        .map(|f| format!("/matches/{}/files/{}", m.id, f.path))
        .collect();
    pairs.sort();
    let screenshot = file_link(&m.id, &capture.files, "capture/screenshot.png").or_else(|| {
        capture
            .files
            .iter()
            .find(|f| f.path.ends_with("screenshot.png"))
            .map(|f| format!("/matches/{}/files/{}", m.id, f.path))
    });
    let history = history
        .iter()
        .map(|h| {
            (
                to_seconds(h.at),
                h.from,
                h.to,
                h.note.clone().unwrap_or_default(),
                h.actor
                    .clone()
                    .unwrap_or_else(|| t.command_line.to_string()),
            )
        })
        .collect();
    let actions = MatchStatus::ALL
        .iter()
        .copied()
        .filter(|to| m.status.can_become(*to))
        .collect();
    render(&MatchPage {
        lang,
        t,
        here: here(request.uri()),
        csrf: caller.csrf.clone(),
        may_review: caller.may(AccessRole::Reviewer),
        who: Some(who(&caller)),
        score: format!("{:.2}", m.score),
        found: to_seconds(m.created_at),
        offset: format!("{offset:.2}"),
        copy_video,
        work_video,
        bars,
        pairs,
        screenshot,
        capture_time: capture.tsa_time.map(to_seconds),
        capture,
        locations: locations
            .into_iter()
            .map(|(l, capture)| LocationView::new(&m.id, l, capture))
            .collect(),
        history,
        actions,
        confirmed: matches!(
            m.status,
            MatchStatus::Confirmed | MatchStatus::Claimed | MatchStatus::Resolved
        ),
        m,
    })
}

#[derive(Deserialize)]
pub struct ReviewForm {
    action: String,
    note: Option<String>,
}

/// `POST /matches/{id}/review`.
pub async fn review_one(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Form(form): Form<ReviewForm>,
) -> Response {
    let Ok(to) = form.action.parse::<MatchStatus>() else {
        return (
            StatusCode::BAD_REQUEST,
            format!("unknown action {:?}", form.action),
        )
            .into_response();
    };
    let note = form
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.contains('\0')) || id.contains('\0') {
        return (
            StatusCode::BAD_REQUEST,
            "the match id or the note holds a NUL character",
        )
            .into_response();
    }
    let m = match state.store.find_match(&id).await {
        Ok(m) => m,
        Err(e) => return failure(e.into()),
    };
    match state
        .store
        .set_match_status(
            &m.id,
            to,
            note,
            Some(&caller.token.name),
            crate::clock::now(),
        )
        .await
    {
        Ok(_) => Redirect::to(&format!("/matches/{}", m.id)).into_response(),
        Err(e) => failure(e.into()),
    }
}

/// The content type of a captured or registered file, by its name.
fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "pdf" => "application/pdf",
        "html" | "htm" => "text/plain; charset=utf-8",
        "json" => "application/json",
        "mp4" | "m4v" => "video/mp4",
        "webm" => "video/webm",
        "mkv" => "video/x-matroska",
        "mov" => "video/quicktime",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Serves a file from disk with ranges (players seek), as `kind`.
async fn serve_file(path: &std::path::Path, kind: &str, request: Request) -> Response {
    let mut service = tower_http::services::ServeFile::new(path);
    match service.try_call(request).await {
        Ok(response) => {
            let mut response = response.into_response();
            if response.status().is_success() {
                if let Ok(value) = kind.parse() {
                    response.headers_mut().insert(header::CONTENT_TYPE, value);
                }
            }
            response
        }
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot read the file: {e}"),
        )
            .into_response(),
    }
}

/// `GET /matches/{id}/files/{*path}`: one captured file (captured pages
/// are served as text, never as a page of this site).
pub async fn capture_file(
    State(state): State<AppState>,
    Path((id, path)): Path<(String, String)>,
    request: Request,
) -> Response {
    let capture = match state.store.capture(&id).await {
        Ok(capture) => capture,
        Err(e) => return failure(e.into()),
    };
    let Some(file) = capture.files.iter().find(|f| f.path == path) else {
        return (
            StatusCode::NOT_FOUND,
            format!("match {id} has no captured file {path:?}"),
        )
            .into_response();
    };
    let blob = state
        .settings
        .capture
        .blobs_in(&state.data_dir)
        .path(&file.sha256);
    serve_file(&blob, content_type(&file.path), request).await
}

/// `GET /matches/{id}/locations/{candidate}/files/{*path}`: one file of
/// the capture of a further location of a match (served like the match's
/// own captured files).
pub async fn location_file(
    State(state): State<AppState>,
    Path((id, candidate, path)): Path<(String, String, String)>,
    request: Request,
) -> Response {
    let of = crate::store::CaptureOf::Location {
        match_id: id.clone(),
        candidate_id: candidate.clone(),
    };
    let capture = match state.store.capture_of(&of).await {
        Ok(capture) => capture,
        Err(e) => return failure(e.into()),
    };
    let Some(file) = capture.files.iter().find(|f| f.path == path) else {
        return (
            StatusCode::NOT_FOUND,
            format!("location {candidate} of match {id} has no captured file {path:?}"),
        )
            .into_response();
    };
    let blob = state
        .settings
        .capture
        .blobs_in(&state.data_dir)
        .path(&file.sha256);
    serve_file(&blob, content_type(&file.path), request).await
}

/// `GET /matches/{id}/bundle.zip`.
pub async fn bundle(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match api::bundle_response(&state, &id).await {
        Ok(response) => response,
        Err(e) => failure(e),
    }
}

#[derive(Template)]
#[template(path = "takedown.html", config = "src/http/askama.toml")]
struct TakedownPage {
    lang: Lang,
    t: &'static Text,
    who: Option<Who>,
    here: String,
    match_id: String,
    draft: bool,
    /// Each text's path and body, or why there are none yet.
    preview: Result<Vec<(String, String)>, String>,
}

/// `GET /matches/{id}/takedown`: the takedown texts an export would write
/// now, or why there are none yet (the match is not captured).
pub async fn takedown(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let lang = Lang::of(&headers);
    let (match_id, draft, preview) = match api::takedown_of(&state, &id).await {
        Ok(texts) => (
            texts.match_id,
            texts.draft,
            Ok(texts.files.into_iter().map(|f| (f.path, f.text)).collect()),
        ),
        Err(api::ApiError(StatusCode::CONFLICT, why)) => (id, true, Err(why)),
        Err(e) => return failure(e),
    };
    render(&TakedownPage {
        lang,
        t: lang.text(),
        who: Some(who(&caller)),
        here: here(request.uri()),
        match_id,
        draft,
        preview,
    })
}

/// `GET /works/{id}/video`: the registered file, when still at its path.
pub async fn work_video(
    State(state): State<AppState>,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let work = match state.store.find_work(&id).await {
        Ok(work) => work,
        Err(e) => return failure(e.into()),
    };
    let path = std::path::PathBuf::from(&work.source_path);
    if !path.is_file() {
        return (
            StatusCode::NOT_FOUND,
            format!(
                "the file of work {} is no longer at {}",
                work.id, work.source_path
            ),
        )
            .into_response();
    }
    serve_file(&path, content_type(&work.source_path), request).await
}

/// A time in a source's time zone, to the second, with the zone's
/// abbreviation (UTC when the zone does not parse).
fn in_zone(at: DateTime<Utc>, tz: Option<Tz>) -> String {
    match tz {
        Some(tz) => at
            .with_timezone(&tz)
            .format("%Y-%m-%d %H:%M:%S %Z")
            .to_string(),
        None => to_seconds(at),
    }
}

/// What the edit form shows in place of a proxy's password: the password
/// never goes back to a browser, and a form posted with this keeps it.
const KEPT_PASSWORD: &str = "********";

/// A proxy URL as the edit form shows it: its password replaced by
/// [`KEPT_PASSWORD`].
fn shown_proxy(proxy: &str) -> String {
    match url::Url::parse(proxy) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some(KEPT_PASSWORD));
            url.to_string()
        }
        Ok(_) => proxy.to_string(),
        Err(_) => crate::secret::redact_url(proxy),
    }
}

/// The proxy posted by the edit form, with the stored password put back
/// where the form still shows [`KEPT_PASSWORD`].
fn with_kept_password(posted: &str, stored: Option<&str>) -> String {
    let kept = |url: &url::Url| {
        url.password().is_some_and(|p| {
            percent_encoding::percent_decode_str(p).decode_utf8_lossy() == KEPT_PASSWORD
        })
    };
    let stored_password = stored
        .and_then(|s| url::Url::parse(s).ok())
        .and_then(|s| s.password().map(str::to_string));
    match (url::Url::parse(posted.trim()), stored_password) {
        (Ok(mut url), Some(password)) if kept(&url) => {
            let decoded = percent_encoding::percent_decode_str(&password)
                .decode_utf8_lossy()
                .into_owned();
            let _ = url.set_password(Some(&decoded));
            url.to_string()
        }
        _ => posted.to_string(),
    }
}

/// The add or edit form of a source: as posted, and as shown again
/// (prefilled, or with what was posted when it was refused).
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SourceForm {
    name: String,
    kind: String,
    url: String,
    schedule: String,
    timezone: String,
    allow_private: Option<String>,
    allow_loopback: Option<String>,
    proxy: String,
    /// One per line.
    keywords: String,
    ytdlp_path: String,
}

impl SourceForm {
    fn of(config: &SourceConfig) -> SourceForm {
        let yes = |on: bool| on.then(|| "yes".to_string());
        SourceForm {
            name: config.name.clone(),
            kind: config.kind.as_str().to_string(),
            url: config.url.clone(),
            schedule: config.schedule.clone(),
            timezone: config.timezone.clone(),
            allow_private: yes(config.allow_private),
            allow_loopback: yes(config.allow_loopback),
            proxy: config.proxy.as_deref().map(shown_proxy).unwrap_or_default(),
            keywords: config.keywords.join("\n"),
            ytdlp_path: config.ytdlp_path.clone().unwrap_or_default(),
        }
    }

    /// The API's body for these fields: blanks left out (their defaults),
    /// keywords one per line.
    fn body(&self) -> Result<api::SourceBody, api::ApiError> {
        let name = self.name.trim().to_string();
        let kind = SourceKind::value_variants()
            .iter()
            .copied()
            .find(|k| k.as_str() == self.kind.trim())
            .ok_or_else(|| {
                api::ApiError::bad_request(format!(
                    "sources.{name}.kind = {:?}: choose one of {}",
                    self.kind,
                    source_kinds().join(", ")
                ))
            })?;
        let given = |v: &str| Some(v.trim().to_string()).filter(|v| !v.is_empty());
        Ok(api::SourceBody {
            name,
            kind,
            url: self.url.trim().to_string(),
            schedule: given(&self.schedule),
            timezone: given(&self.timezone),
            allow_private: self.allow_private.is_some(),
            allow_loopback: self.allow_loopback.is_some(),
            proxy: given(&self.proxy),
            keywords: self.keywords.lines().filter_map(given).collect(),
            ytdlp_path: given(&self.ytdlp_path),
        })
    }

    /// The kinds to choose from, and whether each is the chosen one.
    fn kinds(&self) -> Vec<(&'static str, bool)> {
        source_kinds()
            .into_iter()
            .map(|k| (k, k == self.kind))
            .collect()
    }
}

fn source_kinds() -> Vec<&'static str> {
    SourceKind::value_variants()
        .iter()
        .map(|k| k.as_str())
        .collect()
}

/// One recent scan of a source.
struct ScanRow {
    started: String,
    status: ScanStatus,
    listed: i64,
    new: i64,
    matches: i64,
    errors: Vec<String>,
}

/// One source as its page shows it.
struct SourceRow {
    name: String,
    kind: &'static str,
    url: String,
    schedule: String,
    timezone: String,
    from_config: bool,
    /// In the source's time zone, or when it will run.
    next_run: String,
    last_run: String,
    last_error: Option<String>,
    quota_left: Option<String>,
    scans: Vec<ScanRow>,
}

/// Recent scans shown per source.
const SCANS_PER_SOURCE: i64 = 3;

#[derive(Template)]
#[template(path = "sources.html", config = "src/http/askama.toml")]
struct SourcesPage {
    lang: Lang,
    t: &'static Text,
    who: Option<Who>,
    here: String,
    csrf: String,
    may_admin: bool,
    rows: Vec<SourceRow>,
    notice: Option<String>,
    error: Option<String>,
    /// The add form (sources_form.html).
    form: SourceForm,
    kinds: Vec<(&'static str, bool)>,
    action: String,
    editing: bool,
}

/// What the sources page says after an action.
#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum SourceNotice {
    Added,
    Saved,
    Removed,
    Queued,
}

#[derive(Deserialize)]
pub struct SourcesQuery {
    notice: Option<SourceNotice>,
    source: Option<String>,
    scan: Option<String>,
}

/// The sources page: every source with its schedule, next run in its time
/// zone, quota and recent scans; for an admin the actions and the add
/// form (`form`, with `error` when a post was refused, answered `status`).
async fn sources_page(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    notice: Option<String>,
    refused: Option<(api::ApiError, SourceForm)>,
) -> Response {
    let lang = Lang::of(headers);
    let t = lang.text();
    let now = crate::clock::now();
    let loaded = async {
        let sources = state.store.list_sources().await?;
        let mut rows = Vec::with_capacity(sources.len());
        for s in sources {
            let scans = state
                .store
                .list_scans_of_source(&s.config.name, SCANS_PER_SOURCE)
                .await?;
            rows.push((s, scans));
        }
        Ok::<_, crate::store::StoreError>(rows)
    };
    let sources = match loaded.await {
        Ok(sources) => sources,
        Err(e) => return failure(e.into()),
    };
    let rows = sources
        .into_iter()
        .map(|(s, scans)| {
            let tz = s.config.cron().ok().map(|(_, tz)| tz);
            SourceRow {
                next_run: match (s.next_run(now), s.last_run_at) {
                    (Some(at), _) => in_zone(at, tz),
                    (None, None) => t.next_run_soon.to_string(),
                    (None, Some(_)) => t.never_fires.to_string(),
                },
                last_run: s.last_run_at.map(|at| in_zone(at, tz)).unwrap_or_default(),
                quota_left: s
                    .quota_left(now)
                    .map(|left| format!("{left} / {}", s.config.quota_per_day)),
                from_config: s.origin == SourceOrigin::Config,
                kind: s.config.kind.as_str(),
                scans: scans
                    .iter()
                    .map(|scan| ScanRow {
                        started: in_zone(scan.started_at, tz),
                        status: scan.status,
                        listed: scan.candidates,
                        new: scan.new_candidates,
                        matches: scan.new_matches,
                        errors: scan.errors.clone(),
                    })
                    .collect(),
                name: s.config.name,
                url: s.config.url,
                schedule: s.config.schedule,
                timezone: s.config.timezone,
                last_error: s.last_error,
            }
        })
        .collect();
    let (status, error, form) = match refused {
        Some((e, form)) => (e.0, Some(e.1), form),
        None => (StatusCode::OK, None, SourceForm::default()),
    };
    let mut page = render(&SourcesPage {
        lang,
        t,
        who: Some(who(caller)),
        here: "/sources".into(),
        csrf: caller.csrf.clone(),
        may_admin: caller.may(AccessRole::Admin),
        rows,
        notice,
        error,
        kinds: form.kinds(),
        form,
        action: "/sources".into(),
        editing: false,
    });
    if page.status() == StatusCode::OK {
        *page.status_mut() = status;
    }
    page
}

/// `GET /sources`: the sources; an admin also adds, edits, removes and
/// scans them.
pub async fn sources(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Query(query): Query<SourcesQuery>,
) -> Response {
    let t = Lang::of(&headers).text();
    let source = query.source.unwrap_or_default();
    let notice = query.notice.map(|notice| match notice {
        SourceNotice::Added => format!("{}: {source}", t.source_added),
        SourceNotice::Saved => format!("{}: {source}", t.source_saved),
        SourceNotice::Removed => format!("{}: {source}", t.source_removed),
        SourceNotice::Queued => format!(
            "{}: {source} ({})",
            t.scan_queued,
            query.scan.unwrap_or_default()
        ),
    });
    sources_page(&state, &caller, &headers, notice, None).await
}

/// Back to the sources page saying what was done.
fn sources_done(notice: &str, source: &str, scan: Option<&str>) -> Response {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("notice", notice);
    query.append_pair("source", source);
    if let Some(scan) = scan {
        query.append_pair("scan", scan);
    }
    Redirect::to(&format!("/sources?{}", query.finish())).into_response()
}

/// `POST /sources`: adds a source as `reelguard sources add` does; a
/// refused one shows the page again with the reason and what was posted.
pub async fn add_source(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Form(form): Form<SourceForm>,
) -> Response {
    let added = match form.body() {
        Ok(body) => api::add_source(&state, &body).await,
        Err(e) => Err(e),
    };
    match added {
        Ok(source) => sources_done("added", &source.config.name, None),
        Err(e) => sources_page(&state, &caller, &headers, None, Some((e, form))).await,
    }
}

#[derive(Template)]
#[template(path = "sources_edit.html", config = "src/http/askama.toml")]
struct SourceEditPage {
    lang: Lang,
    t: &'static Text,
    who: Option<Who>,
    here: String,
    csrf: String,
    name: String,
    error: Option<String>,
    /// Whether the source may be edited here (not from the config file).
    editable: bool,
    form: SourceForm,
    kinds: Vec<(&'static str, bool)>,
    action: String,
    editing: bool,
}

fn source_edit_page(
    caller: &Caller,
    headers: &HeaderMap,
    name: &str,
    form: SourceForm,
    refused: Option<api::ApiError>,
    editable: bool,
) -> Response {
    let lang = Lang::of(headers);
    let status = refused.as_ref().map_or(StatusCode::OK, |e| e.0);
    let mut page = render(&SourceEditPage {
        lang,
        t: lang.text(),
        who: Some(who(caller)),
        here: format!("/sources/{}/edit", url_encode(name)),
        csrf: caller.csrf.clone(),
        name: name.to_string(),
        error: refused.map(|e| e.1),
        editable,
        kinds: form.kinds(),
        form,
        action: format!("/sources/{}/edit", url_encode(name)),
        editing: true,
    });
    if page.status() == StatusCode::OK {
        *page.status_mut() = status;
    }
    page
}

/// `GET /sources/{name}/edit`: the source's form, prefilled. A source of
/// the config file is not edited here (nor by the command line): the page
/// says where to change it.
pub async fn edit_source_form(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let source = match state.store.get_source(&name).await {
        Ok(source) => source,
        Err(e) => return failure(e.into()),
    };
    let form = SourceForm::of(&source.config);
    if source.origin == SourceOrigin::Config {
        let why = api::ApiError(
            StatusCode::CONFLICT,
            Lang::of(&headers).text().from_config.to_string(),
        );
        return source_edit_page(&caller, &headers, &name, form, Some(why), false);
    }
    source_edit_page(&caller, &headers, &name, form, None, true)
}

/// `POST /sources/{name}/edit`: saves the form over the source's settings
/// (its run state stays); a refused form is shown again with the reason.
pub async fn edit_source(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Form(mut form): Form<SourceForm>,
) -> Response {
    if let Ok(stored) = state.store.get_source(&name).await {
        form.proxy = with_kept_password(&form.proxy, stored.config.proxy.as_deref());
    }
    let saved = match form.body() {
        Ok(body) => api::edit_source(&state, &name, &body).await,
        Err(e) => Err(e),
    };
    // A refused form is shown again without the password.
    form.proxy = shown_proxy(&form.proxy);
    match saved {
        Ok(source) => sources_done("saved", &source.config.name, None),
        Err(e) if e.0 == StatusCode::NOT_FOUND => failure(e),
        Err(e) => {
            let editable = e.0 != StatusCode::CONFLICT;
            source_edit_page(&caller, &headers, &name, form, Some(e), editable)
        }
    }
}

#[derive(Deserialize)]
pub struct RemoveForm {
    confirm: Option<String>,
}

/// `POST /sources/{name}/remove`: removes the source once the form's
/// `confirm` box is ticked, as `reelguard sources remove` does.
pub async fn remove_source(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Form(form): Form<RemoveForm>,
) -> Response {
    let removed = if form.confirm.as_deref() == Some("yes") {
        api::remove_source(&state, &name).await
    } else {
        Err(api::ApiError::bad_request(format!(
            "source {name:?} was not removed: tick the box beside Remove to confirm"
        )))
    };
    match removed {
        Ok(source) => sources_done("removed", &source.config.name, None),
        Err(e) => {
            let refused = Some((e, SourceForm::default()));
            sources_page(&state, &caller, &headers, None, refused).await
        }
    }
}

/// `POST /sources/{name}/scan`: queues a scan now, as the scheduler does.
pub async fn scan_source(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    match api::queue_scan(&state, &name).await {
        Ok(scan) => sources_done("queued", &name, Some(&scan)),
        Err(e) => {
            let refused = Some((e, SourceForm::default()));
            sources_page(&state, &caller, &headers, None, refused).await
        }
    }
}

/// One outbox row as the alerts page shows it.
struct AlertRow {
    id: String,
    match_id: String,
    channel: String,
    recipient: String,
    state: AlertState,
    attempts: i64,
    created: String,
    /// Delivered at (sent) or next attempt (waiting).
    when: String,
    error: Option<String>,
    answer: Option<String>,
}

#[derive(Template)]
#[template(path = "alerts.html", config = "src/http/askama.toml")]
struct AlertsPage {
    lang: Lang,
    t: &'static Text,
    who: Option<Who>,
    here: String,
    csrf: String,
    may_retry: bool,
    may_retry_all: bool,
    rows: Vec<AlertRow>,
    failed: usize,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct AlertsQuery {
    retried: Option<u64>,
}

/// Alerts listed on the page, newest first.
const ALERTS_SHOWN: i64 = 500;

async fn alerts_page(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    notice: Option<String>,
    refused: Option<api::ApiError>,
) -> Response {
    let lang = Lang::of(headers);
    let alerts = match state.store.list_alerts(ALERTS_SHOWN).await {
        Ok(alerts) => alerts,
        Err(e) => return failure(e.into()),
    };
    let rows: Vec<AlertRow> = alerts
        .into_iter()
        .map(|a| AlertRow {
            when: match a.state {
                AlertState::Delivered => a.delivered_at.map(to_seconds).unwrap_or_default(),
                AlertState::Queued => to_seconds(a.next_attempt_at.max(a.due_at)),
                AlertState::Sending | AlertState::Failed => String::new(),
            },
            created: to_seconds(a.created_at),
            id: a.id,
            match_id: a.match_id,
            channel: a.channel,
            recipient: crate::secret::redact_recipient(&a.recipient),
            state: a.state,
            attempts: a.attempts,
            error: a
                .last_error
                .as_deref()
                .map(crate::secret::redact_urls_in_text),
            answer: a
                .server_response
                .as_deref()
                .map(crate::secret::redact_urls_in_text),
        })
        .collect();
    let status = refused.as_ref().map_or(StatusCode::OK, |e| e.0);
    let mut page = render(&AlertsPage {
        lang,
        t: lang.text(),
        who: Some(who(caller)),
        here: "/alerts".into(),
        csrf: caller.csrf.clone(),
        may_retry: caller.may(AccessRole::Reviewer),
        may_retry_all: caller.may(AccessRole::Admin),
        failed: rows
            .iter()
            .filter(|r| r.state == AlertState::Failed)
            .count(),
        rows,
        notice,
        error: refused.map(|e| e.1),
    });
    if page.status() == StatusCode::OK {
        *page.status_mut() = status;
    }
    page
}

/// `GET /alerts`: the outbox: sent, waiting, and failed with the reason;
/// a reviewer retries a failed alert, an admin all of them.
pub async fn alerts(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Query(query): Query<AlertsQuery>,
) -> Response {
    let t = Lang::of(&headers).text();
    let notice = query.retried.map(|n| format!("{}: {n}", t.retried));
    alerts_page(&state, &caller, &headers, notice, None).await
}

/// `POST /alerts/{id}/retry`: queues one failed alert again.
pub async fn retry_alert(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    match api::retry_alert(&state, &id).await {
        Ok(_) => Redirect::to("/alerts?retried=1").into_response(),
        Err(e) => alerts_page(&state, &caller, &headers, None, Some(e)).await,
    }
}

/// `POST /alerts/retry`: queues every failed alert again. An admin's, as
/// in the API (`api::retry_failed_alerts` says why).
pub async fn retry_failed_alerts(State(state): State<AppState>) -> Response {
    match state.store.retry_failed_alerts(crate::clock::now()).await {
        Ok(n) => Redirect::to(&format!("/alerts?retried={n}")).into_response(),
        Err(e) => failure(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_form_never_shows_a_proxy_password_and_keeps_it_when_posted_back() {
        let stored = "http://agent:s%40cret@proxy.example:3128";
        let shown = shown_proxy(stored);
        assert!(!shown.contains("cret"), "{shown}");
        assert!(
            shown.contains("agent:********@proxy.example:3128"),
            "{shown}"
        );
        // Posted back unchanged: the stored password stays.
        let kept = url::Url::parse(&with_kept_password(&shown, Some(stored))).unwrap();
        assert_eq!(
            (kept.username(), kept.password()),
            ("agent", Some("s%40cret"))
        );
        // A new password, or no proxy password at all, is saved as posted.
        let changed = "http://agent:new@proxy.example:3128";
        assert_eq!(with_kept_password(changed, Some(stored)), changed);
        assert_eq!(with_kept_password(&shown, None), shown);
        assert_eq!(
            shown_proxy("socks5h://127.0.0.1:9050"),
            "socks5h://127.0.0.1:9050"
        );
    }
}
