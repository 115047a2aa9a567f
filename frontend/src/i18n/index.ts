/**
 * i18next: English and Brazilian Portuguese, the browser's language by default, the choice kept
 * in localStorage. Each feature adds its namespace to FEATURES below (one line per feature).
 */
import i18n from 'i18next';
import LanguageDetector from 'i18next-browser-languagedetector';
import { initReactI18next } from 'react-i18next';
import * as common from './common';
import * as errors from './errors';
import * as auth from '../features/auth/i18n';
import * as dashboard from '../features/dashboard/i18n';
import * as members from '../features/members/i18n';
import * as dues from '../features/dues/i18n';
import * as payments from '../features/payments/i18n';
import * as administration from '../features/administration/i18n';
import * as materials from '../features/materials/i18n';
import * as posts from '../features/posts/i18n';
import * as files from '../features/files/i18n';

export const LANGUAGES = ['en', 'pt-BR'] as const;
export type Language = (typeof LANGUAGES)[number];

/** namespace → { en, ptBR }. A new feature adds one entry here. */
const FEATURES: Record<string, { en: object; ptBR: object }> = {
  common,
  errors,
  auth,
  dashboard,
  members,
  dues,
  payments,
  administration,
  materials,
  posts,
  files,
};

const resources = {
  en: Object.fromEntries(Object.entries(FEATURES).map(([ns, r]) => [ns, r.en])),
  'pt-BR': Object.fromEntries(Object.entries(FEATURES).map(([ns, r]) => [ns, r.ptBR])),
};

export function toSupported(lng: string | undefined): Language {
  return lng && lng.toLowerCase().startsWith('pt') ? 'pt-BR' : 'en';
}

void i18n
  .use(LanguageDetector)
  .use(initReactI18next)
  .init({
    resources,
    supportedLngs: [...LANGUAGES],
    fallbackLng: 'en',
    defaultNS: 'common',
    ns: Object.keys(FEATURES),
    interpolation: { escapeValue: false },
    returnNull: false,
    detection: {
      order: ['localStorage', 'navigator'],
      lookupLocalStorage: 'tessera.language',
      caches: ['localStorage'],
      convertDetectedLanguage: (lng: string) => toSupported(lng),
    },
  });

i18n.on('languageChanged', (lng) => {
  if (typeof document !== 'undefined') document.documentElement.lang = lng;
});
if (typeof document !== 'undefined') document.documentElement.lang = i18n.language;

export default i18n;
