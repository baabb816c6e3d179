// Who is signed in: the session's token (in this tab's sessionStorage only, never
// in the address or localStorage), the account and its rights from GET /api/me.
import { reactive } from "vue";

const TOKEN_KEY = "library.session";

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
}

/** Whether the person signed in holds a right (rights named in shared/runtime/rights.py). */
export function can(right) {
  return Boolean(session.account && session.account.rights.includes(right));
}

export function hasRole(role) {
  return Boolean(session.account && session.account.roles.includes(role));
}
