//! The API key a partner presents, and the hash under which its record is stored.
//!
//! Two forms are accepted. Keys issued by keyfence look like
//! `kf_<key id>_<secret><checksum>` (lower-case base32), so secret scanners can spot them and a
//! mistyped key is refused without a store read. Keys imported from elsewhere are accepted when
//! they are 16 to 256 characters of a token alphabet. Either way only the SHA-256 of the key is
//! ever stored or compared.

use sha2::{Digest, Sha256};
use std::fmt;

/// Prefix of every key keyfence issues.
pub const KEY_PREFIX: &str = "kf_";
/// Length of the public key id embedded in an issued key.
pub const KEY_ID_LEN: usize = 10;
/// Length of the random part of an issued key: 26 base32 characters carry 130 bits.
pub const SECRET_LEN: usize = 26;
/// Length of the checksum that ends an issued key: 30 bits of SHA-256 over the rest.
pub const CHECKSUM_LEN: usize = 6;
const ISSUED_KEY_LEN: usize = KEY_PREFIX.len() + KEY_ID_LEN + 1 + SECRET_LEN + CHECKSUM_LEN;

const IMPORTED_MIN_LEN: usize = 16;
const IMPORTED_MAX_LEN: usize = 256;

const BASE32_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// Why a presented string is not a usable key. The variants never carry the key itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyFormatError {
    #[error("the key is empty")]
    Empty,
    #[error("an issued key (kf_...) must be {ISSUED_KEY_LEN} characters of lower-case base32")]
    IssuedKeyShape,
    #[error("the key's checksum does not match: it was mistyped or made up")]
    IssuedKeyChecksum,
    #[error("a key must be {IMPORTED_MIN_LEN} to {IMPORTED_MAX_LEN} characters long")]
    Length,
    #[error("a key may contain only letters, digits and . _ ~ + / = -")]
    Alphabet,
}

/// A key as presented by a caller. `Debug` never prints it; use [`ApiKey::expose`] where the
/// plain value is really needed (printing a new key once, hashing).
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn parse(raw: &str) -> Result<Self, KeyFormatError> {
        if raw.is_empty() {
            return Err(KeyFormatError::Empty);
        }
        if let Some(rest) = raw.strip_prefix(KEY_PREFIX) {
            parse_issued_body(rest)?;
        } else {
            check_imported(raw)?;
        }
        Ok(Self(raw.to_owned()))
    }

    /// Builds an issued key from its public id and random secret, adding the checksum.
    /// Both parts must already be lower-case base32 of the documented lengths.
    pub fn issued(key_id: &str, secret: &str) -> Result<Self, KeyFormatError> {
        let body = format!("{key_id}_{secret}");
        let checksum = checksum(&body);
        let checksum =
            std::str::from_utf8(&checksum).map_err(|_| KeyFormatError::IssuedKeyShape)?;
        Self::parse(&format!("{KEY_PREFIX}{body}{checksum}"))
    }

    /// A new issued key: a random public id and 130 random bits from the operating system.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut id_bytes = [0u8; 7];
        let mut secret_bytes = [0u8; 17];
        getrandom::fill(&mut id_bytes)?;
        getrandom::fill(&mut secret_bytes)?;
        let key_id = &base32_lower(&id_bytes)[..KEY_ID_LEN];
        let secret = &base32_lower(&secret_bytes)[..SECRET_LEN];
        Ok(Self::issued(key_id, secret)
            .expect("generated parts have the issued lengths and alphabet"))
    }

    /// The key id embedded in an issued key; `None` for imported keys.
    pub fn embedded_key_id(&self) -> Option<&str> {
        self.0
            .strip_prefix(KEY_PREFIX)
            .map(|rest| &rest[..KEY_ID_LEN])
    }

    pub fn hash(&self) -> KeyHash {
        KeyHash(Sha256::digest(self.0.as_bytes()).into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

fn parse_issued_body(rest: &str) -> Result<(), KeyFormatError> {
    let bytes = rest.as_bytes();
    let well_formed = KEY_PREFIX.len() + bytes.len() == ISSUED_KEY_LEN
        && bytes[KEY_ID_LEN] == b'_'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, &b)| i == KEY_ID_LEN || is_base32(b));
    if !well_formed {
        return Err(KeyFormatError::IssuedKeyShape);
    }
    let (body, given) = rest.split_at(rest.len() - CHECKSUM_LEN);
    if checksum(body) == given.as_bytes() {
        Ok(())
    } else {
        Err(KeyFormatError::IssuedKeyChecksum)
    }
}

fn is_base32(byte: u8) -> bool {
    matches!(byte, b'a'..=b'z' | b'2'..=b'7')
}

fn check_imported(raw: &str) -> Result<(), KeyFormatError> {
    if !(IMPORTED_MIN_LEN..=IMPORTED_MAX_LEN).contains(&raw.len()) {
        return Err(KeyFormatError::Length);
    }
    // A comma never appears: HTTP APIs join repeated headers with commas, so a key with one
    // would be ambiguous.
    let token_char = |b: u8| b.is_ascii_alphanumeric() || b"._~+/=-".contains(&b);
    if raw.bytes().all(token_char) {
        Ok(())
    } else {
        Err(KeyFormatError::Alphabet)
    }
}

/// The first 30 bits of SHA-256 over the prefix and body, as 6 base32 characters. Computed
/// without allocating: every presented issued key pays for it.
fn checksum(body_after_prefix: &str) -> [u8; CHECKSUM_LEN] {
    let digest = Sha256::new()
        .chain_update(KEY_PREFIX)
        .chain_update(body_after_prefix)
        .finalize();
    let bits = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    std::array::from_fn(|i| BASE32_ALPHABET[((bits >> (27 - 5 * i)) & 31) as usize])
}

/// RFC 4648 base32, lower case, without padding.
pub fn base32_lower(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32_ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32_ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// SHA-256 of a key: the table's partition key. It is as sensitive as the key for logging
/// purposes, so `Debug` hides it too.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyHash([u8; 32]);

impl KeyHash {
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Reads the lower-case hex form stored in the table.
    pub fn from_hex(hex: &str) -> Option<Self> {
        if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Self(bytes))
    }
}

impl fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyHash(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_ID: &str = "acmepartnr";
    const SECRET: &str = "abcdefghijklmnopqrstuvwxyz";

    fn issued() -> ApiKey {
        ApiKey::issued(KEY_ID, SECRET).unwrap()
    }

    #[test]
    fn issued_key_round_trips_through_parse() {
        let key = issued();
        assert_eq!(ApiKey::parse(key.expose()).unwrap(), key);
        assert_eq!(key.expose().len(), ISSUED_KEY_LEN);
        assert_eq!(key.embedded_key_id(), Some(KEY_ID));
    }

    #[test]
    fn issued_key_with_one_character_changed_fails_the_checksum() {
        let key = issued();
        let mut chars: Vec<char> = key.expose().chars().collect();
        let i = KEY_PREFIX.len() + KEY_ID_LEN + 3;
        chars[i] = if chars[i] == 'a' { 'b' } else { 'a' };
        let typo: String = chars.into_iter().collect();
        assert_eq!(ApiKey::parse(&typo), Err(KeyFormatError::IssuedKeyChecksum));
    }

    #[test]
    fn issued_key_of_wrong_shape_is_refused() {
        let key = issued();
        let raw = key.expose();
        for bad in [
            &raw[..raw.len() - 1],
            &format!("{raw}a"),
            &raw.to_uppercase().replacen("KF_", "kf_", 1),
            &format!("{KEY_PREFIX}{}", raw[KEY_PREFIX.len()..].replace('_', "a")),
            "kf_",
        ] {
            assert_eq!(
                ApiKey::parse(bad),
                Err(KeyFormatError::IssuedKeyShape),
                "{bad}"
            );
        }
    }

    #[test]
    fn imported_keys_of_token_characters_are_accepted() {
        for good in [
            "legacy-partner-key-0001",
            "dGhpcyBpcyBhIGtleQ==",
            &"a".repeat(256),
        ] {
            assert!(ApiKey::parse(good).is_ok(), "{good}");
            assert_eq!(ApiKey::parse(good).unwrap().embedded_key_id(), None);
        }
    }

    #[test]
    fn empty_key_is_refused() {
        assert_eq!(ApiKey::parse(""), Err(KeyFormatError::Empty));
    }

    #[test]
    fn imported_keys_too_short_or_too_long_are_refused() {
        assert_eq!(ApiKey::parse("short"), Err(KeyFormatError::Length));
        assert_eq!(ApiKey::parse(&"a".repeat(257)), Err(KeyFormatError::Length));
    }

    #[test]
    fn keys_with_spaces_commas_or_control_characters_are_refused() {
        for bad in [
            "legacy partner key 01",
            "legacy-key-0001,legacy-key-0002",
            "legacy-partner-key-0001\n",
            "légacy-partner-key-0001",
        ] {
            assert_eq!(ApiKey::parse(bad), Err(KeyFormatError::Alphabet), "{bad:?}");
        }
    }

    #[test]
    fn debug_never_shows_the_key_or_its_hash() {
        let key = issued();
        let printed = format!("{key:?} {:?}", key.hash());
        assert!(!printed.contains(key.expose()));
        assert!(!printed.contains(&key.hash().to_hex()));
    }

    #[test]
    fn hash_is_sha256_hex_of_the_key() {
        let key = ApiKey::parse("legacy-partner-key-0001").unwrap();
        let expected: String = Sha256::digest(b"legacy-partner-key-0001")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(key.hash().to_hex(), expected);
    }

    #[test]
    fn generated_keys_are_issued_keys_and_differ() {
        let a = ApiKey::generate().unwrap();
        let b = ApiKey::generate().unwrap();
        assert_ne!(a, b);
        assert_ne!(a.embedded_key_id(), b.embedded_key_id());
        assert_eq!(ApiKey::parse(a.expose()).unwrap(), a);
        assert_eq!(a.embedded_key_id().unwrap().len(), KEY_ID_LEN);
    }

    #[test]
    fn hash_hex_round_trips_and_refuses_other_text() {
        let hash = issued().hash();
        assert_eq!(KeyHash::from_hex(&hash.to_hex()), Some(hash));
        assert_eq!(KeyHash::from_hex("warm-up"), None);
        assert_eq!(KeyHash::from_hex(&hash.to_hex().to_uppercase()), None);
        assert_eq!(KeyHash::from_hex(&hash.to_hex()[1..]), None);
    }

    #[test]
    fn checksum_is_the_base32_of_the_digest_prefix() {
        let body = "acmepartnr_abcdefghijklmnopqrstuvwxyz";
        let digest = Sha256::digest(format!("{KEY_PREFIX}{body}").as_bytes());
        assert_eq!(
            checksum(body).as_slice(),
            &base32_lower(&digest[..4]).as_bytes()[..CHECKSUM_LEN]
        );
    }

    #[test]
    fn base32_matches_rfc4648_vectors() {
        assert_eq!(base32_lower(b""), "");
        assert_eq!(base32_lower(b"f"), "my");
        assert_eq!(base32_lower(b"fo"), "mzxq");
        assert_eq!(base32_lower(b"foobar"), "mzxw6ytboi");
    }
}
