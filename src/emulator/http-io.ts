import type { IncomingMessage, ServerResponse } from 'node:http';

const MAX_BODY_BYTES = 1_000_000;

/** A request read whole: its URL, form parameters (query string and form body) and raw body. */
export interface ParsedRequest {
  method: string;
  url: URL;
  /** Query string, then a urlencoded or multipart body over it; the first value of each name. */
  params: Map<string, string>;
  body: Buffer;
  header(name: string): string | undefined;
}

/** Thrown for a body over 1 MB: answered with 413. */
export class BodyTooLargeError extends Error {}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BodyTooLargeError('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Zoho's token endpoint takes its parameters in the query string, a urlencoded body or a multipart body. */
async function formParams(url: URL, req: IncomingMessage, body: Buffer): Promise<Map<string, string>> {
  const params = new Map<string, string>();
  const add = (name: string, value: string) => {
    if (!params.has(name)) params.set(name, value);
  };
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  if (body.length > 0 && (type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/'))) {
    // undici parses both encodings; a malformed body simply yields no parameters.
    const form = await new Request(url, { method: 'POST', headers: { 'content-type': type }, body })
      .formData()
      .catch(() => new FormData());
    for (const [name, value] of form) if (typeof value === 'string') add(name, value);
  }
  for (const [name, value] of url.searchParams) add(name, value);
  return params;
}

export async function parseRequest(req: IncomingMessage, baseUrl: string): Promise<ParsedRequest> {
  const url = new URL(req.url ?? '/', baseUrl);
  const body = await readBody(req);
  return {
    method: req.method ?? 'GET',
    url,
    params: await formParams(url, req, body),
    body,
    header: (name) => {
      const value = req.headers[name.toLowerCase()];
      return Array.isArray(value) ? value[0] : value;
    },
  };
}

/** An answer, built by a route and written by {@link send}. */
export interface Reply {
  status: number;
  headers: Record<string, string | number>;
  body: string;
}

const NO_STORE = { 'cache-control': 'no-store' };

export const json = (status: number, body: unknown): Reply => ({
  status,
  headers: { 'content-type': 'application/json;charset=UTF-8', ...NO_STORE },
  body: JSON.stringify(body),
});

export const html = (status: number, text: string): Reply => ({
  status,
  headers: {
    'content-type': 'text/html;charset=UTF-8',
    ...NO_STORE,
    // No form-action: browsers would apply it to the redirect back to the app.
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
  },
  body: text,
});

export const redirect = (location: string): Reply => ({ status: 302, headers: { location, ...NO_STORE }, body: '' });

export const noContent = (): Reply => ({ status: 204, headers: {}, body: '' });

export function send(res: ServerResponse, reply: Reply): void {
  res.writeHead(reply.status, { ...reply.headers, 'content-length': Buffer.byteLength(reply.body) });
  res.end(reply.body);
}

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );
}
