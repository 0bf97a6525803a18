//! A real browser: headless Chromium driven over WebDriver by chromedriver (Debian's `chromium` and
//! `chromium-driver`), speaking the W3C WebDriver protocol with the test's HTTP client. Each test gets
//! its own chromedriver on a free loopback port; the browser reaches the test server by its tenant host
//! (`*.localhost` resolves to loopback). Screenshots go to docs/screenshots/.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use base64::{Engine, engine::general_purpose::STANDARD};
use serde_json::{Value, json};

use crate::helpers::TestApp;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session.
    pub async fn start() -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver is installed (the test command installs chromium-driver)");
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        for _ in 0..100 {
            if http.get(format!("{base}/status")).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let created: Value = http
            .post(format!("{base}/session"))
            .json(&json!({
                "capabilities": { "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": "/usr/bin/chromium",
                        "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                                 "--disable-dev-shm-usage", "--window-size=1280,1000"]
                    }
                }}
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_owned();
        Browser {
            driver,
            base,
            session,
            http,
        }
    }

    pub async fn command(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut request = self.http.request(method.clone(), url);
        if method != reqwest::Method::GET {
            request = request.json(&body);
        }
        let response: Value = request.send().await.unwrap().json().await.unwrap();
        if response["value"]["error"].is_string() {
            panic!("WebDriver {path}: {response}");
        }
        response["value"].clone()
    }

    pub async fn open(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", json!({ "url": url }))
            .await;
    }

    async fn find(&self, css: &str) -> String {
        let found = self
            .command(
                reqwest::Method::POST,
                "/element",
                json!({ "using": "css selector", "value": css }),
            )
            .await;
        found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("{css}: {found}"))
            .to_owned()
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            json!({ "text": text }),
        )
        .await;
    }

    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            json!({}),
        )
        .await;
    }

    pub async fn text(&self, css: &str) -> String {
        let element = self.find(css).await;
        self.command(
            reqwest::Method::GET,
            &format!("/element/{element}/text"),
            Value::Null,
        )
        .await
        .as_str()
        .unwrap()
        .to_owned()
    }

    /// Empties a text field.
    pub async fn clear(&self, css: &str) {
        let element = self.find(css).await;
        self.command(
            reqwest::Method::POST,
            &format!("/element/{element}/clear"),
            json!({}),
        )
        .await;
    }

    /// The text of the first element matching `css` now, read in the page (`None` when there is none):
    /// safe to poll while the page reloads itself.
    pub async fn text_now(&self, css: &str) -> Option<String> {
        self.script(
            "const e = document.querySelector(arguments[0]); return e ? e.textContent.trim() : null;",
            json!([css]),
        )
        .await
        .as_str()
        .map(str::to_owned)
    }

    /// How many elements match `css`.
    pub async fn count(&self, css: &str) -> usize {
        self.command(
            reqwest::Method::POST,
            "/elements",
            json!({ "using": "css selector", "value": css }),
        )
        .await
        .as_array()
        .map_or(0, Vec::len)
    }

    /// An element's attribute (`None` when it has none).
    pub async fn attribute(&self, css: &str, name: &str) -> Option<String> {
        let element = self.find(css).await;
        self.command(
            reqwest::Method::GET,
            &format!("/element/{element}/attribute/{name}"),
            Value::Null,
        )
        .await
        .as_str()
        .map(str::to_owned)
    }

    /// Runs `script` in the page (a function body; `arguments` holds `args`) and returns its result.
    pub async fn script(&self, script: &str, args: Value) -> Value {
        self.command(
            reqwest::Method::POST,
            "/execute/sync",
            json!({ "script": script, "args": args }),
        )
        .await
    }

    /// Presses Tab, as a keyboard user moving to the next control.
    pub async fn press_tab(&self) {
        self.command(
            reqwest::Method::POST,
            "/actions",
            json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": [
                { "type": "keyDown", "value": "\u{E004}" }, { "type": "keyUp", "value": "\u{E004}" }
            ]}]}),
        )
        .await;
    }

    /// The page's accessibility basics that fail, in words (what axe's "critical" rules check first):
    /// the page's language, one `h1`, a label for every form control, a name for every button and link,
    /// a text alternative for every image and chart, unique ids, scoped table headers, no positive
    /// `tabindex`.
    pub async fn accessibility_problems(&self) -> Vec<String> {
        let found = self
            .script(
                r#"
                const problems = [];
                if (!document.documentElement.lang) problems.push('the page has no lang');
                const h1 = document.querySelectorAll('h1').length;
                if (h1 !== 1) problems.push(h1 + ' h1 headings');
                for (const el of document.querySelectorAll('input, select, textarea')) {
                  if (el.type === 'hidden') continue;
                  const named = (el.labels && el.labels.length > 0) || el.getAttribute('aria-label')
                    || el.getAttribute('aria-labelledby') || el.getAttribute('title');
                  if (!named) problems.push('no label: ' + (el.id || el.name));
                }
                for (const el of document.querySelectorAll('button, a[href]')) {
                  if (!(el.textContent.trim() || el.getAttribute('aria-label')))
                    problems.push('no name: ' + el.outerHTML.slice(0, 80));
                }
                for (const el of document.querySelectorAll('img')) {
                  if (!el.hasAttribute('alt')) problems.push('no alt: ' + el.src);
                }
                for (const el of document.querySelectorAll('svg')) {
                  const named = el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')
                    || el.querySelector('title') || el.getAttribute('aria-hidden') === 'true';
                  if (!named) problems.push('a chart without a text alternative');
                }
                const ids = {};
                for (const el of document.querySelectorAll('[id]')) {
                  if (ids[el.id]) problems.push('duplicate id ' + el.id);
                  ids[el.id] = true;
                }
                for (const el of document.querySelectorAll('thead th')) {
                  if (!el.getAttribute('scope')) problems.push('a column header without scope');
                }
                for (const el of document.querySelectorAll('[tabindex]')) {
                  if (Number(el.getAttribute('tabindex')) > 0) problems.push('positive tabindex');
                }
                return problems;
                "#,
                json!([]),
            )
            .await;
        found
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_owned())
            .collect()
    }

    /// Asserts the accessibility basics of the page, and that Tab reaches a link or control first.
    pub async fn assert_accessible(&self) {
        let problems = self.accessibility_problems().await;
        assert!(problems.is_empty(), "{}: {problems:?}", self.title().await);
        self.script(
            "document.activeElement && document.activeElement.blur();",
            json!([]),
        )
        .await;
        self.press_tab().await;
        let focused = self
            .script("return document.activeElement.tagName;", json!([]))
            .await;
        assert!(
            ["A", "BUTTON", "INPUT", "SELECT", "TEXTAREA", "SUMMARY"]
                .contains(&focused.as_str().unwrap_or_default()),
            "Tab focused {focused} on {}",
            self.title().await
        );
    }

    pub async fn title(&self) -> String {
        self.command(reqwest::Method::GET, "/title", Value::Null)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Waits (up to five seconds) for the page titled `expected`: a click that submits a form returns
    /// before the next page has loaded.
    pub async fn wait_for_title(&self, expected: &str) {
        let mut title = String::new();
        for _ in 0..50 {
            title = self.title().await;
            if title == expected {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the page is {title:?}, not {expected:?}");
    }

    /// Waits (up to five seconds) until the address holds `part`: after a form that leads to a page
    /// with the same title, the title cannot tell the new page from the old.
    pub async fn wait_for_url(&self, part: &str) {
        let mut current = Value::Null;
        for _ in 0..50 {
            current = self
                .command(reqwest::Method::GET, "/url", Value::Null)
                .await;
            if current.as_str().is_some_and(|u| u.contains(part)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the address is {current}, without {part:?}");
    }

    /// Saves a PNG of the page to docs/screenshots/`name`.png.
    pub async fn screenshot(&self, name: &str) {
        self.script(
            "document.activeElement && document.activeElement.blur();",
            json!([]),
        )
        .await;
        let png = self
            .command(reqwest::Method::GET, "/screenshot", Value::Null)
            .await;
        let bytes = STANDARD.decode(png.as_str().unwrap()).unwrap();
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), bytes).unwrap();
    }

    /// Ends the session; dropping the browser then stops chromedriver.
    pub async fn quit(self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
    }
}

impl Drop for Browser {
    /// A failed test still stops its chromedriver (and with it the browser).
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// `path` on `slug`'s host of the test server, as the browser reaches it.
pub fn url(app: &TestApp, slug: &str, path: &str) -> String {
    format!("http://{}{path}", app.host(slug))
}

#[tokio::test]
async fn an_admin_signs_in_and_reads_the_overview_drawn_on_the_server() {
    let app = crate::helpers::spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    app.add_member(&acme, &owner, "ada", "member").await;
    // The page's policy allows no inline or foreign script (the browser enforces what it says).
    let page = app
        .request(reqwest::Method::GET, "acme", "/login")
        .send()
        .await
        .unwrap();
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("script-src 'self';") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    app.state.usage.flush().await;
    app.worker.roll_up_usage().await.unwrap();

    let browser = Browser::start().await;
    browser.open(&url(&app, "acme", "/admin/login")).await;
    browser.fill("input[name=email]", &acme.owner.email).await;
    browser
        .fill("input[name=password]", &acme.owner.password)
        .await;
    browser.click("button[type=submit]").await;
    browser.wait_for_title("Overview — acme Inc").await;
    assert_eq!(browser.text("#seats-used").await, "2");
    assert_eq!(browser.text("#seat-limit").await, "100");
    assert_eq!(
        browser.text("#dau").await,
        "2",
        "the owner and Ada signed in today"
    );
    let logins = browser.text("#logins").await;
    assert!(
        logins.contains("password 1") && logins.contains("invitation 1"),
        "{logins}"
    );
    // The chart's text alternative is in the page for assistive technology.
    let description = browser.text("#seats").await;
    assert!(
        description.is_empty() || description.contains("2 of 100"),
        "{description}"
    );
    browser.screenshot("overview").await;
    browser.quit().await;

    // A member without analytics:read sees no overview.
    let member = app.add_member(&acme, &owner, "plain", "member").await;
    let browser = Browser::start().await;
    browser.open(&url(&app, "acme", "/login")).await;
    browser.fill("input[name=email]", &member.email).await;
    browser.fill("input[name=password]", &member.password).await;
    browser.click("button[type=submit]").await;
    // No section of the console is theirs: they land on the portal, and the console shows no figures.
    browser.wait_for_title("Home — acme Inc").await;
    let to_console = browser
        .command(
            reqwest::Method::POST,
            "/elements",
            json!({ "using": "css selector", "value": "#to-console" }),
        )
        .await;
    assert_eq!(to_console, json!([]), "no way to the console offered");
    browser.open(&url(&app, "acme", "/admin")).await;
    browser.wait_for_title("Overview — acme Inc").await;
    let found = browser
        .command(
            reqwest::Method::POST,
            "/elements",
            json!({ "using": "css selector", "value": "#seats-used" }),
        )
        .await;
    assert_eq!(found, json!([]), "no figures for a member");
    browser.quit().await;
}

/// Signs `email` in from the console's address (which asks the shared sign-in page to come back to it)
/// and waits for the overview.
pub async fn sign_in(browser: &Browser, app: &TestApp, email: &str, password: &str) {
    browser.open(&url(app, "acme", "/admin/login")).await;
    browser.fill("input[name=email]", email).await;
    browser.fill("input[name=password]", password).await;
    browser.click("button[type=submit]").await;
    browser.wait_for_title("Overview — acme Inc").await;
}

#[tokio::test]
async fn compliance_filters_the_audit_log_opens_an_event_and_verifies_the_chain() {
    let app = crate::helpers::spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let carol = app.add_member(&acme, &owner, "carol", "compliance").await;
    for who in ["ada", "bob"] {
        app.invite("acme", &owner, &format!("{who}@acme.example"), "member")
            .await;
    }
    app.worker.seal_audit().await.unwrap();

    let browser = Browser::start().await;
    sign_in(&browser, &app, &carol.email, &carol.password).await;
    browser.click("nav a[href='/admin/audit']").await;
    browser.wait_for_title("Audit log — acme Inc").await;
    browser.fill("#f-action", "member.invited").await;
    browser.click("#filter").await;
    browser.wait_for_url("action=member.invited").await;
    let table = browser.text("#events").await;
    // carol's own invitation and the two others, newest first; nothing else.
    assert_eq!(table.matches("member.invited").count(), 3, "{table}");
    assert!(!table.contains("auth.login"), "{table}");
    assert!(
        table.find("bob@acme.example").unwrap() < table.find("ada@acme.example").unwrap(),
        "{table}"
    );
    // Compliance may export, and the links carry the filters.
    let export = browser
        .command(
            reqwest::Method::POST,
            "/element",
            json!({ "using": "css selector", "value": "#export-csv" }),
        )
        .await;
    let link = browser
        .command(
            reqwest::Method::GET,
            &format!(
                "/element/{}/attribute/href",
                export[ELEMENT].as_str().unwrap()
            ),
            Value::Null,
        )
        .await;
    assert!(
        link.as_str().unwrap().contains("action=member.invited"),
        "{link}"
    );
    browser.screenshot("audit-log").await;

    browser.click("#events tbody tr:first-child a").await;
    browser
        .wait_for_title("Event member.invited — acme Inc")
        .await;
    assert!(browser.text("#event").await.contains("bob@acme.example"));
    let metadata = browser.text("#metadata").await;
    assert!(metadata.contains("\"role\": \"member\""), "{metadata}");
    assert!(browser.text("#seal").await.starts_with('#'), "sealed");
    browser.screenshot("audit-event").await;

    browser
        .open(&url(&app, "acme", "/admin/audit/verify"))
        .await;
    browser
        .wait_for_title("Audit log integrity — acme Inc")
        .await;
    assert!(
        browser.text("#verdict").await.starts_with("Intact"),
        "{}",
        browser.text("#verdict").await
    );
    browser.screenshot("audit-verify").await;
    let whole = browser.text("#verdict").await;
    // A range of days verifies only its events; a day before them all has none; a bad day is refused.
    let day = |d: chrono::DateTime<chrono::Utc>| d.format("%Y-%m-%d").to_string();
    let now = trellis::clock::Clock::now(&app.clock);
    let (yesterday, today) = (day(now - chrono::Duration::days(1)), day(now));
    browser
        .open(&url(
            &app,
            "acme",
            &format!("/admin/audit/verify?from={yesterday}&to={today}"),
        ))
        .await;
    browser.wait_for_url("from=").await;
    assert_eq!(
        browser.text("#verdict").await,
        whole,
        "these days hold every event"
    );
    browser
        .open(&url(&app, "acme", "/admin/audit/verify?to=2020-01-01"))
        .await;
    browser.wait_for_url("to=2020").await;
    let none = browser.text("#verdict").await;
    assert!(
        none.starts_with("Intact: the log was not altered. 0 events"),
        "{none}"
    );
    browser
        .open(&url(&app, "acme", "/admin/audit/verify?from=someday"))
        .await;
    browser.wait_for_url("from=someday").await;
    assert!(
        browser
            .text("#verify-error")
            .await
            .contains("From must be a date")
    );

    // A bad date is said plainly, and changes nothing.
    browser
        .open(&url(&app, "acme", "/admin/audit?from=yesterday"))
        .await;
    assert!(
        browser
            .text("#filter-error")
            .await
            .contains("From must be a date")
    );
    browser.quit().await;

    // A member sees no audit log: no link, and the page refuses.
    let member = app.add_member(&acme, &owner, "plain", "member").await;
    let browser = Browser::start().await;
    sign_in(&browser, &app, &member.email, &member.password).await;
    let links = browser
        .command(
            reqwest::Method::POST,
            "/elements",
            json!({ "using": "css selector", "value": "nav a[href='/admin/audit']" }),
        )
        .await;
    assert_eq!(links, json!([]));
    browser.quit().await;
    let session = app.login("acme", &member).await;
    let refused = app
        .request(reqwest::Method::GET, "acme", "/admin/audit")
        .header("cookie", format!("trellis_session={}", session.access))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), reqwest::StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_admin_invites_from_the_members_page_and_compliance_only_reads_it() {
    let app = crate::helpers::spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let carol = app.add_member(&acme, &owner, "carol", "compliance").await;
    let member = app.add_member(&acme, &owner, "plain", "member").await;

    let browser = Browser::start().await;
    sign_in(&browser, &app, &acme.owner.email, &acme.owner.password).await;
    browser.click("nav a[href='/admin/members']").await;
    browser.wait_for_title("Members — acme Inc").await;
    browser.fill("#i-email", "newbie@acme.example").await;
    browser.click("#invite").await;
    browser.wait_for_url("invited=newbie").await;
    assert_eq!(
        browser.text("#notice").await,
        "Invitation sent to newbie@acme.example."
    );
    browser.fill("#m-q", "newbie").await;
    browser.click("#search").await;
    browser.wait_for_url("q=newbie").await;
    let table = browser.text("#members").await;
    assert!(
        table.contains("newbie@acme.example member invited"),
        "{table}"
    );
    assert!(
        !table.contains("carol@"),
        "the search narrows the list: {table}"
    );
    browser.open(&url(&app, "acme", "/admin/members")).await;
    browser.wait_for_title("Members — acme Inc").await;
    browser.screenshot("members").await;
    browser.quit().await;
    // The invitation is the service's: audited, with its mail queued.
    app.assert_audited(acme.id, &["member.invited"]).await;

    // Compliance reads the list but is offered no invitation.
    let browser = Browser::start().await;
    sign_in(&browser, &app, &carol.email, &carol.password).await;
    browser.open(&url(&app, "acme", "/admin/members")).await;
    browser.wait_for_title("Members — acme Inc").await;
    assert!(
        browser
            .text("#members")
            .await
            .contains("newbie@acme.example")
    );
    let forms = browser
        .command(
            reqwest::Method::POST,
            "/elements",
            json!({ "using": "css selector", "value": "#i-email" }),
        )
        .await;
    assert_eq!(forms, json!([]));
    browser.quit().await;

    // A member is told plainly that the page is not for their role.
    let browser = Browser::start().await;
    sign_in(&browser, &app, &member.email, &member.password).await;
    browser.open(&url(&app, "acme", "/admin/members")).await;
    browser.wait_for_title("Not allowed").await;
    assert!(browser.text("main").await.contains("members:read"));
    browser.quit().await;

    // The form without the session's CSRF token changes nothing.
    let session = app.login("acme", &carol).await;
    let forged = app
        .request(reqwest::Method::POST, "acme", "/admin/members/invite")
        .header("cookie", format!("trellis_session={}", session.access))
        .form(&[
            ("csrf_token", "forged"),
            ("email", "x@acme.example"),
            ("role", "admin"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), reqwest::StatusCode::FORBIDDEN);
    let people: Value = app
        .get("acme", "/api/v1/members?q=x%40acme", &owner.access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(people["items"], json!([]));
}
