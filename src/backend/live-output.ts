// Live output of a running script: the agent publishes chunks on `out.<pc>.<request>` (core NATS,
// not stored) while it runs; this relays them to one client as server-sent events:
//   output  {stream: 'stdout'|'stderr', seq, text}    a chunk, decoded as UTF-8 per stream
//   gap     {expected, got}                           chunks were missed; read the stored output
//   eof     {}                                        the agent said the stream ended
// Live output is best effort: the stored result (GET /api/results/:id/output) is the record.
import type { ServerResponse } from 'node:http';
import type { NatsConnection } from '@nats-io/transport-node';
import { BATON_OUT_EOF, BATON_OUT_SEQ, BATON_OUT_STREAM, outSubject } from '../wire/index.js';

const KEEPALIVE_MS = 15_000;

export function relayOutput(nc: NatsConnection, res: ServerResponse, pcId: string, requestId: string): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  res.write(': connected\n\n');
  const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  let next = 1;
  const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  const sub = nc.subscribe(outSubject(pcId, requestId), {
    callback: (err, m) => {
      if (err) return void res.end();
      if (m.headers?.get(BATON_OUT_EOF)) {
        send('eof', {});
        return;
      }
      const seq = Number(m.headers?.get(BATON_OUT_SEQ));
      if (Number.isInteger(seq) && seq !== next && next !== 1) send('gap', { expected: next, got: seq });
      if (Number.isInteger(seq)) next = seq + 1;
      const stream = m.headers?.get(BATON_OUT_STREAM) === 'stderr' ? 'stderr' : 'stdout';
      send('output', { stream, seq, text: decoders[stream].decode(m.data, { stream: true }) });
    },
  });
  const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
  keepalive.unref();
  res.on('close', () => {
    clearInterval(keepalive);
    sub.unsubscribe();
  });
} // prettier-ignore
