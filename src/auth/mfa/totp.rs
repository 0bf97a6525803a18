//! TOTP (RFC 6238): HMAC-SHA1, 30-second steps, 6 digits, what every authenticator app speaks. A code is
//! accepted for the current step and one step either side (clock drift), and never twice: the caller
//! keeps the last step used and passes it in.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha1::Sha1;

pub const STEP_SECS: i64 = 30;
const DIGITS: u32 = 6;

/// A new 160-bit seed.
pub fn new_seed() -> Vec<u8> {
    let mut seed = vec![0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut seed);
    seed
}

/// The code for a time step.
pub fn code_at_step(seed: &[u8], step: i64) -> String {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(seed) else {
        return String::new();
    };
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[19] & 0x0f) as usize;
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!(
        "{:0width$}",
        binary % 10u32.pow(DIGITS),
        width = DIGITS as usize
    )
}

/// The time step of a Unix time.
pub fn step_of(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(STEP_SECS)
}

/// The step `code` belongs to, if it is valid now (±1 step) and later than `last_used_step`.
pub fn verify(seed: &[u8], code: &str, unix_secs: i64, last_used_step: i64) -> Option<i64> {
    let code = code.trim().replace(' ', "");
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_of(unix_secs);
    (now - 1..=now + 1)
        .filter(|step| *step > last_used_step)
        .find(|step| {
            crate::crypto::constant_time_eq(code_at_step(seed, *step).as_bytes(), code.as_bytes())
        })
}

/// RFC 4648 base32 without padding: how authenticator apps take a seed.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            out.push(ALPHABET[((buffer >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// The `otpauth://` URI an authenticator app scans.
pub fn otpauth_uri(issuer: &str, account: &str, seed: &[u8]) -> String {
    let label = format!("{issuer}:{account}");
    format!(
        "otpauth://totp/{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        url::form_urlencoded::byte_serialize(label.as_bytes()).collect::<String>(),
        base32(seed),
        url::form_urlencoded::byte_serialize(issuer.as_bytes()).collect::<String>(),
    )
}

/// The URI as a QR code, an SVG image.
pub fn qr_svg(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color>()
            .min_dimensions(200, 200)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA1, with the last six digits.
    #[test]
    fn rfc_6238_test_vectors() {
        let seed = b"12345678901234567890";
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ] {
            assert_eq!(code_at_step(seed, step_of(time)), code, "t = {time}");
        }
    }

    #[test]
    fn codes_verify_within_one_step_and_never_twice() {
        let seed = new_seed();
        let now = 1_800_000_000;
        let code = code_at_step(&seed, step_of(now));
        let step = verify(&seed, &code, now, 0).unwrap();
        assert_eq!(verify(&seed, &code, now, step), None, "replayed");
        let previous = code_at_step(&seed, step_of(now) - 1);
        assert!(verify(&seed, &previous, now, 0).is_some());
        let stale = code_at_step(&seed, step_of(now) - 2);
        assert!(verify(&seed, &stale, now, 0).is_none());
        assert!(verify(&seed, "12345", now, 0).is_none());
    }

    #[test]
    fn base32_matches_rfc_4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"f"), "MY");
        let uri = otpauth_uri(
            "Trellis (acme)",
            "ada@acme.example",
            b"12345678901234567890",
        );
        assert!(uri.starts_with("otpauth://totp/Trellis+%28acme%29%3Aada%40acme.example?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"), "{uri}");
        assert!(qr_svg(&uri).unwrap().starts_with("<?xml"));
    }
}
