// How the school names its classes, grades, campuses and people's roles, in the
// current language. The API sends codes (G7-3, G7, north, librarian); the words
// come from common.json ("classes", "campus", "roles"), so every screen writes a
// class the same way: 初一(3)班 in Chinese, G7-3 in English. A code the catalogue
// does not know is shown as the API gave it.
//
// parseClass reads a class as a school office writes it (初一(3)班, 七年级3班,
// 高二（5）班, G7-3) and gives its code: an input format, like the API's, so its
// words are here rather than in the catalogue.
import { i18n } from "./i18n.js";

/** The school's campuses, as the API names them. */
export const CAMPUSES = ["north", "south"];

const GRADE_CODE = /^G(\d{1,2})$/;
const CLASS_CODE = /^G(\d{1,2})-(\d{1,2})$/;
const STAFF = "(staff)"; // the API's "class" of teachers' loans

const WRITTEN_GRADES = {
  一年级: 1, 二年级: 2, 三年级: 3, 四年级: 4, 五年级: 5, 六年级: 6, 七年级: 7, 八年级: 8, 九年级: 9,
  初一: 7, 初二: 8, 初三: 9, 高一: 10, 高二: 11, 高三: 12,
}; // prettier-ignore
const WRITTEN_CLASS = new RegExp(`^(${Object.keys(WRITTEN_GRADES).join("|")})\\s*[（(]?\\s*(\\d{1,2})\\s*[）)]?\\s*班$`);

function word(key, fallback, values = {}) {
  const { t, te } = i18n.global;
  return te(key) ? t(key, values) : fallback;
}

/** A grade as the school says it: G7 is 初一 (Grade 7 in English). */
export function formatGrade(code) {
  if (!code) return "";
  const found = GRADE_CODE.exec(code);
  return found ? word(`common.classes.grades.G${Number(found[1])}`, code) : code;
}

/** A class as the school says it: G7-3 is 初一(3)班 (G7-3 in English); (staff) is 教职工. */
export function formatClass(code) {
  if (!code) return "";
  if (code === STAFF) return word("common.classes.staff", code);
  const found = CLASS_CODE.exec(code);
  if (!found) return code;
  const level = Number(found[1]);
  if (!i18n.global.te(`common.classes.grades.G${level}`)) return code;
  return word("common.classes.name", code, { grade: formatGrade(`G${level}`), level, number: Number(found[2]) });
}

/** The code of a class as people write it (初一(3)班, 七年级3班, G7-3: G7-3); null if it is none. */
export function parseClass(text) {
  const written = String(text ?? "").trim();
  const code = /^G(\d{1,2})-(\d{1,2})$/i.exec(written);
  if (code) return `G${Number(code[1])}-${Number(code[2])}`;
  const found = WRITTEN_CLASS.exec(written);
  return found ? `G${WRITTEN_GRADES[found[1]]}-${Number(found[2])}` : null;
}

/** A campus worded: north is 北区; blank for none. */
export function campusName(code) {
  return code ? word(`common.campus.${code}`, code) : "";
}

/** A person's role worded: assistant is 学生图书管理员; blank for none. */
export function roleName(role) {
  return role ? word(`common.roles.${role}`, role) : "";
}
