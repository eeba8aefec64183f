// `nix-builders`: the command-line face of the same modules the language server uses.
import { formatCheck, runCheck, summary } from './cli/check';
import { readCommandLine } from './cli/commandLine';
import { exitCodes } from './cli/exitCodes';
import { chooseMachines } from './cli/machinesOption';
import { runPing } from './cli/ping';
import { runBuildCommand } from './cli/build';
import { runSelect } from './cli/select';
import { cliContext } from './context/serverContext';
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
  // The CLI's own context: its options are the settings, and no LSP connection is involved.
  const context = cliContext({ nixVersion: values['nix-version'], sshConfigFile: values['ssh-config'] });
  switch (subcommand.name) {
    case 'check': {
      const result = await runCheck(operands, context);
      process.stdout.write(formatCheck(result, format));
      if (format === 'text') process.stderr.write(`${summary(result)}\n`);
      const failed = result.unreadable.length > 0 || result.findings.some((f) => f.severity === 'error');
      return failed ? exitCodes.failed : exitCodes.ok;
    }
    case 'ping':
      return await runPing(await chooseMachines(values, context), {
        sshConfigFile: values['ssh-config'],
        timeoutSeconds,
        format,
      });
    case 'select': {
      const features = (values.features ?? '').split(',').filter(Boolean);
      const { selection, text } = runSelect(await chooseMachines(values, context), values.system!, features, format);
      process.stdout.write(text);
      return selection.chosen ? exitCodes.ok : exitCodes.failed;
    }
    case 'build':
      return await runBuildCommand(await traced('machines and local Nix', () => chooseMachines(values, context)), {
        file: resolve(operands[0]!),
        attr: values.attr,
        autoArgs: commandLine.autoArgs,
        on: values.on,
        distributed: values.distributed === true,
        sshConfigFile: values['ssh-config'],
        format,
      });
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
