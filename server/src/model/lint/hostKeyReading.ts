// Column 8 read once per distinct text for the lints: decoding and parsing a key (ssh2 builds a
// PEM and hashes it) was a fifth of opening a 10 000-machine file whose lines carry host keys,
// and the same key is often on several lines (one builder under several users or systems).
// A reading is a function of the text alone, so a kept one is exactly what reading again gives.
import { readHostKeyColumn, type HostKeyReading } from '../hostKey';

/** Enough for every key of a large file; past it the memo starts again (bounded memory). */
const maxKept = 20_000;
const readings = new Map<string, HostKeyReading>();

/** `readHostKeyColumn`, kept by text. The reading is shared: callers must not change it. */
export function hostKeyReading(base64Text: string): HostKeyReading {
  let reading = readings.get(base64Text);
  if (reading === undefined) {
    if (readings.size >= maxKept) readings.clear();
    reading = readHostKeyColumn(base64Text);
    readings.set(base64Text, reading);
  }
  return reading;
}
