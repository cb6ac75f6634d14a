//! `youtube-search` source: the YouTube Data API v3. Each query (every
//! registered work's title, then the source's `keywords`) is a `search.list`
//! call (100 quota units); the videos found are then described by one
//! `videos.list` call per 50 ids (1 unit). Quota use is counted per source
//! and UTC day in the store and never exceeds `quota_per_day`. The API key
//! comes from the environment variable named by `api_key_env` and is never
//! written to logs or errors. The source's `url` is the API base URL
//! (`https://www.googleapis.com/youtube/v3`), so tests can point it elsewhere.

use anyhow::{bail, Context as _};
use futures_util::future::BoxFuture;
use serde_json::Value;
use url::Url;

use super::http::Document;
use super::{canonical_url, Listing, ScanContext, Source};
use crate::secret::Secret;
use crate::store::NewCandidate;

const SEARCH_COST: u32 = 100;
const VIDEOS_COST: u32 = 1;

pub struct YoutubeSearch;

impl Source for YoutubeSearch {
    fn discover<'a>(&'a self, cx: &'a ScanContext<'a>) -> BoxFuture<'a, anyhow::Result<Listing>> {
        Box::pin(discover(cx))
    }
}

async fn discover(cx: &ScanContext<'_>) -> anyhow::Result<Listing> {
    let config = cx.config;
    let key = Secret::from_env(&config.api_key_env).with_context(|| {
        format!(
            "source {}: set the environment variable {} to a YouTube Data API v3 key",
            config.name, config.api_key_env
        )
    })?;
    let mut queries: Vec<String> = Vec::new();
    for q in cx.work_titles.iter().chain(&config.keywords) {
        let q = q.trim().to_string();
        if !q.is_empty() && !queries.iter().any(|known| known.eq_ignore_ascii_case(&q)) {
            queries.push(q);
        }
    }
    if queries.is_empty() {
        bail!(
            "source {}: nothing to search for: register a work or set keywords",
            config.name
        );
    }
    let base = config.url.trim_end_matches('/');
    let day = cx.now.format("%Y-%m-%d").to_string();
    let mut listing = Listing::default();
    let mut ids: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for q in &queries {
        if !spend(cx, &day, SEARCH_COST, &mut listing).await? {
            break;
        }
        let mut url = Url::parse(&format!("{base}/search")).context("bad API base URL")?;
        {
            let mut pairs = url.query_pairs_mut();
            pairs
                .append_pair("part", "snippet")
                .append_pair("type", "video")
                .append_pair("order", "date")
                .append_pair("q", q)
                .append_pair("maxResults", &config.max_results.to_string());
            if let Some(days) = config.published_within_days {
                let after = cx.now - chrono::Duration::days(days.into());
                pairs.append_pair(
                    "publishedAfter",
                    &after.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                );
            }
        }
        match get_json(cx, url, &key).await {
            Ok(json) => {
                for id in search_reply_ids(&json) {
                    if seen.insert(id.clone()) {
                        ids.push(id);
                    }
                }
            }
            Err(e) => listing.errors.push(format!("search {q:?}: {e:#}")),
        }
    }
    if ids.is_empty() && !listing.errors.is_empty() && listing.errors.len() >= queries.len() {
        bail!("{}", listing.errors.join("; "));
    }
    for chunk in ids.chunks(50) {
        if !spend(cx, &day, VIDEOS_COST, &mut listing).await? {
            break;
        }
        let mut url = Url::parse(&format!("{base}/videos")).context("bad API base URL")?;
        url.query_pairs_mut()
            .append_pair("part", "snippet,contentDetails")
            .append_pair("id", &chunk.join(","));
        let json = match get_json(cx, url, &key).await {
            Ok(json) => json,
            Err(e) => {
                listing.errors.push(format!("videos.list: {e:#}"));
                continue;
            }
        };
        for video in videos_reply(&json, &config.video_url_base) {
            let too_long = video.duration_s.is_some_and(|s| s > config.max_duration_s);
            if cx.in_window(video.candidate.published_at) && !too_long {
                listing.candidates.push(video.candidate);
            }
        }
    }
    Ok(listing)
}

/// The video ids of a `search.list` reply, in order.
pub fn search_reply_ids(json: &Value) -> Vec<String> {
    json["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item["id"]["videoId"].as_str().map(str::to_string))
        .collect()
}

/// One video of a `videos.list` reply.
pub struct ListedVideo {
    pub candidate: NewCandidate,
    /// From `contentDetails.duration`, when it reads.
    pub duration_s: Option<f64>,
}

/// The videos of a `videos.list` reply, each with its page under
/// `video_url_base`; items without an id are left out.
pub fn videos_reply(json: &Value, video_url_base: &str) -> Vec<ListedVideo> {
    let mut videos = Vec::new();
    for item in json["items"].as_array().into_iter().flatten() {
        let Some(id) = item["id"].as_str() else {
            continue;
        };
        let snippet = &item["snippet"];
        let page = format!("{video_url_base}{id}");
        videos.push(ListedVideo {
            candidate: NewCandidate {
                canonical_url: canonical_url(&page),
                platform: "youtube".into(),
                uploader: snippet["channelTitle"].as_str().unwrap_or("").to_string(),
                title: snippet["title"].as_str().unwrap_or("").to_string(),
                published_at: snippet["publishedAt"]
                    .as_str()
                    .and_then(super::feed::parse_time),
                media_url: None,
            },
            duration_s: item["contentDetails"]["duration"]
                .as_str()
                .and_then(parse_iso_duration),
        });
    }
    videos
}

/// Spends quota; false (with a recorded error) when today's is used up.
async fn spend(
    cx: &ScanContext<'_>,
    day: &str,
    units: u32,
    listing: &mut Listing,
) -> anyhow::Result<bool> {
    let spent = cx
        .store
        .spend_quota(&cx.config.name, day, units, cx.config.quota_per_day)
        .await?;
    if spent.is_none() {
        listing.errors.push(format!(
            "source {}: the daily YouTube API quota of {} units is used up; searching resumes tomorrow (UTC) or raise quota_per_day",
            cx.config.name, cx.config.quota_per_day
        ));
    }
    Ok(spent.is_some())
}

/// GETs an API URL with the key added; errors never show the key (the
/// client redacts `key=` in every URL it shows, and the key itself is
/// replaced wherever else it might appear).
async fn get_json(cx: &ScanContext<'_>, mut url: Url, key: &Secret) -> anyhow::Result<Value> {
    let shown = url.to_string();
    url.query_pairs_mut().append_pair("key", key.expose());
    let redact = |text: String| text.replace(key.expose(), "***");
    let text = match cx.client.get_document(url.as_str(), None).await {
        Ok(Document::Fresh { text, .. }) => text,
        Ok(Document::NotModified) => bail!("GET {shown}: unexpected 304 Not Modified"),
        Err(e) => bail!("{}", redact(e.to_string())),
    };
    let json: Value = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("GET {shown}: not YouTube API JSON ({e})"))?;
    if let Some(message) = json["error"]["message"].as_str() {
        bail!("GET {shown}: the API answered an error: {message}");
    }
    if !json["items"].is_array() {
        bail!("GET {shown}: not YouTube API JSON (no \"items\" list)");
    }
    Ok(json)
}

/// ISO 8601 durations as YouTube gives them (`PT1H2M3S`, `P1DT2H`) in seconds.
pub fn parse_iso_duration(text: &str) -> Option<f64> {
    let rest = text.strip_prefix('P')?;
    let mut seconds = 0.0;
    let mut number = String::new();
    let mut in_time = false;
    for c in rest.chars() {
        match c {
            'T' => in_time = true,
            '0'..='9' | '.' => number.push(c),
            unit => {
                let value: f64 = number.parse().ok()?;
                number.clear();
                seconds += value
                    * match (unit, in_time) {
                        ('W', false) => 604_800.0,
                        ('D', false) => 86_400.0,
                        ('H', true) => 3600.0,
                        ('M', true) => 60.0,
                        ('S', true) => 1.0,
                        _ => return None,
                    };
            }
        }
    }
    number.is_empty().then_some(seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_durations() {
        assert_eq!(parse_iso_duration("PT1M3S"), Some(63.0));
        assert_eq!(parse_iso_duration("PT2H"), Some(7200.0));
        assert_eq!(parse_iso_duration("P1DT1S"), Some(86_401.0));
        assert_eq!(parse_iso_duration("PT"), Some(0.0));
        assert_eq!(parse_iso_duration("1M"), None);
        assert_eq!(parse_iso_duration("PT5"), None);
    }
}
