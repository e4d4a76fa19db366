//! ICE servers for the peer connections, with STUN hosts resolved up front.
//!
//! The WebRTC engine looks up every STUN host one after the other before it
//! releases any candidate, so one slow or missing resolver (an offline
//! machine, a dev server that hands out public STUN hosts) stalls the join
//! by the resolver's whole timeout. Resolving them here, all at once and
//! with a short deadline, bounds that cost; hosts that do not resolve in
//! time are left out, which only costs the server-reflexive candidates they
//! would have given.

use std::time::Duration;

use tokio::task::JoinSet;

use crate::transport::IceServer;

/// How long STUN host lookups may take, all together.
const RESOLVE_TIMEOUT: Duration = Duration::from_millis(500);

/// The default STUN port (RFC 5389).
const STUN_PORT: u16 = 3478;

/// `host` and `port` of a `stun:` URL; `None` for other schemes.
fn stun_host(url: &str) -> Option<(String, u16)> {
    let rest = url.strip_prefix("stun:")?;
    let rest = rest.split('?').next().unwrap_or(rest);
    if let Some(v6) = rest.strip_prefix('[') {
        let (host, tail) = v6.split_once(']')?;
        let port = tail
            .strip_prefix(':')
            .map_or(Some(STUN_PORT), |p| p.parse().ok())?;
        return Some((host.to_owned(), port));
    }
    match rest.rsplit_once(':') {
        Some((host, port)) => Some((host.to_owned(), port.parse().ok()?)),
        None => Some((rest.to_owned(), STUN_PORT)),
    }
}

/// Replace STUN host names by the addresses they resolve to; drop the ones
/// that do not resolve within [`RESOLVE_TIMEOUT`]. TURN URLs are kept as
/// they are: a relay may be the only path, so the engine gets to try it.
pub(crate) async fn resolve_stun(servers: Vec<IceServer>) -> Vec<IceServer> {
    let mut lookups = JoinSet::new();
    for (server_index, server) in servers.iter().enumerate() {
        for (url_index, url) in server.urls.iter().enumerate() {
            let Some((host, port)) = stun_host(url) else {
                continue;
            };
            lookups.spawn(async move {
                let found = tokio::net::lookup_host((host.as_str(), port)).await;
                let addr = found.ok().and_then(|mut addrs| addrs.next());
                (server_index, url_index, addr)
            });
        }
    }
    let mut resolved = std::collections::HashMap::new();
    let deadline = tokio::time::Instant::now() + RESOLVE_TIMEOUT;
    while let Ok(Some(done)) = tokio::time::timeout_at(deadline, lookups.join_next()).await {
        if let Ok((server_index, url_index, Some(addr))) = done {
            resolved.insert((server_index, url_index), addr);
        }
    }
    lookups.abort_all();
    servers
        .into_iter()
        .enumerate()
        .filter_map(|(server_index, mut server)| {
            server.urls = server
                .urls
                .iter()
                .enumerate()
                .filter_map(|(url_index, url)| {
                    if stun_host(url).is_none() {
                        return Some(url.clone());
                    }
                    let addr = resolved.get(&(server_index, url_index))?;
                    Some(format!("stun:{addr}"))
                })
                .collect();
            (!server.urls.is_empty()).then_some(server)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stun_urls_parse() {
        assert_eq!(
            stun_host("stun:stun.example.org:19302"),
            Some(("stun.example.org".into(), 19302))
        );
        assert_eq!(stun_host("stun:10.0.0.1"), Some(("10.0.0.1".into(), 3478)));
        assert_eq!(stun_host("stun:[::1]:5000"), Some(("::1".into(), 5000)));
        assert_eq!(stun_host("turn:relay.example.org:3478?transport=udp"), None);
        assert_eq!(stun_host("stun:host:notaport"), None);
    }

    #[tokio::test]
    async fn literals_stay_unresolvable_hosts_go_turn_is_kept() {
        let servers = vec![
            IceServer {
                urls: vec![
                    "stun:127.0.0.1:3478".into(),
                    "stun:no-such-host.invalid:3478".into(),
                ],
                ..Default::default()
            },
            IceServer {
                urls: vec!["stun:also-missing.invalid".into()],
                ..Default::default()
            },
            IceServer {
                urls: vec!["turn:relay.invalid:3478?transport=udp".into()],
                username: "u".into(),
                credential: "p".into(),
            },
        ];
        let out = resolve_stun(servers).await;
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].urls, vec!["stun:127.0.0.1:3478".to_string()]);
        assert_eq!(
            out[1].urls,
            vec!["turn:relay.invalid:3478?transport=udp".to_string()]
        );
    }
}
