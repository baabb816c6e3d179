// The desk's sounds, so a librarian looking at the pile of books (not the screen)
// hears how each scan went: a short high beep when it was done, a low double buzz
// when it was refused, two rising notes when the book needs her attention (in
// transit home, held for a reservation). Made with WebAudio oscillators: no sound
// files, nothing fetched. A scan's Enter key is the user gesture that lets the
// browser play; where audio is unavailable the desk simply stays silent.
const STORAGE_KEY = "library.desk.sound";
let context = null;

export function soundOn() {
  return localStorage.getItem(STORAGE_KEY) !== "off";
}

export function setSound(on) {
  localStorage.setItem(STORAGE_KEY, on ? "on" : "off");
}

function audio() {
  if (!soundOn()) return null;
  try {
    if (!context) {
      const Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) return null;
      context = new Context();
    }
    if (context.state === "suspended") context.resume().catch(() => {});
    return context;
  } catch {
    return null;
  }
}

/** One note: `frequency` Hz from `start` s (after now) for `length` s, softly shaped. */
function tone(ctx, frequency, start, length, { wave = "sine", volume = 0.2 } = {}) {
  const at = ctx.currentTime + start;
  const oscillator = ctx.createOscillator();
  const gain = ctx.createGain();
  oscillator.type = wave;
  oscillator.frequency.setValueAtTime(frequency, at);
  gain.gain.setValueAtTime(0.0001, at);
  gain.gain.exponentialRampToValueAtTime(volume, at + 0.01);
  gain.gain.exponentialRampToValueAtTime(0.0001, at + length);
  oscillator.connect(gain).connect(ctx.destination);
  oscillator.start(at);
  oscillator.stop(at + length + 0.02);
}

function play(notes) {
  const ctx = audio();
  if (!ctx) return;
  try {
    for (const [frequency, start, length, options] of notes) tone(ctx, frequency, start, length, options);
  } catch {
    // a desk without sound still works
  }
}

/** Done: one short high beep. */
export function beepDone() {
  play([[1568, 0, 0.09]]);
}

/** Refused: a low double buzz. */
export function buzzRefused() {
  const buzz = { wave: "square", volume: 0.12 };
  play([
    [150, 0, 0.16, buzz],
    [150, 0.22, 0.16, buzz],
  ]);
}

/** Done, but look: two rising notes (in transit home, held for a reader). */
export function chimeNotice() {
  play([
    [880, 0, 0.1],
    [1320, 0.12, 0.14],
  ]);
}

export const SOUNDS = { ok: beepDone, refused: buzzRefused, notice: chimeNotice };
