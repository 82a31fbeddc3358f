/**
 * The languages the dashboard is translated into. The web app keeps one message catalogue per code
 * (web/src/i18n/); `GET /api/v1/locales` lists them so clients can offer a picker.
 */
export const LOCALES = [
  { code: 'en', name: 'English' },
  { code: 'de', name: 'Deutsch' },
] as const;

export type LocaleCode = (typeof LOCALES)[number]['code'];

export const DEFAULT_LOCALE: LocaleCode = 'en';
