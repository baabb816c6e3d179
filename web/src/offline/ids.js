// Ids and times for commands made in the browser. A school LAN over plain http is
// not a secure context: crypto.randomUUID is missing there, so a version 4 UUID is
// built from crypto.getRandomValues (present everywhere) instead.

/** A fresh random UUID (version 4), so that sending a command twice does it once. */
export function uuid() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
  bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const two = (n) => String(n).padStart(2, "0");

/** This moment as ISO 8601 with the desk's own offset ("2026-12-07T09:15:02+08:00"):
 * the server takes the school day from it, so the day is the one the scan happened. */
export function localStamp(when = new Date()) {
  const offset = -when.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  const abs = Math.abs(offset);
  return (
    `${when.getFullYear()}-${two(when.getMonth() + 1)}-${two(when.getDate())}` +
    `T${two(when.getHours())}:${two(when.getMinutes())}:${two(when.getSeconds())}` +
    `${sign}${two(Math.floor(abs / 60))}:${two(abs % 60)}`
  );
}
