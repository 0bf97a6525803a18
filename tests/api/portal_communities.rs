//! The portal's communities, events and programmes (ADR 0018 part 4, the rest): in a real browser a
//! member starts a community, opens a thread, answers a colleague's reply, RSVPs to the community's
//! event and gives her place up to the waitlist, and joins a mentoring programme; refused forms change
//! nothing, say why and keep what was typed; the plan's networking gates the pages; another
//! organization's community and event are not found.

use chrono::Duration;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use trellis::{clock::Clock, tenancy::plan::Feature};

use crate::{
    browser::{Browser, url},
    career::ok,
    console::{browser, request, sign_in},
    helpers::{PASSWORD, Session, TestApp, spawn_app},
};

async fn sign_in_to(browser: &Browser, app: &TestApp, email: &str, password: &str, link: &str) {
    browser.open(&url(app, "acme", "/login")).await;
    browser.fill("input[name=email]", email).await;
    browser.fill("input[name=password]", password).await;
    browser.click("button[type=submit]").await;
    browser.wait_for_title("Home — acme Inc").await;
    browser.click(&format!("nav a[href='{link}']")).await;
}

/// Where the browser is: the path of its address.
async fn path_of(browser: &Browser) -> String {
    browser
        .script("return window.location.pathname;", json!([]))
        .await
        .as_str()
        .unwrap()
        .to_owned()
}

/// A one-hour workshop three days from now.
async fn event(app: &TestApp, owner: &Session, community: &str, capacity: i64) -> Value {
    let starts = Clock::now(&app.clock) + Duration::days(3);
    ok(app
        .post(
            "acme",
            "/api/v1/network/events",
            &owner.access,
            &json!({ "title": "Query tuning clinic", "kind": "workshop",
                     "starts_at": starts.to_rfc3339(), "ends_at": (starts + Duration::hours(1)).to_rfc3339(),
                     "timezone": "Europe/Berlin", "location": "Room 4", "capacity": capacity,
                     "community_id": community }),
        )
        .await)
    .await
}

#[tokio::test]
async fn a_member_starts_a_community_answers_in_its_thread_rsvps_to_its_event_and_joins_a_programme()
 {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let ada = app.add_member(&acme, &owner, "ada", "member").await;
    let bob = app.add_member(&acme, &owner, "bob", "member").await;
    let bob_session = app.login("acme", &bob).await;
    let ada_session = app.login("acme", &ada).await;

    // Ada starts a community and opens a thread in it.
    let browser = Browser::start().await;
    sign_in_to(&browser, &app, &ada.email, &ada.password, "/communities").await;
    browser.wait_for_title("Communities — acme Inc").await;
    assert_eq!(browser.count("#no-communities").await, 1);
    browser.fill("#name", "Data guild").await;
    browser
        .fill("#description", "SQL, pipelines and dashboards.")
        .await;
    browser.click("#start-community").await;
    browser.wait_for_url("done=created").await;
    assert!(browser.text("#standing").await.contains("you own it"));
    browser.fill("#new-thread", "Who is going to PGConf?").await;
    browser.click("#post-thread").await;
    browser.wait_for_url("done=posted").await;
    let path = path_of(&browser).await;
    let parts: Vec<&str> = path.split('/').collect();
    let (community, thread) = (parts[2].to_owned(), parts[4].to_owned());

    // Bob joins and replies through the API.
    ok(app
        .send_json(
            Method::PUT,
            "acme",
            &format!("/api/v1/network/communities/{community}/membership"),
            &bob_session.access,
            &json!({}),
        )
        .await)
    .await;
    let reply = ok(app
        .post(
            "acme",
            &format!("/api/v1/network/communities/{community}/posts"),
            &bob_session.access,
            &json!({ "body": "I am, with the whole team.", "parent_id": thread }),
        )
        .await)
    .await;
    let reply_id = reply["id"].as_str().unwrap();

    // Ada sees his reply under her post and answers it.
    browser
        .open(&url(
            &app,
            "acme",
            &format!("/communities/{community}/posts/{thread}"),
        ))
        .await;
    browser
        .wait_for_title("Who is going to PGConf? — Data guild — acme Inc")
        .await;
    let shown = browser.text("#thread").await;
    assert!(
        shown.contains("I am, with the whole team.") && shown.contains(&bob.email),
        "{shown}"
    );
    assert_eq!(
        browser
            .attribute(&format!("#post-{reply_id}"), "style")
            .await
            .as_deref(),
        Some("margin-left: 2rem"),
        "a reply is indented under its post"
    );
    browser
        .click(&format!("#post-{reply_id} details summary"))
        .await;
    browser
        .fill(&format!("#reply-{reply_id}"), "See you there, Bob.")
        .await;
    browser.click(&format!("#send-reply-{reply_id}")).await;
    browser.wait_for_url("done=posted").await;
    let posts = ok(app
        .get(
            "acme",
            &format!("/api/v1/network/communities/{community}/posts/{thread}"),
            &ada_session.access,
        )
        .await)
    .await;
    let items = posts["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{posts}");
    assert_eq!(
        (items[2]["body"].as_str(), items[2]["parent_id"].as_str()),
        (Some("See you there, Bob."), Some(reply_id)),
        "Ada's answer is to Bob's reply: {posts}"
    );
    assert_eq!(browser.count("#thread li").await, 3);
    browser.assert_accessible().await;
    browser.screenshot("portal-community-thread").await;

    // The community's workshop has one place: Ada takes it, Bob waits, Ada gives it up to him.
    let workshop = event(&app, &owner, &community, 1).await;
    let event_id = workshop["id"].as_str().unwrap();
    browser
        .open(&url(&app, "acme", &format!("/communities/{community}")))
        .await;
    browser.wait_for_title("Data guild — acme Inc").await;
    browser.click("#community-events a").await;
    browser
        .wait_for_title("Query tuning clinic — acme Inc")
        .await;
    assert_eq!(browser.text("#rsvp").await, "I am going");
    browser.click("#rsvp").await;
    browser.wait_for_url("done=going").await;
    assert_eq!(browser.text("#my-status").await, "You are going.");
    let bob_rsvp = ok(app
        .send_json(
            Method::PUT,
            "acme",
            &format!("/api/v1/network/events/{event_id}/rsvp"),
            &bob_session.access,
            &json!({}),
        )
        .await)
    .await;
    assert_eq!(bob_rsvp["my_status"], "waitlisted", "{bob_rsvp}");
    browser
        .open(&url(&app, "acme", &format!("/events/{event_id}")))
        .await;
    browser
        .wait_for_title("Query tuning clinic — acme Inc")
        .await;
    assert_eq!(
        browser.text("#places").await,
        "1 of 1 taken, 1 on the waitlist"
    );
    browser.assert_accessible().await;
    browser.screenshot("portal-event").await;
    browser.click("#withdraw").await;
    browser.wait_for_url("done=withdrawn").await;
    assert_eq!(browser.text("#my-status").await, "You have not answered.");
    assert_eq!(browser.text("#places").await, "1 of 1 taken");
    let for_bob = ok(app
        .get(
            "acme",
            &format!("/api/v1/network/events/{event_id}"),
            &bob_session.access,
        )
        .await)
    .await;
    assert_eq!(
        for_bob["my_status"], "going",
        "Bob got the place: {for_bob}"
    );
    browser.open(&url(&app, "acme", "/events")).await;
    browser.wait_for_title("Events — acme Inc").await;
    let listed = browser.text("#events").await;
    assert!(
        listed.contains("Query tuning clinic")
            && listed.contains("Full")
            && listed.contains("Data guild"),
        "{listed}"
    );
    browser.assert_accessible().await;

    // Ada joins HR's programme as a mentee.
    let programme = ok(app
        .post(
            "acme",
            "/api/v1/network/programmes",
            &owner.access,
            &json!({ "name": "Leaders 2027", "description": "Six months with a senior mentor." }),
        )
        .await)
    .await;
    let programme_id = programme["id"].as_str().unwrap();
    browser.open(&url(&app, "acme", "/programmes")).await;
    browser
        .wait_for_title("Mentoring programmes — acme Inc")
        .await;
    browser
        .fill(&format!("#goals-{programme_id}"), "Lead a team of five.")
        .await;
    browser
        .fill(&format!("#languages-{programme_id}"), "en, de")
        .await;
    browser
        .fill(&format!("#timezone-{programme_id}"), "Europe/Berlin")
        .await;
    browser.click(&format!("#as-mentee-{programme_id}")).await;
    browser.wait_for_url("done=joined").await;
    assert_eq!(
        browser
            .text(&format!("#programme-{programme_id} .mine"))
            .await,
        "You are in it as a mentee."
    );
    let mine = ok(app
        .get(
            "acme",
            &format!("/api/v1/network/programmes/{programme_id}/participation"),
            &ada_session.access,
        )
        .await)
    .await;
    assert_eq!(
        (&mine["goals"], &mine["languages"], &mine["timezone"]),
        (
            &json!("Lead a team of five."),
            &json!(["de", "en"]),
            &json!("Europe/Berlin")
        ),
        "{mine}"
    );
    browser.assert_accessible().await;
    browser.screenshot("portal-programmes").await;
    browser.quit().await;
}

#[tokio::test]
async fn refused_community_event_and_programme_forms_change_nothing_and_keep_what_was_typed() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let ada = app.add_member(&acme, &owner, "ada", "member").await;
    let bob = app.add_member(&acme, &owner, "bob", "member").await;
    let ada_session = app.login("acme", &ada).await;
    let community = ok(app
        .post(
            "acme",
            "/api/v1/network/communities",
            &ada_session.access,
            &json!({ "name": "Data guild" }),
        )
        .await)
    .await;
    let community_id = community["id"].as_str().unwrap();
    let post = ok(app
        .post(
            "acme",
            &format!("/api/v1/network/communities/{community_id}/posts"),
            &ada_session.access,
            &json!({ "body": "Ada's first post" }),
        )
        .await)
    .await;
    let post_id = post["id"].as_str().unwrap();

    let client = browser();
    sign_in(&app, &client, &bob.email, PASSWORD).await;
    let (page, csrf) = crate::portal::page_and_csrf(&app, &client, "/communities").await;
    assert!(
        page.contains(&format!("id=\"join-{community_id}\"")),
        "{page}"
    );
    let threads = format!("/communities/{community_id}/posts");
    let count = async || {
        let listed = ok(app
            .get(
                "acme",
                &format!("/api/v1/network/communities/{community_id}/posts"),
                &ada_session.access,
            )
            .await)
        .await;
        listed["items"].as_array().unwrap().len()
    };

    // Bob has not joined: his thread is refused, kept in the box, and not written.
    let (status, page) = crate::portal::post_form(
        &app,
        &client,
        &threads,
        &csrf,
        &[("body", "Unjoined thoughts from Bob")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("join the community to write in it"), "{page}");
    assert!(
        page.contains(">\nUnjoined thoughts from Bob</textarea>"),
        "typed text kept: {page}"
    );
    assert_eq!(count().await, 1);
    // Nor may he edit Ada's post, or change the community's settings.
    let (status, page) = crate::portal::post_form(
        &app,
        &client,
        &format!("/communities/{community_id}/posts/{post_id}/edit"),
        &csrf,
        &[("body", "Bob was here")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("only its author edits a post"), "{page}");
    let (status, page) = crate::portal::post_form(
        &app,
        &client,
        &format!("/communities/{community_id}/settings"),
        &csrf,
        &[("name", "Bob's guild")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("owners or HR change it"), "{page}");
    // A community whose name is taken: refused, with the description typed kept.
    let (status, page) = crate::portal::post_form(
        &app,
        &client,
        "/communities",
        &csrf,
        &[
            ("name", "data guild"),
            ("description", "Another take on data"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        page.contains("a community of this name exists already"),
        "{page}"
    );
    assert!(page.contains("take on data</textarea>"), "{page}");
    let all = ok(app
        .get("acme", "/api/v1/network/communities", &ada_session.access)
        .await)
    .await;
    assert_eq!(all["items"].as_array().unwrap().len(), 1, "{all}");

    // Having joined, a reply to a removed post is refused with the text kept.
    let (status, _) = crate::portal::post_form(
        &app,
        &client,
        &format!("/communities/{community_id}/join"),
        &csrf,
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    ok(app
        .delete(
            "acme",
            &format!("/api/v1/network/communities/{community_id}/posts/{post_id}"),
            &ada_session.access,
        )
        .await)
    .await;
    let (status, page) = crate::portal::post_form(
        &app,
        &client,
        &threads,
        &csrf,
        &[("body", "A late answer"), ("parent_id", post_id)],
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("that post was removed"), "{page}");
    assert!(page.contains(">\nA late answer</textarea>"), "{page}");
    assert!(page.contains("This post was removed."), "{page}");
    assert_eq!(count().await, 1);

    // A cancelled event takes no RSVP.
    let workshop = event(&app, &owner, community_id, 10).await;
    let event_id = workshop["id"].as_str().unwrap();
    ok(app
        .send_json(
            Method::PATCH,
            "acme",
            &format!("/api/v1/network/events/{event_id}"),
            &owner.access,
            &json!({ "status": "cancelled" }),
        )
        .await)
    .await;
    let (status, page) = crate::portal::post_form(
        &app,
        &client,
        &format!("/events/{event_id}/rsvp"),
        &csrf,
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("this event is cancelled"), "{page}");
    assert!(!page.contains("id=\"rsvp\""), "{page}");
    let attendees = ok(app
        .get(
            "acme",
            &format!("/api/v1/network/events/{event_id}/attendees"),
            &owner.access,
        )
        .await)
    .await;
    assert_eq!(attendees["items"], json!([]), "{attendees}");

    // A programme: as a mentor without a mentor profile, then as a mentee in no real time zone — both
    // refused, the goals kept; then in, and out again.
    let programme = ok(app
        .post(
            "acme",
            "/api/v1/network/programmes",
            &owner.access,
            &json!({ "name": "Leaders 2027" }),
        )
        .await)
    .await;
    let programme_id = programme["id"].as_str().unwrap();
    let join = format!("/programmes/{programme_id}/join");
    let (status, page) = crate::portal::post_form(
        &app,
        &client,
        &join,
        &csrf,
        &[("role", "mentor"), ("places", "2")],
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(page.contains("create your mentor profile first"), "{page}");
    let (status, page) = crate::portal::post_form(
        &app,
        &client,
        &join,
        &csrf,
        &[
            ("role", "mentee"),
            ("goals", "Run a team"),
            ("timezone", "Mars/Olympus"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains(">Run a team</textarea>"), "{page}");
    let cohort = ok(app
        .get(
            "acme",
            &format!("/api/v1/network/programmes/{programme_id}/participants"),
            &owner.access,
        )
        .await)
    .await;
    assert_eq!(cohort["items"], json!([]), "{cohort}");
    let (status, _) = crate::portal::post_form(
        &app,
        &client,
        &join,
        &csrf,
        &[
            ("role", "mentee"),
            ("goals", "Run a team"),
            ("timezone", "Europe/Berlin"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (page, _) = crate::portal::page_and_csrf(&app, &client, "/programmes").await;
    assert!(page.contains("You are in it as a mentee."), "{page}");
    let (status, _) = crate::portal::post_form(
        &app,
        &client,
        &format!("/programmes/{programme_id}/leave"),
        &csrf,
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let cohort = ok(app
        .get(
            "acme",
            &format!("/api/v1/network/programmes/{programme_id}/participants"),
            &owner.access,
        )
        .await)
    .await;
    assert_eq!(cohort["items"], json!([]), "left: {cohort}");
}

#[tokio::test]
async fn another_organizations_community_and_event_are_not_found_and_the_plan_gates_the_pages() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let globex = app.create_tenant("globex").await;
    let owner = app.login_owner(&acme).await;
    let ada = app.add_member(&acme, &owner, "ada", "member").await;
    let globex_owner = app.login_owner(&globex).await;
    let theirs = ok(app
        .post(
            "globex",
            "/api/v1/network/communities",
            &globex_owner.access,
            &json!({ "name": "Globex Secret Guild" }),
        )
        .await)
    .await;
    let theirs_id = theirs["id"].as_str().unwrap();
    let starts = Clock::now(&app.clock) + Duration::days(3);
    let their_event = ok(app
        .post(
            "globex",
            "/api/v1/network/events",
            &globex_owner.access,
            &json!({ "title": "Globex Secret Fair", "starts_at": starts.to_rfc3339(),
                     "ends_at": (starts + Duration::hours(1)).to_rfc3339(), "capacity": 5 }),
        )
        .await)
    .await;
    let their_event_id = their_event["id"].as_str().unwrap();

    let client = browser();
    sign_in(&app, &client, &ada.email, PASSWORD).await;
    let (_, csrf) = crate::portal::page_and_csrf(&app, &client, "/communities").await;
    for path in [
        format!("/communities/{theirs_id}"),
        format!("/events/{their_event_id}"),
    ] {
        let response = request(&app, &client, Method::GET, &path)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    for (path, fields) in [
        (format!("/communities/{theirs_id}/join"), vec![]),
        (
            format!("/communities/{theirs_id}/posts"),
            vec![("body", "Acme was here")],
        ),
        (format!("/events/{their_event_id}/rsvp"), vec![]),
    ] {
        let (status, _) = crate::portal::post_form(&app, &client, &path, &csrf, &fields).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    for path in ["/communities", "/events"] {
        let (page, _) = crate::portal::page_and_csrf(&app, &client, path).await;
        assert!(!page.contains("Globex Secret"), "{path}: {page}");
    }
    let globex_view = ok(app
        .get(
            "globex",
            &format!("/api/v1/network/events/{their_event_id}/attendees"),
            &globex_owner.access,
        )
        .await)
    .await;
    assert_eq!(globex_view["items"], json!([]), "{globex_view}");
    let guild = ok(app
        .get(
            "globex",
            &format!("/api/v1/network/communities/{theirs_id}"),
            &globex_owner.access,
        )
        .await)
    .await;
    assert_eq!(
        (guild["members"].as_i64(), guild["threads"].as_i64()),
        (Some(1), Some(0))
    );

    crate::portal::assert_gated(
        Feature::Networking,
        &["/communities", "/events", "/programmes"],
        ("/communities", &[("name", "Data guild")]),
    )
    .await;
}

#[tokio::test]
async fn a_thread_reads_in_reply_order_and_refused_settings_keep_what_was_typed() {
    let app = spawn_app().await;
    let acme = app.create_tenant("acme").await;
    let owner = app.login_owner(&acme).await;
    let ada = app.add_member(&acme, &owner, "ada", "member").await;
    let bob = app.add_member(&acme, &owner, "bob", "member").await;
    let ada_session = app.login("acme", &ada).await;
    let bob_session = app.login("acme", &bob).await;
    let mut ids = Vec::new();
    for name in ["Data guild", "Design guild"] {
        let community = ok(app
            .post(
                "acme",
                "/api/v1/network/communities",
                &ada_session.access,
                &json!({ "name": name }),
            )
            .await)
        .await;
        ids.push(community["id"].as_str().unwrap().to_owned());
    }
    let community = &ids[0];
    ok(app
        .send_json(
            Method::PUT,
            "acme",
            &format!("/api/v1/network/communities/{community}/membership"),
            &bob_session.access,
            &json!({}),
        )
        .await)
    .await;
    let write = async |session: &Session, body: &str, parent: Option<&str>| {
        let post = ok(app
            .post(
                "acme",
                &format!("/api/v1/network/communities/{community}/posts"),
                &session.access,
                &json!({ "body": body, "parent_id": parent }),
            )
            .await)
        .await;
        post["id"].as_str().unwrap().to_owned()
    };
    // The thread, Bob's answer to it, Ada's own answer to it, then Bob's answer to his first.
    let root = write(&ada_session, "Which database for analytics?", None).await;
    let first = write(
        &bob_session,
        "Postgres, with a columnar extension.",
        Some(&root),
    )
    .await;
    let second = write(&ada_session, "What about the cost?", Some(&root)).await;
    let below_first = write(&bob_session, "Citus, for one.", Some(&first)).await;

    let client = browser();
    sign_in(&app, &client, &ada.email, PASSWORD).await;
    let (page, csrf) = crate::portal::page_and_csrf(
        &app,
        &client,
        &format!("/communities/{community}/posts/{root}"),
    )
    .await;
    let at = |id: &str| page.find(&format!("id=\"post-{id}\"")).unwrap();
    assert!(
        at(&root) < at(&first) && at(&first) < at(&below_first) && at(&below_first) < at(&second),
        "each reply under the post it answers: {page}"
    );
    assert!(
        page.contains(&format!(
            "id=\"post-{below_first}\" style=\"margin-left: 4rem\""
        )),
        "{page}"
    );

    // Ada owns the guild: a name taken is refused, and the settings form keeps what she typed.
    let (status, page) = crate::portal::post_form(
        &app,
        &client,
        &format!("/communities/{community}/settings"),
        &csrf,
        &[
            ("name", "design guild"),
            ("description", "Typed words"),
            ("archived", "on"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        page.contains("value=\"design guild\"")
            && page.contains(">Typed words</textarea>")
            && page.contains("name=\"archived\" value=\"on\" checked"),
        "{page}"
    );
    let guild = ok(app
        .get(
            "acme",
            &format!("/api/v1/network/communities/{community}"),
            &ada_session.access,
        )
        .await)
    .await;
    assert_eq!(
        (guild["name"].as_str(), guild["archived"].as_bool()),
        (Some("Data guild"), Some(false))
    );

    // Leaving twice (a second tab) is done, not an error.
    let bob_client = browser();
    sign_in(&app, &bob_client, &bob.email, PASSWORD).await;
    let (_, bob_csrf) = crate::portal::page_and_csrf(&app, &bob_client, "/communities").await;
    for _ in 0..2 {
        let left = request(
            &app,
            &bob_client,
            Method::POST,
            &format!("/communities/{community}/leave"),
        )
        .form(&[("csrf_token", bob_csrf.as_str())])
        .send()
        .await
        .unwrap();
        assert_eq!(
            (left.status(), crate::console::location(&left)),
            (StatusCode::SEE_OTHER, "/communities?done=left")
        );
    }
    let guild = ok(app
        .get(
            "acme",
            &format!("/api/v1/network/communities/{community}"),
            &bob_session.access,
        )
        .await)
    .await;
    assert_eq!(guild["members"], 1, "{guild}");
}
