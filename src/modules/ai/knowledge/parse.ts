import TurndownService from 'turndown';
import { extractText } from 'unpdf';
import { AppError } from '../../../api/errors.ts';
import type { SourceType } from './schema.ts';

/** Longest extracted text kept for one document (characters). */
export const MAX_CONTENT_CHARS = 5_000_000;

export interface ExtractedDocument {
  sourceType: SourceType;
  /** Plain text or Markdown: what is chunked. */
  content: string;
  metadata: Record<string, unknown>;
}

const EXTENSIONS: Record<string, SourceType> = {
  txt: 'text',
  text: 'text',
  md: 'markdown',
  markdown: 'markdown',
  html: 'html',
  htm: 'html',
  pdf: 'pdf',
};

export function fileProblem(message: string, path = 'file'): AppError {
  return new AppError('VALIDATION_FAILED', undefined, [{ path, message }]);
}

/** The source type of an uploaded file, from its name's extension (the content is checked when it is read). */
export function sourceTypeOf(filename: string): SourceType {
  const extension = filename.toLowerCase().match(/\.([a-z]+)$/)?.[1];
  const type = extension ? EXTENSIONS[extension] : undefined;
  if (!type) throw fileProblem('Unsupported file type: upload a .txt, .md, .html or .pdf file.');
  return type;
}

function utf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes).replace(/^\uFEFF/, '');
  } catch {
    throw fileProblem('The file is not UTF-8 text.');
  }
}

let turndown: TurndownService | undefined;
/** HTML to Markdown, without scripts, styles and embedded frames. */
export function htmlToMarkdown(html: string): string {
  if (!turndown) {
    turndown = new TurndownService({ headingStyle: 'atx', codeBlockStyle: 'fenced', bulletListMarker: '-' });
    turndown.remove(['script', 'style', 'noscript', 'iframe', 'object', 'embed', 'template', 'head', 'title']);
  }
  return turndown.turndown(html);
}

async function pdfText(bytes: Uint8Array): Promise<{ text: string; pages: number }> {
  if (!(bytes[0] === 0x25 && bytes[1] === 0x50 && bytes[2] === 0x44 && bytes[3] === 0x46)) {
    throw fileProblem('The file is not a PDF.');
  }
  try {
    // unpdf (PDF.js) may detach the buffer it is given: hand it a copy.
    const { text, totalPages } = await extractText(new Uint8Array(bytes), { mergePages: true });
    return { text, pages: totalPages };
  } catch {
    throw fileProblem('The PDF could not be read (damaged, encrypted or not a PDF).');
  }
}

/** The text of an uploaded file; a file that cannot be read, or holds no text, is a field error on `file`. */
export async function extractDocument(bytes: Uint8Array, sourceType: SourceType): Promise<ExtractedDocument> {
  let content: string;
  const metadata: Record<string, unknown> = {};
  if (sourceType === 'pdf') {
    const { text, pages } = await pdfText(bytes);
    content = text;
    metadata.pages = pages;
  } else if (sourceType === 'html') {
    content = htmlToMarkdown(utf8(bytes));
  } else {
    content = utf8(bytes);
  }
  return { sourceType, content: checkedContent(content), metadata };
}

/** Normalised text, refused when empty or too long. */
export function checkedContent(content: string, path = 'file'): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL and other C0 controls break PostgreSQL text and tsvector.
  const normalised = content.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, '');
  if (normalised.trim() === '') throw fileProblem('The document contains no text.', path);
  if (normalised.length > MAX_CONTENT_CHARS)
    throw fileProblem(`The document's text is longer than ${MAX_CONTENT_CHARS} characters.`, path);
  return normalised;
}
