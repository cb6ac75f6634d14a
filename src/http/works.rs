//! Works in the dashboard and the API: the list with the uploads under
//! way, registration by upload (the video is kept under the data dir and
//! fingerprinted by a `register` job, whose progress the upload's page
//! shows), a work's page (its creation stages with their timestamps, adding
//! a stage's file, the certificate and the provenance package), and the
//! public `/c/<chain head>` page the certificate's QR code opens.

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Json};
use serde::Serialize;
use utoipa::ToSchema;

use super::access::Caller;
use super::api::{self, ApiError, ErrorJson, Id};
use super::pages::{render, who, Who};
use super::text::{Lang, Text};
use super::upload::{self, MultipartBody, ReceivedFile};
use super::AppState;
use crate::clock::{self, to_seconds};
use crate::domain::{AccessRole, UploadState};
use crate::provenance::{self, certificate};
use crate::shapes::{UploadJson, WorkFullJson};
use crate::store::{Artifact, ChainHead, StoreError, UploadRecord, Work};

/// Longest title taken, in characters.
const MAX_TITLE_CHARS: usize = 300;

/// Uploads the works page lists.
const UPLOADS_SHOWN: i64 = 20;

/// The work `id` names (exactly or by a unique prefix). No id holds a NUL.
async fn find_work(state: &AppState, id: &str) -> Result<Work, ApiError> {
    if id.contains('\0') {
        return Err(StoreError::WorkNotFound(id.to_string()).into());
    }
    Ok(state.store.find_work(id).await?)
}

fn refused((status, why): upload::Refusal) -> ApiError {
    ApiError(status, why)
}

/// Takes a registration form (`title`, optional `owner` and `rights`, the
/// video as `file`), keeps the video under `uploads/ID/` in the blob store
/// (which every node reads) and queues its register job.
async fn receive_upload(
    state: &AppState,
    caller: &Caller,
    multipart: Multipart,
) -> Result<UploadRecord, ApiError> {
    let id = uuid::Uuid::now_v7().simple().to_string();
    let dir = state
        .settings
        .capture
        .blobs_in(&state.data_dir)
        .upload_dir(&id);
    let limit = state.settings.http.max_upload_bytes;
    let received = upload::receive(multipart, &dir, limit, &["title", "owner", "rights"])
        .await
        .map_err(refused)?;
    let checked = (|| {
        let title = received
            .field("title")
            .ok_or_else(|| ApiError::bad_request("give the work a title (the field \"title\")"))?;
        if title.chars().count() > MAX_TITLE_CHARS || title.chars().any(char::is_control) {
            return Err(ApiError::bad_request(format!(
                "title {title:?}: give 1 to {MAX_TITLE_CHARS} printable characters"
            )));
        }
        let file = received.file.as_ref().ok_or_else(|| {
            ApiError::bad_request("choose the video to register (the field \"file\")")
        })?;
        Ok((title.to_string(), file))
    })();
    let (title, file) = match checked {
        Ok(checked) => checked,
        Err(e) => {
            let _ = tokio::fs::remove_dir_all(&dir).await;
            return Err(e);
        }
    };
    let hashed = {
        let path = file.path.clone();
        tokio::task::spawn_blocking(move || crate::engine::sha256_file(&path))
            .await
            .map_err(|e| e.to_string())
            .and_then(|read| read.map_err(|e| e.to_string()))
    };
    let sha256 = match hashed {
        Ok((sha256, _)) => sha256,
        Err(why) => {
            let _ = tokio::fs::remove_dir_all(&dir).await;
            return Err(ApiError(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot read the upload back from {}: {why}", dir.display()),
            ));
        }
    };
    let now = clock::now();
    let record = UploadRecord {
        id,
        title,
        owner: received.field("owner").map(str::to_string),
        rights_statement: received.field("rights").map(str::to_string),
        file_name: file.name.clone(),
        path: file.path.display().to_string(),
        size_bytes: file.size_bytes as i64,
        sha256: Some(sha256),
        state: UploadState::Queued,
        progress: 0.0,
        error: None,
        work_id: None,
        uploaded_by: Some(caller.token.name.clone()),
        created_at: now,
        updated_at: now,
    };
    if let Err(e) = state.store.create_upload(&record).await {
        let _ = tokio::fs::remove_dir_all(&dir).await;
        return Err(e.into());
    }
    Ok(record)
}

/// Takes a stage's file (`stage` and `file`) for `work`, keeps it under
/// `artifacts/WORK/ID/` in the data dir, chains it and timestamps it.
async fn receive_artifact(
    state: &AppState,
    work: &Work,
    multipart: Multipart,
) -> Result<(), ApiError> {
    let dir = state
        .data_dir
        .join("artifacts")
        .join(&work.id)
        .join(uuid::Uuid::now_v7().simple().to_string());
    let limit = state.settings.http.max_upload_bytes;
    let received = upload::receive(multipart, &dir, limit, &["stage"])
        .await
        .map_err(refused)?;
    let described = (|| {
        let stage = received
            .field("stage")
            .ok_or_else(|| ApiError::bad_request("name the file's stage (the field \"stage\")"))?;
        let stage = provenance::parse_stage(stage).map_err(ApiError::bad_request)?;
        if stage == "final-cut" {
            return Err(ApiError::bad_request(
                "the registered video is the final cut; add the stages before it",
            ));
        }
        let file: &ReceivedFile = received
            .file
            .as_ref()
            .ok_or_else(|| ApiError::bad_request("choose the stage's file (the field \"file\")"))?;
        provenance::describe_file(stage, &file.path).map_err(ApiError::from)
    })();
    let artifact = match described {
        Ok(artifact) => artifact,
        Err(e) => {
            let _ = tokio::fs::remove_dir_all(&dir).await;
            return Err(e);
        }
    };
    state.store.append_artifacts(&work.id, &[artifact]).await?;
    let summary =
        provenance::register::stamp_new(&state.store, &state.stamper, Some(&work.id)).await?;
    if let Some((_, reason)) = summary.pending.first() {
        tracing::warn!(work = %work.id, pending = summary.pending.len(), "stage added, timestamp pending: {reason}");
    }
    Ok(())
}

/// The provenance package of a work (stamping what is pending first).
async fn package_response(state: &AppState, id: &str) -> Result<Response, ApiError> {
    let work = find_work(state, id).await?;
    let dir = api::scratch(state, "package-")?;
    let out = dir.path().join("work.zip");
    let capture = &state.settings.capture;
    provenance::export_package(
        &state.store,
        &state.stamper,
        &work,
        &capture.owner,
        &state.settings.http.public_url,
        &out,
    )
    .await
    .map_err(|e| match e.downcast::<StoreError>() {
        Ok(store) => ApiError::from(store),
        Err(e) => ApiError(StatusCode::CONFLICT, format!("{e:#}")),
    })?;
    // The open file outlives its directory: the answer streams it.
    let answer = api::attachment(
        &out,
        "application/zip",
        &format!("reelguard-work-{}.zip", work.id),
    )
    .await;
    drop(dir);
    answer
}

/// Which form of the certificate.
#[derive(Clone, Copy)]
enum CertificateForm {
    Pdf,
    Html,
}

async fn certificate_response(
    state: &AppState,
    id: &str,
    form: CertificateForm,
) -> Result<Response, ApiError> {
    let work = find_work(state, id).await?;
    let (artifacts, head) = provenance::load_chain(&state.store, &work)
        .await
        .map_err(|e| ApiError(StatusCode::CONFLICT, format!("{e:#}")))?;
    let data = provenance::certificate_data(
        &work,
        &artifacts,
        &head,
        &state.settings.capture.owner,
        &state.settings.http.public_url,
        certificate::DEFAULT_PACKAGE_FILE,
    );
    let name = format!("reelguard-certificate-{}", work.id);
    match form {
        CertificateForm::Html => Ok((
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{name}.html\""),
                ),
            ],
            certificate::render_html(&data),
        )
            .into_response()),
        CertificateForm::Pdf => {
            let pdf = tokio::task::spawn_blocking(move || certificate::render_pdf(&data))
                .await
                .map_err(|e| anyhow::anyhow!("the certificate stopped: {e}"))?
                .map_err(|e| ApiError::from(anyhow::Error::from(e)))?;
            Ok((
                [
                    (header::CONTENT_TYPE, "application/pdf".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{name}.pdf\""),
                    ),
                ],
                pdf,
            )
                .into_response())
        }
    }
}

// ---- pages ----

fn page_failure(e: ApiError) -> Response {
    (e.0, e.1).into_response()
}

/// One registered work as the list shows it.
struct WorkRow {
    id: String,
    title: String,
    duration: String,
    size: String,
    registered: String,
}

/// One upload as the list shows it.
struct UploadRow {
    id: String,
    title: String,
    file_name: String,
    state: &'static str,
    percent: u32,
    error: String,
    work_id: Option<String>,
}

impl UploadRow {
    fn of(u: &UploadRecord, t: &Text) -> UploadRow {
        UploadRow {
            id: u.id.clone(),
            title: u.title.clone(),
            file_name: u.file_name.clone(),
            state: t.upload_state(u.state),
            percent: (u.progress * 100.0).round() as u32,
            error: u.error.clone().unwrap_or_default(),
            work_id: u.work_id.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "works.html", config = "src/http/askama.toml")]
struct WorksPage {
    lang: Lang,
    t: &'static Text,
    who: Option<Who>,
    here: String,
    works: Vec<WorkRow>,
    uploads: Vec<UploadRow>,
    /// Whether an upload is still under way (the page refreshes itself).
    under_way: bool,
    is_admin: bool,
    max_upload_mib: u64,
    csrf: String,
}

fn size_text(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// `GET /works`: the works, the latest uploads, and (for an admin) the
/// registration form.
pub async fn works_page(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Response {
    let loaded = async {
        Ok::<_, ApiError>((
            state.store.list_works().await?,
            state.store.list_uploads(UPLOADS_SHOWN).await?,
        ))
    };
    let (works, uploads) = match loaded.await {
        Ok(loaded) => loaded,
        Err(e) => return page_failure(e),
    };
    let lang = Lang::of(&headers);
    let t = lang.text();
    render(&WorksPage {
        lang,
        t,
        who: Some(who(&caller)),
        here: "/works".into(),
        works: works
            .iter()
            .map(|w| WorkRow {
                id: w.id.clone(),
                title: w.title.clone(),
                duration: format!("{:.1} s", w.duration_s),
                size: format!("{}×{} {}", w.width, w.height, w.codec),
                registered: to_seconds(w.created_at),
            })
            .collect(),
        under_way: uploads.iter().any(|u| !u.state.finished()),
        uploads: uploads.iter().map(|u| UploadRow::of(u, t)).collect(),
        is_admin: caller.may(AccessRole::Admin),
        max_upload_mib: state.settings.http.max_upload_bytes / (1024 * 1024),
        csrf: caller.csrf.clone(),
    })
}

/// `POST /works`: registers an uploaded video; answers with its upload's
/// page, which follows the fingerprinting.
pub async fn register_upload(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    multipart: Multipart,
) -> Response {
    match receive_upload(&state, &caller, multipart).await {
        Ok(record) => Redirect::to(&format!("/uploads/{}", record.id)).into_response(),
        Err(e) => page_failure(e),
    }
}

#[derive(Template)]
#[template(path = "upload.html", config = "src/http/askama.toml")]
struct UploadPage {
    lang: Lang,
    t: &'static Text,
    who: Option<Who>,
    here: String,
    upload: UploadRow,
    progress: f64,
    finished: bool,
    uploaded_by: String,
    created_at: String,
}

/// `GET /uploads/{id}`: where one upload's registration is (the page
/// refreshes itself until it is finished).
pub async fn upload_page(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let record = match state.store.upload(&id).await {
        Ok(Some(record)) => record,
        Ok(None) => return (StatusCode::NOT_FOUND, format!("no upload {id}")).into_response(),
        Err(e) => return page_failure(e.into()),
    };
    let lang = Lang::of(&headers);
    let t = lang.text();
    render(&UploadPage {
        lang,
        t,
        who: Some(who(&caller)),
        here: format!("/uploads/{}", record.id),
        upload: UploadRow::of(&record, t),
        progress: record.progress,
        finished: record.state.finished(),
        uploaded_by: record.uploaded_by.clone().unwrap_or_default(),
        created_at: to_seconds(record.created_at),
    })
}

/// One stage as a work's page and the public chain page show it.
struct StageRow {
    seq: u32,
    stage: String,
    file_name: String,
    size: String,
    sha256: String,
    /// "time · TSA", empty while pending.
    stamped: String,
    stamp_error: String,
    /// The stored token checked against this server's trust anchors:
    /// `None` while pending, else whether it holds (and why not).
    token_check: Option<Result<(), String>>,
}

/// Checks a stored token over the hex digest `digest` against the
/// server's trust anchors.
fn check_token(
    state: &AppState,
    stamp: Option<&crate::store::StoredStamp>,
    digest: &str,
) -> Option<Result<(), String>> {
    let stamp = stamp?;
    let checked = provenance::parse_digest(digest)
        .map_err(|e| e.to_string())
        .and_then(|digest| {
            crate::timestamp::token::verify_token(
                &stamp.token,
                &digest,
                None,
                state.stamper.anchors(),
            )
            .map(|_| ())
            .map_err(|e| e.to_string())
        });
    Some(checked)
}

fn stage_rows(state: &AppState, artifacts: &[Artifact], check: bool) -> Vec<StageRow> {
    artifacts
        .iter()
        .map(|a| StageRow {
            seq: a.seq,
            stage: a.stage.clone(),
            file_name: a.file_name.clone(),
            size: size_text(a.size_bytes),
            sha256: a.sha256.clone(),
            stamped: a
                .stamp
                .as_ref()
                .map(|s| format!("{} · {}", to_seconds(s.tsa_time), s.tsa_name))
                .unwrap_or_default(),
            stamp_error: a.stamp_error.clone().unwrap_or_default(),
            token_check: if check {
                check_token(state, a.stamp.as_ref(), &a.sha256)
            } else {
                None
            },
        })
        .collect()
}

/// The chain head as shown: hash, "time · TSA" (empty while pending).
struct HeadRow {
    hash: String,
    stamped: String,
    token_check: Option<Result<(), String>>,
}

fn head_row(state: &AppState, head: &ChainHead, check: bool) -> HeadRow {
    HeadRow {
        hash: head.head_hash.clone(),
        stamped: head
            .stamp
            .as_ref()
            .map(|s| format!("{} · {}", to_seconds(s.tsa_time), s.tsa_name))
            .unwrap_or_default(),
        token_check: if check {
            check_token(state, head.stamp.as_ref(), &head.head_hash)
        } else {
            None
        },
    }
}

#[derive(Template)]
#[template(path = "work.html", config = "src/http/askama.toml")]
struct WorkPage {
    lang: Lang,
    t: &'static Text,
    who: Option<Who>,
    here: String,
    work: WorkRow,
    owner: String,
    rights: String,
    sha256: String,
    stages: Vec<StageRow>,
    pending: usize,
    head: Option<HeadRow>,
    check_url: Option<String>,
    stage_names: &'static [&'static str],
    is_admin: bool,
    is_reviewer: bool,
    csrf: String,
}

/// `GET /works/{id}`: a work's facts, its creation stages with their
/// timestamps (pending ones marked), its downloads and (for an admin) the
/// form that adds a stage's file.
pub async fn work_page(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let loaded = async {
        let work = find_work(&state, &id).await?;
        let artifacts = state.store.artifacts(&work.id).await?;
        let head = state.store.chain_heads(&work.id).await?.pop();
        Ok::<_, ApiError>((work, artifacts, head))
    };
    let (work, artifacts, head) = match loaded.await {
        Ok(loaded) => loaded,
        Err(e) => return page_failure(e),
    };
    let lang = Lang::of(&headers);
    let t = lang.text();
    let pending = artifacts.iter().filter(|a| a.stamp.is_none()).count()
        + usize::from(head.as_ref().is_some_and(|h| h.stamp.is_none()));
    render(&WorkPage {
        lang,
        t,
        who: Some(who(&caller)),
        here: format!("/works/{}", work.id),
        owner: work.owner.clone().unwrap_or_default(),
        rights: work.rights_statement.clone().unwrap_or_default(),
        sha256: work.source_sha256.clone(),
        stages: stage_rows(&state, &artifacts, false),
        pending,
        check_url: head.as_ref().and_then(|h| {
            provenance::chain_page_url(&state.settings.http.public_url, &h.head_hash)
        }),
        head: head.as_ref().map(|h| head_row(&state, h, false)),
        stage_names: &provenance::STAGES,
        is_admin: caller.may(AccessRole::Admin),
        is_reviewer: caller.may(AccessRole::Reviewer),
        csrf: caller.csrf.clone(),
        work: WorkRow {
            id: work.id.clone(),
            title: work.title.clone(),
            duration: format!("{:.1} s", work.duration_s),
            size: format!(
                "{}×{} {} · {}",
                work.width,
                work.height,
                work.codec,
                size_text(work.source_bytes.max(0) as u64)
            ),
            registered: to_seconds(work.created_at),
        },
    })
}

/// `POST /works/{id}/artifacts`: adds a creation stage's file.
pub async fn add_artifact_form(
    State(state): State<AppState>,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Response {
    let work = match find_work(&state, &id).await {
        Ok(work) => work,
        Err(e) => return page_failure(e),
    };
    match receive_artifact(&state, &work, multipart).await {
        Ok(()) => Redirect::to(&format!("/works/{}", work.id)).into_response(),
        Err(e) => page_failure(e),
    }
}

/// `GET /works/{id}/certificate.pdf`.
pub async fn certificate_pdf(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    certificate_response(&state, &id, CertificateForm::Pdf)
        .await
        .unwrap_or_else(page_failure)
}

/// `GET /works/{id}/certificate.html`.
pub async fn certificate_html(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    certificate_response(&state, &id, CertificateForm::Html)
        .await
        .unwrap_or_else(page_failure)
}

/// `GET /works/{id}/package.zip`.
pub async fn package_zip(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    package_response(&state, &id)
        .await
        .unwrap_or_else(page_failure)
}

#[derive(Template)]
#[template(path = "chain.html", config = "src/http/askama.toml")]
struct ChainPage {
    lang: Lang,
    t: &'static Text,
    who: Option<Who>,
    here: String,
    hash: String,
    found: Option<ChainFound>,
}

struct ChainFound {
    title: String,
    owner: String,
    registered: String,
    stages: Vec<StageRow>,
    head: HeadRow,
    /// The hash asked for is an earlier head of the chain.
    earlier: bool,
    all_hold: bool,
}

/// `GET /c/{hash}` (public): the work whose chain has this head, its
/// stages, and whether each stored token checks against this server's
/// trust anchors — what the certificate's QR code opens.
pub async fn chain_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    caller: Option<Extension<Caller>>,
    Path(hash): Path<String>,
) -> Response {
    let hash = hash.trim().to_ascii_lowercase();
    let loaded = async {
        let valid = hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit());
        if !valid {
            return Ok(None);
        }
        let Some((work_id, _)) = state.store.chain_head_owner(&hash).await? else {
            return Ok(None);
        };
        let Some(work) = state.store.work_by_id(&work_id).await? else {
            return Ok(None);
        };
        let artifacts = state.store.artifacts(&work.id).await?;
        let heads = state.store.chain_heads(&work.id).await?;
        Ok::<_, ApiError>(Some((work, artifacts, heads)))
    };
    let found = match loaded.await {
        Ok(found) => found,
        Err(e) => return page_failure(e),
    };
    let found = found.and_then(|(work, artifacts, heads)| {
        let head = heads.last()?;
        let stages = stage_rows(&state, &artifacts, true);
        let head = head_row(&state, head, true);
        let all_hold = stages
            .iter()
            .map(|s| &s.token_check)
            .chain([&head.token_check])
            .all(|c| matches!(c, Some(Ok(()))));
        Some(ChainFound {
            title: work.title.clone(),
            owner: work.owner.clone().unwrap_or_default(),
            registered: to_seconds(work.created_at),
            earlier: head.hash != hash,
            stages,
            head,
            all_hold,
        })
    });
    let lang = Lang::of(&headers);
    let status = if found.is_some() {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    let mut page = render(&ChainPage {
        lang,
        t: lang.text(),
        who: caller.as_deref().map(who),
        here: format!("/c/{hash}"),
        hash,
        found,
    });
    *page.status_mut() = status;
    page
}

// ---- API ----

/// The registration form of `POST /api/v1/works`.
#[derive(ToSchema, serde::Deserialize)]
#[serde(deny_unknown_fields)] // no other fields: additionalProperties false
#[allow(dead_code)] // only its schema is used: the handler reads the form as it streams
pub struct RegisterForm {
    /// The work's title (1–300 printable characters).
    title: String,
    /// Who owns the rights [default: owner.name from the config].
    owner: Option<String>,
    /// Rights statement shown on the certificate.
    rights: Option<String>,
    /// The finished video (at most `[http] max_upload_bytes`).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

#[utoipa::path(post, path = "/api/v1/works", tag = "works",
    request_body(content = RegisterForm, content_type = "multipart/form-data"),
    responses(
        (status = 202, body = UploadJson, description = "Received; a register job fingerprints it (follow GET /api/v1/uploads/{id})"),
        (status = 400, body = ErrorJson, description = "No title or no file, or the form is damaged"),
        (status = 403, body = ErrorJson, description = "The token is not an admin's, or a session sent no CSRF token"),
        (status = 413, body = ErrorJson, description = "The file is larger than [http] max_upload_bytes"),
    ),
    security(("bearer" = [])))]
/// Registers a video as a work: the answer names the upload, whose state
/// becomes `ready` (with the work's id) once it is fingerprinted.
pub async fn api_register(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    MultipartBody(multipart): MultipartBody,
) -> Result<
    (
        StatusCode,
        [(header::HeaderName, String); 1],
        Json<UploadJson>,
    ),
    ApiError,
> {
    let record = receive_upload(&state, &caller, multipart).await?;
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, format!("/api/v1/uploads/{}", record.id))],
        Json(UploadJson::from(&record)),
    ))
}

/// The latest uploads.
#[derive(Serialize, ToSchema)]
pub struct UploadListJson {
    pub uploads: Vec<UploadJson>,
}

#[utoipa::path(get, path = "/api/v1/uploads", tag = "works",
    responses((status = 200, body = UploadListJson, description = "The latest 100 uploads, newest first")),
    security(("bearer" = [])))]
/// The latest uploads for registration and where each is.
pub async fn api_list_uploads(
    State(state): State<AppState>,
) -> Result<Json<UploadListJson>, ApiError> {
    let uploads = state.store.list_uploads(100).await?;
    Ok(Json(UploadListJson {
        uploads: uploads.iter().map(UploadJson::from).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/uploads/{id}", tag = "works",
    params(("id" = String, Path, description = "The upload's id")),
    responses(
        (status = 200, body = UploadJson, description = "The upload and where its registration is"),
        (status = 400, body = ErrorJson, description = "The id is not UTF-8"),
        (status = 404, body = ErrorJson, description = "No upload has this id"),
    ),
    security(("bearer" = [])))]
/// One upload: queued, fingerprinting (with its progress), ready (with the
/// work's id) or failed (with the reason).
pub async fn api_show_upload(
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<Json<UploadJson>, ApiError> {
    let record = if id.contains('\0') {
        None
    } else {
        state.store.upload(&id).await?
    };
    let record =
        record.ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no upload {id:?}")))?;
    Ok(Json(UploadJson::from(&record)))
}

#[utoipa::path(get, path = "/api/v1/works/{id}", tag = "works",
    params(("id" = String, Path, description = "The work's id or a unique prefix")),
    responses(
        (status = 200, body = WorkFullJson, description = "The work with its stages and chain head"),
        (status = 400, body = ErrorJson, description = "The id is not UTF-8, or the prefix names more than one work"),
        (status = 404, body = ErrorJson, description = "No work has this id or prefix"),
    ),
    security(("bearer" = [])))]
/// A work with its creation stages, their timestamps and its chain head.
pub async fn api_show_work(
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<Json<WorkFullJson>, ApiError> {
    let work = find_work(&state, &id).await?;
    let artifacts = state.store.artifacts(&work.id).await?;
    let head = state.store.chain_heads(&work.id).await?.pop();
    Ok(Json(WorkFullJson::new(&work, &artifacts, head.as_ref())))
}

/// The form of `POST /api/v1/works/{id}/artifacts`.
#[derive(ToSchema, serde::Deserialize)]
#[serde(deny_unknown_fields)] // no other fields: additionalProperties false
#[allow(dead_code)] // only its schema is used: the handler reads the form as it streams
pub struct ArtifactForm {
    /// A stage before the final cut (the registered video is that one).
    #[schema(
        pattern = r"^(concept|script|storyboard|raw-footage|edit-log|project-file|music|subtitles|rights-statement)$"
    )]
    stage: String,
    /// The stage's file (at most `[http] max_upload_bytes`).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

#[utoipa::path(post, path = "/api/v1/works/{id}/artifacts", tag = "works",
    params(("id" = String, Path, description = "The work's id or a unique prefix")),
    request_body(content = ArtifactForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, body = WorkFullJson, description = "The work with the file chained (timestamped when a TSA answered)"),
        (status = 400, body = ErrorJson, description = "No file, an unknown stage, or the form is damaged"),
        (status = 403, body = ErrorJson, description = "The token is not an admin's, or a session sent no CSRF token"),
        (status = 404, body = ErrorJson, description = "No work has this id or prefix"),
        (status = 413, body = ErrorJson, description = "The file is larger than [http] max_upload_bytes"),
    ),
    security(("bearer" = [])))]
/// Adds a creation stage's file to a work's chain and timestamps it.
pub async fn api_add_artifact(
    State(state): State<AppState>,
    Id(id): Id,
    MultipartBody(multipart): MultipartBody,
) -> Result<(StatusCode, Json<WorkFullJson>), ApiError> {
    let work = find_work(&state, &id).await?;
    receive_artifact(&state, &work, multipart).await?;
    let artifacts = state.store.artifacts(&work.id).await?;
    let head = state.store.chain_heads(&work.id).await?.pop();
    Ok((
        StatusCode::CREATED,
        Json(WorkFullJson::new(&work, &artifacts, head.as_ref())),
    ))
}

#[utoipa::path(get, path = "/api/v1/works/{id}/package", tag = "works",
    params(("id" = String, Path, description = "The work's id or a unique prefix")),
    responses(
        (status = 200, content_type = "application/zip", description = "The provenance package"),
        (status = 400, body = ErrorJson, description = "The id is not UTF-8, or the prefix names more than one work"),
        (status = 403, body = ErrorJson, description = "The token is a viewer's"),
        (status = 404, body = ErrorJson, description = "No work has this id or prefix"),
        (status = 409, body = ErrorJson, description = "The work has no chain yet, or a stored token does not check"),
    ),
    security(("bearer" = [])))]
/// The work's provenance package (a zip that `reelguard verify` checks).
pub async fn api_package(State(state): State<AppState>, Id(id): Id) -> Result<Response, ApiError> {
    package_response(&state, &id).await
}

#[utoipa::path(get, path = "/api/v1/works/{id}/certificate", tag = "works",
    params(("id" = String, Path, description = "The work's id or a unique prefix")),
    responses(
        (status = 200, content_type = "application/pdf", description = "The bilingual certificate"),
        (status = 400, body = ErrorJson, description = "The id is not UTF-8, or the prefix names more than one work"),
        (status = 404, body = ErrorJson, description = "No work has this id or prefix"),
        (status = 409, body = ErrorJson, description = "The work has no chain yet"),
    ),
    security(("bearer" = [])))]
/// The work's certificate as an A4 PDF (DRAFT at the top while a stage is
/// not timestamped).
pub async fn api_certificate(
    State(state): State<AppState>,
    Id(id): Id,
) -> Result<Response, ApiError> {
    certificate_response(&state, &id, CertificateForm::Pdf).await
}
