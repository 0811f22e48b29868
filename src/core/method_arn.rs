//! The execute-api ARN API Gateway sends (`methodArn` or `routeArn`), split into the API and
//! stage it names and the route it targets.

use crate::core::route::{RoutePattern, RouteTarget};

/// API Gateway's own limit on a method ARN.
const MAX_ARN_LEN: usize = 1600;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the method ARN is not arn:PARTITION:execute-api:REGION:ACCOUNT:API/STAGE/ROUTE ({reason})"
)]
pub struct MethodArnError {
    reason: &'static str,
}

fn invalid(reason: &'static str) -> MethodArnError {
    MethodArnError { reason }
}

/// `arn:aws:execute-api:us-east-1:123456789012:a1b2c3/prod/GET/pets/42`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodArn {
    /// Everything up to and including `STAGE/`: the prefix of every Resource for this stage.
    stage_prefix: String,
    target: RouteTarget,
}

impl MethodArn {
    pub fn parse(raw: &str) -> Result<Self, MethodArnError> {
        if raw.len() > MAX_ARN_LEN {
            return Err(invalid("longer than 1600 bytes"));
        }
        let mut fields = raw.splitn(6, ':');
        let (
            Some("arn"),
            Some(partition),
            Some("execute-api"),
            Some(region),
            Some(account),
            Some(resource),
        ) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        )
        else {
            return Err(invalid("wrong prefix or field count"));
        };
        let simple =
            |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !simple(partition) || !simple(region) {
            return Err(invalid("bad partition or region"));
        }
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("the account is not 12 digits"));
        }
        let mut parts = resource.splitn(3, '/');
        let (Some(api_id), Some(stage), Some(tail)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid("no API id, stage and route"));
        };
        if !simple(api_id) {
            return Err(invalid("bad API id"));
        }
        let stage_ok = !stage.is_empty()
            && stage
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'$'));
        if !stage_ok {
            return Err(invalid("bad stage"));
        }
        if tail.is_empty() || tail.contains('*') || !tail.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid("bad route"));
        }
        let stage_prefix_len = raw.len() - tail.len();
        Ok(Self {
            stage_prefix: raw[..stage_prefix_len].to_owned(),
            target: RouteTarget::from_arn_tail(tail),
        })
    }

    pub fn target(&self) -> &RouteTarget {
        &self.target
    }

    /// The policy Resource that grants `pattern` on this API and stage.
    pub fn resource_for(&self, pattern: &RoutePattern) -> String {
        format!("{}{}", self.stage_prefix, pattern.arn_tail())
    }

    /// The Resource of exactly the route in hand.
    pub fn resource(&self) -> String {
        format!("{}{}", self.stage_prefix, self.target.arn_tail())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REST: &str = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/pets/42";

    #[test]
    fn rest_arn_splits_into_stage_and_route() {
        let arn = MethodArn::parse(REST).unwrap();
        assert_eq!(arn.target().arn_tail(), "GET/pets/42");
        assert_eq!(arn.resource(), REST);
        let all = RoutePattern::all_routes();
        assert_eq!(
            arn.resource_for(&all),
            "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/*"
        );
    }

    #[test]
    fn websocket_and_default_stage_arns_parse() {
        let ws =
            MethodArn::parse("arn:aws:execute-api:eu-west-1:123456789012:abcdef123/test/$connect")
                .unwrap();
        assert_eq!(ws.target().arn_tail(), "$connect");
        let http =
            MethodArn::parse("arn:aws:execute-api:us-east-1:123456789012:abcdef123/$default/GET/")
                .unwrap();
        assert_eq!(http.target().arn_tail(), "GET/");
    }

    #[test]
    fn other_partitions_are_kept() {
        let arn = MethodArn::parse("arn:aws-cn:execute-api:cn-north-1:123456789012:abc/prod/GET/x")
            .unwrap();
        assert!(
            arn.resource_for(&RoutePattern::all_routes())
                .starts_with("arn:aws-cn:")
        );
    }

    #[test]
    fn malformed_arns_are_refused() {
        for bad in [
            "",
            "arn:aws:lambda:us-east-1:123456789012:function:x",
            "arn:aws:execute-api:us-east-1:12345:abc/prod/GET/x",
            "arn:aws:execute-api:us-east-1:123456789012:abc/prod",
            "arn:aws:execute-api:us-east-1:123456789012:abc/prod/",
            "arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/*",
            "arn:aws:execute-api:us-east-1:123456789012:a*c/prod/GET/x",
            "arn:aws:execute-api:us-east-1:123456789012:abc/pr*d/GET/x",
            "arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/a b",
            "arn:aws:execute-api::123456789012:abc/prod/GET/x",
        ] {
            assert!(MethodArn::parse(bad).is_err(), "{bad}");
        }
        let long = format!("{REST}{}", "a".repeat(1600));
        assert!(MethodArn::parse(&long).is_err());
    }
}
