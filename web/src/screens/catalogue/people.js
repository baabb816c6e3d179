// Names for the people a copy's history mentions: readers by card number
// (GET /api/cards/<id>, with patrons.read) and staff by the username their
// events carry (GET /api/accounts/<username>, with accounts.manage; the person
// signed in is known already). Looked up once per tab; a name that cannot be
// found is shown as its number or username.
import { get } from "../../api.js";
import { can, session } from "../../session.js";

const readers = new Map();
const staff = new Map();

function lookup(cache, key, load) {
  if (!cache.has(key)) cache.set(key, load().catch(() => null));
  return cache.get(key);
}

/** The reader's card ({name, class_name, ...}) or null. */
export function readerCard(patronId) {
  if (!patronId || !can("patrons.read")) return Promise.resolve(null);
  return lookup(readers, patronId, () => get(`/api/cards/${encodeURIComponent(patronId)}`));
}

/** A staff member's name from an event's actor, or null when it cannot be told. */
export function staffName(actor) {
  const username = actor && actor.username;
  if (!username) return Promise.resolve(null);
  if (session.account && session.account.username === username) return Promise.resolve(session.account.name);
  if (username.includes(":") || !can("accounts.manage")) return Promise.resolve(null);
  return lookup(staff, username, () => get(`/api/accounts/${encodeURIComponent(username)}`).then((a) => a.name));
}
