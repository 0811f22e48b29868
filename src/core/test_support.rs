//! A typical key record for the core's unit tests.

use crate::core::cidr_set::CidrSet;
use crate::core::key_record::{KeyRecord, KeyStatus, Routes};
use std::collections::BTreeMap;

pub fn record() -> KeyRecord {
    KeyRecord {
        key_id: "acme-1".parse().unwrap(),
        principal: "acme".parse().unwrap(),
        status: KeyStatus::Active,
        cidrs: CidrSet::parse_all(["203.0.113.0/24", "2001:db8::/32"]).unwrap(),
        routes: Routes::only(vec![
            "GET /pets".parse().unwrap(),
            "GET /pets/*".parse().unwrap(),
            "POST /orders".parse().unwrap(),
        ]),
        not_before: None,
        expires_at: None,
        usage_key: None,
        context: BTreeMap::new(),
        description: None,
    }
}
