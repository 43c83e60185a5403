// OAuth2 token server for iomtflow's integration tests: the npm package oidc-provider (pinned in
// package.json / package-lock.json) with the client credentials grant (RFC 6749 §4.4) and JWT
// access tokens signed with a key generated at start-up (published at /jwks).
//
//   node server.mjs [--port 9090] [--host 127.0.0.1] [--client-id iomtflow]
//                   [--client-secret-env OAUTH_CLIENT_SECRET] [--audience urn:iomtflow:fhir]
//                   [--scopes "system/*.read system/*.write"] [--ttl 300]
//
// Endpoints are oidc-provider's: discovery at /.well-known/openid-configuration, POST /token,
// GET /jwks, POST /token/introspection; plus GET /healthz. The one client authenticates with
// client_secret_post or client_secret_basic; a request without `resource` gets a token for
// --audience. The FHIR test server checks these tokens (server.js --require-token-from ISSUER).
import crypto from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';

const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const PORT = Number(arg('--port', process.env.OAUTH_PORT || 9090));
const HOST = arg('--host', '127.0.0.1');
const CLIENT_ID = arg('--client-id', process.env.OAUTH_CLIENT_ID || 'iomtflow');
const SECRET_ENV = arg('--client-secret-env', 'OAUTH_CLIENT_SECRET');
const CLIENT_SECRET = process.env[SECRET_ENV];
const AUDIENCE = arg('--audience', process.env.OAUTH_AUDIENCE || 'urn:iomtflow:fhir');
const SCOPES = arg('--scopes', 'system/*.read system/*.write');
const TTL = Number(arg('--ttl', process.env.OAUTH_TOKEN_TTL || 300));
if (!CLIENT_SECRET) {
  console.error(`oauth: the client secret is read from the environment variable ${SECRET_ENV}, which is not set`);
  process.exit(2);
}

const ISSUER = `http://${HOST}:${PORT}`;
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), alg: 'RS256', use: 'sig' };

const provider = new Provider(ISSUER, {
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_post',
    scope: SCOPES,
  }],
  clientAuthMethods: ['client_secret_post', 'client_secret_basic'],
  scopes: ['openid', ...SCOPES.split(' ').filter(Boolean)],
  jwks: { keys: [signingKey] },
  ttl: { ClientCredentials: TTL },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => AUDIENCE,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: SCOPES,
        audience: AUDIENCE,
        accessTokenTTL: TTL,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
});
// Client authentication failures are the point of one test: log them on one line each.
provider.on('grant.error', (ctx, err) => console.error(`token request refused: ${err.message} (${err.error_description || ''})`));
provider.on('grant.success', (ctx) => console.log(`token issued to ${ctx.oidc.client?.clientId}`));

const callback = provider.callback();
const server = http.createServer((req, res) => {
  if (req.url === '/healthz') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ status: 'ok', issuer: ISSUER }));
    return;
  }
  callback(req, res);
});
server.listen(PORT, HOST, () => {
  console.log(`OAuth2 token server (oidc-provider) on ${ISSUER}: client ${CLIENT_ID}, audience ${AUDIENCE}, ttl ${TTL}s`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
