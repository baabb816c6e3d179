// Words for what went wrong, in the current language: the server sends a code
// (a refusal's `code`, or the problem's type), the catalogue words it
// (locales/<lang>/problems.json). The server's English `detail` is shown only
// when the catalogue has no entry for the code.
import { i18n } from "./i18n.js";

export function describe(error) {
  const { t, te } = i18n.global;
  if (!error) return "";
  const code = error.code || (error.problem && error.problem.type && error.problem.type.split("/").pop());
  if (code && te(`problems.${code}`)) return t(`problems.${code}`, error.problem || {});
  if (error.status === 0) return t("problems.unreachable");
  if (error.status === 400) return t("problems.bad_request");
  if (error.status === 403) return t("problems.missing_right");
  if (error.status === 404) return t("problems.not_found");
  if (error.status >= 500) return t("problems.unavailable");
  return error.message;
}

/** The messages of a 400's offending fields: {field: text}, worded where the catalogue can. */
export function fieldErrors(error) {
  const out = {};
  for (const [field, messages] of Object.entries((error && error.errors) || {})) {
    out[field] = Array.isArray(messages) ? messages.join(" ") : String(messages);
  }
  return out;
}
