/**
 * Rendering a response: a whole body in one write with its headers, or
 * chunks forwarded as they arrive, with backpressure.
 */
import type { ServerResponse } from 'node:http';
import type { Exchange } from '../pipeline/exchange.ts';

export async function render(ex: Exchange, res: ServerResponse, draining: boolean): Promise<void> {
  const { status, headers, body } = ex.response!;
  if (ex.responseHeaders) Object.assign(headers, ex.responseHeaders);
  if (draining) headers.connection = 'close';
  if (Buffer.isBuffer(body)) {
    res.writeHead(status, headers);
    res.end(body);
    return;
  }
  res.writeHead(status, headers);
  const it = body[Symbol.asyncIterator]();
  const first = it.next();
  // The headers leave with the first chunk when it is already there (one write instead of
  // two); when it is not, they are flushed now so the client sees the response start.
  let next = await Promise.race([first, nextTurn()]);
  if (next === NEXT_TURN) {
    res.flushHeaders();
    next = await first;
  }
  for (let r = next as IteratorResult<Buffer>; !r.done; r = await it.next()) {
    if (res.destroyed) {
      await it.return?.();
      return;
    }
    if (!res.write(r.value)) await drained(res);
  }
  if (!res.destroyed) res.end();
}

const NEXT_TURN = Symbol('next turn');
/** Resolves after the event loop's next I/O phase. */
function nextTurn(): Promise<typeof NEXT_TURN> {
  return new Promise((resolve) => setImmediate(resolve, NEXT_TURN));
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
