//! Where candidates come from. Each kind of source is a module behind the
//! [`Source`] trait: it lists the uploads it sees as [`NewCandidate`]s and
//! does nothing else (no download, no matching — the daemon's pipeline does
//! that). Outbound HTTP goes through [`http::HttpClient`], which applies the
//! source's proxy, rate limit, retries and the SSRF guard.

pub mod feed;
pub mod folder;
pub mod guard_proxy;
pub mod http;
pub mod page;
pub mod youtube;
pub mod ytdlp;

use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use url::Url;

use crate::source_config::{SourceConfig, SourceKind};
use crate::store::{NewCandidate, Store};
use http::{Document, HttpClient};

/// What one source needs while it lists uploads.
pub struct ScanContext<'a> {
    pub config: &'a SourceConfig,
    pub client: &'a HttpClient,
    pub store: &'a Store,
    /// Titles of the registered works (youtube-search searches for them).
    pub work_titles: Vec<String>,
    pub now: DateTime<Utc>,
    /// Use and remember conditional-GET validators (off for `sources test`,
    /// which must not hide what the next real scan sees).
    pub conditional: bool,
}

impl ScanContext<'_> {
    /// GETs a document conditionally (ETag / Last-Modified remembered per
    /// source and URL). None when the server says it has not changed.
    pub async fn fetch(&self, url: &str) -> anyhow::Result<Option<(String, Url)>> {
        let validators = if self.conditional {
            self.store.validators(&self.config.name, url).await?
        } else {
            None
        };
        match self.client.get_document(url, validators.as_ref()).await? {
            Document::NotModified => Ok(None),
            Document::Fresh {
                text,
                final_url,
                validators,
            } => {
                if self.conditional
                    && (validators.etag.is_some() || validators.last_modified.is_some())
                {
                    self.store
                        .save_validators(&self.config.name, url, &validators)
                        .await?;
                }
                Ok(Some((text, final_url)))
            }
        }
    }

    /// Whether an upload published at `published` is inside the source's window.
    pub fn in_window(&self, published: Option<DateTime<Utc>>) -> bool {
        let (Some(days), Some(published)) = (self.config.published_within_days, published) else {
            return true;
        };
        published >= self.now - chrono::Duration::days(days.into())
    }
}

/// What a listing found: the uploads, and problems that did not stop it
/// (one failed query among several, say).
#[derive(Debug, Default)]
pub struct Listing {
    pub candidates: Vec<NewCandidate>,
    pub errors: Vec<String>,
}

/// Most candidates one scan of one source queues. A feed or page listing
/// more (100,000 items would be about a day of downloads and decodes) has
/// its first ones taken, in the source's order (feeds list the newest
/// first), and the scan says what was left out.
pub const MAX_CANDIDATES_PER_LISTING: usize = 1000;

impl Listing {
    /// The listing without repeated uploads (by canonical URL, in one pass)
    /// and with at most [`MAX_CANDIDATES_PER_LISTING`] of them.
    pub fn bounded(self) -> Listing {
        let Listing {
            candidates,
            mut errors,
        } = self;
        let listed = candidates.len();
        let mut seen =
            std::collections::HashSet::with_capacity(listed.min(4 * MAX_CANDIDATES_PER_LISTING));
        let mut kept = Vec::new();
        let mut distinct = 0usize;
        for candidate in candidates {
            if !seen.insert(candidate.canonical_url.clone()) {
                continue;
            }
            distinct += 1;
            if kept.len() < MAX_CANDIDATES_PER_LISTING {
                kept.push(candidate);
            }
        }
        if distinct > kept.len() {
            errors.push(format!(
                "the listing holds {distinct} uploads; the first {} were taken (at most {MAX_CANDIDATES_PER_LISTING} per scan), the others wait for later scans",
                kept.len()
            ));
        }
        Listing {
            candidates: kept,
            errors,
        }
    }
}

/// A kind of source.
pub trait Source: Send + Sync {
    /// Lists the uploads the source shows now.
    fn discover<'a>(&'a self, cx: &'a ScanContext<'a>) -> BoxFuture<'a, anyhow::Result<Listing>>;
}

/// The implementation of a source kind.
pub fn for_kind(kind: SourceKind) -> Box<dyn Source> {
    match kind {
        SourceKind::YoutubeSearch => Box::new(youtube::YoutubeSearch),
        SourceKind::YoutubeChannel => Box::new(feed::FeedSource { youtube: true }),
        SourceKind::Feed => Box::new(feed::FeedSource { youtube: false }),
        SourceKind::Page => Box::new(page::PageSource),
        SourceKind::Folder => Box::new(folder::FolderSource),
        SourceKind::Ytdlp => Box::new(ytdlp::YtdlpSource),
    }
}

/// The form of a URL used to recognise the same upload twice: no fragment,
/// no tracking parameters (`utm_*`, `feature`, `si`), no default port.
pub fn canonical_url(url: &str) -> String {
    let Ok(mut parsed) = Url::parse(url) else {
        return url.trim().to_string();
    };
    parsed.set_fragment(None);
    let kept: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(k, _)| !(k.starts_with("utm_") || k == "feature" || k == "si"))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(kept);
    }
    parsed.to_string()
}

/// A platform name for an upload's URL: a known video site by its host,
/// else the host itself.
pub fn platform_of(url: &str) -> String {
    let host = Url::parse(url)
        .ok()
        .and_then(|u| {
            u.host_str()
                .map(|h| h.trim_start_matches("www.").to_string())
        })
        .unwrap_or_default();
    let known = [
        ("youtube.com", "youtube"),
        ("youtu.be", "youtube"),
        ("bilibili.com", "bilibili"),
        ("tiktok.com", "tiktok"),
        ("dailymotion.com", "dailymotion"),
        ("x.com", "x"),
        ("twitter.com", "x"),
        ("vimeo.com", "vimeo"),
        ("facebook.com", "facebook"),
        ("instagram.com", "instagram"),
    ];
    for (suffix, name) in known {
        if host == suffix || host.ends_with(&format!(".{suffix}")) {
            return name.to_string();
        }
    }
    host
}

/// `reference` resolved against `base` (relative links in feeds and pages).
pub fn resolve_url(base: &Url, reference: &str) -> Option<String> {
    base.join(reference.trim()).ok().map(|u| u.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upload(url: &str) -> NewCandidate {
        NewCandidate {
            canonical_url: url.into(),
            platform: "p".into(),
            uploader: "u".into(),
            title: "t".into(),
            published_at: None,
            media_url: None,
        }
    }

    #[test]
    fn a_listing_is_deduplicated_and_capped() {
        // 100,000 items, each listed twice.
        let candidates = (0..200_000)
            .map(|i| upload(&format!("https://v.example/{}", i % 100_000)))
            .collect();
        let listing = Listing {
            candidates,
            errors: vec![],
        }
        .bounded();
        assert_eq!(listing.candidates.len(), MAX_CANDIDATES_PER_LISTING);
        assert_eq!(listing.candidates[1].canonical_url, "https://v.example/1");
        assert_eq!(listing.errors.len(), 1);
        assert!(
            listing.errors[0].contains("holds 100000 uploads"),
            "{:?}",
            listing.errors
        );
        let small = Listing {
            candidates: vec![upload("a"), upload("b"), upload("a")],
            errors: vec![],
        }
        .bounded();
        let urls: Vec<_> = small
            .candidates
            .iter()
            .map(|c| c.canonical_url.as_str())
            .collect();
        assert_eq!(urls, ["a", "b"]);
        assert!(small.errors.is_empty());
    }

    #[test]
    fn canonical_urls_drop_fragments_and_tracking() {
        assert_eq!(
            canonical_url("https://www.youtube.com/watch?v=abc&feature=share&utm_source=x#t=3"),
            "https://www.youtube.com/watch?v=abc"
        );
        assert_eq!(
            canonical_url("http://example.com:80/v/1?utm_medium=a"),
            "http://example.com/v/1"
        );
        assert_eq!(platform_of("https://m.bilibili.com/video/BV1"), "bilibili");
        assert_eq!(platform_of("http://127.0.0.1:8080/watch?v=1"), "127.0.0.1");
    }
}
