//! The entry points of the fuzz targets (`fuzz/`, `make fuzz`): each feeds
//! untrusted bytes to one parser the way reelguard meets them, and must
//! return, whatever the bytes, without panicking, hanging or growing
//! without bound. `tests/integration/fuzz_corpus.rs` replays the committed
//! corpus and every kept crash through these same functions.

use std::sync::OnceLock;

use url::Url;

fn base() -> &'static Url {
    static BASE: OnceLock<Url> = OnceLock::new();
    BASE.get_or_init(|| Url::parse("https://platform.example/channel/").expect("a valid URL"))
}

/// A feed (RSS, Atom, Media RSS, YouTube channel feed).
pub fn feed(data: &[u8]) {
    let _ = crate::sources::feed::parse_feed(&String::from_utf8_lossy(data), base());
}

/// An HTML page, for its video.
pub fn page(data: &[u8]) {
    let _ = crate::sources::page::parse_page(&String::from_utf8_lossy(data), base());
}

/// A YouTube Data API reply, read as a search and as a videos list.
pub fn youtube_reply(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) {
        let _ = crate::sources::youtube::search_reply_ids(&json);
        let _ = crate::sources::youtube::videos_reply(&json, "https://www.youtube.com/watch?v=");
    }
    let _ = crate::sources::youtube::parse_iso_duration(&text);
}

/// A TSA's reply, a token, and PEM certificates.
pub fn tsa_reply(data: &[u8]) {
    use crate::timestamp::token;
    let digest = [0u8; 32];
    let _ = token::check_response(data, &digest, 0, &[]);
    let _ = token::verify_token(data, &digest, None, &[]);
    let _ = token::read_token_time(data);
    let _ = token::parse_pem_certificates(data);
}

/// A zip sent to `verify`: read as an export, then checked as a bundle or
/// a package.
pub fn archive(data: &[u8]) {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let path = dir.path().join("sent.zip");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    if let Ok(files) = crate::provenance::package::read_zip(&path) {
        let _ = crate::evidence::bundle::verify_archive(&files, None, None);
    }
}

/// A config file.
pub fn config(data: &[u8]) {
    let _ = crate::config::Config::from_text(&String::from_utf8_lossy(data));
}
