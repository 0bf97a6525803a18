//! The relying party: discovery (cached per issuer), the authorization request (code flow with PKCE
//! S256, state and nonce), the code exchange and the ID token's verification (signature against the
//! provider's keys, refetched once when a token names a key we do not have; issuer compared exactly;
//! audience; expiry with a small leeway on the app clock; nonce). Nothing here touches the database.

use std::{
    collections::BTreeSet,
    sync::{Arc, RwLock},
    time::Duration,
};

use chrono::{DateTime, Utc};
use openidconnect::{
    AdditionalClaims, AdditionalProviderMetadata, AuthType, AuthorizationCode,
    ClaimsVerificationError, Client, ClientId, ClientSecret, CsrfToken, DiscoveryError,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IdToken, IdTokenClaims, IdTokenFields,
    IdTokenVerifier, IssuerUrl, JsonWebKeySet, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    ProviderMetadata, RedirectUrl, RequestTokenError, Scope, SignatureVerificationError,
    StandardErrorResponse, StandardTokenResponse,
    core::{
        CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClaimName, CoreClaimType,
        CoreClientAuthMethod, CoreErrorResponseType, CoreGenderClaim, CoreGrantType,
        CoreJsonWebKey, CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm,
        CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm, CoreResponseMode, CoreResponseType,
        CoreRevocableToken, CoreRevocationErrorResponse, CoreSubjectIdentifierType,
        CoreTokenIntrospectionResponse, CoreTokenType,
    },
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::http::{OidcHttp, OidcHttpError};
use crate::{cache::TtlCache, clock::SharedClock, config::SsoSettings};

/// Discovery fields beyond OpenID Connect Discovery's: PKCE support (RFC 8414).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct MoreMetadata {
    #[serde(default)]
    pub code_challenge_methods_supported: Option<Vec<String>>,
}

impl AdditionalProviderMetadata for MoreMetadata {}

/// A provider's discovery document.
pub type Metadata = ProviderMetadata<
    MoreMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// Claims beyond the standard ones, kept whole: the groups claim's name is the organization's choice.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct ExtraClaims {
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl AdditionalClaims for ExtraClaims {}

type Claims = IdTokenClaims<ExtraClaims, CoreGenderClaim>;
type Token = IdToken<
    ExtraClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type TokenFields = IdTokenFields<
    ExtraClaims,
    openidconnect::EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type TokenResponse = StandardTokenResponse<TokenFields, CoreTokenType>;
type RpClient = Client<
    ExtraClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    TokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
    EndpointMaybeSet,
>;
type MetadataClient = Client<
    ExtraClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    TokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// What a sign-in needs of the organization's connection.
#[derive(Clone, Debug)]
pub struct RpConfig {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub scopes: Vec<String>,
    pub groups_claim: String,
    pub redirect_url: String,
}

/// Kept between the redirect to the provider and the callback (single use, see `OneTimeStore`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Pending {
    pub issuer: String,
    pub client_id: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// The page asked for; `None`: where the member's role leads.
    #[serde(default)]
    pub return_to: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Who the provider says signed in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    /// The `email_verified` claim: `None` when the provider does not send it (Entra ID).
    pub email_verified: Option<bool>,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// The groups claim; `None` when the token has none (scope not granted, Entra's group overage):
    /// then roles are left as they are rather than dropped to the default.
    pub groups: Option<BTreeSet<String>>,
}

/// Why a sign-in with the provider failed. `reason()` is what the audit log and the error page say.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the provider's discovery document could not be read: {0}")]
    Discovery(String),
    #[error("the provider's signing keys could not be read: {0}")]
    Keys(String),
    #[error("the provider's metadata has no token endpoint")]
    NoTokenEndpoint,
    #[error("the configuration is not valid: {0}")]
    Config(String),
    #[error("the code exchange failed: {0}")]
    Exchange(String),
    #[error("the provider returned no ID token")]
    NoIdToken,
    #[error("the ID token is not valid: {0}")]
    IdToken(String),
    #[error("the ID token's nonce does not match this sign-in")]
    Nonce,
}

impl OidcError {
    pub fn reason(&self) -> &'static str {
        match self {
            OidcError::Discovery(_) | OidcError::Keys(_) | OidcError::NoTokenEndpoint => {
                "provider_unavailable"
            }
            OidcError::Config(_) => "configuration_invalid",
            OidcError::Exchange(_) => "code_exchange_failed",
            OidcError::NoIdToken | OidcError::IdToken(_) => "id_token_invalid",
            OidcError::Nonce => "nonce_mismatch",
        }
    }
}

/// A provider as discovered: its metadata and its current keys.
pub struct Discovered {
    pub metadata: Metadata,
    keys: RwLock<CoreJsonWebKeySet>,
}

impl Discovered {
    fn keys(&self) -> CoreJsonWebKeySet {
        self.keys
            .read()
            .map(|k| k.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    fn set_keys(&self, keys: CoreJsonWebKeySet) {
        match self.keys.write() {
            Ok(mut current) => *current = keys,
            Err(poisoned) => *poisoned.into_inner() = keys,
        }
    }

    /// How many keys the provider publishes now.
    pub fn key_count(&self) -> usize {
        self.keys().keys().len()
    }
}

pub struct OidcClient {
    http: OidcHttp,
    clock: SharedClock,
    providers: TtlCache<String, Arc<Discovered>>,
    metadata_ttl: Duration,
    skew: chrono::Duration,
}

impl OidcClient {
    pub fn new(settings: &SsoSettings, clock: SharedClock) -> Result<Self, reqwest::Error> {
        Ok(OidcClient {
            http: OidcHttp::new(
                Duration::from_secs(settings.http_timeout_secs.max(1)),
                settings.allow_insecure_issuers,
            )?,
            clock,
            providers: TtlCache::new(1000),
            metadata_ttl: Duration::from_secs(settings.metadata_ttl_secs.max(1)),
            skew: chrono::Duration::seconds(settings.clock_skew_secs as i64),
        })
    }

    /// The provider's metadata and keys: from the cache, or fetched (discovery document, then keys).
    /// The document's `issuer` must equal `issuer` exactly.
    pub async fn discover(&self, issuer: &str) -> Result<Arc<Discovered>, OidcError> {
        if let Some(found) = self.providers.get(issuer, self.metadata_ttl) {
            return Ok(found);
        }
        let fresh = Arc::new(self.discover_uncached(issuer).await?);
        self.providers.insert(issuer.to_owned(), fresh.clone());
        Ok(fresh)
    }

    /// Discovery without the cache (the admin's "test connection").
    pub async fn discover_uncached(&self, issuer: &str) -> Result<Discovered, OidcError> {
        let issuer_url =
            IssuerUrl::new(issuer.to_owned()).map_err(|e| OidcError::Config(e.to_string()))?;
        let metadata = Metadata::discover_async(issuer_url, &self.http)
            .await
            .map_err(|e| match e {
                DiscoveryError::Validation(detail) => OidcError::Discovery(detail),
                other => OidcError::Discovery(describe_discovery(&other)),
            })?;
        let keys = metadata.jwks().clone();
        Ok(Discovered {
            metadata,
            keys: RwLock::new(keys),
        })
    }

    /// Forgets a provider (its configuration changed).
    pub fn forget(&self, issuer: &str) {
        self.providers.remove(issuer);
    }

    fn client(&self, discovered: &Discovered, config: &RpConfig) -> Result<RpClient, OidcError> {
        let token_url = discovered
            .metadata
            .token_endpoint()
            .cloned()
            .ok_or(OidcError::NoTokenEndpoint)?;
        let redirect = RedirectUrl::new(config.redirect_url.clone())
            .map_err(|e| OidcError::Config(e.to_string()))?;
        let client: MetadataClient = MetadataClient::from_provider_metadata(
            discovered.metadata.clone(),
            ClientId::new(config.client_id.clone()),
            Some(ClientSecret::new(config.client_secret.clone())),
        );
        // client_secret_basic unless the provider lists only client_secret_post.
        let methods = discovered.metadata.token_endpoint_auth_methods_supported();
        let post_only = methods.is_some_and(|m| {
            m.contains(&CoreClientAuthMethod::ClientSecretPost)
                && !m.contains(&CoreClientAuthMethod::ClientSecretBasic)
        });
        let auth_type = if post_only {
            AuthType::RequestBody
        } else {
            AuthType::BasicAuth
        };
        Ok(client
            .set_token_uri(token_url)
            .set_redirect_uri(redirect)
            .set_auth_type(auth_type))
    }

    /// The URL to send the browser to, the state to expect back, and what the callback will need.
    pub async fn authorize(
        &self,
        config: &RpConfig,
        return_to: Option<String>,
    ) -> Result<(url::Url, String, Pending), OidcError> {
        let discovered = self.discover(&config.issuer).await?;
        let client = self.client(&discovered, config)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            // `openid` is always asked for by the library.
            .add_scopes(
                config
                    .scopes
                    .iter()
                    .filter(|s| s.as_str() != "openid")
                    .cloned()
                    .map(Scope::new),
            )
            .set_pkce_challenge(challenge)
            .url();
        let pending = Pending {
            issuer: config.issuer.clone(),
            client_id: config.client_id.clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            return_to,
            created_at: self.clock.now(),
        };
        Ok((url, state.secret().clone(), pending))
    }

    /// Exchanges the code and verifies the ID token; returns who signed in.
    pub async fn complete(
        &self,
        config: &RpConfig,
        code: String,
        pending: Pending,
    ) -> Result<Identity, OidcError> {
        let discovered = self.discover(&config.issuer).await?;
        let client = self.client(&discovered, config)?;
        let response = client
            .exchange_code(AuthorizationCode::new(code))
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier))
            .request_async(&self.http)
            .await
            .map_err(|e| OidcError::Exchange(describe_exchange(&e)))?;
        let token =
            openidconnect::TokenResponse::id_token(&response).ok_or(OidcError::NoIdToken)?;
        let nonce = Nonce::new(pending.nonce);
        let claims = match self.verify(&discovered, config, token, &nonce) {
            // The provider rotated its keys since we fetched them: fetch them once more.
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                let keys = JsonWebKeySet::fetch_async(discovered.metadata.jwks_uri(), &self.http)
                    .await
                    .map_err(|e| OidcError::Keys(describe_discovery(&e)))?;
                discovered.set_keys(keys);
                self.verify(&discovered, config, token, &nonce)
            }
            other => other,
        }
        .map_err(|e| match e {
            ClaimsVerificationError::InvalidNonce(_) => OidcError::Nonce,
            other => OidcError::IdToken(other.to_string()),
        })?;
        Ok(identity(&claims, &config.groups_claim))
    }

    fn verify(
        &self,
        discovered: &Discovered,
        config: &RpConfig,
        token: &Token,
        nonce: &Nonce,
    ) -> Result<Claims, ClaimsVerificationError> {
        let issuer = IssuerUrl::new(config.issuer.clone())
            .map_err(|e| ClaimsVerificationError::Other(e.to_string()))?;
        // Asymmetric algorithms only: an HMAC "signature" keyed with the client secret proves nothing
        // about the provider.
        let algorithms: Vec<CoreJwsSigningAlgorithm> = discovered
            .metadata
            .id_token_signing_alg_values_supported()
            .iter()
            .filter(|a| {
                !matches!(
                    a,
                    CoreJwsSigningAlgorithm::HmacSha256
                        | CoreJwsSigningAlgorithm::HmacSha384
                        | CoreJwsSigningAlgorithm::HmacSha512
                        | CoreJwsSigningAlgorithm::None
                )
            })
            .cloned()
            .collect();
        let (expiry_clock, issue_clock, skew) = (self.clock.clone(), self.clock.clone(), self.skew);
        let verifier: IdTokenVerifier<'_, CoreJsonWebKey> =
            IdTokenVerifier::new_confidential_client(
                ClientId::new(config.client_id.clone()),
                ClientSecret::new(config.client_secret.clone()),
                issuer,
                discovered.keys(),
            )
            .set_allowed_algs(algorithms)
            // Expired means `now >= exp`; judging "now" a little earlier is the leeway.
            .set_time_fn(move || expiry_clock.now() - skew)
            .set_issue_time_verifier_fn(move |iat| {
                if iat > issue_clock.now() + skew {
                    Err(format!("issued in the future ({iat})"))
                } else {
                    Ok(())
                }
            });
        token.claims(&verifier, nonce).cloned()
    }
}

fn identity(claims: &Claims, groups_claim: &str) -> Identity {
    let name = |n: Option<&openidconnect::LocalizedClaim<openidconnect::EndUserName>>| {
        n.and_then(|c| c.get(None)).map(|v| v.as_str().to_owned())
    };
    let groups = match claims.additional_claims().other.get(groups_claim) {
        Some(Value::Array(values)) => Some(
            values
                .iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .collect(),
        ),
        Some(Value::String(single)) => Some(BTreeSet::from([single.clone()])),
        _ => None,
    };
    Identity {
        issuer: claims.issuer().as_str().to_owned(),
        subject: claims.subject().as_str().to_owned(),
        email: claims.email().map(|e| e.as_str().to_owned()),
        email_verified: claims.email_verified(),
        name: name(claims.name()),
        given_name: claims
            .given_name()
            .and_then(|c| c.get(None))
            .map(|v| v.as_str().to_owned()),
        family_name: claims
            .family_name()
            .and_then(|c| c.get(None))
            .map(|v| v.as_str().to_owned()),
        groups,
    }
}

fn describe_discovery(error: &DiscoveryError<OidcHttpError>) -> String {
    match error {
        DiscoveryError::Response(status, _, _) => format!("HTTP {status}"),
        DiscoveryError::Request(inner) => format!("request failed: {}", describe_http(inner)),
        DiscoveryError::Parse(inner) => format!("not a valid document: {inner}"),
        DiscoveryError::UrlParse(inner) => format!("bad URL: {inner}"),
        DiscoveryError::Validation(inner) => inner.clone(),
        DiscoveryError::Other(inner) => inner.clone(),
        other => other.to_string(),
    }
}

fn describe_exchange(
    error: &RequestTokenError<OidcHttpError, StandardErrorResponse<CoreErrorResponseType>>,
) -> String {
    match error {
        RequestTokenError::ServerResponse(response) => {
            let mut text = response.error().as_ref().to_owned();
            if let Some(description) = response.error_description() {
                text.push_str(": ");
                text.push_str(description);
            }
            text
        }
        RequestTokenError::Request(inner) => format!("request failed: {}", describe_http(inner)),
        RequestTokenError::Parse(inner, _) => format!("not a valid response: {inner}"),
        RequestTokenError::Other(inner) => inner.clone(),
    }
}

fn describe_http(error: &OidcHttpError) -> String {
    use std::error::Error;
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
