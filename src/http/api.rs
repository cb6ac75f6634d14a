//! The JSON API under `/api/v1`, and its OpenAPI 3.1 document
//! (`/api/openapi.json`), derived from the handlers' annotations and the
//! shapes of [`crate::shapes`], never written by hand.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::access::{hash_token, new_token, Caller};
use super::AppState;
use crate::domain::{AccessRole, MatchStatus};
use crate::evidence::bundle;
use crate::evidence::capture::CaptureEnv;
use crate::shapes::{
    AlertJson, CaptureJson, MatchFullJson, MatchJson, NewTokenJson, ReviewDoneJson, ReviewJson,
    SourceJson, TokenJson, WorkJson,
};
use crate::store::{MatchFilter, StoreError};

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

/// Which matches to list, and which page of them.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MatchQuery {
    /// pending, confirmed, dismissed, licensed, claimed or resolved
    pub status: Option<String>,
    /// A work id.
    pub work: Option<String>,
    /// A source name.
    pub source: Option<String>,
    pub platform: Option<String>,
    /// Found on or after (YYYY-MM-DD or RFC 3339).
    pub since: Option<String>,
    /// Found on or before (YYYY-MM-DD, the whole day) or before (RFC 3339).
    pub until: Option<String>,
    /// Matches per page, 1–200 (default 50).
    pub limit: Option<String>,
    /// Matches skipped (default 0).
    pub offset: Option<String>,
}

/// The largest page of a listing.
pub const MAX_PAGE: u32 = 200;

impl MatchQuery {
    /// The store's filter, with every value checked.
    pub fn filter(&self) -> Result<MatchFilter, ApiError> {
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
                .filter(|n| *n <= i64::MAX as u64)
                .ok_or_else(|| {
                    ApiError::bad_request(format!("offset = {v:?}: give a whole number from 0"))
                })?,
            None => 0,
        };
        Ok((limit, offset))
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
    responses((status = 200, body = MatchListJson), (status = 400, body = ErrorJson)),
    security(("bearer" = [])))]
/// Matches, newest first, filtered and paged.
pub async fn list_matches(
    State(state): State<AppState>,
    Query(query): Query<MatchQuery>,
) -> ApiResult<MatchListJson> {
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
    responses((status = 200, body = MatchFullJson), (status = 404, body = ErrorJson),
        (status = 400, body = ErrorJson)),
    security(("bearer" = [])))]
/// One match in full: details, review history (with who reviewed) and capture.
pub async fn show_match(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<MatchFullJson> {
    let m = state.store.find_match(&id).await?;
    let history = state.store.status_history(&m.id).await?;
    let capture = state.store.capture(&m.id).await?;
    Ok(Json(MatchFullJson {
        summary: MatchJson::new(&m, true),
        history: history.iter().map(ReviewJson::from).collect(),
        capture: CaptureJson::from(&capture),
    }))
}

/// A review decision.
#[derive(Deserialize, ToSchema)]
pub struct ReviewBody {
    /// confirmed, dismissed, licensed, claimed or resolved
    pub status: MatchStatus,
    /// Why, in the reviewer's words (kept in the history).
    pub note: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/matches/{id}/review", tag = "matches",
    params(("id" = String, Path, description = "The match's id or a unique prefix")),
    request_body = ReviewBody,
    responses((status = 200, body = ReviewDoneJson), (status = 404, body = ErrorJson),
        (status = 409, body = ErrorJson, description = "The review flow does not allow this change")),
    security(("bearer" = [])))]
/// Reviews a match: the change is recorded with the token's name.
pub async fn review_match(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Json(body): Json<ReviewBody>,
) -> ApiResult<ReviewDoneJson> {
    let m = state.store.find_match(&id).await?;
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

/// Exports the evidence bundle of match `id` and answers with it.
pub async fn bundle_response(state: &AppState, id: &str) -> Result<Response, ApiError> {
    let m = state.store.find_match(id).await?;
    let settings = &state.settings.capture;
    let media_dir = settings.media_dir_in(&state.data_dir);
    let env = CaptureEnv {
        store: &state.store,
        settings,
        data_dir: &state.data_dir,
        media_dir: &media_dir,
    };
    let scratch = tempfile::Builder::new()
        .prefix("bundle-")
        .tempdir_in(&state.data_dir)
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot make a directory in {}: {e}",
                state.data_dir.display()
            )
        })?;
    let out = scratch.path().join("bundle.zip");
    bundle::export(&env, &state.stamper, &m.id, &out)
        .await
        .map_err(|e| match e.downcast::<StoreError>() {
            Ok(store) => ApiError::from(store),
            Err(e) => ApiError(StatusCode::CONFLICT, format!("{e:#}")),
        })?;
    // The open file outlives its directory: the answer streams it.
    let file = tokio::fs::File::open(&out)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the exported bundle {}: {e}", out.display()))?;
    drop(scratch);
    let length = file.metadata().await.map_err(anyhow::Error::from)?.len();
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(file));
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_string()),
            (header::CONTENT_LENGTH, length.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"reelguard-match-{}.zip\"", m.id),
            ),
        ],
        body,
    )
        .into_response())
}

#[utoipa::path(get, path = "/api/v1/matches/{id}/bundle", tag = "matches",
    params(("id" = String, Path, description = "The match's id or a unique prefix")),
    responses((status = 200, content_type = "application/zip", description = "The evidence bundle"),
        (status = 404, body = ErrorJson),
        (status = 409, body = ErrorJson, description = "The match is not captured yet")),
    security(("bearer" = [])))]
/// The evidence bundle of a match (a zip that `reelguard verify` checks).
pub async fn match_bundle(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    bundle_response(&state, &id).await
}

/// The registered works.
#[derive(Serialize, ToSchema)]
pub struct WorkListJson {
    pub works: Vec<WorkJson>,
}

#[utoipa::path(get, path = "/api/v1/works", tag = "works",
    responses((status = 200, body = WorkListJson)), security(("bearer" = [])))]
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

#[utoipa::path(get, path = "/api/v1/sources", tag = "sources",
    responses((status = 200, body = SourceListJson)), security(("bearer" = [])))]
/// The watched sources with their last and next runs.
pub async fn list_sources(State(state): State<AppState>) -> ApiResult<SourceListJson> {
    let sources = state.store.list_sources().await?;
    Ok(Json(SourceListJson {
        sources: sources.iter().map(SourceJson::from).collect(),
    }))
}

/// The alert outbox.
#[derive(Serialize, ToSchema)]
pub struct AlertListJson {
    pub alerts: Vec<AlertJson>,
}

#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts",
    responses((status = 200, body = AlertListJson)), security(("bearer" = [])))]
/// The alert outbox, newest first (at most 500 rows).
pub async fn list_alerts(State(state): State<AppState>) -> ApiResult<AlertListJson> {
    let alerts = state.store.list_alerts(500).await?;
    Ok(Json(AlertListJson {
        alerts: alerts.iter().map(AlertJson::from).collect(),
    }))
}

/// The access tokens.
#[derive(Serialize, ToSchema)]
pub struct TokenListJson {
    pub tokens: Vec<TokenJson>,
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, body = TokenListJson)), security(("bearer" = [])))]
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
    /// Who holds it (shown in the review history); 1–64 characters.
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
    responses((status = 201, body = NewTokenJson), (status = 400, body = ErrorJson),
        (status = 409, body = ErrorJson)),
    security(("bearer" = [])))]
/// Creates a token; the answer is the only time its text is shown.
pub async fn create_token(
    State(state): State<AppState>,
    Json(body): Json<NewTokenBody>,
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
    responses((status = 200, body = TokenJson), (status = 404, body = ErrorJson)),
    security(("bearer" = [])))]
/// Revokes a token: its sessions end at once.
pub async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<TokenJson> {
    let record = state.store.revoke_token(&id, crate::clock::now()).await?;
    Ok(Json(TokenJson::from(&record)))
}

/// The OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(title = "reelguard", description = "Matches of registered works found on watched platforms, their review and evidence."),
    paths(list_matches, show_match, review_match, match_bundle, list_works, list_sources,
        list_alerts, list_tokens, create_token, revoke_token),
    components(schemas(ErrorJson, MatchStatus, AccessRole)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

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
