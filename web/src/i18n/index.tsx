import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { DEFAULT_LOCALE, LOCALES, type LocaleCode } from '../../../src/web/locales.ts';
import { de, type MessageKey } from './de.ts';

/**
 * Messages are keyed by their English text (as gettext does): English needs no catalogue, every other
 * language has one object mapping each key to its translation, and the compiler checks that a
 * catalogue has every key (`Record<MessageKey, string>`). `{name}` placeholders are filled from `vars`.
 */
const catalogues: Record<LocaleCode, Partial<Record<MessageKey, string>>> = { en: {}, de };

export type Translate = (key: MessageKey, vars?: Record<string, string | number>) => string;

interface I18n {
  locale: LocaleCode;
  setLocale(locale: LocaleCode): void;
  t: Translate;
  formatDate(value: string | null | undefined): string;
  formatNumber(value: number): string;
  /** US dollars; amounts below a cent keep their significant digits (one embedding call costs millionths). */
  formatMoney(usd: number): string;
}

const STORAGE_KEY = 'palisade.locale';

function initialLocale(): LocaleCode {
  const saved = localStorage.getItem(STORAGE_KEY);
  const wanted = [saved, ...navigator.languages.map((l) => l.slice(0, 2))];
  for (const code of wanted) {
    const match = LOCALES.find((l) => l.code === code);
    if (match) return match.code;
  }
  return DEFAULT_LOCALE;
}

const I18nContext = createContext<I18n | null>(null);

export function I18nProvider({ children }: { children: ReactNode }) {
  const [locale, setLocaleState] = useState<LocaleCode>(initialLocale);
  useEffect(() => {
    document.documentElement.lang = locale;
  }, [locale]);
  const setLocale = useCallback((next: LocaleCode) => {
    localStorage.setItem(STORAGE_KEY, next);
    setLocaleState(next);
  }, []);
  const value = useMemo<I18n>(() => {
    const catalogue = catalogues[locale];
    const dates = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' });
    const numbers = new Intl.NumberFormat(locale, { maximumFractionDigits: 2 });
    const money = new Intl.NumberFormat(locale, { style: 'currency', currency: 'USD' });
    const smallMoney = new Intl.NumberFormat(locale, {
      style: 'currency',
      currency: 'USD',
      maximumSignificantDigits: 3,
      minimumSignificantDigits: 1,
    });
    return {
      locale,
      setLocale,
      t: (key, vars) => {
        let text: string = catalogue[key] ?? key;
        if (vars) for (const [name, v] of Object.entries(vars)) text = text.replaceAll(`{${name}}`, String(v));
        return text;
      },
      formatDate: (v) => (v ? dates.format(new Date(v)) : '—'),
      formatNumber: (v) => numbers.format(v),
      formatMoney: (v) => (v !== 0 && Math.abs(v) < 0.01 ? smallMoney : money).format(v),
    };
  }, [locale, setLocale]);
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const value = useContext(I18nContext);
  if (!value) throw new Error('useI18n outside I18nProvider');
  return value;
}

export type { MessageKey };
