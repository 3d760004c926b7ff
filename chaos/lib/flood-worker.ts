/**
 * A flooder for `flood-unauthenticated`, in a worker thread of its own so the
 * measuring client's event loop is not the one pumping 30 MB bodies: sends
 * 30 MB, deeply nested bodies without a key, one after the other, until told
 * to stop; posts back how each ended (the status line read, or none).
 */
import { connect } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';

const { port } = workerData as { port: number };
const size = 30 * 1024 * 1024;
const slab = Buffer.alloc(1024 * 1024, '[');
let stopping = false;
parentPort!.on('message', () => {
  stopping = true;
});

function once(): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let status = 'none';
    socket.on('data', (d) => {
      const m = /HTTP\/1\.1 (\d{3})/.exec(d.toString('latin1'));
      if (m && status === 'none') status = m[1];
    });
    socket.on('close', () => resolve(status));
    socket.on('error', () => undefined);
    socket.on('connect', async () => {
      socket.write(
        `POST /v1/messages HTTP/1.1\r\nhost: gantry\r\ncontent-type: application/json\r\ncontent-length: ${size}\r\n\r\n`,
      );
      for (let sent = 0; sent < size && !socket.destroyed; sent += slab.length) {
        if (!socket.write(slab)) await new Promise((r) => socket.once('drain', r));
      }
      socket.end();
    });
  });
}

while (!stopping) parentPort!.postMessage(await once());
parentPort!.close();
