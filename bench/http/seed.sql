-- Members of one organization for the HTTP benchmark, written as the superuser with triggers and
-- foreign-key checks off (a fixture; the rows are valid: unique addresses, member i reports to member i/8).
-- psql variables: tenant (uuid), slug, members (count).
SET session_replication_role = replica;
INSERT INTO users (tenant_id, id, email, display_name, status, manager_id, title, department, location,
                   employee_id, created_at, updated_at, last_login_at, deactivated_at)
SELECT :'tenant', ids.id, format('person%s@%s.example', i, :'slug'),
       format('Person %s %s', i, (ARRAY['Ng','Okafor','Silva','Kowalski','Haddad','Tanaka','Moreau','Berg'])[1 + i % 8]),
       CASE WHEN i % 20 = 0 THEN 'invited' WHEN i % 20 = 1 THEN 'deactivated' ELSE 'active' END,
       CASE WHEN i >= 8 THEN md5(:'tenant' || (i / 8))::uuid END,
       (ARRAY['Engineer','Senior Engineer','Analyst','Designer','Manager','Recruiter'])[1 + i % 6],
       (ARRAY['Engineering','Sales','Marketing','Finance','People','Support','Legal','Operations',
              'Product','Design','Data','Security'])[1 + i % 12],
       (ARRAY['London','Berlin','Lagos','Austin','Tokyo','Remote'])[1 + i % 6],
       format('B%s', i),
       now() - (i % 1000) * interval '1 day', now(),
       CASE WHEN i % 3 = 0 THEN now() - (i % 90) * interval '1 day' END,
       CASE WHEN i % 20 = 1 THEN now() - interval '10 days' END
FROM generate_series(1, :members) i,
     LATERAL (SELECT md5(:'tenant' || i)::uuid AS id) ids;
INSERT INTO memberships (tenant_id, id, user_id, role, created_at, updated_at)
SELECT u.tenant_id, gen_random_uuid(), u.id,
       CASE WHEN substring(u.employee_id FROM 2)::int % 500 = 0 THEN 'hr' ELSE 'member' END, now(), now()
FROM users u WHERE u.tenant_id = :'tenant' AND u.employee_id LIKE 'B%' AND u.status <> 'invited';
