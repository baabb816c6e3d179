// Words for a form's refusals, shared by the catalogue and cards screens: a 400's
// offending fields worded by field from the screen's own catalogue
// (<area>.errors.<field>; a field left blank: <area>.errors.blank.<field>
// or <area>.errors.required), a refusal's code from <area>.problems.<code>, and anything else by
// errors.js. The server's own text is shown only when no words are catalogued.
import { describe, fieldErrors } from "../../errors.js";
import { i18n } from "../../i18n.js";

function blank(value) {
  return value === undefined || value === null || String(value).trim() === "";
}

/** {field: words} for a 400's fields; `values` tells a blank field from a wrong one. */
export function wordFields(error, area, values = {}) {
  const { t, te } = i18n.global;
  const out = {};
  for (const [field, text] of Object.entries(fieldErrors(error))) {
    if (blank(values[field]) && te(`${area}.errors.blank.${field}`)) {
      out[field] = t(`${area}.errors.blank.${field}`);
    } else if (blank(values[field]) && te(`${area}.fields.${field}`)) {
      out[field] = t(`${area}.errors.required`, { field: t(`${area}.fields.${field}`) });
    } else if (te(`${area}.errors.${field}`)) {
      out[field] = t(`${area}.errors.${field}`);
    } else {
      out[field] = text;
    }
  }
  return out;
}

/** A refusal or failure in words: the area's own words for its codes, else errors.js. */
export function wordProblem(error, area) {
  const { t, te } = i18n.global;
  if (!error) return "";
  if (error.code && te(`${area}.problems.${error.code}`)) return t(`${area}.problems.${error.code}`);
  if (error.status === 404 && te(`${area}.problems.not_found`)) return t(`${area}.problems.not_found`);
  if (error.status === 400 && error.errors && te(`${area}.errors.fix`)) return t(`${area}.errors.fix`);
  return describe(error);
}

/** The other campus: where a transfer goes. */
export function otherCampus(campus) {
  return campus === "north" ? "south" : "north";
}
