// `nix-builders`: the command-line face of the same modules the language server uses.
// Subcommands arrive with the issues that build them; for now it knows its usage and version.
import { extensionVersion } from './version';

const usage = `nix-builders ${extensionVersion}: check, ping and use Nix remote builders

Usage:
  nix-builders check [FILE...]     check machines files and nix.conf files as Nix reads them
  nix-builders ping                probe every configured builder over SSH
  nix-builders select --system S   show the machine Nix would pick, and why
  nix-builders build FILE          build a derivation on a remote builder
  nix-builders --version           print the version
  nix-builders --help              print this help

Only --help and --version work in this version; the subcommands are being built.
`;

function main(args: string[]): number {
  const [first] = args;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(usage);
    return 0;
  }
  if (first === '--version' || first === '-V') {
    process.stdout.write(`${extensionVersion}\n`);
    return 0;
  }
  process.stderr.write(`nix-builders: '${first}' is not available yet in this version.\n\n${usage}`);
  return 2;
}

process.exitCode = main(process.argv.slice(2));
