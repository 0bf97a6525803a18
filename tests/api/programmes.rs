//! Mentoring programmes through HTTP as the app role: HR opens one and names its owner, members opt
//! in, the owner matches the cohort under the mentors' places and the hard filters, adjusts the draft,
//! publishes it as mentorships with mails through a real SMTP server, and follows the pairs' health.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{
    career::ok,
    helpers::{Session, TestApp, TestUser, expect_problem, spawn_app_with},
    smtp::TestSmtp,
};

/// Tenant A's programme resources for the isolation matrix.
pub struct ProgrammeFixtures {
    pub programme_id: String,
    pub mentee_id: String,
}

pub async fn fixtures(
    app: &TestApp,
    owner: &Session,
    member: &Session,
    member_id: &str,
) -> ProgrammeFixtures {
    let programme = create(app, owner, json!({ "name": "Acme Secret Programme" })).await;
    let id = programme["id"].as_str().unwrap().to_owned();
    ok(join(
        app,
        member,
        &id,
        json!({ "role": "mentee", "goals": "Acme Secret Goals" }),
    )
    .await)
    .await;
    ProgrammeFixtures {
        programme_id: id,
        mentee_id: member_id.to_owned(),
    }
}

async fn create(app: &TestApp, session: &Session, body: Value) -> Value {
    ok(app
        .post("acme", "/api/v1/network/programmes", &session.access, &body)
        .await)
    .await
}

async fn join(app: &TestApp, session: &Session, id: &str, body: Value) -> reqwest::Response {
    app.send_json(
        Method::PUT,
        "acme",
        &format!("/api/v1/network/programmes/{id}/participation"),
        &session.access,
        &body,
    )
    .await
}

async fn profile(app: &TestApp, session: &Session, limit: i64) {
    ok(app
        .send_json(
            Method::PUT,
            "acme",
            "/api/v1/network/mentors/me",
            &session.access,
            &json!({ "timezone": "Europe/Berlin", "hours_per_week": 2, "mentee_limit": limit }),
        )
        .await)
    .await;
}

async fn set_match(
    app: &TestApp,
    session: &Session,
    id: &str,
    mentee: &TestUser,
    mentor: Option<&TestUser>,
) -> reqwest::Response {
    app.send_json(
        Method::PUT,
        "acme",
        &format!("/api/v1/network/programmes/{id}/matches/{}", mentee.id),
        &session.access,
        &json!({ "mentor_id": mentor.map(|m| m.id.to_string()) }),
    )
    .await
}

/// The draft's mentor for each mentee, by email.
fn pairs(draft: &Value) -> Vec<(String, Option<String>)> {
    draft["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["mentee"]["display_name"].as_str().unwrap().to_owned(),
                m["mentor"]["display_name"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn mentor_of(draft: &Value, mentee: &TestUser) -> Option<String> {
    pairs(draft)
        .into_iter()
        .find(|(m, _)| *m == mentee.email)
        .and_then(|(_, mentor)| mentor)
}

async fn app_with_smtp() -> (TestApp, TestSmtp) {
    let smtp = TestSmtp::start().await;
    let url = smtp.url();
    let app = spawn_app_with(|s| s.mail.smtp_url = Some(secrecy::SecretString::from(url))).await;
    (app, smtp)
}

struct Cohort {
    lead: (TestUser, Session),
    mo: (TestUser, Session),
    boss: (TestUser, Session),
    ana: (TestUser, Session),
    ben: (TestUser, Session),
    cy: (TestUser, Session),
    sam: (TestUser, Session),
}

async fn cohort(app: &TestApp, acme: &crate::helpers::TestTenant, hr: &Session) -> Cohort {
    let mut people = Vec::new();
    for name in ["lead", "mo", "boss", "ana", "ben", "cy", "sam"] {
        let user = app.add_member(acme, hr, name, "member").await;
        let session = app.login("acme", &user).await;
        people.push((user, session));
    }
    let [lead, mo, boss, ana, ben, cy, sam] = <[_; 7]>::try_from(people).ok().unwrap();
    crate::career::set_manager(app, acme, &ana.0, &boss.0).await;
    Cohort {
        lead,
        mo,
        boss,
        ana,
        ben,
        cy,
        sam,
    }
}

#[tokio::test]
async fn a_programme_goes_from_opt_in_to_published_mentorships_and_mails() {
    let (app, smtp) = app_with_smtp().await;
    let acme = app.create_tenant("acme").await;
    let hr = app.login_owner(&acme).await;
    let c = cohort(&app, &acme, &hr).await;

    // HR opens it and names its owner; members cannot open one; names are unique.
    let by_member = app
        .post(
            "acme",
            "/api/v1/network/programmes",
            &c.lead.1.access,
            &json!({ "name": "Leaders 2027" }),
        )
        .await;
    assert_eq!(by_member.status(), StatusCode::FORBIDDEN);
    let programme = create(
        &app,
        &hr,
        json!({ "name": "Leaders 2027", "description": "Six months.", "owner_id": c.lead.0.id }),
    )
    .await;
    assert_eq!(programme["status"], "open");
    assert_eq!(programme["owner"]["id"], c.lead.0.id.to_string());
    let id = programme["id"].as_str().unwrap().to_owned();
    let twice = app
        .post(
            "acme",
            "/api/v1/network/programmes",
            &hr.access,
            &json!({ "name": "leaders 2027" }),
        )
        .await;
    assert_eq!(
        expect_problem(twice, StatusCode::CONFLICT).await,
        "programme_exists"
    );
    let path = format!("/api/v1/network/programmes/{id}");
    let renamed = app
        .send_json(
            Method::PATCH,
            "acme",
            &path,
            &c.lead.1.access,
            &json!({ "description": "Six months with a senior mentor." }),
        )
        .await;
    assert_eq!(renamed.status(), StatusCode::OK, "the owner runs it");
    let stranger = app
        .send_json(
            Method::PATCH,
            "acme",
            &path,
            &c.sam.1.access,
            &json!({ "name": "Mine now" }),
        )
        .await;
    assert_eq!(
        expect_problem(stranger, StatusCode::FORBIDDEN).await,
        "not_programme_owner"
    );

    // Opting in: a mentor needs a profile, and gives at most what it takes.
    let no_profile = join(&app, &c.mo.1, &id, json!({ "role": "mentor", "places": 2 })).await;
    assert_eq!(
        expect_problem(no_profile, StatusCode::CONFLICT).await,
        "mentor_profile_needed"
    );
    profile(&app, &c.mo.1, 2).await;
    profile(&app, &c.boss.1, 3).await;
    let too_many = join(&app, &c.mo.1, &id, json!({ "role": "mentor", "places": 3 })).await;
    assert_eq!(too_many.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let places_for_mentee = join(
        &app,
        &c.ana.1,
        &id,
        json!({ "role": "mentee", "places": 1 }),
    )
    .await;
    assert_eq!(places_for_mentee.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad_role = join(&app, &c.ana.1, &id, json!({ "role": "coach" })).await;
    assert_eq!(bad_role.status(), StatusCode::UNPROCESSABLE_ENTITY);
    ok(join(&app, &c.mo.1, &id, json!({ "role": "mentor", "places": 2 })).await).await;
    ok(join(
        &app,
        &c.boss.1,
        &id,
        json!({ "role": "mentor", "places": 1 }),
    )
    .await)
    .await;
    for (who, goals) in [
        (&c.ana, "Lead a team"),
        (&c.ben, "Public speaking"),
        (&c.cy, ""),
    ] {
        let joined = ok(join(
            &app,
            &who.1,
            &id,
            json!({ "role": "mentee", "goals": goals, "timezone": "Europe/Berlin" }),
        )
        .await)
        .await;
        assert_eq!(joined["role"], "mentee");
    }
    let listed = ok(app
        .get("acme", "/api/v1/network/programmes", &c.sam.1.access)
        .await)
    .await;
    let seen = &listed["items"][0];
    assert_eq!(
        (seen["mentors"].as_i64(), seen["mentees"].as_i64()),
        (Some(2), Some(3))
    );
    assert_eq!(seen["places"], 3);
    assert_eq!(seen["runs"], false);

    // The cohort and the draft are the owner's; the matching keeps to the filters and the places.
    let matches = format!("{path}/matches");
    let peek = app.get("acme", &matches, &c.sam.1.access).await;
    assert_eq!(peek.status(), StatusCode::FORBIDDEN);
    let by_mentee = app
        .post(
            "acme",
            &format!("{path}/match"),
            &c.ana.1.access,
            &json!({}),
        )
        .await;
    assert_eq!(by_mentee.status(), StatusCode::FORBIDDEN);
    let before = ok(app.get("acme", &matches, &c.lead.1.access).await).await;
    assert!(
        before["matches"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["unmatched"] == "not_matched_yet"),
        "{before}"
    );
    let draft = ok(app
        .post(
            "acme",
            &format!("{path}/match"),
            &c.lead.1.access,
            &json!({}),
        )
        .await)
    .await;
    assert_eq!(draft["matched"], 3, "{draft}");
    assert_eq!(draft["programme"]["match_method"], "optimal");
    assert_eq!(
        mentor_of(&draft, &c.ana.0).as_deref(),
        Some(c.mo.0.email.as_str()),
        "Ana's manager may not mentor her: {draft}"
    );
    let on_boss = pairs(&draft)
        .iter()
        .filter(|(_, m)| m.as_deref() == Some(c.boss.0.email.as_str()))
        .count();
    assert_eq!(on_boss, 1, "the boss gave one place: {draft}");
    let total: i64 = draft["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["score"].as_i64().unwrap())
        .sum();
    assert_eq!(draft["total_score"], total);
    for m in draft["matches"].as_array().unwrap() {
        let b = &m["breakdown"];
        assert_eq!(
            b["total"], m["score"],
            "the breakdown is the recommendations': {m}"
        );
    }

    // Adjusting: a pair the filters forbid is refused; a mentee kept out stays out on the next run.
    // The owner learns only that the pair is not allowed (the filters speak of private history and
    // reporting lines); HR hears which filter.
    let forbidden = set_match(&app, &c.lead.1, &id, &c.ana.0, Some(&c.boss.0)).await;
    assert_eq!(
        expect_problem(forbidden, StatusCode::CONFLICT).await,
        "pair_not_allowed"
    );
    let forbidden = set_match(&app, &hr, &id, &c.ana.0, Some(&c.boss.0)).await;
    assert_eq!(
        expect_problem(forbidden, StatusCode::CONFLICT).await,
        "reporting_line"
    );
    let not_mentor = set_match(&app, &c.lead.1, &id, &c.ana.0, Some(&c.cy.0)).await;
    assert_eq!(not_mentor.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let kept_out = ok(set_match(&app, &c.lead.1, &id, &c.cy.0, None).await).await;
    assert_eq!(mentor_of(&kept_out, &c.cy.0), None);
    let rerun = ok(app
        .post(
            "acme",
            &format!("{path}/match"),
            &c.lead.1.access,
            &json!({}),
        )
        .await)
    .await;
    let cy_row = rerun["matches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["mentee"]["id"] == c.cy.0.id.to_string())
        .unwrap()
        .clone();
    assert_eq!(cy_row["unmatched"], "kept_out", "{rerun}");
    assert_eq!(cy_row["pinned"], true);
    assert_eq!(rerun["matched"], 2);
    // Ben with Mo by hand: Mo has two places, Ana takes one.
    let ben_with_mo = ok(set_match(&app, &c.lead.1, &id, &c.ben.0, Some(&c.mo.0)).await).await;
    assert_eq!(
        mentor_of(&ben_with_mo, &c.ben.0).as_deref(),
        Some(c.mo.0.email.as_str())
    );
    // The pair's score is the one Ben's recommendations give Mo.
    let recommended = ok(app
        .get(
            "acme",
            "/api/v1/network/mentors/recommendations?timezone=Europe/Berlin",
            &c.ben.1.access,
        )
        .await)
    .await;
    let mo_for_ben = recommended["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["mentor"]["user_id"] == c.mo.0.id.to_string())
        .unwrap_or_else(|| panic!("Mo is recommended to Ben: {recommended}"))
        .clone();
    let ben_row = ben_with_mo["matches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["mentee"]["id"] == c.ben.0.id.to_string())
        .unwrap()
        .clone();
    assert_eq!(
        ben_row["breakdown"], mo_for_ben["score"],
        "{ben_row} {mo_for_ben}"
    );
    assert_eq!(ben_row["pinned"], true);
    let mo_full = set_match(&app, &c.lead.1, &id, &c.cy.0, Some(&c.mo.0)).await;
    assert_eq!(
        expect_problem(mo_full, StatusCode::CONFLICT).await,
        "no_place_left"
    );

    // Someone joining after the run makes the draft outdated until the next run.
    ok(join(&app, &c.sam.1, &id, json!({ "role": "mentee" })).await).await;
    let outdated = app
        .post(
            "acme",
            &format!("{path}/publish"),
            &c.lead.1.access,
            &json!({}),
        )
        .await;
    assert_eq!(
        expect_problem(outdated, StatusCode::CONFLICT).await,
        "draft_outdated"
    );
    let left = app
        .delete("acme", &format!("{path}/participation"), &c.sam.1.access)
        .await;
    assert_eq!(left.status(), StatusCode::NO_CONTENT);

    // Publishing makes accepted mentorships of the programme and mails everyone.
    let published = ok(app
        .post(
            "acme",
            &format!("{path}/publish"),
            &c.lead.1.access,
            &json!({}),
        )
        .await)
    .await;
    assert_eq!(published["mentorships"], 2, "{published}");
    assert_eq!(published["unmatched"], 1);
    assert_eq!(published["programme"]["status"], "published");
    assert_eq!(published["mails"], 4, "Ana, Ben, Mo once for both, and Cy");
    let anas = ok(app
        .get("acme", "/api/v1/network/mentorships", &c.ana.1.access)
        .await)
    .await;
    assert_eq!(anas["items"][0]["status"], "accepted");
    assert_eq!(anas["items"][0]["programme_id"], id);
    assert_eq!(anas["items"][0]["goals"], "Lead a team");
    let mos = ok(app
        .get("acme", "/api/v1/network/mentors/me", &c.mo.1.access)
        .await)
    .await;
    assert_eq!(mos["open_places"], 0, "both of Mo's places are taken");
    let late = join(&app, &c.sam.1, &id, json!({ "role": "mentee" })).await;
    assert_eq!(
        expect_problem(late, StatusCode::CONFLICT).await,
        "programme_not_open"
    );
    let again = app
        .post(
            "acme",
            &format!("{path}/match"),
            &c.lead.1.access,
            &json!({}),
        )
        .await;
    assert_eq!(
        expect_problem(again, StatusCode::CONFLICT).await,
        "programme_not_open"
    );

    while app.worker.run_once().await.unwrap() > 0 {}
    // Each got an invitation before; the programme's mails name it.
    let of_programme = |to: &TestUser| -> Vec<crate::smtp::ReceivedMail> {
        smtp.messages_to(&to.email)
            .into_iter()
            .filter(|m| m.subject.contains("Leaders 2027"))
            .collect()
    };
    let to_ana = of_programme(&c.ana.0);
    assert_eq!(to_ana.len(), 1);
    assert!(
        to_ana[0].subject.contains("your mentor in Leaders 2027"),
        "{}",
        to_ana[0].subject
    );
    assert!(
        to_ana[0].text.contains("mo@acme.example is your mentor"),
        "{}",
        to_ana[0].text
    );
    let to_mo = of_programme(&c.mo.0);
    assert_eq!(to_mo.len(), 1);
    assert!(
        to_mo[0].text.contains("You are mentoring 2 people"),
        "{}",
        to_mo[0].text
    );
    assert!(to_mo[0].text.contains(&c.ben.0.email));
    let to_cy = of_programme(&c.cy.0);
    assert_eq!(to_cy.len(), 1);
    assert!(to_cy[0].text.contains("not matched"), "{}", to_cy[0].text);
    assert!(of_programme(&c.boss.0).is_empty(), "no pair: no mail");

    // Health: a pair quiet for more than 30 days shows first; the owner sees no notes.
    app.clock.advance(chrono::Duration::days(20));
    let ana_s = app.login("acme", &c.ana.0).await;
    let anas_id = anas["items"][0]["id"].as_str().unwrap().to_owned();
    let today = trellis::clock::Clock::now(&app.clock).date_naive();
    ok(app
        .post(
            "acme",
            &format!("/api/v1/network/mentorships/{anas_id}/sessions"),
            &ana_s.access,
            &json!({ "held_on": today, "minutes": 45, "notes": "Acme private notes" }),
        )
        .await)
    .await;
    app.clock.advance(chrono::Duration::days(15));
    let lead_s = app.login("acme", &c.lead.0).await;
    let health = ok(app
        .get("acme", &format!("{path}/health"), &lead_s.access)
        .await)
    .await;
    assert_eq!(health["quiet"], 1, "{health}");
    assert_eq!(health["pairs"][0]["mentee"]["id"], c.ben.0.id.to_string());
    assert_eq!(health["pairs"][0]["days_since"], 35);
    assert_eq!(health["pairs"][1]["sessions"], 1);
    assert_eq!(health["pairs"][1]["days_since"], 15);
    assert_eq!(health["by_status"]["accepted"], 2);
    assert!(!health.to_string().contains("Acme private notes"));
    let sam_s = app.login("acme", &c.sam.0).await;
    let peek = app
        .get("acme", &format!("{path}/health"), &sam_s.access)
        .await;
    assert_eq!(peek.status(), StatusCode::FORBIDDEN);

    // Closed is final.
    let hr = app.login_owner(&acme).await;
    let closed = ok(app
        .send_json(
            Method::PATCH,
            "acme",
            &path,
            &hr.access,
            &json!({ "status": "closed" }),
        )
        .await)
    .await;
    assert_eq!(closed["status"], "closed");
    let reopen = app
        .send_json(
            Method::PATCH,
            "acme",
            &path,
            &hr.access,
            &json!({ "status": "open" }),
        )
        .await;
    assert_eq!(reopen.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let members_view = ok(app
        .get("acme", "/api/v1/network/programmes", &sam_s.access)
        .await)
    .await;
    assert_eq!(
        members_view["items"].as_array().unwrap().len(),
        0,
        "a closed programme shows only to its people: {members_view}"
    );

    app.assert_audited(
        acme.id,
        &[
            "programme.created",
            "programme.updated",
            "programme.joined",
            "programme.left",
            "programme.matched",
            "programme.match_set",
            "programme.published",
            "mentorship.matched",
            "programme.closed",
        ],
    )
    .await;
}

#[tokio::test]
async fn publishing_a_draft_that_went_stale_is_refused_whole() {
    let (app, _smtp) = app_with_smtp().await;
    let acme = app.create_tenant("acme").await;
    let hr = app.login_owner(&acme).await;
    let c = cohort(&app, &acme, &hr).await;
    profile(&app, &c.mo.1, 1).await;
    profile(&app, &c.boss.1, 1).await;
    let programme = create(&app, &hr, json!({ "name": "Spring cohort" })).await;
    let id = programme["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/network/programmes/{id}");
    let early = app
        .post("acme", &format!("{path}/publish"), &hr.access, &json!({}))
        .await;
    assert_eq!(
        expect_problem(early, StatusCode::CONFLICT).await,
        "not_matched"
    );
    ok(join(&app, &c.mo.1, &id, json!({ "role": "mentor" })).await).await;
    ok(join(&app, &c.boss.1, &id, json!({ "role": "mentor" })).await).await;
    ok(join(&app, &c.ben.1, &id, json!({ "role": "mentee" })).await).await;
    ok(join(&app, &c.cy.1, &id, json!({ "role": "mentee" })).await).await;
    // A mentee deactivated after joining is matched with nobody and not shown.
    ok(join(&app, &c.ana.1, &id, json!({ "role": "mentee" })).await).await;
    ok(app
        .post(
            "acme",
            &format!("/api/v1/members/{}/deactivate", c.ana.0.id),
            &hr.access,
            &json!({}),
        )
        .await)
    .await;
    let draft = ok(app
        .post("acme", &format!("{path}/match"), &hr.access, &json!({}))
        .await)
    .await;
    assert_eq!(draft["matched"], 2, "{draft}");
    assert_eq!(draft["unmatched"], 0, "{draft}");
    assert!(
        !draft.to_string().contains(&c.ana.0.id.to_string()),
        "{draft}"
    );
    let bens_mentor = draft["matches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["mentee"]["id"] == c.ben.0.id.to_string())
        .unwrap()["mentor"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (mentor_s, other) = if bens_mentor == c.mo.0.id.to_string() {
        (&c.mo.1, &c.boss)
    } else {
        (&c.boss.1, &c.mo)
    };

    // Meanwhile Ben's mentor takes Sam on directly: their one place is gone.
    let asked = ok(app
        .post(
            "acme",
            "/api/v1/network/mentorships",
            &c.sam.1.access,
            &json!({ "mentor_id": bens_mentor }),
        )
        .await)
    .await;
    let asked_id = asked["id"].as_str().unwrap();
    ok(app
        .post(
            "acme",
            &format!("/api/v1/network/mentorships/{asked_id}/accept"),
            &mentor_s.access,
            &json!({}),
        )
        .await)
    .await;
    let stale = app
        .post("acme", &format!("{path}/publish"), &hr.access, &json!({}))
        .await;
    let problem = crate::helpers::problem(stale).await;
    assert_eq!(problem["code"], "matches_stale", "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("mentor_full"),
        "{problem}"
    );
    let pool = app.owner_pool().await;
    let (made,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM mentorships WHERE programme_id IS NOT NULL")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(made, 0, "nothing of a refused publication is kept");
    pool.close().await;
    let still = ok(app.get("acme", &path, &hr.access).await).await;
    assert_eq!(still["status"], "open");

    // Matched again around the taken place, it publishes.
    let redone = ok(app
        .post("acme", &format!("{path}/match"), &hr.access, &json!({}))
        .await)
    .await;
    assert_eq!(redone["matched"], 1, "{redone}");
    let remaining = redone["matches"][0]["mentor"]["id"].clone();
    assert_eq!(remaining, other.0.id.to_string());
    let published = ok(app
        .post("acme", &format!("{path}/publish"), &hr.access, &json!({}))
        .await)
    .await;
    assert_eq!(published["mentorships"], 1);
}
