//! The JSON shapes reelguard shows: what the command line prints with
//! `--json` and what the HTTP API answers, one struct each, so the two
//! never drift apart. The API's OpenAPI schemas are derived from them.
//! Times are RFC 3339 UTC to the second.

use serde::Serialize;
use utoipa::ToSchema;

use crate::clock::{stored, to_seconds};
use crate::domain::{
    AccessRole, AlertState, CaptureState, MatchStatus, ScanStatus, SourceOrigin, StoredSegment,
    UploadState,
};
use crate::store::{
    AlertRecord, Artifact, Candidate, CaptureRecord, CapturedFile, ChainHead, MatchRecord, Scan,
    StatusChange, StoredSource, StoredStamp, TokenRecord, UploadRecord, Work,
};

/// A match (`matches list --json`, `GET /api/v1/matches`); with its
/// details in `matches show --json` and `GET /api/v1/matches/{id}`.
#[derive(Serialize, ToSchema)]
pub struct MatchJson {
    pub id: String,
    pub work_id: String,
    pub candidate_url: String,
    pub platform: String,
    pub uploader: String,
    pub score: f64,
    pub status: MatchStatus,
    #[schema(value_type = Vec<SegmentJson>)]
    pub segments: Vec<StoredSegment>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub details: Option<MatchDetailsJson>,
}

/// One matched segment: where in the upload and in the work, how well, at
/// what speed.
#[derive(Serialize, ToSchema)]
pub struct SegmentJson {
    pub score: f64,
    pub query_start_s: f64,
    pub query_end_s: f64,
    pub work_start_s: f64,
    pub work_end_s: f64,
    pub matched_frames: u64,
    pub speed: f64,
}

/// What `matches show` adds to a listed match.
#[derive(Serialize, ToSchema)]
pub struct MatchDetailsJson {
    pub work_title: String,
    pub candidate_title: String,
    pub published_at: Option<String>,
    pub media_url: Option<String>,
    pub media_sha256: Option<String>,
    pub source: String,
    pub scan_id: String,
    pub created_at: String,
}

impl MatchJson {
    /// A match as listed (`full`: with its details).
    pub fn new(m: &MatchRecord, full: bool) -> MatchJson {
        MatchJson {
            id: m.id.clone(),
            work_id: m.work_id.clone(),
            candidate_url: m.candidate_url.clone(),
            platform: m.platform.clone(),
            uploader: m.uploader.clone(),
            score: m.score,
            status: m.status,
            segments: m.segments.clone(),
            details: full.then(|| MatchDetailsJson {
                work_title: m.work_title.clone(),
                candidate_title: m.candidate_title.clone(),
                published_at: m.published_at.map(to_seconds),
                media_url: m.media_url.clone(),
                media_sha256: m.media_sha256.clone(),
                source: m.source.clone(),
                scan_id: m.scan_id.clone(),
                created_at: stored(m.created_at),
            }),
        }
    }
}

/// One review step of a match.
#[derive(Serialize, ToSchema)]
pub struct ReviewJson {
    pub from: MatchStatus,
    pub to: MatchStatus,
    pub note: Option<String>,
    pub at: String,
    /// The token's name for a review made in the dashboard or the API;
    /// null for one made on the command line.
    pub by: Option<String>,
}

impl From<&StatusChange> for ReviewJson {
    fn from(c: &StatusChange) -> Self {
        ReviewJson {
            from: c.from,
            to: c.to,
            note: c.note.clone(),
            at: to_seconds(c.at),
            by: c.actor.clone(),
        }
    }
}

/// A match's evidence capture.
#[derive(Serialize, ToSchema)]
pub struct CaptureJson {
    pub state: CaptureState,
    pub attempts: i64,
    pub error: Option<String>,
    pub files: Vec<CapturedFileJson>,
    pub manifest_sha256: Option<String>,
    pub tsa_time: Option<String>,
    pub finished_at: Option<String>,
}

/// One captured file: its path in the evidence bundle, hash and size.
#[derive(Serialize, ToSchema)]
pub struct CapturedFileJson {
    pub path: String,
    pub sha256: String,
    pub size: u64,
}

impl From<&CapturedFile> for CapturedFileJson {
    fn from(f: &CapturedFile) -> Self {
        CapturedFileJson {
            path: f.path.clone(),
            sha256: f.sha256.clone(),
            size: f.size,
        }
    }
}

impl From<&CaptureRecord> for CaptureJson {
    fn from(c: &CaptureRecord) -> Self {
        CaptureJson {
            state: c.state,
            attempts: c.attempts,
            error: c.error.clone(),
            files: c.files.iter().map(CapturedFileJson::from).collect(),
            manifest_sha256: c.manifest_sha256.clone(),
            tsa_time: c.tsa_time.map(to_seconds),
            finished_at: c.finished_at.map(to_seconds),
        }
    }
}

/// Another place a match's upload was found (the same media at another
/// URL), with its own evidence capture.
#[derive(Serialize, ToSchema)]
pub struct LocationJson {
    pub url: String,
    pub platform: String,
    pub uploader: String,
    pub title: String,
    pub source: String,
    pub published_at: Option<String>,
    /// The candidate found at this URL (its captured files are served
    /// under `/matches/{id}/locations/{candidate_id}/files/`).
    pub candidate_id: String,
    /// The capture of this URL: page, screenshot, media hash, manifest
    /// and its token, like the match's own `capture`.
    pub capture: CaptureJson,
}

impl LocationJson {
    pub fn new(c: &Candidate, capture: &CaptureRecord) -> Self {
        LocationJson {
            url: c.canonical_url.clone(),
            platform: c.platform.clone(),
            uploader: c.uploader.clone(),
            title: c.title.clone(),
            source: c.source.clone(),
            published_at: c.published_at.map(to_seconds),
            candidate_id: c.id.clone(),
            capture: CaptureJson::from(capture),
        }
    }
}

/// A match in full: its details, other locations, review history and capture.
#[derive(Serialize, ToSchema)]
pub struct MatchFullJson {
    #[serde(flatten)]
    pub summary: MatchJson,
    /// Where else the same upload was found (one upload, one match).
    pub locations: Vec<LocationJson>,
    pub history: Vec<ReviewJson>,
    pub capture: CaptureJson,
}

/// The answer to a review: the match's status before and after.
#[derive(Serialize, ToSchema)]
pub struct ReviewDoneJson {
    pub id: String,
    pub from: MatchStatus,
    pub status: MatchStatus,
    pub note: Option<String>,
    pub at: String,
}

/// A registered work (`works list --json`, `GET /api/v1/works`).
#[derive(Serialize, ToSchema)]
pub struct WorkJson {
    pub work_id: String,
    pub title: String,
    pub owner: Option<String>,
    pub rights_statement: Option<String>,
    pub duration_s: f64,
    pub frames: i64,
    pub width: i64,
    pub height: i64,
    pub codec: String,
    pub source_path: String,
    pub source_sha256: String,
    pub created_at: String,
}

impl From<&Work> for WorkJson {
    fn from(work: &Work) -> Self {
        WorkJson {
            work_id: work.id.clone(),
            title: work.title.clone(),
            owner: work.owner.clone(),
            rights_statement: work.rights_statement.clone(),
            duration_s: work.duration_s,
            frames: work.frames,
            width: work.width,
            height: work.height,
            codec: work.codec.clone(),
            source_path: work.source_path.clone(),
            source_sha256: work.source_sha256.clone(),
            created_at: to_seconds(work.created_at),
        }
    }
}

/// An RFC 3161 timestamp on a stage or a chain head.
#[derive(Serialize, ToSchema)]
pub struct StampJson {
    /// The TSA's time.
    pub time: String,
    /// The TSA's name (its certificate's subject).
    pub tsa: String,
    pub serial: String,
    pub url: String,
}

impl From<&StoredStamp> for StampJson {
    fn from(stamp: &StoredStamp) -> Self {
        StampJson {
            time: to_seconds(stamp.tsa_time),
            tsa: stamp.tsa_name.clone(),
            serial: stamp.tsa_serial.clone(),
            url: stamp.tsa_url.clone(),
        }
    }
}

/// A creation-stage file of a work, link `seq` of its hash chain
/// (`register --json`, `works show --json`, `GET /api/v1/works/{id}`).
#[derive(Serialize, ToSchema)]
pub struct ArtifactJson {
    pub seq: u32,
    pub stage: String,
    pub file_name: String,
    pub size_bytes: u64,
    pub sha256: String,
    /// The creation time the file's own metadata states, as it states it.
    pub media_created_at: Option<String>,
    pub entry_hash: String,
    /// `null` while the timestamp is pending.
    pub timestamp: Option<StampJson>,
    /// Why the last timestamp attempt failed.
    pub stamp_error: Option<String>,
}

impl From<&Artifact> for ArtifactJson {
    fn from(a: &Artifact) -> Self {
        ArtifactJson {
            seq: a.seq,
            stage: a.stage.clone(),
            file_name: a.file_name.clone(),
            size_bytes: a.size_bytes,
            sha256: a.sha256.clone(),
            media_created_at: a.media_created_at.clone(),
            entry_hash: a.entry_hash.clone(),
            timestamp: a.stamp.as_ref().map(StampJson::from),
            stamp_error: a.stamp_error.clone(),
        }
    }
}

/// A work's chain head: the hash of its last link, and its timestamp.
#[derive(Serialize, ToSchema)]
pub struct ChainHeadJson {
    pub seq: u32,
    /// Its SHA-256, hex.
    pub hash: String,
    /// `null` while the timestamp is pending.
    pub timestamp: Option<StampJson>,
}

impl From<&ChainHead> for ChainHeadJson {
    fn from(head: &ChainHead) -> Self {
        ChainHeadJson {
            seq: head.seq,
            hash: head.head_hash.clone(),
            timestamp: head.stamp.as_ref().map(StampJson::from),
        }
    }
}

/// A work with its creation stages and chain head (`works show --json`,
/// `GET /api/v1/works/{id}`).
#[derive(Serialize, ToSchema)]
pub struct WorkFullJson {
    #[serde(flatten)]
    pub work: WorkJson,
    pub artifacts: Vec<ArtifactJson>,
    /// `null` before the first artifact.
    pub chain_head: Option<ChainHeadJson>,
}

impl WorkFullJson {
    pub fn new(work: &Work, artifacts: &[Artifact], head: Option<&ChainHead>) -> WorkFullJson {
        WorkFullJson {
            work: WorkJson::from(work),
            artifacts: artifacts.iter().map(ArtifactJson::from).collect(),
            chain_head: head.map(ChainHeadJson::from),
        }
    }
}

/// A video uploaded for registration and where its registration is
/// (`GET /api/v1/uploads/{id}`).
#[derive(Serialize, ToSchema)]
pub struct UploadJson {
    pub upload_id: String,
    pub title: String,
    pub file_name: String,
    pub size_bytes: i64,
    pub state: UploadState,
    /// Share of the video fingerprinted, 0 to 1.
    pub progress: f64,
    pub error: Option<String>,
    /// The work it became, once ready.
    pub work_id: Option<String>,
    pub uploaded_by: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&UploadRecord> for UploadJson {
    fn from(u: &UploadRecord) -> Self {
        UploadJson {
            upload_id: u.id.clone(),
            title: u.title.clone(),
            file_name: u.file_name.clone(),
            size_bytes: u.size_bytes,
            state: u.state,
            progress: u.progress,
            error: u.error.clone(),
            work_id: u.work_id.clone(),
            uploaded_by: u.uploaded_by.clone(),
            created_at: to_seconds(u.created_at),
            updated_at: to_seconds(u.updated_at),
        }
    }
}

/// A watched source (`sources list --json`, `GET /api/v1/sources`).
#[derive(Serialize, ToSchema)]
pub struct SourceJson {
    pub name: String,
    pub kind: String,
    pub url: String,
    pub schedule: String,
    pub timezone: String,
    pub origin: SourceOrigin,
    pub last_run: Option<String>,
    pub next_run: Option<String>,
    pub last_error: Option<String>,
    /// The daily API quota, for a kind that has one (youtube-search).
    pub quota: Option<QuotaJson>,
}

/// A source's daily API quota: units allowed per UTC day, and those used
/// on the last day counted (a later day starts again at 0).
#[derive(Serialize, ToSchema)]
pub struct QuotaJson {
    pub per_day: u32,
    /// The UTC day counted (YYYY-MM-DD); null before the first spend.
    pub day: Option<String>,
    pub used: u32,
}

impl From<&StoredSource> for SourceJson {
    fn from(s: &StoredSource) -> Self {
        SourceJson {
            name: s.config.name.clone(),
            kind: s.config.kind.as_str().to_string(),
            url: s.config.url.clone(),
            schedule: s.config.schedule.clone(),
            timezone: s.config.timezone.clone(),
            origin: s.origin,
            last_run: s.last_run_at.map(stored),
            next_run: s.next_run_at.map(stored),
            last_error: s.last_error.clone(),
            quota: s.has_quota().then(|| QuotaJson {
                per_day: s.config.quota_per_day,
                day: s.quota_spent.as_ref().map(|q| q.day.clone()),
                used: s.quota_spent.as_ref().map_or(0, |q| q.used),
            }),
        }
    }
}

/// One scan (`scans list --json`, `GET /api/v1/sources/{name}/scans`):
/// uploads listed, new among them, matches found; errors include its
/// candidates' errors.
#[derive(Serialize, ToSchema)]
pub struct ScanJson {
    pub id: String,
    pub source: String,
    pub status: ScanStatus,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub candidates: i64,
    pub new_candidates: i64,
    pub new_matches: i64,
    pub pending_jobs: i64,
    pub errors: Vec<String>,
}

impl From<&Scan> for ScanJson {
    fn from(s: &Scan) -> Self {
        ScanJson {
            id: s.id.clone(),
            source: s.source.clone(),
            status: s.status,
            started_at: stored(s.started_at),
            ended_at: s.ended_at.map(stored),
            candidates: s.candidates,
            new_candidates: s.new_candidates,
            new_matches: s.new_matches,
            pending_jobs: s.pending_jobs,
            errors: s.errors.clone(),
        }
    }
}

/// A scan queued (`POST /api/v1/sources/{name}/scan`): the new scan, or
/// the one already queued or running for the source.
#[derive(Serialize, ToSchema)]
pub struct ScanQueuedJson {
    pub source: String,
    pub scan_id: String,
}

/// One alert outbox row (`alerts list --json`, `GET /api/v1/alerts`).
#[derive(Serialize, ToSchema)]
pub struct AlertJson {
    pub id: String,
    pub match_id: String,
    pub channel: String,
    pub recipient: String,
    pub batch: String,
    pub due_at: String,
    pub state: AlertState,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    pub server_response: Option<String>,
    pub created_at: String,
    pub delivered_at: Option<String>,
}

impl From<&AlertRecord> for AlertJson {
    fn from(a: &AlertRecord) -> Self {
        AlertJson {
            id: a.id.clone(),
            match_id: a.match_id.clone(),
            channel: a.channel.clone(),
            recipient: crate::secret::redact_recipient(&a.recipient),
            batch: a.batch.clone(),
            due_at: stored(a.due_at),
            state: a.state,
            attempts: a.attempts,
            next_attempt_at: stored(a.next_attempt_at),
            last_error: a
                .last_error
                .as_deref()
                .map(crate::secret::redact_urls_in_text),
            server_response: a
                .server_response
                .as_deref()
                .map(crate::secret::redact_urls_in_text),
            created_at: stored(a.created_at),
            delivered_at: a.delivered_at.map(stored),
        }
    }
}

/// Failed alerts queued again (`POST /api/v1/alerts/retry`).
#[derive(Serialize, ToSchema)]
pub struct AlertsRetriedJson {
    pub retried: u64,
}

/// An access token as listed (`tokens list --json`, `GET /api/v1/tokens`):
/// never the token itself.
#[derive(Serialize, ToSchema)]
pub struct TokenJson {
    pub id: String,
    pub name: String,
    pub role: AccessRole,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl From<&TokenRecord> for TokenJson {
    fn from(t: &TokenRecord) -> Self {
        TokenJson {
            id: t.id.clone(),
            name: t.name.clone(),
            role: t.role,
            created_at: to_seconds(t.created_at),
            last_used_at: t.last_used_at.map(to_seconds),
            revoked_at: t.revoked_at.map(to_seconds),
        }
    }
}

/// A token just created: the only time its text is shown.
#[derive(Serialize, ToSchema)]
pub struct NewTokenJson {
    #[serde(flatten)]
    pub record: TokenJson,
    /// The token; only its SHA-256 is stored.
    pub token: String,
}
