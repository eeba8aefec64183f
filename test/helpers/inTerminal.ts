// Runs a command on a pseudo-terminal (util-linux `script`), as a user at a terminal would, and
// answers its prompts: each time the output matches a prompt, the next answer is typed. For the
// passphrase prompts of the CLI, which read from the terminal without echo and refuse to ask
// when there is none.
import { spawn } from 'node:child_process';
import { shellQuote } from '../../server/src/ssh/remoteCommand';

export interface TerminalRun {
  code: number | null;
  /** Everything the terminal showed, stdout and stderr together (the terminal merges them). */
  output: string;
  /** How many answers were typed. */
  typed: number;
}

export function runInTerminal(
  argv: string[],
  prompt: RegExp,
  answers: string[],
  env: NodeJS.ProcessEnv,
): Promise<TerminalRun> {
  const command = argv.map(shellQuote).join(' ');
  // -e: script exits with the command's code; -f: output as it comes; -q: no "Script started".
  const child = spawn('script', ['-qefc', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env });
  let output = '';
  let typed = 0;
  let seen = 0;
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    const prompts = output.match(new RegExp(prompt.source, 'g'))?.length ?? 0;
    while (seen < prompts) {
      seen++;
      const answer = answers[typed];
      if (answer === undefined) continue;
      typed++;
      // Enter on a terminal is a carriage return.
      child.stdin.write(`${answer}\r`);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output, typed })));
}
