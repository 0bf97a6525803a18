//! The career module through HTTP as the app role: each organization's own taxonomy, ratings and
//! effective levels, readiness and gaps, who may see and rate whom, merges, goals and positions.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, TestTenant, TestUser, expect_problem, spawn_app};

/// Tenant A's career resources for the isolation matrix.
pub struct CareerFixtures {
    pub group_id: String,
    pub skill_id: String,
    pub role_id: String,
    pub goal_id: String,
}

pub async fn fixtures(app: &TestApp, owner: &Session, member: &Session) -> CareerFixtures {
    let area = ok(app
        .post(
            "acme",
            "/api/v1/career/skill-groups",
            &owner.access,
            &json!({ "name": "Acme Secret Area" }),
        )
        .await)
    .await;
    let specialty = ok(app
        .post(
            "acme",
            "/api/v1/career/skill-groups",
            &owner.access,
            &json!({ "name": "Acme Secret Specialty", "parent_id": area["id"] }),
        )
        .await)
    .await;
    let skill = ok(app
        .post(
            "acme",
            "/api/v1/career/skills",
            &owner.access,
            &json!({ "name": "acme-secret-skill", "group_id": specialty["id"] }),
        )
        .await)
    .await;
    let role = create_role(
        app,
        "acme",
        owner,
        "Acme Secret Career Role",
        &[(&skill, 3, 5, true)],
    )
    .await;
    ok(app
        .send_json(
            Method::PUT,
            "acme",
            &format!("/api/v1/career/me/skills/{}", skill["id"].as_str().unwrap()),
            &member.access,
            &json!({ "level": 4 }),
        )
        .await)
    .await;
    let goal = ok(app
        .post(
            "acme",
            "/api/v1/career/me/goals",
            &member.access,
            &json!({ "target_role_id": role["id"] }),
        )
        .await)
    .await;
    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
    CareerFixtures {
        group_id: id(&specialty),
        skill_id: id(&skill),
        role_id: id(&role),
        goal_id: id(&goal),
    }
}

/// The body of a 2xx answer.
pub(crate) async fn ok(response: reqwest::Response) -> Value {
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{status}: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// A starter skill of the organization by exact name.
pub(crate) async fn skill_named(app: &TestApp, slug: &str, session: &Session, name: &str) -> Value {
    let page = ok(app
        .get(
            slug,
            &format!("/api/v1/career/skills?q={}&limit=200", urlencode(name)),
            &session.access,
        )
        .await)
    .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no skill {name} in {page}"))
        .clone()
}

fn urlencode(text: &str) -> String {
    text.replace(' ', "%20")
        .replace('#', "%23")
        .replace('+', "%2B")
}

/// A career role requiring `(skill, min_level, weight, critical)`.
pub(crate) async fn create_role(
    app: &TestApp,
    slug: &str,
    session: &Session,
    title: &str,
    requirements: &[(&Value, i64, i64, bool)],
) -> Value {
    let role = ok(app
        .post(
            slug,
            "/api/v1/career/roles",
            &session.access,
            &json!({ "title": title, "track": "Engineering", "level": 3 }),
        )
        .await)
    .await;
    let list: Vec<Value> = requirements
        .iter()
        .map(|(skill, min_level, weight, critical)| {
            json!({ "skill_id": skill["id"], "min_level": min_level, "weight": weight, "critical": critical })
        })
        .collect();
    ok(app
        .send_json(
            Method::PUT,
            slug,
            &format!(
                "/api/v1/career/roles/{}/requirements",
                role["id"].as_str().unwrap()
            ),
            &session.access,
            &json!({ "requirements": list }),
        )
        .await)
    .await
}

/// Makes `manager` the direct manager of `report`, the way a directory does it: over SCIM.
pub(crate) async fn set_manager(
    app: &TestApp,
    tenant: &TestTenant,
    report: &TestUser,
    manager: &TestUser,
) {
    let token = crate::scim::scim_token(app, tenant).await;
    let patch = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "Add",
            "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            "value": manager.id.to_string() }],
    });
    let (status, body) = crate::scim::scim(
        app,
        &tenant.slug,
        &token,
        Method::PATCH,
        &format!("/Users/{}", report.id),
        Some(patch),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn rate(
    app: &TestApp,
    rater: &Session,
    member: &TestUser,
    skill: &Value,
    level: i64,
    source: &str,
) -> reqwest::Response {
    app.post(
        "acme",
        &format!("/api/v1/career/people/{}/ratings", member.id),
        &rater.access,
        &json!({ "skill_id": skill["id"], "level": level, "source": source }),
    )
    .await
}

pub(crate) async fn self_rate(
    app: &TestApp,
    session: &Session,
    skill: &Value,
    body: Value,
) -> Value {
    ok(app
        .send_json(
            Method::PUT,
            "acme",
            &format!("/api/v1/career/me/skills/{}", skill["id"].as_str().unwrap()),
            &session.access,
            &body,
        )
        .await)
    .await
}

#[tokio::test]
async fn every_organization_starts_from_its_own_copy_of_the_starter_taxonomy() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let globex = app.create_tenant("globex").await;
    let a = app.login_owner(&acme).await;
    let g = app.login_owner(&globex).await;

    let groups = ok(app
        .get("acme", "/api/v1/career/skill-groups", &a.access)
        .await)
    .await;
    let areas = groups["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["parent_id"].is_null())
        .count();
    assert!(areas >= 12, "{areas} function areas");
    let mut count = 0;
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/career/skills?limit=200&cursor={c}"),
            None => "/api/v1/career/skills?limit=200".into(),
        };
        let page = ok(app.get("acme", &path, &a.access).await).await;
        count += page["items"].as_array().unwrap().len();
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert!(count >= 300, "{count} starter skills");
    let competencies = ok(app
        .get(
            "acme",
            "/api/v1/career/skills?kind=competency&limit=200",
            &a.access,
        )
        .await)
    .await;
    assert!(competencies["items"].as_array().unwrap().len() >= 20);

    // Acme renames, retires and adds; Globex's taxonomy is untouched.
    let rust = skill_named(&app, "acme", &a, "Rust").await;
    assert_eq!(rust["area"]["name"], "Software Engineering");
    assert_eq!(rust["starter"], true);
    let renamed = ok(app
        .send_json(
            Method::PATCH,
            "acme",
            &format!("/api/v1/career/skills/{}", rust["id"].as_str().unwrap()),
            &a.access,
            &json!({ "name": "Rust (systems)" }),
        )
        .await)
    .await;
    assert_eq!(renamed["name"], "Rust (systems)");
    let go = skill_named(&app, "acme", &a, "Go").await;
    let retired = ok(app
        .send_json(
            Method::PATCH,
            "acme",
            &format!("/api/v1/career/skills/{}", go["id"].as_str().unwrap()),
            &a.access,
            &json!({ "status": "retired" }),
        )
        .await)
    .await;
    assert_eq!(retired["status"], "retired");
    let added = ok(app
        .post(
            "acme",
            "/api/v1/career/skills",
            &a.access,
            &json!({ "name": "Widget Forging", "group_id": rust["group"]["id"], "description": "Acme's own" }),
        )
        .await)
    .await;
    assert_eq!(added["starter"], false);

    let globex_rust = skill_named(&app, "globex", &g, "Rust").await;
    assert_ne!(globex_rust["id"], rust["id"]);
    skill_named(&app, "globex", &g, "Go").await;
    let search = ok(app
        .get("globex", "/api/v1/career/skills?q=widget", &g.access)
        .await)
    .await;
    assert_eq!(search["items"], json!([]));
    let retired_list = ok(app
        .get("globex", "/api/v1/career/skills?status=retired", &g.access)
        .await)
    .await;
    assert_eq!(retired_list["items"], json!([]));
    // Acme's retired Go is listed as retired there, and no longer offered.
    let acme_retired = ok(app
        .get("acme", "/api/v1/career/skills?status=retired", &a.access)
        .await)
    .await;
    assert_eq!(acme_retired["items"][0]["name"], "Go");

    // Names stay unique in the organization, case aside; bad input changes nothing.
    let taken = app
        .post(
            "acme",
            "/api/v1/career/skills",
            &a.access,
            &json!({ "name": "widget forging", "group_id": rust["group"]["id"] }),
        )
        .await;
    assert_eq!(
        expect_problem(taken, StatusCode::CONFLICT).await,
        "skill_exists"
    );
    let on_area = app
        .post(
            "acme",
            "/api/v1/career/skills",
            &a.access,
            &json!({ "name": "Loose", "group_id": rust["area"]["id"] }),
        )
        .await;
    assert_eq!(
        expect_problem(on_area, StatusCode::UNPROCESSABLE_ENTITY).await,
        "validation_failed"
    );
    app.assert_audited(
        acme.id,
        &["skill.updated", "skill.retired", "skill.created"],
    )
    .await;
    let globex_actions = app.audit_actions(globex.id).await;
    assert!(!globex_actions.iter().any(|a| a.starts_with("skill")));
}

#[tokio::test]
async fn readiness_follows_weighted_ratings_and_a_missing_critical_skill_caps_it() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let hr_user = app.add_member(&acme, &owner, "hana", "hr").await;
    let lead = app.add_member(&acme, &owner, "lead", "manager").await;
    let ada = app.add_member(&acme, &owner, "ada", "member").await;
    set_manager(&app, &acme, &ada, &lead).await;
    let hr = app.login("acme", &hr_user).await;
    let lead_session = app.login("acme", &lead).await;
    let ada_session = app.login("acme", &ada).await;

    let rust = skill_named(&app, "acme", &hr, "Rust").await;
    let sql = skill_named(&app, "acme", &hr, "SQL").await;
    let k8s = skill_named(&app, "acme", &hr, "Kubernetes").await;
    let role = create_role(
        &app,
        "acme",
        &hr,
        "Staff Engineer",
        &[
            (&rust, 4, 5, true),
            (&sql, 3, 3, false),
            (&k8s, 3, 2, false),
        ],
    )
    .await;
    assert_eq!(role["requirements"][0]["skill"]["name"], "Rust");

    // Ada rates herself Rust 3 and SQL 4, wants to grow in Kubernetes.
    self_rate(&app, &ada_session, &rust, json!({ "level": 3 })).await;
    self_rate(&app, &ada_session, &sql, json!({ "level": 4 })).await;
    let me = self_rate(&app, &ada_session, &k8s, json!({ "want_to_develop": true })).await;
    let k8s_entry = me["skills"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["skill"]["name"] == "Kubernetes")
        .unwrap();
    assert_eq!(k8s_entry["want_to_develop"], true);
    assert_eq!(k8s_entry["level"], 0.0);

    let goal = ok(app
        .post(
            "acme",
            "/api/v1/career/me/goals",
            &ada_session.access,
            &json!({ "target_role_id": role["id"], "target_date": "2099-06-30" }),
        )
        .await)
    .await;
    // SQL (3) met of 10: 30%, and Rust is critical and unmet: capped at 40 changes nothing.
    assert_eq!(goal["readiness"]["score"], 30);
    assert_eq!(goal["readiness"]["critical_missing"], json!(["Rust"]));
    let gaps: Vec<&str> = goal["readiness"]["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["skill"].as_str().unwrap())
        .collect();
    // Kubernetes: 2 × 3 = 6; Rust: 5 × 1 = 5.
    assert_eq!(gaps, ["Kubernetes", "Rust"]);

    // Her manager rates Rust 5: (3 × 1 + 5 × 3) / 4 = 4.5, met.
    let rated = rate(&app, &lead_session, &ada, &rust, 5, "manager").await;
    assert_eq!(rated.status(), StatusCode::CREATED);
    assert_eq!(ok(rated).await["level"], 4.5);
    // HR records an assessment of Kubernetes at 3: met. Everything is met now.
    let assessed = rate(&app, &hr, &ada, &k8s, 3, "assessment").await;
    assert_eq!(assessed.status(), StatusCode::CREATED);
    let me = ok(app
        .get("acme", "/api/v1/career/me", &ada_session.access)
        .await)
    .await;
    assert_eq!(me["goal"]["readiness"]["score"], 100);
    assert_eq!(me["top_gaps"], json!([]));
    let rust_entry = me["skills"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["skill"]["name"] == "Rust")
        .unwrap();
    assert_eq!(rust_entry["level"], 4.5);
    assert_eq!(rust_entry["ratings"].as_array().unwrap().len(), 2);
    assert_eq!(rust_entry["ratings"][0]["source"], "manager");

    // A peer's low SQL rating: (4 × 1 + 1 × 2) / 3 = 2, below 3; 7 of 10 met, no critical gap.
    let hr_as_peer = rate(&app, &hr, &ada, &sql, 1, "peer").await;
    assert_eq!(hr_as_peer.status(), StatusCode::CREATED);
    let readiness = ok(app
        .get(
            "acme",
            &format!(
                "/api/v1/career/roles/{}/readiness",
                role["id"].as_str().unwrap()
            ),
            &ada_session.access,
        )
        .await)
    .await;
    assert_eq!(readiness["readiness"]["score"], 70);
    assert_eq!(
        readiness["readiness"]["explanation"],
        "requirements met weigh 7 of 10: 70%"
    );
    assert_eq!(readiness["readiness"]["gaps"][0]["skill"], "SQL");
    assert_eq!(readiness["readiness"]["gaps"][0]["shortfall"], 1.0);

    // The manager's team view shows the same.
    let team = ok(app
        .get("acme", "/api/v1/career/team", &lead_session.access)
        .await)
    .await;
    assert_eq!(team["items"].as_array().unwrap().len(), 1);
    assert_eq!(team["items"][0]["member"]["id"], ada.id.to_string());
    assert_eq!(team["items"][0]["readiness"], 70);
    assert_eq!(team["items"][0]["want_to_develop"], 1);

    app.assert_audited(
        acme.id,
        &[
            "career_role.created",
            "career_role.requirements_set",
            "skill_profile.added",
            "skill_profile.rated",
            "career_goal.created",
        ],
    )
    .await;
}

#[tokio::test]
async fn a_profile_is_seen_by_its_member_their_manager_and_career_readers_only() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let lead = app.add_member(&acme, &owner, "lead", "manager").await;
    let other_lead = app.add_member(&acme, &owner, "other-lead", "manager").await;
    let ada = app.add_member(&acme, &owner, "ada", "member").await;
    let bob = app.add_member(&acme, &owner, "bob", "member").await;
    let hr_user = app.add_member(&acme, &owner, "hana", "hr").await;
    set_manager(&app, &acme, &ada, &lead).await;
    let lead_s = app.login("acme", &lead).await;
    let other_s = app.login("acme", &other_lead).await;
    let ada_s = app.login("acme", &ada).await;
    let bob_s = app.login("acme", &bob).await;
    let hr_s = app.login("acme", &hr_user).await;
    let rust = skill_named(&app, "acme", &ada_s, "Rust").await;
    self_rate(&app, &ada_s, &rust, json!({ "level": 2 })).await;

    let profile = |session: &Session| {
        let url = format!("/api/v1/career/people/{}", ada.id);
        let token = session.access.clone();
        let app = &app;
        async move { app.get("acme", &url, &token).await }
    };
    let own = ok(profile(&ada_s).await).await;
    assert_eq!(own["relation"], "own");
    let as_manager = ok(profile(&lead_s).await).await;
    assert_eq!(as_manager["relation"], "manager");
    assert_eq!(as_manager["skills"][0]["level"], 2.0);
    let as_hr = ok(profile(&hr_s).await).await;
    assert_eq!(as_hr["relation"], "reader");
    for outsider in [&bob_s, &other_s] {
        assert_eq!(
            expect_problem(profile(outsider).await, StatusCode::FORBIDDEN).await,
            "not_your_report"
        );
    }
    // Readiness of a colleague: the same rule.
    let role = create_role(
        &app,
        "acme",
        &hr_s,
        "Senior Engineer",
        &[(&rust, 3, 1, false)],
    )
    .await;
    let url = format!(
        "/api/v1/career/roles/{}/readiness?member_id={}",
        role["id"].as_str().unwrap(),
        ada.id
    );
    assert_eq!(
        app.get("acme", &url, &lead_s.access).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        expect_problem(
            app.get("acme", &url, &bob_s.access).await,
            StatusCode::FORBIDDEN
        )
        .await,
        "not_your_report"
    );

    // Ratings: a manager rates only their reports, assessments need career:manage, a self rating goes
    // through the member's own profile. Refusals record nothing.
    let before = app.audit_actions(acme.id).await.len();
    assert_eq!(
        expect_problem(
            rate(&app, &other_s, &ada, &rust, 5, "manager").await,
            StatusCode::FORBIDDEN
        )
        .await,
        "not_your_report"
    );
    assert_eq!(
        expect_problem(
            rate(&app, &bob_s, &ada, &rust, 5, "assessment").await,
            StatusCode::FORBIDDEN
        )
        .await,
        "forbidden"
    );
    assert_eq!(
        expect_problem(
            rate(&app, &ada_s, &ada, &rust, 5, "self").await,
            StatusCode::UNPROCESSABLE_ENTITY
        )
        .await,
        "validation_failed"
    );
    assert_eq!(
        expect_problem(
            rate(&app, &ada_s, &ada, &rust, 5, "peer").await,
            StatusCode::FORBIDDEN
        )
        .await,
        "not_a_peer"
    );
    assert_eq!(
        expect_problem(
            rate(&app, &lead_s, &ada, &rust, 6, "manager").await,
            StatusCode::UNPROCESSABLE_ENTITY
        )
        .await,
        "validation_failed"
    );
    assert_eq!(app.audit_actions(acme.id).await.len(), before);
    let still = ok(profile(&ada_s).await).await;
    assert_eq!(still["skills"][0]["ratings"].as_array().unwrap().len(), 1);
    // A peer may rate.
    assert_eq!(
        rate(&app, &bob_s, &ada, &rust, 3, "peer").await.status(),
        StatusCode::CREATED
    );
    // Only career:manage shapes the taxonomy and the roles.
    let refused = app
        .post(
            "acme",
            "/api/v1/career/roles",
            &lead_s.access,
            &json!({ "title": "Chief Everything" }),
        )
        .await;
    assert_eq!(
        expect_problem(refused, StatusCode::FORBIDDEN).await,
        "forbidden"
    );
}

#[tokio::test]
async fn merging_a_skill_moves_profiles_ratings_and_requirements() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let ada = app.add_member(&acme, &owner, "ada", "member").await;
    let bob = app.add_member(&acme, &owner, "bob", "member").await;
    let ada_s = app.login("acme", &ada).await;
    let bob_s = app.login("acme", &bob).await;
    let js = skill_named(&app, "acme", &owner, "JavaScript").await;
    let ts = skill_named(&app, "acme", &owner, "TypeScript").await;
    // Ada has both (JavaScript wanted), Bob JavaScript only; a role requires both.
    self_rate(
        &app,
        &ada_s,
        &js,
        json!({ "level": 4, "want_to_develop": true }),
    )
    .await;
    self_rate(&app, &ada_s, &ts, json!({ "level": 2 })).await;
    self_rate(&app, &bob_s, &js, json!({ "level": 3 })).await;
    let role = create_role(
        &app,
        "acme",
        &owner,
        "Frontend Engineer",
        &[(&js, 3, 2, true), (&ts, 4, 5, false)],
    )
    .await;

    let merged = ok(app
        .post(
            "acme",
            &format!("/api/v1/career/skills/{}/merge", js["id"].as_str().unwrap()),
            &owner.access,
            &json!({ "into": ts["id"] }),
        )
        .await)
    .await;
    assert_eq!(merged["skill"]["status"], "merged");
    assert_eq!(merged["skill"]["merged_into"], ts["id"]);
    assert_eq!(
        merged["moved"],
        json!({ "profile_entries": 2, "requirements": 1 })
    );

    let ada_me = ok(app.get("acme", "/api/v1/career/me", &ada_s.access).await).await;
    let skills = ada_me["skills"].as_array().unwrap();
    assert_eq!(skills.len(), 1);
    assert_eq!(skills[0]["skill"]["name"], "TypeScript");
    assert_eq!(skills[0]["want_to_develop"], true);
    // Both self ratings kept; the later (2) counts.
    assert_eq!(skills[0]["ratings"].as_array().unwrap().len(), 2);
    assert_eq!(skills[0]["level"], 2.0);
    let bob_me = ok(app.get("acme", "/api/v1/career/me", &bob_s.access).await).await;
    assert_eq!(bob_me["skills"][0]["skill"]["name"], "TypeScript");
    assert_eq!(bob_me["skills"][0]["level"], 3.0);
    let role = ok(app
        .get(
            "acme",
            &format!("/api/v1/career/roles/{}", role["id"].as_str().unwrap()),
            &owner.access,
        )
        .await)
    .await;
    // The stricter of the two: level 4, weight 5, critical.
    assert_eq!(
        role["requirements"],
        json!([{ "skill": { "id": ts["id"], "name": "TypeScript" }, "skill_status": "active",
                 "min_level": 4, "weight": 5, "critical": true }])
    );
    // A merged skill is history: no more changes, no new ratings, not merged twice.
    let patch = app
        .send_json(
            Method::PATCH,
            "acme",
            &format!("/api/v1/career/skills/{}", js["id"].as_str().unwrap()),
            &owner.access,
            &json!({ "name": "JS" }),
        )
        .await;
    assert_eq!(
        expect_problem(patch, StatusCode::CONFLICT).await,
        "skill_merged"
    );
    let rerated = app
        .send_json(
            Method::PUT,
            "acme",
            &format!("/api/v1/career/me/skills/{}", js["id"].as_str().unwrap()),
            &bob_s.access,
            &json!({ "level": 5 }),
        )
        .await;
    assert_eq!(rerated.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let again = app
        .post(
            "acme",
            &format!("/api/v1/career/skills/{}/merge", js["id"].as_str().unwrap()),
            &owner.access,
            &json!({ "into": ts["id"] }),
        )
        .await;
    assert_eq!(
        expect_problem(again, StatusCode::CONFLICT).await,
        "skill_merged"
    );
    app.assert_audited(acme.id, &["skill.merged"]).await;
}

#[tokio::test]
async fn goals_and_positions_keep_their_history() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let ada = app.add_member(&acme, &owner, "ada", "member").await;
    let ada_s = app.login("acme", &ada).await;
    let junior = create_role(&app, "acme", &owner, "Engineer II", &[]).await;
    let senior = create_role(&app, "acme", &owner, "Senior Engineer", &[]).await;
    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();

    // Transitions: Engineer II -> Senior Engineer.
    let with_next = ok(app
        .send_json(
            Method::PUT,
            "acme",
            &format!("/api/v1/career/roles/{}/transitions", id(&junior)),
            &owner.access,
            &json!({ "next_role_ids": [senior["id"]] }),
        )
        .await)
    .await;
    assert_eq!(with_next["next_roles"][0]["name"], "Senior Engineer");
    let to_itself = app
        .send_json(
            Method::PUT,
            "acme",
            &format!("/api/v1/career/roles/{}/transitions", id(&junior)),
            &owner.access,
            &json!({ "next_role_ids": [junior["id"]] }),
        )
        .await;
    assert_eq!(to_itself.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Positions: HR records Engineer II, then Senior Engineer; the first ends when the second starts.
    let position = |role: &Value, on: &str| {
        let body = json!({ "role_id": role["id"], "started_on": on });
        let url = format!("/api/v1/career/people/{}/position", ada.id);
        let app = &app;
        let token = owner.access.clone();
        async move {
            app.send_json(Method::PUT, "acme", &url, &token, &body)
                .await
        }
    };
    ok(position(&junior, "2025-01-01").await).await;
    let history = ok(position(&senior, "2026-06-01").await).await;
    assert_eq!(history["items"][0]["role"]["name"], "Senior Engineer");
    assert_eq!(history["items"][1]["ended_on"], "2026-06-01");
    let earlier = position(&junior, "2026-01-01").await;
    assert_eq!(earlier.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let by_member = app
        .send_json(
            Method::PUT,
            "acme",
            &format!("/api/v1/career/people/{}/position", ada.id),
            &ada_s.access,
            &json!({ "role_id": junior["id"], "started_on": "2026-07-01" }),
        )
        .await;
    assert_eq!(by_member.status(), StatusCode::FORBIDDEN);

    // Goals: one active at a time; closed goals are history.
    let goal = ok(app
        .post(
            "acme",
            "/api/v1/career/me/goals",
            &ada_s.access,
            &json!({ "target_role_id": senior["id"], "target_date": "2099-01-01" }),
        )
        .await)
    .await;
    assert_eq!(goal["readiness"]["score"], 100);
    let second = app
        .post(
            "acme",
            "/api/v1/career/me/goals",
            &ada_s.access,
            &json!({ "target_role_id": junior["id"] }),
        )
        .await;
    assert_eq!(
        expect_problem(second, StatusCode::CONFLICT).await,
        "active_goal_exists"
    );
    let past = app
        .send_json(
            Method::PATCH,
            "acme",
            &format!("/api/v1/career/me/goals/{}", id(&goal)),
            &ada_s.access,
            &json!({ "target_date": "2001-01-01" }),
        )
        .await;
    assert_eq!(past.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let cleared = ok(app
        .send_json(
            Method::PATCH,
            "acme",
            &format!("/api/v1/career/me/goals/{}", id(&goal)),
            &ada_s.access,
            &json!({ "target_date": null }),
        )
        .await)
    .await;
    assert_eq!(cleared["target_date"], Value::Null);
    let achieved = ok(app
        .send_json(
            Method::PATCH,
            "acme",
            &format!("/api/v1/career/me/goals/{}", id(&goal)),
            &ada_s.access,
            &json!({ "status": "achieved" }),
        )
        .await)
    .await;
    assert_eq!(achieved["status"], "achieved");
    assert!(achieved["closed_at"].is_string());
    assert_eq!(achieved["readiness"], Value::Null);
    let reopen = app
        .send_json(
            Method::PATCH,
            "acme",
            &format!("/api/v1/career/me/goals/{}", id(&goal)),
            &ada_s.access,
            &json!({ "note": "again" }),
        )
        .await;
    assert_eq!(
        expect_problem(reopen, StatusCode::CONFLICT).await,
        "goal_closed"
    );
    ok(app
        .post(
            "acme",
            "/api/v1/career/me/goals",
            &ada_s.access,
            &json!({ "target_role_id": junior["id"] }),
        )
        .await)
    .await;
    let goals = ok(app
        .get("acme", "/api/v1/career/me/goals", &ada_s.access)
        .await)
    .await;
    let statuses: Vec<&str> = goals["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["active", "achieved"]);

    // A role that positions and goals name is retired, not deleted.
    let delete = app
        .delete(
            "acme",
            &format!("/api/v1/career/roles/{}", id(&senior)),
            &owner.access,
        )
        .await;
    assert_eq!(
        expect_problem(delete, StatusCode::CONFLICT).await,
        "role_in_use"
    );
    let unused = create_role(&app, "acme", &owner, "Unused Role", &[]).await;
    let deleted = app
        .delete(
            "acme",
            &format!("/api/v1/career/roles/{}", id(&unused)),
            &owner.access,
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    app.assert_audited(
        acme.id,
        &[
            "career_role.transitions_set",
            "career_position.set",
            "career_goal.achieved",
            "career_role.deleted",
        ],
    )
    .await;
}

#[tokio::test]
async fn the_career_profile_keeps_its_shape() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let rust = skill_named(&app, "acme", &owner, "Rust").await;
    let sql = skill_named(&app, "acme", &owner, "SQL").await;
    let role = create_role(
        &app,
        "acme",
        &owner,
        "Staff Engineer",
        &[(&rust, 4, 5, true), (&sql, 3, 3, false)],
    )
    .await;
    insta::assert_json_snapshot!("career_role", role, {
        ".id" => "[id]", ".created_at" => "[time]", ".updated_at" => "[time]",
        ".requirements[].skill.id" => "[id]",
    });
    self_rate(
        &app,
        &owner,
        &rust,
        json!({ "level": 3, "want_to_develop": true }),
    )
    .await;
    ok(app
        .post(
            "acme",
            "/api/v1/career/me/goals",
            &owner.access,
            &json!({ "target_role_id": role["id"], "target_date": "2099-12-31" }),
        )
        .await)
    .await;
    let me = ok(app.get("acme", "/api/v1/career/me", &owner.access).await).await;
    insta::assert_json_snapshot!("career_me", me, {
        ".member.id" => "[id]",
        ".skills[].skill.id" => "[id]", ".skills[].added_at" => "[time]",
        ".skills[].ratings[].rater_id" => "[id]", ".skills[].ratings[].rated_at" => "[time]",
        ".goal.id" => "[id]", ".goal.target_role.id" => "[id]",
        ".goal.created_at" => "[time]", ".goal.updated_at" => "[time]",
        ".goal.readiness.requirements[].skill_id" => "[id]", ".goal.readiness.gaps[].skill_id" => "[id]",
        ".top_gaps[].skill_id" => "[id]",
    });
}
