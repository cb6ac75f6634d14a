//! The JSON API under `/api/v1`, and its OpenAPI 3.1 document
//! (`/api/openapi.json`), derived from the handlers' annotations and the
//! shapes of [`crate::shapes`], never written by hand.

use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{DateTime, NaiveDate, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::access::{hash_token, new_token, Caller};
use super::AppState;
use crate::domain::{AccessRole, MatchStatus, SourceOrigin};
use crate::evidence::bundle;
use crate::shapes::{
    AlertJson, AlertsRetriedJson, CaptureJson, LocationJson, MatchFullJson, MatchJson,
    NewTokenJson, ReviewDoneJson, ReviewJson, ScanJson, ScanQueuedJson, SourceJson, TokenJson,
    WorkJson,
};
use crate::source_config::{SourceConfig, SourceKind};
use crate::store::{AlertRecord, MatchFilter, MatchRecord, StoreError, StoredSource};

/// An error answer: what went wrong and what to do.
#[derive(Serialize, ToSchema)]
pub struct ErrorJson {
    pub error: String,
}

/// An error answer with `status`.
pub fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(ErrorJson {
            error: message.to_string(),
        }),
    )
        .into_response()
}

/// A failed API call: its status and message.
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub String);

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError(StatusCode::BAD_REQUEST, message.into())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let status = match &e {
            StoreError::MatchNotFound(_)
            | StoreError::WorkNotFound(_)
            | StoreError::SourceNotFound(_)
            | StoreError::TokenNotFound(_) => StatusCode::NOT_FOUND,
            StoreError::AmbiguousMatch { .. } | StoreError::AmbiguousWork { .. } => {
                StatusCode::BAD_REQUEST
            }
            StoreError::BadTransition { .. } | StoreError::TokenNameTaken(_) => {
                StatusCode::CONFLICT
            }
            _ => {
                tracing::error!("API: {e}");
                return ApiError(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the database failed; the server log says why".into(),
                );
            }
        };
        ApiError(status, e.to_string())
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        match e.downcast::<StoreError>() {
            Ok(store) => store.into(),
            Err(e) => {
                tracing::error!("API: {e:#}");
                ApiError(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}"))
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error(self.0, &self.1)
    }
}

type ApiResult<T> = Result<Json<T>, ApiError>;

/// A JSON request body; when it cannot be read, the answer is an
/// [`ErrorJson`] with axum's status: 400 (not JSON), 413 (too large), 415
/// (no `Content-Type: application/json`) or 422 (JSON of another shape).
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(body)) => Ok(Body(body)),
            Err(rejection) => Err(ApiError(rejection.status(), rejection.body_text())),
        }
    }
}

/// A query string; when it cannot be read, a 400 [`ErrorJson`].
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(query)) => Ok(Params(query)),
            Err(rejection) => Err(ApiError(rejection.status(), rejection.body_text())),
        }
    }
}

/// The `{id}` of a path; when it is not UTF-8, a 400 [`ErrorJson`].
pub struct Id(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(id)) => Ok(Id(id)),
            Err(rejection) => Err(ApiError(rejection.status(), rejection.body_text())),
        }
    }
}

/// The match whose id is `id` or starts with it. No id holds a NUL
/// character (and PostgreSQL takes none in a query): such an `id` names
/// no match.
async fn find_match(state: &AppState, id: &str) -> Result<MatchRecord, ApiError> {
    if id.contains('\0') {
        return Err(StoreError::MatchNotFound(id.to_string()).into());
    }
    Ok(state.store.find_match(id).await?)
}

/// Which matches to list, and which page of them.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MatchQuery {
    /// pending, confirmed, dismissed, licensed, claimed or resolved
    #[param(value_type = Option<MatchStatus>)]
    pub status: Option<String>,
    /// A work id.
    #[param(pattern = r"^[^\x00]*$")]
    pub work: Option<String>,
    /// A source name.
    #[param(pattern = r"^[^\x00]*$")]
    pub source: Option<String>,
    #[param(pattern = r"^[^\x00]*$")]
    pub platform: Option<String>,
    /// Found on or after (YYYY-MM-DD or RFC 3339).
    #[param(schema_with = day_or_time)]
    pub since: Option<String>,
    /// Found on or before (YYYY-MM-DD, the whole day) or before (RFC 3339).
    #[param(schema_with = day_or_time)]
    pub until: Option<String>,
    /// Matches per page, 1–200 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 200)]
    pub limit: Option<String>,
    /// Matches skipped (default 0).
    #[param(value_type = Option<u64>, minimum = 0, maximum = 9007199254740991_u64)]
    pub offset: Option<String>,
}

/// The schema of `since` and `until`: a day or an RFC 3339 time.
fn day_or_time() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{
        KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type,
    };
    let string = |format| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(format)))
    };
    let one_of = OneOfBuilder::new()
        .item(string(KnownFormat::Date))
        .item(string(KnownFormat::DateTime))
        .build();
    Schema::OneOf(one_of)
}

/// The largest page of a listing.
pub const MAX_PAGE: u32 = 200;
/// The largest offset: 2⁵³ − 1, the largest whole number every JSON
/// reader holds exactly.
pub const MAX_OFFSET: u64 = (1 << 53) - 1;

impl MatchQuery {
    /// The store's filter, with every value checked.
    pub fn filter(&self) -> Result<MatchFilter, ApiError> {
        let values = [
            ("status", &self.status),
            ("work", &self.work),
            ("source", &self.source),
            ("platform", &self.platform),
            ("since", &self.since),
            ("until", &self.until),
        ];
        for (key, value) in values {
            if let Some(v) = value.as_deref().filter(|v| v.contains('\0')) {
                return Err(ApiError::bad_request(format!(
                    "{key} = {v:?}: no {key} holds a NUL character"
                )));
            }
        }
        let status = match given(&self.status) {
            Some(s) => Some(
                s.parse::<MatchStatus>()
                    .map_err(|e| ApiError::bad_request(format!("status: {e}")))?,
            ),
            None => None,
        };
        Ok(MatchFilter {
            status,
            work: given(&self.work).map(str::to_string),
            source: given(&self.source).map(str::to_string),
            platform: given(&self.platform).map(str::to_string),
            since: given(&self.since)
                .map(|v| parse_day_or_time("since", v, false))
                .transpose()?,
            until: given(&self.until)
                .map(|v| parse_day_or_time("until", v, true))
                .transpose()?,
        })
    }

    /// The page: (limit, offset).
    pub fn page(&self) -> Result<(u32, u64), ApiError> {
        let limit = match self.limit.as_deref().filter(|v| !v.is_empty()) {
            Some(v) => v
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_PAGE).contains(n))
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "limit = {v:?}: give a number from 1 to {MAX_PAGE}"
                    ))
                })?,
            None => 50,
        };
        let offset = match self.offset.as_deref().filter(|v| !v.is_empty()) {
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| *n <= MAX_OFFSET)
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "offset = {v:?}: give a whole number from 0 to {MAX_OFFSET}"
                    ))
                })?,
            None => 0,
        };
        Ok((limit, offset))
    }
}

impl MatchQuery {
    /// The API takes the values the document describes exactly: a blank
    /// status, time or page value, or one with white space around it, is
    /// refused there (the dashboard's forms send blanks for "any").
    fn exact(&self) -> Result<(), ApiError> {
        let values = [
            ("status", &self.status),
            ("since", &self.since),
            ("until", &self.until),
            ("limit", &self.limit),
            ("offset", &self.offset),
        ];
        for (key, value) in values {
            if let Some(v) = value.as_deref().filter(|v| v.is_empty() || v.trim() != *v) {
                return Err(ApiError::bad_request(format!(
                    "{key} = {v:?}: leave it out, or give a value without white space around it"
                )));
            }
        }
        Ok(())
    }
}

/// A query value, unless absent or blank.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// A day (its start; with `end_of_day`, the next day's start) or an RFC 3339 time.
fn parse_day_or_time(key: &str, value: &str, end_of_day: bool) -> Result<DateTime<Utc>, ApiError> {
    if let Ok(day) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        let day = if end_of_day {
            day.succ_opt().unwrap_or(day)
        } else {
            day
        };
        return Ok(day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc());
    }
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            ApiError::bad_request(format!(
                "{key} = {value:?}: give a day (2026-12-06) or an RFC 3339 time"
            ))
        })
}

/// One page of matches, newest first.
#[derive(Serialize, ToSchema)]
pub struct MatchListJson {
    pub matches: Vec<MatchJson>,
    /// How many matches the filter selects in all.
    pub total: u64,
    pub limit: u32,
    pub offset: u64,
}

#[utoipa::path(get, path = "/api/v1/matches", tag = "matches", params(MatchQuery),
    responses(
        (status = 200, body = MatchListJson, description = "One page of matches"),
        (status = 400, body = ErrorJson, description = "A filter or the page is not one the API takes (see the parameters)"),
    ),
    security(("bearer" = [])))]
/// Matches, newest first, filtered and paged.
pub async fn list_matches(
    State(state): State<AppState>,
    Params(query): Params<MatchQuery>,
) -> ApiResult<MatchListJson> {
    query.exact()?;
    let filter = query.filter()?;
    let (limit, offset) = query.page()?;
    let page = state.store.page_of_matches(&filter, limit, offset).await?;
    Ok(Json(MatchListJson {
        matches: page
            .matches
            .iter()
            .map(|m| MatchJson::new(m, true))
            .collect(),
        total: page.total,
        limit,
        offset,
    }))
}

#[utoipa::path(get, path = "/api/v1/matches/{id}", tag = "matches",
    params(("id" = String, Path, description = "The match's id or a unique prefix")),
    responses(
        (status = 200, body = MatchFullJson, description = "The match"),
        (status = 400, body = ErrorJson, description = "The id is not UTF-8, or the prefix names more than one match"),
        (status = 404, body = ErrorJson, description = "No match has this id or prefix"),
    ),
    security(("bearer" = [])))]
/// One match in full: details, review history (with who reviewed) and capture.
pub async fn show_match(State(state): State<AppState>, Id(id): Id) -> ApiResult<MatchFullJson> {
    let m = find_match(&state, &id).await?;
    let history = state.store.status_history(&m.id).await?;
    let capture = state.store.capture(&m.id).await?;
    let locations = state.store.captured_locations(&m.id).await?;
    Ok(Json(MatchFullJson {
        summary: MatchJson::new(&m, true),
        locations: locations
            .iter()
            .map(|(l, capture)| LocationJson::new(l, capture))
            .collect(),
        history: history.iter().map(ReviewJson::from).collect(),
        capture: CaptureJson::from(&capture),
    }))
}

/// A review decision.
#[derive(Deserialize, ToSchema)]
pub struct ReviewBody {
    /// confirmed, dismissed, licensed, claimed or resolved
    pub status: MatchStatus,
    /// Why, in the reviewer's words (kept in the history); any text but
    /// the NUL character.
    #[schema(pattern = r"^[^\x00]*$")]
    pub note: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/matches/{id}/review", tag = "matches",
    params(("id" = String, Path, description = "The match's id or a unique prefix")),
    request_body = ReviewBody,
    responses(
        (status = 200, body = ReviewDoneJson, description = "The match's status before and after"),
        (status = 400, body = ErrorJson, description = "The body is not JSON, the note holds a NUL character, the id is not UTF-8 or the prefix names more than one match"),
        (status = 403, body = ErrorJson, description = "The token is a viewer's, or a session sent no CSRF token"),
        (status = 404, body = ErrorJson, description = "No match has this id or prefix"),
        (status = 409, body = ErrorJson, description = "The review flow does not allow this change"),
        (status = 413, body = ErrorJson, description = "The body is larger than 2 MiB"),
        (status = 415, body = ErrorJson, description = "The body is not sent as application/json"),
        (status = 422, body = ErrorJson, description = "The JSON is not a review (e.g. an unknown status)"),
    ),
    security(("bearer" = [])))]
/// Reviews a match: the change is recorded with the token's name.
pub async fn review_match(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Id(id): Id,
    Body(body): Body<ReviewBody>,
) -> ApiResult<ReviewDoneJson> {
    let m = find_match(&state, &id).await?;
    if body.note.as_deref().is_some_and(|n| n.contains('\0')) {
        return Err(ApiError::bad_request(
            "note: a NUL character cannot be kept; leave it out",
        ));
    }
    let note = body
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let change = state
        .store
        .set_match_status(
            &m.id,
            body.status,
            note,
            Some(&caller.token.name),
            crate::clock::now(),
        )
        .await?;
    Ok(Json(ReviewDoneJson {
        id: m.id,
        from: change.from,
        status: change.to,
        note: change.note,
        at: crate::clock::to_seconds(change.at),
    }))
}

/// Answers with the file at `path` as a download named `file_name`.
pub async fn attachment(
    path: &std::path::Path,
    content_type: &'static str,
    file_name: &str,
) -> Result<Response, ApiError> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
    let length = file.metadata().await.map_err(anyhow::Error::from)?.len();
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(file));
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_LENGTH, length.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// A scratch directory in the data dir, removed when dropped.
pub fn scratch(state: &AppState, prefix: &str) -> Result<tempfile::TempDir, ApiError> {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(&state.data_dir)
        .map_err(|e| {
            ApiError::from(anyhow::anyhow!(
                "cannot make a directory in {}: {e}",
                state.data_dir.display()
            ))
        })
}

/// Exports the evidence bundle of match `id` and answers with it.
pub async fn bundle_response(state: &AppState, id: &str) -> Result<Response, ApiError> {
    let m = find_match(state, id).await?;
    let scratch = scratch(state, "bundle-")?;
    let out = scratch.path().join("bundle.zip");
    bundle::export(&state.capture_env(), &state.stamper, &m.id, &out)
        .await
        .map_err(evidence_error)?;
    // The open file outlives its directory: the answer streams it.
    let answer = attachment(
        &out,
        "application/zip",
        &format!("reelguard-match-{}.zip", m.id),
    )
    .await;
    drop(scratch);
    answer
}

#[utoipa::path(get, path = "/api/v1/matches/{id}/bundle", tag = "matches",
    params(("id" = String, Path, description = "The match's id or a unique prefix")),
    responses(
        (status = 200, content_type = "application/zip", description = "The evidence bundle"),
        (status = 400, body = ErrorJson, description = "The id is not UTF-8, or the prefix names more than one match"),
        (status = 403, body = ErrorJson, description = "The token is a viewer's"),
        (status = 404, body = ErrorJson, description = "No match has this id or prefix"),
        (status = 409, body = ErrorJson, description = "The match is not captured yet"),
    ),
    security(("bearer" = [])))]
/// The evidence bundle of a match (a zip that `reelguard verify` checks).
pub async fn match_bundle(State(state): State<AppState>, Id(id): Id) -> Result<Response, ApiError> {
    bundle_response(&state, &id).await
}

/// An evidence step that failed: a store error as such, anything else
/// (not captured yet, a token that no longer checks) a 409 saying why.
fn evidence_error(e: anyhow::Error) -> ApiError {
    match e.downcast::<StoreError>() {
        Ok(store) => ApiError::from(store),
        Err(e) => ApiError(StatusCode::CONFLICT, format!("{e:#}")),
    }
}

/// The takedown texts of a match, as an export now would write them.
#[derive(Serialize, ToSchema)]
pub struct TakedownJson {
    pub match_id: String,
    pub status: MatchStatus,
    /// Whether the texts are drafts (the match is not confirmed): marked so
    /// at the top and unsigned.
    pub draft: bool,
    pub files: Vec<TakedownFileJson>,
}

/// One text of the bundle's `takedown/`.
#[derive(Serialize, ToSchema)]
pub struct TakedownFileJson {
    /// Its path in the bundle, e.g. `takedown/dmca-notice.txt`.
    pub path: String,
    pub text: String,
}

/// The takedown texts of match `id` (which must be captured).
pub async fn takedown_of(state: &AppState, id: &str) -> Result<TakedownJson, ApiError> {
    let m = find_match(state, id).await?;
    let claim = bundle::claim(&state.capture_env(), &state.stamper, &m.id)
        .await
        .map_err(evidence_error)?;
    Ok(TakedownJson {
        match_id: claim.match_id.clone(),
        status: claim.status,
        draft: !claim.is_confirmed(),
        files: crate::evidence::takedown::takedown_files(&claim)
            .into_iter()
            .map(|(path, text)| TakedownFileJson { path, text })
            .collect(),
    })
}

#[utoipa::path(get, path = "/api/v1/matches/{id}/takedown", tag = "matches",
    params(("id" = String, Path, description = "The match's id or a unique prefix")),
    responses(
        (status = 200, body = TakedownJson, description = "The takedown texts"),
        (status = 400, body = ErrorJson, description = "The id is not UTF-8, or the prefix names more than one match"),
        (status = 403, body = ErrorJson, description = "The token is a viewer's"),
        (status = 404, body = ErrorJson, description = "No match has this id or prefix"),
        (status = 409, body = ErrorJson, description = "The match is not captured yet"),
    ),
    security(("bearer" = [])))]
/// The takedown texts of a match (the DMCA notice, the YouTube and TikTok
/// forms, the email), as its evidence bundle would hold them now: drafts
/// until a reviewer confirms the match.
pub async fn match_takedown(State(state): State<AppState>, Id(id): Id) -> ApiResult<TakedownJson> {
    Ok(Json(takedown_of(&state, &id).await?))
}

/// The registered works.
#[derive(Serialize, ToSchema)]
pub struct WorkListJson {
    pub works: Vec<WorkJson>,
}

#[utoipa::path(get, path = "/api/v1/works", tag = "works",
    responses((status = 200, body = WorkListJson, description = "The works")),
    security(("bearer" = [])))]
/// The registered works, oldest first.
pub async fn list_works(State(state): State<AppState>) -> ApiResult<WorkListJson> {
    let works = state.store.list_works().await?;
    Ok(Json(WorkListJson {
        works: works.iter().map(WorkJson::from).collect(),
    }))
}

/// The watched sources.
#[derive(Serialize, ToSchema)]
pub struct SourceListJson {
    pub sources: Vec<SourceJson>,
}

/// A source as shown: its next run is the planned one, else the
/// schedule's next firing (as `reelguard sources list` shows it).
fn source_json(mut source: StoredSource, now: DateTime<Utc>) -> SourceJson {
    source.next_run_at = source.next_run(now);
    SourceJson::from(&source)
}

#[utoipa::path(get, path = "/api/v1/sources", tag = "sources",
    responses((status = 200, body = SourceListJson, description = "The sources")),
    security(("bearer" = [])))]
/// The watched sources with their last and next runs and API quota.
pub async fn list_sources(State(state): State<AppState>) -> ApiResult<SourceListJson> {
    let now = crate::clock::now();
    let sources = state.store.list_sources().await?;
    Ok(Json(SourceListJson {
        sources: sources.into_iter().map(|s| source_json(s, now)).collect(),
    }))
}

/// A source's settings as `reelguard sources add` takes them (the others
/// keep their defaults). Saving them over a source replaces its settings,
/// as `sources add` with the same name does, and keeps its run state.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceBody {
    /// Letters, digits, '-', '_' and '.'.
    #[schema(pattern = r"^[A-Za-z0-9._-]+$")]
    pub name: String,
    #[schema(schema_with = source_kind)]
    pub kind: SourceKind,
    /// Feed, page or channel-feed URL; the API base URL for
    /// youtube-search; the directory's absolute path for folder.
    pub url: String,
    /// Cron schedule: 6 fields with seconds, or a 5-field crontab
    /// (default: hourly, "0 0 * * * *").
    pub schedule: Option<String>,
    /// IANA time zone of the schedule (default: UTC).
    pub timezone: Option<String>,
    /// Let the source reach private, loopback and link-local addresses.
    #[serde(default)]
    pub allow_private: bool,
    /// Let the source reach loopback addresses (127.0.0.0/8, ::1) only.
    #[serde(default)]
    pub allow_loopback: bool,
    /// Proxy for every request: http://, https://, socks5:// or socks5h://.
    pub proxy: Option<String>,
    /// youtube-search: extra search terms.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// The yt-dlp program for this source.
    pub ytdlp_path: Option<String>,
}

/// The schema of a source's kind: its names.
fn source_kind() -> utoipa::openapi::schema::Schema {
    use clap::ValueEnum;
    use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
    let names: Vec<&str> = SourceKind::value_variants()
        .iter()
        .map(|k| k.as_str())
        .collect();
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(names))
            .build(),
    )
}

impl SourceBody {
    /// The source's configuration, built as `sources add` builds it and
    /// checked by the same `SourceConfig::validate`.
    pub fn config(&self) -> Result<SourceConfig, ApiError> {
        let texts = [
            ("name", Some(&self.name)),
            ("url", Some(&self.url)),
            ("schedule", self.schedule.as_ref()),
            ("timezone", self.timezone.as_ref()),
            ("proxy", self.proxy.as_ref()),
            ("ytdlp_path", self.ytdlp_path.as_ref()),
        ];
        let keywords = self.keywords.iter().map(|k| ("keywords", Some(k)));
        for (key, value) in texts.into_iter().chain(keywords) {
            if let Some(v) = value.filter(|v| v.contains('\0')) {
                return Err(ApiError::bad_request(format!(
                    "sources.{}.{key} = {v:?}: a NUL character cannot be kept; leave it out",
                    self.name.replace('\0', "")
                )));
            }
        }
        let mut config = SourceConfig::new(&self.name, self.kind, &self.url);
        if let Some(schedule) = &self.schedule {
            config.schedule = schedule.clone();
        }
        if let Some(timezone) = &self.timezone {
            config.timezone = timezone.clone();
        }
        config.allow_private = self.allow_private;
        config.allow_loopback = self.allow_loopback;
        config.proxy = self.proxy.clone();
        config.keywords = self.keywords.clone();
        config.ytdlp_path = self.ytdlp_path.clone();
        config
            .validate()
            .map_err(|e| ApiError::bad_request(format!("{e:#}")))?;
        // `sources add` makes a relative directory absolute from where it
        // runs; the server's working directory is not the caller's.
        if config.kind == SourceKind::Folder && !std::path::Path::new(&config.url).is_absolute() {
            return Err(ApiError::bad_request(format!(
                "sources.{}.url = {:?}: give the directory as an absolute path (e.g. /srv/downloads)",
                config.name, config.url
            )));
        }
        Ok(config)
    }
}

/// The refusal of a change to a source of the config file: the command
/// line refuses it too, since the next start would write the file's
/// settings back.
fn declared_in_config(name: &str) -> ApiError {
    ApiError(
        StatusCode::CONFLICT,
        format!("source {name:?} is declared in the config file ([[sources]]); change or remove it there"),
    )
}

/// The source named `name`, when it may be changed here (it was not
/// declared in the config file).
async fn changeable_source(state: &AppState, name: &str) -> Result<StoredSource, ApiError> {
    if name.contains('\0') {
        return Err(StoreError::SourceNotFound(name.to_string()).into());
    }
    let source = state.store.get_source(name).await?;
    if source.origin == SourceOrigin::Config {
        return Err(declared_in_config(name));
    }
    Ok(source)
}

/// Adds a source as `reelguard sources add` does (origin `cli`: not from
/// the config file); refused when the name is taken.
pub async fn add_source(state: &AppState, body: &SourceBody) -> Result<StoredSource, ApiError> {
    let config = body.config()?;
    match state.store.get_source(&config.name).await {
        Ok(existing) if existing.origin == SourceOrigin::Config => {
            return Err(declared_in_config(&config.name))
        }
        Ok(_) => {
            return Err(ApiError(
                StatusCode::CONFLICT,
                format!(
                    "a source is already named {:?}; edit it, or choose another name",
                    config.name
                ),
            ))
        }
        Err(StoreError::SourceNotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let now = crate::clock::now();
    state
        .store
        .upsert_source(&config, SourceOrigin::Cli, now)
        .await?;
    Ok(state.store.get_source(&config.name).await?)
}

/// Replaces the settings of source `name` (not renamed; not one of the
/// config file). A new schedule or time zone forgets the planned next run,
/// so the scheduler plans it from the new one.
pub async fn edit_source(
    state: &AppState,
    name: &str,
    body: &SourceBody,
) -> Result<StoredSource, ApiError> {
    let before = changeable_source(state, name).await?;
    let config = body.config()?;
    if config.name != before.config.name {
        return Err(ApiError::bad_request(format!(
            "name = {:?}: source {name:?} cannot be renamed; remove it and add the new name",
            config.name
        )));
    }
    state
        .store
        .upsert_source(&config, SourceOrigin::Cli, crate::clock::now())
        .await?;
    if (&config.schedule, &config.timezone) != (&before.config.schedule, &before.config.timezone) {
        state.store.set_next_run(name, None).await?;
    }
    Ok(state.store.get_source(name).await?)
}

/// Removes source `name` (not one of the config file), as `reelguard
/// sources remove` does; its scans and matches stay.
pub async fn remove_source(state: &AppState, name: &str) -> Result<StoredSource, ApiError> {
    let source = changeable_source(state, name).await?;
    state.store.remove_source(name).await?;
    Ok(source)
}

/// Queues a scan of source `name` as the scheduler and `reelguard scan`
/// do (or finds the one already queued or running); a daemon's workers,
/// or `reelguard scan`, carry it out. Returns the scan's id.
pub async fn queue_scan(state: &AppState, name: &str) -> Result<String, ApiError> {
    if name.contains('\0') {
        return Err(StoreError::SourceNotFound(name.to_string()).into());
    }
    let source = state.store.get_source(name).await?;
    Ok(state
        .store
        .enqueue_scan(
            &source.config.name,
            crate::clock::now(),
            i64::from(state.settings.scan_max_attempts),
        )
        .await?)
}

#[utoipa::path(post, path = "/api/v1/sources", tag = "sources", request_body = SourceBody,
    responses(
        (status = 201, body = SourceJson, description = "The source, added"),
        (status = 400, body = ErrorJson, description = "The body is not JSON, or a setting is not valid (the error names the key, the value and why)"),
        (status = 403, body = ErrorJson, description = "The token is not an admin's, or a session sent no CSRF token"),
        (status = 409, body = ErrorJson, description = "A source has this name (or the config file declares it)"),
        (status = 413, body = ErrorJson, description = "The body is larger than 2 MiB"),
        (status = 415, body = ErrorJson, description = "The body is not sent as application/json"),
        (status = 422, body = ErrorJson, description = "The JSON is not a source (e.g. an unknown kind or key)"),
    ),
    security(("bearer" = [])))]
/// Adds a source, as `reelguard sources add` does.
pub async fn create_source(
    State(state): State<AppState>,
    Body(body): Body<SourceBody>,
) -> Result<(StatusCode, Json<SourceJson>), ApiError> {
    let source = add_source(&state, &body).await?;
    Ok((
        StatusCode::CREATED,
        Json(source_json(source, crate::clock::now())),
    ))
}

#[utoipa::path(put, path = "/api/v1/sources/{name}", tag = "sources", request_body = SourceBody,
    params(("name" = String, Path, description = "The source's name")),
    responses(
        (status = 200, body = SourceJson, description = "The source with its new settings"),
        (status = 400, body = ErrorJson, description = "The body is not JSON, a setting is not valid (the error names the key, the value and why), or its name is not the address's"),
        (status = 403, body = ErrorJson, description = "The token is not an admin's, or a session sent no CSRF token"),
        (status = 404, body = ErrorJson, description = "No source has this name"),
        (status = 409, body = ErrorJson, description = "The config file declares this source: change it there"),
        (status = 413, body = ErrorJson, description = "The body is larger than 2 MiB"),
        (status = 415, body = ErrorJson, description = "The body is not sent as application/json"),
        (status = 422, body = ErrorJson, description = "The JSON is not a source (e.g. an unknown kind or key)"),
    ),
    security(("bearer" = [])))]
/// Replaces a source's settings (its run state stays).
pub async fn update_source(
    State(state): State<AppState>,
    Id(name): Id,
    Body(body): Body<SourceBody>,
) -> ApiResult<SourceJson> {
    let source = edit_source(&state, &name, &body).await?;
    Ok(Json(source_json(source, crate::clock::now())))
}

#[utoipa::path(delete, path = "/api/v1/sources/{name}", tag = "sources",
    params(("name" = String, Path, description = "The source's name")),
    responses(
        (status = 200, body = SourceJson, description = "The source, removed"),
        (status = 400, body = ErrorJson, description = "The name is not UTF-8"),
        (status = 403, body = ErrorJson, description = "The token is not an admin's, or a session sent no CSRF token"),
        (status = 404, body = ErrorJson, description = "No source has this name"),
        (status = 409, body = ErrorJson, description = "The config file declares this source: remove it there"),
    ),
    security(("bearer" = [])))]
/// Removes a source; its scans and matches stay.
pub async fn delete_source(State(state): State<AppState>, Id(name): Id) -> ApiResult<SourceJson> {
    let source = remove_source(&state, &name).await?;
    Ok(Json(source_json(source, crate::clock::now())))
}

#[utoipa::path(post, path = "/api/v1/sources/{name}/scan", tag = "sources",
    params(("name" = String, Path, description = "The source's name")),
    responses(
        (status = 202, body = ScanQueuedJson, description = "The scan, queued (or the one already queued or running for the source)"),
        (status = 400, body = ErrorJson, description = "The name is not UTF-8"),
        (status = 403, body = ErrorJson, description = "The token is not an admin's, or a session sent no CSRF token"),
        (status = 404, body = ErrorJson, description = "No source has this name"),
    ),
    security(("bearer" = [])))]
/// Queues a scan of a source now, as the scheduler does; a daemon carries it out.
pub async fn scan_source(
    State(state): State<AppState>,
    Id(name): Id,
) -> Result<(StatusCode, Json<ScanQueuedJson>), ApiError> {
    let scan_id = queue_scan(&state, &name).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ScanQueuedJson {
            source: name,
            scan_id,
        }),
    ))
}

/// Scans listed per source.
pub const SCANS_SHOWN: i64 = 20;

/// A source's recent scans.
#[derive(Serialize, ToSchema)]
pub struct ScanListJson {
    pub scans: Vec<ScanJson>,
}

#[utoipa::path(get, path = "/api/v1/sources/{name}/scans", tag = "sources",
    params(("name" = String, Path, description = "The source's name")),
    responses(
        (status = 200, body = ScanListJson, description = "The source's 20 most recent scans, newest first"),
        (status = 400, body = ErrorJson, description = "The name is not UTF-8"),
        (status = 404, body = ErrorJson, description = "No source has this name"),
    ),
    security(("bearer" = [])))]
/// A source's recent scans: uploads listed, new ones, matches, errors.
pub async fn source_scans(State(state): State<AppState>, Id(name): Id) -> ApiResult<ScanListJson> {
    if name.contains('\0') {
        return Err(StoreError::SourceNotFound(name).into());
    }
    let source = state.store.get_source(&name).await?;
    let scans = state
        .store
        .list_scans_of_source(&source.config.name, SCANS_SHOWN)
        .await?;
    Ok(Json(ScanListJson {
        scans: scans.iter().map(ScanJson::from).collect(),
    }))
}

/// The alert outbox.
#[derive(Serialize, ToSchema)]
pub struct AlertListJson {
    pub alerts: Vec<AlertJson>,
}

#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts",
    responses((status = 200, body = AlertListJson, description = "The alerts")),
    security(("bearer" = [])))]
/// The alert outbox, newest first (at most 500 rows).
pub async fn list_alerts(State(state): State<AppState>) -> ApiResult<AlertListJson> {
    let alerts = state.store.list_alerts(500).await?;
    Ok(Json(AlertListJson {
        alerts: alerts.iter().map(AlertJson::from).collect(),
    }))
}

/// Queues the failed alert `id` again with fresh attempts.
pub async fn retry_alert(state: &AppState, id: &str) -> Result<AlertRecord, ApiError> {
    let missing = || {
        ApiError(
            StatusCode::NOT_FOUND,
            format!("no alert {id:?}; GET /api/v1/alerts (or `reelguard alerts list`) shows them"),
        )
    };
    if id.contains('\0') {
        return Err(missing());
    }
    let retried = state
        .store
        .retry_failed_alert(id, crate::clock::now())
        .await?;
    let alert = state.store.get_alert(id).await?.ok_or_else(missing)?;
    if !retried {
        return Err(ApiError(
            StatusCode::CONFLICT,
            format!(
                "alert {id} is {}, not failed: only a failed alert is retried",
                alert.state
            ),
        ));
    }
    Ok(alert)
}

#[utoipa::path(post, path = "/api/v1/alerts/{id}/retry", tag = "alerts",
    params(("id" = String, Path, description = "The alert's id")),
    responses(
        (status = 200, body = AlertJson, description = "The alert, queued again with fresh attempts"),
        (status = 400, body = ErrorJson, description = "The id is not UTF-8"),
        (status = 403, body = ErrorJson, description = "The token is a viewer's, or a session sent no CSRF token"),
        (status = 404, body = ErrorJson, description = "No alert has this id"),
        (status = 409, body = ErrorJson, description = "The alert has not failed"),
    ),
    security(("bearer" = [])))]
/// Queues a failed alert again: a reviewer following up one match may.
pub async fn retry_one_alert(State(state): State<AppState>, Id(id): Id) -> ApiResult<AlertJson> {
    let alert = retry_alert(&state, &id).await?;
    Ok(Json(AlertJson::from(&alert)))
}

#[utoipa::path(post, path = "/api/v1/alerts/retry", tag = "alerts",
    responses(
        (status = 200, body = AlertsRetriedJson, description = "How many failed alerts were queued again"),
        (status = 403, body = ErrorJson, description = "The token is not an admin's, or a session sent no CSRF token"),
    ),
    security(("bearer" = [])))]
/// Queues every failed alert again, as `reelguard alerts send
/// --retry-failed` does. An admin's: alerts fail together when the
/// delivery settings are wrong (`[smtp]`, a webhook), which only an admin
/// fixes; retrying them all before that spends their attempts again.
pub async fn retry_failed_alerts(State(state): State<AppState>) -> ApiResult<AlertsRetriedJson> {
    let retried = state.store.retry_failed_alerts(crate::clock::now()).await?;
    Ok(Json(AlertsRetriedJson { retried }))
}

/// The access tokens.
#[derive(Serialize, ToSchema)]
pub struct TokenListJson {
    pub tokens: Vec<TokenJson>,
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    responses(
        (status = 200, body = TokenListJson, description = "The tokens"),
        (status = 403, body = ErrorJson, description = "The token is not an admin's"),
    ),
    security(("bearer" = [])))]
/// Every token, live and revoked (never the tokens themselves).
pub async fn list_tokens(State(state): State<AppState>) -> ApiResult<TokenListJson> {
    let tokens = state.store.list_tokens().await?;
    Ok(Json(TokenListJson {
        tokens: tokens.iter().map(TokenJson::from).collect(),
    }))
}

/// A token to create.
#[derive(Deserialize, ToSchema)]
pub struct NewTokenBody {
    /// Who holds it (shown in the review history): 1–64 characters without
    /// control characters, once the white space around them is trimmed
    /// (what [`check_token_name`] accepts).
    #[schema(
        pattern = r"^[\t\n\x0b\x0c\r \x85\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000](?:[^\x00-\x1f\x7f-\x9f]{0,62}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])?[\t\n\x0b\x0c\r \x85\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    pub name: String,
    pub role: AccessRole,
}

/// Checks a token's name: what the audit trail shows.
pub fn check_token_name(name: &str) -> Result<&str, String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(format!(
            "token name {name:?}: give 1 to 64 printable characters, e.g. the holder's name"
        ));
    }
    Ok(name)
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = NewTokenBody,
    responses(
        (status = 201, body = NewTokenJson, description = "The token, shown this once"),
        (status = 400, body = ErrorJson, description = "The body is not JSON, or the name is not one a token may have"),
        (status = 403, body = ErrorJson, description = "The token is not an admin's, or a session sent no CSRF token"),
        (status = 409, body = ErrorJson, description = "A live token has this name"),
        (status = 413, body = ErrorJson, description = "The body is larger than 2 MiB"),
        (status = 415, body = ErrorJson, description = "The body is not sent as application/json"),
        (status = 422, body = ErrorJson, description = "The JSON is not a new token (e.g. an unknown role)"),
    ),
    security(("bearer" = [])))]
/// Creates a token; the answer is the only time its text is shown.
pub async fn create_token(
    State(state): State<AppState>,
    Body(body): Body<NewTokenBody>,
) -> Result<(StatusCode, Json<NewTokenJson>), ApiError> {
    let name = check_token_name(&body.name).map_err(ApiError::bad_request)?;
    let token = new_token();
    let record = state
        .store
        .create_token(name, body.role, &hash_token(&token), crate::clock::now())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(NewTokenJson {
            record: TokenJson::from(&record),
            token,
        }),
    ))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "tokens",
    params(("id" = String, Path, description = "The token's id or name")),
    responses(
        (status = 200, body = TokenJson, description = "The token, revoked"),
        (status = 400, body = ErrorJson, description = "The id is not UTF-8"),
        (status = 403, body = ErrorJson, description = "The token is not an admin's, or a session sent no CSRF token"),
        (status = 404, body = ErrorJson, description = "No live token has this id or name"),
    ),
    security(("bearer" = [])))]
/// Revokes a token: its sessions end at once.
pub async fn revoke_token(State(state): State<AppState>, Id(id): Id) -> ApiResult<TokenJson> {
    if id.contains('\0') {
        return Err(StoreError::TokenNotFound(id).into());
    }
    let record = state.store.revoke_token(&id, crate::clock::now()).await?;
    Ok(Json(TokenJson::from(&record)))
}

/// The OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(title = "reelguard", description = "Matches of registered works found on watched platforms, their review and evidence."),
    paths(list_matches, show_match, review_match, match_bundle, match_takedown, list_works, list_sources,
        create_source, update_source, delete_source, scan_source, source_scans,
        list_alerts, retry_one_alert, retry_failed_alerts, list_tokens, create_token, revoke_token,
        super::works::api_register, super::works::api_show_work, super::works::api_add_artifact,
        super::works::api_package, super::works::api_certificate, super::works::api_list_uploads,
        super::works::api_show_upload, super::verify::api_verify),
    components(schemas(ErrorJson, MatchStatus, AccessRole)),
    modifiers(&BearerAuth, &CommonAnswers)
)]
pub struct ApiDoc;

/// What every operation may also answer: 401 without a live token (those
/// that need one), 500 when the database fails, 503 when it is unreachable.
struct CommonAnswers;

impl utoipa::Modify for CommonAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{Content, Header, Ref, ResponseBuilder};
        let answers = [
            (
                "401",
                "No token, or not a live one (see WWW-Authenticate)",
                true,
            ),
            ("500", "The database failed; the server log says why", false),
            ("503", "The database is unreachable", false),
        ];
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                let public = operation.security.as_ref().is_none_or(|s| s.is_empty());
                for (status, description, challenge) in answers {
                    if challenge && public {
                        continue; // no token needed, none refused
                    }
                    let mut answer = ResponseBuilder::new().description(description).content(
                        "application/json",
                        Content::new(Some(Ref::from_schema_name("ErrorJson"))),
                    );
                    if challenge {
                        answer = answer.header("WWW-Authenticate", Header::default());
                    }
                    operation
                        .responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| answer.build().into());
                }
            }
        }
    }
}

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// `GET /api/openapi.json`.
pub async fn openapi() -> Response {
    Json(ApiDoc::openapi()).into_response()
}
