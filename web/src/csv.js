// CSV files the screens save for a spreadsheet: UTF-8 with its byte-order mark and
// lines ending CRLF, so Excel opens the Chinese rightly. A route that offers
// text/csv is saved as the API wrote it (api.js: downloadCsv); a table the API
// gives only as JSON is written here from the rows the screen shows.

/** A field quoted when it holds a comma, a quote or a line break (RFC 4180). */
function quote(value) {
  const text = value === null || value === undefined ? "" : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Rows (arrays of fields; the first the header) as CSV text, each line ended by `newline`. */
export function toCsv(rows, newline = "\r\n") {
  return rows.map((row) => row.map(quote).join(",")).join(newline) + newline;
}

/** Save CSV text as a file named `filename`, with the mark a spreadsheet needs for UTF-8. */
export function saveCsvText(text, filename) {
  const blob = new Blob(["\ufeff", text], { type: "text/csv;charset=utf-8" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(link.href);
}

/** Save rows (the first one the header) as a CSV file for a spreadsheet. */
export function saveCsv(rows, filename) {
  saveCsvText(toCsv(rows), filename);
}
