//! The answer to API Gateway, in the form the event's shape expects.
//!
//! REST and WebSocket get an IAM policy with `usageIdentifierKey` when the key has a usage-plan
//! key (and no such field otherwise: no `null`s). HTTP APIs get the IAM form without it, or the
//! simple `isAuthorized` form when configured.

use crate::authorizer::event::EventShape;
use crate::config::HttpApiResponse;
use crate::core::key_record::{ContextValue, KeyRecord};
use crate::core::policy::Policy;
use crate::core::reason::Reason;
use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerPolicy, ApiGatewayV2CustomAuthorizerIamPolicyResponse,
    ApiGatewayV2CustomAuthorizerSimpleResponse,
};
use aws_lambda_events::iam::{IamPolicyEffect, IamPolicyStatement};
use serde::Serialize;
use serde_json::{Map, Value};

const POLICY_VERSION: &str = "2012-10-17";
const INVOKE: &str = "execute-api:Invoke";

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum AuthorizerResponse {
    Rest(RestResponse),
    HttpIam(ApiGatewayV2CustomAuthorizerIamPolicyResponse<Map<String, Value>>),
    HttpSimple(ApiGatewayV2CustomAuthorizerSimpleResponse<Map<String, Value>>),
}

/// The REST / WebSocket response. Written out here rather than taken from aws_lambda_events
/// because that type serializes an absent `usageIdentifierKey` as `null`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestResponse {
    principal_id: String,
    policy_document: ApiGatewayCustomAuthorizerPolicy,
    context: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    usage_identifier_key: Option<String>,
}

/// Builds the response for a key whose record was found and judged.
pub fn respond(
    shape: EventShape,
    http_form: HttpApiResponse,
    record: &KeyRecord,
    reason: Reason,
    policy: Policy,
) -> AuthorizerResponse {
    let allowed = reason == Reason::Allowed;
    let context = context_for(record, reason);
    let principal_id = record.key_id.to_string();
    match (shape, http_form) {
        (EventShape::HttpV2, HttpApiResponse::Simple) => {
            let mut response = ApiGatewayV2CustomAuthorizerSimpleResponse::default();
            response.is_authorized = allowed;
            response.context = context;
            AuthorizerResponse::HttpSimple(response)
        }
        (EventShape::HttpV2 | EventShape::HttpV1, _) => {
            let mut response = ApiGatewayV2CustomAuthorizerIamPolicyResponse::default();
            response.principal_id = Some(principal_id);
            response.policy_document = policy_document(policy);
            response.context = context;
            AuthorizerResponse::HttpIam(response)
        }
        (EventShape::Rest | EventShape::WebSocket, _) => AuthorizerResponse::Rest(RestResponse {
            principal_id,
            policy_document: policy_document(policy),
            context,
            usage_identifier_key: record
                .usage_key
                .as_ref()
                .filter(|_| allowed)
                .map(|k| k.expose().to_owned()),
        }),
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

/// What the backend receives as `$context.authorizer.*`: the key id, the principal, the reason
/// code, and the record's own context values.
fn context_for(record: &KeyRecord, reason: Reason) -> Map<String, Value> {
    let mut context = Map::new();
    for (name, value) in &record.context {
        let value = match value {
            ContextValue::Text(s) => Value::String(s.clone()),
            ContextValue::Number(n) => Value::Number(n.clone()),
            ContextValue::Bool(b) => Value::Bool(*b),
        };
        context.insert(name.as_str().to_owned(), value);
    }
    context.insert("keyId".into(), record.key_id.to_string().into());
    context.insert("principal".into(), record.principal.as_str().into());
    context.insert("reason".into(), reason.code().into());
    context
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::method_arn::MethodArn;
    use crate::core::policy::policy_for;
    use crate::core::test_support::record;
    use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerResponse;
    use serde_json::json;

    const ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:api1/prod/GET/pets/1";

    fn answer(shape: EventShape, form: HttpApiResponse, reason: Reason, usage_key: bool) -> Value {
        let mut record = record();
        if usage_key {
            record.usage_key = Some("usage-plan-key-000000000001".parse().unwrap());
        }
        let policy = policy_for(&record, &MethodArn::parse(ARN).unwrap(), reason);
        serde_json::to_value(respond(shape, form, &record, reason, policy)).unwrap()
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
