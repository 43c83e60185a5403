'use strict';
// scripts/peers/eh-emulator/sdk-check.js - fidelity check of eh-emulator.js with the official Azure
// SDK (@azure/event-hubs, pinned in package.json): the SDK must be able to read the hub's
// properties, send (to a partition, by partition key, round robin) and receive everything back from
// the earliest position with sequence numbers, offsets, enqueued times and application properties.
//
//   node sdk-check.js CONNECTION_STRING OUT.json [COUNT=12]
//     (TLS endpoints: run with NODE_EXTRA_CA_CERTS=ca.pem; or use the UseDevelopmentEmulator=true string)
//
// Writes OUT.json: {"partitionIds":[...], "events":[{partitionId, sequenceNumber, offset,
// enqueuedTimeUtc, body, properties, systemProperties}]} so a test can compare what iomtflow's
// AMQP source receives with what the SDK received. Exit status 0 when every check holds.
const fs = require('node:fs');
const { EventHubProducerClient, EventHubConsumerClient, earliestEventPosition } = require('@azure/event-hubs');

const [cs, out, countArg] = process.argv.slice(2);
if (!cs || !out) { console.error('usage: node sdk-check.js CONNECTION_STRING OUT.json [COUNT]'); process.exit(2); }
const COUNT = Number(countArg || 12);
const fail = (m) => { console.error('sdk-check: FAILED: ' + m); process.exitCode = 1; };
const runId = `sdk-${Date.now()}`;

async function main() {
  const producer = new EventHubProducerClient(cs);
  const props = await producer.getEventHubProperties();
  const ids = props.partitionIds;
  if (!Array.isArray(ids) || ids.length === 0) fail('no partition ids');
  // Send: a third to partition 1, a third by partition key, a third round robin.
  const third = Math.ceil(COUNT / 3);
  const mk = (i) => ({
    body: { runId, i, heartrate: 60 + i, deviceId: `sdk-dev-${i % 3}` },
    properties: { 'iothub-creation-time-utc': new Date(Date.UTC(2024, 4, 1, 10, 0, i)).toISOString(), i },
  });
  let i = 0;
  let batch = await producer.createBatch({ partitionId: ids[1 % ids.length] });
  for (; i < third; i++) batch.tryAdd(mk(i));
  await producer.sendBatch(batch);
  batch = await producer.createBatch({ partitionKey: 'sdk-key' });
  for (; i < 2 * third && i < COUNT; i++) batch.tryAdd(mk(i));
  await producer.sendBatch(batch);
  for (; i < COUNT; i++) await producer.sendBatch([mk(i)]);
  const pprops = await producer.getPartitionProperties(ids[1 % ids.length]);
  if (!(pprops.lastEnqueuedSequenceNumber >= third - 1)) fail(`partition properties: ${JSON.stringify(pprops)}`);
  await producer.close();

  // Receive everything of this run from the earliest position.
  const consumer = new EventHubConsumerClient('$Default', cs);
  const seen = [];
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out with ${seen.length} of ${COUNT} events`)), 30000);
    const sub = consumer.subscribe({
      processEvents: async (events, ctx) => {
        for (const e of events) {
          if (!e.body || e.body.runId !== runId) continue;
          seen.push({
            partitionId: ctx.partitionId, sequenceNumber: e.sequenceNumber, offset: String(e.offset),
            enqueuedTimeUtc: e.enqueuedTimeUtc.toISOString(), body: e.body, properties: e.properties,
            systemProperties: e.systemProperties, partitionKey: e.partitionKey,
          });
        }
        if (seen.length >= COUNT) { clearTimeout(timer); await sub.close(); resolve(); }
      },
      processError: async (err) => { clearTimeout(timer); reject(err); },
    }, { startPosition: earliestEventPosition, maxBatchSize: 50, maxWaitTimeInSeconds: 1 });
  });
  await consumer.close();

  // Checks: every event once, increasing sequence numbers and offsets per partition, dates.
  if (seen.length !== COUNT) fail(`received ${seen.length} of ${COUNT}`);
  const byPart = {};
  for (const e of seen) (byPart[e.partitionId] ||= []).push(e);
  for (const [p, es] of Object.entries(byPart)) {
    for (let k = 1; k < es.length; k++) {
      if (!(es[k].sequenceNumber > es[k - 1].sequenceNumber)) fail(`partition ${p}: sequence numbers not increasing`);
      if (!(Number(es[k].offset) > Number(es[k - 1].offset))) fail(`partition ${p}: offsets not increasing`);
    }
  }
  const keyed = seen.filter((e) => e.partitionKey === 'sdk-key');
  if (keyed.length !== Math.min(third, COUNT - third)) fail(`partition key events: ${keyed.length}`);
  if (new Set(keyed.map((e) => e.partitionId)).size !== 1) fail('one partition key landed on several partitions');
  if (seen.some((e) => typeof e.properties['iothub-creation-time-utc'] !== 'string')) fail('application properties lost');
  fs.writeFileSync(out, JSON.stringify({ partitionIds: ids, runId, events: seen }, null, 1));
  console.log(`sdk-check: ${process.exitCode ? 'FAILED' : 'ok'}: ${ids.length} partitions, ${seen.length} events ` +
    `sent and received with @azure/event-hubs ${require('@azure/event-hubs/package.json').version}`);
}

main().catch((e) => { fail(e && e.stack || String(e)); });
