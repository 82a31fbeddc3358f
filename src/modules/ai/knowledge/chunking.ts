import { decode, encode } from 'gpt-tokenizer';

/** Tokens a chunk aims for (cl100k/o200k-style tokens as gpt-tokenizer counts them). */
export const CHUNK_TARGET_TOKENS = 300;
/** Tokens of the previous chunk repeated at the start of the next one, within a section. */
export const CHUNK_OVERLAP_TOKENS = 50;
/** Depth of the heading path kept with each chunk. */
const MAX_HEADING_DEPTH = 6;

/** Text that looks like a special token ("<|endoftext|>") is ordinary text here. */
const ENCODE_OPTIONS = { disallowedSpecial: new Set<string>() };

export const countTokens = (text: string): number => encode(text, ENCODE_OPTIONS).length;

export interface Chunk {
  position: number;
  /** The heading path above the passage, joined with " > "; empty before the first heading. */
  heading: string;
  text: string;
  tokenCount: number;
}

export interface ChunkOptions {
  targetTokens?: number;
  overlapTokens?: number;
}

interface Section {
  heading: string;
  blocks: string[];
}

/**
 * Splits Markdown (or plain text) by structure: sections at ATX headings
 * (`#` to `######`, not inside fenced code), then blocks separated by blank
 * lines (a fenced code block stays one block). Blocks are packed into chunks
 * of about targetTokens; a block longer than that is split at sentences, and
 * a sentence longer than that at token boundaries. A new chunk in the same
 * section starts with the last overlapTokens of the previous one (trimmed to
 * a word boundary); chunks never span two sections.
 */
export function chunkMarkdown(markdown: string, options: ChunkOptions = {}): Chunk[] {
  const target = Math.max(16, options.targetTokens ?? CHUNK_TARGET_TOKENS);
  const overlap = Math.min(Math.max(0, options.overlapTokens ?? CHUNK_OVERLAP_TOKENS), Math.floor(target / 2));
  const chunks: Chunk[] = [];
  for (const section of sections(markdown)) {
    let current: string[] = [];
    let currentTokens = 0;
    let carried = '';
    const emit = () => {
      const body = current.join('\n\n').trim();
      if (body === '') return;
      const text = carried ? `${carried}\n\n${body}` : body;
      chunks.push({ position: chunks.length, heading: section.heading, text, tokenCount: countTokens(text) });
      carried = overlap > 0 ? tail(body, overlap) : '';
      current = [];
      currentTokens = 0;
    };
    const budget = () => target - (carried ? countTokens(carried) : 0);
    for (const block of section.blocks.flatMap((b) => splitLong(b, target - overlap))) {
      const tokens = countTokens(block);
      if (current.length > 0 && currentTokens + tokens > budget()) emit();
      current.push(block);
      currentTokens += tokens;
    }
    emit();
  }
  return chunks;
}

function sections(markdown: string): Section[] {
  const lines = markdown.replace(/\r\n?/g, '\n').split('\n');
  const result: Section[] = [];
  const path: string[] = [];
  let section: Section = { heading: '', blocks: [] };
  let block: string[] = [];
  let fence: string | null = null;
  const endBlock = () => {
    const text = block.join('\n').trim();
    if (text) section.blocks.push(text);
    block = [];
  };
  for (const line of lines) {
    const fenceMark = line.match(/^\s{0,3}(```+|~~~+)/)?.[1];
    if (fence !== null) {
      block.push(line);
      if (fenceMark?.startsWith(fence)) fence = null;
      continue;
    }
    if (fenceMark) {
      fence = fenceMark;
      block.push(line);
      continue;
    }
    const heading = line.match(/^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/);
    if (heading?.[1] && heading[2]) {
      endBlock();
      if (section.blocks.length > 0) result.push(section);
      const level = heading[1].length;
      path.length = Math.min(path.length, level - 1);
      while (path.length < level - 1) path.push('');
      path.push(heading[2].trim());
      section = { heading: path.filter(Boolean).slice(-MAX_HEADING_DEPTH).join(' > '), blocks: [] };
      continue;
    }
    if (line.trim() === '') endBlock();
    else block.push(line);
  }
  endBlock();
  if (section.blocks.length > 0) result.push(section);
  return result;
}

/** A block as pieces of at most maxTokens: whole sentences where possible, else token slices. */
function splitLong(block: string, maxTokens: number): string[] {
  if (countTokens(block) <= maxTokens) return [block];
  const sentences = block.split(/(?<=[.!?])\s+(?=\S)/);
  const pieces: string[] = [];
  let current = '';
  for (const sentence of sentences) {
    const candidate = current ? `${current} ${sentence}` : sentence;
    if (countTokens(candidate) <= maxTokens) {
      current = candidate;
      continue;
    }
    if (current) pieces.push(current);
    if (countTokens(sentence) <= maxTokens) {
      current = sentence;
    } else {
      const tokens = encode(sentence, ENCODE_OPTIONS);
      for (let i = 0; i < tokens.length; i += maxTokens) pieces.push(decode(tokens.slice(i, i + maxTokens)).trim());
      current = '';
    }
  }
  if (current) pieces.push(current);
  return pieces.filter(Boolean);
}

/** The last `tokens` tokens of text, starting at a word boundary. */
function tail(text: string, tokens: number): string {
  const encoded = encode(text, ENCODE_OPTIONS);
  if (encoded.length <= tokens) return text;
  const end = decode(encoded.slice(-tokens));
  const boundary = end.search(/\s/);
  return (boundary >= 0 ? end.slice(boundary) : end).trim();
}
