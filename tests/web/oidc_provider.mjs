// A real OpenID provider for the single sign-on tests: panva's oidc-provider (the certified Node
// implementation) with a login form, a consent form and the test's users, on the port it is given.
//
//   node tests/web/oidc_provider.mjs CONFIG.json     (prints "ready <issuer>" once it listens)
//
// CONFIG: {"port", "host" (of the issuer; it listens on 127.0.0.1), "clients": [oidc-provider client metadata], "users": {"login": {"password",
// "claims": {...}}}}. The login form refuses a wrong password as a real provider does; the consent
// form has "Allow" and "Deny" (Deny sends the person back to hoso with error=access_denied).
//
// POST /test/tamper {"aud"?, "exp"?, "foreign_key"?} makes the NEXT token answer carry an ID token
// re-signed with that audience, that expiry (seconds from now) or a key not in the JWKS: the
// provider turned hostile, so the tests can show that hoso checks what it is handed.
import { readFileSync } from 'node:fs';

import * as jose from 'jose';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const issuer = `http://${config.host ?? '127.0.0.1'}:${config.port}`;
const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const signingKey = { ...(await jose.exportJWK(privateKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
const foreign = await jose.generateKeyPair('RS256');
let tamper = null;

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) =>
  `<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>${esc(title)}</title></head>` +
  `<body><h1>${esc(title)}</h1>${body}</body></html>`;

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  return req.headers['content-type']?.includes('json') ? JSON.parse(text || '{}') : Object.fromEntries(new URLSearchParams(text));
}

function loginForm(uid, error = '') {
  return page(
    'Đăng nhập Sở GDĐT',
    `${error ? `<p id="error">${esc(error)}</p>` : ''}<form method="post" action="/interaction/${uid}/login">` +
      '<label>Tên đăng nhập <input name="login" id="login"></label>' +
      '<label>Mật khẩu <input name="password" id="password" type="password"></label>' +
      '<button type="submit" id="submit">Đăng nhập</button></form>',
  );
}

function consentForm(uid, clientId) {
  return page(
    `Cho phép ${clientId}?`,
    `<form method="post" action="/interaction/${uid}/confirm"><button id="allow" type="submit">Cho phép</button></form>` +
      `<form method="post" action="/interaction/${uid}/abort"><button id="deny" type="submit">Từ chối</button></form>`,
  );
}

const provider = new Provider(issuer, {
  clients: config.clients,
  jwks: { keys: [signingKey] },
  cookies: { keys: ['hoso-test-provider-cookie-key'] },
  claims: { openid: ['sub'], profile: ['preferred_username', 'name'], email: ['email', 'email_verified'], staff: ['staff_id'] },
  features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true } },
  pkce: { required: () => true },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    const user = config.users[id];
    if (!user) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...user.claims }) };
  },
});

async function interaction(ctx) {
  const [, uid, action] = ctx.path.match(/^\/interaction\/([^/]+)(?:\/(login|confirm|abort))?$/);
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const finish = async (result) => ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false }));
  ctx.type = 'html';
  if (ctx.method === 'GET') {
    ctx.body = details.prompt.name === 'login' ? loginForm(uid) : consentForm(uid, details.params.client_id);
  } else if (action === 'login') {
    const form = await readForm(ctx.req);
    const user = config.users[form.login];
    if (!user || user.password !== form.password) {
      ctx.status = 401;
      ctx.body = loginForm(uid, 'Sai tên đăng nhập hoặc mật khẩu.');
      return;
    }
    await finish({ login: { accountId: form.login } });
  } else if (action === 'confirm') {
    const grant = new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    const missing = details.prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    await finish({ consent: { grantId: await grant.save() } });
  } else {
    await finish({ error: 'access_denied', error_description: 'The person refused' });
  }
}

async function retamper(ctx) {
  const body = typeof ctx.body === 'string' ? JSON.parse(ctx.body) : ctx.body;
  if (!body?.id_token) return;
  const claims = jose.decodeJwt(body.id_token);
  const changes = tamper;
  tamper = null;
  if (changes.aud) claims.aud = changes.aud;
  if (changes.exp !== undefined) claims.exp = Math.floor(Date.now() / 1000) + changes.exp;
  const key = changes.foreign_key ? foreign.privateKey : privateKey;
  body.id_token = await new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).sign(key);
  ctx.body = body;
}

provider.use(async (ctx, next) => {
  if (ctx.path === '/test/tamper' && ctx.method === 'POST') {
    tamper = await readForm(ctx.req);
    ctx.status = 204;
    return;
  }
  if (ctx.path.startsWith('/interaction/')) {
    await interaction(ctx);
    return;
  }
  await next();
  if (tamper && ctx.path === '/token' && ctx.status === 200) await retamper(ctx);
});

provider.listen(config.port, '127.0.0.1', () => console.log(`ready ${issuer}`));
