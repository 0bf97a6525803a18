// Minimal test OpenID Provider for integration tests (loopback only).
//
//   node provider.mjs [--port N]        (or env PORT=N; default 0 = ephemeral)
//
// Prints exactly one line `listening <port>` on stdout when ready. Everything
// else (oidc-provider notices/warnings, debug) goes to stderr.
// Issuer: http://127.0.0.1:<port>  (no trailing slash)
// Exits when stdin reaches EOF / is closed, on SIGTERM and on SIGINT.
//
// Test-only endpoints (bound to 127.0.0.1 only):
//   GET  /interaction/:uid          -> tiny HTML page (JSON with Accept: application/json)
//   POST /interaction/:uid/login    -> form: sub, email, email_verified, groups, name
//   POST /__test/tamper             -> {"mode":"signature"|"nonce"|"none"}
//   POST /__test/rotate-keys        -> new RS256 signing key (new kid), old key dropped
//   GET  /__test/state              -> debug: current tamper mode, kid

import * as crypto from 'node:crypto';
import * as http from 'node:http';
import { promisify } from 'node:util';

async function newSigningKey() {
  const { privateKey } = await promisify(crypto.generateKeyPair)('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: `k-${crypto.randomBytes(8).toString('hex')}`, alg: 'RS256', use: 'sig' };
}
// RSA key generation runs on the libuv thread pool while oidc-provider loads.
const firstKey = newSigningKey();

// oidc-provider prints NOTICEs with console.info; keep stdout reserved for the
// single `listening <port>` line. Must happen before oidc-provider is imported.
console.log = console.error.bind(console);
console.info = console.error.bind(console);

const { default: Provider } = await import('oidc-provider');

const HOST = '127.0.0.1';
const portArg = process.argv.indexOf('--port');
const PORT = Number(portArg !== -1 ? process.argv[portArg + 1] : (process.env.PORT ?? 0));

// ---------------------------------------------------------------- lifecycle
function shutdown(code = 0) {
  process.exit(code);
}
process.on('SIGTERM', () => shutdown(0));
process.on('SIGINT', () => shutdown(0));
// The harness keeps our stdin as a pipe; when it drops the handle (or dies)
// we see EOF and exit. Set OP_IGNORE_STDIN=1 to disable (e.g. when run with
// stdin redirected from /dev/null).
if (!process.env.OP_IGNORE_STDIN) {
  process.stdin.on('end', () => shutdown(0));
  process.stdin.on('close', () => shutdown(0));
  process.stdin.on('error', () => shutdown(0));
  process.stdin.resume();
}

// ---------------------------------------------------------------- state
/** sub -> claims object (already typed: email_verified boolean, groups array) */
const accounts = new Map();
/** 'none' | 'signature' | 'nonce' ; one-shot, resets after it fired */
let tamperMode = 'none';
const cookieKeys = [crypto.randomBytes(32).toString('base64url')];

let signingKey = await firstKey;

// ---------------------------------------------------------------- storage
// Tiny in-memory adapter shared by every Provider instance this process creates
// (oidc-provider 9.x gives each instance its own private MemoryAdapter store,
// so rotate-keys would otherwise forget all registered clients). Unbounded; it
// lives only as long as the test process.
const store = new Map(); // key -> { value, exp(ms) }
const grantMembers = new Map(); // grantId -> Set<key>
const GRANTABLE = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode',
  'BackchannelAuthenticationRequest', 'PreAuthorizedCode']);
function storeGet(key) {
  const e = store.get(key);
  if (e && e.exp <= Date.now()) { store.delete(key); return undefined; }
  return e?.value;
}
class TestAdapter {
  constructor(model) { this.model = model; }
  key(id) { return `${this.model}:${id}`; }
  async upsert(id, payload, expiresIn) {
    const exp = typeof expiresIn === 'number' ? Date.now() + (expiresIn + 60) * 1000 : Infinity;
    const key = this.key(id);
    store.set(key, { value: payload, exp });
    if (this.model === 'Session') store.set(`sessionUid:${payload.uid}`, { value: id, exp });
    if (payload.userCode) store.set(`userCode:${payload.userCode}`, { value: id, exp });
    if (GRANTABLE.has(this.model) && payload.grantId) {
      if (!grantMembers.has(payload.grantId)) grantMembers.set(payload.grantId, new Set());
      grantMembers.get(payload.grantId).add(key);
    }
  }
  async find(id) { return storeGet(this.key(id)); }
  async findByUid(uid) { const id = storeGet(`sessionUid:${uid}`); return id && this.find(id); }
  async findByUserCode(code) { const id = storeGet(`userCode:${code}`); return id && this.find(id); }
  async consume(id) { const v = storeGet(this.key(id)); if (v) v.consumed = Math.floor(Date.now() / 1000); }
  async destroy(id) { store.delete(this.key(id)); }
  async revokeByGrantId(grantId) {
    for (const key of grantMembers.get(grantId) ?? []) store.delete(key);
    grantMembers.delete(grantId);
  }
}

// ---------------------------------------------------------------- helpers
async function readForm(ctx) {
  const chunks = [];
  for await (const chunk of ctx.req) chunks.push(chunk);
  const raw = Buffer.concat(chunks).toString('utf8');
  if ((ctx.get('content-type') || '').includes('application/json')) {
    return raw ? JSON.parse(raw) : {};
  }
  return Object.fromEntries(new URLSearchParams(raw));
}

function parseBool(v) {
  if (typeof v === 'boolean') return v;
  return ['true', '1', 'on', 'yes'].includes(String(v ?? '').trim().toLowerCase());
}

function b64urlJson(part) {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// ---------------------------------------------------------------- provider
function buildProvider(issuer) {
  const provider = new Provider(issuer, {
    adapter: TestAdapter,
    jwks: { keys: [signingKey] },
    cookies: { keys: cookieKeys },
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true }, // open DCR at POST /reg, no initial access token
    },
    pkce: { required: () => true }, // only S256 exists in oidc-provider >= 8
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    scopes: ['openid', 'email', 'profile', 'groups'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username'],
      groups: ['groups'],
    },
    conformIdTokenClaims: false, // scope-requested claims go into the ID token too
    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      id_token_signed_response_alg: 'RS256',
      token_endpoint_auth_method: 'client_secret_basic',
    },
    interactions: {
      url: (ctx, interaction) => `/interaction/${interaction.uid}`,
    },
    async findAccount(ctx, id) {
      const stored = accounts.get(id);
      if (!stored) return undefined;
      return { accountId: id, claims: () => ({ ...stored, sub: id }) };
    },
    async renderError(ctx, out, error) {
      ctx.type = 'json';
      ctx.body = { ...out, status: ctx.status };
    },
  });

  provider.on('server_error', (ctx, err) => console.error('server_error', err));

  // -------- test hooks + interactions (Koa middleware, runs before the OP routes)
  provider.use(async (ctx, next) => {
    // --- /__test/*
    if (ctx.path.startsWith('/__test/')) {
      const ra = ctx.req.socket.remoteAddress;
      if (!['127.0.0.1', '::1', '::ffff:127.0.0.1'].includes(ra)) {
        ctx.status = 403;
        return;
      }
      if (ctx.method === 'POST' && ctx.path === '/__test/tamper') {
        const body = await readForm(ctx);
        if (!['none', 'signature', 'nonce'].includes(body.mode)) {
          ctx.status = 400;
          ctx.body = { error: 'mode must be one of none, signature, nonce' };
          return;
        }
        tamperMode = body.mode;
        ctx.body = { mode: tamperMode };
        return;
      }
      if (ctx.method === 'POST' && ctx.path === '/__test/rotate-keys') {
        const old = signingKey.kid;
        signingKey = await newSigningKey();
        activate(buildProvider(issuer)); // same shared in-memory adapter, same cookie keys
        ctx.body = { old_kid: old, kid: signingKey.kid };
        return;
      }
      if (ctx.method === 'GET' && ctx.path === '/__test/state') {
        ctx.body = { mode: tamperMode, kid: signingKey.kid, accounts: [...accounts.keys()] };
        return;
      }
      ctx.status = 404;
      return;
    }

    // --- interactions (no dev UI)
    const m = ctx.path.match(/^\/interaction\/([^/]+)(\/login)?$/);
    if (m) {
      const [, uid, isLogin] = m;
      let details;
      try {
        details = await provider.interactionDetails(ctx.req, ctx.res);
      } catch (err) {
        ctx.status = 400;
        ctx.body = { error: 'invalid_interaction', error_description: err.error_description ?? err.message };
        return;
      }
      if (details.uid !== uid) {
        ctx.status = 400;
        ctx.body = { error: 'invalid_interaction', error_description: 'uid/cookie mismatch' };
        return;
      }

      if (ctx.method === 'GET' && !isLogin) {
        const info = {
          uid,
          prompt: details.prompt.name,
          client_id: details.params.client_id,
          scope: details.params.scope,
          login_action: `/interaction/${uid}/login`,
          fields: ['sub', 'email', 'email_verified', 'groups', 'name'],
        };
        if (ctx.accepts('html', 'json') === 'json') {
          ctx.body = info;
          return;
        }
        ctx.type = 'html';
        ctx.body = `<!doctype html><html><body>
<p>Test OP login for client ${esc(info.client_id)} (prompt ${esc(info.prompt)})</p>
<form method="post" action="${esc(info.login_action)}">
<input name="sub" placeholder="sub"><input name="email" placeholder="email">
<select name="email_verified"><option>true</option><option>false</option></select>
<input name="groups" placeholder="g1,g2"><input name="name" placeholder="name">
<button type="submit">Sign in</button></form></body></html>`;
        return;
      }

      if (ctx.method === 'POST' && isLogin) {
        const form = await readForm(ctx);
        const sub = String(form.sub ?? '').trim();
        if (!sub) {
          ctx.status = 400;
          ctx.body = { error: 'invalid_request', error_description: 'sub is required' };
          return;
        }
        const claims = {};
        if (form.email !== undefined && form.email !== '') claims.email = String(form.email);
        if (form.email_verified !== undefined) claims.email_verified = parseBool(form.email_verified);
        if (form.name !== undefined && form.name !== '') claims.name = String(form.name);
        if (form.groups !== undefined) {
          claims.groups = Array.isArray(form.groups)
            ? form.groups.map(String)
            : String(form.groups).split(',').map((s) => s.trim()).filter(Boolean);
        }
        accounts.set(sub, claims);

        // Auto-consent: since v7 oidc-provider needs an explicit Grant. There is
        // never a previous grant here (no SSO, see below), so always create one.
        const grant = new provider.Grant({ accountId: sub, clientId: details.params.client_id });
        grant.addOIDCScope(details.params.scope ?? 'openid');
        const grantId = await grant.save();

        const returnTo = await provider.interactionResult(ctx.req, ctx.res, {
          login: { accountId: sub, remember: false },
          consent: { grantId },
        }, { mergeWithLastSubmission: false });
        ctx.status = 303; // Koa's redirect() keeps an already-set 3xx status
        ctx.redirect(returnTo);
        return;
      }

      ctx.status = 405;
      return;
    }

    if (ctx.method === 'GET' && (ctx.path === '/auth' || ctx.path.startsWith('/auth/'))) {
      // No SSO: authorization requests and their resume step never see a previous
      // OP session, so the test always gets the login interaction and may log in
      // as anyone. (Otherwise logging in as a different `sub` than an existing
      // session's makes oidc-provider answer the resume step with an
      // auto-submitting logout form, which a browserless client can't follow.)
      const cookie = ctx.req.headers.cookie;
      if (cookie) {
        ctx.req.headers.cookie = cookie.split(/;\s*/)
          .filter((c) => !/^_session(\.[a-z]+)?=/.test(c)).join('; ');
      }
    }
    if (ctx.method === 'GET' && ctx.path === '/auth') {
      // --- nonce tamper: rewrite the next authorization request before the OP sees it
      if (tamperMode === 'nonce') {
        const q = new URLSearchParams(ctx.querystring);
        q.set('nonce', `tampered-${crypto.randomBytes(8).toString('hex')}`);
        ctx.querystring = q.toString();
        tamperMode = 'none';
      }
    }

    await next();

    // --- signature tamper: alter the next token response's ID token payload
    if (tamperMode === 'signature' && ctx.path === '/token' && ctx.status === 200
        && ctx.body && typeof ctx.body === 'object' && ctx.body.id_token) {
      const [h, p, s] = ctx.body.id_token.split('.');
      const payload = b64urlJson(p);
      payload.email = 'tampered@attacker.invalid';
      const p2 = Buffer.from(JSON.stringify(payload)).toString('base64url');
      ctx.body = { ...ctx.body, id_token: `${h}.${p2}.${s}` };
      tamperMode = 'none';
    }
  });

  return provider;
}

// ---------------------------------------------------------------- server
let handler; // request handler of the active Provider (replaced on key rotation)
let issuer;
function activate(provider) {
  handler = provider.callback();
}
const server = http.createServer((req, res) => handler(req, res));
// Longer than reqwest's 90 s pool idle timeout, so the client always closes idle
// keep-alive connections first (avoids "connection closed before message completed").
server.keepAliveTimeout = 120_000;
server.headersTimeout = 121_000;
server.listen(PORT, HOST, () => {
  const { port } = server.address();
  issuer = `http://${HOST}:${port}`;
  activate(buildProvider(issuer));
  process.stdout.write(`listening ${port}\n`);
});
server.on('error', (err) => {
  console.error(err);
  shutdown(1);
});
