// What the desk keeps while its tabs change: its campus, the reader being served
// and this session's results (one line per scan, newest first), and the desk's
// work itself: lend, return and renew, each sent at once when a code is scanned.
//
// A line keeps what to say (a catalogue key and its values), not the words, so a
// switch of language rewords every line. A refusal is worded from its code
// (problems.json), sharpened where the desk knows more than the server says: the
// reader's limit, the campus the book belongs to, a renewal of an overdue book.
// After each command the reader is asked again; the API client sends the command's
// positions (X-Read-After), so the answer already has the book: no sleep, no poll.
// A librarian (loans.manage) also declares a reader's book lost and takes the payment
// (a receipt is shown); the desk reserves a title for the reader at its campus.
// Offline (no answer from the server): a lend or a return is kept in this browser
// (../../offline/) and its line says 待同步 until it is sent and answered; a card
// scanned then cannot be checked, so the books are lent to the card number as
// scanned and the rules are checked when the scans are sent.
import { reactive } from "vue";
import { i18n, formatDate, formatMoney } from "../../i18n.js";
import { get, post, commandId } from "../../api.js";
import { describe } from "../../errors.js";
import { session, hasRole } from "../../session.js";
import { SOUNDS } from "./sounds.js";
import { lost, mustQueue, onSynced, queueScan, unreachable } from "../../offline/sync.js";

export const CAMPUSES = ["north", "south"];
const CAMPUS_KEY = "library.desk.campus";
const MAX_LINES = 300;
let lineNumber = 0;
let readerAsk = 0;
let targetDue = false; // the reader's target is to be asked with her next answer

export const desk = reactive({
  owner: null, // whose session the desk's state is (another person starts afresh)
  chosenCampus: localStorage.getItem(CAMPUS_KEY),
  results: [],
  patronId: null,
  offlineReader: null, // the card number scanned while offline: not checked, books lent to it
  reader: null, // GET /api/patrons/<id>/loans: {patron, loans, unpaid, reservations, returned}
  readerError: null, // a message, when the card could not be shown
  readerLoading: false,
  target: null, // the reader's term target: {kind, target, count, short, met}
  receipts: [], // the payments taken from the reader shown, newest first
});

/** Start afresh when someone else signs in at this browser tab. */
export function claimDesk() {
  const me = session.account ? session.account.username : null;
  if (desk.owner === me) return;
  desk.owner = me;
  desk.results.splice(0);
  clearReader();
}

/** An assistant works the desk of her own campus; a librarian chooses hers. */
export function campusFixed() {
  return Boolean(session.account && session.account.campus && !hasRole("librarian"));
}

export function deskCampus() {
  if (campusFixed()) return session.account.campus;
  if (CAMPUSES.includes(desk.chosenCampus)) return desk.chosenCampus;
  return (session.account && session.account.campus) || CAMPUSES[0];
}

export function chooseCampus(campus) {
  desk.chosenCampus = campus;
  localStorage.setItem(CAMPUS_KEY, campus);
}

// ------------------------------------------------------------------ words

/** A line's message in the current language: {key, params} or {text}. Values that are
 * {key} are worded too, {date} and {money} formatted, so a line follows the language
 * switch. */
export function say(message) {
  if (!message) return "";
  if (message.text) return message.text;
  const { t } = i18n.global;
  const params = {};
  for (const [name, value] of Object.entries(message.params || {})) {
    if (value && typeof value === "object" && value.key) params[name] = t(value.key, value.params || {});
    else if (value && typeof value === "object" && "date" in value) params[name] = formatDate(value.date);
    else if (value && typeof value === "object" && "money" in value) params[name] = formatMoney(value.money);
    else params[name] = value;
  }
  return t(message.key, params);
}

function campusWord(campus) {
  return { key: `common.campus.${campus}` };
}

/**
 * Why the desk could not do it, as a message. `what` is the field scanned: "card",
 * "copy" (lend, return, renew by barcode) or "loan" (renew from the reader's list).
 */
export function refusal(error, what, doing) {
  const code = error && error.code;
  const fields = (error && error.errors) || {};
  if (!code && (error.status === 404 || error.status === 400)) {
    if (what === "card" || fields.patron_id) return { key: "problems.no_card" };
    if (what === "loan") return { key: "problems.no_such_loan" };
    if (what === "copy" && (error.status === 404 || fields.barcode)) return { key: "problems.unknown_copy" };
  }
  if (code === "loan_limit" && desk.reader) {
    const { patron, loans } = desk.reader;
    return {
      key: "desk.refusals.loanLimit",
      params: { kind: { key: `desk.reader.kinds.${patron.kind}` }, count: loans.length },
    };
  }
  if (code === "wrong_campus" && doing === "lend") {
    const home = CAMPUSES.find((campus) => campus !== deskCampus());
    return { key: "desk.refusals.wrongCampus", params: { campus: campusWord(home) } };
  }
  if (code === "overdue" && doing === "renew") return { key: "desk.refusals.renewOverdue" };
  if (code && i18n.global.te(`problems.${code}`)) return { key: `problems.${code}` };
  return { text: describe(error) };
}

// ------------------------------------------------------------------ results

function addLine(kind, barcode) {
  desk.results.unshift({ id: ++lineNumber, kind, barcode, outcome: "pending", message: null, notes: [], at: Date.now() });
  if (desk.results.length > MAX_LINES) desk.results.pop();
  return desk.results[0]; // the reactive line: changes to it show at once
}

function done(line, outcome, message, notes = []) {
  line.outcome = outcome;
  line.message = message;
  line.notes = notes;
  SOUNDS[outcome === "ok" ? "ok" : outcome === "refused" ? "refused" : "notice"]();
}

function refused(line, error, what, doing) {
  done(line, "refused", refusal(error, what, doing));
}

// ------------------------------------------------------------------ the reader

export function clearReader() {
  readerAsk += 1;
  targetDue = false;
  desk.patronId = null;
  desk.offlineReader = null;
  desk.reader = null;
  desk.readerError = null;
  desk.readerLoading = false;
  desk.target = null;
  desk.receipts.splice(0);
}

/**
 * The reader's progress toward this term's reading target (GET
 * /api/patrons/<id>/target): a student's books read (borrowed and brought back), a
 * teacher's loans. A class book corner has none, and a holiday no term: no line then.
 */
export async function showTarget(patron) {
  if (patron.kind === "class_corner") {
    desk.target = null;
    return;
  }
  try {
    const answer = await get(`/api/patrons/${encodeURIComponent(patron.patron_id)}/target`);
    if (!desk.reader || desk.reader.patron.patron_id !== patron.patron_id) return;
    desk.target = {
      kind: answer.kind,
      target: answer.target,
      count: answer.count,
      short: Math.max(0, answer.target - answer.count),
      met: answer.on_target,
    };
  } catch {
    desk.target = null; // the desk works without it
  }
}

/**
 * Show the reader with this card number (its card, loans, unpaid losses and
 * reservations in one answer), and her term target. `again`: the same reader asked
 * again after a change, so what is shown stays while the answer comes (her target,
 * counted from books brought back or a teacher's loans, is asked again only
 * `withTarget`: after a return, a teacher's lend). Answers that arrive after a newer
 * question are dropped; the newer one then asks for the target if either wanted it.
 */
export async function showReader(patronId, { again = false, withTarget = false } = {}) {
  const ask = ++readerAsk;
  targetDue = targetDue || withTarget || !again;
  desk.patronId = patronId;
  if (!again) {
    desk.reader = null;
    desk.readerError = null;
    desk.target = null;
    desk.receipts.splice(0);
  }
  desk.readerLoading = true;
  try {
    const answer = await get(`/api/patrons/${encodeURIComponent(patronId)}/loans`);
    if (ask !== readerAsk) return desk.reader;
    desk.reader = answer;
    desk.readerError = null;
    desk.offlineReader = null;
    if (targetDue) {
      targetDue = false;
      showTarget(answer.patron);
    }
    return answer;
  } catch (error) {
    if (ask !== readerAsk) return desk.reader;
    if (unreachable(error)) {
      lost();
      if (!desk.reader) desk.offlineReader = patronId; // lend to the card as scanned
      return null;
    }
    if (!again) {
      desk.reader = null;
      desk.readerError = refusal(error, "card");
      SOUNDS.refused();
    }
    return null;
  } finally {
    if (ask === readerAsk) desk.readerLoading = false;
  }
}

function askAgainFor(patronId, withTarget = false) {
  if (patronId && desk.patronId === patronId) return showReader(patronId, { again: true, withTarget });
  return Promise.resolve(null);
}

/** Whether an event pushed by the library concerns the reader shown (her card, or a
 * copy among her loans), so her panel is asked again. */
export function concernsReader(envelope) {
  if (!desk.patronId || !envelope) return false;
  const data = envelope.data || envelope;
  if (data.patron_id === desk.patronId) return true;
  const barcodes = new Set(((desk.reader && desk.reader.loans) || []).map((loan) => loan.barcode));
  return Boolean(data.barcode && barcodes.has(data.barcode));
}

export function refreshReader({ withTarget = false } = {}) {
  return desk.patronId ? showReader(desk.patronId, { again: true, withTarget }) : Promise.resolve(null);
}

// ------------------------------------------------------------------ the desk's work

// ------------------------------------------------------------------ offline

/** Keep a scan in this browser for later (its line: 待同步). */
async function queueLine(line, scan, notes = []) {
  try {
    const entry = await queueScan({ ...scan, campus: deskCampus(), by: session.account && session.account.username });
    line.commandId = entry.command_id;
    done(line, "queued", { key: "offline.line.queued" }, notes);
  } catch (error) {
    done(line, "refused", { key: "offline.line.notKept", params: { reason: String(error && error.message) } });
  }
}

// The fate of each scan kept, once sent: its line (if this page made it) says so, and
// the reader shown is asked again (once for a batch).
let readerDue = false;
onSynced((entry, fate) => {
  if (!readerDue && desk.reader) {
    readerDue = true;
    Promise.resolve().then(() => {
      readerDue = false;
      refreshReader();
    });
  }
  const line = desk.results.find((one) => one.commandId === entry.command_id);
  if (!line) return;
  if (fate.applied) {
    const due = fate.applied.due_on;
    const key = entry.action === "lend" ? (due ? "offline.line.lent" : "offline.line.lentNoDue") : "offline.line.returned";
    line.outcome = "ok";
    line.message = { key, params: due ? { due: { date: due } } : {} };
    line.notes = entry.condition === "damaged" ? [{ key: "desk.results.damaged" }] : [];
  } else {
    line.outcome = "refused";
    line.message = { key: "offline.line.conflict", params: { reason: conflictReason(fate.conflict) } };
  }
});

/** A conflict's reason in words: its refusal code worded (problems.json), else the server's. */
export function conflictReason(conflict) {
  const code = conflict && conflict.code;
  if (code && i18n.global.te(`problems.${code}`)) return { key: `problems.${code}` };
  return { key: "offline.conflicts.unknownReason", params: { code: code || "", reason: (conflict && conflict.reason) || "" } };
}

// ------------------------------------------------------------------ the desk's work

/** Lend one scanned copy to the reader shown (or, offline, to the card as scanned). */
export async function lend(barcode) {
  const patronId = desk.reader ? desk.reader.patron.patron_id : desk.offlineReader;
  if (!patronId) return;
  const line = addLine("lend", barcode);
  if (!desk.reader || mustQueue()) {
    await queueLine(line, { action: "lend", patron_id: patronId, barcode });
    return;
  }
  try {
    const lent = await post("/api/loans", {
      patron_id: patronId,
      barcode,
      campus: deskCampus(),
      command_id: commandId(),
    });
    done(line, "ok", {
      key: "desk.results.lent",
      params: { title: lent.title || barcode, due: { date: lent.due_on } },
    });
    askAgainFor(patronId, lent.patron_kind === "teacher"); // a teacher's target counts loans
  } catch (error) {
    if (unreachable(error)) {
      lost();
      await queueLine(line, { action: "lend", patron_id: patronId, barcode });
      return;
    }
    if (error.code === "loan_limit") await askAgainFor(patronId); // her loans: the limit
    refused(line, error, "copy", "lend");
  }
}

/** What the desk knows of a copy (its title), for a line whose answer does not say. */
async function titleOf(barcode) {
  try {
    return (await get(`/api/copies/${encodeURIComponent(barcode)}/availability`)).title || barcode;
  } catch {
    return barcode;
  }
}

async function nameOf(patronId) {
  if (desk.reader && desk.reader.patron.patron_id === patronId) return desk.reader.patron.name;
  try {
    return (await get(`/api/cards/${encodeURIComponent(patronId)}`)).name;
  } catch {
    return patronId;
  }
}

/** Take one scanned copy back, intact or damaged (offline too: the damage is kept with
 * the scan and recorded when it is sent). */
export async function giveBack(barcode, damaged) {
  const line = addLine("return", barcode);
  const condition = damaged ? "damaged" : "ok";
  const offlineNotes = damaged ? [{ key: "offline.line.damagedQueued" }] : [];
  if (mustQueue()) {
    await queueLine(line, { action: "return", barcode, condition }, offlineNotes);
    return;
  }
  let back;
  try {
    back = await post("/api/returns", {
      barcode,
      condition,
      campus: deskCampus(),
      command_id: commandId(),
    });
  } catch (error) {
    if (unreachable(error)) {
      lost();
      await queueLine(line, { action: "return", barcode, condition }, offlineNotes);
      return;
    }
    refused(line, error, "copy", "return");
    return;
  }
  const [title, name] = await Promise.all([
    back.title || titleOf(barcode),
    back.name || back.patron_name || nameOf(back.patron_id),
  ]);
  const notes = [];
  if (back.overdue_days > 0) notes.push({ key: "desk.results.overdueDays", params: { days: back.overdue_days } });
  if (back.condition === "damaged") notes.push({ key: "desk.results.damaged" });
  let outcome = "ok";
  const home = back.home_campus;
  if (home && home !== back.campus) {
    outcome = "notice";
    notes.push({ key: "desk.results.transit", params: { campus: campusWord(home) } });
  }
  const held = back.held_for || back.reserved_for;
  if (held) {
    outcome = "notice";
    const holder = typeof held === "string" ? held : held.name || held.patron_id;
    notes.push({ key: "desk.results.held", params: { name: holder } });
  }
  done(line, outcome, { key: "desk.results.returned", params: { title, name } }, notes);
  askAgainFor(back.patron_id, true);
}

/** Renew a loan: by scanning its copy (`barcode`) or from the reader's list (`loan`). */
export async function renew({ barcode, loan }) {
  const line = addLine("renew", barcode || loan.barcode);
  let renewed;
  try {
    renewed = loan
      ? await post(`/api/loans/${encodeURIComponent(loan.loan_id)}/renew`, { campus: deskCampus(), command_id: commandId() })
      : await post("/api/renewals", { barcode, campus: deskCampus(), command_id: commandId() });
  } catch (error) {
    refused(line, error, loan ? "loan" : "copy", "renew");
    return;
  }
  const known = ((desk.reader && desk.reader.loans) || []).find((l) => l.loan_id === renewed.loan_id);
  const title = renewed.title || (loan && loan.title) || (known && known.title) || (await titleOf(renewed.barcode));
  done(line, "ok", { key: "desk.results.renewed", params: { title, due: { date: renewed.due_on } } });
  askAgainFor(renewed.patron_id);
}

// ------------------------------------------------------------------ losses and reservations

/** The price the reader pays for a copy she lost (照价赔偿): circulation's price of it. */
export async function priceOf(barcode) {
  return (await get(`/api/copies/${encodeURIComponent(barcode)}/availability`)).price;
}

/** Declare one of the reader's loans lost (a librarian: loans.manage); she then owes
 * its price, shown in her unpaid losses. The receipt, or null when refused. */
export async function declareLost(loan) {
  const line = addLine("lost", loan.barcode);
  try {
    const lost = await post(`/api/loans/${encodeURIComponent(loan.loan_id)}/lost`, { command_id: commandId() });
    done(line, "notice", {
      key: "desk.results.lost",
      params: { title: loan.title || loan.barcode, amount: { money: lost.replacement_cost } },
    });
    await askAgainFor(lost.patron_id);
    return lost;
  } catch (error) {
    refused(line, error, "loan", "lost");
    return null;
  }
}

/** Take a payment for a lost book (all that is owed, or `amount`: a part of it) and
 * keep its receipt (收据: its number, amount, title, day, balance still owed, who paid
 * and who took it). The receipt, or null. */
export async function takePayment(loss, amount = loss.balance) {
  const line = addLine("payment", loss.barcode);
  const payer = desk.reader && desk.reader.patron.patron_id === loss.patron_id ? desk.reader.patron.name : loss.patron_id;
  try {
    const paid = await post(`/api/loans/${encodeURIComponent(loss.loan_id)}/payment`, {
      amount,
      command_id: commandId(),
    });
    const receipt = {
      id: `${paid.loan_id}-${++lineNumber}`,
      loan_id: paid.loan_id,
      patron_id: paid.patron_id,
      title: paid.title || loss.title || loss.barcode,
      amount: paid.amount,
      receipt_no: paid.receipt_no,
      balance: paid.balance,
      on: paid.paid_on,
      name: payer,
      by: (session.account && session.account.name) || "",
    };
    if (desk.patronId === paid.patron_id) desk.receipts.unshift(receipt);
    done(line, "ok", receiptMessage(receipt));
    await askAgainFor(paid.patron_id);
    return receipt;
  } catch (error) {
    refused(line, error, "loan", "payment");
    return null;
  }
}

/** Settle a lost book with a new copy of its title the reader brought (以新书赔偿):
 * the catalog catalogues `newBarcode` in its place (none: under a barcode it issues, named
 * in the desk's line for the label). The answer, or null when refused. */
export async function replaceLost(loss, newBarcode) {
  const line = addLine("payment", newBarcode || loss.barcode); // a loss settled: the desk's 赔款 line
  try {
    const replaced = await post(`/api/loans/${encodeURIComponent(loss.loan_id)}/replacement`, {
      ...(newBarcode ? { new_barcode: newBarcode } : {}), // none: the catalog issues one
      command_id: commandId(),
    });
    done(line, "ok", {
      key: "losses.replaced",
      params: { title: replaced.title || loss.title || loss.barcode, barcode: replaced.new_barcode },
    });
    await askAgainFor(replaced.patron_id);
    return replaced;
  } catch (error) {
    refused(line, error, "copy", "replacement");
    return null;
  }
}

/** A receipt's words: 收据：who paid for which book, how much, on which day, taken by whom. */
export function receiptMessage(receipt) {
  return {
    key: "desk.receipt.line",
    params: {
      name: receipt.name,
      title: receipt.title,
      amount: { money: receipt.amount },
      on: { date: receipt.on },
      by: receipt.by,
    },
  };
}

/** Reserve a title (found by a search: {isbn, title}) for the reader shown, at this
 * desk's campus (a teacher's reservation, 预约). The receipt, or null when refused. */
export async function reserveFor(title) {
  if (!desk.reader) return null;
  const patron = desk.reader.patron;
  const line = addLine("reserve", title.isbn);
  try {
    const reserved = await post("/api/reservations", {
      patron_id: patron.patron_id,
      isbn: title.isbn,
      campus: deskCampus(),
      command_id: commandId(),
    });
    done(line, "ok", {
      key: "desk.results.reserved",
      params: { title: title.title, name: patron.name, campus: campusWord(reserved.campus) },
    });
    await askAgainFor(patron.patron_id);
    return reserved;
  } catch (error) {
    refused(line, error, "title", "reserve");
    return null;
  }
}
