// Saving a table the screen shows as a CSV file (UTF-8 with a BOM, so Excel
// opens Chinese text rightly), for lists whose route offers no text/csv.
import { toCsv } from "./roster.js";

export function saveCsv(rows, filename) {
  const blob = new Blob(["\ufeff", toCsv(rows)], { type: "text/csv;charset=utf-8" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  URL.revokeObjectURL(link.href);
}
