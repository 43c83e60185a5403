'use strict';
// scripts/peers/eh-emulator/send.js - the scale test's and benchmark's producer: COUNT device
// messages into an Event Hub with the official SDK (@azure/event-hubs), device d always to
// partition d % partitions (as a partition key would), at most RATE events/s (0 = as fast as it
// can). Each message is the e2e Quantity reading (bench/e2e/quantity-*.json): one per device and
// second, so each becomes exactly one Observation:
//   {"device_id":"PREFIX-dev-D","patient_id":"PREFIX-pat-D","hr":N,"utctimestamp":"2024-05-01T..Z"}
//
//   node send.js CONNECTION_STRING COUNT [--devices 100] [--rate 0] [--prefix scale]
// Prints "sent N events in S s" on stderr; exit status 0 when all were sent.
const { EventHubProducerClient } = require('@azure/event-hubs');

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const [cs, countArg] = args;
if (!cs || !countArg) {
  console.error('usage: node send.js CONNECTION_STRING COUNT [--devices 100] [--rate 0] [--prefix scale]');
  process.exit(2);
}
const COUNT = Number(countArg);
const DEVICES = Number(opt('devices', 100));
const RATE = Number(opt('rate', 0));
const PREFIX = opt('prefix', 'scale');

const pad = (n) => String(n).padStart(2, '0');
function body(i) {
  const dev = i % DEVICES;
  const tick = Math.floor(i / DEVICES);
  const ts = `2024-05-01T${pad(Math.floor(tick / 3600) % 24)}:${pad(Math.floor(tick / 60) % 60)}:${pad(tick % 60)}Z`;
  return { device_id: `${PREFIX}-dev-${dev}`, patient_id: `${PREFIX}-pat-${dev}`, hr: 60 + (i % 40), utctimestamp: ts };
}

async function main() {
  const producer = new EventHubProducerClient(cs);
  const ids = await producer.getPartitionIds();
  const t0 = Date.now();
  const chunk = RATE > 0 ? Math.max(1, Math.round(RATE / 10)) : 1000;  // one chunk per 100 ms when paced
  let sent = 0;
  while (sent < COUNT) {
    const end = Math.min(COUNT, sent + chunk);
    const byPartition = new Map();
    for (let i = sent; i < end; i++) {
      const p = ids[(i % DEVICES) % ids.length];
      if (!byPartition.has(p)) byPartition.set(p, []);
      byPartition.get(p).push({ body: body(i), contentType: 'application/json' });
    }
    // The partitions' batches go out together (each send waits for the service's acknowledgement).
    await Promise.all([...byPartition].map(async ([partitionId, events]) => {
      let batch = await producer.createBatch({ partitionId });
      for (const e of events) {
        if (!batch.tryAdd(e)) {
          await producer.sendBatch(batch);
          batch = await producer.createBatch({ partitionId });
          if (!batch.tryAdd(e)) throw new Error('an event does not fit an empty batch');
        }
      }
      if (batch.count > 0) await producer.sendBatch(batch);
    }));
    sent = end;
    if (RATE > 0) {
      const due = t0 + (sent / RATE) * 1000;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }
  await producer.close();
  console.error(`sent ${sent} events in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

main().catch((e) => {
  console.error('send: FAILED: ' + (e && e.stack ? e.stack : e));
  process.exit(1);
});
