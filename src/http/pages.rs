//! The dashboard: server-rendered pages (askama templates in
//! `templates/`, escaped by default), the sign-in, the review forms, and
//! the files a match page plays and shows.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use chrono::Duration;
use serde::Deserialize;

use super::access::{self, Caller};
use super::api::{self, MatchQuery};
use super::text::{Lang, Text, LANG_COOKIE};
use super::AppState;
use crate::clock::to_seconds;
use crate::domain::{AccessRole, MatchStatus, Named};
use crate::evidence::Blobs;
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
    /// Other places the same upload was found.
    locations: Vec<crate::store::Candidate>,
    /// When, from, to, note, by.
    history: Vec<(String, MatchStatus, MatchStatus, String, String)>,
    actions: Vec<MatchStatus>,
    confirmed: bool,
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
        let locations = state.store.match_locations(&m.id).await?;
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
        locations,
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
    let blob = Blobs::new(&state.data_dir).path(&file.sha256);
    serve_file(&blob, content_type(&file.path), request).await
}

/// `GET /matches/{id}/bundle.zip`.
pub async fn bundle(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match api::bundle_response(&state, &id).await {
        Ok(response) => response,
        Err(e) => failure(e),
    }
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

/// One cell of a listing.
struct Cell {
    text: String,
    href: Option<String>,
}

fn cell(text: impl Into<String>) -> Cell {
    Cell {
        text: text.into(),
        href: None,
    }
}

#[derive(Template)]
#[template(path = "table.html", config = "src/http/askama.toml")]
struct TablePage {
    lang: Lang,
    t: &'static Text,
    who: Option<Who>,
    here: String,
    heading: &'static str,
    headers: Vec<&'static str>,
    rows: Vec<Vec<Cell>>,
}

fn table_page(
    caller: &Caller,
    headers: &HeaderMap,
    here: &str,
    heading: impl Fn(&Text) -> &'static str,
    columns: impl Fn(&Text) -> Vec<&'static str>,
    rows: Vec<Vec<Cell>>,
) -> Response {
    let lang = Lang::of(headers);
    let t = lang.text();
    render(&TablePage {
        lang,
        t,
        who: Some(who(caller)),
        here: here.to_string(),
        heading: heading(t),
        headers: columns(t),
        rows,
    })
}

/// `GET /sources`.
pub async fn sources(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Response {
    let sources = match state.store.list_sources().await {
        Ok(sources) => sources,
        Err(e) => return failure(e.into()),
    };
    let rows = sources
        .iter()
        .map(|s| {
            vec![
                cell(&s.config.name),
                cell(s.config.kind.as_str()),
                cell(&s.config.url),
                cell(format!("{} ({})", s.config.schedule, s.config.timezone)),
                cell(s.last_run_at.map(to_seconds).unwrap_or_default()),
                cell(s.next_run_at.map(to_seconds).unwrap_or_default()),
                cell(s.last_error.clone().unwrap_or_default()),
            ]
        })
        .collect();
    table_page(
        &caller,
        &headers,
        "/sources",
        |t| t.sources,
        |t| {
            vec![
                t.name,
                t.kind,
                "URL",
                t.schedule,
                t.last_run,
                t.next_run,
                t.last_error,
            ]
        },
        rows,
    )
}

/// `GET /alerts`.
pub async fn alerts(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Response {
    let alerts = match state.store.list_alerts(500).await {
        Ok(alerts) => alerts,
        Err(e) => return failure(e.into()),
    };
    let rows = alerts
        .iter()
        .map(|a| {
            vec![
                Cell {
                    text: a.match_id.clone(),
                    href: Some(format!("/matches/{}", a.match_id)),
                },
                cell(&a.channel),
                cell(&a.recipient),
                cell(a.state.to_string()),
                cell(a.attempts.to_string()),
                cell(to_seconds(a.created_at)),
                cell(a.last_error.clone().unwrap_or_default()),
            ]
        })
        .collect();
    table_page(
        &caller,
        &headers,
        "/alerts",
        |t| t.alerts,
        |t| {
            vec![
                t.open,
                t.channel,
                t.recipient,
                t.status,
                t.attempts,
                t.found,
                t.error,
            ]
        },
        rows,
    )
}
