//! A set of CIDR blocks and the one question asked of it: does it hold this address?
//!
//! Blocks are stored as sorted, merged address ranges per family, so a lookup is a binary
//! search whatever the set's size, and the cost of a small set stays a handful of compares.

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    #[error("{value:?} is not a CIDR block such as 203.0.113.0/24 or 2001:db8::/32")]
    Syntax { value: String },
    #[error("{value:?} has host bits set; did you mean {canonical}?")]
    HostBitsSet { value: String, canonical: IpNet },
}

/// One CIDR block, parsed strictly: a bare address means a single host, host bits must be
/// zero, and an IPv4-mapped IPv6 block becomes the IPv4 block it describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cidr(IpNet);

impl Cidr {
    pub fn net(&self) -> IpNet {
        self.0
    }

    fn range(&self) -> AddressRange {
        match self.0 {
            IpNet::V4(n) => AddressRange::V4(u32::from(n.network()), u32::from(n.broadcast())),
            IpNet::V6(n) => AddressRange::V6(u128::from(n.network()), u128::from(n.broadcast())),
        }
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let syntax = || CidrError::Syntax {
            value: raw.to_owned(),
        };
        let value = raw.trim();
        // std's address parser is the strict one (no leading zeros, no zone ids).
        let (address, prefix) = match value.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (value, None),
        };
        let address = IpAddr::from_str(address).map_err(|_| syntax())?;
        let net = match prefix {
            None => IpNet::from(address),
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                let length = p.parse::<u8>().map_err(|_| syntax())?;
                IpNet::new(address, length).map_err(|_| syntax())?
            }
            Some(_) => return Err(syntax()),
        };
        if net.trunc() != net {
            return Err(CidrError::HostBitsSet {
                value: raw.to_owned(),
                canonical: net.trunc(),
            });
        }
        Ok(Cidr(unmap_ipv4(net)))
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// `::ffff:a.b.c.d/len` with len >= 96 is the IPv4 block `a.b.c.d/(len-96)`.
fn unmap_ipv4(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.network().to_ipv4_mapped() {
            Some(v4) => Ipv4Net::new(v4, v6.prefix_len() - 96)
                .map(IpNet::V4)
                .unwrap_or(net),
            None => net,
        },
        _ => net,
    }
}

#[derive(Debug, Clone, Copy)]
enum AddressRange {
    V4(u32, u32),
    V6(u128, u128),
}

/// The blocks a key may call from (or the global deny list).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CidrSet {
    blocks: Vec<Cidr>,
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

impl CidrSet {
    pub fn new(blocks: impl IntoIterator<Item = Cidr>) -> Self {
        let mut blocks: Vec<Cidr> = blocks.into_iter().collect();
        blocks.sort();
        blocks.dedup();
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for block in &blocks {
            match block.range() {
                AddressRange::V4(lo, hi) => v4.push((lo, hi)),
                AddressRange::V6(lo, hi) => v6.push((lo, hi)),
            }
        }
        Self {
            blocks,
            v4: merge(v4),
            v6: merge(v6),
        }
    }

    /// Parses every entry, reporting the first bad one.
    pub fn parse_all<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Self, CidrError> {
        let blocks = values
            .into_iter()
            .map(Cidr::from_str)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self::new(blocks))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match ip.to_canonical() {
            IpAddr::V4(a) => range_contains(&self.v4, u32::from(a)),
            IpAddr::V6(a) => range_contains(&self.v6, u128::from(a)),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// The blocks as given (sorted, without exact duplicates), for display and storage.
    pub fn blocks(&self) -> &[Cidr] {
        &self.blocks
    }
}

/// Sorts ranges and merges those that overlap or touch, so lookups need one candidate.
fn merge<T: Copy + Ord + num_like::Successor>(mut ranges: Vec<(T, T)>) -> Vec<(T, T)> {
    ranges.sort_unstable();
    let mut merged: Vec<(T, T)> = Vec::with_capacity(ranges.len());
    for (lo, hi) in ranges {
        match merged.last_mut() {
            Some(last) if last.1.successor().is_none_or(|next| lo <= next) => {
                last.1 = last.1.max(hi);
            }
            _ => merged.push((lo, hi)),
        }
    }
    merged
}

fn range_contains<T: Copy + Ord>(ranges: &[(T, T)], addr: T) -> bool {
    // Index of the first range starting after addr; the candidate is the one before it.
    let after = ranges.partition_point(|&(lo, _)| lo <= addr);
    after > 0 && addr <= ranges[after - 1].1
}

mod num_like {
    pub trait Successor: Sized {
        fn successor(self) -> Option<Self>;
    }
    impl Successor for u32 {
        fn successor(self) -> Option<Self> {
            self.checked_add(1)
        }
    }
    impl Successor for u128 {
        fn successor(self) -> Option<Self> {
            self.checked_add(1)
        }
    }
}

impl From<Ipv4Net> for Cidr {
    fn from(net: Ipv4Net) -> Self {
        Cidr(IpNet::V4(net.trunc()))
    }
}

impl From<Ipv6Net> for Cidr {
    fn from(net: Ipv6Net) -> Self {
        Cidr(unmap_ipv4(IpNet::V6(net.trunc())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(values: &[&str]) -> CidrSet {
        CidrSet::parse_all(values.iter().copied()).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv4_block_contains_its_addresses_only() {
        let s = set(&["203.0.113.0/24"]);
        assert!(s.contains(ip("203.0.113.0")));
        assert!(s.contains(ip("203.0.113.255")));
        assert!(!s.contains(ip("203.0.112.255")));
        assert!(!s.contains(ip("203.0.114.0")));
    }

    #[test]
    fn ipv6_block_contains_its_addresses_only() {
        let s = set(&["2001:db8:abcd::/48"]);
        assert!(s.contains(ip("2001:db8:abcd:ffff::1")));
        assert!(!s.contains(ip("2001:db8:abce::1")));
    }

    #[test]
    fn families_do_not_cross() {
        let s = set(&["0.0.0.0/0"]);
        assert!(!s.contains(ip("2001:db8::1")));
        let s = set(&["::/0"]);
        assert!(!s.contains(ip("203.0.113.7")));
    }

    #[test]
    fn mapped_address_matches_ipv4_block() {
        let s = set(&["203.0.113.0/24"]);
        assert!(s.contains(ip("::ffff:203.0.113.7")));
    }

    #[test]
    fn mapped_block_is_stored_as_ipv4() {
        let s = set(&["::ffff:203.0.113.0/120"]);
        assert_eq!(s.blocks()[0].to_string(), "203.0.113.0/24");
        assert!(s.contains(ip("203.0.113.9")));
    }

    #[test]
    fn bare_address_is_a_single_host() {
        let s = set(&["203.0.113.7", "2001:db8::7"]);
        assert!(s.contains(ip("203.0.113.7")));
        assert!(!s.contains(ip("203.0.113.8")));
        assert!(s.contains(ip("2001:db8::7")));
        assert_eq!(s.blocks()[0].to_string(), "203.0.113.7/32");
    }

    #[test]
    fn host_bits_are_refused_with_the_canonical_block() {
        let err = CidrSet::parse_all(["203.0.113.7/24"]).unwrap_err();
        assert_eq!(
            err,
            CidrError::HostBitsSet {
                value: "203.0.113.7/24".into(),
                canonical: "203.0.113.0/24".parse().unwrap()
            }
        );
    }

    #[test]
    fn malformed_blocks_are_refused() {
        for bad in [
            "",
            "203.0.113.0/33",
            "203.0.113/24",
            "010.0.0.0/8",
            "x/8",
            "::/129",
            "fe80::%1/64",
        ] {
            assert!(
                matches!(Cidr::from_str(bad), Err(CidrError::Syntax { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn overlapping_and_adjacent_blocks_merge_without_changing_membership() {
        let s = set(&["10.0.0.0/9", "10.128.0.0/9", "10.0.0.0/16", "192.0.2.0/24"]);
        assert_eq!(s.v4.len(), 2);
        assert!(s.contains(ip("10.200.0.1")));
        assert!(s.contains(ip("10.0.0.1")));
        assert!(!s.contains(ip("11.0.0.0")));
        assert!(s.contains(ip("192.0.2.1")));
    }

    #[test]
    fn the_whole_space_and_its_edges_are_handled() {
        let s = set(&["0.0.0.0/0", "::/0"]);
        assert!(s.contains(ip("0.0.0.0")));
        assert!(s.contains(ip("255.255.255.255")));
        assert!(s.contains(ip("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
    }

    #[test]
    fn empty_set_contains_nothing() {
        let s = CidrSet::default();
        assert!(s.is_empty());
        assert!(!s.contains(ip("203.0.113.7")));
    }

    #[test]
    fn many_blocks_agree_with_a_linear_scan() {
        let blocks: Vec<String> = (0..=255u32)
            .step_by(3)
            .map(|i| format!("10.{i}.0.0/16"))
            .chain((0..50u32).map(|i| format!("2001:db8:{i:x}::/48")))
            .collect();
        let s = CidrSet::parse_all(blocks.iter().map(String::as_str)).unwrap();
        for probe in (0..=255u32)
            .map(|i| format!("10.{i}.7.7"))
            .chain((0..60u32).map(|i| format!("2001:db8:{i:x}::9")))
        {
            let addr = ip(&probe);
            let linear = s.blocks().iter().any(|c| c.net().contains(&addr));
            assert_eq!(s.contains(addr), linear, "{probe}");
        }
    }
}
