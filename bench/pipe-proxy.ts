import { Agent, createServer, request, type Server } from 'node:http';

/**
 * The physical floor of a proxy: Node's `http` and `pipe()`, no parsing, no framing, no store.
 * Whatever the real proxy adds on top of this is the price of what it does.
 */
export function createPipeProxy(upstreamUrl: string): Server {
  const upstream = new URL(upstreamUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  return createServer((req, res) => {
    const upstreamReq = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent,
      },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
    );
    upstreamReq.on('error', () => res.destroy());
    res.on('close', () => upstreamReq.destroy());
    req.pipe(upstreamReq);
  });
}
