// Small wordings the desk shares between its panels.
import { i18n } from "../../i18n.js";

/** A class as the school says it: G7-3 is 初一（3）班 (desk.grades in the catalogue). */
export function className(value) {
  if (!value) return "";
  const { t, te } = i18n.global;
  const match = /^G(\d{1,2})-(\w+)$/.exec(value);
  if (!match || !te(`desk.grades.${match[1]}`)) return value;
  return t("desk.className", { grade: t(`desk.grades.${match[1]}`), number: match[2] });
}
