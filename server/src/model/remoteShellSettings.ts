// The store settings of an ssh:// or ssh-ng:// URI that Nix writes into the command line it runs
// on the builder, and what of them the builder's shell would read as shell code.
//
// Read from Nix's source (src/libstore/legacy-ssh-store.cc, ssh-store.cc, ssh.cc):
// - 2.8 to 2.19: the command is the string `<remote-program> --serve --write` (ssh://) or
//   `<remote-program> --stdio` (ssh-ng://), `remote-program` pasted in as it is, followed by
//   ` --store <remote-store>` with remote-store single-quoted (`shellEscape`). ssh sends that
//   string to the remote login shell, which runs it: `remote-program=$(cmd)nix-store` runs cmd.
// - 2.20 and later: remote-program is split into words and, with `--serve --write` and
//   `--store <remote-store>`, passed to ssh as separate arguments; ssh joins its arguments
//   with spaces and the remote shell reads the result. Nothing is quoted any more, so both
//   remote-program and remote-store reach the shell as written.
// The other settings stay on this machine: `ssh-key` is ssh's `-i` argument,
// `base64-ssh-public-host-key` goes into a known_hosts file, `compress` is `-C`, and
// `max-connections`/`log-fd` are read by Nix itself.
//
// Values are percent-decoded first (`%20` is a space, `%0a` a newline): Nix 2.8 decodes the
// value only, newer Nix the name too, so both spellings of the name count here.

/** The settings Nix puts into the remote command line. */
const settingsNixRunsInTheShell = ['remote-program', 'remote-store'] as const;

/**
 * What a POSIX shell takes as a plain word, nothing expanded or split: the same set as the
 * quoting function of ssh/remoteCommand.ts. Anything else (whitespace, newline, `$`, backtick,
 * `;|&`, quotes, `<>()`, `*?[]~#!\`) may change what the shell runs.
 */
const plainWordCharacter = /[A-Za-z0-9_@%+=:,./-]/;

export interface SettingInRemoteShell {
  /** `remote-program` or `remote-store`. */
  name: (typeof settingsNixRunsInTheShell)[number];
  /** The value Nix hands the shell (percent-decoded as Nix decodes it). */
  value: string;
  /** Where the value is written, as offsets in the text given. */
  valueStart: number;
  valueEnd: number;
  /** The characters of `value` a shell does not take as plain text, each once, in order. */
  unsafe: string[];
}

/**
 * Nix 2.8's `percentDecode`: `%` and the next two characters read with `std::stoul(…, 16)`
 * (leading spaces and a sign allowed, stops at the first non-hex digit), the byte kept modulo
 * 256; undefined where Nix throws "invalid URI parameter" (then it never opens the store).
 */
export function nixPercentDecode(text: string): string | undefined {
  let decoded = '';
  for (let i = 0; i < text.length;) {
    if (text[i] !== '%') {
      decoded += text[i++];
      continue;
    }
    if (i + 2 >= text.length) return undefined;
    const digits = /^\s*([+-]?)([0-9a-fA-F]+)/.exec(text.slice(i + 1, i + 3));
    if (digits === null) return undefined;
    const value = Number.parseInt(digits[2]!, 16);
    decoded += String.fromCharCode((digits[1] === '-' ? 256 - (value % 256) : value) % 256);
    i += 3;
  }
  return decoded;
}

/** Percent-decoding as newer Nix does it (boost.url): invalid escapes are kept as written. */
function lenientDecode(text: string): string {
  return text.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

function unsafeCharacters(value: string): string[] {
  return [...new Set([...value].filter((c) => !plainWordCharacter.test(c)))];
}

/**
 * The remote-program and remote-store settings of a store URI text (as written in column 1,
 * `ssh://` in front or not), every occurrence, in order. Offsets are in `text`.
 */
export function settingsInRemoteShell(text: string): SettingInRemoteShell[] {
  // Nix cuts the settings off at the first `?` and splits them on `&`.
  const query = text.indexOf('?');
  if (query < 0) return [];
  const found: SettingInRemoteShell[] = [];
  let start = query + 1;
  for (const pair of text.slice(query + 1).split('&')) {
    const pairStart = start;
    start += pair.length + 1;
    const eq = pair.indexOf('=');
    if (eq < 0) continue; // Nix ignores a setting without `=`
    const rawName = pair.slice(0, eq);
    const name = settingsNixRunsInTheShell.find((known) => known === rawName || known === lenientDecode(rawName));
    if (name === undefined) continue;
    const written = pair.slice(eq + 1);
    // What each Nix would hand the shell; a value unsafe to either is unsafe.
    const values = [nixPercentDecode(written), lenientDecode(written)].filter((v): v is string => v !== undefined);
    const unsafe = [...new Set(values.flatMap(unsafeCharacters))];
    const value = values.find((v) => unsafeCharacters(v).length > 0) ?? values[0] ?? written;
    found.push({ name, value, valueStart: pairStart + eq + 1, valueEnd: pairStart + pair.length, unsafe });
  }
  return found;
}

/** The settings of a store URI that would run as shell code on the builder. */
export function shellCodeInStoreSettings(text: string): SettingInRemoteShell[] {
  return settingsInRemoteShell(text).filter((setting) => setting.unsafe.length > 0);
}
