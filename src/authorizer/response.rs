//! The answer to API Gateway, in the form the event's shape expects.
//!
//! REST and WebSocket get an IAM policy with `usageIdentifierKey` when the key has a usage-plan
//! key (and no such field otherwise: no `null`s). HTTP APIs get the IAM form without it, or the
//! simple `isAuthorized` form when configured.
//!
//! The response keeps the record and serializes straight from it, so building one costs only
//! the policy; the policy document itself is aws_lambda_events's type.

use crate::authorizer::event::EventShape;
use crate::config::HttpApiResponse;
use crate::core::key_record::KeyRecord;
use crate::core::policy::Policy;
use crate::core::reason::Reason;
use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerPolicy;
use aws_lambda_events::iam::{IamPolicyEffect, IamPolicyStatement};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use std::sync::Arc;

const POLICY_VERSION: &str = "2012-10-17";
const INVOKE: &str = "execute-api:Invoke";

#[derive(Debug)]
pub struct AuthorizerResponse {
    form: Form,
    record: Arc<KeyRecord>,
    reason: Reason,
}

#[derive(Debug)]
enum Form {
    /// `principalId`, `policyDocument`, `context`, and `usageIdentifierKey` when allowed with
    /// one (REST and WebSocket only).
    Iam {
        policy: ApiGatewayCustomAuthorizerPolicy,
        offers_usage_key: bool,
    },
    /// `isAuthorized` and `context` (HTTP API payload 2.0 with simple responses).
    Simple,
}

/// Builds the response for a key whose record was found and judged.
pub fn respond(
    shape: EventShape,
    http_form: HttpApiResponse,
    record: Arc<KeyRecord>,
    reason: Reason,
    policy: Policy,
) -> AuthorizerResponse {
    let form = match (shape, http_form) {
        (EventShape::HttpV2, HttpApiResponse::Simple) => Form::Simple,
        (EventShape::HttpV2 | EventShape::HttpV1, _) => Form::Iam {
            policy: policy_document(policy),
            offers_usage_key: false,
        },
        (EventShape::Rest | EventShape::WebSocket, _) => Form::Iam {
            policy: policy_document(policy),
            offers_usage_key: true,
        },
    };
    AuthorizerResponse {
        form,
        record,
        reason,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IamForm<'a> {
    principal_id: &'a str,
    policy_document: &'a ApiGatewayCustomAuthorizerPolicy,
    context: Context<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    usage_identifier_key: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SimpleForm<'a> {
    is_authorized: bool,
    context: Context<'a>,
}

impl Serialize for AuthorizerResponse {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let allowed = self.reason == Reason::Allowed;
        let context = Context {
            record: &self.record,
            reason: self.reason,
        };
        match &self.form {
            Form::Simple => SimpleForm {
                is_authorized: allowed,
                context,
            }
            .serialize(serializer),
            Form::Iam {
                policy,
                offers_usage_key,
            } => IamForm {
                principal_id: self.record.key_id.as_str(),
                policy_document: policy,
                context,
                usage_identifier_key: self
                    .record
                    .usage_key
                    .as_ref()
                    .filter(|_| allowed && *offers_usage_key)
                    .map(|k| k.expose()),
            }
            .serialize(serializer),
        }
    }
}

fn policy_document(policy: Policy) -> ApiGatewayCustomAuthorizerPolicy {
    let statement = |effect: IamPolicyEffect, resource: Vec<String>| {
        let mut statement = IamPolicyStatement::default();
        statement.action = vec![INVOKE.to_owned()];
        statement.effect = effect;
        statement.resource = resource;
        statement
    };
    let mut document = ApiGatewayCustomAuthorizerPolicy::default();
    document.version = Some(POLICY_VERSION.to_owned());
    if !policy.allow.is_empty() {
        document
            .statement
            .push(statement(IamPolicyEffect::Allow, policy.allow));
    }
    if !policy.deny.is_empty() {
        document
            .statement
            .push(statement(IamPolicyEffect::Deny, policy.deny));
    }
    document
}

/// What the backend receives as `$context.authorizer.*`: the record's own context values, the
/// key id, the principal and the reason code.
struct Context<'a> {
    record: &'a KeyRecord,
    reason: Reason,
}

impl Serialize for Context<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.record.context.len() + 3))?;
        for (name, value) in &self.record.context {
            map.serialize_entry(name.as_str(), value)?;
        }
        map.serialize_entry("keyId", self.record.key_id.as_str())?;
        map.serialize_entry("principal", self.record.principal.as_str())?;
        map.serialize_entry("reason", self.reason.code())?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::method_arn::MethodArn;
    use crate::core::policy::policy_for;
    use crate::core::test_support::record;
    use aws_lambda_events::apigw::{
        ApiGatewayCustomAuthorizerResponse, ApiGatewayV2CustomAuthorizerIamPolicyResponse,
        ApiGatewayV2CustomAuthorizerSimpleResponse,
    };
    use serde_json::{Value, json};

    const ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:api1/prod/GET/pets/1";

    fn answer(shape: EventShape, form: HttpApiResponse, reason: Reason, usage_key: bool) -> Value {
        let mut record = record();
        if usage_key {
            record.usage_key = Some("usage-plan-key-000000000001".parse().unwrap());
        }
        let policy = policy_for(&record, &MethodArn::parse(ARN).unwrap(), reason);
        serde_json::to_value(respond(shape, form, Arc::new(record), reason, policy)).unwrap()
    }

    #[test]
    fn rest_allow_is_the_documented_shape_and_the_library_reads_it() {
        let value = answer(
            EventShape::Rest,
            HttpApiResponse::Iam,
            Reason::Allowed,
            true,
        );
        assert_eq!(value["principalId"], "acme-1");
        assert_eq!(value["usageIdentifierKey"], "usage-plan-key-000000000001");
        assert_eq!(value["policyDocument"]["Version"], "2012-10-17");
        let statement = &value["policyDocument"]["Statement"][0];
        assert_eq!(statement["Action"], json!(["execute-api:Invoke"]));
        assert_eq!(statement["Effect"], "Allow");
        assert!(statement.get("Condition").is_none());
        assert_eq!(
            value["context"],
            json!({"keyId": "acme-1", "principal": "acme", "reason": "allowed"})
        );
        let parsed: ApiGatewayCustomAuthorizerResponse = serde_json::from_value(value).unwrap();
        assert_eq!(parsed.principal_id.as_deref(), Some("acme-1"));
    }

    #[test]
    fn rest_answers_carry_no_usage_key_field_unless_allowed_with_one() {
        for (reason, usage_key) in [(Reason::Allowed, false), (Reason::SourceIpNotAllowed, true)] {
            let value = answer(EventShape::Rest, HttpApiResponse::Iam, reason, usage_key);
            assert!(
                value.get("usageIdentifierKey").is_none(),
                "{reason}: {value}"
            );
        }
    }

    #[test]
    fn http_simple_form_is_is_authorized_and_context_only() {
        let value = answer(
            EventShape::HttpV2,
            HttpApiResponse::Simple,
            Reason::Allowed,
            false,
        );
        let parsed: ApiGatewayV2CustomAuthorizerSimpleResponse =
            serde_json::from_value(value).unwrap();
        assert!(parsed.is_authorized);
        let allowed = answer(
            EventShape::HttpV2,
            HttpApiResponse::Simple,
            Reason::Allowed,
            true,
        );
        assert_eq!(allowed["isAuthorized"], true);
        assert_eq!(allowed.as_object().unwrap().len(), 2);
        let denied = answer(
            EventShape::HttpV2,
            HttpApiResponse::Simple,
            Reason::KeyExpired,
            false,
        );
        assert_eq!(denied["isAuthorized"], false);
        assert_eq!(denied["context"]["reason"], "key_expired");
    }

    #[test]
    fn http_iam_form_and_payload_1_0_have_no_usage_key() {
        for shape in [EventShape::HttpV2, EventShape::HttpV1] {
            let value = answer(shape, HttpApiResponse::Iam, Reason::Allowed, true);
            assert_eq!(value["principalId"], "acme-1");
            assert!(value.get("usageIdentifierKey").is_none());
            assert!(value.get("isAuthorized").is_none());
            let parsed: ApiGatewayV2CustomAuthorizerIamPolicyResponse =
                serde_json::from_value(value).unwrap();
            assert_eq!(parsed.principal_id.as_deref(), Some("acme-1"));
        }
    }

    #[test]
    fn payload_1_0_ignores_the_simple_setting() {
        let value = answer(
            EventShape::HttpV1,
            HttpApiResponse::Simple,
            Reason::Allowed,
            false,
        );
        assert!(value.get("policyDocument").is_some());
    }
}
