//! `feed` and `youtube-channel` sources: RSS 2.0, Atom and Media RSS.
//!
//! An item becomes a candidate with its link (the upload's page), title,
//! author and publication time, and its video when the feed carries one
//! (`<enclosure>`, `<media:content>`, also inside `<media:group>`, or an
//! Atom `rel="enclosure"` link). A YouTube channel's uploads feed is Atom
//! with `yt:` and `media:` extensions and no direct video.

use anyhow::{bail, Context as _};
use chrono::{DateTime, Timelike, Utc};
use futures_util::future::BoxFuture;
use roxmltree::Node;
use url::Url;

use super::{canonical_url, platform_of, resolve_url, Listing, ScanContext, Source};
use crate::store::NewCandidate;

const MEDIA_NS: &str = "http://search.yahoo.com/mrss/";
const DC_NS: &str = "http://purl.org/dc/elements/1.1/";

pub struct FeedSource {
    /// A YouTube channel feed: the platform is "youtube".
    pub youtube: bool,
}

impl Source for FeedSource {
    fn discover<'a>(&'a self, cx: &'a ScanContext<'a>) -> BoxFuture<'a, anyhow::Result<Listing>> {
        Box::pin(async move {
            let Some((text, final_url)) = cx.fetch(&cx.config.url).await? else {
                tracing::info!(source = %cx.config.name, "feed not modified");
                return Ok(Listing::default());
            };
            let items =
                parse_feed(&text, &final_url).with_context(|| format!("feed {}", cx.config.url))?;
            let mut listing = Listing::default();
            for mut item in items {
                if !cx.in_window(item.published_at) {
                    continue;
                }
                if self.youtube {
                    item.platform = "youtube".into();
                }
                listing.candidates.push(item);
            }
            Ok(listing)
        })
    }
}

/// Parses RSS 2.0 or Atom (with Media RSS) into candidates; relative links
/// are resolved against `base`.
pub fn parse_feed(text: &str, base: &Url) -> anyhow::Result<Vec<NewCandidate>> {
    let doc = roxmltree::Document::parse(text).map_err(|e| {
        anyhow::anyhow!("not a well-formed XML feed ({e}); check that the URL serves RSS or Atom")
    })?;
    let root = doc.root_element();
    let items: Vec<Node> = match root.tag_name().name() {
        "rss" | "RDF" => root
            .descendants()
            .filter(|n| n.is_element() && n.tag_name().name() == "item")
            .collect(),
        "feed" => root
            .children()
            .filter(|n| n.is_element() && n.tag_name().name() == "entry")
            .collect(),
        other => bail!("not an RSS or Atom feed: the document's root element is <{other}>"),
    };
    let mut out = Vec::new();
    for item in items {
        if let Some(candidate) = parse_item(item, base) {
            out.push(candidate);
        }
    }
    Ok(out)
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|n| n.is_element() && n.tag_name().name() == name)
}

fn text_of(node: Option<Node>) -> String {
    node.and_then(|n| n.text())
        .map(|t| t.trim().to_string())
        .unwrap_or_default()
}

fn is_video(mime: Option<&str>, medium: Option<&str>, url: &str) -> bool {
    if medium == Some("video") || mime.is_some_and(|m| m.starts_with("video/")) {
        return true;
    }
    if mime.is_some() || medium.is_some() {
        return false;
    }
    let path = url
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    [
        ".mp4", ".webm", ".mkv", ".mov", ".m4v", ".ogv", ".avi", ".flv", ".ts",
    ]
    .iter()
    .any(|ext| path.ends_with(ext))
}

fn parse_item(item: Node, base: &Url) -> Option<NewCandidate> {
    // The upload's page.
    let link = item
        .children()
        .filter(|n| n.is_element() && n.tag_name().name() == "link")
        .find_map(|n| match n.attribute("href") {
            Some(href) => {
                let rel = n.attribute("rel").unwrap_or("alternate");
                (rel == "alternate").then(|| href.to_string())
            }
            None => n
                .text()
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty()),
        })
        .and_then(|l| resolve_url(base, &l));

    // Its video, when the feed carries one.
    let mut media = None;
    for node in item.descendants().filter(|n| n.is_element()) {
        let name = node.tag_name().name();
        let ns = node.tag_name().namespace();
        let (url, mime, medium) = match (name, ns) {
            ("enclosure", _) => (node.attribute("url"), node.attribute("type"), None),
            ("content", Some(MEDIA_NS)) => (
                node.attribute("url"),
                node.attribute("type"),
                node.attribute("medium"),
            ),
            ("link", _) if node.attribute("rel") == Some("enclosure") => {
                (node.attribute("href"), node.attribute("type"), None)
            }
            _ => continue,
        };
        if let Some(url) = url {
            // Only web media: a hostile feed must not point at local files.
            let resolved = resolve_url(base, url).filter(|u| u.starts_with("http"));
            if resolved.is_some() && is_video(mime, medium, url) {
                media = resolved;
                break;
            }
        }
    }

    let page = link.clone().or_else(|| media.clone())?;
    let title = {
        let t = text_of(child(item, "title"));
        if t.is_empty() {
            item.descendants()
                .find(|n| {
                    n.tag_name().name() == "title" && n.tag_name().namespace() == Some(MEDIA_NS)
                })
                .and_then(|n| n.text())
                .unwrap_or("")
                .trim()
                .to_string()
        } else {
            t
        }
    };
    let uploader = [
        child(item, "author").and_then(|a| child(a, "name")),
        item.children()
            .find(|n| n.tag_name().name() == "creator" && n.tag_name().namespace() == Some(DC_NS)),
        child(item, "author"),
        item.descendants().find(|n| {
            n.tag_name().name() == "credit" && n.tag_name().namespace() == Some(MEDIA_NS)
        }),
    ]
    .into_iter()
    .map(text_of)
    .find(|t| !t.is_empty())
    .unwrap_or_default();
    let published_at = ["published", "pubDate", "updated", "date"]
        .iter()
        .filter_map(|name| child(item, name).and_then(|n| n.text()))
        .find_map(parse_time);
    Some(NewCandidate {
        canonical_url: canonical_url(&page),
        platform: platform_of(&page),
        uploader,
        title,
        published_at,
        media_url: media,
    })
}

/// RFC 3339 (Atom, Dublin Core) or RFC 2822 (RSS), to the second.
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    let time = DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_rfc2822(text))
        .ok()?;
    time.with_timezone(&Utc).with_nanosecond(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://videos.example/feeds/all.xml").unwrap()
    }

    #[test]
    fn media_rss_items_give_page_video_author_and_time() {
        let rss = r#"<?xml version="1.0"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Clips</title>
 <item><title>Bikes full</title><link>/v/1?utm_source=rss</link>
  <dc:creator>copycat</dc:creator><pubDate>Tue, 24 Nov 2026 10:00:00 +0800</pubDate>
  <enclosure url="/media/1.mp4" type="video/mp4" length="1000"/></item>
 <item><title>Group</title><link>https://videos.example/v/2</link>
  <media:group><media:content url="https://cdn.example/2.webm" medium="video"/>
  <media:thumbnail url="https://cdn.example/2.jpg"/></media:group></item>
 <item><title>Podcast</title><link>https://videos.example/v/3</link>
  <enclosure url="https://cdn.example/3.mp3" type="audio/mpeg"/></item>
</channel></rss>"#;
        let items = parse_feed(rss, &base()).unwrap();
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].canonical_url, "https://videos.example/v/1");
        assert_eq!(
            items[0].media_url.as_deref(),
            Some("https://videos.example/media/1.mp4")
        );
        assert_eq!(items[0].uploader, "copycat");
        assert_eq!(
            items[0]
                .published_at
                .map(crate::clock::to_seconds)
                .as_deref(),
            Some("2026-11-24T02:00:00Z")
        );
        assert_eq!(
            items[1].media_url.as_deref(),
            Some("https://cdn.example/2.webm")
        );
        assert_eq!(items[2].media_url, None, "audio enclosures are not video");
        let local = r#"<rss><channel><item><link>https://a.example/1</link>
            <enclosure url="file:///etc/passwd" type="video/mp4"/></item></channel></rss>"#;
        assert_eq!(
            parse_feed(local, &base()).unwrap()[0].media_url,
            None,
            "no local files"
        );
    }

    #[test]
    fn atom_and_youtube_channel_feeds() {
        let atom = r#"<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:yt="http://www.youtube.com/xml/schemas/2015" xmlns:media="http://search.yahoo.com/mrss/">
 <title>Uploads</title>
 <entry><id>yt:video:abc</id><yt:videoId>abc</yt:videoId><title>Copy</title>
  <link rel="alternate" href="https://www.youtube.com/watch?v=abc"/>
  <author><name>Reuploader</name></author><published>2026-11-20T08:00:00+00:00</published>
  <media:group><media:title>Copy</media:title><media:thumbnail url="https://i.ytimg.com/x.jpg"/></media:group>
 </entry>
 <entry><title>Direct</title><link rel="enclosure" type="video/mp4" href="https://cdn.example/d.mp4"/></entry>
</feed>"#;
        let items = parse_feed(atom, &base()).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[0].canonical_url,
            "https://www.youtube.com/watch?v=abc"
        );
        assert_eq!(items[0].uploader, "Reuploader");
        assert_eq!(items[0].platform, "youtube");
        assert_eq!(items[0].media_url, None);
        assert_eq!(items[1].canonical_url, "https://cdn.example/d.mp4");
    }

    #[test]
    fn garbage_and_non_feeds_are_errors_that_say_so() {
        let e = parse_feed("<rss><channel><item>", &base())
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a well-formed XML feed"), "{e}");
        let e = parse_feed("<html><body/></html>", &base())
            .unwrap_err()
            .to_string();
        assert!(e.contains("root element is <html>"), "{e}");
        let e = parse_feed(r#"<!DOCTYPE x [<!ENTITY a "b">]><rss/>"#, &base());
        assert!(e.is_err(), "DTDs are refused");
    }
}
