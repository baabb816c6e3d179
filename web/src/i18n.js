// One message catalogue per language: every text a person reads comes from
// locales/<lang>/<area>.json, where <area> (desk, catalogue, ...) is the first
// part of the key: t("desk.lend.title"). zh-CN is the default; the choice is kept
// in localStorage and <html lang> follows it.
import { createI18n } from "vue-i18n";

export const LANGUAGES = ["zh-CN", "en"];
const STORAGE_KEY = "library.language";

function catalogue() {
  const files = import.meta.glob("./locales/*/*.json", { eager: true, import: "default" });
  const messages = Object.fromEntries(LANGUAGES.map((lang) => [lang, {}]));
  for (const [path, content] of Object.entries(files)) {
    const [, lang, area] = path.match(/\.\/locales\/([^/]+)\/([^/]+)\.json$/);
    if (messages[lang]) messages[lang][area] = content;
  }
  return messages;
}

const datetimeFormats = {
  "zh-CN": {
    date: { year: "numeric", month: "2-digit", day: "2-digit" },
    long: { year: "numeric", month: "long", day: "numeric" },
    time: { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false },
    datetime: { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false },
  },
  en: {
    date: { year: "numeric", month: "2-digit", day: "2-digit" },
    long: { year: "numeric", month: "long", day: "numeric" },
    time: { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false },
    datetime: { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false },
  },
};

const numberFormats = {
  "zh-CN": {
    money: { style: "currency", currency: "CNY", minimumFractionDigits: 2 },
    count: { maximumFractionDigits: 0 },
    percent: { style: "percent", maximumFractionDigits: 0 },
  },
  en: {
    money: { style: "currency", currency: "CNY", minimumFractionDigits: 2 },
    count: { maximumFractionDigits: 0 },
    percent: { style: "percent", maximumFractionDigits: 0 },
  },
};

function initialLanguage() {
  const kept = localStorage.getItem(STORAGE_KEY);
  return LANGUAGES.includes(kept) ? kept : "zh-CN";
}

export const i18n = createI18n({
  legacy: false,
  locale: initialLanguage(),
  fallbackLocale: "zh-CN",
  messages: catalogue(),
  datetimeFormats,
  numberFormats,
  missingWarn: import.meta.env.DEV,
  fallbackWarn: import.meta.env.DEV,
});

/** Switch the language of every screen, remember it, and tell the browser. */
export function setLanguage(lang) {
  i18n.global.locale.value = lang;
  localStorage.setItem(STORAGE_KEY, lang);
  document.documentElement.lang = lang;
  document.title = i18n.global.t("common.app.title");
}

/**
 * A date as the server sends it ("2026-12-04") or a timestamp, worded in the current
 * language. In tables ("date") it is written 2026-12-04, as school registers do; on
 * paper ("long") 2026年12月4日 or 4 December 2026.
 */
export function formatDate(value, style = "date") {
  if (!value) return "";
  const date = typeof value === "string" && value.length === 10 ? new Date(`${value}T00:00:00`) : new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  if (style === "date") {
    const pad = (n) => String(n).padStart(2, "0");
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
  }
  return i18n.global.d(date, style);
}

/** Money as the server sends it ("12.50"): ¥12.50. */
export function formatMoney(value) {
  return i18n.global.n(Number(value || 0), "money");
}
