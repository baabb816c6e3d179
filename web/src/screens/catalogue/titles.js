// Search answers as one line per title, with how many copies each campus holds
// (not weeded) and how many of them can be lent now. GET /api/books answers a
// page of copies (`items`) and of their titles (`titles`, with counts per
// campus); an answer without `titles` (an older gateway) is grouped here by ISBN.
import { CAMPUSES } from "../../school.js";

const isbnKey = (isbn) => String(isbn || "").replace(/[\s-]/g, "").toUpperCase();

function fromTitles(reply) {
  const reference = new Set((reply.items || []).filter((c) => c.reference_only).map((c) => isbnKey(c.isbn)));
  return reply.titles.map((line) => {
    const counts = Object.fromEntries(
      CAMPUSES.map((campus) => [campus, { held: line.copies[campus] || 0, available: line.available[campus] || 0 }]),
    );
    return {
      isbn: line.isbn,
      title: line.title,
      author: line.author,
      classification: line.classification,
      reference_only: reference.has(isbnKey(line.isbn)),
      counts,
      held: CAMPUSES.reduce((sum, campus) => sum + counts[campus].held, 0),
      copies: null, // asked for when the line is opened
    };
  });
}

function fromCopies(reply) {
  const byIsbn = new Map();
  for (const copy of reply.items || []) {
    const key = isbnKey(copy.isbn);
    let title = byIsbn.get(key);
    if (!title) {
      const counts = Object.fromEntries(CAMPUSES.map((campus) => [campus, { held: 0, available: 0 }]));
      title = { ...copy, reference_only: false, counts, held: 0, copies: [] };
      byIsbn.set(key, title);
    }
    title.copies.push(copy);
    if (copy.reference_only) title.reference_only = true;
    const counts = title.counts[copy.campus];
    if (counts && copy.status !== "weeded") {
      counts.held += 1;
      title.held += 1;
      if (copy.status === "on_shelf" && !copy.reference_only) counts.available += 1;
    }
  }
  return [...byIsbn.values()];
}

/** [{isbn, title, author, classification, reference_only, counts: {north: {held, available}, ...}, held, copies}] */
export function titlesOf(reply) {
  if (!reply) return [];
  return Array.isArray(reply.titles) ? fromTitles(reply) : fromCopies(reply);
}
