//! The authorization decision for a known key: a pure function of the key's record, the
//! request and the clock. No I/O, no raw strings.

use crate::core::cidr_set::CidrSet;
use crate::core::key_record::{KeyRecord, KeyStatus, Routes, UnixSeconds};
use crate::core::reason::Reason;
use crate::core::route::RouteTarget;
use crate::core::source_ip::SourceIpError;
use std::net::IpAddr;

/// What is known about the request once its key has been found.
#[derive(Debug, Clone)]
pub struct AccessRequest<'a> {
    /// The client address, or why none could be trusted.
    pub client_ip: Result<IpAddr, SourceIpError>,
    /// The route asked for; `None` checks the key and address only (the CLI's `check`
    /// without `--route`). The authorizer always has one.
    pub target: Option<&'a RouteTarget>,
    pub now: UnixSeconds,
}

/// Allow only when every condition holds; otherwise the first failing condition's reason.
/// Key-level checks come first so a revoked key reads as revoked from any address.
pub fn decide(record: &KeyRecord, request: &AccessRequest<'_>, deny_list: &CidrSet) -> Reason {
    if record.status == KeyStatus::Revoked {
        return Reason::KeyRevoked;
    }
    if record.not_before.is_some_and(|t| request.now < t) {
        return Reason::KeyNotYetValid;
    }
    if record.expires_at.is_some_and(|t| request.now >= t) {
        return Reason::KeyExpired;
    }
    let Ok(ip) = request.client_ip else {
        return Reason::SourceIpInvalid;
    };
    if deny_list.contains(ip) {
        return Reason::SourceIpDenylisted;
    }
    if !record.cidrs.contains(ip) {
        return Reason::SourceIpNotAllowed;
    }
    if request
        .target
        .is_some_and(|target| !route_allowed(&record.routes, target))
    {
        return Reason::RouteNotAllowed;
    }
    Reason::Allowed
}

pub fn route_allowed(routes: &Routes, target: &RouteTarget) -> bool {
    match routes {
        Routes::All => true,
        Routes::Only(patterns) => patterns.iter().any(|p| p.matches(target)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::method_arn::MethodArn;
    use crate::core::test_support::record;

    const NOW: UnixSeconds = 1_800_000_000;

    fn arn(tail: &str) -> MethodArn {
        MethodArn::parse(&format!(
            "arn:aws:execute-api:us-east-1:123456789012:api1/prod/{tail}"
        ))
        .unwrap()
    }

    fn decide_for(record: &KeyRecord, ip: &str, tail: &str, deny: &[&str]) -> Reason {
        let arn = arn(tail);
        let request = AccessRequest {
            client_ip: crate::core::source_ip::parse_address(ip),
            target: Some(arn.target()),
            now: NOW,
        };
        decide(
            record,
            &request,
            &CidrSet::parse_all(deny.iter().copied()).unwrap(),
        )
    }

    #[test]
    fn active_key_from_allowed_ip_on_allowed_route_is_allowed() {
        assert_eq!(
            decide_for(&record(), "203.0.113.7", "GET/pets/1", &[]),
            Reason::Allowed
        );
    }

    #[test]
    fn ipv6_and_mapped_addresses_are_checked_against_their_family() {
        let r = record();
        assert_eq!(
            decide_for(&r, "2001:db8::5", "GET/pets/1", &[]),
            Reason::Allowed
        );
        assert_eq!(
            decide_for(&r, "::ffff:203.0.113.7", "GET/pets/1", &[]),
            Reason::Allowed
        );
        assert_eq!(
            decide_for(&r, "2001:db9::5", "GET/pets/1", &[]),
            Reason::SourceIpNotAllowed
        );
    }

    #[test]
    fn ip_outside_every_cidr_is_denied() {
        assert_eq!(
            decide_for(&record(), "198.51.100.1", "GET/pets/1", &[]),
            Reason::SourceIpNotAllowed
        );
    }

    #[test]
    fn unparseable_ip_is_denied_as_invalid() {
        let r = record();
        let arn = arn("GET/pets/1");
        for err in [
            SourceIpError::Missing,
            SourceIpError::NotAnAddress,
            SourceIpError::TooFewForwardedHops(1),
        ] {
            let request = AccessRequest {
                client_ip: Err(err),
                target: Some(arn.target()),
                now: NOW,
            };
            assert_eq!(
                decide(&r, &request, &CidrSet::default()),
                Reason::SourceIpInvalid
            );
        }
    }

    #[test]
    fn deny_list_wins_over_the_keys_cidrs() {
        assert_eq!(
            decide_for(&record(), "203.0.113.7", "GET/pets/1", &["203.0.113.0/28"]),
            Reason::SourceIpDenylisted
        );
        assert_eq!(
            decide_for(
                &record(),
                "203.0.113.200",
                "GET/pets/1",
                &["203.0.113.0/28"]
            ),
            Reason::Allowed
        );
    }

    #[test]
    fn route_outside_the_keys_routes_is_denied() {
        assert_eq!(
            decide_for(&record(), "203.0.113.7", "DELETE/pets/1", &[]),
            Reason::RouteNotAllowed
        );
        assert_eq!(
            decide_for(&record(), "203.0.113.7", "GET/admin", &[]),
            Reason::RouteNotAllowed
        );
    }

    #[test]
    fn absent_routes_mean_every_route() {
        let mut r = record();
        r.routes = Routes::All;
        assert_eq!(
            decide_for(&r, "203.0.113.7", "DELETE/anything", &[]),
            Reason::Allowed
        );
        assert_eq!(
            decide_for(&r, "203.0.113.7", "$connect", &[]),
            Reason::Allowed
        );
    }

    #[test]
    fn revoked_key_is_denied_even_from_an_allowed_ip() {
        let mut r = record();
        r.status = KeyStatus::Revoked;
        assert_eq!(
            decide_for(&r, "203.0.113.7", "GET/pets/1", &[]),
            Reason::KeyRevoked
        );
        assert_eq!(
            decide_for(&r, "not-an-ip", "GET/pets/1", &[]),
            Reason::KeyRevoked
        );
    }

    #[test]
    fn validity_window_is_half_open() {
        let mut r = record();
        r.not_before = Some(NOW + 1);
        assert_eq!(
            decide_for(&r, "203.0.113.7", "GET/pets/1", &[]),
            Reason::KeyNotYetValid
        );
        r.not_before = Some(NOW);
        assert_eq!(
            decide_for(&r, "203.0.113.7", "GET/pets/1", &[]),
            Reason::Allowed
        );
        r.expires_at = Some(NOW);
        assert_eq!(
            decide_for(&r, "203.0.113.7", "GET/pets/1", &[]),
            Reason::KeyExpired
        );
        r.expires_at = Some(NOW + 1);
        assert_eq!(
            decide_for(&r, "203.0.113.7", "GET/pets/1", &[]),
            Reason::Allowed
        );
    }

    #[test]
    fn without_a_target_the_route_is_not_checked() {
        let request = AccessRequest {
            client_ip: crate::core::source_ip::parse_address("203.0.113.7"),
            target: None,
            now: NOW,
        };
        assert_eq!(
            decide(&record(), &request, &CidrSet::default()),
            Reason::Allowed
        );
    }

    #[test]
    fn a_key_with_no_cidrs_is_allowed_from_nowhere() {
        let mut r = record();
        r.cidrs = CidrSet::default();
        assert_eq!(
            decide_for(&r, "203.0.113.7", "GET/pets/1", &[]),
            Reason::SourceIpNotAllowed
        );
    }
}
