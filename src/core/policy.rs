//! The IAM policy returned to API Gateway for a decision.
//!
//! API Gateway caches the policy per identity source (key and source IP) and reuses it for
//! every route of the API. So an Allow grants every route the key may use on this API and
//! stage, not only the route in hand, and a refused route keeps those grants and adds an
//! explicit Deny for itself, so a cached answer is right for every later route.

use crate::core::key_record::{KeyRecord, Routes};
use crate::core::method_arn::MethodArn;
use crate::core::reason::{Outcome, Reason};
use crate::core::route::RoutePattern;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policy {
    pub allow: Vec<String>,
    pub deny: Vec<String>,
}

/// The policy for a key whose record was found. `reason` must be an Allow or Deny outcome.
pub fn policy_for(record: &KeyRecord, arn: &MethodArn, reason: Reason) -> Policy {
    debug_assert!(matches!(reason.outcome(), Outcome::Allow | Outcome::Deny));
    match reason {
        Reason::Allowed => Policy {
            allow: granted_resources(record, arn),
            deny: Vec::new(),
        },
        Reason::RouteNotAllowed => Policy {
            allow: granted_resources(record, arn),
            deny: vec![arn.resource()],
        },
        _ => deny_stage(arn),
    }
}

/// Deny every route of the stage: for refusals that do not depend on the route.
pub fn deny_stage(arn: &MethodArn) -> Policy {
    Policy {
        allow: Vec::new(),
        deny: vec![arn.resource_for(&RoutePattern::all_routes())],
    }
}

fn granted_resources(record: &KeyRecord, arn: &MethodArn) -> Vec<String> {
    match &record.routes {
        Routes::All => vec![arn.resource_for(&RoutePattern::all_routes())],
        Routes::Only(patterns) => {
            let mut resources: Vec<String> = patterns.iter().map(|p| arn.resource_for(p)).collect();
            resources.sort();
            resources.dedup();
            resources
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::test_support::record;

    const PREFIX: &str = "arn:aws:execute-api:us-east-1:123456789012:api1/prod/";

    fn arn(tail: &str) -> MethodArn {
        MethodArn::parse(&format!("{PREFIX}{tail}")).unwrap()
    }

    #[test]
    fn allow_covers_every_route_of_the_key_not_only_the_current_one() {
        let policy = policy_for(&record(), &arn("GET/pets/1"), Reason::Allowed);
        assert_eq!(
            policy.allow,
            vec![
                format!("{PREFIX}GET/pets"),
                format!("{PREFIX}GET/pets/*"),
                format!("{PREFIX}POST/orders")
            ]
        );
        assert!(policy.deny.is_empty());
    }

    #[test]
    fn allow_for_a_key_without_routes_is_the_whole_stage_and_nothing_else() {
        let mut r = record();
        r.routes = Routes::All;
        let policy = policy_for(&r, &arn("GET/pets/1"), Reason::Allowed);
        assert_eq!(policy.allow, vec![format!("{PREFIX}*")]);
    }

    #[test]
    fn refused_route_keeps_the_grants_and_denies_itself() {
        let policy = policy_for(&record(), &arn("DELETE/pets/1"), Reason::RouteNotAllowed);
        assert_eq!(policy.allow.len(), 3);
        assert_eq!(policy.deny, vec![format!("{PREFIX}DELETE/pets/1")]);
    }

    #[test]
    fn other_refusals_deny_the_whole_stage() {
        for reason in [
            Reason::SourceIpNotAllowed,
            Reason::KeyRevoked,
            Reason::KeyExpired,
            Reason::SourceIpInvalid,
        ] {
            let policy = policy_for(&record(), &arn("GET/pets/1"), reason);
            assert!(policy.allow.is_empty());
            assert_eq!(policy.deny, vec![format!("{PREFIX}*")]);
        }
    }
}
