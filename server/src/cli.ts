// `nix-builders`: the command-line face of the same modules the language server uses.
import { readCommandLine } from './cli/commandLine';
import { exitCodes } from './cli/exitCodes';
import { subcommandNamed } from './cli/subcommands';
import { subcommandUsage, usage } from './cli/usage';
import { UsageError } from './cli/usageError';
import { showControlsOn } from './cli/visibleText';
import { resolve } from 'node:path';
import { extensionVersion } from './version';
import { traced, traceSinceStart } from './context/timingTrace';

async function run(args: string[]): Promise<number> {
  const commandLine = readCommandLine(args);
  if (commandLine.kind === 'version') {
    process.stdout.write(`${extensionVersion}\n`);
    return exitCodes.ok;
  }
  if (commandLine.kind === 'help') {
    process.stdout.write(commandLine.subcommand ? subcommandUsage(commandLine.subcommand) : usage());
    return exitCodes.ok;
  }
  const { subcommand, operands, values, format, timeoutSeconds, notes } = commandLine;
  for (const note of notes) process.stderr.write(`nix-builders: note: ${note}.\n`);
  // Each subcommand's modules are loaded when it runs, not at start: `--version`, `--help` and a
  // usage error load none of them, and `check` never loads SSH. A build starts Nix's evaluation
  // first, with only what that needs loaded: the rest loads while Nix evaluates.
  const evaluating = new AbortController();
  const evaluation =
    subcommand.name === 'build'
      ? import('./dispatch/currentDerivation.js').then(({ derivationOf }) =>
          traced('evaluation', () =>
            derivationOf(resolve(operands[0]!), values.attr, commandLine.autoArgs, evaluating.signal),
          ),
        )
      : undefined;
  const [{ cliContext }, { chooseMachines }] = await Promise.all([
    import('./context/serverContext.js'),
    import('./cli/machinesOption.js'),
  ]);
  // The CLI's own context: its options are the settings, and no LSP connection is involved.
  const context = cliContext({ nixVersion: values['nix-version'], sshConfigFile: values['ssh-config'] });
  switch (subcommand.name) {
    case 'check': {
      const { formatCheck, runCheck, summary } = await import('./cli/check.js');
      const result = await runCheck(operands, context);
      process.stdout.write(formatCheck(result, format));
      if (format === 'text') process.stderr.write(`${summary(result)}\n`);
      const failed = result.unreadable.length > 0 || result.findings.some((f) => f.severity === 'error');
      return failed ? exitCodes.failed : exitCodes.ok;
    }
    case 'ping': {
      const { runPing } = await import('./cli/ping.js');
      return await runPing(await chooseMachines(values, context), {
        sshConfigFile: values['ssh-config'],
        timeoutSeconds,
        format,
      });
    }
    case 'select': {
      const { runSelect } = await import('./cli/select.js');
      const features = (values.features ?? '').split(',').filter(Boolean);
      const { selection, text } = runSelect(await chooseMachines(values, context), values.system!, features, format);
      process.stdout.write(text);
      return selection.chosen ? exitCodes.ok : exitCodes.failed;
    }
    case 'build': {
      // The machines and this machine's Nix are read while Nix evaluates, and while the build's
      // own modules (SSH among them) load: their `nix` commands run meanwhile.
      const machines = traced('machines and local Nix', () => chooseMachines(values, context));
      machines.catch(() => undefined); // A usage error is runBuildCommand's to report, not unhandled meanwhile.
      const { runBuildCommand } = await import('./cli/build.js');
      return await runBuildCommand(
        machines,
        { result: evaluation!, abort: () => evaluating.abort() },
        {
          file: resolve(operands[0]!),
          attr: values.attr,
          autoArgs: commandLine.autoArgs,
          on: values.on,
          distributed: values.distributed === true,
          sshConfigFile: values['ssh-config'],
          format,
        },
      );
    }
  }
}

async function main(args: string[]): Promise<number> {
  traceSinceStart('node start + bundle load');
  // Before anything is printed: no text from a file, a host or Nix reaches the terminal raw.
  showControlsOn(process.stdout);
  showControlsOn(process.stderr);
  try {
    return await run(args);
  } catch (error) {
    const message = (error as Error).message;
    if (error instanceof UsageError) {
      const subcommand = error.subcommand ? subcommandNamed(error.subcommand) : undefined;
      process.stderr.write(
        `nix-builders: ${message}.\n${subcommand ? `\n${subcommandUsage(subcommand, { exitCodes: false })}` : ''}`,
      );
      return exitCodes.usage;
    }
    // Something the subcommand could not do (a file it cannot read): said, not a stack trace.
    process.stderr.write(`nix-builders: ${message}\n`);
    return exitCodes.usage;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
