//! One invocation: parse the event, find the key, decide, answer, and write one log line.

use crate::authorizer::event::AuthorizerRequest;
use crate::authorizer::judge::{Judgement, Question, judge};
use crate::authorizer::response::{AuthorizerResponse, respond};
use crate::clock::Clock;
use crate::config::Settings;
use crate::core::policy::policy_for;
use crate::core::reason::{Outcome, Reason};
use crate::store::KeyStore;
use lambda_runtime::Diagnostic;
use serde_json::Value;
use std::sync::Arc;
use std::time::Instant;

/// Why the invocation fails instead of returning a policy. API Gateway answers 401 for a
/// failure whose message is exactly `Unauthorized`, and 500 for any other; neither is cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("Unauthorized")]
    Unauthorized(Reason),
    #[error("keyfence could not decide ({0})")]
    Undecided(Reason),
}

impl Refusal {
    pub fn reason(self) -> Reason {
        match self {
            Refusal::Unauthorized(reason) | Refusal::Undecided(reason) => reason,
        }
    }
}

impl From<Refusal> for Diagnostic {
    fn from(refusal: Refusal) -> Self {
        let error_type = match refusal {
            Refusal::Unauthorized(_) => "Unauthorized",
            Refusal::Undecided(_) => "KeyfenceUndecided",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: refusal.to_string(),
        }
    }
}

pub struct Authorizer<S> {
    settings: Settings,
    store: S,
    clock: Arc<dyn Clock>,
}

impl<S: KeyStore> Authorizer<S> {
    pub fn new(settings: Settings, store: S, clock: Arc<dyn Clock>) -> Self {
        Self {
            settings,
            store,
            clock,
        }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub async fn handle(&self, event: &Value) -> Result<AuthorizerResponse, Refusal> {
        let started = Instant::now();
        let mut log = DecisionLog::default();
        let result = self.authorize(event, &mut log).await;
        log.emit(started.elapsed().as_micros());
        result
    }

    async fn authorize(
        &self,
        event: &Value,
        log: &mut DecisionLog,
    ) -> Result<AuthorizerResponse, Refusal> {
        let request = AuthorizerRequest::from_event(event, &self.settings).map_err(|e| {
            log.detail = e.to_string();
            Refusal::Undecided(Reason::EventInvalid)
        })?;
        log.shape = request.shape.as_str();
        log.source_ip = request.source_ip_text.clone();
        log.client_ip = request
            .client_ip
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        log.route = request.arn.target().to_string();

        let question = Question {
            key: &request.key,
            client_ip: &request.client_ip,
            target: Some(request.arn.target()),
            now: self.clock.unix_now(),
        };
        let judgement = judge(&self.store, &self.settings.deny_list, &question).await;
        log.reason = judgement.reason();
        match judgement {
            Judgement::Refused {
                reason,
                key_id,
                detail,
            } => {
                log.key_id = key_id.unwrap_or_default();
                log.detail = detail;
                Err(match reason.outcome() {
                    Outcome::Unauthorized => Refusal::Unauthorized(reason),
                    _ => Refusal::Undecided(reason),
                })
            }
            Judgement::Decided { record, reason } => {
                log.key_id = record.key_id.to_string();
                log.principal = record.principal.as_str().to_owned();
                if let (Reason::SourceIpInvalid, Err(problem)) = (reason, &request.client_ip) {
                    log.detail = problem.to_string();
                }
                let policy = policy_for(&record, &request.arn, reason);
                Ok(respond(
                    request.shape,
                    self.settings.http_api_response,
                    &record,
                    reason,
                    policy,
                ))
            }
        }
    }
}

/// The one line each invocation writes. It holds the key id, never the key or its hash.
#[derive(Debug)]
struct DecisionLog {
    reason: Reason,
    shape: &'static str,
    key_id: String,
    principal: String,
    source_ip: String,
    client_ip: String,
    route: String,
    detail: String,
}

impl Default for DecisionLog {
    /// Until the event is read, the only thing known is that it was not usable.
    fn default() -> Self {
        Self {
            reason: Reason::EventInvalid,
            shape: "",
            key_id: String::new(),
            principal: String::new(),
            source_ip: String::new(),
            client_ip: String::new(),
            route: String::new(),
            detail: String::new(),
        }
    }
}

impl DecisionLog {
    fn emit(&self, duration_us: u128) {
        let reason = self.reason;
        let decision = match reason.outcome() {
            Outcome::Allow => "allow",
            Outcome::Deny => "deny",
            Outcome::Unauthorized => "unauthorized",
            Outcome::Error => "error",
        };
        macro_rules! decision_event {
            ($level:expr) => {
                tracing::event!(
                    target: "keyfence::decision",
                    $level,
                    decision,
                    reason = reason.code(),
                    key_id = self.key_id,
                    principal = self.principal,
                    shape = self.shape,
                    source_ip = self.source_ip,
                    client_ip = self.client_ip,
                    route = self.route,
                    duration_us = duration_us as u64,
                    detail = self.detail,
                    "decision"
                )
            };
        }
        if reason.outcome() == Outcome::Error {
            decision_event!(tracing::Level::ERROR);
        } else {
            decision_event!(tracing::Level::INFO);
        }
    }
}
