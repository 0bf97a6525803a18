//! API keys as credentials: `trk_<prefix>_<secret>`. The 12-character prefix finds the key (and is safe
//! to show); only the SHA-256 of the whole key is stored. The check runs in the request transaction's
//! opening message, like a session's, and refreshes `last_used_at` at most once a minute.

use std::collections::BTreeSet;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, SecondsFormat, Utc};
use rand::{Rng, RngCore};
use sea_orm::{DbErr, RuntimeErr};
use sha2::{Digest, Sha256};
use sqlx::{PgPool, Row, postgres::PgRow};
use uuid::Uuid;

use crate::{authz::Permission, domain::TenantId, tenancy::TenantTx};

pub const TOKEN_PREFIX: &str = "trk_";
const PREFIX_LEN: usize = 12;
const PREFIX_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// A key as a client presented it: well-formed, not yet known to be valid.
pub struct PresentedKey {
    prefix: String,
    hash: [u8; 32],
}

impl PresentedKey {
    /// `Some` for a token of the API-key shape; its prefix is then safe to put in SQL.
    pub fn parse(token: &str) -> Option<PresentedKey> {
        PresentedKey::parse_kind(token, TOKEN_PREFIX)
    }

    /// The public part that finds the stored key (safe to show and to put in SQL).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The SHA-256 of the whole token, as a SQL `bytea` literal.
    pub fn hash_literal(&self) -> String {
        format!(
            "'\\x{}'::bytea",
            self.hash
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        )
    }

    /// `Some` for a token of the shape `<kind><prefix>_<secret>` (API keys, SCIM tokens).
    pub fn parse_kind(token: &str, kind: &str) -> Option<PresentedKey> {
        let rest = token.strip_prefix(kind)?;
        let (prefix, secret) = rest.split_once('_')?;
        let well_formed = prefix.len() == PREFIX_LEN
            && prefix.bytes().all(|b| PREFIX_ALPHABET.contains(&b))
            && secret.len() == 43
            && URL_SAFE_NO_PAD.decode(secret).is_ok();
        well_formed.then(|| PresentedKey {
            prefix: prefix.to_owned(),
            hash: Sha256::digest(token.as_bytes()).into(),
        })
    }
}

/// A new key: its prefix, the whole key (shown once) and the hash to store.
pub struct NewKey {
    pub prefix: String,
    pub token: String,
    pub hash: Vec<u8>,
}

pub fn generate() -> NewKey {
    generate_kind(TOKEN_PREFIX)
}

/// A new secret token `<kind><prefix>_<secret>` (API keys, SCIM tokens).
pub fn generate_kind(kind: &str) -> NewKey {
    let mut rng = rand::rngs::OsRng;
    let prefix: String = (0..PREFIX_LEN)
        .map(|_| PREFIX_ALPHABET[rng.gen_range(0..PREFIX_ALPHABET.len())] as char)
        .collect();
    let mut secret = [0u8; 32];
    rng.fill_bytes(&mut secret);
    let token = format!("{kind}{prefix}_{}", URL_SAFE_NO_PAD.encode(secret));
    let hash = Sha256::digest(token.as_bytes()).to_vec();
    NewKey {
        prefix,
        token,
        hash,
    }
}

/// What the opening message learned about the key.
pub struct KeyState {
    pub id: Uuid,
    pub name: String,
    pub role: Option<String>,
    pub scope: Option<BTreeSet<Permission>>,
    /// The secret matches and the key is neither revoked nor expired.
    pub usable: bool,
}

/// Opens the request's transaction and checks the key in the same message.
pub async fn begin(
    pool: &PgPool,
    tenant: TenantId,
    key: &PresentedKey,
    now: DateTime<Utc>,
) -> Result<(TenantTx, Option<KeyState>), DbErr> {
    let now = format!(
        "'{}'::timestamptz",
        now.to_rfc3339_opts(SecondsFormat::Micros, true)
    );
    let hash = key.hash_literal();
    let prefix = &key.prefix;
    let live = format!(
        "secret_hash = {hash} AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > {now})"
    );
    let check = format!(
        "SELECT id, name, role, permissions, ({live}) AS usable \
         FROM api_keys WHERE tenant_id = '{tenant}' AND prefix = '{prefix}'; \
         UPDATE api_keys SET last_used_at = {now} \
         WHERE tenant_id = '{tenant}' AND id IN ( \
           SELECT id FROM api_keys \
           WHERE tenant_id = '{tenant}' AND prefix = '{prefix}' AND {live} \
             AND (last_used_at IS NULL OR last_used_at < {now} - interval '1 minute') \
           FOR UPDATE SKIP LOCKED)"
    );
    let (tx, rows) = TenantTx::begin_with(pool, tenant, None, check).await?;
    let state = match rows.first() {
        Some(row) => Some(parse(row).map_err(|e| DbErr::Query(RuntimeErr::SqlxError(e.into())))?),
        None => None,
    };
    Ok((tx, state))
}

fn parse(row: &PgRow) -> Result<KeyState, sqlx::Error> {
    let permissions: Option<Vec<String>> = row.try_get("permissions")?;
    Ok(KeyState {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: row.try_get("role")?,
        scope: permissions.map(|texts| {
            texts
                .iter()
                .filter_map(|t| t.split_once(':').and_then(|(o, a)| Permission::parse(o, a)))
                .collect()
        }),
        usable: row.try_get("usable")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_and_others_do_not() {
        let key = generate();
        assert!(key.token.starts_with("trk_"));
        let presented = PresentedKey::parse(&key.token).unwrap();
        assert_eq!(presented.prefix, key.prefix);
        assert_eq!(presented.hash.to_vec(), key.hash);
        for bad in [
            "eyJhbGciOi.x.y",
            "trk_short_abc",
            "trk_ABCDEFGHIJKL_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "trk_abcdefghijk'_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        ] {
            assert!(PresentedKey::parse(bad).is_none(), "{bad}");
        }
    }
}
