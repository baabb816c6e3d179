// How the calendar's codes read: a weekday number, a period (a lesson number or a
// time as the school wrote it), why a day is closed, where an entry came from.
import { i18n } from "../../i18n.js";

/** 1..7 (Monday..Sunday) as the school says it: 星期二. */
export function weekdayName(number) {
  return i18n.global.t(`calendar.weekdays.${number}`);
}

/** A lesson number as 第3节; a time (12:00-12:50) as written. */
export function periodName(period) {
  return /^\d+$/.test(period || "") ? i18n.global.t("calendar.lesson", { n: period }) : period;
}

/** Why the library is shut: a holiday's own name, or the weekend in words. */
export function closedReason(reason) {
  return reason === "weekend" ? i18n.global.t("calendar.weekend") : reason;
}

export function sourceName(source) {
  const { t, te } = i18n.global;
  return te(`calendar.sources.${source}`) ? t(`calendar.sources.${source}`) : source;
}
