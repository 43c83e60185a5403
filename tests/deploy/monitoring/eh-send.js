'use strict';
// tests/deploy/monitoring/eh-send.js - puts workshop device messages into the project's Event Hubs
// emulator (scripts/peers/eh-emulator) for the live monitoring check (live.sh), so that iomtflow's
// Event Hubs source has something to read and its per-partition lag series exist.
//
//   NODE_PATH=scripts/peers/eh-emulator/node_modules node eh-send.js COUNT
//     environment (from the emulator's env.sh): EH_PORT, EH_CA, EH_KEY_NAME, EH_KEY, EH_HUB
//
// One AMQP connection (TLS, SASL PLAIN with the SAS key name and key, as Event Hubs accepts) and one
// sender link to the hub: the emulator spreads the messages round robin over the partitions. Bodies
// are data sections holding the Azure workshop's VITALS / BP / WEIGHT shapes (Challenge-09), with
// current timestamps. Exits 0 once every message is accepted; 1 on any error or after 20 s.
const fs = require('node:fs');
const rhea = require('rhea');

const count = Number(process.argv[2] || 100);
const env = process.env;
for (const k of ['EH_PORT', 'EH_CA', 'EH_KEY_NAME', 'EH_KEY', 'EH_HUB']) {
  if (!env[k]) { console.error(`eh-send: ${k} is not set (source the emulator's env.sh)`); process.exit(2); }
}

function message(n) {
  const device = n % 10;
  const ts = new Date().toISOString();
  const bodies = [
    { type: 'VITALS', data: [{ patient_id: `Patient${device}`, device_id: `EHMON${device}`, utctimestamp: ts,
      spo2: 90 + (n % 10), hr: 60 + (n % 40), bloodperfusion: 1.14, steps: n % 7, rrate: 20, bodytemp: 36 }] },
    { type: 'BP', data: [{ patient_id: `Patient${device}`, device_id: `EHMON${device}BP`, sys: String(110 + (n % 30)),
      dia: String(70 + (n % 20)), utctimestamp: ts }] },
    { type: 'WEIGHT', data: [{ patient_id: `Patient${device}`, device_id: `EHMON${device}WT`, weight: String(60 + (n % 40)),
      unit: 'kg', utctimestamp: ts }] },
  ];
  return { message_id: `eh-send-${process.pid}-${n}`, body: rhea.message.data_section(Buffer.from(JSON.stringify(bodies[n % 3]))) };
}

const container = rhea.create_container({ id: `eh-send-${process.pid}` });
const timer = setTimeout(() => { console.error(`eh-send: timed out (${accepted}/${count} accepted)`); process.exit(1); }, 20000);
let sent = 0;
let accepted = 0;
container.on('sendable', (ctx) => {
  while (sent < count && ctx.sender.sendable()) ctx.sender.send(message(sent++));
});
container.on('accepted', (ctx) => {
  if (++accepted === count) {
    clearTimeout(timer);
    console.log(`eh-send: ${accepted} messages accepted by ${env.EH_HUB}`);
    ctx.connection.close();
  }
});
for (const ev of ['rejected', 'released', 'modified']) {
  container.on(ev, (ctx) => { console.error(`eh-send: a message was ${ev}`); process.exit(1); });
}
const failed = (what) => (ctx) => {
  const e = (ctx.connection && ctx.connection.error) || (ctx.sender && ctx.sender.error) || ctx.error;
  console.error(`eh-send: ${what}: ${e ? (e.description || e.message || JSON.stringify(e)) : 'unknown error'}`);
  process.exit(1);
};
container.on('connection_error', failed('connection error'));
container.on('sender_error', failed('link error'));
container.on('error', failed('error'));
container.on('disconnected', (ctx) => { if (accepted < count) failed('disconnected')(ctx); });

container.connect({
  host: 'localhost', port: Number(env.EH_PORT), transport: 'tls', servername: 'localhost',
  ca: [fs.readFileSync(env.EH_CA)], username: env.EH_KEY_NAME, password: env.EH_KEY, reconnect: false,
}).open_sender(env.EH_HUB);
