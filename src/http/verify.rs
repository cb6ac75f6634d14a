//! Checking an export anyone holds, without signing in: the public
//! `/verify` page and `POST /api/v1/verify` take a provenance package or an
//! evidence bundle (streamed to disk, size-capped, kept only while
//! checked) and run every check of `reelguard verify` on it against this
//! server's trust anchors, else the CA shipped inside.

use askama::Template;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::{Extension, Json};
use serde::Serialize;
use utoipa::ToSchema;

use super::access::Caller;
use super::api::{ApiError, ErrorJson};
use super::pages::{render, who, Who};
use super::text::{Lang, Text};
use super::AppState;
use crate::evidence::bundle::{self, ArchiveVerification};

/// Receives the upload in `multipart` and checks it: its file name and
/// the outcome of every check.
async fn check_upload(
    state: &AppState,
    multipart: Multipart,
) -> Result<(String, ArchiveVerification), (StatusCode, String)> {
    let internal = |why: String| (StatusCode::INTERNAL_SERVER_ERROR, why);
    let scratch = tempfile::Builder::new()
        .prefix("verify-")
        .tempdir_in(&state.data_dir)
        .map_err(|e| internal(format!("cannot keep the upload: {e}")))?;
    let limit = state.settings.http.max_upload_bytes;
    let received = super::upload::receive(multipart, scratch.path(), limit, &[]).await?;
    let file = received.file.ok_or_else(|| {
        (
            StatusCode::BAD_REQUEST,
            "choose a .zip file to check (the field \"file\")".to_string(),
        )
    })?;
    let anchors =
        match crate::timestamp::load_trust_anchors(&state.settings.capture.timestamp.trust_anchors)
        {
            Ok(anchors) if !anchors.is_empty() => {
                Some((anchors, "this server's timestamp.trust_anchors"))
            }
            Ok(_) => None,
            Err(e) => {
                return Err(internal(format!(
                    "this server's trust anchors do not load: {e}"
                )))
            }
        };
    let (name, path) = (file.name, file.path);
    let shown = name.clone();
    let checked = tokio::task::spawn_blocking(move || {
        let files = crate::provenance::package::read_zip(&path)
            .map_err(|e| format!("{e:#}").replace(&path.display().to_string(), &shown))?;
        Ok::<_, String>(bundle::verify_archive(&files, anchors, None))
    })
    .await;
    drop(scratch);
    match checked {
        Ok(Ok(verified)) => Ok((name, verified)),
        Ok(Err(why)) => Err((StatusCode::UNPROCESSABLE_ENTITY, why)),
        Err(e) => Err(internal(format!("the check stopped: {e}"))),
    }
}

/// One verified export, as the public page shows it.
struct VerifyResult {
    name: String,
    is_bundle: bool,
    anchors: String,
    checks: Vec<crate::provenance::package::Check>,
    passed: usize,
    failed: usize,
    total: usize,
}

#[derive(Template)]
#[template(path = "verify.html", config = "src/http/askama.toml")]
struct VerifyPage {
    lang: Lang,
    t: &'static Text,
    who: Option<Who>,
    here: String,
    error: Option<String>,
    result: Option<VerifyResult>,
}

fn verify_page(
    headers: &HeaderMap,
    caller: Option<&Caller>,
    error: Option<String>,
    result: Option<VerifyResult>,
) -> VerifyPage {
    let lang = Lang::of(headers);
    VerifyPage {
        lang,
        t: lang.text(),
        who: caller.map(who),
        here: "/verify".into(),
        error,
        result,
    }
}

/// `GET /verify`: the public page that checks an export (no sign-in).
pub async fn verify_form(headers: HeaderMap, caller: Option<Extension<Caller>>) -> Response {
    render(&verify_page(&headers, caller.as_deref(), None, None))
}

/// `POST /verify`: checks an uploaded provenance package or evidence
/// bundle (at most `[http] max_upload_bytes`).
pub async fn verify_upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Option<Extension<Caller>>,
    multipart: Multipart,
) -> Response {
    let caller = caller.as_deref();
    let (name, verified) = match check_upload(&state, multipart).await {
        Ok(checked) => checked,
        Err((status, error)) => {
            let mut page = render(&verify_page(&headers, caller, Some(error), None));
            *page.status_mut() = status;
            return page;
        }
    };
    let failed = verified.failed();
    let total = verified.checks.len();
    render(&verify_page(
        &headers,
        caller,
        None,
        Some(VerifyResult {
            name,
            is_bundle: verified.is_bundle,
            anchors: verified.anchor_source,
            passed: total - failed,
            failed,
            total,
            checks: verified.checks,
        }),
    ))
}

/// The form of `POST /api/v1/verify`.
#[derive(ToSchema, serde::Deserialize)]
#[serde(deny_unknown_fields)] // no other fields: additionalProperties false
#[allow(dead_code)] // only its schema is used: the handler reads the form as it streams
pub struct VerifyForm {
    /// The provenance package or evidence bundle (a .zip, at most
    /// `[http] max_upload_bytes`).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// One check of an export.
#[derive(Serialize, ToSchema)]
pub struct CheckJson {
    pub item: String,
    pub ok: bool,
    pub detail: String,
}

/// What `reelguard verify` would say of an export.
#[derive(Serialize, ToSchema)]
pub struct VerifyJson {
    pub file_name: String,
    /// An evidence bundle (else a provenance package).
    pub is_bundle: bool,
    /// Which certificates the timestamp tokens were checked against.
    pub trust_anchors: String,
    /// Every check passed.
    pub ok: bool,
    pub checks: Vec<CheckJson>,
}

#[utoipa::path(post, path = "/api/v1/verify", tag = "verify",
    request_body(content = VerifyForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, body = VerifyJson, description = "Every check and its outcome (`ok` is false when one failed)"),
        (status = 400, body = ErrorJson, description = "No file, or the form is damaged"),
        (status = 413, body = ErrorJson, description = "The file is larger than [http] max_upload_bytes"),
        (status = 422, body = ErrorJson, description = "The file is not a zip this server can read"),
    ))]
/// Checks a provenance package or an evidence bundle as `reelguard verify`
/// does (no token needed).
pub async fn api_verify(
    State(state): State<AppState>,
    super::upload::MultipartBody(multipart): super::upload::MultipartBody,
) -> Result<Json<VerifyJson>, ApiError> {
    let (file_name, verified) = check_upload(&state, multipart)
        .await
        .map_err(|(status, why)| ApiError(status, why))?;
    Ok(Json(VerifyJson {
        file_name,
        is_bundle: verified.is_bundle,
        trust_anchors: verified.anchor_source.clone(),
        ok: verified.failed() == 0,
        checks: verified
            .checks
            .into_iter()
            .map(|c| CheckJson {
                item: c.item,
                ok: c.ok,
                detail: c.detail,
            })
            .collect(),
    }))
}
