//! Property tests of the pure core, each against an independent, naive reference.

use ipnet::IpNet;
use keyfence::core::api_key::{ApiKey, KeyHash};
use keyfence::core::cidr_set::{Cidr, CidrSet};
use keyfence::core::decision::{AccessRequest, decide};
use keyfence::core::key_record::{KeyRecord, KeyStatus, Routes};
use keyfence::core::method_arn::MethodArn;
use keyfence::core::reason::Reason;
use keyfence::core::route::RoutePattern;
use keyfence::core::source_ip::SourceIpError;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

fn ipv4() -> impl Strategy<Value = IpAddr> {
    // Few distinct high octets, so addresses often fall inside generated prefixes.
    (0u32..4, any::<u32>())
        .prop_map(|(hi, rest)| IpAddr::V4(Ipv4Addr::from((hi << 30) | (rest >> 2))))
}

fn ipv6() -> impl Strategy<Value = IpAddr> {
    (0u128..4, any::<u128>())
        .prop_map(|(hi, rest)| IpAddr::V6(Ipv6Addr::from((hi << 126) | (rest >> 2))))
}

fn address() -> impl Strategy<Value = IpAddr> {
    prop_oneof![ipv4(), ipv6()]
}

fn prefix() -> impl Strategy<Value = IpNet> {
    prop_oneof![
        (ipv4(), 0u8..=32).prop_map(|(a, l)| IpNet::new(a, l).unwrap().trunc()),
        (ipv6(), 0u8..=128).prop_map(|(a, l)| IpNet::new(a, l).unwrap().trunc()),
    ]
}

fn cidrs(max: usize) -> impl Strategy<Value = Vec<IpNet>> {
    prop::collection::vec(prefix(), 0..max)
}

/// Route patterns over a small alphabet, so they often match the generated requests.
fn pattern_text() -> impl Strategy<Value = String> {
    let method = prop_oneof![Just("GET"), Just("POST"), Just("ANY")];
    let segment = prop_oneof![Just("a"), Just("b"), Just("*"), Just("a*"), Just("")];
    (method, prop::collection::vec(segment, 1..4))
        .prop_map(|(m, segs)| format!("{m} /{}", segs.join("/")))
}

fn request_tail() -> impl Strategy<Value = String> {
    let method = prop_oneof![Just("GET"), Just("POST"), Just("DELETE")];
    let segment = prop_oneof![Just("a"), Just("b"), Just("ab"), Just("")];
    (method, prop::collection::vec(segment, 1..4))
        .prop_map(|(m, segs)| format!("{m}/{}", segs.join("/")))
}

/// IAM wildcard matching, written as plainly as possible.
fn naive_glob(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|i| naive_glob(rest, &text[i..])),
        Some((c, rest)) => text.first() == Some(c) && naive_glob(rest, &text[1..]),
    }
}

fn naive_contains(nets: &[IpNet], ip: IpAddr) -> bool {
    nets.iter().any(|n| n.contains(&ip))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn cidr_set_agrees_with_a_linear_scan(nets in cidrs(40), probes in prop::collection::vec(address(), 1..40)) {
        let set = CidrSet::new(nets.iter().map(|n| n.to_string().parse::<Cidr>().unwrap()));
        for ip in probes {
            prop_assert_eq!(set.contains(ip), naive_contains(&nets, ip), "{}", ip);
        }
    }

    #[test]
    fn cidr_text_round_trips(net in prefix()) {
        let cidr: Cidr = net.to_string().parse().unwrap();
        prop_assert_eq!(cidr.to_string().parse::<Cidr>().unwrap(), cidr);
        prop_assert_eq!(cidr.net(), net);
    }

    #[test]
    fn route_pattern_text_round_trips(text in pattern_text()) {
        let pattern: RoutePattern = text.parse().unwrap();
        prop_assert_eq!(pattern.to_string().parse::<RoutePattern>().unwrap(), pattern);
    }

    #[test]
    fn issued_keys_round_trip_and_single_typos_are_caught(id in "[a-z2-7]{10}", secret in "[a-z2-7]{26}", at in 0usize..46, with in "[a-z2-7]") {
        let key = ApiKey::issued(&id, &secret).unwrap();
        prop_assert_eq!(ApiKey::parse(key.expose()).unwrap(), key.clone());
        prop_assert_eq!(KeyHash::from_hex(&key.hash().to_hex()), Some(key.hash()));
        let mut typo: Vec<u8> = key.expose().as_bytes().to_vec();
        prop_assume!(at >= 3 && at != 13 && typo[at] != with.as_bytes()[0]);
        typo[at] = with.as_bytes()[0];
        // A changed character is caught by the checksum, except with odds of 1 in 2^30.
        prop_assert!(ApiKey::parse(std::str::from_utf8(&typo).unwrap()).is_err());
    }

    #[test]
    fn allow_only_when_every_condition_holds(
        revoked in any::<bool>(),
        not_before in prop::option::of(-5i64..5),
        expires_at in prop::option::of(-5i64..5),
        nets in cidrs(6),
        deny in cidrs(3),
        routes in prop::option::of(prop::collection::vec(pattern_text(), 1..4)),
        ip in prop::option::of(address()),
        tail in request_tail(),
    ) {
        let now = 1_800_000_000;
        let record = KeyRecord {
            key_id: "k".parse().unwrap(),
            principal: "p".parse().unwrap(),
            status: if revoked { KeyStatus::Revoked } else { KeyStatus::Active },
            cidrs: CidrSet::new(nets.iter().map(|n| n.to_string().parse::<Cidr>().unwrap())),
            routes: match &routes {
                None => Routes::All,
                Some(texts) => Routes::only(texts.iter().map(|t| t.parse().unwrap()).collect()),
            },
            not_before: not_before.map(|d| now + d),
            expires_at: expires_at.map(|d| now + d),
            usage_key: None,
            context: BTreeMap::new(),
            description: None,
        };
        let arn = MethodArn::parse(&format!("arn:aws:execute-api:us-east-1:123456789012:api/prod/{tail}")).unwrap();
        let deny_set = CidrSet::new(deny.iter().map(|n| n.to_string().parse::<Cidr>().unwrap()));
        let request = AccessRequest {
            client_ip: ip.ok_or(SourceIpError::NotAnAddress),
            target: Some(arn.target()),
            now,
        };
        let reason = decide(&record, &request, &deny_set);

        let route_ok = match &routes {
            None => true,
            Some(texts) => texts.iter().any(|t| {
                let pattern: RoutePattern = t.parse().unwrap();
                naive_glob(pattern.arn_tail().as_bytes(), tail.as_bytes())
            }),
        };
        let every_condition = !revoked
            && not_before.is_none_or(|d| d <= 0)
            && expires_at.is_none_or(|d| d > 0)
            && ip.is_some_and(|ip| !naive_contains(&deny, ip) && naive_contains(&nets, ip))
            && route_ok;
        prop_assert_eq!(reason == Reason::Allowed, every_condition, "{:?}", reason);
    }
}
