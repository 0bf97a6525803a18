//! The demo organization `acme`: a few hundred people across ten departments, with a CEO, department
//! heads, team managers and their reports, and members in every baseline role. The same every time (a
//! fixed seed), so screenshots and walkthroughs stay stable; later modules add their own demo data on top.
//! Five people can sign in with the printed password; the rest have no password (as SSO users would).

use rand::{Rng, SeedableRng, rngs::StdRng, seq::SliceRandom};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    Statement, TransactionTrait,
};
use serde_json::json;
use uuid::Uuid;

use crate::{
    audit::{self, Actor, AuditCtx, AuditEvent},
    domain::TenantId,
    http::RequestContext,
};

const FIRST: &[&str] = &[
    "Ada", "Alan", "Amara", "Ana", "Arjun", "Ben", "Bianca", "Carlos", "Chen", "Chloe", "Dario",
    "Diana", "Elena", "Emeka", "Emma", "Farah", "Felix", "Grace", "Hana", "Hugo", "Ines", "Ivan",
    "Jade", "Jamal", "Jonas", "Julia", "Kai", "Keiko", "Lars", "Leila", "Liam", "Lucia", "Malik",
    "Maria", "Mateo", "Maya", "Nadia", "Nikhil", "Noah", "Olga", "Omar", "Priya", "Quinn",
    "Rafael", "Rosa", "Sam", "Sara", "Sofia", "Tariq", "Tess", "Theo", "Uma", "Victor", "Wen",
    "Yara", "Yusuf", "Zara", "Zoe",
];
const LAST: &[&str] = &[
    "Adeyemi",
    "Andersen",
    "Bauer",
    "Becker",
    "Costa",
    "Dubois",
    "Eriksson",
    "Fernandes",
    "Fischer",
    "Garcia",
    "Haddad",
    "Hansen",
    "Ito",
    "Jansen",
    "Kim",
    "Kowalski",
    "Larsen",
    "Lopez",
    "Martin",
    "Meyer",
    "Moreau",
    "Nakamura",
    "Novak",
    "Okafor",
    "Olsen",
    "Patel",
    "Petrov",
    "Quispe",
    "Rossi",
    "Santos",
    "Schmidt",
    "Silva",
    "Singh",
    "Sato",
    "Tanaka",
    "Torres",
    "Varga",
    "Wagner",
    "Weber",
    "Yilmaz",
    "Zhang",
    "Zimmermann",
];
const LOCATIONS: &[&str] = &[
    "Berlin",
    "Lisbon",
    "New York",
    "Toronto",
    "Singapore",
    "Remote",
];

/// Department, head's title, team lead's title, and the titles of the people in a team.
const DEPARTMENTS: &[(&str, &str, &str, &[&str])] = &[
    (
        "Engineering",
        "VP Engineering",
        "Engineering Manager",
        &[
            "Software Engineer",
            "Senior Software Engineer",
            "Staff Engineer",
            "Software Engineer II",
        ],
    ),
    (
        "Product",
        "VP Product",
        "Group Product Manager",
        &[
            "Product Manager",
            "Senior Product Manager",
            "Associate Product Manager",
        ],
    ),
    (
        "Design",
        "Head of Design",
        "Design Lead",
        &[
            "Product Designer",
            "Senior Product Designer",
            "UX Researcher",
        ],
    ),
    (
        "Data",
        "Head of Data",
        "Data Science Manager",
        &["Data Scientist", "Data Engineer", "Analytics Engineer"],
    ),
    (
        "Sales",
        "VP Sales",
        "Sales Manager",
        &[
            "Account Executive",
            "Senior Account Executive",
            "Sales Development Representative",
        ],
    ),
    (
        "Marketing",
        "VP Marketing",
        "Marketing Manager",
        &[
            "Content Marketer",
            "Growth Marketer",
            "Product Marketing Manager",
        ],
    ),
    (
        "Customer Success",
        "VP Customer Success",
        "Customer Success Manager",
        &[
            "Customer Success Specialist",
            "Support Engineer",
            "Onboarding Specialist",
        ],
    ),
    (
        "People",
        "Chief People Officer",
        "People Partner Lead",
        &[
            "People Partner",
            "Recruiter",
            "Learning & Development Specialist",
        ],
    ),
    (
        "Finance",
        "CFO",
        "Finance Manager",
        &["Financial Analyst", "Accountant", "Payroll Specialist"],
    ),
    (
        "Legal",
        "General Counsel",
        "Legal Operations Lead",
        &["Counsel", "Compliance Analyst", "Privacy Specialist"],
    ),
];

/// The accounts that can sign in, with the printed demo password.
pub const SIGN_IN_ACCOUNTS: &[(&str, &str)] = &[
    ("owner@acme.localhost", "owner"),
    ("admin@acme.localhost", "admin"),
    ("hr@acme.localhost", "hr"),
    ("manager@acme.localhost", "manager"),
    ("member@acme.localhost", "member"),
];

struct Person {
    id: Uuid,
    email: String,
    name: String,
    title: String,
    department: Option<String>,
    manager: Option<Uuid>,
    role: &'static str,
    password_hash: Option<String>,
}

/// Fills `tenant` with the demo people (as the owner role, in one transaction). Does nothing when the
/// organization already has more than a handful of members. Returns how many people it added.
pub async fn populate(
    owner: &DatabaseConnection,
    tenant: TenantId,
    owner_user: Uuid,
    password_hash: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<usize, DbErr> {
    let tx = owner.begin().await?;
    let existing = crate::db::sql::count(
        &tx,
        "SELECT count(*) AS n FROM users WHERE tenant_id = $1",
        vec![tenant.as_uuid().into()],
    )
    .await?;
    if existing > 5 {
        return Ok(0);
    }
    let people = people(owner_user, password_hash);
    for (chunk_index, chunk) in people.chunks(200).enumerate() {
        entity::users::Entity::insert_many(chunk.iter().enumerate().map(|(i, p)| {
            let number = chunk_index * 200 + i;
            entity::users::ActiveModel {
                tenant_id: Set(tenant.as_uuid()),
                id: Set(p.id),
                email: Set(p.email.clone()),
                display_name: Set(p.name.clone()),
                status: Set("active".into()),
                manager_id: Set(None),
                password_hash: Set(p.password_hash.clone()),
                password_changed_at: Set(p.password_hash.as_ref().map(|_| now.into())),
                title: Set(Some(p.title.clone())),
                department: Set(p.department.clone()),
                location: Set(Some(LOCATIONS[number % LOCATIONS.len()].to_owned())),
                employee_id: Set(Some(format!("E{:05}", 1001 + number))),
                created_at: Set(now.into()),
                updated_at: Set(now.into()),
                ..Default::default()
            }
        }))
        .exec_without_returning(&tx)
        .await?;
        entity::memberships::Entity::insert_many(chunk.iter().map(|p| {
            entity::memberships::ActiveModel {
                tenant_id: Set(tenant.as_uuid()),
                id: Set(Uuid::now_v7()),
                user_id: Set(p.id),
                role: Set(p.role.to_owned()),
                granted_by: Set(Some(owner_user)),
                created_at: Set(now.into()),
                updated_at: Set(now.into()),
            }
        }))
        .exec_without_returning(&tx)
        .await?;
    }
    // The reporting line, once everyone exists (the owner is the CEO: the heads report to them).
    for person in people.iter().filter(|p| p.manager.is_some()) {
        tx.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE users SET manager_id = $3 WHERE tenant_id = $1 AND id = $2",
            [
                tenant.as_uuid().into(),
                person.id.into(),
                person.manager.into(),
            ],
        ))
        .await?;
    }
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE users SET display_name = 'Avery Owner', title = 'Chief Executive Officer', \
         department = 'Executive', location = 'Berlin' WHERE tenant_id = $1 AND id = $2",
        [tenant.as_uuid().into(), owner_user.into()],
    ))
    .await?;
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "UPDATE tenants SET seat_limit = greatest(seat_limit, 500) WHERE id = $1",
        [tenant.as_uuid().into()],
    ))
    .await?;
    let ctx = AuditCtx {
        actor: Actor::system("trellis seed-demo"),
        request: RequestContext::default(),
        now,
    };
    audit::record_in(
        &tx,
        tenant,
        &ctx,
        AuditEvent::new("tenant.demo_seeded").metadata(json!({ "people": people.len() })),
    )
    .await?;
    tx.commit().await?;
    Ok(people.len())
}

fn people(ceo: Uuid, password_hash: &str) -> Vec<Person> {
    let mut rng = StdRng::seed_from_u64(0x007e_1115);
    let mut used = std::collections::HashSet::new();
    let mut person =
        |rng: &mut StdRng, title: &str, department: &str, manager: Uuid, role: &'static str| {
            let first = *FIRST.choose(rng).unwrap_or(&"Alex");
            let last = *LAST.choose(rng).unwrap_or(&"Doe");
            let base = format!("{}.{}", first.to_lowercase(), last.to_lowercase());
            let mut email = format!("{base}@acme.localhost");
            let mut n = 2;
            while used.contains(&email) {
                email = format!("{base}{n}@acme.localhost");
                n += 1;
            }
            used.insert(email.clone());
            Person {
                id: Uuid::now_v7(),
                email,
                name: format!("{first} {last}"),
                title: title.to_owned(),
                department: Some(department.to_owned()),
                manager: Some(manager),
                role,
                password_hash: None,
            }
        };
    let mut people = Vec::new();
    for (department, head_title, lead_title, titles) in DEPARTMENTS {
        let head_role = match *department {
            "People" => "hr",
            "Legal" => "compliance",
            "Engineering" => "admin",
            _ => "manager",
        };
        let head = person(&mut rng, head_title, department, ceo, head_role);
        let head_id = head.id;
        people.push(head);
        for _ in 0..rng.gen_range(2..=3) {
            let lead = person(&mut rng, lead_title, department, head_id, "manager");
            let lead_id = lead.id;
            people.push(lead);
            for _ in 0..rng.gen_range(7..=11) {
                let title = titles.choose(&mut rng).copied().unwrap_or("Specialist");
                let role = match *department {
                    "People" => "hr",
                    "Legal" => "compliance",
                    _ => "member",
                };
                people.push(person(&mut rng, title, department, lead_id, role));
            }
        }
    }
    // The sign-in accounts, placed in the organization like anyone else.
    let engineering_head = people.first().map(|p| p.id).unwrap_or(ceo);
    let engineering_lead = people.get(1).map(|p| p.id).unwrap_or(ceo);
    for (email, role) in SIGN_IN_ACCOUNTS.iter().skip(1) {
        let (name, title, department, manager) = match *role {
            "admin" => ("Alex Admin", "IT Administrator", "Operations", ceo),
            "hr" => ("Harper Hr", "HR Business Partner", "People", ceo),
            "manager" => (
                "Morgan Manager",
                "Engineering Manager",
                "Engineering",
                engineering_head,
            ),
            _ => (
                "Max Member",
                "Software Engineer",
                "Engineering",
                engineering_lead,
            ),
        };
        people.push(Person {
            id: Uuid::now_v7(),
            email: (*email).to_owned(),
            name: name.to_owned(),
            title: title.to_owned(),
            department: Some(department.to_owned()),
            manager: Some(manager),
            role,
            password_hash: Some(password_hash.to_owned()),
        });
    }
    people
}
