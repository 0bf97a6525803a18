//! Redis fails under two instances: frozen (SIGSTOP: the connections stay open and nothing answers)
//! and stopped (`SHUTDOWN NOSAVE`, then a new server on the same port). Each test runs a Redis server
//! process of its own on a free loopback port, so the machine's Redis and the other tests are left
//! alone. What must hold: reads and writes go on, authorization fails closed (a permission taken away
//! while Redis cannot carry the news stops on the other instance within a second), `/readyz` says
//! Redis is down, and everything is live again soon after Redis returns. The figures under load are
//! `bench/redis_fault.sh`'s (docs/RELIABILITY.md).

use std::{
    future::Future,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Session, TestApp, TestTenant, eventually, spawn_app_with, spawn_peer};

/// A redis-server process on a loopback port; killed when dropped.
struct OwnRedis {
    child: Child,
    port: u16,
}

impl OwnRedis {
    async fn start() -> OwnRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        OwnRedis::start_on(port).await
    }

    async fn start_on(port: u16) -> OwnRedis {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is installed (.ci/test installs it)");
        let redis = OwnRedis { child, port };
        eventually("redis-server accepts connections", 10, async || {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
        })
        .await;
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal}");
    }

    /// `SHUTDOWN NOSAVE`, and waits for the process to end.
    fn shutdown(mut self) -> u16 {
        let _ = Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "shutdown", "nosave"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        self.child.wait().unwrap();
        self.port
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-CONT", &self.child.id().to_string()])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn readiness(app: &TestApp) -> Value {
    app.base_get("/readyz").await.json().await.unwrap()
}

async fn redis_is(app: &TestApp, redis: &str, invalidation: &str) -> bool {
    let ready = readiness(app).await;
    ready["redis"] == redis && ready["invalidation"] == invalidation
}

/// Two instances on one database, sharing `redis`, with long cache lifetimes (only the bus or its
/// absence can explain a quick change), and acme with a custom role `viewer` (members:read) held by a
/// member.
struct Fixture {
    a: TestApp,
    b: TestApp,
    acme: TestTenant,
    owner: Session,
    viewer: Session,
    /// The role's path.
    role: String,
}

async fn two_instances(redis: &OwnRedis) -> Fixture {
    let url = redis.url();
    let a = spawn_app_with(|s| {
        s.redis.url = secrecy::SecretString::from(url);
        s.tenancy.cache_ttl_secs = 3600;
        s.plans.enterprise.api_requests_per_minute = 1_000_000;
    })
    .await;
    let b = spawn_peer(&a).await;
    for app in [&a, &b] {
        eventually("the bus is live", 10, async || {
            redis_is(app, "up", "live").await
        })
        .await;
    }
    let acme = a.create_tenant("acme").await;
    let owner = a.login_owner(&acme).await;
    let role: Value = a
        .post(
            "acme",
            "/api/v1/roles",
            &owner.access,
            &json!({ "name": "viewer", "permissions": ["members:read"] }),
        )
        .await
        .json()
        .await
        .unwrap();
    let viewer = a.add_member(&acme, &owner, "vera", "viewer").await;
    let viewer = a.login("acme", &viewer).await;
    // Both instances build and cache acme's enforcer with the role as it is.
    for app in [&a, &b] {
        let members = app.get("acme", "/api/v1/members", &viewer.access).await;
        assert_eq!(members.status(), StatusCode::OK);
    }
    let role = format!("/api/v1/roles/{}", role["id"].as_str().unwrap());
    Fixture {
        a,
        b,
        acme,
        owner,
        viewer,
        role,
    }
}

async fn set_permissions(app: &TestApp, owner: &Session, path: &str, permissions: &[&str]) {
    let edited = app
        .send_json(
            Method::PATCH,
            "acme",
            path,
            &owner.access,
            &json!({ "permissions": permissions }),
        )
        .await;
    assert_eq!(edited.status(), StatusCode::OK, "the role edit");
}

/// Every one of `n` reads on each instance succeeds.
async fn reads_succeed(apps: [&TestApp; 2], owner: &Session, n: usize) {
    for app in apps {
        for _ in 0..n {
            let members = app
                .get("acme", "/api/v1/members?limit=5", &owner.access)
                .await;
            assert_eq!(members.status(), StatusCode::OK, "a read while Redis fails");
        }
    }
}

async fn status_of<F: Future<Output = reqwest::Response>>(request: F) -> StatusCode {
    request.await.status()
}

/// Once Redis is back: both instances are live within 10 s, and the bus carries changes again — B hears
/// of the next one at once, not after its hour-long cache lifetime.
async fn live_again_and_the_bus_carries_changes(
    a: &TestApp,
    b: &TestApp,
    owner: &Session,
    viewer: &Session,
    role: &str,
) {
    for app in [a, b] {
        eventually("everything is live again", 10, async || {
            redis_is(app, "up", "live").await
        })
        .await;
    }
    let _ = b.get("acme", "/api/v1/org", &viewer.access).await;
    set_permissions(a, owner, role, &["members:read"]).await;
    eventually("B hears of the change through the bus", 1, async || {
        status_of(b.get("acme", "/api/v1/members", &viewer.access)).await == StatusCode::OK
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_redis_is_noticed_reads_go_on_and_a_revoked_permission_stops_within_a_second() {
    let redis = OwnRedis::start().await;
    let Fixture {
        a,
        b,
        acme,
        owner,
        viewer,
        role,
    } = two_instances(&redis).await;

    redis.signal("STOP");
    // A takes members:read from the role; B cannot hear of it, and notices that it cannot.
    set_permissions(&a, &owner, &role, &["org_settings:read"]).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // More than a second after the change: refused on both instances, the new grant works.
    for app in [&a, &b] {
        let members = status_of(app.get("acme", "/api/v1/members", &viewer.access)).await;
        assert_eq!(
            members,
            StatusCode::FORBIDDEN,
            "a permission taken away on A still works on an instance while Redis is frozen"
        );
        let org = status_of(app.get("acme", "/api/v1/org", &viewer.access)).await;
        assert_eq!(org, StatusCode::OK);
        // What the policy never allowed stays refused.
        let settings = app
            .send_json(
                Method::PATCH,
                "acme",
                "/api/v1/org/settings",
                &viewer.access,
                &json!({ "display_name": "Taken over" }),
            )
            .await;
        assert_eq!(settings.status(), StatusCode::FORBIDDEN);
    }
    for app in [&a, &b] {
        eventually("/readyz says Redis is down", 5, async || {
            redis_is(app, "down", "degraded").await
        })
        .await;
    }
    reads_succeed([&a, &b], &owner, 20).await;
    // Sign-in and writes go on too.
    b.login_owner(&acme).await;

    redis.signal("CONT");
    live_again_and_the_bus_carries_changes(&a, &b, &owner, &viewer, &role).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_redis_is_noticed_reads_go_on_and_a_new_one_is_used_when_it_comes() {
    let redis = OwnRedis::start().await;
    let Fixture {
        a,
        b,
        acme,
        owner,
        viewer,
        role,
    } = two_instances(&redis).await;

    let port = redis.shutdown();
    set_permissions(&a, &owner, &role, &["org_settings:read"]).await;
    let changed = Instant::now();
    for app in [&a, &b] {
        eventually("/readyz says Redis is down", 5, async || {
            redis_is(app, "down", "degraded").await
        })
        .await;
    }
    tokio::time::sleep(Duration::from_secs(1).saturating_sub(changed.elapsed())).await;
    for app in [&a, &b] {
        let members = status_of(app.get("acme", "/api/v1/members", &viewer.access)).await;
        assert_eq!(members, StatusCode::FORBIDDEN, "fails open without Redis");
    }
    reads_succeed([&a, &b], &owner, 20).await;
    b.login_owner(&acme).await;

    // A new, empty Redis on the same address.
    let _redis = OwnRedis::start_on(port).await;
    live_again_and_the_bus_carries_changes(&a, &b, &owner, &viewer, &role).await;
}
