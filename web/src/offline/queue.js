// The desk's scans kept in this browser while the server cannot be reached
// (IndexedDB, through idb): each is a command {command_id, at, action, patron_id,
// barcode, condition} with the campus of the desk that scanned it. They survive a reload and
// are kept in the order scanned (an auto-incremented key), so they are sent in that
// order; one leaves the queue only once the server has answered for it.
import { openDB } from "idb";
import { localStamp, uuid } from "./ids.js";

const DATABASE = "library-offline";
const STORE = "scans";
let opened = null;

function database() {
  if (!opened) {
    opened = openDB(DATABASE, 1, {
      upgrade(db) {
        db.createObjectStore(STORE, { keyPath: "seq", autoIncrement: true });
      },
    });
  }
  return opened;
}

/** Keep one scan: `action` "lend" (with `patron_id`) or "return" (with its `condition`,
 * "damaged" when the book came back damaged); answers the entry kept. */
export async function keep({ action, patron_id, barcode, condition, campus, by }) {
  const entry = { command_id: uuid(), at: localStamp(), action, barcode, campus, by: by || null };
  if (action === "lend") entry.patron_id = patron_id;
  if (action === "return" && condition === "damaged") entry.condition = "damaged";
  const db = await database();
  entry.seq = await db.add(STORE, entry);
  return entry;
}

/** Every scan still to be sent, oldest first. */
export async function waiting() {
  return (await database()).getAll(STORE);
}

/** Forget the scans the server has answered for (by their `seq`). */
export async function forget(seqs) {
  const db = await database();
  const tx = db.transaction(STORE, "readwrite");
  await Promise.all([...seqs.map((seq) => tx.store.delete(seq)), tx.done]);
}

/** Keep a scan the server refused as it stands (its `held`: why), so it is not sent again
 * on its own and the librarian sees it until she drops it. */
export async function hold(entry) {
  await (await database()).put(STORE, JSON.parse(JSON.stringify(entry)));
}

/** The body of POST /api/offline for some scans: only the fields of the contract. */
export function asCommand(entry) {
  const command = { command_id: entry.command_id, at: entry.at, action: entry.action, barcode: entry.barcode };
  if (entry.action === "lend") command.patron_id = entry.patron_id;
  if (entry.action === "return" && entry.condition === "damaged") command.condition = "damaged";
  return command;
}
