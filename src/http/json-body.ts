import type { FastifyInstance } from 'fastify';
import { AppError } from '../api/errors.ts';

/** Deeper JSON than this is refused before parsing: no procedure needs it, and recursion on it is a cheap attack. */
export const MAX_JSON_DEPTH = 32;

/** Nesting depth of a JSON text, counted in one pass without parsing it. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      depth++;
      if (depth > max) max = depth;
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return max;
}

/** Whether `text` is JSON text nested deeper than MAX_JSON_DEPTH (anything that is not a string is not). */
export const jsonTooDeep = (text: unknown): boolean => typeof text === 'string' && jsonDepth(text) > MAX_JSON_DEPTH;

export const tooDeepJsonError = () => new AppError('BAD_REQUEST', `JSON nested deeper than ${MAX_JSON_DEPTH} levels.`);

/** Replaces Fastify's JSON parser with one that bounds nesting and maps parse failures to the error catalogue. */
export function registerJsonParser(app: FastifyInstance, bodyLimit: number): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit }, (_req, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
    if (jsonTooDeep(text)) return done(tooDeepJsonError(), undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new AppError('BAD_REQUEST', 'The body is not valid JSON.'), undefined);
    }
  });
}
