import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterNodeArgs, planCluster } from '../../src/shared/nats-cluster.js';

describe('cluster config', () => {
  const nodes = planCluster({
    size: 3,
    dataDir: '/data/cluster',
    logDir: '/data/logs',
    clientPorts: [4222, 4223, 4224],
    clusterPorts: [6222, 6223, 6224],
  });

  test('each node has its own name, ports, store and log', () => {
    assert.deepEqual(
      nodes.map((n) => [n.name, n.clientPort, n.clusterPort, n.storeDir, n.logFile]),
      [
        ['n1', 4222, 6222, '/data/cluster/n1/store', '/data/logs/nats-n1.log'],
        ['n2', 4223, 6223, '/data/cluster/n2/store', '/data/logs/nats-n2.log'],
        ['n3', 4224, 6224, '/data/cluster/n3/store', '/data/logs/nats-n3.log'],
      ],
    );
  });

  test('every node routes to every node, on loopback, in one named cluster', () => {
    assert.deepEqual(clusterNodeArgs(nodes[1]!, nodes, 'baton'), [
      '--server_name', 'n2',
      '--cluster_name', 'baton',
      '--cluster', 'nats://127.0.0.1:6223',
      '--routes', 'nats://127.0.0.1:6222,nats://127.0.0.1:6223,nats://127.0.0.1:6224',
    ]); // prettier-ignore
  });

  test('an even or single-node size is refused with the sizes allowed', () => {
    assert.throws(
      () => planCluster({ size: 2, dataDir: '/d', clientPorts: [1, 2], clusterPorts: [3, 4] }),
      /cluster size 2 is not allowed; use 3 or 5/,
    );
  });
});
