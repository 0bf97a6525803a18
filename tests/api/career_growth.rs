//! Career growth through HTTP as the app role: the course catalogue and the learning each gap lists,
//! enrolment and completion as evidence, milestones and their verification, portfolio visibility,
//! next-role suggestions and the HR skill heat-map (both with k-anonymity).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    career::{create_role, ok, self_rate, set_manager, skill_named},
    helpers::{Session, TestApp, TestTenant, TestUser, expect_problem, spawn_app, spawn_app_with},
};

/// Tenant A's growth resources for the isolation matrix.
pub struct GrowthFixtures {
    pub course_id: String,
    pub enrolment_id: String,
    pub milestone_id: String,
    pub project_id: String,
}

pub async fn fixtures(app: &TestApp, owner: &Session, member: &Session) -> GrowthFixtures {
    let skill = skill_named(app, "acme", owner, "Python").await;
    let course = ok(app
        .post(
            "acme",
            "/api/v1/career/courses",
            &owner.access,
            &json!({ "title": "Acme Secret Course", "skills": [{ "skill_id": skill["id"], "level": 3 }] }),
        )
        .await)
    .await;
    let enrolment = enrol(app, "acme", member, &course).await;
    let milestone = ok(app
        .post(
            "acme",
            "/api/v1/career/me/milestones",
            &member.access,
            &json!({ "kind": "certification_earned", "title": "Acme Secret Certificate", "achieved_on": "2026-01-15" }),
        )
        .await)
    .await;
    let project = ok(app
        .post(
            "acme",
            "/api/v1/career/me/projects",
            &member.access,
            &json!({ "title": "Acme Secret Project", "visibility": "org", "skill_ids": [skill["id"]] }),
        )
        .await)
    .await;
    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
    GrowthFixtures {
        course_id: id(&course),
        enrolment_id: id(&enrolment),
        milestone_id: id(&milestone),
        project_id: id(&project),
    }
}

async fn create_course(
    app: &TestApp,
    session: &Session,
    title: &str,
    minutes: i64,
    skills: &[(&Value, i64)],
) -> Value {
    let skills: Vec<Value> = skills
        .iter()
        .map(|(skill, level)| json!({ "skill_id": skill["id"], "level": level }))
        .collect();
    ok(app
        .post(
            "acme",
            "/api/v1/career/courses",
            &session.access,
            &json!({ "title": title, "provider": "Academy", "duration_minutes": minutes,
                     "url": "https://academy.example.com/c", "skills": skills }),
        )
        .await)
    .await
}

async fn enrol(app: &TestApp, slug: &str, session: &Session, course: &Value) -> Value {
    ok(app
        .post(
            slug,
            &format!(
                "/api/v1/career/courses/{}/enrolment",
                course["id"].as_str().unwrap()
            ),
            &session.access,
            &json!({}),
        )
        .await)
    .await
}

async fn patch(app: &TestApp, session: &Session, path: &str, body: Value) -> reqwest::Response {
    app.send_json(Method::PATCH, "acme", path, &session.access, &body)
        .await
}

/// The titles of the courses listed with the gap of `skill` in `gaps`.
fn learning_for(gaps: &Value, skill: &str) -> Vec<(String, bool)> {
    gaps.as_array()
        .unwrap()
        .iter()
        .find(|g| g["skill"] == skill)
        .unwrap_or_else(|| panic!("no gap for {skill} in {gaps}"))["learning"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["title"].as_str().unwrap().to_owned(),
                l["closes_gap"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn gaps_list_courses_and_completing_one_raises_the_self_rating_as_evidence() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let user = app.add_member(&acme, &owner, "learner", "member").await;
    let learner = app.login("acme", &user).await;
    let rust = skill_named(&app, "acme", &owner, "Rust").await;
    let k8s = skill_named(&app, "acme", &owner, "Kubernetes").await;
    let role = create_role(
        &app,
        "acme",
        &owner,
        "Systems Engineer",
        &[(&rust, 3, 5, true), (&k8s, 2, 1, false)],
    )
    .await;
    let production = create_course(&app, &owner, "Rust in Production", 480, &[(&rust, 3)]).await;
    let basics = create_course(&app, &owner, "Rust Basics", 60, &[(&rust, 2)]).await;
    let advanced = create_course(&app, &owner, "Advanced Rust", 900, &[(&rust, 5)]).await;
    let kube = create_course(&app, &owner, "Kubernetes Fundamentals", 240, &[(&k8s, 3)]).await;
    // A retired course is neither offered nor listed with gaps.
    let retired = ok(patch(
        &app,
        &owner,
        &format!(
            "/api/v1/career/courses/{}",
            advanced["id"].as_str().unwrap()
        ),
        json!({ "status": "retired" }),
    )
    .await)
    .await;
    assert_eq!(retired["status"], "retired");
    let catalogue = ok(app
        .get(
            "acme",
            &format!(
                "/api/v1/career/courses?skill_id={}",
                rust["id"].as_str().unwrap()
            ),
            &learner.access,
        )
        .await)
    .await;
    let titles: Vec<&str> = catalogue["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Rust Basics", "Rust in Production"]);

    // A member cannot change the catalogue; bad input is refused and changes nothing.
    let denied = app
        .post(
            "acme",
            "/api/v1/career/courses",
            &learner.access,
            &json!({ "title": "Mine" }),
        )
        .await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    for bad in [
        json!({ "title": "Bad URL", "url": "javascript:alert(1)" }),
        json!({ "title": "Bad level", "skills": [{ "skill_id": rust["id"], "level": 6 }] }),
        json!({ "title": "Twice", "skills": [{ "skill_id": rust["id"], "level": 2 }, { "skill_id": rust["id"], "level": 3 }] }),
        json!({ "title": "" }),
    ] {
        let response = app
            .post("acme", "/api/v1/career/courses", &owner.access, &bad)
            .await;
        assert_eq!(
            expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await,
            "validation_failed",
            "{bad}"
        );
    }
    let duplicate = app
        .post(
            "acme",
            "/api/v1/career/courses",
            &owner.access,
            &json!({ "title": "rust in production", "provider": "ACADEMY" }),
        )
        .await;
    assert_eq!(
        expect_problem(duplicate, StatusCode::CONFLICT).await,
        "course_exists"
    );

    // The goal's gaps list the courses that teach each skill: those reaching the level first.
    ok(app
        .post(
            "acme",
            "/api/v1/career/me/goals",
            &learner.access,
            &json!({ "target_role_id": role["id"] }),
        )
        .await)
    .await;
    let me = ok(app.get("acme", "/api/v1/career/me", &learner.access).await).await;
    assert_eq!(
        learning_for(&me["top_gaps"], "Rust"),
        [
            ("Rust in Production".to_owned(), true),
            ("Rust Basics".to_owned(), false)
        ]
    );
    assert_eq!(
        learning_for(&me["top_gaps"], "Kubernetes"),
        [("Kubernetes Fundamentals".to_owned(), true)]
    );
    assert_eq!(me["goal"]["readiness"]["score"], 0);

    // Enrol (again: the same enrolment), progress, complete.
    let enrolment = enrol(&app, "acme", &learner, &production).await;
    assert_eq!(enrolment["status"], "enrolled");
    let again = app
        .post(
            "acme",
            &format!(
                "/api/v1/career/courses/{}/enrolment",
                production["id"].as_str().unwrap()
            ),
            &learner.access,
            &json!({}),
        )
        .await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(ok(again).await["id"], enrolment["id"]);
    let path = format!(
        "/api/v1/career/me/learning/{}",
        enrolment["id"].as_str().unwrap()
    );
    let too_far = patch(&app, &learner, &path, json!({ "progress": 101 })).await;
    assert_eq!(
        expect_problem(too_far, StatusCode::UNPROCESSABLE_ENTITY).await,
        "validation_failed"
    );
    let halfway = ok(patch(&app, &learner, &path, json!({ "progress": 50 })).await).await;
    assert_eq!(halfway["status"], "in_progress");
    assert_eq!(halfway["progress"], 50);
    let done = ok(patch(&app, &learner, &path, json!({ "status": "completed" })).await).await;
    assert_eq!(done["status"], "completed");
    assert_eq!(done["progress"], 100);
    assert_eq!(done["ratings_raised"][0]["skill"]["name"], "Rust");
    assert_eq!(done["ratings_raised"][0]["from"], 0);
    assert_eq!(done["ratings_raised"][0]["to"], 3);
    let closed = patch(&app, &learner, &path, json!({ "progress": 10 })).await;
    assert_eq!(
        expect_problem(closed, StatusCode::CONFLICT).await,
        "enrolment_completed"
    );
    let re_enrol = app
        .post(
            "acme",
            &format!(
                "/api/v1/career/courses/{}/enrolment",
                production["id"].as_str().unwrap()
            ),
            &learner.access,
            &json!({}),
        )
        .await;
    assert_eq!(
        expect_problem(re_enrol, StatusCode::CONFLICT).await,
        "course_completed"
    );

    // The self rating is evidence like any other: Rust now meets its level; the critical cap is gone.
    let me = ok(app.get("acme", "/api/v1/career/me", &learner.access).await).await;
    let readiness = &me["goal"]["readiness"];
    assert_eq!(readiness["critical_missing"], json!([]));
    assert_eq!(readiness["score"], 83, "{readiness}");
    let rust_entry = me["skills"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["skill"]["name"] == "Rust")
        .unwrap();
    assert_eq!(rust_entry["level"], 3.0);
    assert!(
        rust_entry["ratings"][0]["note"]
            .as_str()
            .unwrap()
            .contains("Rust in Production")
    );

    // A higher self rating is never lowered by a course; without apply_to_profile nothing is raised.
    self_rate(&app, &learner, &k8s, json!({ "level": 4 })).await;
    let kube_enrolment = enrol(&app, "acme", &learner, &kube).await;
    let finished = ok(patch(
        &app,
        &learner,
        &format!(
            "/api/v1/career/me/learning/{}",
            kube_enrolment["id"].as_str().unwrap()
        ),
        json!({ "progress": 100 }),
    )
    .await)
    .await;
    assert_eq!(finished["status"], "completed");
    assert_eq!(finished["ratings_raised"], json!([]));
    // Two enrolments at once: one enrols, the other finds it.
    let basics_path = format!(
        "/api/v1/career/courses/{}/enrolment",
        basics["id"].as_str().unwrap()
    );
    let empty = json!({});
    let at_once = futures_util::future::join_all(
        (0..4).map(|_| app.post("acme", &basics_path, &learner.access, &empty)),
    )
    .await;
    let mut statuses: Vec<u16> = at_once.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, [200, 200, 200, 201]);
    let learning = ok(app
        .get("acme", "/api/v1/career/me/learning", &learner.access)
        .await)
    .await;
    assert_eq!(learning["items"].as_array().unwrap().len(), 3);

    // A course someone enrolled in cannot be deleted (retire it); an unused one can.
    let in_use = app
        .delete(
            "acme",
            &format!(
                "/api/v1/career/courses/{}",
                production["id"].as_str().unwrap()
            ),
            &owner.access,
        )
        .await;
    assert_eq!(
        expect_problem(in_use, StatusCode::CONFLICT).await,
        "course_in_use"
    );
    let unused = app
        .delete(
            "acme",
            &format!(
                "/api/v1/career/courses/{}",
                advanced["id"].as_str().unwrap()
            ),
            &owner.access,
        )
        .await;
    assert_eq!(unused.status(), StatusCode::NO_CONTENT);
    app.assert_audited(
        acme.id,
        &[
            "course.created",
            "course.updated",
            "course.deleted",
            "course.enrolled",
            "course_enrolment.progressed",
            "course_enrolment.completed",
        ],
    )
    .await;
}

#[tokio::test]
async fn milestones_count_once_the_manager_or_hr_verifies_them() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let report = app.add_member(&acme, &owner, "report", "member").await;
    let boss = app.add_member(&acme, &owner, "boss", "member").await;
    let peer = app.add_member(&acme, &owner, "peer", "member").await;
    let hr = app.add_member(&acme, &owner, "people-team", "hr").await;
    set_manager(&app, &acme, &report, &boss).await;
    let (me, boss_s, peer_s, hr_s) = (
        app.login("acme", &report).await,
        app.login("acme", &boss).await,
        app.login("acme", &peer).await,
        app.login("acme", &hr).await,
    );
    let rust = skill_named(&app, "acme", &owner, "Rust").await;
    let lead = create_role(&app, "acme", &owner, "Team Lead", &[]).await;

    for (bad, field) in [
        (
            json!({ "kind": "skill_mastered", "title": "Rust", "achieved_on": "2026-01-01" }),
            "skill_id",
        ),
        (
            json!({ "kind": "certification_earned", "title": "Later", "achieved_on": "2999-01-01" }),
            "achieved_on",
        ),
        (
            json!({ "kind": "promoted", "title": "x", "achieved_on": "2026-01-01" }),
            "kind",
        ),
        (
            json!({ "kind": "certification_earned", "title": "x", "achieved_on": "2026-01-01", "evidence_url": "ftp://x" }),
            "evidence_url",
        ),
    ] {
        let response = app
            .post("acme", "/api/v1/career/me/milestones", &me.access, &bad)
            .await;
        let body = crate::helpers::problem(response).await;
        assert_eq!(body["code"], "validation_failed", "{bad}");
        assert_eq!(body["errors"][0]["field"], field, "{body}");
    }
    let cert = ok(app
        .post(
            "acme",
            "/api/v1/career/me/milestones",
            &me.access,
            &json!({ "kind": "certification_earned", "title": "CKA", "achieved_on": "2026-03-01",
                     "evidence_url": "https://certs.example.org/1" }),
        )
        .await)
    .await;
    assert_eq!(cert["status"], "pending");
    assert_eq!(cert["points"], 50);
    let mastered = ok(app
        .post(
            "acme",
            "/api/v1/career/me/milestones",
            &me.access,
            &json!({ "kind": "skill_mastered", "title": "Rust mastery", "skill_id": rust["id"],
                     "achieved_on": "2026-04-01" }),
        )
        .await)
    .await;
    assert_eq!(mastered["skill"]["name"], "Rust");
    let promoted = ok(app
        .post(
            "acme",
            "/api/v1/career/me/milestones",
            &me.access,
            &json!({ "kind": "job_secured", "title": "Team lead", "role_id": lead["id"],
                     "achieved_on": "2026-05-01" }),
        )
        .await)
    .await;
    assert_eq!(promoted["points"], 100);
    assert_eq!(promoted["role"]["name"], "Team Lead");
    // A role a milestone names is history: it is retired, not deleted.
    let delete_role = app
        .delete(
            "acme",
            &format!("/api/v1/career/roles/{}", lead["id"].as_str().unwrap()),
            &owner.access,
        )
        .await;
    assert_eq!(
        expect_problem(delete_role, StatusCode::CONFLICT).await,
        "role_in_use"
    );
    let mine = ok(app
        .get("acme", "/api/v1/career/me/milestones", &me.access)
        .await)
    .await;
    assert_eq!(mine["points"], 0, "nothing verified yet");

    let review = |id: &Value| {
        format!(
            "/api/v1/career/people/{}/milestones/{}/review",
            report.id,
            id.as_str().unwrap()
        )
    };
    let verify = json!({ "decision": "verified", "note": "Seen it" });
    let own = app
        .post("acme", &review(&cert["id"]), &me.access, &verify)
        .await;
    assert_eq!(
        expect_problem(own, StatusCode::FORBIDDEN).await,
        "own_milestone"
    );
    let stranger = app
        .post("acme", &review(&cert["id"]), &peer_s.access, &verify)
        .await;
    assert_eq!(
        expect_problem(stranger, StatusCode::FORBIDDEN).await,
        "not_your_report"
    );
    let peeking = app
        .get(
            "acme",
            &format!("/api/v1/career/people/{}/milestones", report.id),
            &peer_s.access,
        )
        .await;
    assert_eq!(peeking.status(), StatusCode::FORBIDDEN);
    let bad_decision = app
        .post(
            "acme",
            &review(&cert["id"]),
            &boss_s.access,
            &json!({ "decision": "maybe" }),
        )
        .await;
    assert_eq!(
        expect_problem(bad_decision, StatusCode::UNPROCESSABLE_ENTITY).await,
        "validation_failed"
    );

    let verified = ok(app
        .post("acme", &review(&cert["id"]), &boss_s.access, &verify)
        .await)
    .await;
    assert_eq!(verified["status"], "verified");
    assert_eq!(verified["reviewed_by"]["id"], boss.id.to_string());
    let rejected = ok(app
        .post(
            "acme",
            &review(&mastered["id"]),
            &hr_s.access,
            &json!({ "decision": "rejected", "note": "Needs an assessment" }),
        )
        .await)
    .await;
    assert_eq!(rejected["status"], "rejected");
    let twice = app
        .post("acme", &review(&cert["id"]), &hr_s.access, &verify)
        .await;
    assert_eq!(
        expect_problem(twice, StatusCode::CONFLICT).await,
        "milestone_reviewed"
    );
    let edit = patch(
        &app,
        &me,
        &format!(
            "/api/v1/career/me/milestones/{}",
            cert["id"].as_str().unwrap()
        ),
        json!({ "title": "CKA and CKAD" }),
    )
    .await;
    assert_eq!(
        expect_problem(edit, StatusCode::CONFLICT).await,
        "milestone_reviewed"
    );

    let seen_by_boss = ok(app
        .get(
            "acme",
            &format!("/api/v1/career/people/{}/milestones", report.id),
            &boss_s.access,
        )
        .await)
    .await;
    assert_eq!(seen_by_boss["points"], 50);
    assert_eq!(seen_by_boss["items"].as_array().unwrap().len(), 3);
    app.assert_audited(
        acme.id,
        &[
            "career_milestone.created",
            "career_milestone.verified",
            "career_milestone.rejected",
        ],
    )
    .await;
}

#[tokio::test]
async fn a_private_project_is_seen_only_by_those_who_may_read_the_profile() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let author = app.add_member(&acme, &owner, "author", "member").await;
    let boss = app.add_member(&acme, &owner, "boss", "member").await;
    let colleague = app.add_member(&acme, &owner, "colleague", "member").await;
    set_manager(&app, &acme, &author, &boss).await;
    let (me, boss_s, colleague_s) = (
        app.login("acme", &author).await,
        app.login("acme", &boss).await,
        app.login("acme", &colleague).await,
    );
    let rust = skill_named(&app, "acme", &owner, "Rust").await;
    let project = ok(app
        .post(
            "acme",
            "/api/v1/career/me/projects",
            &me.access,
            &json!({ "title": "Ledger rewrite", "summary": "Event-sourced ledger",
                     "started_on": "2025-01-01", "ended_on": "2025-06-30",
                     "skill_ids": [rust["id"]],
                     "links": [{ "label": "Design", "url": "https://wiki.example.com/ledger" }] }),
        )
        .await)
    .await;
    assert_eq!(project["visibility"], "private");
    assert_eq!(project["skills"][0]["name"], "Rust");
    let of_author = format!("/api/v1/career/people/{}/projects", author.id);
    let count = |v: &Value| v["items"].as_array().unwrap().len();
    let seen = ok(app.get("acme", &of_author, &colleague_s.access).await).await;
    assert_eq!(
        count(&seen),
        0,
        "a colleague does not see a private project"
    );
    assert_eq!(
        count(&ok(app.get("acme", &of_author, &boss_s.access).await).await),
        1
    );
    assert_eq!(
        count(&ok(app.get("acme", &of_author, &owner.access).await).await),
        1
    );
    let shared = ok(app
        .get("acme", "/api/v1/career/projects", &colleague_s.access)
        .await)
    .await;
    assert_eq!(count(&shared), 0);

    // Someone else's project is not found for changing; bad input changes nothing.
    let path = format!(
        "/api/v1/career/me/projects/{}",
        project["id"].as_str().unwrap()
    );
    let theirs = patch(&app, &colleague_s, &path, json!({ "visibility": "org" })).await;
    assert_eq!(theirs.status(), StatusCode::NOT_FOUND);
    for bad in [
        json!({ "links": [{ "label": "x", "url": "javascript:alert(1)" }] }),
        json!({ "ended_on": "2024-01-01" }),
        json!({ "visibility": "public" }),
        json!({ "skill_ids": [rust["id"], rust["id"]] }),
    ] {
        let response = patch(&app, &me, &path, bad.clone()).await;
        assert_eq!(
            expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await,
            "validation_failed",
            "{bad}"
        );
    }

    let shared_now = ok(patch(&app, &me, &path, json!({ "visibility": "org" })).await).await;
    assert_eq!(shared_now["visibility"], "org");
    assert_eq!(shared_now["links"][0]["label"], "Design");
    let seen = ok(app.get("acme", &of_author, &colleague_s.access).await).await;
    assert_eq!(count(&seen), 1);
    let by_skill = ok(app
        .get(
            "acme",
            &format!(
                "/api/v1/career/projects?skill_id={}",
                rust["id"].as_str().unwrap()
            ),
            &colleague_s.access,
        )
        .await)
    .await;
    assert_eq!(by_skill["items"][0]["title"], "Ledger rewrite");

    // At most three featured.
    for i in 0..3 {
        ok(app
            .post(
                "acme",
                "/api/v1/career/me/projects",
                &me.access,
                &json!({ "title": format!("Showcase {i}"), "visibility": "featured" }),
            )
            .await)
        .await;
    }
    let fourth = patch(&app, &me, &path, json!({ "visibility": "featured" })).await;
    assert_eq!(
        expect_problem(fourth, StatusCode::CONFLICT).await,
        "featured_limit"
    );
    let featured = ok(app
        .get(
            "acme",
            "/api/v1/career/projects?featured=true",
            &colleague_s.access,
        )
        .await)
    .await;
    assert_eq!(count(&featured), 3);
    let mine = ok(app
        .get("acme", "/api/v1/career/me/projects", &me.access)
        .await)
    .await;
    assert_eq!(mine["items"][0]["visibility"], "featured");
    assert_eq!(mine["items"][3]["title"], "Ledger rewrite");
    app.assert_audited(
        acme.id,
        &["portfolio_project.created", "portfolio_project.updated"],
    )
    .await;
}

async fn set_position(app: &TestApp, hr: &Session, member: &TestUser, role: &Value, from: &str) {
    ok(app
        .send_json(
            Method::PUT,
            "acme",
            &format!("/api/v1/career/people/{}/position", member.id),
            &hr.access,
            &json!({ "role_id": role["id"], "started_on": from }),
        )
        .await)
    .await;
}

#[tokio::test]
async fn next_roles_come_from_listed_steps_and_moves_of_at_least_k_colleagues() {
    let app = spawn_app_with(|s| s.usage.min_group_size = 3).await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let user = app.add_member(&acme, &owner, "climber", "member").await;
    let me = app.login("acme", &user).await;
    let rust = skill_named(&app, "acme", &owner, "Rust").await;
    let engineer = create_role(&app, "acme", &owner, "Engineer II", &[]).await;
    let senior = create_role(
        &app,
        "acme",
        &owner,
        "Senior Engineer",
        &[(&rust, 3, 1, false)],
    )
    .await;
    let staff = create_role(
        &app,
        "acme",
        &owner,
        "Staff Engineer",
        &[(&rust, 5, 1, true)],
    )
    .await;
    let manager = create_role(&app, "acme", &owner, "Engineering Manager", &[]).await;
    ok(app
        .send_json(
            Method::PUT,
            "acme",
            &format!(
                "/api/v1/career/roles/{}/transitions",
                engineer["id"].as_str().unwrap()
            ),
            &owner.access,
            &json!({ "next_role_ids": [senior["id"]] }),
        )
        .await)
    .await;
    let empty = ok(app
        .get("acme", "/api/v1/career/me/next-roles", &me.access)
        .await)
    .await;
    assert_eq!(empty["current_role"], Value::Null);
    assert_eq!(empty["items"], json!([]));

    // Three colleagues went from Engineer II to Staff, one to Engineering Manager.
    for (i, next) in [&staff, &staff, &staff, &manager].into_iter().enumerate() {
        let colleague = app
            .add_member(&acme, &owner, &format!("alum{i}"), "member")
            .await;
        set_position(&app, &owner, &colleague, &engineer, "2024-01-01").await;
        set_position(&app, &owner, &colleague, next, "2025-01-01").await;
    }
    set_position(&app, &owner, &user, &engineer, "2025-02-01").await;
    self_rate(&app, &me, &rust, json!({ "level": 4 })).await;

    let next = ok(app
        .get("acme", "/api/v1/career/me/next-roles", &me.access)
        .await)
    .await;
    assert_eq!(next["current_role"]["name"], "Engineer II");
    assert_eq!(next["min_group_size"], 3);
    let items = next["items"].as_array().unwrap();
    let names: Vec<&str> = items
        .iter()
        .map(|i| i["role"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["Senior Engineer", "Staff Engineer"],
        "one move to management is too few to show: {next}"
    );
    assert_eq!(items[0]["listed_next_step"], true);
    assert_eq!(items[0]["colleagues_moved"], Value::Null);
    assert_eq!(items[0]["readiness"], 100);
    assert_eq!(items[1]["listed_next_step"], false);
    assert_eq!(items[1]["colleagues_moved"], 3);
    assert_eq!(items[1]["readiness"], 0);
    assert_eq!(items[1]["top_gaps"][0]["skill"], "Rust");
    assert!(
        items[1]["why"]
            .as_str()
            .unwrap()
            .contains("3 colleagues moved here from Engineer II"),
        "{}",
        items[1]["why"]
    );
}

async fn set_department(app: &TestApp, tenant: &TestTenant, user: &TestUser, department: &str) {
    let pool = app.owner_pool().await;
    sqlx::query("UPDATE users SET department = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.id.as_uuid())
        .bind(user.id.as_uuid())
        .bind(department)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

#[tokio::test]
async fn the_heat_map_withholds_every_figure_about_fewer_than_k_people() {
    let app = spawn_app_with(|s| s.usage.min_group_size = 3).await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let rust = skill_named(&app, "acme", &owner, "Rust").await;
    // Engineering: four, all rate Rust 4. Support: four, one rates Rust 2. Sales: three, none. The
    // owner has no department (a group of one).
    let mut support = Vec::new();
    for (tag, department, n) in [
        ("eng", "Engineering", 4),
        ("sup", "Support", 4),
        ("sales", "Sales", 3),
    ] {
        for i in 0..n {
            let user = app
                .add_member(&acme, &owner, &format!("{tag}{i}"), "member")
                .await;
            set_department(&app, &acme, &user, department).await;
            if department == "Engineering" || (department == "Support" && i == 0) {
                let session = app.login("acme", &user).await;
                let level = if department == "Engineering" { 4 } else { 2 };
                self_rate(&app, &session, &rust, json!({ "level": level })).await;
            }
            if department == "Support" {
                support.push(user);
            }
        }
    }
    let member = app.login("acme", &support[1]).await;
    let denied = app
        .get("acme", "/api/v1/career/insights/skills", &member.access)
        .await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    let too_many = app
        .get(
            "acme",
            "/api/v1/career/insights/skills?limit=51",
            &owner.access,
        )
        .await;
    assert_eq!(too_many.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let map = ok(app
        .get(
            "acme",
            &format!(
                "/api/v1/career/insights/skills?group_id={}",
                rust["group"]["id"].as_str().unwrap()
            ),
            &owner.access,
        )
        .await)
    .await;
    assert_eq!(map["min_group_size"], 3);
    let column = map["skills"]
        .as_array()
        .unwrap()
        .iter()
        .position(|s| s["skill"]["name"] == "Rust")
        .unwrap();
    let rows = map["departments"].as_array().unwrap();
    let row = |name: Value| {
        rows.iter()
            .find(|r| r["department"] == name)
            .unwrap_or_else(|| panic!("no row {name} in {map}"))
    };
    let engineering = &row(json!("Engineering"))["cells"][column];
    assert_eq!(engineering["holders"], 4);
    assert_eq!(engineering["proficient"], 4);
    assert_eq!(engineering["average_level"], 4.0);
    let support_cell = &row(json!("Support"))["cells"][column];
    assert_eq!(support_cell["suppressed"], true, "one holder in four");
    assert_eq!(support_cell["holders"], Value::Null);
    assert_eq!(support_cell["average_level"], Value::Null);
    // The owner alone is too few: Sales (the smallest shown) joins them in the unnamed row.
    let pooled = row(Value::Null);
    assert_eq!(pooled["members"], 4);
    assert_eq!(pooled["cells"][column]["holders"], 0);
    assert!(rows.iter().all(|r| r["department"] != "Sales"));
    assert_eq!(rows.len(), 3);
}

#[tokio::test]
async fn merging_a_skill_moves_the_courses_and_projects_that_name_it() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let user = app.add_member(&acme, &owner, "builder", "member").await;
    let me = app.login("acme", &user).await;
    let golang = skill_named(&app, "acme", &owner, "Go").await;
    let duplicate = ok(app
        .post(
            "acme",
            "/api/v1/career/skills",
            &owner.access,
            &json!({ "name": "Golang", "group_id": golang["group"]["id"] }),
        )
        .await)
    .await;
    let course = create_course(
        &app,
        &owner,
        "Go for Services",
        300,
        &[(&duplicate, 4), (&golang, 2)],
    )
    .await;
    let project = ok(app
        .post(
            "acme",
            "/api/v1/career/me/projects",
            &me.access,
            &json!({ "title": "Queue service", "skill_ids": [duplicate["id"]] }),
        )
        .await)
    .await;
    ok(app
        .post(
            "acme",
            &format!(
                "/api/v1/career/skills/{}/merge",
                duplicate["id"].as_str().unwrap()
            ),
            &owner.access,
            &json!({ "into": golang["id"] }),
        )
        .await)
    .await;
    let merged_course = ok(app
        .get(
            "acme",
            &format!("/api/v1/career/courses/{}", course["id"].as_str().unwrap()),
            &owner.access,
        )
        .await)
    .await;
    assert_eq!(
        merged_course["skills"],
        json!([{ "skill": { "id": golang["id"], "name": "Go" }, "level": 4 }]),
        "one entry, the higher level"
    );
    let projects = ok(app
        .get("acme", "/api/v1/career/me/projects", &me.access)
        .await)
    .await;
    assert_eq!(projects["items"][0]["skills"][0]["name"], "Go");
    // A stale list naming the merged skill does not bring it back.
    let stale = patch(
        &app,
        &me,
        &format!(
            "/api/v1/career/me/projects/{}",
            project["id"].as_str().unwrap()
        ),
        json!({ "skill_ids": [duplicate["id"]] }),
    )
    .await;
    assert_eq!(
        expect_problem(stale, StatusCode::UNPROCESSABLE_ENTITY).await,
        "validation_failed"
    );
}
