//! Internal referrals (docs/networking.md): positions HR opens, and the candidates members refer to them.
//!
//! - `job_postings`: an internal job posting (title, department, location, description, the referral
//!   bonus it pays), `open`, `on_hold` or `closed`.
//! - `referrals`: a candidate (name, email, note, resume link) referred to a posting by a member, with
//!   an unguessable `tracking_code` for the link the candidate is sent, the pipeline status HR moves it
//!   through (`submitted` → `screening` → `interviewing` → `hired`, or `rejected`), HR's private notes,
//!   the bonus the posting offered when the candidate was referred (`referral_bonus`, kept: later edits
//!   of the posting do not change it) and the bonus's status. One referral per candidate and posting.

use crate::{Grants, run_sql, tenant_table};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let sql = format!(
            r#"
CREATE TABLE job_postings (
    tenant_id       uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id              uuid NOT NULL,
    title           text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 200),
    department      text NOT NULL DEFAULT '' CHECK (length(department) <= 120),
    location        text NOT NULL DEFAULT '' CHECK (length(location) <= 120),
    description     text NOT NULL DEFAULT '' CHECK (length(description) <= 10000),
    referral_bonus  text NOT NULL DEFAULT '' CHECK (length(referral_bonus) <= 200),
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'on_hold', 'closed')),
    created_by      uuid,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id) ON DELETE SET NULL (created_by)
);
CREATE INDEX job_postings_status_idx ON job_postings (tenant_id, status, created_at);
{job_postings}

CREATE TABLE referrals (
    tenant_id        uuid NOT NULL,
    id               uuid NOT NULL,
    posting_id       uuid NOT NULL,
    referrer_id      uuid,
    candidate_name   text NOT NULL CHECK (length(btrim(candidate_name)) BETWEEN 1 AND 200),
    candidate_email  text NOT NULL CHECK (candidate_email = lower(candidate_email)
                     AND length(candidate_email) BETWEEN 3 AND 254),
    note             text NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    resume_url       text CHECK (length(resume_url) <= 2000),
    tracking_code    text NOT NULL CHECK (length(tracking_code) BETWEEN 20 AND 64),
    status           text NOT NULL DEFAULT 'submitted'
                     CHECK (status IN ('submitted', 'screening', 'interviewing', 'hired', 'rejected')),
    hr_notes         text NOT NULL DEFAULT '' CHECK (length(hr_notes) <= 5000),
    referral_bonus   text NOT NULL DEFAULT '' CHECK (length(referral_bonus) <= 200),
    bonus_status     text NOT NULL DEFAULT 'not_eligible'
                     CHECK (bonus_status IN ('not_eligible', 'pending', 'approved', 'paid')),
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    status_changed_at timestamptz NOT NULL,
    hired_at         timestamptz,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, posting_id, candidate_email),
    UNIQUE (tenant_id, tracking_code),
    FOREIGN KEY (tenant_id, posting_id) REFERENCES job_postings (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, referrer_id) REFERENCES users (tenant_id, id) ON DELETE SET NULL (referrer_id),
    CHECK ((status = 'hired') = (hired_at IS NOT NULL)),
    CHECK (bonus_status = 'not_eligible' OR status = 'hired')
);
CREATE INDEX referrals_referrer_idx ON referrals (tenant_id, referrer_id, created_at)
    WHERE referrer_id IS NOT NULL;
CREATE INDEX referrals_status_idx ON referrals (tenant_id, status, created_at);
{referrals}
"#,
            job_postings = tenant_table("job_postings", Grants::ReadWrite),
            referrals = tenant_table("referrals", Grants::ReadWrite),
        );
        run_sql(manager, &sql).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(manager, "DROP TABLE referrals, job_postings;").await
    }
}
