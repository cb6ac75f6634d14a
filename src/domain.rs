//! The application's domain types: job kinds and states, scan, candidate,
//! capture and match statuses (with the review flow's legal moves), the
//! stored segment of a match, and the `[owner]` section.
//!
//! A leaf module: it imports nothing from the rest of the crate, so every
//! layer above (store, provenance, evidence, alerts, daemon, cli) shares one
//! definition. The database stores each enum by its name ([`Named`]); a name
//! this binary does not know is an error naming the column's type and value,
//! never a silent default.

use serde::{Deserialize, Serialize};

/// An enum stored and shown by name.
pub trait Named: Sized + Copy + 'static {
    /// What the values are called in messages ("job kind").
    const WHAT: &'static str;
    /// Every value, in a stable order.
    const ALL: &'static [Self];
    fn name(self) -> &'static str;

    fn from_name(name: &str) -> Result<Self, UnknownName> {
        Self::ALL
            .iter()
            .copied()
            .find(|v| v.name() == name)
            .ok_or_else(|| UnknownName {
                what: Self::WHAT,
                name: name.to_string(),
                known: Self::ALL.iter().map(|v| v.name()).collect(),
            })
    }
}

/// A stored or given name that is not one of an enum's values.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("unknown {what} {name:?} (known: {})", known.join(", "))]
pub struct UnknownName {
    pub what: &'static str,
    pub name: String,
    pub known: Vec<&'static str>,
}

/// Declares a [`Named`] enum: serde, `Display`, `FromStr` and the
/// database's text encoding all use the one name per value.
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl Named for $name {
            const WHAT: &'static str = $what;
            const ALL: &'static [Self] = &[$($name::$variant),+];
            fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownName;
            fn from_str(text: &str) -> Result<Self, UnknownName> {
                <$name as Named>::from_name(text)
            }
        }

        impl sqlx::Type<sqlx::Any> for $name {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <str as sqlx::Type<sqlx::Any>>::type_info()
            }
        }

        impl<'q> sqlx::Encode<'q, sqlx::Any> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut <sqlx::Any as sqlx::Database>::ArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<'q, sqlx::Any>>::encode(self.name(), buf)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Any> for $name {
            fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&str as sqlx::Decode<'r, sqlx::Any>>::decode(value)?;
                Ok(<$name as Named>::from_name(text)?)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

named_enum!(
    /// What a queued job does.
    JobKind, "job kind" {
        /// List a source's uploads (subject: the source's name).
        Scan = "scan",
        /// Download, fingerprint and match an upload (subject: the candidate).
        Candidate = "candidate",
        /// Capture the evidence of a match (subject: the match).
        Capture = "capture",
        /// Capture a further location of a match, another URL of its
        /// upload (subject: `MATCH/CANDIDATE`).
        LocationCapture = "location-capture",
        /// Fingerprint and register an uploaded video as a work (subject:
        /// the upload).
        Register = "register",
    }
);

impl JobKind {
    /// The node role that runs jobs of this kind.
    pub fn role(self) -> Role {
        match self {
            JobKind::Scan => Role::Scan,
            JobKind::Candidate => Role::Candidate,
            JobKind::Capture | JobKind::LocationCapture => Role::Capture,
            // Registering is fingerprinting, like a candidate's.
            JobKind::Register => Role::Candidate,
        }
    }
}

named_enum!(
    /// What a daemon node does (`[daemon] roles`, default all): the job kinds
    /// its workers take, delivering alerts, and standing for the scheduler.
    Role, "node role" {
        /// Scan jobs: listing sources.
        Scan = "scan",
        /// Candidate jobs: download, fingerprint, match; and register jobs:
        /// fingerprinting a video uploaded to the dashboard.
        Candidate = "candidate",
        /// Capture jobs: evidence (Chromium).
        Capture = "capture",
        /// Delivering the alert outbox.
        Alerts = "alerts",
        /// Firing cron schedules, when this node holds the scheduler lease.
        Scheduler = "scheduler",
    }
);

named_enum!(
    /// Where a job is in the queue.
    JobState, "job state" {
        Queued = "queued",
        Running = "running",
        Done = "done",
        Failed = "failed",
    }
);

named_enum!(
    /// Where a scan is.
    ScanStatus, "scan status" {
        /// Listing the source.
        Discovering = "discovering",
        /// Listed; its candidates are being processed.
        Processing = "processing",
        Done = "done",
        /// The source could not be listed.
        Failed = "failed",
    }
);

impl ScanStatus {
    pub fn finished(self) -> bool {
        matches!(self, ScanStatus::Done | ScanStatus::Failed)
    }
}

named_enum!(
    /// Where a candidate upload is.
    CandidateStatus, "candidate status" {
        Queued = "queued",
        Done = "done",
        /// Its media had the same SHA-256 as an upload already processed.
        Duplicate = "duplicate",
        Failed = "failed",
    }
);

named_enum!(
    /// Where a video uploaded for registration is.
    UploadState, "upload state" {
        /// Received; waiting for a worker.
        Queued = "queued",
        /// Being fingerprinted (its progress is stored).
        Fingerprinting = "fingerprinting",
        /// Registered: the work exists.
        Ready = "ready",
        /// It could not be registered (the reason is stored).
        Failed = "failed",
    }
);

impl UploadState {
    pub fn finished(self) -> bool {
        matches!(self, UploadState::Ready | UploadState::Failed)
    }
}

named_enum!(
    /// A match's evidence capture.
    CaptureState, "capture state" {
        Pending = "pending",
        Done = "done",
        Failed = "failed",
    }
);

named_enum!(
    /// An alert outbox row.
    AlertState, "alert state" {
        Queued = "queued",
        /// Leased by a sender; no answer recorded yet.
        Sending = "sending",
        Delivered = "delivered",
        /// Out of attempts (`alerts retry-failed` queues it again).
        Failed = "failed",
    }
);

named_enum!(
    /// A match's review status, in review order.
    MatchStatus, "match status" {
        Pending = "pending",
        Confirmed = "confirmed",
        Dismissed = "dismissed",
        Licensed = "licensed",
        Claimed = "claimed",
        Resolved = "resolved",
    }
);

impl MatchStatus {
    /// The status in Chinese, for the bilingual report and dashboard (the
    /// English is its [`Named::name`]).
    pub fn chinese(self) -> &'static str {
        match self {
            MatchStatus::Pending => "待审核",
            MatchStatus::Confirmed => "已确认侵权",
            MatchStatus::Dismissed => "已驳回",
            MatchStatus::Licensed => "已授权",
            MatchStatus::Claimed => "已申诉",
            MatchStatus::Resolved => "已解决",
        }
    }

    /// The review flow, decided here alone: a pending match is confirmed,
    /// dismissed or licensed (a reviewer may change their mind among
    /// those); only a confirmed match is claimed, and only a claimed one
    /// resolved.
    pub fn can_become(self, to: MatchStatus) -> bool {
        use MatchStatus::*;
        let reviewed = matches!(self, Pending | Confirmed | Dismissed | Licensed);
        match to {
            Confirmed | Dismissed | Licensed => reviewed && self != to,
            Claimed => self == Confirmed,
            Resolved => self == Claimed,
            Pending => false,
        }
    }

    /// Whether the owner is told when this match's upload turns up at a
    /// new URL: only once a reviewer has confirmed (or claimed) it. A
    /// pending match's first alert stands; a dismissed, licensed or
    /// resolved one needs nothing more.
    pub fn alerts_new_locations(self) -> bool {
        matches!(self, MatchStatus::Confirmed | MatchStatus::Claimed)
    }
}

named_enum!(
    /// What an access token may do in the dashboard and the API, each role
    /// everything the one before may do and more.
    AccessRole, "access role" {
        /// Reads everything.
        Viewer = "viewer",
        /// Also reviews matches and exports evidence.
        Reviewer = "reviewer",
        /// Also manages works, sources and tokens.
        Admin = "admin",
    }
);

impl AccessRole {
    /// Whether a token of this role may do what `needed` may.
    pub fn includes(self, needed: AccessRole) -> bool {
        self >= needed
    }
}

named_enum!(
    /// Where a stored source was defined.
    SourceOrigin, "source origin" {
        /// Added with `reelguard sources add`.
        Cli = "cli",
        /// A `[[sources]]` entry of the config file (kept in step with it).
        Config = "config",
    }
);

/// One matched segment of a match as stored (`matches.segments`, a JSON
/// list): where in the upload and in the work, how well, at what speed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredSegment {
    pub score: f64,
    pub query_start_s: f64,
    pub query_end_s: f64,
    pub work_start_s: f64,
    pub work_end_s: f64,
    #[serde(default)]
    pub matched_frames: u64,
    #[serde(default = "normal_speed")]
    pub speed: f64,
}

fn normal_speed() -> f64 {
    1.0
}

/// Who claims the works (`[owner]`): fills notices and certificates.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OwnerConfig {
    pub name: Option<String>,
    pub email: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn review_flow() {
        use MatchStatus::*;
        assert!(Pending.can_become(Confirmed));
        assert!(Dismissed.can_become(Confirmed));
        assert!(Confirmed.can_become(Claimed));
        assert!(Claimed.can_become(Resolved));
        assert!(!Pending.can_become(Claimed));
        assert!(!Pending.can_become(Resolved));
        assert!(!Claimed.can_become(Dismissed));
        assert!(!Confirmed.can_become(Confirmed));
        assert!(!Pending.can_become(Pending));
        assert!(!Resolved.can_become(Pending));
    }

    #[test]
    fn names_round_trip_and_unknown_names_say_what_is_known() {
        for kind in JobKind::ALL {
            assert_eq!(kind.name().parse::<JobKind>().unwrap(), *kind);
            assert_eq!(serde_json::to_string(kind).unwrap(), format!("\"{kind}\""));
        }
        let error = "fingerprint".parse::<JobKind>().unwrap_err().to_string();
        assert_eq!(
            error,
            "unknown job kind \"fingerprint\" (known: scan, candidate, capture, location-capture, register)"
        );
    }

    #[test]
    fn segments_without_speed_read_as_normal_speed() {
        let s: Vec<StoredSegment> = serde_json::from_str(
            r#"[{"score":0.5,"query_start_s":1,"query_end_s":2,"work_start_s":3,"work_end_s":4}]"#,
        )
        .unwrap();
        assert_eq!(s[0].speed, 1.0);
        assert_eq!(s[0].matched_frames, 0);
    }
}
