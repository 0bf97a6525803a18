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
}

pub async fn fixtures(app: &TestApp, owner: &Session) -> InterviewFixtures {
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
    InterviewFixtures {
        question_id: question["id"].as_str().unwrap().to_owned(),
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
