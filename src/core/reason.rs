//! Stable reason codes: every answer the authorizer gives carries exactly one, in its log line
//! and (for policies) in the context handed to the backend. Codes never change meaning; new
//! ones may be added.

use std::fmt;

/// How API Gateway must be answered for a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An Allow policy (or `isAuthorized: true`); cached by API Gateway.
    Allow,
    /// An explicit Deny (403); cached by API Gateway for the key and source IP.
    Deny,
    /// The invocation fails with exactly `Unauthorized` (401); nothing cached.
    Unauthorized,
    /// The invocation fails with another message (500); nothing cached, so a fix bites at once.
    Error,
}

impl Outcome {
    /// The outcome as logs and the CLI name it: `allow`, `deny`, `unauthorized`, `error`.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::Deny => "deny",
            Outcome::Unauthorized => "unauthorized",
            Outcome::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    Allowed,
    KeyMissing,
    KeyMalformed,
    KeyUnknown,
    KeyRevoked,
    KeyNotYetValid,
    KeyExpired,
    SourceIpInvalid,
    SourceIpDenylisted,
    SourceIpNotAllowed,
    RouteNotAllowed,
    EventInvalid,
    RecordInvalid,
    StoreUnavailable,
}

impl Reason {
    pub const ALL: [Reason; 14] = [
        Reason::Allowed,
        Reason::KeyMissing,
        Reason::KeyMalformed,
        Reason::KeyUnknown,
        Reason::KeyRevoked,
        Reason::KeyNotYetValid,
        Reason::KeyExpired,
        Reason::SourceIpInvalid,
        Reason::SourceIpDenylisted,
        Reason::SourceIpNotAllowed,
        Reason::RouteNotAllowed,
        Reason::EventInvalid,
        Reason::RecordInvalid,
        Reason::StoreUnavailable,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Reason::Allowed => "allowed",
            Reason::KeyMissing => "key_missing",
            Reason::KeyMalformed => "key_malformed",
            Reason::KeyUnknown => "key_unknown",
            Reason::KeyRevoked => "key_revoked",
            Reason::KeyNotYetValid => "key_not_yet_valid",
            Reason::KeyExpired => "key_expired",
            Reason::SourceIpInvalid => "source_ip_invalid",
            Reason::SourceIpDenylisted => "source_ip_denylisted",
            Reason::SourceIpNotAllowed => "source_ip_not_allowed",
            Reason::RouteNotAllowed => "route_not_allowed",
            Reason::EventInvalid => "event_invalid",
            Reason::RecordInvalid => "record_invalid",
            Reason::StoreUnavailable => "store_unavailable",
        }
    }

    pub fn outcome(self) -> Outcome {
        match self {
            Reason::Allowed => Outcome::Allow,
            Reason::KeyMissing | Reason::KeyMalformed | Reason::KeyUnknown => Outcome::Unauthorized,
            Reason::KeyRevoked
            | Reason::KeyNotYetValid
            | Reason::KeyExpired
            | Reason::SourceIpInvalid
            | Reason::SourceIpDenylisted
            | Reason::SourceIpNotAllowed
            | Reason::RouteNotAllowed => Outcome::Deny,
            Reason::EventInvalid | Reason::RecordInvalid | Reason::StoreUnavailable => {
                Outcome::Error
            }
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_snake_case() {
        let codes: HashSet<_> = Reason::ALL.iter().map(|r| r.code()).collect();
        assert_eq!(codes.len(), Reason::ALL.len());
        for code in codes {
            assert!(
                code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{code}"
            );
        }
    }

    #[test]
    fn only_allowed_allows() {
        for reason in Reason::ALL {
            assert_eq!(
                reason.outcome() == Outcome::Allow,
                reason == Reason::Allowed,
                "{reason}"
            );
        }
    }
}
