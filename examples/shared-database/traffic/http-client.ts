import http from 'node:http';

/** The answer to one request: status (0 when no answer came) and the parsed JSON body. */
export interface HttpAnswer {
  status: number;
  body: unknown;
  error?: string;
}

/** Sends one JSON request with a timeout; never throws (network errors are status 0). */
export function requestJson(
  agent: http.Agent,
  method: string,
  url: string,
  body?: unknown,
  timeoutMs = 10_000,
): Promise<HttpAnswer> {
  return new Promise((resolve) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      url,
      {
        method,
        agent,
        timeout: timeoutMs,
        headers:
          payload === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (error) => resolve({ status: 0, body: undefined, error: error.message }));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            parsed = text;
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error) => resolve({ status: 0, body: undefined, error: error.message }));
    req.end(payload);
  });
}
