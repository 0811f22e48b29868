//! One invocation: parse the event, find the key, decide, answer, and write one decision line.

use crate::authorizer::decision_log::{DecisionEntry, DecisionLog};
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
    log: DecisionLog,
}

impl<S: KeyStore> Authorizer<S> {
    /// An authorizer that writes its decision lines to stdout, as Lambda expects.
    pub fn new(settings: Settings, store: S, clock: Arc<dyn Clock>) -> Self {
        Self {
            settings,
            store,
            clock,
            log: DecisionLog::stdout(),
        }
    }

    /// Sends decision lines elsewhere (tests, benchmarks).
    pub fn with_log(self, log: DecisionLog) -> Self {
        Self { log, ..self }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub async fn handle(&self, event: &Value) -> Result<AuthorizerResponse, Refusal> {
        let started = Instant::now();
        let mut entry = DecisionEntry::default();
        let result = self.authorize(event, &mut entry).await;
        self.log.write(&entry, started.elapsed().as_micros() as u64);
        result
    }

    async fn authorize(
        &self,
        event: &Value,
        entry: &mut DecisionEntry,
    ) -> Result<AuthorizerResponse, Refusal> {
        let request = AuthorizerRequest::from_event(event, &self.settings).map_err(|e| {
            entry.detail = e.to_string();
            Refusal::Undecided(Reason::EventInvalid)
        })?;
        entry.shape = request.shape.as_str();
        entry.source_ip = request.source_ip_text.clone();
        entry.client_ip = request
            .client_ip
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        entry.route = request.arn.target().to_string();

        let question = Question {
            key: &request.key,
            client_ip: &request.client_ip,
            target: Some(request.arn.target()),
            now: self.clock.unix_now(),
        };
        let (judgement, lookup) = judge(&self.store, &self.settings.deny_list, &question).await;
        entry.lookup = lookup;
        entry.reason = Some(judgement.reason());
        match judgement {
            Judgement::Refused {
                reason,
                key_id,
                detail,
            } => {
                entry.key_id = key_id.unwrap_or_default();
                entry.detail = detail;
                Err(match reason.outcome() {
                    Outcome::Unauthorized => Refusal::Unauthorized(reason),
                    _ => Refusal::Undecided(reason),
                })
            }
            Judgement::Decided { record, reason } => {
                entry.key_id = record.key_id.to_string();
                entry.principal = record.principal.as_str().to_owned();
                if let (Reason::SourceIpInvalid, Err(problem)) = (reason, &request.client_ip) {
                    entry.detail = problem.to_string();
                }
                let policy = policy_for(&record, &request.arn, reason);
                Ok(respond(
                    request.shape,
                    self.settings.http_api_response,
                    record,
                    reason,
                    policy,
                ))
            }
        }
    }
}
