// Words the reading programme, the class teacher's screen and the student
// catalogue share: a refusal worded by its code (this area's catalogue first,
// then problems.json through errors.js), a week, month or term by its name, and
// today's week and month for the date fields. (Classes and campuses are worded
// by ../../school.js, as on every screen.)
import { i18n } from "../../i18n.js";
import { describe } from "../../errors.js";

const AREAS = ["reading", "teacher", "opac"];

/** What went wrong, in the current language: `<area>.problems.<code>` when worded there. */
export function explain(error) {
  const { t, te } = i18n.global;
  if (!error) return "";
  const code = error.code;
  for (const area of AREAS) {
    if (code && te(`${area}.problems.${code}`)) return t(`${area}.problems.${code}`, error.problem || {});
  }
  return describe(error);
}

function pad(number) {
  return String(number).padStart(2, "0");
}

/** Today at this computer as 2026-12-04 (the school's day; the server says the same). */
export function today() {
  const now = new Date();
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/** This month as 2026-12 (an <input type="month">'s value). */
export function thisMonth() {
  return today().slice(0, 7);
}

/** A day some days from today, as 2026-12-04. */
export function daysFromToday(days) {
  const when = new Date();
  when.setDate(when.getDate() + days);
  return `${when.getFullYear()}-${pad(when.getMonth() + 1)}-${pad(when.getDate())}`;
}

/** This ISO week as 2026-W49 (an <input type="week">'s value). */
export function thisWeek() {
  const now = new Date();
  const day = new Date(Date.UTC(now.getFullYear(), now.getMonth(), now.getDate()));
  const weekday = day.getUTCDay() || 7;
  day.setUTCDate(day.getUTCDate() + 4 - weekday); // the Thursday of this week names it
  const yearStart = new Date(Date.UTC(day.getUTCFullYear(), 0, 1));
  const week = Math.ceil(((day - yearStart) / 86400000 + 1) / 7);
  return `${day.getUTCFullYear()}-W${pad(week)}`;
}

/** A week, month or term by its name (2026-W42, 2026-10, 2026-autumn) as people say it. */
export function periodName(name) {
  const { t } = i18n.global;
  if (!name) return "";
  let found = /^(\d{4})-W(\d{2})$/.exec(name);
  if (found) return t("reading.periodNames.week", { year: found[1], week: Number(found[2]) });
  found = /^(\d{4})-(\d{2})$/.exec(name);
  if (found) return t("reading.periodNames.month", { year: found[1], month: Number(found[2]) });
  found = /^(\d{4})-(autumn|spring)$/.exec(name);
  if (found) {
    const year = Number(found[1]);
    const first = found[2] === "autumn" ? year : year - 1;
    return t(`reading.periodNames.${found[2]}`, { from: first, to: first + 1, year });
  }
  return name;
}
