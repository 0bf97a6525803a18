//! Key rings: named 32-byte secrets, written `kid:base64url(secret)` and comma-separated, newest first.
//! The first key is the one that signs or encrypts; every key verifies or decrypts, so a key is rotated by
//! putting a new one first and retired by dropping it once nothing it made is still needed. The JWT
//! signing keys (`auth.jwt_keys`) and the keys for secrets at rest (`crypto.keys`) are both key rings; in
//! `local` each is generated once into a file under `server.var_dir` (mode 0600).

use std::{fs, io::Write, path::Path};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{ring}: {message}")]
    Invalid { ring: &'static str, message: String },
    #[error("{ring}: cannot read or write the local key file: {source}")]
    Io {
        ring: &'static str,
        source: std::io::Error,
    },
}

/// One named secret.
pub struct KeyEntry {
    pub kid: String,
    pub secret: [u8; 32],
}

/// Parses `kid:secret,kid:secret`; `ring` names the setting in errors.
pub fn parse(ring: &'static str, spec: &SecretString) -> Result<Vec<KeyEntry>, KeyError> {
    let invalid = |message: String| KeyError::Invalid { ring, message };
    let mut entries: Vec<KeyEntry> = Vec::new();
    for item in spec
        .expose_secret()
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        let (kid, secret) = item
            .split_once(':')
            .ok_or_else(|| invalid("each key is kid:base64url-secret".into()))?;
        if kid.is_empty()
            || kid.len() > 64
            || !kid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(invalid(format!("bad key id {kid:?}")));
        }
        let secret: [u8; 32] = URL_SAFE_NO_PAD
            .decode(secret)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| invalid(format!("key {kid}: the secret must be 32 bytes, base64url")))?;
        if entries.iter().any(|e| e.kid == kid) {
            return Err(invalid(format!("key id {kid} appears twice")));
        }
        entries.push(KeyEntry {
            kid: kid.to_owned(),
            secret,
        });
    }
    if entries.is_empty() {
        return Err(invalid("no key given".into()));
    }
    Ok(entries)
}

/// A new random `kid:secret`.
pub fn generate(kid: &str) -> SecretString {
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    SecretString::from(format!("{kid}:{}", URL_SAFE_NO_PAD.encode(secret)))
}

/// A key id that sorts by creation time: `<prefix>-<unix seconds>`.
pub fn new_kid(prefix: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    format!("{prefix}-{}", now.timestamp())
}

/// `spec` with a new key first: it signs or encrypts from now on, the others still verify or decrypt.
pub fn rotated(
    ring: &'static str,
    spec: &SecretString,
    kid: &str,
) -> Result<SecretString, KeyError> {
    let existing = parse(ring, spec)?;
    if existing.iter().any(|e| e.kid == kid) {
        return Err(KeyError::Invalid {
            ring,
            message: format!("key id {kid} already exists"),
        });
    }
    Ok(SecretString::from(format!(
        "{},{}",
        generate(kid).expose_secret(),
        spec.expose_secret().trim()
    )))
}

/// `spec` without the key `kid`; the current (first) key cannot be retired.
pub fn retired(
    ring: &'static str,
    spec: &SecretString,
    kid: &str,
) -> Result<SecretString, KeyError> {
    let entries = parse(ring, spec)?;
    match entries.iter().position(|e| e.kid == kid) {
        None => Err(KeyError::Invalid {
            ring,
            message: format!("no key {kid}"),
        }),
        Some(0) => Err(KeyError::Invalid {
            ring,
            message: format!("{kid} is the current key: rotate first"),
        }),
        Some(_) => Ok(SecretString::from(
            entries
                .iter()
                .filter(|e| e.kid != kid)
                .map(|e| format!("{}:{}", e.kid, URL_SAFE_NO_PAD.encode(e.secret)))
                .collect::<Vec<_>>()
                .join(","),
        )),
    }
}

/// The key ring kept in `<var_dir>/<file>` in local development, created on first use.
pub fn local(
    ring: &'static str,
    var_dir: &Path,
    file: &str,
    kid_prefix: &str,
) -> Result<SecretString, KeyError> {
    let io = |source| KeyError::Io { ring, source };
    let path = var_dir.join(file);
    if let Ok(spec) = fs::read_to_string(&path) {
        return Ok(SecretString::from(spec.trim().to_owned()));
    }
    fs::create_dir_all(var_dir).map_err(io)?;
    let spec = generate(&format!("{kid_prefix}-local"));
    write_private(&path, &spec).map_err(io)?;
    Ok(spec)
}

/// Replaces the local key file (mode 0600).
pub fn write_local(
    ring: &'static str,
    var_dir: &Path,
    file: &str,
    spec: &SecretString,
) -> Result<(), KeyError> {
    let path = var_dir.join(file);
    let temporary = var_dir.join(format!(".{file}.new"));
    let _ = fs::remove_file(&temporary);
    write_private(&temporary, spec)
        .and_then(|_| fs::rename(&temporary, &path))
        .map_err(|source| KeyError::Io { ring, source })
}

fn write_private(path: &Path, spec: &SecretString) -> std::io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)?
        .write_all(spec.expose_secret().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rings_parse_rotate_and_retire() {
        let spec = generate("a");
        let rotated = rotated("test", &spec, "b").unwrap();
        let entries = parse("test", &rotated).unwrap();
        assert_eq!(
            entries.iter().map(|e| e.kid.as_str()).collect::<Vec<_>>(),
            ["b", "a"]
        );
        assert!(
            retired("test", &rotated, "b").is_err(),
            "the current key stays"
        );
        let retired = retired("test", &rotated, "a").unwrap();
        assert_eq!(parse("test", &retired).unwrap().len(), 1);
        assert!(
            super::rotated("test", &rotated, "a").is_err(),
            "kids are unique"
        );
    }

    #[test]
    fn malformed_rings_are_refused() {
        for spec in ["", "nokid", "a:short", "a b:AAAA"] {
            assert!(
                parse("test", &SecretString::from(spec.to_owned())).is_err(),
                "{spec}"
            );
        }
        let a = generate("a");
        let twice = SecretString::from(format!("{0},{0}", a.expose_secret()));
        assert!(parse("test", &twice).is_err());
    }
}
