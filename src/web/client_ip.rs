//! The client's IP address: the socket peer, or the `X-Forwarded-For`
//! hop a trusted proxy reports. A header from anyone else is ignored, so a
//! client cannot pick its own address.

use std::net::IpAddr;

use actix_web::HttpRequest;
use ipnet::IpNet;

/// Walks `X-Forwarded-For` from the right while the hops are trusted
/// proxies; the first untrusted hop is the client.
pub fn client_ip(req: &HttpRequest, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    resolve(peer, req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok()), trusted)
}

fn resolve(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpNet]) -> Option<IpAddr> {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let Some(header) = forwarded_for else {
        return Some(peer);
    };
    let mut client = peer;
    for hop in header.rsplit(',') {
        let Ok(ip) = hop.trim().parse::<IpAddr>() else {
            // A malformed hop: stop at the last address we could trust.
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    Some(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(s: &[&str]) -> Vec<IpNet> {
        s.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn header_from_untrusted_peer_is_ignored() {
        let peer: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(resolve(peer, Some("1.2.3.4"), &nets(&["10.0.0.0/8"])), Some(peer));
    }

    #[test]
    fn trusted_proxy_reports_the_client() {
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        let got = resolve(peer, Some("198.51.100.7, 10.0.0.5"), &nets(&["10.0.0.0/8"]));
        assert_eq!(got, Some("198.51.100.7".parse().unwrap()));
    }

    #[test]
    fn spoofed_leftmost_hop_is_not_believed() {
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        // The client sent "X-Forwarded-For: 1.1.1.1"; the proxy appended the real address.
        let got = resolve(peer, Some("1.1.1.1, 198.51.100.7"), &nets(&["10.0.0.0/8"]));
        assert_eq!(got, Some("198.51.100.7".parse().unwrap()));
    }
}
