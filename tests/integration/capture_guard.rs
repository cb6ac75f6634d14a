//! A captured page cannot make the browser reach what the crawler may not:
//! Chromium goes out only through the guarding proxy, which refuses the
//! page's frames, images, fetches and redirects to another local service,
//! `localhost`, `0.0.0.0`, `[::1]` and decimal IPv4 forms. The same page
//! rendered with everything allowed does show the internal service, so the
//! test can tell the difference.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use reelguard::evidence::chromium::{self, Network, Output};
use reelguard::sources::guard_proxy::GuardProxy;
use reelguard::ssrf::Allow;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Serves `router` on a free port of 127.0.0.1.
async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

/// The internal service: a red page, counting every request it gets.
async fn internal_service(hits: Arc<AtomicUsize>) -> SocketAddr {
    async fn red(State(hits): State<Arc<AtomicUsize>>) -> Response {
        hits.fetch_add(1, Ordering::SeqCst);
        Html("<html><body style=\"margin:0;background:#ff0000\"><div style=\"height:600px\">internal</div></body></html>")
            .into_response()
    }
    serve(Router::new().fallback(get(red)).with_state(hits)).await
}

/// The hostile page: white, with frames, an image and a fetch aimed at the
/// internal service by every spelling of loopback; and a redirect to it.
async fn hostile_site(internal: SocketAddr) -> SocketAddr {
    let port = internal.port();
    let page = format!(
        "<html><body style=\"margin:0;background:#ffffff\">\
         <iframe src=\"http://127.0.0.1:{port}/frame\" width=600 height=300></iframe>\
         <iframe src=\"http://localhost:{port}/named\" width=600 height=300></iframe>\
         <iframe src=\"http://2130706433:{port}/decimal\" width=600 height=300></iframe>\
         <iframe src=\"http://[::ffff:127.0.0.1]:{port}/mapped\" width=600 height=300></iframe>\
         <img src=\"http://0.0.0.0:{port}/unspecified.png\" width=100 height=100>\
         <script>fetch('http://127.0.0.1:{port}/fetch').catch(() => {{}});</script>\
         </body></html>"
    );
    let to = format!("http://127.0.0.1:{port}/redirected");
    let router = Router::new()
        .route("/", get(move || async move { Html(page) }))
        .route(
            "/redirect",
            get(move || async move { Redirect::temporary(&to) }),
        );
    serve(router).await
}

/// A plain HTTP proxy that records each request head and sends it on to
/// `site` as it is.
async fn recording_proxy(site: SocketAddr, heads: Arc<Mutex<Vec<String>>>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let heads = heads.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut chunk = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match client.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&chunk[..n]),
                    }
                }
                heads
                    .lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&head).into_owned());
                let mut server = tokio::net::TcpStream::connect(site).await.unwrap();
                server.write_all(&head).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            });
        }
    });
    addr
}

/// Whether a screenshot shows the internal service's red.
fn shows_red(png: &[u8]) -> bool {
    let picture = image::load_from_memory(png).unwrap().to_rgb8();
    picture
        .pixels()
        .filter(|p| p.0[0] > 200 && p.0[1] < 60 && p.0[2] < 60)
        .count()
        > 1000
}

#[test]
fn a_captured_page_cannot_reach_other_local_services_through_the_browser() {
    let Some(binary) = chromium::find(None) else {
        eprintln!("skipped: chromium is not installed");
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let hits = Arc::new(AtomicUsize::new(0));
        let internal = internal_service(hits.clone()).await;
        let site = hostile_site(internal).await;
        let dir = tempfile::tempdir().unwrap();
        let render = |url: String, proxy: SocketAddr, name: &'static str| {
            let (binary, out) = (binary.clone(), dir.path().join(name));
            async move {
                chromium::render(
                    &binary,
                    &url,
                    Output::Screenshot,
                    &out,
                    60.0,
                    Network::Guarded(proxy),
                )
                .await
                .unwrap()
            }
        };

        // The source allows loopback: its own port only.
        let own = format!("http://127.0.0.1:{}/", site.port());
        let guard = GuardProxy::start(
            Allow::for_url(&own, true, false),
            None,
            Duration::from_secs(60),
        )
        .await
        .unwrap();
        let shot = render(own.clone(), guard.addr(), "guarded.png").await;
        let redirected = render(format!("{own}redirect"), guard.addr(), "redirected.png").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            hits.load(Ordering::SeqCst),
            0,
            "the internal service was reached"
        );
        assert!(
            !shows_red(&shot) && !shows_red(&redirected),
            "the internal page is in a screenshot"
        );
        let refused = guard.refused().join("\n");
        for spelling in [
            format!("127.0.0.1:{}", internal.port()),
            "localhost".to_string(),
            "0.0.0.0".to_string(),
        ] {
            assert!(
                refused.contains(&spelling),
                "no refusal names {spelling}:\n{refused}"
            );
        }

        // Everything allowed: the same page does show the internal service.
        let open = GuardProxy::start(
            Allow::for_url(&own, true, true),
            None,
            Duration::from_secs(60),
        )
        .await
        .unwrap();
        let shot = render(own, open.addr(), "open.png").await;
        assert!(
            hits.load(Ordering::SeqCst) > 0,
            "the control never reached the internal service"
        );
        assert!(
            shows_red(&shot),
            "the control screenshot does not show the internal page"
        );
    });
}

#[test]
fn the_browser_goes_through_the_sources_proxy_and_never_around_it() {
    let Some(binary) = chromium::find(None) else {
        eprintln!("skipped: chromium is not installed");
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let hits = Arc::new(AtomicUsize::new(0));
        let site = internal_service(hits.clone()).await;
        let own = format!("http://127.0.0.1:{}/", site.port());
        let allow = Allow::for_url(&own, true, false);
        // The source's proxy: it records each request head, then passes it
        // to the site as it is.
        let heads = Arc::new(Mutex::new(Vec::new()));
        let upstream = recording_proxy(site, heads.clone()).await;
        let proxy = format!("http://user:secret@{upstream}");
        let guard = GuardProxy::start(allow.clone(), Some(&proxy), Duration::from_secs(60))
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("proxied.png");
        let shot = chromium::render(
            &binary,
            &own,
            Output::Screenshot,
            &out,
            60.0,
            Network::Guarded(guard.addr()),
        )
        .await
        .unwrap();
        assert!(
            shows_red(&shot) && hits.load(Ordering::SeqCst) > 0,
            "the page did not come through"
        );
        let heads = heads.lock().unwrap().clone();
        assert!(
            !heads.is_empty(),
            "the browser went around the source's proxy"
        );
        // Every request went through the source's proxy, password and all:
        // none went around it. And each was the page's: the browser asked
        // nothing of its own (no updater, no sign-in, no Google host).
        assert!(
            heads
                .iter()
                .any(|head| head.starts_with(&format!("GET {own}"))),
            "the page's request is not among the proxy's: {heads:#?}"
        );
        let own_host = url::Url::parse(&own)
            .unwrap()
            .host_str()
            .unwrap()
            .to_string();
        let elsewhere: Vec<&str> = heads
            .iter()
            .map(|head| head.lines().next().unwrap_or_default())
            .filter(|line| !line.contains(&format!("{own_host}:")))
            .collect();
        assert!(
            elsewhere.is_empty(),
            "the browser asked for something other than the page: {elsewhere:#?}"
        );
        let without_password: Vec<&str> = heads
            .iter()
            .filter(|head| !head.contains("Proxy-Authorization: Basic dXNlcjpzZWNyZXQ=\r\n"))
            .map(|head| head.lines().next().unwrap_or_default())
            .collect();
        assert!(
            without_password.is_empty(),
            "sent without the proxy's password: {without_password:#?}"
        );

        // A proxy the browser's traffic cannot be carried through is
        // refused before anything is fetched.
        let refused = GuardProxy::start(
            allow,
            Some("socks5://user:secret@127.0.0.1:1"),
            Duration::from_secs(5),
        )
        .await
        .err()
        .expect("a socks5 proxy is refused");
        assert!(
            refused.contains("http:// proxy only") && !refused.contains("secret"),
            "{refused}"
        );
    });
}
