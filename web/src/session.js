// Who is signed in: the session's token (in this tab's sessionStorage only, never
// in the address or localStorage), the account and its rights from GET /api/me.
import { reactive } from "vue";

const TOKEN_KEY = "library.session";
const ACCOUNT_KEY = "library.account"; // the last GET /api/me, for a desk page loaded offline

export const session = reactive({
  token: sessionStorage.getItem(TOKEN_KEY),
  account: null, // {username, name, roles, campus, patron_id?, classes?, rights, expires_at}
});

export function keepToken(token) {
  session.token = token;
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export function forget() {
  keepToken(null);
  session.account = null;
  sessionStorage.removeItem(ACCOUNT_KEY);
}

/** Keep the account just asked for in this tab, so a page loaded with no network
 * (the desk, offline) still knows who works it and what she may do. */
export function keepAccount(account) {
  session.account = account;
  sessionStorage.setItem(ACCOUNT_KEY, JSON.stringify(account));
}

/** The account kept in this tab, or null. */
export function keptAccount() {
  try {
    return JSON.parse(sessionStorage.getItem(ACCOUNT_KEY) || "null");
  } catch {
    return null;
  }
}

/** Whether the person signed in holds a right (rights named in shared/runtime/rights.py). */
export function can(right) {
  return Boolean(session.account && session.account.rights.includes(right));
}

export function hasRole(role) {
  return Boolean(session.account && session.account.roles.includes(role));
}
