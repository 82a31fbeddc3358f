import { encode } from 'gpt-tokenizer';

/** Tokens a chunk aims for (cl100k/o200k-style tokens as gpt-tokenizer counts them). */
export const CHUNK_TARGET_TOKENS = 300;
/** Tokens of the previous chunk repeated at the start of the next one, within a section. */
export const CHUNK_OVERLAP_TOKENS = 50;
/** Depth of the heading path kept with each chunk. */
const MAX_HEADING_DEPTH = 6;
/**
 * A longer line is text, not a heading: a heading is copied into every chunk
 * of its section (and of the sections below it) and embedded with each, so one
 * huge heading line would multiply the document's size.
 */
export const MAX_HEADING_LINE_CHARS = 300;
/**
 * Longest run of whitespace, or of other characters, tokenized in one piece.
 * gpt-tokenizer's byte-pair merge takes time quadratic in the length of a
 * pre-tokenized word (80,000 letters in a row: seconds; a 1 MB word: many
 * minutes, the event loop blocked for every tenant), so longer runs are cut
 * into pieces of this size. A cut may add a token to the count; text of
 * ordinary words is never cut, and is counted exactly as gpt-tokenizer counts it.
 */
const MAX_RUN_CHARS = 64;

/** Text that looks like a special token ("<|endoftext|>") is ordinary text here. */
const ENCODE_OPTIONS = { disallowedSpecial: new Set<string>() };

/** Tokens of the text as gpt-tokenizer counts them, runs longer than MAX_RUN_CHARS counted in pieces. */
export function countTokens(text: string): number {
  let tokens = 0;
  for (const piece of pieces(text, false)) tokens += encode(piece, ENCODE_OPTIONS).length;
  return tokens;
}

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

/** What joins the blocks of a chunk, and the overlap carried from the previous chunk. */
const BLOCK_SEPARATOR = '\n\n';

/**
 * Splits Markdown (or plain text) by structure: sections at ATX headings
 * (`#` to `######`, not inside fenced code), then blocks separated by blank
 * lines (a fenced code block stays one block). Blocks are packed into chunks
 * of at most targetTokens; a block longer than that is split at sentences, a
 * sentence longer than that between words, and a word longer than that
 * between characters. A new chunk in the same section starts with the last
 * overlapTokens of the previous one (whole words); chunks never span two
 * sections.
 */
export function chunkMarkdown(markdown: string, options: ChunkOptions = {}): Chunk[] {
  const target = Math.max(16, options.targetTokens ?? CHUNK_TARGET_TOKENS);
  const overlap = Math.min(Math.max(0, options.overlapTokens ?? CHUNK_OVERLAP_TOKENS), Math.floor(target / 2));
  const separatorTokens = countTokens(BLOCK_SEPARATOR);
  // Room for the overlap and its separator, so that a block starting a chunk fits with them.
  const maxBlockTokens = overlap > 0 ? target - overlap - separatorTokens : target;
  const chunks: Chunk[] = [];
  for (const section of sections(markdown)) {
    let current: string[] = [];
    /** The blocks of `current` and the separators between them. */
    let currentTokens = 0;
    let carried = '';
    /** `carried` and the separator after it. */
    let carriedTokens = 0;
    const emit = () => {
      const body = current.join(BLOCK_SEPARATOR).trim();
      if (body === '') return;
      let text = carried ? `${carried}${BLOCK_SEPARATOR}${body}` : body;
      let tokenCount = countTokens(text);
      // Parts' counts add up to the whole's but in odd cases; the overlap never takes a chunk over the target.
      if (tokenCount > target && carried) {
        text = body;
        tokenCount = countTokens(body);
      }
      chunks.push({ position: chunks.length, heading: section.heading, text, tokenCount });
      carried = overlap > 0 ? tail(body, overlap) : '';
      carriedTokens = carried ? countTokens(carried) + separatorTokens : 0;
      current = [];
      currentTokens = 0;
    };
    for (const block of section.blocks.flatMap((b) => splitLong(b, maxBlockTokens))) {
      const tokens = countTokens(block);
      if (current.length > 0 && carriedTokens + currentTokens + separatorTokens + tokens > target) emit();
      currentTokens += (current.length > 0 ? separatorTokens : 0) + tokens;
      current.push(block);
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
    const heading = atxHeading(line);
    if (heading) {
      endBlock();
      if (section.blocks.length > 0) result.push(section);
      path.length = Math.min(path.length, heading.level - 1);
      while (path.length < heading.level - 1) path.push('');
      path.push(heading.title);
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

/**
 * The opening of an ATX heading: up to 3 spaces of indentation, 1 to 6 `#`,
 * then a space, a tab or the end of the line. The rest of the line is read in
 * code, not by a pattern: `(.*?)\s*#*\s*$` backtracked in cubic time over a
 * line of spaces.
 */
const ATX_OPENING = /^ {0,3}(#{1,6})(?:[ \t]|$)/;

const isSpaceOrTab = (char: string | undefined) => char === ' ' || char === '\t';

/**
 * An ATX heading's level and title (CommonMark): a closing run of `#` is
 * dropped when a space or tab precedes it (`# C#` is titled "C#"). A heading
 * without a title, or a line longer than MAX_HEADING_LINE_CHARS, is text.
 */
function atxHeading(line: string): { level: number; title: string } | null {
  if (line.length > MAX_HEADING_LINE_CHARS) return null;
  const opening = ATX_OPENING.exec(line);
  if (!opening?.[1]) return null;
  const contentStart = opening[0].length;
  let end = line.length;
  while (end > contentStart && isSpaceOrTab(line[end - 1])) end--;
  let closing = end;
  while (closing > contentStart && line[closing - 1] === '#') closing--;
  if (closing < end && (closing === contentStart || isSpaceOrTab(line[closing - 1]))) end = closing;
  const title = line.slice(contentStart, end).trim();
  return title ? { level: opening[1].length, title } : null;
}

/** A block as pieces of at most maxTokens: whole sentences where possible, else whole words, else characters. */
function splitLong(block: string, maxTokens: number): string[] {
  if (countTokens(block) <= maxTokens) return [block];
  const result: string[] = [];
  // A piece is counted as the sum of its sentences' counts, each with the space that joins it to the one before (which
  // the sentence's first word absorbs): counting each candidate piece whole would take time proportional to the
  // block's length times maxTokens.
  let current = '';
  let currentTokens = 0;
  const flush = () => {
    // Sentences' counts add up to the whole's but in odd cases: check the piece itself.
    if (current) result.push(...(countTokens(current) <= maxTokens ? [current] : splitSentence(current, maxTokens)));
    current = '';
    currentTokens = 0;
  };
  for (const sentence of block.split(/(?<=[.!?])\s+(?=\S)/)) {
    const tokens = countTokens(` ${sentence}`);
    if (tokens > maxTokens) {
      flush();
      result.push(...splitSentence(sentence, maxTokens));
      continue;
    }
    if (current && currentTokens + tokens > maxTokens) flush();
    currentTokens += tokens;
    current = current ? `${current} ${sentence}` : sentence;
  }
  flush();
  return result;
}

/** A sentence longer than maxTokens as pieces of at most maxTokens: cut between words, or inside a word too long. */
function splitSentence(sentence: string, maxTokens: number): string[] {
  const result: string[] = [];
  let current = '';
  let currentTokens = 0;
  const flush = () => {
    const piece = current.trim();
    current = '';
    currentTokens = 0;
    if (piece === '') return;
    // A word alone may be longer than maxTokens; and words' counts add up to the whole's but in odd cases.
    if (countTokens(piece) <= maxTokens) result.push(piece);
    else result.push(...splitCharacters(piece, maxTokens));
  };
  for (const word of pieces(sentence, true)) {
    const tokens = countTokens(word);
    if (current && currentTokens + tokens > maxTokens) flush();
    current += word;
    currentTokens += tokens;
  }
  flush();
  return result;
}

/** Text as pieces of at most maxTokens, cut between code points; each piece as long as fits (found by bisection). */
function splitCharacters(text: string, maxTokens: number): string[] {
  const codePoints = Array.from(text);
  const result: string[] = [];
  let start = 0;
  while (start < codePoints.length) {
    // One code point always goes: a piece of at most 4 bytes is at most 4 tokens, under any target.
    let fits = start + 1;
    let over = codePoints.length + 1;
    while (over - fits > 1) {
      const middle = Math.floor((fits + over) / 2);
      if (countTokens(codePoints.slice(start, middle).join('')) <= maxTokens) fits = middle;
      else over = middle;
    }
    result.push(codePoints.slice(start, fits).join('').trim());
    start = fits;
  }
  return result.filter(Boolean);
}

/** The last whole words of text, at most `tokens` tokens of them (a word longer than MAX_RUN_CHARS counts as several). */
function tail(text: string, tokens: number): string {
  if (countTokens(text) <= tokens) return text;
  const words = pieces(text, true);
  let start = words.length;
  let total = 0;
  for (; start > 0; start--) {
    const wordTokens = countTokens(words[start - 1] ?? '');
    if (total + wordTokens > tokens) break;
    total += wordTokens;
  }
  let result = words.slice(start).join('').trim();
  // Words' counts add up to the whole's but in odd cases: drop words until the count agrees.
  while (result !== '' && countTokens(result) > tokens) result = words.slice(++start).join('').trim();
  return result;
}

/**
 * The text as consecutive pieces (joined, they are the text again): cut
 * inside runs of whitespace or of other characters longer than MAX_RUN_CHARS
 * (never between the halves of a surrogate pair) and, with `atWords`, before
 * the whitespace that precedes each word.
 */
function pieces(text: string, atWords: boolean): string[] {
  if (!atWords && text.length <= MAX_RUN_CHARS) return [text];
  const result: string[] = [];
  let pieceStart = 0;
  let runStart = 0;
  let inWhitespace = false;
  const cut = (at: number) => {
    result.push(text.slice(pieceStart, at));
    pieceStart = at;
    runStart = at;
  };
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const whitespace = isWhitespace(code);
    if (whitespace !== inWhitespace) {
      inWhitespace = whitespace;
      runStart = i;
      if (atWords && whitespace && i > pieceStart) cut(i);
    } else if (i - runStart >= MAX_RUN_CHARS && !(code >= 0xdc00 && code <= 0xdfff)) {
      cut(i);
    }
  }
  if (pieceStart < text.length) result.push(text.slice(pieceStart));
  return result;
}

/** The characters JavaScript's `\s` matches (gpt-tokenizer's pre-tokenizer splits words at them). */
function isWhitespace(code: number): boolean {
  if (code < 0x80) return code === 0x20 || (code >= 0x09 && code <= 0x0d);
  return (
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}
