#![no_main]
//! Key parsing: never panics; whatever parses prints back to itself and hashes.

use keyfence::core::api_key::ApiKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(key) = ApiKey::parse(text) {
        assert_eq!(key.expose(), text);
        assert_eq!(ApiKey::parse(key.expose()).as_ref(), Ok(&key));
        let _ = key.hash().to_hex();
    }
});
