// `nix-builders`: the command-line face of the same modules the language server uses.
import { formatCheck, runCheck, summary } from './cli/check';
import { chooseMachines } from './cli/machinesOption';
import { runPing } from './cli/ping';
import { outputFormat, parseCommandLine } from './cli/options';
import { extensionVersion } from './version';

const usage = `nix-builders ${extensionVersion}: check, ping and use Nix remote builders

Usage:
  nix-builders check [FILE...] [--nix-version V] [--format text|json]
      Check machines files and nix.conf files as Nix reads them: Nix's own errors and the
      mistakes it lets through. Without FILE, checks the nix.conf chain Nix reads here and
      the machines files its builders setting leads to. Exits 1 when there is an error.
  nix-builders ping [--machines FILE | --builders TEXT] [--ssh-config FILE] [--timeout S]
                    [--format text|json]
      Check every builder over SSH, in parallel, the way Nix will reach it: host key, login,
      Nix on the remote PATH, shell noise, trust, system and features. Without --machines or
      --builders, the builders Nix reads here. Exits 1 when any builder is unusable.
  nix-builders select --system S   show the machine Nix would pick, and why (coming)
  nix-builders build FILE          build a derivation on a remote builder (coming)

Options (the same in every subcommand):
  --nix-version V     follow Nix V's rules (e.g. 2.8, 2.24) instead of the installed Nix's
  --machines FILE     the machines of this file
  --builders TEXT     the machines of this text, as Nix's --builders takes it
  --ssh-config FILE   an ssh config to use instead of ~/.ssh/config (like ssh -F)
  --timeout S         seconds each stage of a check may take (default 10)
  --format text|json  output for people (default) or for programs
  -h, --help          print this help
  -V, --version       print the version
`;

async function main(args: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(args);
  } catch (error) {
    process.stderr.write(`nix-builders: ${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.version) {
    process.stdout.write(`${extensionVersion}\n`);
    return 0;
  }
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(usage);
    return 0;
  }
  try {
    switch (command) {
      case 'check': {
        const format = outputFormat(values);
        const result = await runCheck(rest, values['nix-version']);
        process.stdout.write(formatCheck(result, format));
        if (format === 'text') process.stderr.write(`${summary(result)}\n`);
        const failed = result.unreadable.length > 0 || result.findings.some((f) => f.severity === 'error');
        return failed ? 1 : 0;
      }
      case 'ping': {
        const format = outputFormat(values);
        const timeout = values.timeout === undefined ? undefined : Number(values.timeout);
        if (timeout !== undefined && !(timeout > 0)) throw new TypeError(`--timeout must be a number of seconds, not '${values.timeout}'`);
        return await runPing(await chooseMachines(values), { sshConfigFile: values['ssh-config'], timeoutSeconds: timeout, format });
      }
      default:
        process.stderr.write(`nix-builders: '${command}' is not available yet in this version.\n\n${usage}`);
        return 2;
    }
  } catch (error) {
    process.stderr.write(`nix-builders: ${(error as Error).message}\n`);
    return 2;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
