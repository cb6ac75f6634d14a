//! The guarding proxy the programs that make their own connections go out
//! through (headless Chromium capturing a page, yt-dlp listing and
//! downloading): a forwarding HTTP proxy on 127.0.0.1 that judges every
//! request they make (the page, its redirects, frames, images, scripts'
//! fetches, an extractor's API calls and media) with the source's SSRF
//! guard, and sends what it lets through on to the source's own proxy when
//! it has one, so they never reach an internal address and never show the
//! creator's address to a site the crawler reaches through a proxy.
//!
//! It speaks the two forms a browser uses with an HTTP proxy: `CONNECT
//! host:port` (a tunnel, for https) and a request with an absolute URL
//! (plain http), which it sends on with `Connection: close` so that every
//! request on the browser's side is judged on its own. A refused request is
//! answered 403 and recorded, for the capture's notes.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

use crate::ssrf::{check_url, resolve_checked, Allow};

/// The largest request head taken from the browser.
const MAX_HEAD: usize = 64 * 1024;

/// Where the guarding proxy sends what it lets through.
#[derive(Clone, Debug)]
enum Upstream {
    /// Straight to the checked address.
    Direct,
    /// Through the source's HTTP proxy (which resolves names itself, as for
    /// the crawling client: the guard checks IP literals only).
    Proxy {
        address: String,
        authorization: Option<String>,
    },
}

impl Upstream {
    /// The upstream of a source whose proxy is `proxy`: only `http://`
    /// proxies can carry the browser's traffic on.
    fn of(proxy: Option<&str>) -> Result<Upstream, String> {
        let Some(proxy) = proxy else {
            return Ok(Upstream::Direct);
        };
        let shown = crate::secret::redact_url(proxy);
        let url = Url::parse(proxy).map_err(|e| format!("the proxy {shown} is not a URL: {e}"))?;
        if !GuardProxy::sends_on_through(proxy) {
            return Err(format!(
                "the guarding proxy sends on through an http:// proxy only; {shown} is {}",
                url.scheme()
            ));
        }
        let host = url
            .host_str()
            .ok_or_else(|| format!("the proxy {shown} names no host"))?;
        let port = url.port_or_known_default().unwrap_or(80);
        let authorization = (!url.username().is_empty()).then(|| {
            let user = percent_decoded(url.username());
            let password = percent_decoded(url.password().unwrap_or(""));
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            )
        });
        Ok(Upstream::Proxy {
            address: format!("{host}:{port}"),
            authorization,
        })
    }
}

fn percent_decoded(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// A running guarding proxy; it stops when dropped.
pub struct GuardProxy {
    addr: SocketAddr,
    refused: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for GuardProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl GuardProxy {
    /// Whether the guarding proxy can send what it lets through on through
    /// `proxy`: an `http://` proxy only.
    pub fn sends_on_through(proxy: &str) -> bool {
        Url::parse(proxy).is_ok_and(|url| url.scheme() == "http")
    }

    /// Starts a proxy on a free port of 127.0.0.1 that lets through what
    /// `allow` permits, out through `proxy` when given (an `http://` proxy
    /// only: any other is refused here, so that nothing goes out without
    /// it). Each connection through it lasts at most `deadline`.
    pub async fn start(
        allow: Allow,
        proxy: Option<&str>,
        deadline: Duration,
    ) -> Result<GuardProxy, String> {
        let upstream = Upstream::of(proxy)?;
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("cannot start the guarding proxy on 127.0.0.1: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("cannot start the guarding proxy on 127.0.0.1: {e}"))?;
        let refused = Arc::new(Mutex::new(Vec::new()));
        let shared = Arc::new((allow, upstream));
        let log = refused.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (shared, log) = (shared.clone(), log.clone());
                tokio::spawn(async move {
                    let (allow, upstream) = &*shared;
                    let served =
                        tokio::time::timeout(deadline, serve(client, allow, upstream)).await;
                    if let Ok(Err(Refusal(why))) = served {
                        log.lock()
                            .expect("the refusal log is never poisoned")
                            .push(why);
                    }
                });
            }
        });
        Ok(GuardProxy {
            addr,
            refused,
            task,
        })
    }

    /// The address to give Chromium as its proxy.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The requests refused so far, each with the reason.
    pub fn refused(&self) -> Vec<String> {
        self.refused
            .lock()
            .expect("the refusal log is never poisoned")
            .clone()
    }
}

/// A request the guard refused, and why.
struct Refusal(String);

/// Serves one browser connection: judges its request, then joins it to the
/// destination. Errors other than a refusal (a closed socket, an
/// unreachable server) end the connection quietly, as a proxy's do.
async fn serve(mut client: TcpStream, allow: &Allow, upstream: &Upstream) -> Result<(), Refusal> {
    let Ok(Some((head, rest))) = read_head(&mut client).await else {
        return Ok(());
    };
    let Some(request) = Request::parse(&head) else {
        let _ = answer(&mut client, "400 Bad Request", "not an HTTP proxy request").await;
        return Ok(());
    };
    let url = match request.url() {
        Ok(url) => url,
        Err(why) => {
            let _ = answer(&mut client, "400 Bad Request", &why).await;
            return Ok(());
        }
    };
    let destination = match judge(&url, allow, upstream).await {
        Ok(destination) => destination,
        Err(why) => {
            let _ = answer(&mut client, "403 Forbidden", &why).await;
            return Err(Refusal(why));
        }
    };
    let Ok(mut server) = TcpStream::connect(destination.as_str()).await else {
        let _ = answer(&mut client, "502 Bad Gateway", "cannot connect").await;
        return Ok(());
    };
    let tunnel = request.method.eq_ignore_ascii_case("CONNECT");
    let opened = match (tunnel, upstream) {
        // A tunnel of ours is open once connected.
        (true, Upstream::Direct) => {
            client
                .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                .await
        }
        // The upstream proxy opens the tunnel; its answer goes back as is.
        (true, Upstream::Proxy { authorization, .. }) => {
            let head = connect_head(&request.target, authorization.as_deref());
            server.write_all(head.as_bytes()).await
        }
        (false, Upstream::Direct) => {
            let head = request.forwarded(&url, None);
            server.write_all(head.as_bytes()).await
        }
        (false, Upstream::Proxy { authorization, .. }) => {
            let head = request.forwarded(&url, Some(authorization.as_deref()));
            server.write_all(head.as_bytes()).await
        }
    };
    if opened.is_err() {
        return Ok(());
    }
    if server.write_all(&rest).await.is_err() {
        return Ok(());
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
    Ok(())
}

/// Where a request the guard lets through connects to (`host:port`), or why
/// it is refused.
async fn judge(url: &Url, allow: &Allow, upstream: &Upstream) -> Result<String, String> {
    check_url(url, allow).map_err(|e| e.to_string())?;
    let port = url.port_or_known_default().unwrap_or(80);
    match upstream {
        Upstream::Proxy { address, .. } => Ok(address.clone()),
        Upstream::Direct => match url.host() {
            Some(url::Host::Domain(name)) => {
                let addrs = resolve_checked(name, allow)
                    .await
                    .map_err(|e| e.to_string())?;
                let first = addrs.first().expect("resolve_checked gives at least one");
                Ok(SocketAddr::new(first.ip(), port).to_string())
            }
            Some(url::Host::Ipv4(ip)) => Ok(SocketAddr::new(ip.into(), port).to_string()),
            Some(url::Host::Ipv6(ip)) => Ok(SocketAddr::new(ip.into(), port).to_string()),
            None => Err(format!("refused {url}: no host")),
        },
    }
}

/// The head of a CONNECT to the upstream proxy.
fn connect_head(target: &str, authorization: Option<&str>) -> String {
    let mut head = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(authorization) = authorization {
        head.push_str(&format!("Proxy-Authorization: {authorization}\r\n"));
    }
    head.push_str("\r\n");
    head
}

/// An answer of the proxy's own.
async fn answer(client: &mut TcpStream, status: &str, text: &str) -> std::io::Result<()> {
    let body = format!("reelguard guarding proxy: {text}\n");
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    client.write_all(head.as_bytes()).await?;
    client.write_all(body.as_bytes()).await
}

/// Reads a request head (up to the blank line, at most [`MAX_HEAD`]):
/// the head, and whatever was read past it. None when the browser closed
/// the connection first or the head is too large.
async fn read_head<S: AsyncRead + Unpin>(
    stream: &mut S,
) -> std::io::Result<Option<(String, Vec<u8>)>> {
    let mut buffer = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buffer.split_off(end + 4);
            return Ok(Some((String::from_utf8_lossy(&buffer).into_owned(), rest)));
        }
        if buffer.len() > MAX_HEAD {
            return Ok(None);
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
}

/// A browser's request to its proxy.
struct Request {
    method: String,
    /// `host:port` for CONNECT, else an absolute URL.
    target: String,
    /// The header lines, as sent.
    headers: Vec<String>,
}

impl Request {
    fn parse(head: &str) -> Option<Request> {
        let mut lines = head.split("\r\n");
        let mut first = lines.next()?.split(' ');
        let (method, target, version) = (first.next()?, first.next()?, first.next()?);
        if !version.starts_with("HTTP/1.") || first.next().is_some() {
            return None;
        }
        Some(Request {
            method: method.to_string(),
            target: target.to_string(),
            headers: lines
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
        })
    }

    /// What the request asks for: `https://host:port/` for a tunnel.
    fn url(&self) -> Result<Url, String> {
        let text = if self.method.eq_ignore_ascii_case("CONNECT") {
            format!("https://{}/", self.target)
        } else {
            self.target.clone()
        };
        Url::parse(&text).map_err(|e| format!("{:?} is not a URL: {e}", self.target))
    }

    /// The head sent on: to the server in origin form, or to the upstream
    /// proxy (`Some(authorization)`) in absolute form; hop-by-hop headers
    /// dropped and the connection closed after one answer.
    fn forwarded(&self, url: &Url, upstream: Option<Option<&str>>) -> String {
        let target = match upstream {
            Some(_) => url.as_str().to_string(),
            None => match url.query() {
                Some(query) => format!("{}?{query}", url.path()),
                None => url.path().to_string(),
            },
        };
        let mut head = format!("{} {target} HTTP/1.1\r\n", self.method);
        for line in &self.headers {
            let name = line.split(':').next().unwrap_or("").trim();
            let hop_by_hop = [
                "connection",
                "proxy-connection",
                "keep-alive",
                "proxy-authorization",
            ]
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h));
            if !hop_by_hop {
                head.push_str(line);
                head.push_str("\r\n");
            }
        }
        if let Some(Some(authorization)) = upstream {
            head.push_str(&format!("Proxy-Authorization: {authorization}\r\n"));
        }
        head.push_str("Connection: close\r\n\r\n");
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_sent_on_without_hop_by_hop_headers_and_closed_after_one_answer() {
        let head = "GET http://example.com:8080/a?b=1 HTTP/1.1\r\nHost: example.com:8080\r\nProxy-Connection: keep-alive\r\nAccept: */*\r\n\r\n";
        let request = Request::parse(head.trim_end_matches("\r\n")).unwrap();
        let url = request.url().unwrap();
        assert_eq!(
            request.forwarded(&url, None),
            "GET /a?b=1 HTTP/1.1\r\nHost: example.com:8080\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        );
        assert_eq!(
            request.forwarded(&url, Some(Some("Basic dTpw"))),
            "GET http://example.com:8080/a?b=1 HTTP/1.1\r\nHost: example.com:8080\r\nAccept: */*\r\nProxy-Authorization: Basic dTpw\r\nConnection: close\r\n\r\n"
        );
        let tunnel = Request::parse("CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443").unwrap();
        assert_eq!(tunnel.url().unwrap().as_str(), "https://[::1]/");
        assert!(Request::parse("GET / HTTP/2 extra").is_none());
    }

    #[test]
    fn only_an_http_proxy_carries_the_browser_and_its_password_stays_in_the_header() {
        assert!(matches!(Upstream::of(None), Ok(Upstream::Direct)));
        match Upstream::of(Some("http://us%40er:p%3Ass@127.0.0.1:3128")).unwrap() {
            Upstream::Proxy {
                address,
                authorization,
            } => {
                assert_eq!(address, "127.0.0.1:3128");
                let encoded = authorization.unwrap();
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(encoded.trim_start_matches("Basic "))
                    .unwrap();
                assert_eq!(decoded, b"us@er:p:ss");
            }
            Upstream::Direct => panic!("a proxy was given"),
        }
        let refused = Upstream::of(Some("socks5://user:secret@127.0.0.1:1080")).unwrap_err();
        assert!(
            refused.contains("socks5") && !refused.contains("secret"),
            "{refused}"
        );
    }
}
