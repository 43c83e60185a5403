// Token issuer for iomtflow's security tests (issue 15): an OpenID Connect / OAuth2 authorization
// server written for the tests, on Node's own https and crypto (no npm packages). It plays three
// real peers at once:
//   - the OIDC issuer whose access tokens ingest accepts (auth: jwt): discovery, a JWK Set with
//     key rotation, tokens minted on request with any claims (also expired, foreign, unsigned);
//   - the SMART Backend Services authorization server: POST /token checks the private_key_jwt
//     client assertion against the client's registered public key (alg RS384/ES384, kid,
//     signature, iss = sub = client_id, aud = this token endpoint, exp at most 5 min ahead, jti
//     never seen before) and mints an RS256 access token for the FHIR server;
//   - Microsoft Entra ID for workload identity: POST /<tenant>/oauth2/v2.0/token takes the
//     Kubernetes service account token (the federated credential: issuer ISSUER/cluster, subject,
//     audience api://AzureADTokenExchange) as client_assertion for the registered client_id.
//     Federated tokens come from POST /admin/federated-token (this process also plays the
//     cluster's service account issuer).
//
//   node issuer.mjs --port 18242 [--host 127.0.0.1] [--cert server.pem --key server-key.pem]
//                   [--fhir-audience urn:iomtflow:fhir] [--ingest-audience api://iomtflow]
//                   [--token-ttl 300]
//
// Without --cert/--key it serves plain http (for quick experiments; the tests use https).
//
// Endpoints:
//   GET  /.well-known/openid-configuration   issuer, jwks_uri, token_endpoint, ...
//   GET  /jwks                               the published keys
//   POST /token, POST /<tenant>/oauth2/v2.0/token   client_credentials with a jwt-bearer client assertion
//   GET  /healthz
// Test control (JSON in and out):
//   POST /admin/keys {alg: RS256|ES256, kid?, publish?: true}   -> {kid}  a new signing key
//   POST /admin/keys/publish {kid} | /admin/keys/retire {kid}          put into / take out of the JWK Set
//   GET  /admin/keys                          [{kid, alg, published, publicPem}]
//   POST /admin/mint {kid?, claims?, header?, ttl?}  -> {token}  claims merged over the defaults
//        (iss, aud = ingest audience, sub, iat, nbf, exp, roles); a claim set to null is left out
//   POST /admin/clients {client_id, public_key_pem | jwks, kid?, scopes?}  a SMART client (kid
//        default: the JWK's kid, else the key's RFC 7638 thumbprint)
//   POST /admin/federation {client_id, subject, audience?}  a federated credential (workload identity)
//   POST /admin/federated-token {subject, audience?, ttl?} -> {token, jti}  a service account token
//   POST /admin/config {tokenTtl?, jwksDelayMs?}   access token lifetime; a slow JWK Set answer
//   GET  /admin/stats  {jwksFetches, jwksInFlight, tokensIssued, exchanges: [{kind, client_id, jti, ...}], refused: [...]}
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';

const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const PORT = Number(arg('--port', process.env.ISSUER_PORT || 18242));
const HOST = arg('--host', '127.0.0.1');
const CERT = arg('--cert', '');
const KEY = arg('--key', '');
const FHIR_AUDIENCE = arg('--fhir-audience', 'urn:iomtflow:fhir');
const INGEST_AUDIENCE = arg('--ingest-audience', 'api://iomtflow');
let tokenTtl = Number(arg('--token-ttl', 300));
const TLS = Boolean(CERT && KEY);
const ISSUER = `${TLS ? 'https' : 'http'}://${HOST}:${PORT}`;
const CLUSTER_ISSUER = `${ISSUER}/cluster`;
const EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';

const now = () => Math.floor(Date.now() / 1000);
const b64 = (buf) => Buffer.from(buf).toString('base64url');
const b64json = (obj) => b64(JSON.stringify(obj));
const unb64json = (part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

// ---- keys ---------------------------------------------------------------------------------------
const ALGS = {
  RS256: { hash: 'sha256', type: 'rsa' }, RS384: { hash: 'sha384', type: 'rsa' },
  ES256: { hash: 'sha256', type: 'ec', curve: 'P-256' }, ES384: { hash: 'sha384', type: 'ec', curve: 'P-384' },
};
function thumbprint(jwk) {  // RFC 7638
  const canon = jwk.kty === 'RSA' ? { e: jwk.e, kty: 'RSA', n: jwk.n } : { crv: jwk.crv, kty: 'EC', x: jwk.x, y: jwk.y };
  return crypto.createHash('sha256').update(JSON.stringify(canon)).digest('base64url');
}
const keys = new Map();  // kid -> {alg, privateKey, publicKey, published}
function newKey(alg, kid, publish) {
  const a = ALGS[alg];
  if (!a) throw new Error(`unsupported alg ${alg}`);
  const pair = a.type === 'rsa' ? crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
                                : crypto.generateKeyPairSync('ec', { namedCurve: a.curve });
  kid = kid || `${alg.toLowerCase()}-${crypto.randomUUID().slice(0, 8)}`;
  keys.set(kid, { alg, ...pair, published: publish !== false });
  return kid;
}
function publicJwk(kid) {
  const k = keys.get(kid);
  return { ...k.publicKey.export({ format: 'jwk' }), kid, alg: k.alg, use: 'sig' };
}
function signJwt(header, claims, privateKey, alg) {
  const input = `${b64json(header)}.${b64json(claims)}`;
  const a = ALGS[alg];
  const sig = crypto.sign(a.hash, Buffer.from(input), a.type === 'ec' ? { key: privateKey, dsaEncoding: 'ieee-p1363' } : privateKey);
  return `${input}.${b64(sig)}`;
}
function mint(kid, claims = {}, header = {}, ttl = tokenTtl) {
  const k = keys.get(kid);
  if (!k) throw new Error(`unknown key ${kid}`);
  const t = now();
  const base = { iss: ISSUER, aud: INGEST_AUDIENCE, sub: 'test-sender', azp: 'test-sender-app', iat: t, nbf: t,
                 exp: t + ttl, roles: ['IomtFlow.Send'], jti: crypto.randomUUID() };
  const merged = { ...base, ...claims };
  for (const [name, v] of Object.entries(merged)) if (v === null) delete merged[name];
  return signJwt({ alg: k.alg, typ: 'JWT', kid, ...header }, merged, k.privateKey, k.alg);
}
const SIGNING_KID = newKey('RS256', 'rs256-initial', true);  // access tokens for the FHIR server
newKey('ES256', 'es256-initial', true);
const cluster = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });  // service account issuer

// ---- registrations and state ---------------------------------------------------------------------
const clients = new Map();      // SMART: client_id -> {kid, publicKey, scopes}
const federation = new Map();   // workload identity: client_id -> {subject, audience}
const seenJti = new Set();
const stats = { jwksFetches: 0, jwksInFlight: 0, tokensIssued: 0, exchanges: [], refused: [] };
let jwksDelayMs = 0;

function verifyJws(token, publicKey, alg) {
  const parts = token.split('.');
  const a = ALGS[alg];
  return crypto.verify(a.hash, Buffer.from(`${parts[0]}.${parts[1]}`),
                       a.type === 'ec' ? { key: publicKey, dsaEncoding: 'ieee-p1363' } : publicKey,
                       Buffer.from(parts[2] || '', 'base64url'));
}

// A client assertion -> {kind, client_id, ...} or throws with the reason (answered invalid_client).
function checkAssertion(form, tokenEndpoint) {
  if (form.grant_type !== 'client_credentials') throw Object.assign(new Error(`grant_type ${form.grant_type} is not supported`), { error: 'unsupported_grant_type' });
  if (form.client_assertion_type !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
    throw new Error(`client_assertion_type is ${form.client_assertion_type}, not jwt-bearer`);
  const assertion = String(form.client_assertion || '');
  const parts = assertion.split('.');
  if (parts.length !== 3) throw new Error('client_assertion is not a compact JWS');
  const header = unb64json(parts[0]);
  const claims = unb64json(parts[1]);
  const t = now();
  if (claims.iss === CLUSTER_ISSUER) {
    // Workload identity: the federated credential of form.client_id.
    const fed = federation.get(form.client_id);
    if (!fed) throw new Error(`no federated credential for client ${form.client_id}`);
    if (header.alg !== 'RS256' || !verifyJws(assertion, cluster.publicKey, 'RS256')) throw new Error('federated token signature does not verify');
    if (claims.sub !== fed.subject) throw new Error(`federated token subject ${claims.sub} is not ${fed.subject}`);
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!aud.includes(fed.audience)) throw new Error(`federated token audience is not ${fed.audience}`);
    if (typeof claims.exp !== 'number' || claims.exp <= t) throw new Error('AADSTS700024: the federated token has expired');
    return { kind: 'workload_identity', client_id: form.client_id, jti: claims.jti, subject: claims.sub, scope: form.scope || '' };
  }
  // SMART Backend Services.
  const client = clients.get(claims.iss);
  if (!client) throw new Error(`unknown client ${claims.iss}`);
  if (!['RS384', 'ES384'].includes(header.alg)) throw new Error(`assertion alg ${header.alg} is not RS384 or ES384`);
  if (header.kid !== client.kid) throw new Error(`assertion kid ${header.kid} is not the registered key ${client.kid}`);
  if (!verifyJws(assertion, client.publicKey, header.alg)) throw new Error('assertion signature does not verify');
  if (claims.sub !== claims.iss) throw new Error('assertion sub is not its iss (the client id)');
  if (form.client_id && form.client_id !== claims.iss) throw new Error('client_id does not match the assertion');
  if (claims.aud !== tokenEndpoint) throw new Error(`assertion aud ${claims.aud} is not this token endpoint ${tokenEndpoint}`);
  if (typeof claims.exp !== 'number' || claims.exp <= t) throw new Error('assertion expired');
  if (claims.exp > t + 300 + 5) throw new Error('assertion exp is more than 5 minutes ahead');
  if (!claims.jti) throw new Error('assertion has no jti');
  if (seenJti.has(claims.jti)) throw new Error(`assertion jti ${claims.jti} was used before (replay)`);
  seenJti.add(claims.jti);
  const scope = String(form.scope || '');
  const refusedScopes = scope.split(' ').filter((s) => s && client.scopes && !client.scopes.includes(s));
  if (refusedScopes.length) throw Object.assign(new Error(`scopes not granted: ${refusedScopes.join(' ')}`), { error: 'invalid_scope' });
  return { kind: 'smart', client_id: claims.iss, jti: claims.jti, alg: header.alg, kid: header.kid,
           lifetime: claims.exp - (claims.iat || t), scope };
}

// ---- HTTP ----------------------------------------------------------------------------------------
function send(res, status, body, headers = {}) {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data), 'Cache-Control': 'no-store', ...headers });
  res.end(data);
}
function discovery() {
  return {
    issuer: ISSUER, jwks_uri: `${ISSUER}/jwks`, token_endpoint: `${ISSUER}/token`,
    grant_types_supported: ['client_credentials'], response_types_supported: ['token'],
    subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['RS256', 'ES256'],
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
  };
}

async function handle(req, res, body) {
  const url = new URL(req.url, ISSUER);
  const path = url.pathname;
  const json = () => (body.length ? JSON.parse(body.toString('utf8')) : {});
  if (path === '/healthz') return send(res, 200, { status: 'ok', issuer: ISSUER });
  if (path === '/.well-known/openid-configuration' || path === '/.well-known/smart-configuration') return send(res, 200, discovery());
  if (path === '/jwks' && req.method === 'GET') {
    stats.jwksFetches++;
    if (jwksDelayMs > 0) {  // a slow issuer: the answer comes late
      stats.jwksInFlight++;
      await new Promise((r) => setTimeout(r, jwksDelayMs));
      stats.jwksInFlight--;
    }
    return send(res, 200, { keys: [...keys].filter(([, k]) => k.published).map(([kid]) => publicJwk(kid)) });
  }
  if (req.method === 'POST' && (path === '/token' || /^\/[^/]+\/oauth2\/v2\.0\/token$/.test(path))) {
    const form = Object.fromEntries(new URLSearchParams(body.toString('utf8')));
    let ex;
    try {
      ex = checkAssertion(form, `${ISSUER}${path}`);
    } catch (e) {
      stats.refused.push({ path, reason: e.message });
      console.error(`token request refused: ${e.message}`);
      return send(res, e.error === 'unsupported_grant_type' || e.error === 'invalid_scope' ? 400 : 401,
                  { error: e.error || 'invalid_client', error_description: e.message });
    }
    const t = now();
    const claims = { iss: ISSUER, aud: FHIR_AUDIENCE, sub: ex.client_id, client_id: ex.client_id, iat: t, nbf: t,
                     exp: t + tokenTtl, scope: ex.scope, jti: crypto.randomUUID() };
    const token = signJwt({ alg: 'RS256', typ: 'JWT', kid: SIGNING_KID }, claims, keys.get(SIGNING_KID).privateKey, 'RS256');
    stats.tokensIssued++;
    stats.exchanges.push({ ...ex, at: t });
    console.log(`token issued: ${ex.kind} client ${ex.client_id} assertion jti ${ex.jti}`);
    return send(res, 200, { access_token: token, token_type: 'Bearer', expires_in: tokenTtl, scope: ex.scope });
  }
  if (path.startsWith('/admin/')) {
    const a = json();
    if (path === '/admin/keys' && req.method === 'GET')
      return send(res, 200, [...keys].map(([kid, k]) => ({ kid, alg: k.alg, published: k.published,
                                                            publicPem: k.publicKey.export({ type: 'spki', format: 'pem' }) })));
    if (path === '/admin/keys' && req.method === 'POST') return send(res, 200, { kid: newKey(a.alg || 'RS256', a.kid, a.publish) });
    if (path === '/admin/keys/publish' || path === '/admin/keys/retire') {
      const k = keys.get(a.kid);
      if (!k) return send(res, 404, { error: `unknown key ${a.kid}` });
      k.published = path.endsWith('publish');
      return send(res, 200, { kid: a.kid, published: k.published });
    }
    if (path === '/admin/mint') return send(res, 200, { token: mint(a.kid || SIGNING_KID, a.claims, a.header, a.ttl) });
    if (path === '/admin/clients') {
      // The client's key: a PEM public key, or the first key of a JWK Set (`iomtflow smart jwks`).
      const jwk = a.jwks ? a.jwks.keys[0] : null;
      const publicKey = jwk ? crypto.createPublicKey({ key: jwk, format: 'jwk' }) : crypto.createPublicKey(a.public_key_pem);
      const kid = a.kid || (jwk && jwk.kid) || thumbprint(publicKey.export({ format: 'jwk' }));
      clients.set(a.client_id, { kid, publicKey, scopes: a.scopes });
      return send(res, 200, { client_id: a.client_id, kid });
    }
    if (path === '/admin/federation') {
      federation.set(a.client_id, { subject: a.subject, audience: a.audience || EXCHANGE_AUDIENCE });
      return send(res, 200, { client_id: a.client_id, issuer: CLUSTER_ISSUER });
    }
    if (path === '/admin/federated-token') {
      const t = now();
      const jti = crypto.randomUUID();
      const claims = { iss: CLUSTER_ISSUER, sub: a.subject, aud: [a.audience || EXCHANGE_AUDIENCE], iat: t, nbf: t,
                       exp: t + (a.ttl || 3600), jti };
      return send(res, 200, { token: signJwt({ alg: 'RS256', typ: 'JWT', kid: 'cluster' }, claims, cluster.privateKey, 'RS256'), jti });
    }
    if (path === '/admin/config') {
      if (a.tokenTtl) tokenTtl = Number(a.tokenTtl);
      if (a.jwksDelayMs !== undefined) jwksDelayMs = Number(a.jwksDelayMs);
      return send(res, 200, { tokenTtl, jwksDelayMs });
    }
    if (path === '/admin/stats') return send(res, 200, stats);
  }
  return send(res, 404, { error: 'not_found', error_description: `${req.method} ${path}` });
}

const listener = (req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => handle(req, res, Buffer.concat(chunks)).catch((e) => send(res, 500, { error: 'server_error', error_description: e.message })));
};
const server = TLS ? https.createServer({ cert: fs.readFileSync(CERT), key: fs.readFileSync(KEY) }, listener)
                   : http.createServer(listener);
server.listen(PORT, HOST, () => console.log(`token issuer on ${ISSUER} (fhir audience ${FHIR_AUDIENCE}, ingest audience ${INGEST_AUDIENCE})`));
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();  // keep-alive clients (iomtflow's pools) must not hold the exit
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
