//! A mock video platform on 127.0.0.1: YouTube Data API v3 (`search.list`,
//! `videos.list`) JSON, a channel uploads feed (Atom), an RSS 2.0 / Media RSS
//! feed, watch pages (og:video + JSON-LD) and plain pages (`<video>`), media
//! files with Range requests, conditional GET, and fault endpoints.
//!
//! The videos are the files of a media directory, described by its
//! `catalog.json`: `[{"id", "file", "title", "uploader", "channel",
//! "published_at", "description"}]` (only `id` and `file` are required).
//!
//! | path | what |
//! |---|---|
//! | `/youtube/v3/search`, `/youtube/v3/videos` | the API (a `key` parameter is required) |
//! | `/feeds/videos.xml?channel_id=C` | a channel's uploads (Atom, YouTube's shape) |
//! | `/feeds/rss.xml[?channel=C]` | Media RSS with enclosures |
//! | `/watch?v=ID` | watch page: og:video and JSON-LD VideoObject |
//! | `/pages/ID` | page with a `<video><source>` only |
//! | `/media/FILE` | the media (Range, ETag) |
//! | `/fault/500`, `/fault/slow`, `/fault/garbage.xml`, `/fault/garbage-api/...`, `/fault/loop`, `/fault/redirect-private` (to 10.0.0.1), `/fault/redirect-chain/{id}` (301 to `.../{id}/2`, 302 to `/pages/{id}`), `/fault/huge.mp4` (2 GiB announced), `/fault/endless.mp4` (no length), `/fault/huge-feed.xml`, `/fault/slow-feed.xml` (media that never arrives), `/fault/private-feed.xml` (media on 10.0.0.1) | faults |
//! | `/_stats` | requests served per path, as JSON |

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context as _};
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

/// One upload on the mock platform.
#[derive(Clone, Debug, Deserialize)]
pub struct MockVideo {
    pub id: String,
    /// File name inside the media directory.
    pub file: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub uploader: String,
    #[serde(default)]
    pub channel: String,
    #[serde(default)]
    pub published_at: Option<String>,
    #[serde(default)]
    pub description: String,
}

struct Platform {
    media_dir: PathBuf,
    videos: Vec<MockVideo>,
    base: String,
    stats: Mutex<BTreeMap<String, u64>>,
}

/// A running mock platform.
pub struct MockPlatform {
    pub base_url: String,
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl MockPlatform {
    /// Starts serving `media_dir` on `listen`, which must be a loopback address.
    pub async fn start(media_dir: PathBuf, listen: SocketAddr) -> anyhow::Result<MockPlatform> {
        if !listen.ip().is_loopback() {
            bail!("the mock platform listens on loopback addresses only, not {listen}");
        }
        let catalog = media_dir.join("catalog.json");
        let videos: Vec<MockVideo> = match std::fs::read_to_string(&catalog) {
            Ok(text) => serde_json::from_str(&text)
                .with_context(|| format!("invalid {}", catalog.display()))?,
            Err(_) => bail!(
                "{} not found: list the videos to serve there (see src/testkit/mock_platform.rs)",
                catalog.display()
            ),
        };
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr()?;
        let base_url = format!("http://{addr}");
        let platform = Arc::new(Platform {
            media_dir,
            videos,
            base: base_url.clone(),
            stats: Mutex::new(BTreeMap::new()),
        });
        let app = Router::new()
            .route("/youtube/v3/search", get(api_search))
            .route("/youtube/v3/videos", get(api_videos))
            .route("/feeds/videos.xml", get(channel_feed))
            .route("/feeds/rss.xml", get(rss_feed))
            .route("/watch", get(watch_page))
            .route("/pages/{id}", get(plain_page))
            .route("/media/{file}", get(media))
            .route(
                "/fault/500",
                get(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
            )
            .route("/fault/slow", get(slow))
            .route(
                "/fault/garbage.xml",
                get(|| async {
                    (
                        [(header::CONTENT_TYPE, "application/rss+xml")],
                        "<rss><channel><item><title>broken &amp no end",
                    )
                }),
            )
            .route(
                "/fault/garbage-api/{*rest}",
                get(|| async {
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        "{\"items\": [ {\"id\": ",
                    )
                }),
            )
            .route("/fault/loop", get(|| async { redirect("/fault/loop2") }))
            .route("/fault/loop2", get(|| async { redirect("/fault/loop") }))
            .route(
                "/fault/redirect-private",
                get(|| async { redirect("http://10.0.0.1/media/1.mp4") }),
            )
            .route(
                "/fault/redirect-chain/{id}",
                get(|Path(id): Path<String>| async move {
                    (
                        StatusCode::MOVED_PERMANENTLY,
                        [(header::LOCATION, format!("/fault/redirect-chain/{id}/2"))],
                    )
                        .into_response()
                }),
            )
            .route(
                "/fault/redirect-chain/{id}/2",
                get(|Path(id): Path<String>| async move { redirect(&format!("/pages/{id}")) }),
            )
            .route("/fault/huge.mp4", get(huge))
            .route("/fault/endless.mp4", get(endless))
            .route("/fault/huge-feed.xml", get(huge_feed))
            .route("/fault/private-feed.xml", get(private_feed))
            .route("/fault/slow-feed.xml", get(slow_feed))
            .route("/fault/capture-feed/{kind}/{id}", get(capture_feed))
            .route("/fault/page/{kind}/{id}", get(fault_page))
            .route("/_stats", get(stats))
            .layer(axum::middleware::from_fn_with_state(
                platform.clone(),
                count,
            ))
            .with_state(platform);
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!("mock platform stopped: {e}");
            }
        });
        Ok(MockPlatform {
            base_url,
            addr,
            task,
        })
    }

    /// Serves until the task ends (never, unless the listener fails).
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

async fn count(
    State(platform): State<Arc<Platform>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path().to_string();
    *platform
        .stats
        .lock()
        .expect("stats lock")
        .entry(path)
        .or_default() += 1;
    next.run(request).await
}

async fn stats(State(platform): State<Arc<Platform>>) -> Response {
    let stats = platform.stats.lock().expect("stats lock").clone();
    json_response(serde_json::to_value(stats).expect("map serializes"))
}

fn redirect(to: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, to.to_string())]).into_response()
}

fn json_response(value: serde_json::Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A document with a strong ETag; 304 when the client already has it.
fn cached(headers: &HeaderMap, content_type: &str, body: String) -> Response {
    use sha2::{Digest, Sha256};
    let etag = format!(
        "\"{}\"",
        &hex::encode(Sha256::digest(body.as_bytes()))[..16]
    );
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag);
    if matches {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::ETAG, etag),
        ],
        body,
    )
        .into_response()
}

fn published(video: &MockVideo) -> String {
    video
        .published_at
        .clone()
        .unwrap_or_else(|| "2026-11-20T08:00:00Z".to_string())
}

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
    key: Option<String>,
    #[serde(rename = "maxResults")]
    max_results: Option<usize>,
    #[serde(rename = "publishedAfter")]
    published_after: Option<String>,
}

fn missing_key() -> Response {
    (
        StatusCode::FORBIDDEN,
        json_response(serde_json::json!({"error": {"code": 403, "message": "The request is missing a valid API key."}})),
    )
        .into_response()
}

/// search.list: videos whose title and description hold every word of `q`.
async fn api_search(State(p): State<Arc<Platform>>, Query(query): Query<SearchQuery>) -> Response {
    if query.key.is_none() {
        return missing_key();
    }
    let q = query.q.unwrap_or_default().to_lowercase();
    let words: Vec<&str> = q.split_whitespace().collect();
    let items: Vec<serde_json::Value> = p
        .videos
        .iter()
        .filter(|v| {
            let text = format!("{} {}", v.title, v.description).to_lowercase();
            !words.is_empty() && words.iter().all(|w| text.contains(w))
        })
        .filter(|v| match &query.published_after {
            Some(after) => published(v) >= *after,
            None => true,
        })
        .take(query.max_results.unwrap_or(5))
        .map(|v| {
            serde_json::json!({
                "kind": "youtube#searchResult",
                "id": {"kind": "youtube#video", "videoId": v.id},
                "snippet": {"publishedAt": published(v), "channelId": v.channel,
                            "title": v.title, "description": v.description, "channelTitle": v.uploader}
            })
        })
        .collect();
    json_response(serde_json::json!({
        "kind": "youtube#searchListResponse",
        "pageInfo": {"totalResults": items.len(), "resultsPerPage": items.len()},
        "items": items,
    }))
}

#[derive(Deserialize)]
struct VideosQuery {
    id: Option<String>,
    key: Option<String>,
}

/// videos.list: snippets of the given ids.
async fn api_videos(State(p): State<Arc<Platform>>, Query(query): Query<VideosQuery>) -> Response {
    if query.key.is_none() {
        return missing_key();
    }
    let ids = query.id.unwrap_or_default();
    let items: Vec<serde_json::Value> = ids
        .split(',')
        .filter_map(|id| p.videos.iter().find(|v| v.id == id))
        .map(|v| {
            serde_json::json!({
                "kind": "youtube#video",
                "id": v.id,
                "snippet": {"publishedAt": published(v), "channelId": v.channel, "title": v.title,
                            "description": v.description, "channelTitle": v.uploader},
                "contentDetails": {"duration": "PT30S"}
            })
        })
        .collect();
    json_response(serde_json::json!({"kind": "youtube#videoListResponse", "items": items}))
}

#[derive(Deserialize)]
struct ChannelQuery {
    channel_id: Option<String>,
    channel: Option<String>,
}

/// A channel's uploads feed, shaped like YouTube's (no direct media).
async fn channel_feed(
    State(p): State<Arc<Platform>>,
    Query(query): Query<ChannelQuery>,
    headers: HeaderMap,
) -> Response {
    let channel = query.channel_id.unwrap_or_default();
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns:yt=\"http://www.youtube.com/xml/schemas/2015\" \
         xmlns:media=\"http://search.yahoo.com/mrss/\" xmlns=\"http://www.w3.org/2005/Atom\">\n",
    );
    xml.push_str(&format!(
        "<title>Uploads of {}</title>\n",
        xml_escape(&channel)
    ));
    for v in p.videos.iter().filter(|v| v.channel == channel) {
        xml.push_str(&format!(
            "<entry><id>yt:video:{id}</id><yt:videoId>{id}</yt:videoId><yt:channelId>{ch}</yt:channelId>\
             <title>{title}</title><link rel=\"alternate\" href=\"{base}/watch?v={id}\"/>\
             <author><name>{up}</name><uri>{base}/channel/{ch}</uri></author>\
             <published>{published}</published><updated>{published}</updated>\
             <media:group><media:title>{title}</media:title>\
             <media:thumbnail url=\"{base}/thumbs/{id}.jpg\" width=\"480\" height=\"360\"/>\
             <media:description>{desc}</media:description></media:group></entry>\n",
            id = xml_escape(&v.id),
            ch = xml_escape(&v.channel),
            title = xml_escape(&v.title),
            up = xml_escape(&v.uploader),
            base = p.base,
            published = published(v),
            desc = xml_escape(&v.description),
        ));
    }
    xml.push_str("</feed>\n");
    cached(&headers, "application/atom+xml", xml)
}

/// Media RSS with enclosures straight to the media.
async fn rss_feed(
    State(p): State<Arc<Platform>>,
    Query(query): Query<ChannelQuery>,
    headers: HeaderMap,
) -> Response {
    let mut xml = String::from(
        "<?xml version=\"1.0\"?>\n<rss version=\"2.0\" xmlns:media=\"http://search.yahoo.com/mrss/\" \
         xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel><title>Mock platform</title>\n",
    );
    for v in p
        .videos
        .iter()
        .filter(|v| query.channel.as_ref().is_none_or(|c| *c == v.channel))
    {
        let date = chrono::DateTime::parse_from_rfc3339(&published(v))
            .map(|d| d.to_rfc2822())
            .unwrap_or_default();
        xml.push_str(&format!(
            "<item><title>{title}</title><link>{base}/pages/{id}</link><guid>{base}/pages/{id}</guid>\
             <dc:creator>{up}</dc:creator><pubDate>{date}</pubDate>\
             <enclosure url=\"{base}/media/{file}\" type=\"video/mp4\"/>\
             <media:thumbnail url=\"{base}/thumbs/{id}.jpg\"/></item>\n",
            title = xml_escape(&v.title),
            base = p.base,
            id = xml_escape(&v.id),
            up = xml_escape(&v.uploader),
            file = xml_escape(&v.file),
        ));
    }
    xml.push_str("</channel></rss>\n");
    cached(&headers, "application/rss+xml", xml)
}

#[derive(Deserialize)]
struct WatchQuery {
    v: Option<String>,
}

async fn watch_page(State(p): State<Arc<Platform>>, Query(query): Query<WatchQuery>) -> Response {
    let id = query.v.unwrap_or_default();
    let Some(v) = p.videos.iter().find(|v| v.id == id) else {
        return (StatusCode::NOT_FOUND, "no such video").into_response();
    };
    let ld = serde_json::json!({
        "@context": "https://schema.org", "@type": "VideoObject", "name": v.title,
        "uploadDate": published(v), "contentUrl": format!("{}/media/{}", p.base, v.file),
        "author": {"@type": "Person", "name": v.uploader}
    });
    let html = format!(
        "<!doctype html><html><head><title>{title}</title>\
         <meta property=\"og:title\" content=\"{title}\">\
         <meta property=\"og:video\" content=\"{base}/media/{file}\">\
         <meta property=\"og:video:type\" content=\"video/mp4\">\
         <script type=\"application/ld+json\">{ld}</script></head>\
         <body><h1>{title}</h1><p>by {up}</p></body></html>",
        title = xml_escape(&v.title),
        base = p.base,
        file = xml_escape(&v.file),
        up = xml_escape(&v.uploader),
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

async fn plain_page(State(p): State<Arc<Platform>>, Path(id): Path<String>) -> Response {
    let Some(v) = p.videos.iter().find(|v| v.id == id) else {
        return (StatusCode::NOT_FOUND, "no such page").into_response();
    };
    let html = format!(
        "<!doctype html><html><head><title>{title}</title><meta name=\"author\" content=\"{up}\">\
         <meta property=\"article:published_time\" content=\"{published}\"></head>\
         <body><video controls><source src=\"/media/{file}\" type=\"video/mp4\"></video></body></html>",
        title = xml_escape(&v.title),
        up = xml_escape(&v.uploader),
        published = published(v),
        file = xml_escape(&v.file),
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

/// A media file, with single-range requests (`bytes=N-` and `bytes=N-M`).
async fn media(
    State(p): State<Arc<Platform>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    if file.contains('/') || file.contains("..") || !p.videos.iter().any(|v| v.file == file) {
        return (StatusCode::NOT_FOUND, "no such media").into_response();
    }
    let Ok(bytes) = tokio::fs::read(p.media_dir.join(&file)).await else {
        return (StatusCode::NOT_FOUND, "no such media").into_response();
    };
    let total = bytes.len() as u64;
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes="))
        .and_then(|r| {
            let (start, end) = r.split_once('-')?;
            let start: u64 = start.parse().ok()?;
            let end: u64 = if end.is_empty() {
                total.saturating_sub(1)
            } else {
                end.parse().ok()?
            };
            Some((start, end.min(total.saturating_sub(1))))
        });
    match range {
        Some((start, _)) if start >= total => (
            StatusCode::RANGE_NOT_SATISFIABLE,
            [(header::CONTENT_RANGE, format!("bytes */{total}"))],
        )
            .into_response(),
        Some((start, end)) if start <= end => (
            StatusCode::PARTIAL_CONTENT,
            [
                (header::CONTENT_TYPE, "video/mp4".to_string()),
                (header::ACCEPT_RANGES, "bytes".to_string()),
                (
                    header::CONTENT_RANGE,
                    format!("bytes {start}-{end}/{total}"),
                ),
            ],
            bytes[start as usize..=end as usize].to_vec(),
        )
            .into_response(),
        _ => (
            [
                (header::CONTENT_TYPE, "video/mp4".to_string()),
                (header::ACCEPT_RANGES, "bytes".to_string()),
            ],
            bytes,
        )
            .into_response(),
    }
}

async fn slow() -> Response {
    tokio::time::sleep(Duration::from_secs(120)).await;
    "too late".into_response()
}

/// 2 GiB of zeros, announced; produced only as fast as the client reads.
async fn huge() -> Response {
    const SIZE: u64 = 2 * 1024 * 1024 * 1024;
    let chunk = Bytes::from(vec![0u8; 64 * 1024]);
    let stream = futures_util::stream::unfold(0u64, move |sent| {
        let chunk = chunk.clone();
        async move {
            (sent < SIZE).then(|| {
                (
                    Ok::<_, std::io::Error>(chunk.clone()),
                    sent + chunk.len() as u64,
                )
            })
        }
    });
    (
        [
            (header::CONTENT_TYPE, "video/mp4".to_string()),
            (header::CONTENT_LENGTH, SIZE.to_string()),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

/// Zeros without a length, for up to 2 GiB (the client must stop reading).
async fn endless() -> Response {
    let chunk = Bytes::from(vec![0u8; 64 * 1024]);
    let stream = futures_util::stream::unfold(0u64, move |sent| {
        let chunk = chunk.clone();
        async move {
            (sent < (2u64 << 30)).then(|| {
                (
                    Ok::<_, std::io::Error>(chunk.clone()),
                    sent + chunk.len() as u64,
                )
            })
        }
    });
    (
        [(header::CONTENT_TYPE, "video/mp4")],
        Body::from_stream(stream),
    )
        .into_response()
}

fn one_item_feed(link: &str, media: &str) -> Response {
    let xml = format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>fault</title>\
         <item><title>item</title><link>{link}</link><enclosure url=\"{media}\" type=\"video/mp4\"/></item>\
         </channel></rss>"
    );
    ([(header::CONTENT_TYPE, "application/rss+xml")], xml).into_response()
}

async fn huge_feed(State(p): State<Arc<Platform>>) -> Response {
    one_item_feed(
        &format!("{}/pages/huge", p.base),
        &format!("{}/fault/huge.mp4", p.base),
    )
}

async fn slow_feed(State(p): State<Arc<Platform>>) -> Response {
    one_item_feed(
        &format!("{}/pages/slow", p.base),
        &format!("{}/fault/slow", p.base),
    )
}

/// A feed with one upload whose media is video `id` but whose page is
/// `/fault/page/KIND/ID` (for evidence capture faults).
async fn capture_feed(
    State(p): State<Arc<Platform>>,
    Path((kind, id)): Path<(String, String)>,
) -> Response {
    let Some(v) = p.videos.iter().find(|v| v.id == id) else {
        return (StatusCode::NOT_FOUND, "no such video").into_response();
    };
    one_item_feed(
        &format!("{}/fault/page/{kind}/{id}", p.base),
        &format!("{}/media/{}", p.base, v.file),
    )
}

/// An upload's page that fails as `kind` says: `404`, `slow` (answers after
/// 120 s), `huge` (2 GiB of HTML), `binary` (not HTML), `flaky` (404 on the
/// first request, the page afterwards).
async fn fault_page(
    State(p): State<Arc<Platform>>,
    Path((kind, id)): Path<(String, String)>,
) -> Response {
    match kind.as_str() {
        "404" => (StatusCode::NOT_FOUND, "no such page").into_response(),
        "slow" => slow().await,
        "huge" => {
            let mut response = huge().await;
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("text/html"),
            );
            response
        }
        "binary" => (
            [(header::CONTENT_TYPE, "application/octet-stream")],
            vec![0u8, 1, 2, 3, 255],
        )
            .into_response(),
        "flaky" => {
            let path = format!("/fault/page/flaky/{id}");
            let seen = p
                .stats
                .lock()
                .expect("stats lock")
                .get(&path)
                .copied()
                .unwrap_or(0);
            if seen <= 1 {
                return (StatusCode::NOT_FOUND, "not yet").into_response();
            }
            watch_page(State(p), Query(WatchQuery { v: Some(id) })).await
        }
        _ => (StatusCode::NOT_FOUND, "unknown fault").into_response(),
    }
}

async fn private_feed() -> Response {
    // Never contacted: the SSRF guard refuses 10.0.0.1 before connecting.
    one_item_feed("http://10.0.0.1/watch/1", "http://10.0.0.1/media/1.mp4")
}
