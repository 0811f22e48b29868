//! The caller's address, parsed strictly from what API Gateway reports.
//!
//! Anything that is not a plain IPv4 or IPv6 address is refused: the console's
//! `test-invoke-source-ip`, `ip:port`, bracketed or zoned IPv6, octets with leading zeros. An
//! IPv4-mapped IPv6 address becomes the IPv4 address it carries, so IPv4 CIDRs match it.

use std::net::IpAddr;

/// Longest textual IPv6 address (with an embedded IPv4 tail) is 45 characters.
const MAX_ADDRESS_LEN: usize = 45;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceIpError {
    #[error("the event carries no source IP")]
    Missing,
    #[error("the source IP is not a plain IPv4 or IPv6 address")]
    NotAnAddress,
    #[error("X-Forwarded-For has fewer entries than the {0} trusted proxy hops configured")]
    TooFewForwardedHops(u8),
}

/// Parses one address. Rust's parser already refuses leading zeros, ports, brackets and zone
/// ids; the length check keeps hostile input cheap.
pub fn parse_address(raw: &str) -> Result<IpAddr, SourceIpError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(SourceIpError::Missing);
    }
    if trimmed.len() > MAX_ADDRESS_LEN {
        return Err(SourceIpError::NotAnAddress);
    }
    trimmed
        .parse::<IpAddr>()
        .map(|ip| ip.to_canonical())
        .map_err(|_| SourceIpError::NotAnAddress)
}

/// The client address: the request context's source IP, or, when `trusted_hops` proxies that
/// the operator controls sit in front of API Gateway, the address the outermost of them saw.
///
/// Each trusted proxy appends the address it saw to `X-Forwarded-For`, and the request
/// context holds the last proxy. The chain is the header's entries followed by the context
/// address (unless the header already ends with it); the client is `trusted_hops` entries from
/// the right. Entries further left were written by the client and are never used.
pub fn client_address(
    context_source_ip: &str,
    forwarded_for: Option<&str>,
    trusted_hops: u8,
) -> Result<IpAddr, SourceIpError> {
    let peer = parse_address(context_source_ip)?;
    if trusted_hops == 0 {
        return Ok(peer);
    }
    let mut entries: Vec<&str> = forwarded_for
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let header_ends_with_peer = entries
        .last()
        .is_some_and(|last| parse_address(last).ok() == Some(peer));
    if header_ends_with_peer {
        entries.pop();
    }
    let hops = usize::from(trusted_hops);
    if entries.len() < hops {
        return Err(SourceIpError::TooFewForwardedHops(trusted_hops));
    }
    parse_address(entries[entries.len() - hops])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(a, b, c, d))
    }

    #[test]
    fn plain_ipv4_and_ipv6_parse() {
        assert_eq!(parse_address("203.0.113.7"), Ok(v4(203, 0, 113, 7)));
        assert_eq!(
            parse_address("2001:db8::1"),
            Ok(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)))
        );
    }

    #[test]
    fn ipv4_mapped_ipv6_becomes_ipv4() {
        assert_eq!(parse_address("::ffff:203.0.113.7"), Ok(v4(203, 0, 113, 7)));
        assert_eq!(parse_address("::FFFF:cb00:7107"), Ok(v4(203, 0, 113, 7)));
    }

    #[test]
    fn values_that_are_not_plain_addresses_are_refused() {
        for bad in [
            "test-invoke-source-ip",
            "1.2.3.4:5678",
            "[2001:db8::1]",
            "[2001:db8::1]:443",
            "fe80::1%eth0",
            "010.0.0.1",
            "1.2.3.04",
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "1.2.3.4/32",
            "...",
            &"1".repeat(100),
        ] {
            assert_eq!(
                parse_address(bad),
                Err(SourceIpError::NotAnAddress),
                "{bad}"
            );
        }
    }

    #[test]
    fn empty_source_ip_is_missing() {
        assert_eq!(parse_address(""), Err(SourceIpError::Missing));
        assert_eq!(parse_address("   "), Err(SourceIpError::Missing));
    }

    #[test]
    fn without_trusted_hops_forwarded_for_is_ignored() {
        let ip = client_address("198.51.100.1", Some("203.0.113.7"), 0);
        assert_eq!(ip, Ok(v4(198, 51, 100, 1)));
    }

    #[test]
    fn one_trusted_hop_takes_the_entry_the_proxy_appended() {
        // The client sent a forged first entry; the proxy appended the real client.
        let xff = "10.9.9.9, 203.0.113.7";
        assert_eq!(
            client_address("198.51.100.1", Some(xff), 1),
            Ok(v4(203, 0, 113, 7))
        );
    }

    #[test]
    fn a_header_ending_with_the_context_address_is_not_counted_twice() {
        let xff = "10.9.9.9, 203.0.113.7, 198.51.100.1";
        assert_eq!(
            client_address("198.51.100.1", Some(xff), 1),
            Ok(v4(203, 0, 113, 7))
        );
    }

    #[test]
    fn two_trusted_hops_skip_two_proxies() {
        let xff = "10.9.9.9, 203.0.113.7, 192.0.2.50";
        assert_eq!(
            client_address("198.51.100.1", Some(xff), 2),
            Ok(v4(203, 0, 113, 7))
        );
    }

    #[test]
    fn too_few_forwarded_entries_is_an_error_not_a_fallback() {
        assert_eq!(
            client_address("198.51.100.1", None, 1),
            Err(SourceIpError::TooFewForwardedHops(1))
        );
        assert_eq!(
            client_address("198.51.100.1", Some("203.0.113.7"), 2),
            Err(SourceIpError::TooFewForwardedHops(2))
        );
    }

    #[test]
    fn a_garbage_forwarded_entry_is_refused() {
        let ip = client_address("198.51.100.1", Some("unknown"), 1);
        assert_eq!(ip, Err(SourceIpError::NotAnAddress));
    }

    #[test]
    fn a_bad_context_address_is_refused_even_with_a_good_header() {
        let ip = client_address("test-invoke-source-ip", Some("203.0.113.7"), 1);
        assert_eq!(ip, Err(SourceIpError::NotAnAddress));
    }
}
