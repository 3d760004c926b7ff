/**
 * The floor of any Node gateway: node:http in front of an undici Pool, the
 * body read whole and forwarded, the answer sent back with one write. No
 * authentication, no parsing, no policy: what Node itself costs per proxied
 * request on this machine. Used by bench/run.ts as the `node-floor` target.
 *
 *   node bench/lib/node-proxy.ts <port> <upstream origin>
 */
import { createServer } from 'node:http';
import { Pool } from 'undici';

const [port, upstream] = process.argv.slice(2);
const pool = new Pool(upstream, { connections: 2100, keepAliveTimeout: 30_000 });

const server = createServer({ noDelay: true }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', async () => {
    try {
      const { statusCode, headers, body } = await pool.request({
        path: req.url ?? '/',
        method: req.method as 'POST',
        headers: {
          'content-type': String(req.headers['content-type'] ?? 'application/json'),
          'anthropic-version': String(req.headers['anthropic-version'] ?? '2023-06-01'),
          'x-api-key': String(req.headers['x-api-key'] ?? ''),
        },
        body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
      });
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(headers)) {
        if (v !== undefined && k !== 'connection' && k !== 'keep-alive' && k !== 'transfer-encoding')
          out[k] = v;
      }
      res.writeHead(statusCode, out);
      for await (const chunk of body) res.write(chunk);
      res.end();
    } catch {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    }
  });
});
server.listen(Number(port), '127.0.0.1', () => process.stderr.write(`node-floor listening on ${port}\n`));
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  void pool.destroy().then(() => process.exit(0));
});
