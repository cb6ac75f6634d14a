//! Who is calling, and may they: tokens, session cookies, CSRF tokens and
//! the check every route passes through ([`authorize`]).
//!
//! A token is 32 random bytes (`rg_` + 43 base64url characters); the store
//! keeps only its SHA-256. The API takes it as `Authorization: Bearer`.
//! The dashboard's sign-in exchanges it for a session cookie (HttpOnly,
//! SameSite=Strict) holding the token's id and an expiry signed with the
//! server's session key; the token is checked to be live on every request,
//! so revoking it ends its sessions. A form posted with a session cookie
//! must carry the session's CSRF token (a keyed hash of the cookie) as the
//! `csrf` field, the `X-CSRF-Token` header or the `csrf` query parameter.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::{api, pages, Access, AppState, RouteSpec};
use crate::domain::AccessRole;
use crate::store::TokenRecord;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "reelguard_session";
/// Largest form body read for its CSRF field.
const MAX_FORM_BYTES: usize = 1024 * 1024;
/// A token's last use is written at most this often (seconds).
const TOUCH_EVERY_S: i64 = 300;

/// A new token's text: `rg_` and 32 random bytes, base64url.
pub fn new_token() -> String {
    format!(
        "rg_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_key())
    )
}

/// What the store keeps of a token: its SHA-256, hex.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

/// 32 bytes from the operating system's random source.
pub fn random_key() -> Vec<u8> {
    let mut key = vec![0u8; 32];
    getrandom::getrandom(&mut key).expect("the operating system's random source works");
    key
}

/// How a caller proved who they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    Bearer,
    Session,
}

/// The caller of a signed-in request.
#[derive(Clone, Debug)]
pub struct Caller {
    pub token: TokenRecord,
    pub via: Via,
    /// The CSRF token of the caller's session (empty for bearer callers).
    pub csrf: String,
}

impl Caller {
    pub fn may(&self, role: AccessRole) -> bool {
        self.token.role.includes(role)
    }
}

fn mac_of(key: &[u8], parts: &[&str]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part.as_bytes());
        mac.update(b"\n");
    }
    mac
}

fn keyed(key: &[u8], parts: &[&str]) -> String {
    hex::encode(mac_of(key, parts).finalize().into_bytes())
}

/// The session cookie's value for a sign-in of `token_id` until `expires`.
pub fn session_value(key: &[u8], token_id: &str, expires: DateTime<Utc>) -> String {
    let expires = expires.timestamp().to_string();
    let signature = keyed(key, &["session", token_id, &expires]);
    format!("{token_id}.{expires}.{signature}")
}

/// The token id a session cookie names, when its signature holds and it
/// has not expired.
fn session_token_id(key: &[u8], value: &str, now: DateTime<Utc>) -> Option<String> {
    let mut parts = value.split('.');
    let (token_id, expires, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    // The MAC's own comparison, in constant time.
    let signature_holds = hex::decode(signature).is_ok_and(|bytes| {
        mac_of(key, &["session", token_id, expires])
            .verify_slice(&bytes)
            .is_ok()
    });
    let expires: i64 = expires.parse().ok()?;
    (signature_holds && expires > now.timestamp()).then(|| token_id.to_string())
}

/// The CSRF token of a session (by its cookie value).
fn csrf_token(key: &[u8], session: &str) -> String {
    keyed(key, &["csrf", session])[..32].to_string()
}

/// The `Set-Cookie` value that signs a browser in.
pub fn session_cookie(value: &str, max_age: Duration, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        max_age.num_seconds(),
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that signs a browser out.
pub fn cleared_session_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

impl AppState {
    /// The caller of a request: its bearer token, else its session
    /// cookie. `None` when it has neither, or they do not hold.
    pub async fn caller(&self, headers: &HeaderMap) -> anyhow::Result<Option<Caller>> {
        let now = crate::clock::now();
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let (token, via, csrf) = if let Some(bearer) = bearer {
            let token = self.store.live_token_by_hash(&hash_token(bearer)).await?;
            (token, Via::Bearer, String::new())
        } else if let Some(session) = cookie(headers, SESSION_COOKIE) {
            let Some(token_id) = session_token_id(&self.session_key, session, now) else {
                return Ok(None);
            };
            let token = self
                .store
                .token(&token_id)
                .await?
                .filter(|t| t.revoked_at.is_none());
            (token, Via::Session, csrf_token(&self.session_key, session))
        } else {
            return Ok(None);
        };
        let Some(token) = token else {
            return Ok(None);
        };
        if token
            .last_used_at
            .is_none_or(|t| (now - t).num_seconds() >= TOUCH_EVERY_S)
        {
            self.store.touch_token(&token.id, now).await?;
        }
        Ok(Some(Caller { token, via, csrf }))
    }
}

/// The access check in front of every route: signs the caller in (bearer
/// token or session), checks the route's role and, for a form posted with
/// a session, its CSRF token. The caller goes to the handler as a request
/// extension.
pub async fn authorize(
    State((state, spec)): State<(AppState, Arc<RouteSpec>)>,
    request: Request,
    next: Next,
) -> Response {
    // No stored text holds a NUL (PostgreSQL refuses it): a page address
    // with one names nothing here. (The API checks its own parameters, with
    // the statuses its document gives.)
    let uri = request.uri();
    let nul_in_query = uri.query().is_some_and(|q| {
        url::form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k.contains('\0') || v.contains('\0'))
    });
    if !spec.is_api() && (uri.path().contains("%00") || nul_in_query) {
        return (StatusCode::BAD_REQUEST, "the address holds a NUL character").into_response();
    }
    let caller = match state.caller(request.headers()).await {
        Ok(caller) => caller,
        Err(e) => {
            tracing::error!("cannot check the caller's token: {e:#}");
            return api::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the database is unreachable",
            );
        }
    };
    let needed = match spec.access {
        Access::Public => {
            let mut request = request;
            if let Some(caller) = caller {
                request.extensions_mut().insert(caller);
            }
            return next.run(request).await;
        }
        Access::Signed(role) => role,
    };
    let Some(caller) = caller else {
        return if spec.is_api() {
            let mut response = api::error(
                StatusCode::UNAUTHORIZED,
                "sign in: send Authorization: Bearer <token> (create one with `reelguard tokens create NAME --role viewer`)",
            );
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, "Bearer".parse().expect("valid"));
            response
        } else if request.method() == Method::GET {
            let next = request
                .uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            Redirect::to(&format!("/signin?next={}", pages::url_encode(next))).into_response()
        } else {
            (StatusCode::UNAUTHORIZED, "sign in first").into_response()
        };
    };
    if !caller.may(needed) {
        let why = format!(
            "the token {:?} is a {}; this needs a {} token",
            caller.token.name, caller.token.role, needed
        );
        return if spec.is_api() {
            api::error(StatusCode::FORBIDDEN, &why)
        } else {
            (StatusCode::FORBIDDEN, why).into_response()
        };
    }
    let mut request = request;
    if caller.via == Via::Session && !request.method().is_safe() {
        let (checked, passed) = match check_csrf(request, &caller.csrf).await {
            Ok(checked) => checked,
            Err(response) => return response,
        };
        if !passed {
            let why = "the form's CSRF token is missing or wrong; reload the page and try again";
            return if spec.is_api() {
                api::error(StatusCode::FORBIDDEN, why)
            } else {
                (StatusCode::FORBIDDEN, why).into_response()
            };
        }
        request = checked;
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// Whether a request posted with a session carries the session's CSRF
/// token. A URL-encoded form is read (bounded) for its `csrf` field and
/// handed on unchanged.
async fn check_csrf(request: Request, expected: &str) -> Result<(Request, bool), Response> {
    let header_token = request
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let query_token = request.uri().query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.into_owned())
    });
    if header_token.as_deref() == Some(expected) || query_token.as_deref() == Some(expected) {
        return Ok((request, true));
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Ok((request, false));
    }
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| (StatusCode::PAYLOAD_TOO_LARGE, "the form is too large").into_response())?;
    let passed = url::form_urlencoded::parse(&bytes).any(|(k, v)| k == "csrf" && v == expected);
    Ok((Request::from_parts(parts, Body::from(bytes)), passed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_holds_until_it_expires_and_only_with_its_signature() {
        let key = random_key();
        let now = crate::clock::now();
        let value = session_value(&key, "abc", now + Duration::hours(1));
        assert_eq!(session_token_id(&key, &value, now).as_deref(), Some("abc"));
        assert_eq!(
            session_token_id(&key, &value, now + Duration::hours(2)),
            None
        );
        assert_eq!(session_token_id(&random_key(), &value, now), None);
        let forged = value.replacen("abc", "abd", 1);
        assert_eq!(session_token_id(&key, &forged, now), None);
        assert_ne!(csrf_token(&key, &value), csrf_token(&key, &forged));
    }

    #[test]
    fn tokens_are_random_and_only_their_hash_is_kept() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert!(a.starts_with("rg_") && a.len() == 46, "{a}");
        assert_eq!(hash_token(&a).len(), 64);
        assert_eq!(hash_token(&a), hash_token(&format!(" {a}\n")));
    }
}
