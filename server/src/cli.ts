// `nix-builders`: the command-line face of the same modules the language server uses.
import { formatCheck, runCheck, summary } from './cli/check';
import { chooseMachines } from './cli/machinesOption';
import { runPing } from './cli/ping';
import { runBuild } from './cli/build';
import { runSelect } from './cli/select';
import { resolve } from 'node:path';
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
  nix-builders select --system S [--features a,b] [--machines FILE | --builders TEXT]
                      [--format text|json]
      The machine Nix would pick for a derivation of system S needing features a,b, and for
      every machine why (not). Nothing is built. Exits 1 when no machine fits.
  nix-builders build FILE [-A ATTR] [--on HOST | --distributed] [--machines FILE]
                     [--ssh-config FILE] [--format text|json]
      Build FILE (.nix, flake.nix or .drv) on the machine Nix would pick (or HOST), with the
      log on stderr and the output paths on the last lines of stdout. --distributed hands the
      whole graph to Nix's own remote builds over all the machines. Ctrl+C cancels.

Options (the same in every subcommand):
  --nix-version V     follow Nix V's rules (e.g. 2.8, 2.24) instead of the installed Nix's
  --machines FILE     the machines of this file
  --builders TEXT     the machines of this text, as Nix's --builders takes it
  --ssh-config FILE   an ssh config to use instead of ~/.ssh/config (like ssh -F)
  --timeout S         seconds each stage of a check may take (default 10)
  --system S          the derivation's system (select)
  --features a,b      the derivation's requiredSystemFeatures (select)
  -A, --attr ATTR     the attribute of FILE to build (build)
  --on HOST           build there: its URI, user@host or host (build)
  --distributed       let Nix spread the build over all machines (build)
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
      case 'select': {
        const format = outputFormat(values);
        if (!values.system) throw new TypeError('select needs --system, e.g. --system x86_64-linux');
        const features = (values.features ?? '').split(',').filter(Boolean);
        const { selection, text } = runSelect(await chooseMachines(values), values.system, features, format);
        process.stdout.write(text);
        return selection.chosen ? 0 : 1;
      }
      case 'build': {
        const format = outputFormat(values);
        const [file] = rest;
        if (!file) throw new TypeError('build needs a FILE: a .nix file, a flake.nix or a .drv');
        if (values.on !== undefined && values.distributed) throw new TypeError('give --on or --distributed, not both');
        return await runBuild(await chooseMachines(values), {
          file: resolve(file),
          attr: values.attr,
          on: values.on,
          distributed: values.distributed === true,
          sshConfigFile: values['ssh-config'],
          format,
        });
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
