'use strict';
// scripts/peers/eh-emulator/eh-emulator.js - an Event Hubs-like AMQP 1.0 endpoint for iomtflow's
// tests (npm rhea). Not a broker: an in-memory partitioned log per hub, enough of the Event Hubs
// AMQP dialect for the AMQP source and for the official Azure SDK (sdk-check.js checks that):
//
//   SASL       PLAIN (user = SAS key name, password = SAS key, as Event Hubs accepts) or ANONYMOUS;
//              an ANONYMOUS connection must authorize with CBS before attaching to a hub.
//   $cbs       put-token (type servicebus.windows.net:sastoken): the SAS signature is verified
//              with the configured key (HMAC-SHA256 over "<sr as sent>\n<se>"), expiry checked;
//              answers status-code 200, or 401 with a description.
//   $management READ com.microsoft:eventhub -> {name, created_at, partition_count, partition_ids};
//              READ com.microsoft:partition -> begin/last sequence number, last offset, ...
//   send       to HUB (round robin, or by x-opt-partition-key) or HUB/Partitions/N
//   receive    from HUB/ConsumerGroups/CG/Partitions/N with an optional
//              apache.org:selector-filter:string on x-opt-offset / x-opt-sequence-number /
//              x-opt-enqueued-time (>, >=, '@latest'); deliveries carry x-opt-sequence-number,
//              x-opt-offset (string), x-opt-enqueued-time and x-opt-partition-key; owner level
//              (com.microsoft:epoch) enforced per consumer group and partition (amqp:link:stolen).
//
//   node eh-emulator.js            (configuration from the environment)
//     EH_PORT=5681 EH_TLS_KEY=key.pem EH_TLS_CERT=cert.pem   TLS listener
//     EH_PLAIN_PORT=5682                                     plain listener (SDK: UseDevelopmentEmulator=true)
//     EH_HUBS=devicedata EH_PARTITIONS=4 EH_KEY_NAME=iomt EH_KEY=...
//
// Adapted for the project from the feasibility probe in ../shared/peers/eh-emulator.
const crypto = require('node:crypto');
const fs = require('node:fs');
const rhea = require('rhea');

const env = process.env;
const PORT = Number(env.EH_PORT || 0);
const PLAIN_PORT = Number(env.EH_PLAIN_PORT || 0);
const PARTS = Number(env.EH_PARTITIONS || 4);
const HUBS = (env.EH_HUBS || 'devicedata').split(',').filter(Boolean);
const KEY_NAME = env.EH_KEY_NAME || 'iomt';
const KEY = env.EH_KEY || 'iomt-test-key=';
const CREATED = new Date();
const BATCH_FORMAT = 0x80013700;

const logs = new Map(); // "hub/p" -> [{seq, offset, enq, msg}]
const waiting = new Set(); // sender links (to clients) waiting for data
const log = (hub, p) => { const k = `${hub}/${p}`; if (!logs.has(k)) logs.set(k, []); return logs.get(k); };
const hash = (s) => { let h = 0; for (const c of String(s)) h = (h * 31 + c.charCodeAt(0)) | 0; return Math.abs(h); };
let rr = 0;
const say = (...a) => { if (env.EH_DEBUG) console.error(new Date().toISOString(), ...a); };

// ---- authorization ------------------------------------------------------------------------
function verifySas(token) {
  const m = /^SharedAccessSignature\s+(.*)$/i.exec(String(token || ''));
  if (!m) return { ok: false, why: 'not a SharedAccessSignature token' };
  const fields = {};
  for (const part of m[1].split('&')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields[part.slice(0, eq)] = part.slice(eq + 1);
  }
  const { sr, sig, se, skn } = fields;
  if (!sr || !sig || !se || !skn) return { ok: false, why: 'token is missing sr, sig, se or skn' };
  if (decodeURIComponent(skn) !== KEY_NAME) return { ok: false, why: `unknown key name '${decodeURIComponent(skn)}'` };
  const expected = crypto.createHmac('sha256', KEY).update(`${sr}\n${se}`).digest('base64');
  if (expected !== decodeURIComponent(sig)) return { ok: false, why: 'InvalidSignature: The token has an invalid signature.' };
  if (Number(se) * 1000 < Date.now()) return { ok: false, why: 'ExpiredToken: The token is expired.' };
  return { ok: true, resource: decodeURIComponent(sr) };
}
// The path of an sb://host/path resource (host ignored: tests reach us as localhost/127.0.0.1).
const resourcePath = (r) => String(r).replace(/^[a-z]+:\/\/[^/]*/i, '').replace(/^\/+|\/+$/g, '').toLowerCase();
function authorized(connection, address) {
  if (connection.iomtPlain) return true;
  const want = String(address).replace(/^\/+/, '').toLowerCase();
  for (const p of connection.iomtClaims || []) if (p === '' || want === p || want.startsWith(p + '/')) return true;
  return false;
}

// ---- container -----------------------------------------------------------------------------
const c = rhea.create_container({ id: 'iomt-eh-emulator' });
c.sasl_server_mechanisms.enable_plain((user, pass) => user === KEY_NAME && pass === KEY);
c.sasl_server_mechanisms.enable_anonymous();
c.on('connection_open', (ctx) => {
  // rhea keeps the server-side SASL exchange on the connection: PLAIN means the key was given.
  // (With ANONYMOUS enabled rhea wraps its SaslServer in a SelectiveServer: look inside.)
  let sasl = ctx.connection.sasl_transport;
  if (sasl && sasl.transports) sasl = sasl.transports[3];
  ctx.connection.iomtPlain = !!(sasl && sasl.mechanism && sasl.mechanism.constructor.name === 'PlainServer');
  ctx.connection.iomtClaims = [];
  say('connection open, plain =', ctx.connection.iomtPlain);
});

function reply(ctx, props, body) {
  const to = ctx.message.reply_to;
  // The reply link is the one whose target address is reply-to; the Azure SDKs leave the target
  // address empty and name the link after reply-to instead (Event Hubs accepts both).
  const link = ctx.connection.find_sender((s) => s.remote.attach &&
    ((s.remote.attach.target && s.remote.attach.target.address === to) || s.name === to));
  if (!link) { say('no reply link for', to); return; }
  const m = { correlation_id: ctx.message.message_id, application_properties: props };
  if (body !== undefined) m.body = body;
  link.send(m);
}

function onCbs(ctx) {
  const ap = ctx.message.application_properties || {};
  if (ap.operation !== 'put-token') return reply(ctx, { 'status-code': 400, 'status-description': `unknown operation ${ap.operation}` });
  const v = verifySas(ctx.message.body);
  if (!v.ok) return reply(ctx, { 'status-code': 401, 'status-description': v.why });
  ctx.connection.iomtClaims.push(resourcePath(v.resource));
  say('put-token ok for', v.resource);
  reply(ctx, { 'status-code': 200, 'status-description': 'OK' });
}

function onManagement(ctx) {
  const ap = ctx.message.application_properties || {};
  const hub = ap.name;
  if (ap.operation !== 'READ') return reply(ctx, { 'status-code': 400, 'status-description': `unknown operation ${ap.operation}` });
  if (!ctx.connection.iomtPlain) {
    const v = ap.security_token ? verifySas(ap.security_token) : { ok: false, why: 'no security_token' };
    if (!v.ok && !authorized(ctx.connection, hub)) return reply(ctx, { 'status-code': 401, 'status-description': v.why });
  }
  if (!HUBS.includes(hub)) return reply(ctx, { 'status-code': 404, 'status-description': `The messaging entity '${hub}' could not be found.` });
  const ids = [...Array(PARTS).keys()].map(String);
  if (ap.type === 'com.microsoft:eventhub') {
    return reply(ctx, { 'status-code': 200, 'status-description': 'OK' },
      { name: hub, created_at: CREATED, partition_count: PARTS, partition_ids: ids });
  }
  if (ap.type === 'com.microsoft:partition') {
    const l = log(hub, Number(ap.partition));
    const last = l[l.length - 1];
    return reply(ctx, { 'status-code': 200, 'status-description': 'OK' }, {
      name: hub, partition: String(ap.partition),
      begin_sequence_number: rhea.types.wrap_long(0),
      last_enqueued_sequence_number: rhea.types.wrap_long(last ? last.seq : -1),
      last_enqueued_offset: last ? String(last.offset) : '-1',
      last_enqueued_time_utc: last ? last.enq : new Date(0),
      is_partition_empty: l.length === 0,
    });
  }
  reply(ctx, { 'status-code': 400, 'status-description': `unknown type ${ap.type}` });
}

c.on('receiver_open', (ctx) => { // the client sends: $cbs, $management, HUB or HUB/Partitions/N
  const addr = ctx.receiver.remote.attach.target && ctx.receiver.remote.attach.target.address;
  if (addr !== '$cbs' && addr !== '$management') {
    const m = /^([^/]+)(?:\/Partitions\/(\d+))?$/.exec(addr || '');
    if (!m || !HUBS.includes(m[1])) { ctx.receiver.close({ condition: 'amqp:not-found', description: `no such entity '${addr}'` }); return; }
    if (!authorized(ctx.connection, addr)) { ctx.receiver.close({ condition: 'amqp:unauthorized-access', description: `Unauthorized access to '${addr}': put-token first` }); return; }
  }
  ctx.receiver.set_target({ address: addr });
});

c.on('message', (ctx) => {
  const addr = ctx.receiver.target.address;
  if (addr === '$cbs') return onCbs(ctx);
  if (addr === '$management') return onManagement(ctx);
  const m = /^([^/]+)(?:\/Partitions\/(\d+))?$/.exec(addr);
  // rhea hands over messages of a non-zero message-format undecoded.
  const envelope = ctx.format ? rhea.message.decode(ctx.message) : ctx.message;
  const ann = envelope.message_annotations || {};
  const pk = ann['x-opt-partition-key'];
  const p = m[2] !== undefined ? Number(m[2]) : pk !== undefined ? hash(pk) % PARTS : rr++ % PARTS;
  const l = log(m[1], p);
  // A batch (message-format 0x80013700, how the Azure SDKs send EventDataBatch) carries one
  // encoded message per data section: the log gets each of them, on the batch's partition.
  let messages = [envelope];
  if (ctx.format === BATCH_FORMAT && envelope.body && envelope.body.typecode === 0x75) {
    const parts = envelope.body.multiple ? envelope.body.content : [envelope.body.content];
    messages = parts.map((b) => rhea.message.decode(b));
  }
  for (const msg of messages) {
    const prev = l[l.length - 1];
    l.push({ seq: l.length, offset: prev ? prev.offset + 1000 : 0, enq: new Date(), msg });
  }
  if (!ctx.delivery.remote_settled) ctx.delivery.accept();
  for (const s of waiting) pump(s);
});

function selectorOf(source) {
  for (const [k, v] of Object.entries((source && source.filter) || {})) {
    const d = v && v.descriptor !== undefined ? String(v.descriptor.value ?? v.descriptor) : '';
    if (k === 'apache.org:selector-filter:string' || d === 'apache.org:selector-filter:string' || d === '77567109365764')
      return String(v && v.value !== undefined ? v.value : v);
  }
  return undefined;
}

c.on('sender_open', (ctx) => { // the client receives: $cbs / $management replies, or a partition
  const src = ctx.sender.remote.attach.source || {};
  if (src.address === '$cbs' || src.address === '$management') {
    ctx.sender.set_source({ address: src.address });
    return;
  }
  const m = /^([^/]+)\/ConsumerGroups\/([^/]+)\/Partitions\/(\d+)$/i.exec(src.address || '');
  if (!m || !HUBS.includes(m[1]) || Number(m[3]) >= PARTS) {
    ctx.sender.close({ condition: 'amqp:not-found', description: `The messaging entity '${src.address}' could not be found.` });
    return;
  }
  if (!authorized(ctx.connection, src.address)) {
    ctx.sender.close({ condition: 'amqp:unauthorized-access', description: `Unauthorized access to '${src.address}': put-token first` });
    return;
  }
  // Owner level (com.microsoft:epoch), as Event Hubs enforces it per consumer group and partition:
  // a receiver with an epoch >= the attached readers' detaches them (amqp:link:stolen); one with a
  // lower epoch, or without one while an epoch reader is attached, is refused. (The SDK processors
  // open with owner level 0 and rely on this to stop reading a partition another one claimed.)
  const rawEpoch = (ctx.sender.remote.attach.properties || {})['com.microsoft:epoch'];
  const epoch = rawEpoch === undefined || rawEpoch === null ? null : Number(rawEpoch);
  const key = `${m[1]}/${m[2]}/${m[3]}`.toLowerCase();
  const holders = [...waiting].filter((x) => x.eh && x.eh.key === key);
  const top = holders.reduce((a, x) => (x.eh.epoch !== null && (a === null || x.eh.epoch > a) ? x.eh.epoch : a), null);
  if (top !== null && (epoch === null || epoch < top)) {
    ctx.sender.close({ condition: 'amqp:link:stolen', description: `A receiver with epoch '${top}' already exists on partition ${m[3]} of consumer group '${m[2]}'` });
    return;
  }
  if (epoch !== null) {
    for (const x of holders) {
      waiting.delete(x);
      x.eh = null;
      x.close({ condition: 'amqp:link:stolen', description: `New receiver with higher epoch of '${epoch}' is created hence current receiver with epoch '${x.eh_epoch}' is getting disconnected.` });
    }
  }
  const l = log(m[1], Number(m[3]));
  let next = 0;
  const expr = selectorOf(src);
  const fm = expr && /x-opt-(offset|sequence-number|enqueued-time)\s*(>=|>)\s*'?(@latest|-?\d+)'?/.exec(expr);
  if (fm) {
    if (fm[3] === '@latest') next = l.length;
    else {
      const v = Number(fm[3]);
      const field = fm[1] === 'offset' ? (e) => e.offset : fm[1] === 'sequence-number' ? (e) => e.seq : (e) => e.enq.getTime();
      next = l.findIndex((e) => (fm[2] === '>' ? field(e) > v : field(e) >= v));
      if (next < 0) next = l.length;
    }
  }
  say('receiver on', src.address, 'selector', expr, 'starts at', next);
  ctx.sender.set_source({ address: src.address, filter: src.filter });
  ctx.sender.eh = { log: l, next, partition: m[3], key, epoch };
  ctx.sender.eh_epoch = epoch;
  waiting.add(ctx.sender);
  pump(ctx.sender);
});

function pump(s) {
  const st = s.eh;
  // rhea's session writes queued transfers BEFORE pending attach frames; a client that grants
  // credit right after its attach (Qpid Proton) would get a transfer for a link it has not seen
  // attached ("no such handle"). Wait until our attach reply has been written.
  if (s.state.open_requests > 0) { setTimeout(() => pump(s), 1); return; }
  while (st && st.next < st.log.length && s.sendable()) {
    const e = st.log[st.next++];
    const msg = Object.assign({}, e.msg);
    const ann = Object.assign({}, e.msg.message_annotations, {
      'x-opt-sequence-number': rhea.types.wrap_long(e.seq),
      'x-opt-offset': String(e.offset),
      'x-opt-enqueued-time': e.enq,
    });
    msg.message_annotations = ann;
    delete msg.delivery_count;
    s.send(msg);
  }
}
c.on('sendable', (ctx) => { if (ctx.sender.eh) pump(ctx.sender); });
c.on('sender_close', (ctx) => waiting.delete(ctx.sender));
c.on('disconnected', (ctx) => { for (const s of [...waiting]) if (s.connection === ctx.connection) waiting.delete(s); });
c.on('error', (e) => console.error('error', e && e.message));

if (PORT) {
  c.listen({ port: PORT, host: '127.0.0.1', transport: 'tls', key: fs.readFileSync(env.EH_TLS_KEY), cert: fs.readFileSync(env.EH_TLS_CERT) });
}
if (PLAIN_PORT) c.listen({ port: PLAIN_PORT, host: '127.0.0.1' });
console.log(`eh-emulator: hubs [${HUBS}] with ${PARTS} partitions` +
  (PORT ? `, amqps://127.0.0.1:${PORT}` : '') + (PLAIN_PORT ? `, amqp://127.0.0.1:${PLAIN_PORT}` : '') + `, key name ${KEY_NAME}`);
process.on('SIGTERM', () => process.exit(0));
