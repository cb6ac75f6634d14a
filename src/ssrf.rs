//! The SSRF guard: no outbound connection (crawl, media, page capture,
//! Chromium and yt-dlp through the guarding proxy of `sources`, webhooks,
//! TSAs, SMTP) reaches a private, loopback or link-local address unless the
//! source or target that names it allows them, and one allowed loopback
//! reaches it on its own port only.
//!
//! Three checks, all before any connection is made:
//! - [`check_url`] on every URL requested and on every redirect hop: the
//!   scheme must be http(s) and an IP-literal host must be allowed;
//! - [`GuardedResolver`], reqwest's DNS resolver for every HTTP client
//!   ([`guarded_client`] builds them all): a host name is resolved and
//!   refused if *any* of its addresses is not allowed, so the connection can
//!   only go to addresses that were checked;
//! - [`resolve_checked`] for connections made without reqwest (SMTP, the
//!   guarding proxy): they connect to the address it returned.
//!
//! Through a `socks5://` proxy target names still come through the resolver;
//! through an HTTP(S) or `socks5h://` proxy the proxy resolves them, and the
//! guard checks IP literals only.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use url::Url;

/// Which non-public addresses a source or webhook may reach.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Allow {
    /// 127.0.0.0/8 and ::1 (a local mirror or a test platform), on the port
    /// of the source's own URL only: a redirect or link to another local
    /// service is refused.
    pub loopback: Option<OwnAddress>,
    /// Every private, loopback, link-local and otherwise non-public range,
    /// on any port.
    pub private: bool,
}

/// The host and port of a source's (or webhook's) own URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnAddress {
    /// As in the URL, lowercase (`127.0.0.1`, `[::1]`, `localhost`).
    pub host: String,
    pub port: u16,
}

impl Allow {
    /// Which non-public addresses the guard lets through for `source`.
    pub fn of(source: &crate::source_config::SourceConfig) -> Allow {
        Allow::for_url(&source.url, source.allow_loopback, source.allow_private)
    }

    /// The permissions of a source or webhook whose own URL is `url`.
    pub fn for_url(url: &str, loopback: bool, private: bool) -> Allow {
        let own = Url::parse(url).ok().and_then(|url| {
            Some(OwnAddress {
                host: url.host_str()?.to_ascii_lowercase(),
                port: url.port_or_known_default()?,
            })
        });
        Allow {
            loopback: own.filter(|_| loopback),
            private,
        }
    }

    /// The permissions of a target reached at `host`:`port` (an SMTP relay).
    pub fn for_host(host: &str, port: u16, loopback: bool, private: bool) -> Allow {
        Allow {
            loopback: loopback.then(|| OwnAddress {
                host: host.trim_matches(['[', ']']).to_ascii_lowercase(),
                port,
            }),
            private,
        }
    }

    /// Everything (a proxy the operator chose).
    fn everything() -> Allow {
        Allow {
            loopback: None,
            private: true,
        }
    }

    /// Whether a connection to `ip` on `port` is allowed.
    pub fn permits(&self, ip: IpAddr, port: u16) -> bool {
        if self.private {
            return true;
        }
        if is_loopback(ip) {
            return self.loopback.as_ref().is_some_and(|own| own.port == port);
        }
        is_public(ip)
    }

    /// Whether the host name `host` may resolve to `ip` (its port is
    /// checked by [`check_url`]): loopback only for the own URL's host.
    fn permits_name(&self, host: &str, ip: IpAddr) -> bool {
        if self.private {
            return true;
        }
        if is_loopback(ip) {
            return self
                .loopback
                .as_ref()
                .is_some_and(|own| own.host.eq_ignore_ascii_case(host));
        }
        is_public(ip)
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum SsrfError {
    #[error("refused {url}: only http and https URLs are fetched")]
    Scheme { url: String },
    #[error("refused {url}: {ip} is a private, loopback or link-local address (set allow_private = true on the source or target that names it to allow it)")]
    PrivateAddress { url: String, ip: IpAddr },
    #[error("refused {host}: it resolves to {ip}, a private, loopback or link-local address (set allow_private = true on the source or target that names it to allow it)")]
    PrivateName { host: String, ip: IpAddr },
    #[error("refused {url}: loopback is allowed for this source on port {port} only (its own URL's), not another local service")]
    OtherLoopbackPort { url: String, port: u16 },
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Whether `ip` is a globally routable unicast address. IPv4 addresses
/// inside IPv6 ones (v4-mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`)
/// are judged as the IPv4 address they carry.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped().or_else(|| nat64_v4(v6)) {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

/// The IPv4 address a well-known-prefix NAT64 address (64:ff9b::/96) carries.
fn nat64_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    (s[..6] == [0x64, 0xff9b, 0, 0, 0, 0]).then(|| {
        let [.., a, b, c, d] = ip.octets();
        Ipv4Addr::new(a, b, c, d)
    })
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0                                  // "this network"
        || (a == 100 && (64..128).contains(&b))    // carrier-grade NAT
        || (a == 192 && b == 0 && c == 0)          // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19))      // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00   // unique local fc00::/7
        || (first & 0xffc0) == 0xfe80   // link-local fe80::/10
        || (first & 0xffc0) == 0xfec0   // site-local (deprecated)
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        || first == 0x0064 && ip.segments()[1] == 0xff9b // NAT64, local-use 64:ff9b:1::/48
        || ip.segments()[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible
}

/// Checks a URL before it is requested (and each redirect target).
pub fn check_url(url: &Url, allow: &Allow) -> Result<(), SsrfError> {
    let shown = || crate::secret::redact_url(url.as_str());
    if !matches!(url.scheme(), "http" | "https") {
        return Err(SsrfError::Scheme { url: shown() });
    }
    let port = url.port_or_known_default().unwrap_or(0);
    let ip = match url.host() {
        Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
        Some(url::Host::Domain(name)) => {
            // GuardedResolver checks the addresses of names; loopback ones
            // only for the own host, whose port is checked here.
            return match &allow.loopback {
                Some(own)
                    if !allow.private
                        && own.host.eq_ignore_ascii_case(name)
                        && own.port != port =>
                {
                    Err(SsrfError::OtherLoopbackPort {
                        url: shown(),
                        port: own.port,
                    })
                }
                _ => Ok(()),
            };
        }
        None => return Err(SsrfError::Scheme { url: shown() }),
    };
    match &allow.loopback {
        _ if allow.permits(ip, port) => Ok(()),
        Some(own) if is_loopback(ip) => Err(SsrfError::OtherLoopbackPort {
            url: shown(),
            port: own.port,
        }),
        _ => Err(SsrfError::PrivateAddress { url: shown(), ip }),
    }
}

/// Why [`resolve_checked`] gave no address.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("cannot resolve {host}: {message}")]
    Unresolved { host: String, message: String },
    /// The name resolves to an address the guard refuses: asking again
    /// later cannot help.
    #[error(transparent)]
    Refused(#[from] SsrfError),
}

/// Resolves `host` and refuses it when any address is not allowed.
pub async fn resolve_checked(host: &str, allow: &Allow) -> Result<Vec<SocketAddr>, ResolveError> {
    let unresolved = |message: String| ResolveError::Unresolved {
        host: host.to_string(),
        message,
    };
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
        .await
        .map_err(|e| unresolved(e.to_string()))?
        .collect();
    if addrs.is_empty() {
        return Err(unresolved("no addresses".to_string()));
    }
    if let Some(bad) = addrs.iter().find(|a| !allow.permits_name(host, a.ip())) {
        return Err(SsrfError::PrivateName {
            host: host.to_string(),
            ip: bad.ip(),
        }
        .into());
    }
    Ok(addrs)
}

/// The guard's refusal among `error` and its causes, if it was refused:
/// a client's error wraps the refusal its resolver gave.
pub fn refusal_in<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a SsrfError> {
    let mut cause = Some(error);
    while let Some(current) = cause {
        if let Some(refusal) = current.downcast_ref::<SsrfError>() {
            return Some(refusal);
        }
        if let Some(ResolveError::Refused(refusal)) = current.downcast_ref::<ResolveError>() {
            return Some(refusal);
        }
        cause = current.source();
    }
    None
}

/// reqwest's DNS resolver for crawling clients: only allowed addresses come
/// out, so no connection can reach a refused address. The configured proxy's
/// own host name (chosen by the operator, often 127.0.0.1) is exempt.
pub struct GuardedResolver {
    allow: Allow,
    exempt_host: Option<String>,
}

impl GuardedResolver {
    /// The resolver of a client that allows `allow` and goes out through
    /// `proxy` when given: the proxy's own host is exempt.
    pub fn new(allow: Allow, proxy: Option<&str>) -> GuardedResolver {
        GuardedResolver {
            allow,
            exempt_host: proxy
                .and_then(|p| Url::parse(p).ok())
                .and_then(|p| p.host_str().map(str::to_string)),
        }
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        let allow = if self.exempt_host.as_deref() == Some(host.as_str()) {
            Allow::everything()
        } else {
            self.allow.clone()
        };
        Box::pin(async move {
            let addrs = resolve_checked(&host, &allow).await?;
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// The start of every outbound HTTP client: the guarded resolver for
/// `allow`, the configured `proxy` or none (never one from the
/// environment), and no redirect followed by reqwest (callers follow them
/// hop by hop with [`check_url`], or set a policy that checks each).
/// The error names the proxy without its password.
pub fn guarded_client(
    allow: &Allow,
    proxy: Option<&str>,
) -> Result<reqwest::ClientBuilder, String> {
    let builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .dns_resolver(GuardedResolver::new(allow.clone(), proxy));
    Ok(match proxy {
        Some(proxy) => builder.proxy(reqwest::Proxy::all(proxy).map_err(|e| {
            format!(
                "{:?} is not a proxy URL: {e}",
                crate::secret::redact_url(proxy)
            )
        })?),
        None => builder.no_proxy(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn private_loopback_and_link_local_literals_are_refused() {
        let deny = Allow::default();
        for bad in [
            "http://10.0.0.1/v.mp4",
            "http://127.0.0.1:8080/",
            "http://169.254.169.254/latest/meta-data",
            "http://192.168.1.1/",
            "http://172.16.5.4/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[::1]/",
            "http://[fe80::1]/",
            "http://[fd00::1]/",
            "http://[::ffff:10.0.0.1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[64:ff9b::7f00:1]/",
            "http://[64:ff9b::a00:1]/",
            "http://2130706433/",
            "http://0x7f.1/",
        ] {
            assert!(
                check_url(&url(bad), &deny).is_err(),
                "{bad} must be refused"
            );
        }
        for good in ["http://93.184.216.34/", "https://[2606:4700::1111]/"] {
            assert!(check_url(&url(good), &deny).is_ok(), "{good} must pass");
        }
        assert!(check_url(&url("file:///etc/passwd"), &deny).is_err());
        assert!(check_url(&url("ftp://93.184.216.34/"), &deny).is_err());
    }

    #[test]
    fn loopback_permission_does_not_open_private_ranges() {
        let loopback = Allow::for_url("http://127.0.0.1:9/feed", true, false);
        assert!(check_url(&url("http://127.0.0.1:9/"), &loopback).is_ok());
        assert!(check_url(&url("http://10.0.0.1/"), &loopback).is_err());
        let private = Allow::for_url("http://127.0.0.1:9/feed", false, true);
        assert!(check_url(&url("http://10.0.0.1/"), &private).is_ok());
    }

    #[test]
    fn loopback_is_allowed_on_the_own_port_only() {
        let own = Allow::for_url("http://127.0.0.1:8080/feed.xml", true, false);
        for good in [
            "http://127.0.0.1:8080/media/a.mp4",
            "http://[::1]:8080/",
            "http://127.0.0.2:8080/",
        ] {
            assert!(check_url(&url(good), &own).is_ok(), "{good} must pass");
        }
        for other in [
            "http://127.0.0.1:5432/",
            "http://127.0.0.1/",
            "http://[::1]:6379/",
            "http://[::ffff:127.0.0.1]:22/",
            "http://0.0.0.0:8080/",
            "http://2130706433:9000/",
            "http://0x7f000001:9000/",
        ] {
            let error = check_url(&url(other), &own).unwrap_err().to_string();
            assert!(
                error.contains("port 8080 only") || error.contains("private, loopback"),
                "{other}: {error}"
            );
        }
        // A source named by a host name: the same name on another port is
        // refused here, other names resolving to loopback by the resolver.
        let named = Allow::for_url("http://localhost:8080/feed.xml", true, false);
        assert!(check_url(&url("http://localhost:8080/a"), &named).is_ok());
        assert!(check_url(&url("http://LOCALHOST:9000/a"), &named).is_err());
        assert!(named.permits_name("localhost", "127.0.0.1".parse().unwrap()));
        assert!(!named.permits_name("evil.example", "127.0.0.1".parse().unwrap()));
        // allow_private opens every port.
        let private = Allow::for_url("http://127.0.0.1:8080/", false, true);
        assert!(check_url(&url("http://127.0.0.1:5432/"), &private).is_ok());
    }

    #[tokio::test]
    async fn names_resolving_to_loopback_are_refused() {
        let error = resolve_checked("localhost", &Allow::default())
            .await
            .unwrap_err();
        assert!(matches!(error, ResolveError::Refused(_)), "{error}");
        assert!(error.to_string().contains("localhost"), "{error}");
        let loopback = Allow::for_url("http://localhost:8080/", true, false);
        assert!(resolve_checked("localhost", &loopback).await.is_ok());
        let elsewhere = Allow::for_url("http://127.0.0.1:8080/", true, false);
        assert!(resolve_checked("localhost", &elsewhere).await.is_err());
    }
}
