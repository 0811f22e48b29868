//! One invocation: parse the event, find the key, decide, answer, and write one log line.

use crate::authorizer::event::{AuthorizerRequest, PresentedKey};
use crate::authorizer::response::{AuthorizerResponse, respond};
use crate::config::Settings;
use crate::core::decision::{AccessRequest, decide};
use crate::core::key_record::UnixSeconds;
use crate::core::policy::policy_for;
use crate::core::reason::{Outcome, Reason};
use crate::store::{KeyStore, StoreError};
use lambda_runtime::Diagnostic;
use serde_json::Value;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

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
}

impl<S: KeyStore> Authorizer<S> {
    pub fn new(settings: Settings, store: S) -> Self {
        Self { settings, store }
    }

    pub async fn handle(&self, event: &Value) -> Result<AuthorizerResponse, Refusal> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as UnixSeconds);
        self.handle_at(event, now).await
    }

    /// Handles an event as if the clock read `now`.
    pub async fn handle_at(
        &self,
        event: &Value,
        now: UnixSeconds,
    ) -> Result<AuthorizerResponse, Refusal> {
        let started = Instant::now();
        let mut log = DecisionLog::default();
        let result = self.authorize(event, now, &mut log).await;
        log.reason = Some(match &result {
            Ok(_) => log.reason.unwrap_or(Reason::Allowed),
            Err(refusal) => refusal.reason(),
        });
        log.emit(started.elapsed().as_micros());
        result
    }

    async fn authorize(
        &self,
        event: &Value,
        now: UnixSeconds,
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

        let key = match request.key {
            PresentedKey::Present(key) => key,
            PresentedKey::Missing => return Err(Refusal::Unauthorized(Reason::KeyMissing)),
            PresentedKey::Malformed(problem) => {
                log.detail = problem.to_string();
                return Err(Refusal::Unauthorized(Reason::KeyMalformed));
            }
        };
        let record = match self.store.find(&key.hash()).await {
            Ok(Some(record)) => record,
            Ok(None) => return Err(Refusal::Unauthorized(Reason::KeyUnknown)),
            Err(error) => {
                let reason = match &error {
                    StoreError::InvalidRecord { key_id, .. } => {
                        log.key_id = key_id.clone();
                        Reason::RecordInvalid
                    }
                    _ => Reason::StoreUnavailable,
                };
                log.detail = error.to_string();
                return Err(Refusal::Undecided(reason));
            }
        };
        log.key_id = record.key_id.to_string();
        log.principal = record.principal.as_str().to_owned();

        let access = AccessRequest {
            client_ip: request.client_ip.clone(),
            target: request.arn.target(),
            now,
        };
        let reason = decide(&record, &access, &self.settings.deny_list);
        if let (Reason::SourceIpInvalid, Err(problem)) = (reason, &request.client_ip) {
            log.detail = problem.to_string();
        }
        log.reason = Some(reason);
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

/// The one line each invocation writes. It holds the key id, never the key or its hash.
#[derive(Debug, Default)]
struct DecisionLog {
    reason: Option<Reason>,
    shape: &'static str,
    key_id: String,
    principal: String,
    source_ip: String,
    client_ip: String,
    route: String,
    detail: String,
}

impl DecisionLog {
    fn emit(&self, duration_us: u128) {
        let reason = self.reason.unwrap_or(Reason::EventInvalid);
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
