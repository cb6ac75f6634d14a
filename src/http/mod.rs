//! The dashboard and the HTTP API, served by `reelguard serve` and by the
//! daemon on `[http] listen`.
//!
//! One route table ([`routes`]) says every route's method, path and who may
//! call it; the router is built from it, so no route exists without an
//! access rule (and the authorization test walks the same table). Access
//! is by token (`reelguard tokens create`): the API takes it as a bearer
//! token, the dashboard exchanges it for a signed session cookie and
//! checks a CSRF token on every form. `access.rs` owns all of that;
//! `api.rs` the JSON API and its OpenAPI document, `pages.rs` the
//! server-rendered dashboard, `text.rs` its English and Chinese labels,
//! `metrics.rs` the Prometheus metrics.

mod access;
mod api;
mod metrics;
mod pages;
mod text;
mod upload;
mod verify;
mod works;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{self, MethodRouter};
use axum::Router;
use serde::Deserialize;

pub use access::{hash_token, new_token};
pub use api::check_token_name;

use crate::domain::AccessRole;
use crate::evidence::CaptureSettings;
use crate::store::Store;
use crate::timestamp::Stamper;

/// `[http]`: where the dashboard and the API listen.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Whether `reelguard daemon` serves them too (`reelguard serve`
    /// always does).
    pub enabled: bool,
    /// Address and port to listen on.
    pub listen: String,
    /// The dashboard's address as others reach it, for links in emails,
    /// certificates and QR codes; empty: `http://<listen>`.
    pub public_url: String,
    /// Hours a dashboard sign-in lasts.
    pub session_hours: f64,
    /// Largest file taken by an upload (the public verification page).
    pub max_upload_bytes: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            enabled: true,
            listen: "127.0.0.1:8080".into(),
            public_url: String::new(),
            session_hours: 12.0,
            max_upload_bytes: 512 * 1024 * 1024,
        }
    }
}

impl HttpConfig {
    pub fn validate(&self) -> anyhow::Result<()> {
        self.listen.parse::<SocketAddr>().map_err(|e| {
            anyhow::anyhow!(
                "http.listen = {:?}: {e}; give an address and port such as \"127.0.0.1:8080\"",
                self.listen
            )
        })?;
        if !self.public_url.is_empty() {
            let url = url::Url::parse(&self.public_url)
                .map_err(|e| anyhow::anyhow!("http.public_url = {:?}: {e}", self.public_url))?;
            if !matches!(url.scheme(), "http" | "https") {
                anyhow::bail!(
                    "http.public_url = {:?}: must be an http:// or https:// address",
                    self.public_url
                );
            }
        }
        crate::bounds::int(
            "http.max_upload_bytes",
            self.max_upload_bytes,
            1024 * 1024..=64 * 1024 * 1024 * 1024,
            "bytes",
        )?;
        crate::bounds::float(
            "http.session_hours",
            self.session_hours,
            0.1..=2160.0,
            "hours",
        )?;
        Ok(())
    }
}

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// A token of at least this role.
    Signed(AccessRole),
}

/// One route of the table: method, path (axum syntax, `{id}`) and access.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteSpec {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
}

impl RouteSpec {
    /// Whether the route belongs to the JSON API (answers 401/403 as JSON
    /// rather than sending the browser to the sign-in page).
    pub fn is_api(&self) -> bool {
        self.path.starts_with("/api/")
    }
}

/// The configuration a server reads: `[http]`, what evidence export
/// reads, and the attempts a queued scan gets (`Config::http_settings`).
#[derive(Clone, Debug)]
pub struct HttpSettings {
    pub http: HttpConfig,
    pub capture: CaptureSettings,
    /// `[daemon] max_attempts`: a scan queued from the dashboard gets the
    /// attempts the scheduler and `reelguard scan` give it.
    pub scan_max_attempts: u32,
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    store: Store,
    settings: HttpSettings,
    data_dir: PathBuf,
    /// Where the daemon keeps downloaded media (`[daemon] media_dir`).
    media_dir: PathBuf,
    stamper: Stamper,
    session_key: Vec<u8>,
    metrics: metrics::Metrics,
}

impl Shared {
    /// What captures and evidence exports read, as this server sees it.
    pub fn capture_env(&self) -> crate::evidence::capture::CaptureEnv<'_> {
        crate::evidence::capture::CaptureEnv {
            store: &self.store,
            settings: &self.settings.capture,
            data_dir: &self.data_dir,
            media_dir: &self.media_dir,
        }
    }
}

impl AppState {
    /// The state of a server on `store`, reading and writing evidence in
    /// `data_dir`.
    pub async fn new(
        store: Store,
        settings: HttpSettings,
        data_dir: PathBuf,
    ) -> anyhow::Result<AppState> {
        let stamper = Stamper::new(&settings.capture.timestamp)?;
        let session_key = store
            .server_key("session", access::random_key, crate::clock::now())
            .await?;
        let media_dir = settings.capture.media_dir_in(&data_dir);
        Ok(AppState(Arc::new(Shared {
            store,
            settings,
            data_dir,
            media_dir,
            stamper,
            session_key,
            metrics: metrics::Metrics::default(),
        })))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

use Access::{Public, Signed};
use AccessRole::{Admin, Reviewer, Viewer};

/// Every route: its spec and its handler.
fn routes() -> Vec<(RouteSpec, MethodRouter<AppState>)> {
    use routing::{delete, get, post, put};
    let table: Vec<(Method, &'static str, Access, MethodRouter<AppState>)> = vec![
        // Probes and metrics.
        (Method::GET, "/healthz", Public, get(metrics::healthz)),
        (Method::GET, "/readyz", Public, get(metrics::readyz)),
        (Method::GET, "/metrics", Public, get(metrics::prometheus)),
        // The dashboard.
        (
            Method::GET,
            "/static/{file}",
            Public,
            get(pages::static_file),
        ),
        (
            Method::GET,
            "/lang/{lang}",
            Public,
            get(pages::switch_language),
        ),
        (Method::GET, "/signin", Public, get(pages::signin_form)),
        (Method::POST, "/signin", Public, post(pages::signin)),
        (
            Method::POST,
            "/signout",
            Signed(Viewer),
            post(pages::signout),
        ),
        (Method::GET, "/verify", Public, get(verify::verify_form)),
        (
            Method::POST,
            "/verify",
            Public,
            // The handler streams the upload to disk and caps it itself.
            post(verify::verify_upload).layer(axum::extract::DefaultBodyLimit::disable()),
        ),
        (Method::GET, "/", Signed(Viewer), get(pages::home)),
        (Method::GET, "/inbox", Signed(Viewer), get(pages::inbox)),
        (
            Method::POST,
            "/inbox/review",
            Signed(Reviewer),
            post(pages::review_many),
        ),
        (
            Method::GET,
            "/matches/{id}",
            Signed(Viewer),
            get(pages::match_page),
        ),
        (
            Method::POST,
            "/matches/{id}/review",
            Signed(Reviewer),
            post(pages::review_one),
        ),
        (
            Method::GET,
            "/matches/{id}/files/{*path}",
            Signed(Viewer),
            get(pages::capture_file),
        ),
        (
            Method::GET,
            "/matches/{id}/locations/{candidate}/files/{*path}",
            Signed(Viewer),
            get(pages::location_file),
        ),
        (
            Method::GET,
            "/matches/{id}/bundle.zip",
            Signed(Reviewer),
            get(pages::bundle),
        ),
        (
            Method::GET,
            "/matches/{id}/takedown",
            Signed(Reviewer),
            get(pages::takedown),
        ),
        (
            Method::GET,
            "/works",
            Signed(Viewer),
            get(works::works_page),
        ),
        (
            Method::POST,
            "/works",
            Signed(Admin),
            // The handler streams the video to disk and caps it itself.
            post(works::register_upload).layer(axum::extract::DefaultBodyLimit::disable()),
        ),
        (
            Method::GET,
            "/uploads/{id}",
            Signed(Viewer),
            get(works::upload_page),
        ),
        (
            Method::GET,
            "/works/{id}",
            Signed(Viewer),
            get(works::work_page),
        ),
        (
            Method::POST,
            "/works/{id}/artifacts",
            Signed(Admin),
            post(works::add_artifact_form).layer(axum::extract::DefaultBodyLimit::disable()),
        ),
        (
            Method::GET,
            "/works/{id}/certificate.pdf",
            Signed(Viewer),
            get(works::certificate_pdf),
        ),
        (
            Method::GET,
            "/works/{id}/certificate.html",
            Signed(Viewer),
            get(works::certificate_html),
        ),
        (
            Method::GET,
            "/works/{id}/package.zip",
            Signed(Reviewer),
            get(works::package_zip),
        ),
        (Method::GET, "/c/{hash}", Public, get(works::chain_page)),
        (
            Method::GET,
            "/works/{id}/video",
            Signed(Viewer),
            get(pages::work_video),
        ),
        (Method::GET, "/sources", Signed(Viewer), get(pages::sources)),
        (
            Method::POST,
            "/sources",
            Signed(Admin),
            post(pages::add_source),
        ),
        (
            Method::GET,
            "/sources/{name}/edit",
            Signed(Admin),
            get(pages::edit_source_form),
        ),
        (
            Method::POST,
            "/sources/{name}/edit",
            Signed(Admin),
            post(pages::edit_source),
        ),
        (
            Method::POST,
            "/sources/{name}/remove",
            Signed(Admin),
            post(pages::remove_source),
        ),
        (
            Method::POST,
            "/sources/{name}/scan",
            Signed(Admin),
            post(pages::scan_source),
        ),
        (Method::GET, "/alerts", Signed(Viewer), get(pages::alerts)),
        (
            Method::POST,
            "/alerts/{id}/retry",
            Signed(Reviewer),
            post(pages::retry_alert),
        ),
        // All at once: an admin's (see `api::retry_failed_alerts`).
        (
            Method::POST,
            "/alerts/retry",
            Signed(Admin),
            post(pages::retry_failed_alerts),
        ),
        // The JSON API.
        (Method::GET, "/api/openapi.json", Public, get(api::openapi)),
        (
            Method::POST,
            "/api/v1/verify",
            Public,
            post(verify::api_verify).layer(axum::extract::DefaultBodyLimit::disable()),
        ),
        (
            Method::GET,
            "/api/v1/matches",
            Signed(Viewer),
            get(api::list_matches),
        ),
        (
            Method::GET,
            "/api/v1/matches/{id}",
            Signed(Viewer),
            get(api::show_match),
        ),
        (
            Method::POST,
            "/api/v1/matches/{id}/review",
            Signed(Reviewer),
            post(api::review_match),
        ),
        (
            Method::GET,
            "/api/v1/matches/{id}/bundle",
            Signed(Reviewer),
            get(api::match_bundle),
        ),
        (
            Method::GET,
            "/api/v1/matches/{id}/takedown",
            Signed(Reviewer),
            get(api::match_takedown),
        ),
        (
            Method::GET,
            "/api/v1/works",
            Signed(Viewer),
            get(api::list_works),
        ),
        (
            Method::POST,
            "/api/v1/works",
            Signed(Admin),
            post(works::api_register).layer(axum::extract::DefaultBodyLimit::disable()),
        ),
        (
            Method::GET,
            "/api/v1/works/{id}",
            Signed(Viewer),
            get(works::api_show_work),
        ),
        (
            Method::POST,
            "/api/v1/works/{id}/artifacts",
            Signed(Admin),
            post(works::api_add_artifact).layer(axum::extract::DefaultBodyLimit::disable()),
        ),
        (
            Method::GET,
            "/api/v1/works/{id}/package",
            Signed(Reviewer),
            get(works::api_package),
        ),
        (
            Method::GET,
            "/api/v1/works/{id}/certificate",
            Signed(Viewer),
            get(works::api_certificate),
        ),
        (
            Method::GET,
            "/api/v1/uploads",
            Signed(Viewer),
            get(works::api_list_uploads),
        ),
        (
            Method::GET,
            "/api/v1/uploads/{id}",
            Signed(Viewer),
            get(works::api_show_upload),
        ),
        (
            Method::GET,
            "/api/v1/sources",
            Signed(Viewer),
            get(api::list_sources),
        ),
        (
            Method::POST,
            "/api/v1/sources",
            Signed(Admin),
            post(api::create_source),
        ),
        (
            Method::PUT,
            "/api/v1/sources/{name}",
            Signed(Admin),
            put(api::update_source),
        ),
        (
            Method::DELETE,
            "/api/v1/sources/{name}",
            Signed(Admin),
            delete(api::delete_source),
        ),
        (
            Method::POST,
            "/api/v1/sources/{name}/scan",
            Signed(Admin),
            post(api::scan_source),
        ),
        (
            Method::GET,
            "/api/v1/sources/{name}/scans",
            Signed(Viewer),
            get(api::source_scans),
        ),
        (
            Method::GET,
            "/api/v1/alerts",
            Signed(Viewer),
            get(api::list_alerts),
        ),
        (
            Method::POST,
            "/api/v1/alerts/{id}/retry",
            Signed(Reviewer),
            post(api::retry_one_alert),
        ),
        (
            Method::POST,
            "/api/v1/alerts/retry",
            Signed(Admin),
            post(api::retry_failed_alerts),
        ),
        (
            Method::GET,
            "/api/v1/tokens",
            Signed(Admin),
            get(api::list_tokens),
        ),
        (
            Method::POST,
            "/api/v1/tokens",
            Signed(Admin),
            post(api::create_token),
        ),
        (
            Method::DELETE,
            "/api/v1/tokens/{id}",
            Signed(Admin),
            delete(api::revoke_token),
        ),
    ];
    table
        .into_iter()
        .map(|(method, path, access, handler)| {
            (
                RouteSpec {
                    method,
                    path,
                    access,
                },
                handler,
            )
        })
        .collect()
}

/// The route table: every route's method, path and access.
pub fn route_table() -> Vec<RouteSpec> {
    routes().into_iter().map(|(spec, _)| spec).collect()
}

/// The whole application: every route behind its access check, with
/// security headers and request metrics on every response.
pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for (spec, handler) in routes() {
        let path = spec.path;
        let guarded = handler.route_layer(middleware::from_fn_with_state(
            (state.clone(), Arc::new(spec)),
            access::authorize,
        ));
        router = router.route(path, guarded);
    }
    router
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::record,
        ))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

async fn not_found(request: Request) -> Response {
    if request.uri().path().starts_with("/api/") {
        api::error(StatusCode::NOT_FOUND, "no such API route")
    } else {
        (StatusCode::NOT_FOUND, "not found").into_response()
    }
}

/// The content security policy: scripts, styles and media from this
/// server only, no inline script, no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; media-src 'self'; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// A bound server: where it listens and how to run it.
pub struct Server {
    listener: tokio::net::TcpListener,
    state: AppState,
}

impl Server {
    /// Binds `listen` (port 0: any free port).
    pub async fn bind(listen: &str, state: AppState) -> anyhow::Result<Server> {
        let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
            anyhow::anyhow!(
                "cannot listen on {listen}: {e}; choose another [http] listen address (or --listen)"
            )
        })?;
        Ok(Server { listener, state })
    }

    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Serves until `stop` turns true; requests under way finish first.
    pub async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) -> anyhow::Result<()> {
        let app = router(self.state);
        axum::serve(self.listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|stop| *stop).await;
            })
            .await?;
        Ok(())
    }
}

/// The dashboard's base address for links: `public_url`, else the
/// address it listens on.
pub fn public_base(config: &HttpConfig, bound: Option<SocketAddr>) -> String {
    if !config.public_url.is_empty() {
        return config.public_url.trim_end_matches('/').to_string();
    }
    match bound {
        Some(addr) => format!("http://{addr}"),
        None => format!("http://{}", config.listen),
    }
}
