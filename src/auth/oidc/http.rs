//! The HTTP client that talks to identity providers (discovery, keys, token exchange). Every URL it
//! fetches comes from an admin's configuration or a provider's discovery document, so it is the
//! [`crate::outbound`] client (no redirects, public https targets only unless insecure issuers are
//! allowed), with a bound on the response body.

use std::{future::Future, pin::Pin, time::Duration};

use openidconnect::{AsyncHttpClient, HttpClientError, HttpRequest, HttpResponse, http};

/// The largest response accepted from a provider (discovery documents and key sets are small).
const MAX_BODY_BYTES: usize = 1024 * 1024;

pub type OidcHttpError = HttpClientError<reqwest::Error>;

#[derive(Clone, Debug)]
pub struct OidcHttp {
    client: reqwest::Client,
    allow_insecure: bool,
}

impl OidcHttp {
    pub fn new(timeout: Duration, allow_insecure: bool) -> Result<Self, reqwest::Error> {
        Ok(OidcHttp {
            client: crate::outbound::client(timeout, allow_insecure, "Trellis-SSO/1")?,
            allow_insecure,
        })
    }

    async fn execute(&self, request: HttpRequest) -> Result<HttpResponse, OidcHttpError> {
        let url = url::Url::parse(&request.uri().to_string())
            .map_err(|e| HttpClientError::Other(e.to_string()))?;
        crate::outbound::check_target(&url, self.allow_insecure).map_err(HttpClientError::Other)?;
        let request = reqwest::Request::try_from(request).map_err(Box::new)?;
        let mut response = self.client.execute(request).await.map_err(Box::new)?;
        let mut builder = http::Response::builder()
            .status(response.status())
            .version(response.version());
        for (name, value) in response.headers() {
            builder = builder.header(name, value);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(Box::new)? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(HttpClientError::Other(format!(
                    "the response is larger than {MAX_BODY_BYTES} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        builder.body(body).map_err(HttpClientError::Http)
    }
}

impl<'c> AsyncHttpClient<'c> for OidcHttp {
    type Error = OidcHttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Self::Error>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.execute(request))
    }
}
