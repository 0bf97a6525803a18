//! A real OpenID Provider for the tests: panva's `oidc-provider` (OpenID Certified) from
//! `tests/oidc/provider.mjs`, on an ephemeral loopback port, one per test. Each test registers its own
//! client (dynamic registration) with its server's callback URL, and signs in as whoever it likes
//! through the provider's login interaction. Test hooks tamper with the next ID token and rotate the
//! provider's keys.

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    path::Path,
    process::{Child, ChildStdin, Command, Stdio},
};

use reqwest::{StatusCode, header};
use serde_json::{Value, json};

use crate::helpers::TestApp;

pub struct TestOp {
    pub issuer: String,
    child: Child,
    _stdin: ChildStdin,
    http: reqwest::Client,
}

impl Drop for TestOp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Who signs in at the provider.
#[derive(Debug, Clone)]
pub struct OpUser {
    pub sub: String,
    pub email: String,
    /// `None`: the claim is not sent (as Entra ID does not).
    pub email_verified: Option<bool>,
    pub name: String,
    /// `None`: no groups claim at all.
    pub groups: Option<Vec<String>>,
}

impl OpUser {
    pub fn new(sub: &str, email: &str) -> Self {
        OpUser {
            sub: sub.into(),
            email: email.into(),
            email_verified: Some(true),
            name: "Grace Hopper".into(),
            groups: Some(Vec::new()),
        }
    }

    pub fn groups(mut self, groups: &[&str]) -> Self {
        self.groups = Some(groups.iter().map(|g| (*g).to_owned()).collect());
        self
    }

    pub fn unverified(mut self) -> Self {
        self.email_verified = Some(false);
        self
    }

    /// Sends no `email_verified` claim, as Entra ID.
    pub fn without_email_verified(mut self) -> Self {
        self.email_verified = None;
        self
    }

    /// Sends no groups claim.
    pub fn without_groups(mut self) -> Self {
        self.groups = None;
        self
    }
}

impl TestOp {
    pub async fn start() -> TestOp {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc");
        assert!(
            dir.join("node_modules/oidc-provider").exists(),
            "the test OpenID Provider is not installed: run `npm ci --prefix tests/oidc` (the README's test command does)"
        );
        let mut child = Command::new("node")
            .arg("provider.mjs")
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node (Node.js 18 or later) is installed");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).unwrap();
            line
        })
        .await
        .unwrap();
        let port: u16 = line
            .trim()
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("the provider said {line:?}"))
            .parse()
            .unwrap();
        TestOp {
            issuer: format!("http://127.0.0.1:{port}"),
            child,
            _stdin: stdin,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
        }
    }

    /// Registers a confidential client whose redirect URI is `app`'s callback for `slug`.
    pub async fn register_client(&self, app: &TestApp, slug: &str) -> (String, String) {
        let redirect = format!("http://{}/auth/sso/callback", app.host(slug));
        let response = self
            .http
            .post(format!("{}/reg", self.issuer))
            .json(&json!({
                "redirect_uris": [redirect],
                "token_endpoint_auth_method": "client_secret_basic",
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let client: Value = response.json().await.unwrap();
        (
            client["client_id"].as_str().unwrap().to_owned(),
            client["client_secret"].as_str().unwrap().to_owned(),
        )
    }

    /// `signature`: the next ID token's payload is altered after signing. `nonce`: the next
    /// authorization request's nonce is replaced before the provider sees it. `none`: neither.
    pub async fn tamper(&self, mode: &str) {
        let response = self
            .http
            .post(format!("{}/__test/tamper", self.issuer))
            .json(&json!({ "mode": mode }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }

    /// Replaces the provider's signing key with a new one (a new `kid`).
    pub async fn rotate_keys(&self) {
        let response = self
            .http
            .post(format!("{}/__test/rotate-keys", self.issuer))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
}

/// A browser: a cookie jar, no automatic redirects, and `<slug>.localhost` resolving to the app.
pub struct Browser {
    pub client: reqwest::Client,
    jar: std::sync::Arc<reqwest::cookie::Jar>,
    app_base: String,
}

impl Browser {
    pub fn new(app: &TestApp, slug: &str) -> Browser {
        let host = format!("{slug}.{}", app.settings.server.base_domain);
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .resolve(&host, SocketAddr::from(([127, 0, 0, 1], app.port)))
            .build()
            .unwrap();
        Browser {
            client,
            jar,
            app_base: format!("http://{}", app.host(slug)),
        }
    }

    /// The `Cookie` header this browser sends to its organization.
    pub fn cookies(&self) -> String {
        use reqwest::cookie::CookieStore;
        let url = self.url("/auth/sso/callback").parse().unwrap();
        self.jar
            .cookies(&url)
            .map(|c| c.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.app_base)
    }

    pub async fn get(&self, url: &str) -> reqwest::Response {
        self.client.get(url).send().await.unwrap()
    }

    /// Starts single sign-on and signs in at the provider as `user`; returns the URL the provider sends
    /// the browser back to (the callback, with its code and state), not yet followed.
    pub async fn sign_in_at_provider(&self, op: &TestOp, user: &OpUser) -> String {
        let start = self.get(&self.url("/auth/sso/start")).await;
        assert_eq!(
            start.status(),
            StatusCode::FOUND,
            "start: {}",
            start.status()
        );
        let authorize = location(&start);
        assert!(authorize.starts_with(&op.issuer), "{authorize}");
        let to_interaction = self.get(&authorize).await;
        assert_eq!(to_interaction.status(), StatusCode::SEE_OTHER);
        let interaction = format!("{}{}", op.issuer, location(&to_interaction));
        let login = self
            .client
            .post(format!("{interaction}/login"))
            .form(&{
                let mut form = vec![
                    ("sub", user.sub.clone()),
                    ("email", user.email.clone()),
                    ("name", user.name.clone()),
                ];
                if let Some(verified) = user.email_verified {
                    form.push(("email_verified", verified.to_string()));
                }
                if let Some(groups) = &user.groups {
                    form.push(("groups", groups.join(",")));
                }
                form
            })
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), StatusCode::SEE_OTHER);
        let resume = self.get(&location(&login)).await;
        assert_eq!(resume.status(), StatusCode::SEE_OTHER);
        let callback = location(&resume);
        assert!(
            callback.starts_with(&self.url("/auth/sso/callback")),
            "{callback}"
        );
        callback
    }

    /// The whole sign-in: the callback's response.
    pub async fn sso(&self, op: &TestOp, user: &OpUser) -> reqwest::Response {
        let callback = self.sign_in_at_provider(op, user).await;
        self.get(&callback).await
    }
}

pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(header::LOCATION)
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned()
}
