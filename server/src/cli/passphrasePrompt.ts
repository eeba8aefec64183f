// The passphrase of a key, asked on the terminal when a builder accepts that key: the same for
// `ping` and `build`. Typed without echo, checked against the key before it is used (so a typo
// is asked again, up to 3 times, like ssh), asked once per key however many builders use it,
// and kept only in memory. Without a terminal nothing can be typed: the prompt says so, with
// what to do, and declines at once, so the command fails with that cause instead of hanging.
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { utils } from 'ssh2';
import type { AskPassphrase } from '../ssh/keyring';

export interface PassphrasePrompt {
  ask: AskPassphrase;
  /** Keys that needed a passphrase when there was no terminal to type it. */
  readonly untypable: ReadonlySet<string>;
}

const attempts = 3;

/** One line from the terminal, not echoed; undefined on Ctrl+C or Ctrl+D. */
function readHidden(question: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    // readline echoes what is typed to its output: give it one that writes nothing.
    const silent = new Writable({ write: (_chunk, _encoding, done) => done() });
    const rl = createInterface({ input: process.stdin, output: silent, terminal: true });
    let answered = false;
    const finish = (answer: string | undefined) => {
      if (answered) return;
      answered = true;
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    };
    process.stderr.write(question);
    rl.question('', (answer) => finish(answer));
    rl.on('close', () => finish(undefined));
    // In raw mode Ctrl+C reaches readline, not the process: pass it on (build then cancels).
    rl.on('SIGINT', () => {
      finish(undefined);
      process.kill(process.pid, 'SIGINT');
    });
  });
}

function opens(keyFile: string, passphrase: string): boolean {
  try {
    const parsed = utils.parseKey(readFileSync(keyFile), passphrase);
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    return key !== undefined && !(key instanceof Error) && key.isPrivateKey();
  } catch {
    return false;
  }
}

export function passphrasePrompt(terminal: boolean = process.stdin.isTTY === true): PassphrasePrompt {
  const answers = new Map<string, Promise<string | undefined>>();
  const untypable = new Set<string>();
  // Probes run in parallel: one question on the terminal at a time.
  let queue: Promise<unknown> = Promise.resolve();

  const askUser = async (keyFile: string): Promise<string | undefined> => {
    if (!terminal) {
      untypable.add(keyFile);
      process.stderr.write(
        `nix-builders: the key ${keyFile} has a passphrase and there is no terminal to ask for it. Load the key into ssh-agent first (ssh-add ${keyFile}), or run nix-builders in a terminal.\n`,
      );
      return undefined;
    }
    let last: string | undefined;
    for (let attempt = 0; attempt < attempts; attempt++) {
      last = await readHidden(`Passphrase for ${keyFile} (not shown, not stored): `);
      if (last === undefined || opens(keyFile, last)) return last;
      process.stderr.write(`That passphrase does not open ${keyFile}.\n`);
    }
    // The login then fails saying the passphrase given does not open the key.
    return last;
  };

  return {
    untypable,
    ask: (keyFile) => {
      let answer = answers.get(keyFile);
      if (answer === undefined) {
        answer = queue.then(() => askUser(keyFile));
        queue = answer;
        answers.set(keyFile, answer);
      }
      return answer;
    },
  };
}
