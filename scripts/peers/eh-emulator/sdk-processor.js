'use strict';
// scripts/peers/eh-emulator/sdk-processor.js - an Azure SDK event processor (EventHubConsumerClient
// with the SDK's BlobCheckpointStore, @azure/eventhubs-checkpointstore-blob pinned in
// package.json) in a consumer group, for the interoperability test of iomtflow's dynamic partition
// ownership (tests/integration/scale/sdk_interop_it.py): both balance the same ownership records.
//
//   node sdk-processor.js EH_CONNECTION_STRING STORAGE_CONNECTION_STRING CONTAINER STATE.json
//        [--id sdk-0] [--group $Default] [--interval-ms 1000] [--expiry-ms 8000]
//
// Rewrites STATE.json ({"id", "reading": [partition ids, sorted], "events": N}) whenever the set
// of partitions it processes changes (processInitialize / processClose), checkpoints after each
// batch, and on SIGTERM closes the subscription (the SDK then gives up its ownership records) and
// exits 0.
const fs = require('node:fs');
const { EventHubConsumerClient, earliestEventPosition } = require('@azure/event-hubs');
const { BlobCheckpointStore } = require('@azure/eventhubs-checkpointstore-blob');
const { ContainerClient } = require('@azure/storage-blob');

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const [ehCs, storageCs, container, statePath] = args;
if (!ehCs || !storageCs || !container || !statePath) {
  console.error('usage: node sdk-processor.js EH_CS STORAGE_CS CONTAINER STATE.json [--id ID] [--group G] ...');
  process.exit(2);
}
const id = opt('id', 'sdk-0');
const reading = new Set();
let events = 0;
const save = () => {
  const tmp = statePath + '.tmp';
  fs.writeFileSync(tmp, JSON.stringify({ id, reading: [...reading].sort(), events }));
  fs.renameSync(tmp, statePath);
};

async function main() {
  const containerClient = new ContainerClient(storageCs, container);
  await containerClient.createIfNotExists();
  const store = new BlobCheckpointStore(containerClient);
  const client = new EventHubConsumerClient(opt('group', '$Default'), ehCs, store, {
    identifier: id,
    loadBalancingOptions: {
      strategy: 'balanced',
      updateIntervalInMs: Number(opt('interval-ms', 1000)),
      partitionOwnershipExpirationIntervalInMs: Number(opt('expiry-ms', 8000)),
    },
  });
  save();
  const subscription = client.subscribe(
    {
      processInitialize: async (ctx) => { reading.add(ctx.partitionId); save(); },
      processClose: async (reason, ctx) => { reading.delete(ctx.partitionId); save(); },
      processEvents: async (batch, ctx) => {
        if (batch.length === 0) return;
        events += batch.length;
        await ctx.updateCheckpoint(batch[batch.length - 1]);
      },
      processError: async (err, ctx) => {
        console.error(`sdk-processor ${id}: ${ctx.partitionId || ''}: ${err && err.message ? err.message : err}`);
      },
    },
    { startPosition: earliestEventPosition, maxBatchSize: 100, maxWaitTimeInSeconds: 1 },
  );
  let closing = false;
  process.on('SIGTERM', async () => {
    if (closing) return;
    closing = true;
    await subscription.close();
    await client.close();
    reading.clear();
    save();
    process.exit(0);
  });
}

main().catch((e) => {
  console.error('sdk-processor: FAILED: ' + (e && e.stack ? e.stack : e));
  process.exit(1);
});
