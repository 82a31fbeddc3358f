import type { FastifyRequest } from 'fastify';

/** A Fastify request's headers as Fetch `Headers`, which the auth library and the request context read. */
export function webHeaders(req: FastifyRequest): Headers {
  const headers = new Headers();
  for (const [key, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(key, v);
    else headers.set(key, String(value));
  }
  return headers;
}
