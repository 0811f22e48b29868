//! Routes a key may call, and the route a request is for.
//!
//! Both are held in the form of the tail of an execute-api ARN, after the stage:
//! `GET/pets/42` for a REST or HTTP API request, `$connect` for a WebSocket connection. A
//! pattern uses `*` exactly as IAM does in a policy Resource (any run of characters, `/`
//! included), so the route check made now and the policy API Gateway caches always agree.

use std::fmt;
use std::str::FromStr;

const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
/// Keeps a policy Resource well under API Gateway's 512-character limit.
pub const MAX_PATTERN_LEN: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("route {value:?} must look like 'GET /path', 'ANY /path/*', '$connect' or '*'")]
    Syntax { value: String },
    #[error(
        "route {value:?} has an unknown method; use one of GET POST PUT PATCH DELETE HEAD OPTIONS ANY *"
    )]
    Method { value: String },
    #[error(
        "route {value:?} has a path that cannot match: it must start with '/' and use no spaces, '?' or '#'"
    )]
    Path { value: String },
    #[error("route {value:?} is longer than {MAX_PATTERN_LEN} characters")]
    TooLong { value: String },
}

/// A route pattern from a key record, such as `GET /pets/*`, `ANY /orders`, `$connect`, `*`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoutePattern {
    arn_tail: String,
}

impl RoutePattern {
    /// The pattern as it appears after the stage in a policy Resource.
    pub fn arn_tail(&self) -> &str {
        &self.arn_tail
    }

    pub fn matches(&self, target: &RouteTarget) -> bool {
        wildcard_match(self.arn_tail.as_bytes(), target.arn_tail.as_bytes())
    }

    pub fn all_routes() -> Self {
        Self {
            arn_tail: "*".into(),
        }
    }
}

impl FromStr for RoutePattern {
    type Err = RouteError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let value = raw.trim();
        let owned = || value.to_owned();
        if value.len() > MAX_PATTERN_LEN {
            return Err(RouteError::TooLong { value: owned() });
        }
        if value == "*" {
            return Ok(Self::all_routes());
        }
        if value.starts_with('$') {
            return if is_websocket_route_key(value) {
                Ok(Self {
                    arn_tail: value.to_owned(),
                })
            } else {
                Err(RouteError::Syntax { value: owned() })
            };
        }
        let (method, path) = value
            .split_once(' ')
            .ok_or_else(|| RouteError::Syntax { value: owned() })?;
        let method = match method.to_ascii_uppercase().as_str() {
            "ANY" | "*" => "*".to_owned(),
            m if METHODS.contains(&m) => m.to_owned(),
            _ => return Err(RouteError::Method { value: owned() }),
        };
        let path = path.trim();
        if !is_path_pattern(path) {
            return Err(RouteError::Path { value: owned() });
        }
        Ok(Self {
            arn_tail: format!("{method}{path}"),
        })
    }
}

impl fmt::Display for RoutePattern {
    /// Prints the form an operator writes: `GET /pets/*`, `ANY /orders`, `$connect`, `*`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tail = &self.arn_tail;
        if tail == "*" || tail.starts_with('$') {
            return f.write_str(tail);
        }
        let split = tail.find('/').unwrap_or(tail.len());
        let (method, path) = tail.split_at(split);
        let method = if method == "*" { "ANY" } else { method };
        write!(f, "{method} {path}")
    }
}

fn is_websocket_route_key(value: &str) -> bool {
    value.len() > 1
        && value[1..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn is_path_pattern(path: &str) -> bool {
    path.starts_with('/')
        && path
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'?' | b'#'))
}

/// The route a request is for, as the ARN tail after the stage (`GET/pets/42`, `$connect`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTarget {
    arn_tail: String,
}

impl RouteTarget {
    /// Reads a request as an operator writes it: `GET /pets/1` or `$connect`.
    pub fn parse_request(raw: &str) -> Result<Self, RouteError> {
        let value = raw.trim();
        if value.starts_with('$') {
            return if is_websocket_route_key(value) {
                Ok(Self::from_arn_tail(value))
            } else {
                Err(RouteError::Syntax {
                    value: value.to_owned(),
                })
            };
        }
        let (method, path) = value.split_once(' ').ok_or_else(|| RouteError::Syntax {
            value: value.to_owned(),
        })?;
        let method = method.to_ascii_uppercase();
        if !METHODS.contains(&method.as_str()) {
            return Err(RouteError::Method {
                value: value.to_owned(),
            });
        }
        let path = path.trim();
        if !is_path_pattern(path) || path.contains('*') {
            return Err(RouteError::Path {
                value: value.to_owned(),
            });
        }
        Ok(Self::from_arn_tail(&format!("{method}{path}")))
    }

    /// Takes the ARN tail as API Gateway wrote it; [`crate::core::method_arn`] checks its shape.
    pub(crate) fn from_arn_tail(arn_tail: &str) -> Self {
        Self {
            arn_tail: arn_tail.to_owned(),
        }
    }

    pub fn arn_tail(&self) -> &str {
        &self.arn_tail
    }
}

impl fmt::Display for RouteTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.arn_tail.split_once('/') {
            Some((method, path)) => write!(f, "{method} /{path}"),
            None => f.write_str(&self.arn_tail),
        }
    }
}

/// IAM-style matching: `*` matches any run of bytes, everything else matches itself.
/// Greedy with backtracking to the last star: linear in practice, no recursion.
fn wildcard_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut last_star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            last_star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((star_p, star_t)) = last_star {
            p = star_p + 1;
            t = star_t + 1;
            last_star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(s: &str) -> RoutePattern {
        s.parse().unwrap()
    }

    fn target(tail: &str) -> RouteTarget {
        RouteTarget::from_arn_tail(tail)
    }

    #[test]
    fn exact_route_matches_only_itself() {
        let p = pattern("GET /pets");
        assert!(p.matches(&target("GET/pets")));
        assert!(!p.matches(&target("GET/pets/1")));
        assert!(!p.matches(&target("POST/pets")));
        assert!(!p.matches(&target("GET/petstore")));
    }

    #[test]
    fn trailing_star_matches_every_path_below() {
        let p = pattern("GET /pets/*");
        assert!(p.matches(&target("GET/pets/1")));
        assert!(p.matches(&target("GET/pets/1/photos")));
        assert!(!p.matches(&target("GET/pets")));
        assert!(!p.matches(&target("DELETE/pets/1")));
    }

    #[test]
    fn inner_star_matches_like_iam() {
        let p = pattern("GET /pets/*/photos");
        assert!(p.matches(&target("GET/pets/1/photos")));
        assert!(p.matches(&target("GET/pets/1/2/photos")));
        assert!(!p.matches(&target("GET/pets/1/photos/x")));
    }

    #[test]
    fn any_method_matches_every_method() {
        let p = pattern("ANY /orders");
        assert_eq!(p.arn_tail(), "*/orders");
        for m in METHODS {
            assert!(p.matches(&target(&format!("{m}/orders"))));
        }
        assert_eq!(pattern("* /orders"), p);
    }

    #[test]
    fn method_is_case_insensitive_when_parsed() {
        assert_eq!(pattern("get /pets"), pattern("GET /pets"));
    }

    #[test]
    fn star_alone_matches_everything() {
        let p = pattern("*");
        assert!(p.matches(&target("GET/anything/at/all")));
        assert!(p.matches(&target("$connect")));
    }

    #[test]
    fn websocket_connect_route() {
        let p = pattern("$connect");
        assert!(p.matches(&target("$connect")));
        assert!(!p.matches(&target("GET/connect")));
    }

    #[test]
    fn malformed_patterns_are_refused() {
        assert!(matches!(
            "GET".parse::<RoutePattern>(),
            Err(RouteError::Syntax { .. })
        ));
        assert!(matches!(
            "$".parse::<RoutePattern>(),
            Err(RouteError::Syntax { .. })
        ));
        assert!(matches!(
            "$con nect".parse::<RoutePattern>(),
            Err(RouteError::Syntax { .. })
        ));
        assert!(matches!(
            "FETCH /x".parse::<RoutePattern>(),
            Err(RouteError::Method { .. })
        ));
        for bad in ["GET pets", "GET /a b", "GET /a?b=1", "GET /a#x", "GET  x"] {
            assert!(
                matches!(bad.parse::<RoutePattern>(), Err(RouteError::Path { .. })),
                "{bad}"
            );
        }
        let long = format!("GET /{}", "a".repeat(MAX_PATTERN_LEN));
        assert!(matches!(
            long.parse::<RoutePattern>(),
            Err(RouteError::TooLong { .. })
        ));
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "GET /pets/*",
            "ANY /orders",
            "$connect",
            "*",
            "DELETE /a/*/b",
        ] {
            assert_eq!(pattern(s).to_string(), s);
            assert_eq!(pattern(&pattern(s).to_string()), pattern(s));
        }
    }

    #[test]
    fn requests_parse_like_the_arn_tail() {
        assert_eq!(
            RouteTarget::parse_request("get /pets/1").unwrap(),
            target("GET/pets/1")
        );
        assert_eq!(
            RouteTarget::parse_request("$connect").unwrap(),
            target("$connect")
        );
        assert_eq!(
            RouteTarget::parse_request("GET /pets/1")
                .unwrap()
                .to_string(),
            "GET /pets/1"
        );
        for bad in ["GET", "ANY /x", "GET /x/*", "GET x", "$"] {
            assert!(RouteTarget::parse_request(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pathological_stars_stay_fast_and_correct() {
        let p = pattern(&format!("GET /{}b", "*a".repeat(60)));
        let text = format!("GET/{}", "a".repeat(200));
        assert!(!p.matches(&target(&text)));
    }
}
