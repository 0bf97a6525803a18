//! Interview preparation through HTTP as the app role: each organization's own copy of the question
//! bank, search and filters, the organization's own questions with their skill tags.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    career::{ok, skill_named},
    helpers::{Session, TestApp, expect_problem, spawn_app},
};

/// Tenant A's interview resources for the isolation matrix.
pub struct InterviewFixtures {
    pub question_id: String,
    pub session_id: String,
    pub assignment_id: String,
    /// The member's own scheduled interview and one of its checklist items.
    pub scheduled_interview_id: String,
    pub checklist_item_id: String,
}

pub async fn fixtures(
    app: &TestApp,
    owner: &Session,
    member: &Session,
    member_id: &str,
) -> InterviewFixtures {
    let question = ok(app
        .post(
            "acme",
            "/api/v1/interview/questions",
            &owner.access,
            &json!({ "kind": "behavioral", "category": "Acme Secret Category", "difficulty": 2,
                     "text": "Acme Secret Question: tell me about the widget recall?" }),
        )
        .await)
    .await;
    let practice = ok(app
        .post(
            "acme",
            "/api/v1/interview/sessions",
            &member.access,
            &json!({ "question_count": 1 }),
        )
        .await)
    .await;
    let assignment = ok(app
        .post(
            "acme",
            "/api/v1/interview/assignments",
            &owner.access,
            &json!({ "member_id": member_id, "title": "Acme Secret Assignment",
                     "due_on": (trellis::clock::Clock::now(&app.clock) + chrono::Duration::days(30)).date_naive() }),
        )
        .await)
    .await;
    let scheduled = ok(app
        .post(
            "acme",
            "/api/v1/interview/calendar",
            &member.access,
            &json!({ "company": "Acme Secret Rival", "role_title": "Acme Secret Title",
                     "interview_type": "panel", "starts_at": (trellis::clock::Clock::now(&app.clock) + chrono::Duration::days(180))
                         .format("%Y-%m-%dT10:00").to_string(), "timezone": "Europe/Berlin",
                     "notes": "Acme Secret Notes" }),
        )
        .await)
    .await;
    InterviewFixtures {
        question_id: question["id"].as_str().unwrap().to_owned(),
        session_id: practice["session"]["id"].as_str().unwrap().to_owned(),
        assignment_id: assignment["id"].as_str().unwrap().to_owned(),
        scheduled_interview_id: scheduled["id"].as_str().unwrap().to_owned(),
        checklist_item_id: scheduled["checklist"][0]["id"].as_str().unwrap().to_owned(),
    }
}

/// Every item of a list, following its cursors.
async fn all(app: &TestApp, slug: &str, session: &Session, path: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    let joiner = if path.contains('?') { '&' } else { '?' };
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}{joiner}limit=200&cursor={c}"),
            None => format!("{path}{joiner}limit=200"),
        };
        let page = ok(app.get(slug, &url, &session.access).await).await;
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    items
}

#[tokio::test]
async fn every_organization_practises_with_its_own_copy_of_the_bank() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let globex = app.create_tenant("globex").await;
    let a = app.login_owner(&acme).await;
    let g = app.login_owner(&globex).await;
    let member = app.add_member(&acme, &a, "candidate", "member").await;
    let m = app.login("acme", &member).await;

    let bank = all(&app, "acme", &m, "/api/v1/interview/questions").await;
    assert!(bank.len() >= 150, "{} questions", bank.len());
    assert!(bank.iter().all(|q| q["source"] == "starter"));
    for kind in ["behavioral", "technical", "case"] {
        let of_kind = all(
            &app,
            "acme",
            &m,
            &format!("/api/v1/interview/questions?kind={kind}"),
        )
        .await;
        assert!(of_kind.len() >= 30, "{kind}: {}", of_kind.len());
        assert!(of_kind.iter().all(|q| q["kind"] == kind));
    }
    let hard_finance = all(
        &app,
        "acme",
        &m,
        "/api/v1/interview/questions?difficulty=4&industry=finance",
    )
    .await;
    assert!(!hard_finance.is_empty());
    assert!(hard_finance.iter().all(|q| {
        q["difficulty"] == 4
            && q["industries"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i == "finance" || i == "any")
    }));
    let first = &bank[0];
    assert!(first["expected_points"].as_array().unwrap().len() >= 3);
    assert_eq!(first["times_answered"], 0);
    assert_eq!(first["average_score"], Value::Null);

    // Acme retires a starter question and adds its own, tagged with a competency; Globex sees neither.
    let retired = ok(app
        .send_json(
            Method::PATCH,
            "acme",
            &format!(
                "/api/v1/interview/questions/{}",
                first["id"].as_str().unwrap()
            ),
            &a.access,
            &json!({ "status": "retired" }),
        )
        .await)
    .await;
    assert_eq!(retired["status"], "retired");
    let negotiation = skill_named(&app, "acme", &a, "Negotiation").await;
    let own = ok(app
        .post(
            "acme",
            "/api/v1/interview/questions",
            &a.access,
            &json!({ "kind": "behavioral", "category": "Customer Focus", "subcategory": "Renewals",
                     "difficulty": 3, "industries": ["software"],
                     "text": "Tell me about a renewal you saved after the customer said no.",
                     "expected_points": ["objection understood", "value restated", "renewal outcome"],
                     "skill_ids": [negotiation["id"]] }),
        )
        .await)
    .await;
    assert_eq!(own["source"], "org");
    assert_eq!(own["skills"][0]["name"], "Negotiation");
    let tagged = ok(app
        .get(
            "acme",
            &format!(
                "/api/v1/interview/questions?skill_id={}",
                negotiation["id"].as_str().unwrap()
            ),
            &m.access,
        )
        .await)
    .await;
    assert_eq!(tagged["items"][0]["id"], own["id"]);
    let search = ok(app
        .get(
            "acme",
            "/api/v1/interview/questions?q=renewal%20you%20saved",
            &m.access,
        )
        .await)
    .await;
    assert_eq!(search["items"].as_array().unwrap().len(), 1);
    let acme_active = all(&app, "acme", &m, "/api/v1/interview/questions").await;
    assert_eq!(acme_active.len(), bank.len(), "one retired, one added");
    assert!(acme_active.iter().all(|q| q["id"] != first["id"]));

    let globex_bank = all(&app, "globex", &g, "/api/v1/interview/questions").await;
    assert_eq!(globex_bank.len(), bank.len());
    assert!(globex_bank.iter().all(|q| q["source"] == "starter"));
    assert!(globex_bank.iter().any(|q| q["text"] == first["text"]));
    assert!(globex_bank.iter().all(|q| q["id"] != first["id"]));

    // Members read; HR and admins write. Bad input is refused and changes nothing.
    let denied = app
        .post(
            "acme",
            "/api/v1/interview/questions",
            &m.access,
            &json!({ "kind": "case", "category": "x", "difficulty": 1, "text": "How many piano tuners are there?" }),
        )
        .await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    for bad in [
        json!({ "kind": "trivia", "category": "x", "difficulty": 1, "text": "How many piano tuners?" }),
        json!({ "kind": "case", "category": "x", "difficulty": 6, "text": "How many piano tuners?" }),
        json!({ "kind": "case", "category": "x", "difficulty": 2, "text": "Short?" }),
        json!({ "kind": "case", "category": "x", "difficulty": 2, "text": "How many piano tuners?", "industries": ["mars"] }),
        json!({ "kind": "case", "category": "", "difficulty": 2, "text": "How many piano tuners?" }),
        json!({ "kind": "case", "category": "x", "difficulty": 2, "text": "How many piano tuners?",
                "skill_ids": [negotiation["id"], negotiation["id"]] }),
    ] {
        let response = app
            .post("acme", "/api/v1/interview/questions", &a.access, &bad)
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
            "/api/v1/interview/questions",
            &a.access,
            &json!({ "kind": "behavioral", "category": "x", "difficulty": 2,
                     "text": "TELL ME ABOUT A RENEWAL YOU SAVED AFTER THE CUSTOMER SAID NO." }),
        )
        .await;
    assert_eq!(
        expect_problem(duplicate, StatusCode::CONFLICT).await,
        "question_exists"
    );
    let after = all(&app, "acme", &m, "/api/v1/interview/questions").await;
    assert_eq!(after.len(), acme_active.len());
    app.assert_audited(
        acme.id,
        &["interview_question.created", "interview_question.updated"],
    )
    .await;
    assert!(
        !app.audit_actions(globex.id)
            .await
            .iter()
            .any(|a| a.starts_with("interview"))
    );
}

const ANSWER: &str = "Last year I was the lead engineer on our payments team, and checkout was failing \
for one customer in twenty. My goal was to cut the error rate before the holiday season. First I \
analyzed two weeks of logs and found the root cause, a retry loop. I proposed a circuit breaker, \
explained the trade-offs to the product manager, then wrote and tested the change. As a result the \
error rate fell from 4% to 0.3%. The lesson I learned was to measure before changing anything.";

async fn session(app: &TestApp, s: &Session, body: Value) -> Value {
    ok(app
        .post("acme", "/api/v1/interview/sessions", &s.access, &body)
        .await)
    .await
}

fn path(session: &Value, rest: &str) -> String {
    format!(
        "/api/v1/interview/sessions/{}{rest}",
        session["session"]["id"].as_str().unwrap()
    )
}

#[tokio::test]
async fn a_mock_interview_runs_from_pending_to_completed_within_its_time_limit() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let user = app.add_member(&acme, &owner, "candidate", "member").await;
    let other = app.add_member(&acme, &owner, "colleague", "member").await;
    let me = app.login("acme", &user).await;
    let them = app.login("acme", &other).await;

    for bad in [
        json!({ "kind": "trivia" }),
        json!({ "question_count": 11 }),
        json!({ "time_limit_minutes": 1 }),
        json!({ "difficulty": 0 }),
    ] {
        let response = app
            .post("acme", "/api/v1/interview/sessions", &me.access, &bad)
            .await;
        assert_eq!(
            expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await,
            "validation_failed",
            "{bad}"
        );
    }
    let none = app
        .post(
            "acme",
            "/api/v1/interview/sessions",
            &me.access,
            &json!({ "category": "No Such Category" }),
        )
        .await;
    assert_eq!(
        expect_problem(none, StatusCode::UNPROCESSABLE_ENTITY).await,
        "no_questions"
    );

    let first = session(
        &app,
        &me,
        json!({ "kind": "behavioral", "question_count": 3, "time_limit_minutes": 10 }),
    )
    .await;
    assert_eq!(first["session"]["status"], "pending");
    let questions = first["questions"].as_array().unwrap();
    assert_eq!(questions.len(), 3);
    assert!(questions.iter().all(|q| q["kind"] == "behavioral"));
    let subcategories: std::collections::BTreeSet<&str> = questions
        .iter()
        .map(|q| q["subcategory"].as_str().unwrap())
        .collect();
    assert_eq!(subcategories.len(), 3, "spread over subcategories");

    // Not before it starts; someone else's session is not found.
    let early = app
        .send_json(
            Method::PUT,
            "acme",
            &path(&first, "/answers/1"),
            &me.access,
            &json!({ "answer": ANSWER }),
        )
        .await;
    assert_eq!(
        expect_problem(early, StatusCode::CONFLICT).await,
        "session_not_in_progress"
    );
    let theirs = app.get("acme", &path(&first, ""), &them.access).await;
    assert_eq!(theirs.status(), StatusCode::NOT_FOUND);

    let started = ok(app
        .post("acme", &path(&first, "/start"), &me.access, &json!({}))
        .await)
    .await;
    assert_eq!(started["session"]["status"], "in_progress");
    assert_eq!(started["session"]["seconds_left"], 600);
    let again = app
        .post("acme", &path(&first, "/start"), &me.access, &json!({}))
        .await;
    assert_eq!(
        expect_problem(again, StatusCode::CONFLICT).await,
        "session_not_pending"
    );
    for (bad, code) in [
        (json!({ "answer": "   " }), StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!({ "answer": ANSWER, "recording_url": "javascript:alert(1)" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let response = app
            .send_json(
                Method::PUT,
                "acme",
                &path(&first, "/answers/1"),
                &me.access,
                &bad,
            )
            .await;
        assert_eq!(response.status(), code, "{bad}");
    }
    let missing = app
        .send_json(
            Method::PUT,
            "acme",
            &path(&first, "/answers/9"),
            &me.access,
            &json!({ "answer": ANSWER }),
        )
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    let answered = ok(app
        .send_json(
            Method::PUT,
            "acme",
            &path(&first, "/answers/1"),
            &me.access,
            &json!({ "answer": ANSWER, "recording_url": "https://media.example.com/a1" }),
        )
        .await)
    .await;
    let analysis = &answered["analysis"];
    assert!(analysis["score"].as_u64().unwrap() > 50, "{analysis}");
    assert!(
        analysis["dimensions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["dimension"] == "ownership")
    );
    assert_eq!(answered["session"]["answered"], 1);
    let weak = ok(app
        .send_json(
            Method::PUT,
            "acme",
            &path(&first, "/answers/2"),
            &me.access,
            &json!({ "answer": "Um, I think we basically helped with it, you know." }),
        )
        .await)
    .await;
    let weak_score = weak["analysis"]["score"].as_u64().unwrap();
    assert!(
        weak["analysis"]["suggestions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["rule"] == "clarity.fillers")
    );

    // Time is up after ten minutes: no more answers, but the session can be completed.
    app.clock.advance(chrono::Duration::minutes(11));
    let late = app
        .send_json(
            Method::PUT,
            "acme",
            &path(&first, "/answers/3"),
            &me.access,
            &json!({ "answer": ANSWER }),
        )
        .await;
    assert_eq!(expect_problem(late, StatusCode::CONFLICT).await, "time_up");
    let done = ok(app
        .post("acme", &path(&first, "/complete"), &me.access, &json!({}))
        .await)
    .await;
    assert_eq!(done["session"]["status"], "completed");
    let strong_score = analysis["score"].as_u64().unwrap();
    assert_eq!(
        done["session"]["score"].as_u64().unwrap(),
        ((strong_score + weak_score) as f64 / 2.0).round() as u64
    );
    assert_eq!(
        done["questions"][0]["recording_url"],
        "https://media.example.com/a1"
    );
    let twice = app
        .post("acme", &path(&first, "/complete"), &me.access, &json!({}))
        .await;
    assert_eq!(
        expect_problem(twice, StatusCode::CONFLICT).await,
        "session_ended"
    );

    // The bank counts the answer; the next session asks other questions.
    let asked = ok(app
        .get(
            "acme",
            &format!(
                "/api/v1/interview/questions/{}",
                questions[0]["question_id"].as_str().unwrap()
            ),
            &me.access,
        )
        .await)
    .await;
    assert_eq!(asked["times_answered"], 1);
    assert_eq!(
        asked["average_score"].as_f64().unwrap(),
        strong_score as f64
    );
    let second = session(
        &app,
        &me,
        json!({ "kind": "behavioral", "question_count": 3 }),
    )
    .await;
    let before: std::collections::BTreeSet<&str> = questions
        .iter()
        .map(|q| q["question_id"].as_str().unwrap())
        .collect();
    assert!(
        second["questions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|q| !before.contains(q["question_id"].as_str().unwrap())),
        "recent questions are not asked again while others are left"
    );
    assert_eq!(second["session"]["time_limit_minutes"], 15);
    let nothing = {
        ok(app
            .post("acme", &path(&second, "/start"), &me.access, &json!({}))
            .await)
        .await;
        app.post("acme", &path(&second, "/complete"), &me.access, &json!({}))
            .await
    };
    assert_eq!(
        expect_problem(nothing, StatusCode::CONFLICT).await,
        "nothing_answered"
    );
    let abandoned = ok(app
        .post("acme", &path(&second, "/abandon"), &me.access, &json!({}))
        .await)
    .await;
    assert_eq!(abandoned["session"]["status"], "abandoned");

    let progress = ok(app
        .get("acme", "/api/v1/interview/progress", &me.access)
        .await)
    .await;
    assert_eq!(progress["sessions"], 1);
    let ownership = progress["trends"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["dimension"] == "ownership")
        .unwrap();
    assert_eq!(ownership["direction"], "not_enough_data");
    assert_eq!(ownership["series"].as_array().unwrap().len(), 1);
    let listed = ok(app
        .get("acme", "/api/v1/interview/sessions", &me.access)
        .await)
    .await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
    let theirs = ok(app
        .get("acme", "/api/v1/interview/sessions", &them.access)
        .await)
    .await;
    assert_eq!(theirs["items"], json!([]));
    app.assert_audited(
        acme.id,
        &[
            "interview_session.created",
            "interview_session.started",
            "interview_answer.submitted",
            "interview_session.completed",
            "interview_session.abandoned",
        ],
    )
    .await;
}

#[tokio::test]
async fn a_session_aimed_at_a_role_does_not_keep_the_role_from_being_deleted() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let user = app.add_member(&acme, &owner, "aspirant", "member").await;
    let me = app.login("acme", &user).await;
    let role = crate::career::create_role(&app, "acme", &owner, "Principal Engineer", &[]).await;
    let aimed = session(
        &app,
        &me,
        json!({ "target_role_id": role["id"], "question_count": 2 }),
    )
    .await;
    assert_eq!(aimed["session"]["target_role_id"], role["id"]);
    let deleted = app
        .delete(
            "acme",
            &format!("/api/v1/career/roles/{}", role["id"].as_str().unwrap()),
            &owner.access,
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let after = ok(app.get("acme", &path(&aimed, ""), &me.access).await).await;
    assert_eq!(after["session"]["target_role_id"], Value::Null);
    assert_eq!(after["questions"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn assignments_come_from_hr_or_the_manager_and_count_attempts_until_completed() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let report = app.add_member(&acme, &owner, "report", "member").await;
    let boss = app.add_member(&acme, &owner, "boss", "member").await;
    let peer = app.add_member(&acme, &owner, "peer", "member").await;
    crate::career::set_manager(&app, &acme, &report, &boss).await;
    let (me, boss_s, peer_s) = (
        app.login("acme", &report).await,
        app.login("acme", &boss).await,
        app.login("acme", &peer).await,
    );
    let assign = |body: Value| {
        let mut body = body;
        body["member_id"] = json!(report.id.to_string());
        body
    };
    let by_peer = app
        .post(
            "acme",
            "/api/v1/interview/assignments",
            &peer_s.access,
            &assign(json!({ "title": "Practise", "due_on": "2999-01-01" })),
        )
        .await;
    assert_eq!(
        expect_problem(by_peer, StatusCode::FORBIDDEN).await,
        "not_your_report"
    );
    for bad in [
        json!({ "title": "", "due_on": "2999-01-01" }),
        json!({ "title": "Past", "due_on": "2000-01-01" }),
        json!({ "title": "Many", "due_on": "2999-01-01", "max_attempts": 11 }),
        json!({ "title": "Kind", "due_on": "2999-01-01", "kind": "trivia" }),
    ] {
        let response = app
            .post(
                "acme",
                "/api/v1/interview/assignments",
                &boss_s.access,
                &assign(bad.clone()),
            )
            .await;
        assert_eq!(
            expect_problem(response, StatusCode::UNPROCESSABLE_ENTITY).await,
            "validation_failed",
            "{bad}"
        );
    }
    let due = (trellis::clock::Clock::now(&app.clock) + chrono::Duration::days(7)).date_naive();
    let assignment = ok(app
        .post(
            "acme",
            "/api/v1/interview/assignments",
            &boss_s.access,
            &assign(
                json!({ "title": "Panel practice", "kind": "case", "question_count": 2,
                            "due_on": due, "max_attempts": 2 }),
            ),
        )
        .await)
    .await;
    assert_eq!(assignment["state"], "open");
    let mine = ok(app
        .get("acme", "/api/v1/interview/me/assignments", &me.access)
        .await)
    .await;
    assert_eq!(mine["items"][0]["id"], assignment["id"]);
    let given = ok(app
        .get("acme", "/api/v1/interview/assignments", &boss_s.access)
        .await)
    .await;
    assert_eq!(given["items"].as_array().unwrap().len(), 1);
    let peers = ok(app
        .get("acme", "/api/v1/interview/assignments", &peer_s.access)
        .await)
    .await;
    assert_eq!(peers["items"], json!([]));

    // An attempt takes the assignment's criteria; none may be given beside it.
    let mixed = app
        .post(
            "acme",
            "/api/v1/interview/sessions",
            &me.access,
            &json!({ "assignment_id": assignment["id"], "kind": "behavioral" }),
        )
        .await;
    assert_eq!(mixed.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let not_mine = app
        .post(
            "acme",
            "/api/v1/interview/sessions",
            &peer_s.access,
            &json!({ "assignment_id": assignment["id"] }),
        )
        .await;
    assert_eq!(not_mine.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let first = session(&app, &me, json!({ "assignment_id": assignment["id"] })).await;
    assert_eq!(first["session"]["assignment_id"], assignment["id"]);
    assert_eq!(first["questions"].as_array().unwrap().len(), 2);
    assert!(
        first["questions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|q| q["kind"] == "case")
    );
    ok(app
        .post("acme", &path(&first, "/abandon"), &me.access, &json!({}))
        .await)
    .await;
    let second = session(&app, &me, json!({ "assignment_id": assignment["id"] })).await;
    let exhausted = app
        .post(
            "acme",
            "/api/v1/interview/sessions",
            &me.access,
            &json!({ "assignment_id": assignment["id"] }),
        )
        .await;
    assert_eq!(
        expect_problem(exhausted, StatusCode::CONFLICT).await,
        "attempts_exhausted"
    );
    ok(app
        .post("acme", &path(&second, "/start"), &me.access, &json!({}))
        .await)
    .await;
    ok(app
        .send_json(
            Method::PUT,
            "acme",
            &path(&second, "/answers/1"),
            &me.access,
            &json!({ "answer": "First I assume 300 million people, then 2 visits a year, so 600 million visits." }),
        )
        .await)
    .await;
    let done = ok(app
        .post("acme", &path(&second, "/complete"), &me.access, &json!({}))
        .await)
    .await;
    let mine = ok(app
        .get("acme", "/api/v1/interview/me/assignments", &me.access)
        .await)
    .await;
    let tracked = &mine["items"][0];
    assert_eq!(tracked["state"], "completed");
    assert_eq!(tracked["attempts"], 2);
    assert_eq!(tracked["best_score"], done["session"]["score"]);
    let cancel_done = app
        .post(
            "acme",
            &format!(
                "/api/v1/interview/assignments/{}/cancel",
                assignment["id"].as_str().unwrap()
            ),
            &boss_s.access,
            &json!({}),
        )
        .await;
    assert_eq!(
        expect_problem(cancel_done, StatusCode::CONFLICT).await,
        "assignment_closed"
    );

    // HR assigns too; past its date an open assignment is overdue; a stranger cannot cancel it.
    let hr_given = ok(app
        .post(
            "acme",
            "/api/v1/interview/assignments",
            &owner.access,
            &assign(json!({ "title": "Behavioral warm-up", "due_on": due })),
        )
        .await)
    .await;
    app.clock.advance(chrono::Duration::days(8));
    // Tokens of a week ago have expired: sign in again.
    let (me, boss_s, peer_s) = (
        app.login("acme", &report).await,
        app.login("acme", &boss).await,
        app.login("acme", &peer).await,
    );
    let mine = ok(app
        .get("acme", "/api/v1/interview/me/assignments", &me.access)
        .await)
    .await;
    let overdue = mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == hr_given["id"])
        .unwrap();
    assert_eq!(overdue["state"], "overdue");
    let cancel_path = format!(
        "/api/v1/interview/assignments/{}/cancel",
        hr_given["id"].as_str().unwrap()
    );
    let stranger = app
        .post("acme", &cancel_path, &peer_s.access, &json!({}))
        .await;
    assert_eq!(stranger.status(), StatusCode::NOT_FOUND);
    let cancelled = ok(app
        .post("acme", &cancel_path, &boss_s.access, &json!({}))
        .await)
    .await;
    assert_eq!(cancelled["state"], "cancelled");
    app.assert_audited(
        acme.id,
        &[
            "interview_assignment.created",
            "interview_assignment.cancelled",
        ],
    )
    .await;
}
