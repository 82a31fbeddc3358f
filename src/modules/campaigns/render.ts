/** The names a template may use: fields of the contact, and the unsubscribe link. */
export const TEMPLATE_VARIABLES = [
  'firstName',
  'lastName',
  'name',
  'email',
  'phone',
  'title',
  'company',
  'unsubscribeUrl',
] as const;
export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** Names used in a text that are not allowed variables (so the save is refused), in order of appearance. */
export function unknownVariables(text: string): string[] {
  const allowed = new Set<string>(TEMPLATE_VARIABLES);
  const unknown: string[] = [];
  for (const match of text.matchAll(PLACEHOLDER)) {
    const name = match[1] ?? '';
    if (!allowed.has(name) && !unknown.includes(name)) unknown.push(name);
  }
  return unknown;
}

/** The contact facts a message is rendered from (snapshotted per recipient at start). */
export interface ContactFacts {
  name: string | null;
  email: string | null;
  phone: string | null;
  title: string | null;
  company: string | null;
}

export function variablesOf(facts: ContactFacts, unsubscribeUrl: string): Record<TemplateVariable, string> {
  const name = (facts.name ?? '').trim();
  const space = name.indexOf(' ');
  return {
    name,
    firstName: space === -1 ? name : name.slice(0, space),
    lastName: space === -1 ? '' : name.slice(space + 1).trim(),
    email: facts.email ?? '',
    phone: facts.phone ?? '',
    title: facts.title ?? '',
    company: facts.company ?? '',
    unsubscribeUrl,
  };
}

/** Replaces every `{{variable}}`; the template was validated on save, so unknown names render empty. */
export function render(text: string, variables: Record<string, string>): string {
  return text.replace(PLACEHOLDER, (_whole, name: string) => variables[name] ?? '');
}

/** What `{{unsubscribeUrl}}` shows in a template preview; real messages carry a signed link (unsubscribe.ts). */
export function previewUnsubscribeUrl(baseUrl: string): string {
  return `${baseUrl.replace(/\/$/, '')}/unsubscribe?token=preview`;
}
