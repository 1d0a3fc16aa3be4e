--
-- PostgreSQL database dump
--


-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Data for Name: departments; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.departments (id, slug, name, protocol, max_age_days, schedule_enabled, reveal_allowed, created_at, updated_at, account_name, approve_reveal, approve_deactivate, approve_rotate) VALUES (2, 'field-ops', 'Dept field-ops', 'soap', 90, true, false, '2026-12-06 01:21:34.079647+00', '2026-12-06 01:21:34.079647+00', '', false, false, false);
INSERT INTO public.departments (id, slug, name, protocol, max_age_days, schedule_enabled, reveal_allowed, created_at, updated_at, account_name, approve_reveal, approve_deactivate, approve_rotate) VALUES (1, 'fleet', 'Dept fleet', 'rest', 90, true, false, '2026-12-06 01:21:34.079647+00', '2026-12-06 01:21:34.079647+00', '0000123456-00001', false, false, false);


--
-- Data for Name: api_clients; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.api_clients (id, department_id, name, owner_name, owner_email, operations, secret_hash, prev_secret_hash, prev_until, created_by, created_at, expires_at, revoked_at, revoked_by) VALUES ('uwsc_s6buc6m3ft6ff2inakqq', 1, 'billing sync', 'Olive Owner', 'olive@example.com', '{list}', '\x27147121a32831d1cd695a0c7ce8d41a11a312efce594d226861f024437baaed', NULL, NULL, '1', '2026-12-06 01:21:34.079647+00', '2027-03-06 01:21:34.079647+00', NULL, NULL);


--
-- Data for Name: approvals; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: audit_events; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.audit_events (id, occurred_at, code, actor, actor_name, actor_roles, department, target, outcome, source_ip, user_agent, request_id, detail, prev_hash, hash) VALUES (1, '2026-12-06 01:21:34.079647+00', 'department.created', '1', 'Ada Admin', '{admin}', 'fleet', 'department:fleet', 'success', '192.0.2.1', 'test', 'req-1', '{"name": "Dept fleet", "slug": "fleet", "protocol": "rest", "account_name": "", "max_age_days": 90}', '\x0000000000000000000000000000000000000000000000000000000000000000', '\x97352e6cf33dc21c2cce7c5519bc909b0b0cc18875a7fd9d7c33ad5465616ed8');
INSERT INTO public.audit_events (id, occurred_at, code, actor, actor_name, actor_roles, department, target, outcome, source_ip, user_agent, request_id, detail, prev_hash, hash) VALUES (2, '2026-12-06 01:21:34.079647+00', 'credential.created', '1', 'Ada Admin', '{admin}', 'fleet', 'credential:fleet', 'success', '192.0.2.1', 'test', 'req-1', '{"version": 1, "username": "fleet-uws", "verified": false}', '\x97352e6cf33dc21c2cce7c5519bc909b0b0cc18875a7fd9d7c33ad5465616ed8', '\xf7021b8a03a868d25d6c8109ca322761cc12c610912eee4dd7ee3c1eb30167e4');
INSERT INTO public.audit_events (id, occurred_at, code, actor, actor_name, actor_roles, department, target, outcome, source_ip, user_agent, request_id, detail, prev_hash, hash) VALUES (3, '2026-12-06 01:21:34.079647+00', 'department.created', '1', 'Ada Admin', '{admin}', 'field-ops', 'department:field-ops', 'success', '192.0.2.1', 'test', 'req-1', '{"name": "Dept field-ops", "slug": "field-ops", "protocol": "soap", "account_name": "", "max_age_days": 90}', '\xf7021b8a03a868d25d6c8109ca322761cc12c610912eee4dd7ee3c1eb30167e4', '\x6a1483661a31cd327c5f277dfc6c0fa0670a5b65a9e128bb3ea7ca8f6239efdd');
INSERT INTO public.audit_events (id, occurred_at, code, actor, actor_name, actor_roles, department, target, outcome, source_ip, user_agent, request_id, detail, prev_hash, hash) VALUES (4, '2026-12-06 01:21:34.079647+00', 'credential.created', '1', 'Ada Admin', '{admin}', 'field-ops', 'credential:field-ops', 'success', '192.0.2.1', 'test', 'req-1', '{"version": 1, "username": "field-uws", "verified": false}', '\x6a1483661a31cd327c5f277dfc6c0fa0670a5b65a9e128bb3ea7ca8f6239efdd', '\xe1ac255eaabb22b3f47bb7ed63e22786333c4c2b06b080068ec9d28db96d3b9e');
INSERT INTO public.audit_events (id, occurred_at, code, actor, actor_name, actor_roles, department, target, outcome, source_ip, user_agent, request_id, detail, prev_hash, hash) VALUES (5, '2026-12-06 01:21:34.079647+00', 'department.updated', '1', 'Ada Admin', '{admin}', 'fleet', 'department:fleet', 'success', '192.0.2.1', 'test', 'req-1', '{"changes": ["account_name"], "account_name": "0000123456-00001"}', '\xe1ac255eaabb22b3f47bb7ed63e22786333c4c2b06b080068ec9d28db96d3b9e', '\x264c7698987c54aeb35cf3b1b4aa833bd04d6fdc94de3fe8854d6bed1dad5555');
INSERT INTO public.audit_events (id, occurred_at, code, actor, actor_name, actor_roles, department, target, outcome, source_ip, user_agent, request_id, detail, prev_hash, hash) VALUES (6, '2026-12-06 01:21:34.079647+00', 'credential.rotate.started', '1', 'Ada Admin', '{admin}', 'fleet', 'credential:fleet', 'success', '192.0.2.1', 'test', 'req-1', '{"run_id": 1, "trigger": "manual", "version": 1}', '\x264c7698987c54aeb35cf3b1b4aa833bd04d6fdc94de3fe8854d6bed1dad5555', '\x39c4cfc26991ce45d161f9372d9d3f3c1bcc9acb17d8943a9aafacb77022ab73');
INSERT INTO public.audit_events (id, occurred_at, code, actor, actor_name, actor_roles, department, target, outcome, source_ip, user_agent, request_id, detail, prev_hash, hash) VALUES (7, '2026-12-06 01:21:34.079647+00', 'upstream.login.succeeded', '1', 'Ada Admin', '{admin}', 'fleet', 'credential:fleet', 'success', '192.0.2.1', 'test', 'req-1', '{"purpose": "rotate", "protocol": "rest"}', '\x39c4cfc26991ce45d161f9372d9d3f3c1bcc9acb17d8943a9aafacb77022ab73', '\x97bbdc3fa8dd1346e8553e81381a6ccde4d614c5aaab55a3b3052c5736e4c738');
INSERT INTO public.audit_events (id, occurred_at, code, actor, actor_name, actor_roles, department, target, outcome, source_ip, user_agent, request_id, detail, prev_hash, hash) VALUES (8, '2026-12-06 01:21:34.079647+00', 'credential.rotate.applied', '1', 'Ada Admin', '{admin}', 'fleet', 'credential:fleet', 'success', '192.0.2.1', 'test', 'req-1', '{"run_id": 1, "version": 2}', '\x97bbdc3fa8dd1346e8553e81381a6ccde4d614c5aaab55a3b3052c5736e4c738', '\x07e43221f69cc233f2ac263b939e250777dc049279d9b55600161df09de1d6a9');
INSERT INTO public.audit_events (id, occurred_at, code, actor, actor_name, actor_roles, department, target, outcome, source_ip, user_agent, request_id, detail, prev_hash, hash) VALUES (9, '2026-12-06 01:21:34.079647+00', 'upstream.login.succeeded', '1', 'Ada Admin', '{admin}', 'fleet', 'credential:fleet', 'success', '192.0.2.1', 'test', 'req-1', '{"purpose": "verify", "protocol": "rest"}', '\x07e43221f69cc233f2ac263b939e250777dc049279d9b55600161df09de1d6a9', '\x2e93a9b8bcfe32d277310818d06f5d6f67a6965bd5bba716be35a3c6685b3ebf');
INSERT INTO public.audit_events (id, occurred_at, code, actor, actor_name, actor_roles, department, target, outcome, source_ip, user_agent, request_id, detail, prev_hash, hash) VALUES (10, '2026-12-06 01:21:34.079647+00', 'credential.rotate.verified', '1', 'Ada Admin', '{admin}', 'fleet', 'credential:fleet', 'success', '192.0.2.1', 'test', 'req-1', '{"state": "idle", "run_id": 1, "version": 2}', '\x2e93a9b8bcfe32d277310818d06f5d6f67a6965bd5bba716be35a3c6685b3ebf', '\xf0e39054e2abed670b6973399eb4963c7adcd357ad2d85677067da1571decdcb');
INSERT INTO public.audit_events (id, occurred_at, code, actor, actor_name, actor_roles, department, target, outcome, source_ip, user_agent, request_id, detail, prev_hash, hash) VALUES (11, '2026-12-06 01:21:34.079647+00', 'mapping.created', '1', 'Ada Admin', '{admin}', 'fleet', 'mapping:1', 'success', '192.0.2.1', 'test', 'req-1', '{"role": "lead", "group": "fleet-leads", "department": "fleet"}', '\xf0e39054e2abed670b6973399eb4963c7adcd357ad2d85677067da1571decdcb', '\xa3d6be80213807a3defd4f78942b242fc246370aded9add377c340725c4cfedd');
INSERT INTO public.audit_events (id, occurred_at, code, actor, actor_name, actor_roles, department, target, outcome, source_ip, user_agent, request_id, detail, prev_hash, hash) VALUES (12, '2026-12-06 01:21:34.079647+00', 'api_client.created', '1', 'Ada Admin', '{admin}', 'fleet', 'api_client:uwsc_s6buc6m3ft6ff2inakqq', 'success', '192.0.2.1', 'test', 'req-1', '{"name": "billing sync", "owner": "Olive Owner <olive@example.com>", "client_id": "uwsc_s6buc6m3ft6ff2inakqq", "expires_at": "2027-03-06T01:21:34Z", "operations": ["list"]}', '\xa3d6be80213807a3defd4f78942b242fc246370aded9add377c340725c4cfedd', '\x77662e078756518d2433d904eb37d6a96fc1f4cec6abebed1a8f96421e58ecbe');
INSERT INTO public.audit_events (id, occurred_at, code, actor, actor_name, actor_roles, department, target, outcome, source_ip, user_agent, request_id, detail, prev_hash, hash) VALUES (13, '2026-12-06 01:21:34.079647+00', 'notify.channel.added', '1', 'Ada Admin', '{admin}', '', 'notify-channel:1', 'success', '192.0.2.1', 'test', 'req-1', '{"kind": "webhook", "events": [], "target": "https://siem.example.com/…", "channel_id": 1, "department": ""}', '\x77662e078756518d2433d904eb37d6a96fc1f4cec6abebed1a8f96421e58ecbe', '\xa5803a5d1d40894df9f67347f08ca4e5746e4cc1188dc08a21b9220389b54a75');


--
-- Data for Name: audit_head; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.audit_head (singleton, seq, prev_hash, hash) VALUES (true, 13, '\x77662e078756518d2433d904eb37d6a96fc1f4cec6abebed1a8f96421e58ecbe', '\xa5803a5d1d40894df9f67347f08ca4e5746e4cc1188dc08a21b9220389b54a75') ON CONFLICT (singleton) DO UPDATE SET seq = EXCLUDED.seq, prev_hash = EXCLUDED.prev_hash, hash = EXCLUDED.hash;


--
-- Data for Name: audit_watch; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.audit_watch (singleton, last_verified_at) VALUES (true, '-infinity') ON CONFLICT (singleton) DO UPDATE SET last_verified_at = EXCLUDED.last_verified_at;


--
-- Data for Name: audit_windows; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: credentials; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.credentials (id, department_id, username, ciphertext, key_id, version, state, state_since, run_id, last_rotated_at, last_verified_at, last_upstream_code, last_result, password_changed_at, schedule_failures, next_attempt_at, created_at, updated_at) VALUES (2, 2, 'field-uws', '\xde164e8c5ac14ba7a2d4b12e9f71563af681ea7882b928e449506f4fdea2df7768c7b5075e5d50db5f7d10671141ee3dac', '1d78fb8c', 1, 'idle', '2026-12-06 01:21:34.079647+00', NULL, NULL, NULL, '', 'entered', '2026-12-06 01:21:34.079647+00', 0, NULL, '2026-12-06 01:21:34.079647+00', '2026-12-06 01:21:34.079647+00');
INSERT INTO public.credentials (id, department_id, username, ciphertext, key_id, version, state, state_since, run_id, last_rotated_at, last_verified_at, last_upstream_code, last_result, password_changed_at, schedule_failures, next_attempt_at, created_at, updated_at) VALUES (1, 1, 'fleet-uws', '\x26bb2dbc1f8dcaa436121033ce0e080998c07066a2ec1b5aeb01be90f29941710543ffe7339eadd9240d9f70', '1d78fb8c', 2, 'idle', '2026-12-06 01:21:34.079647+00', 1, '2026-12-06 01:21:34.079647+00', '2026-12-06 01:21:34.079647+00', '', 'rotated', '2026-12-06 01:21:34.079647+00', 0, NULL, '2026-12-06 01:21:34.079647+00', '2026-12-06 01:21:34.079647+00');


--
-- Data for Name: device_policies; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.device_policies (department_id, role, operation) VALUES (1, 'lead', 'list');
INSERT INTO public.device_policies (department_id, role, operation) VALUES (1, 'lead', 'suspend');
INSERT INTO public.device_policies (department_id, role, operation) VALUES (1, 'lead', 'restore');
INSERT INTO public.device_policies (department_id, role, operation) VALUES (1, 'lead', 'activate');
INSERT INTO public.device_policies (department_id, role, operation) VALUES (1, 'lead', 'plan');
INSERT INTO public.device_policies (department_id, role, operation) VALUES (1, 'lead', 'deactivate');
INSERT INTO public.device_policies (department_id, role, operation) VALUES (1, 'member', 'list');
INSERT INTO public.device_policies (department_id, role, operation) VALUES (2, 'lead', 'list');
INSERT INTO public.device_policies (department_id, role, operation) VALUES (2, 'lead', 'suspend');
INSERT INTO public.device_policies (department_id, role, operation) VALUES (2, 'lead', 'restore');
INSERT INTO public.device_policies (department_id, role, operation) VALUES (2, 'lead', 'activate');
INSERT INTO public.device_policies (department_id, role, operation) VALUES (2, 'lead', 'plan');
INSERT INTO public.device_policies (department_id, role, operation) VALUES (2, 'lead', 'deactivate');
INSERT INTO public.device_policies (department_id, role, operation) VALUES (2, 'member', 'list');


--
-- Data for Name: gateway_buckets; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: gateway_idempotency; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: gateway_tokens; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: group_mappings; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.group_mappings (id, group_name, role, department_id, created_at, created_by) VALUES (1, 'fleet-leads', 'lead', 1, '2026-12-06 01:21:34.079647+00', '1');


--
-- Data for Name: users; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: local_accounts; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: login_throttle; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: notify_channels; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.notify_channels (id, kind, key_id, target_sealed, secret_sealed, target_shown, department_id, events, created_by, created_at, consecutive_failures, last_error, last_failure_at, last_success_at) VALUES (1, 'webhook', '1d78fb8c', '\xde2120733bb8e405633739b2a6f6bbf582ae5790fd4dcb3a6b29d9e3965f14265113eb7219d73ca74b6573cc868a1eba2dd5eddce06c9eb77b2f7cd677e0', '\xa3602d1225f7c9ecff8d7fcdc2f341973f860f44c92ca52f63865a651ad34a052ab9c393fb55f0f3df83e9e512fde412eb429b6d1b19f313a757d29a5fde7486d07e1ba46c12cd8bf24a975007', 'https://siem.example.com/…', NULL, '{}', '1', '2026-12-06 01:21:34.079647+00', 0, '', NULL, NULL);


--
-- Data for Name: notify_outbox; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.notify_outbox (id, event, dedupe_key, department, subject, body, link, fields, recipients, exclude, occurred_at, fanned_out_at) VALUES (1, 'rotated', 'audit:10', 'fleet', 'Password of fleet rotated', 'ThingSpace generated a new password; the portal stored it and a login with it worked.', '/departments/fleet', '{"run_id": "1", "version": "2"}', '{}', '{}', '2026-12-06 01:21:34.079647+00', NULL);


--
-- Data for Name: notify_deliveries; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: rotation_runs; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.rotation_runs (id, credential_id, department_id, actor, actor_name, trigger, started_at, ended_at, result, upstream_code, detail) VALUES (1, 1, 1, '1', 'Ada Admin', 'manual', '2026-12-06 01:21:34.079647+00', '2026-12-06 01:21:34.079647+00', 'rotated', '', 'The password was rotated and verified (version 2).');


--
-- Data for Name: sessions; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Data for Name: upstream_accounts; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.upstream_accounts (username, consecutive_failures, failures_since_success, lease_id, lease_until, attempt_seq, lease_seq, last_failure_seq, last_upstream_code, updated_at) VALUES ('field-uws', 0, 0, NULL, NULL, 0, 0, 0, '', '2026-12-06 01:21:34.117471+00');
INSERT INTO public.upstream_accounts (username, consecutive_failures, failures_since_success, lease_id, lease_until, attempt_seq, lease_seq, last_failure_seq, last_upstream_code, updated_at) VALUES ('fleet-uws', 0, 0, NULL, NULL, 2, 2, 0, '', '2026-12-06 01:21:34.228498+00');


--
-- Data for Name: upstream_sessions; Type: TABLE DATA; Schema: public; Owner: -
--

INSERT INTO public.upstream_sessions (username, ciphertext, key_id, updated_at) VALUES ('fleet-uws', '\x39a56438c22d4a062dc9039146a99346794e792ab2be953bd143b1ed4872a800cf65cce5da64934be03d50568004adeb955d953fd535', '1d78fb8c', '2026-12-06 01:21:34.079647+00');


--
-- Data for Name: user_grants; Type: TABLE DATA; Schema: public; Owner: -
--



--
-- Name: approvals_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.approvals_id_seq', 1, false);


--
-- Name: credentials_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.credentials_id_seq', 2, true);


--
-- Name: departments_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.departments_id_seq', 2, true);


--
-- Name: group_mappings_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.group_mappings_id_seq', 1, true);


--
-- Name: notify_channels_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.notify_channels_id_seq', 1, true);


--
-- Name: notify_deliveries_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.notify_deliveries_id_seq', 1, false);


--
-- Name: notify_outbox_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.notify_outbox_id_seq', 1, true);


--
-- Name: rotation_runs_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.rotation_runs_id_seq', 1, true);


--
-- Name: users_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.users_id_seq', 1, false);


--
-- PostgreSQL database dump complete
--
