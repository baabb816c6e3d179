// How the books of record are worded: a column's header, a cell's value (dates,
// money, campuses, roles, statuses, weeding reasons, classes), a term's name. The
// API sends plain values ("2026-12-04", "12.50", "north", "outdated"); every word
// comes from the catalogue (locales/<lang>/records.json), and a value the catalogue
// does not know is shown as the API gave it. The dashboard words its figures with
// these too.
import { i18n, formatDate, formatMoney } from "../../i18n.js";
import { campusName as campusWord, formatClass, roleName } from "../../school.js";

const MONEY = new Set(["unit_price", "total", "value", "price", "held_value", "added_value", "weeded_value", "amount", "balance"]);
const COUNTS = new Set([
  "copies", "held", "on_loan", "in_repair", "lost", "added", "weeded",
  "transferred_in", "transferred_out", "in_transit", "loans", "readers", "students", "books",
]); // prettier-ignore
const ROLES = new Set(["by_role", "returned_by_role", "repaired_by_role"]);

function word(key, fallback) {
  const { t, te } = i18n.global;
  return te(key) ? t(key) : fallback;
}

/** A column's header: records.columns.<name>, or the API's name. */
export function columnLabel(column) {
  return word(`records.columns.${column}`, column);
}

/** A campus worded; "all" is the whole school's total. */
export function campusName(campus) {
  return campus === "all" ? word("records.ledgers.total", campus) : campusWord(campus);
}

export function weedReason(reason) {
  return reason ? word(`records.weedReasons.${reason}`, reason) : "";
}

/** A CLC letter with its name ("I 文学"); "all" is the total. */
export function classLetter(letter) {
  if (letter === "all") return word("records.ledgers.total", letter);
  return word(`records.clc.${letter}`, letter);
}

export function count(value) {
  return value === null || value === undefined ? "" : i18n.global.n(Number(value), "count");
}

/** A term's name: 2026-autumn is 2026—2027学年第一学期, 2027-spring its second term. */
export function termName(term) {
  const match = /^(\d{4})-(autumn|spring)$/.exec(term || "");
  if (!match) return term || "";
  const year = Number(match[1]);
  const [from, to] = match[2] === "autumn" ? [year, year + 1] : [year - 1, year];
  return i18n.global.t(`records.terms.name.${match[2]}`, { from, to });
}

/** The terms to offer: this school year's and the one before, as the calendar names them. */
export function likelyTerms(today = new Date()) {
  const year = today.getFullYear();
  const month = today.getMonth() + 1;
  // Autumn terms run September to January, spring terms February to July.
  const autumn = month >= 8 ? year : year - 1;
  const current = month >= 8 || month === 1 ? `${autumn}-autumn` : `${year}-spring`;
  const terms = [`${autumn - 1}-autumn`, `${autumn}-spring`, `${autumn}-autumn`, `${autumn + 1}-spring`];
  return { current, terms };
}

/** A cell of a register or ledger, worded by its column. */
export function cell(column, value, kind = "") {
  if (value === null || value === undefined || value === "") return "";
  if (column.endsWith("_on")) return formatDate(value);
  if (MONEY.has(column)) return formatMoney(value);
  if (COUNTS.has(column)) return count(value);
  if (column === "campus") return campusName(value);
  if (ROLES.has(column)) return roleName(value);
  if (column === "reason") return weedReason(value);
  if (column === "class_letter") return classLetter(value);
  if (column === "class_name") return formatClass(value);
  if (column === "entry") return word(`records.entries.${value}`, value);
  if (column === "status") {
    const family = kind === "teacher_reservations" ? "reservationStatus" : "loanStatus";
    return word(`records.${family}.${value}`, word(`records.status.${value}`, value));
  }
  return String(value);
}

/** Whether a column holds figures (right-aligned). */
export function numeric(column) {
  return MONEY.has(column) || COUNTS.has(column);
}

/** The class of a column's cells: figures to the right, short words never broken. */
export function columnClass(column) {
  if (numeric(column)) return "num";
  const short = column.endsWith("_on") || column === "campus" || column === "status" || ROLES.has(column);
  return short ? "nowrap" : "";
}

/** A table's columns for DataTable: worded headers, numbers to the right, cells worded
 * (`kind`: the register, where a column's words depend on it). */
export function wordedColumns(names, kind = "") {
  return names.map((column) => ({
    key: column,
    label: columnLabel(column),
    align: columnClass(column),
    format: (value) => cell(column, value, kind),
  }));
}

/** The API's rows (lists in the order of `names`) as objects keyed by column. */
export function rowObjects(names, rows) {
  return rows.map((row) => Object.fromEntries(names.map((name, index) => [name, row[index]])));
}
