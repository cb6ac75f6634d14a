//! Receiving a multipart form with one file: the file is streamed to disk
//! under a name of our own making and refused past a size cap; the other
//! fields are kept as (bounded) text. The verification page, work
//! registration and added artifacts all take their files here.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use axum::extract::multipart::MultipartError;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::StatusCode;
use tokio::io::AsyncWriteExt;

use crate::blobs::safe_file_name;

/// Longest text field taken, in bytes.
const MAX_FIELD_BYTES: usize = 64 * 1024;

/// A received file.
#[derive(Debug)]
pub struct ReceivedFile {
    /// The name the sender gave it, made safe to keep (see [`safe_file_name`]).
    pub name: String,
    /// Where it was written.
    pub path: PathBuf,
    pub size_bytes: u64,
}

/// A received form: its text fields and its file (the field `file`).
#[derive(Debug, Default)]
pub struct Received {
    pub fields: HashMap<String, String>,
    pub file: Option<ReceivedFile>,
}

impl Received {
    /// A text field, trimmed; `None` when absent or blank.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }
}

/// Why a form was not taken: the status to answer and what to do.
pub type Refusal = (StatusCode, String);

/// A multipart body for the API: a request that is not one is answered
/// with a JSON error (400) like every other refusal of the API.
pub struct MultipartBody(pub Multipart);

impl<S: Send + Sync> FromRequest<S> for MultipartBody {
    type Rejection = super::api::ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        Multipart::from_request(request, state)
            .await
            .map(MultipartBody)
            .map_err(|rejection| {
                super::api::ApiError(
                    rejection.status(),
                    format!(
                        "{}: send the form as multipart/form-data",
                        rejection.body_text()
                    ),
                )
            })
    }
}

/// Reads `multipart`, writing the field `file` into `dir` (created) under
/// its safe name and refusing a file of more than `limit` bytes (the part
/// written is removed), and text fields named in `fields` (any other is
/// refused, so a misspelt field is not silently dropped). An empty file
/// counts as none.
pub async fn receive(
    mut multipart: Multipart,
    dir: &Path,
    limit: u64,
    fields: &[&str],
) -> Result<Received, Refusal> {
    let bad = |e: MultipartError| {
        (
            StatusCode::BAD_REQUEST,
            format!("the upload is damaged: {e}"),
        )
    };
    let io = |e: std::io::Error| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot keep the upload in {}: {e}", dir.display()),
        )
    };
    let mut received = Received::default();
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        let Some(field_name) = field.name().map(str::to_string) else {
            continue;
        };
        if field_name != "file" {
            if !fields.contains(&field_name.as_str()) {
                let mut known = fields.to_vec();
                known.push("file");
                return Err((
                    StatusCode::BAD_REQUEST,
                    format!(
                        "the form has no field {field_name:?}; it takes {}",
                        known.join(", ")
                    ),
                ));
            }
            let mut text = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(bad)? {
                text.extend_from_slice(&chunk);
                if text.len() > MAX_FIELD_BYTES {
                    return Err((
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("the field {field_name:?} is longer than {MAX_FIELD_BYTES} bytes"),
                    ));
                }
            }
            let text = String::from_utf8(text).map_err(|_| {
                (
                    StatusCode::BAD_REQUEST,
                    format!("the field {field_name:?} is not UTF-8 text"),
                )
            })?;
            if text.contains('\0') {
                return Err((
                    StatusCode::BAD_REQUEST,
                    format!("the field {field_name:?} holds a NUL character"),
                ));
            }
            received.fields.insert(field_name, text);
            continue;
        }
        if received.file.is_some() {
            return Err((
                StatusCode::BAD_REQUEST,
                "the form holds more than one file; send one".into(),
            ));
        }
        let name = safe_file_name(field.file_name().unwrap_or(""));
        tokio::fs::create_dir_all(dir).await.map_err(io)?;
        let path = dir.join(&name);
        let mut file = tokio::fs::File::create(&path).await.map_err(io)?;
        let mut written: u64 = 0;
        while let Some(chunk) = field.chunk().await.map_err(bad)? {
            written += chunk.len() as u64;
            if written > limit {
                drop(file);
                let _ = tokio::fs::remove_file(&path).await;
                return Err((
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!(
                        "{name} is larger than this server takes ({limit} bytes, [http] max_upload_bytes)"
                    ),
                ));
            }
            file.write_all(&chunk).await.map_err(io)?;
        }
        file.flush().await.map_err(io)?;
        if written == 0 {
            drop(file);
            let _ = tokio::fs::remove_file(&path).await;
            continue;
        }
        received.file = Some(ReceivedFile {
            name,
            path,
            size_bytes: written,
        });
    }
    Ok(received)
}
