//! The pure decision core: typed values and the decision. Nothing here does I/O.

pub mod api_key;
pub mod cidr_set;
pub mod decision;
pub mod key_record;
pub mod method_arn;
pub mod policy;
pub mod reason;
pub mod route;
pub mod source_ip;
#[cfg(test)]
pub(crate) mod test_support;
