-- The four roles and the database (docs/operations.md), made once when the PostgreSQL volume is new.
CREATE ROLE trellis_owner LOGIN BYPASSRLS PASSWORD 'CHANGE-ME-owner';
CREATE ROLE trellis_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD 'CHANGE-ME-app';
CREATE ROLE trellis_worker LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD 'CHANGE-ME-worker';
CREATE ROLE trellis_retention NOLOGIN;
GRANT trellis_retention TO trellis_worker;
CREATE DATABASE trellis OWNER trellis_owner;
