//! `page` sources: a web page with video. The video is found in the page's
//! `og:video` meta tags, its JSON-LD `VideoObject` (`contentUrl`), or its
//! `<video src>` / `<video><source src>` elements, in that order. The same
//! extraction finds the media of candidates that other sources list only by
//! their page (YouTube search results, channel feeds).

use anyhow::bail;
use futures_util::future::BoxFuture;
use scraper::{Html, Selector};
use serde_json::Value;
use url::Url;

use super::feed::parse_time;
use super::{canonical_url, platform_of, resolve_url, Listing, ScanContext, Source};
use crate::store::NewCandidate;

/// What a page says about its video.
#[derive(Debug, Default, PartialEq)]
pub struct PageVideo {
    pub title: String,
    pub uploader: String,
    pub published_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Video URLs in order of preference, without repeats.
    pub media_urls: Vec<String>,
}

pub struct PageSource;

impl Source for PageSource {
    fn discover<'a>(&'a self, cx: &'a ScanContext<'a>) -> BoxFuture<'a, anyhow::Result<Listing>> {
        Box::pin(async move {
            let Some((html, final_url)) = cx.fetch(&cx.config.url).await? else {
                return Ok(Listing::default());
            };
            let video = parse_page(&html, &final_url);
            if video.media_urls.is_empty() {
                bail!(
                    "no video found on {} (looked for og:video, JSON-LD VideoObject contentUrl, <video>/<source>)",
                    cx.config.url
                );
            }
            let mut listing = Listing::default();
            if !cx.in_window(video.published_at) {
                return Ok(listing);
            }
            let page = canonical_url(final_url.as_str());
            let several = video.media_urls.len() > 1;
            for (i, media) in video.media_urls.iter().enumerate() {
                let canonical = if several {
                    format!("{page}#video-{}", i + 1)
                } else {
                    page.clone()
                };
                listing.candidates.push(NewCandidate {
                    canonical_url: canonical,
                    platform: platform_of(&page),
                    uploader: video.uploader.clone(),
                    title: video.title.clone(),
                    published_at: video.published_at,
                    media_url: Some(media.clone()),
                });
            }
            Ok(listing)
        })
    }
}

fn selector(css: &str) -> Selector {
    Selector::parse(css).expect("a valid CSS selector")
}

/// Extracts the video(s), title, uploader and publication time of a page.
pub fn parse_page(html: &str, base: &Url) -> PageVideo {
    let doc = Html::parse_document(html);
    let mut out = PageVideo::default();
    // Repeats are found in a set: a page with 100,000 links costs one pass.
    let mut seen = std::collections::HashSet::new();
    let mut push = |out: &mut PageVideo, url: &str| {
        if let Some(url) = resolve_url(base, url) {
            if url.starts_with("http") && seen.insert(url.clone()) {
                out.media_urls.push(url);
            }
        }
    };
    let meta = |key: &str| -> Option<String> {
        let css = format!("meta[property=\"{key}\"], meta[name=\"{key}\"]");
        doc.select(&selector(&css))
            .find_map(|m| m.value().attr("content"))
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
    };

    // 1. Open Graph. og:video may be a player page; a video type says it is media.
    let og_type = meta("og:video:type");
    let og_is_player = og_type.as_deref().is_some_and(|t| !t.starts_with("video/"));
    if !og_is_player {
        for key in ["og:video:secure_url", "og:video:url", "og:video"] {
            if let Some(url) = meta(key) {
                push(&mut out, &url);
            }
        }
    }

    // 2. JSON-LD VideoObject.
    for script in doc.select(&selector("script[type=\"application/ld+json\"]")) {
        let text: String = script.text().collect();
        let Ok(value) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let mut objects = Vec::new();
        collect_video_objects(&value, &mut objects);
        for object in objects {
            if let Some(url) = object.get("contentUrl").and_then(Value::as_str) {
                push(&mut out, url);
            }
            if out.title.is_empty() {
                out.title = str_field(object, "name");
            }
            if out.uploader.is_empty() {
                out.uploader = match object.get("author") {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Object(_)) => str_field(&object["author"], "name"),
                    Some(Value::Array(a)) => {
                        a.first().map(|x| str_field(x, "name")).unwrap_or_default()
                    }
                    _ => String::new(),
                };
            }
            if out.published_at.is_none() {
                out.published_at = object
                    .get("uploadDate")
                    .and_then(Value::as_str)
                    .and_then(parse_time);
            }
        }
    }

    // 3. <video> elements.
    for video in doc.select(&selector("video")) {
        if let Some(src) = video.value().attr("src") {
            push(&mut out, src);
        }
        for source in video.select(&selector("source")) {
            let typed_other = source
                .value()
                .attr("type")
                .is_some_and(|t| !t.starts_with("video/"));
            if let (Some(src), false) = (source.value().attr("src"), typed_other) {
                push(&mut out, src);
            }
        }
    }

    if out.title.is_empty() {
        out.title = meta("og:title")
            .or_else(|| {
                doc.select(&selector("title"))
                    .next()
                    .map(|t| t.text().collect::<String>().trim().to_string())
            })
            .unwrap_or_default();
    }
    if out.uploader.is_empty() {
        out.uploader = meta("author").unwrap_or_default();
    }
    if out.published_at.is_none() {
        out.published_at = meta("article:published_time")
            .or_else(|| meta("video:release_date"))
            .and_then(|t| parse_time(&t));
    }
    out
}

fn str_field(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_string()
}

fn collect_video_objects<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| collect_video_objects(v, out)),
        Value::Object(map) => {
            let is_video = match map.get("@type") {
                Some(Value::String(t)) => t == "VideoObject",
                Some(Value::Array(ts)) => ts.iter().any(|t| t == "VideoObject"),
                _ => false,
            };
            if is_video {
                out.push(value);
            }
            if let Some(graph) = map.get("@graph") {
                collect_video_objects(graph, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://site.example/watch/7").unwrap()
    }

    #[test]
    fn og_video_json_ld_and_video_tags_are_found_in_order() {
        let html = r#"<html><head><title>T</title>
<meta property="og:video" content="/media/a.mp4">
<meta property="og:video:type" content="video/mp4">
<script type="application/ld+json">{"@context":"https://schema.org","@graph":[{"@type":"VideoObject",
 "name":"Clip","contentUrl":"https://cdn.example/b.mp4","uploadDate":"2026-11-01T00:00:00Z",
 "author":{"@type":"Person","name":"Uploader"}}]}</script></head>
<body><video src="/media/a.mp4"></video><video><source src="c.webm" type="video/webm"></video></body></html>"#;
        let v = parse_page(html, &base());
        assert_eq!(
            v.media_urls,
            vec![
                "https://site.example/media/a.mp4",
                "https://cdn.example/b.mp4",
                "https://site.example/watch/c.webm"
            ]
        );
        assert_eq!(v.title, "Clip");
        assert_eq!(v.uploader, "Uploader");
        assert_eq!(
            v.published_at.map(crate::clock::to_seconds).as_deref(),
            Some("2026-11-01T00:00:00Z")
        );
    }

    #[test]
    fn a_page_with_many_links_is_read_in_one_pass() {
        // 20,000 <video> tags naming 10,000 files, each twice.
        let mut html = String::from("<html><body>");
        for i in 0..20_000 {
            html.push_str(&format!("<video src=\"/v/{}.mp4\"></video>", i % 10_000));
        }
        let v = parse_page(&html, &base());
        assert_eq!(v.media_urls.len(), 10_000);
        assert_eq!(v.media_urls[1], "https://site.example/v/1.mp4");
    }

    #[test]
    fn player_pages_in_og_video_are_not_media_and_empty_pages_have_none() {
        let html = r#"<meta property="og:video" content="https://player.example/embed/1">
<meta property="og:video:type" content="text/html"><meta name="author" content="Chan">"#;
        let v = parse_page(html, &base());
        assert!(v.media_urls.is_empty());
        assert_eq!(v.uploader, "Chan");
        assert!(parse_page("<p>nothing here", &base()).media_urls.is_empty());
    }
}
