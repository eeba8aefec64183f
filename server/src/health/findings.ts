// What a health probe can find, as one table: a stable code, a severity (error: Nix cannot use
// the machine; warning: usable, but something is wrong or will bite; info: worth knowing), a
// short title, and a message that names the cause and the fix in the user's words. The codes
// are stable (the tree view, the CLI's JSON and users' filters rely on them).
import type { FindingAction, FindingSeverity, FindingStage, HealthFinding, HealthStatus } from '../protocol';
import { fingerprintCommand, hostKeyChangedAdvice, type RecordedKey } from '../ssh/hostKeyChanged';
import { shellQuote } from '../ssh/remoteCommand';
import { code, markdownText, outside, plainText } from './findingText';
import { cannotBuildWords, unsignedPathWords } from './nixWords';

/** A finding as the server makes it: the protocol's, with its code one of this table's. */
export interface Finding extends HealthFinding {
  code: FindingCode;
}

/** Everything a message may mention. Only what the code needs is set. */
export interface FindingContext {
  uri: string;
  /** The host as written (ssh alias or name). */
  alias: string;
  user?: string;
  hostName?: string;
  port?: number;
  daemon?: boolean;
  /** A one-line cause from the ssh layer or the remote program. */
  detail?: string;
  keyFile?: string;
  otherKey?: string;
  keyType?: string;
  fingerprint?: string;
  expectedFingerprint?: string;
  /** Where the expected host key is (column 8, or file:line). */
  keySource?: string;
  /** The same, for the "key changed" advice (the known_hosts file and the name to remove). */
  recordedKey?: RecordedKey;
  lookupName?: string;
  knownHostsFiles?: string[];
  column8NameMismatch?: boolean;
  program?: string;
  protocol?: 'ssh' | 'ssh-ng';
  output?: string;
  systems?: string[];
  builderSystems?: string[];
  features?: string[];
  builderFeatures?: string[];
  kvmMissing?: boolean;
  freeBytes?: number;
  thresholdBytes?: number;
  summary?: string;
  differences?: string[];
  timeoutMs?: number;
  /** StrictHostKeyChecking as resolved for the host. */
  strictHostKeyChecking?: string;
  /** The builder's Nix version (`nix-store --version`), for quoting its words (nixWords.ts). */
  builderNix?: string;
}

interface FindingSpec {
  severity: FindingSeverity;
  /** A few words for lists and tree items. */
  title: string;
  message(context: FindingContext): string;
}

const who = (c: FindingContext) => `${c.user ? `${c.user}@` : ''}${c.alias}`;
const secs = (ms: number | undefined) => (ms === undefined ? 'the timeout' : `${Math.round(ms / 100) / 10} s`);
const gib = (bytes: number | undefined) =>
  bytes === undefined ? '?' : `${(bytes / 1024 ** 3).toFixed(bytes < 10 * 1024 ** 3 ? 1 : 0)} GiB`;
const quoteOut = (text: string | undefined) =>
  `'${(text ?? '').trim().split('\n').slice(0, 2).join(' ⏎ ').slice(0, 160)}'`;
const daemonKeys = (c: FindingContext) =>
  c.daemon
    ? " Builds go through the nix-daemon, which runs ssh as root: root's keys, known_hosts and ssh config count, not yours."
    : '';

export const FINDINGS = {
  ok: {
    severity: 'info',
    title: 'usable',
    message: (c) => `Usable: ${c.summary ?? 'every check passed'}.`,
  },
  'invalid-host': {
    severity: 'error',
    title: 'refused host',
    message: (c) =>
      `${c.detail ?? 'The host is not valid.'} Nix would pass it to ssh, which reads a leading '-' as an option (such a host can run commands on this machine), so the probe never runs ssh for it. Write column 1 as ${code('ssh://[user@]host')}.`,
  },
  'shell-in-store-setting': {
    severity: 'error',
    title: 'shell code in a store setting',
    message: (c) =>
      `${c.detail ?? 'A store setting of the URI holds shell metacharacters.'} Nix hands this value to the builder's shell as part of the command it runs there, so these characters run as shell code on the builder each time Nix connects. This extension refuses to use such a machine: the probe connects nowhere, and builds leave it out. Give remote-program a plain path (e.g. ${code('/nix/var/nix/profiles/default/bin/nix-store')}) and remote-store a plain store URI.`,
  },
  'ssh-config-error': {
    severity: 'error',
    title: 'ssh config error',
    message: (c) =>
      `${c.detail ?? 'ssh cannot read its configuration.'} Nix runs the same ssh, so it fails the same way. Fix the ssh config (or the ${code('-F')} / ${code('-o')} options in NIX_SSHOPTS).`,
  },
  'nix-sshopts-problem': {
    severity: 'warning',
    title: 'NIX_SSHOPTS problem',
    message: (c) =>
      `NIX_SSHOPTS: ${c.detail ?? ''} Nix splits NIX_SSHOPTS on spaces without any quoting and passes the words to ssh for every builder.`,
  },
  'dns-failed': {
    severity: 'error',
    title: 'name does not resolve',
    message: (c) =>
      `${c.detail ?? `'${c.hostName ?? c.alias}' does not resolve.`} Check the host in column 1 (or the HostName of its Host entry in ~/.ssh/config) and your DNS; an address or an ssh config alias avoids DNS.`,
  },
  'connection-refused': {
    severity: 'error',
    title: 'connection refused',
    message: (c) =>
      `Nothing accepts SSH connections at ${c.hostName ?? c.alias} port ${c.port ?? 22} (Nix prints "ssh: connect to host … Connection refused"). Start sshd on the builder, or fix the port: ${code('Port')} in a ${code(`Host ${c.alias}`)} entry of the ssh config (Nix before 2.31 ignores a port in the URI), or ${code('-p')} in NIX_SSHOPTS.`,
  },
  'host-unreachable': {
    severity: 'error',
    title: 'host unreachable',
    message: (c) =>
      `${c.detail ?? `${c.hostName ?? c.alias} cannot be reached.`} Check that the builder is on and on a network this machine reaches (VPN, firewall, address).`,
  },
  'connect-timeout': {
    severity: 'error',
    title: 'no answer',
    message: (c) =>
      `${c.hostName ?? c.alias} port ${c.port ?? 22} did not accept a connection within ${secs(c.timeoutMs)}: the builder is off or a firewall drops the packets. Without ConnectTimeout ssh (and so Nix) waits for minutes here; add ${code('ConnectTimeout 5')} to its Host entry in the ssh config.`,
  },
  'banner-timeout': {
    severity: 'error',
    title: 'no SSH banner',
    message: (c) =>
      `${c.alias} accepted the TCP connection but sent no SSH banner within ${secs(c.timeoutMs)} (ssh: "Connection timed out during banner exchange"; without ConnectTimeout, Nix hangs). A hung sshd, a proxy or another service listens there: restart sshd on the builder or fix the port, and set ConnectTimeout so a hung builder cannot stall builds.`,
  },
  'handshake-failed': {
    severity: 'error',
    title: 'SSH handshake failed',
    message: (c) =>
      `${c.detail ?? 'The SSH key exchange failed.'} Check the builder's sshd (its log, host keys and allowed algorithms).`,
  },
  'connection-lost': {
    severity: 'error',
    title: 'connection lost',
    message: (c) =>
      `${c.detail ?? 'The connection dropped.'} Check the builder's sshd log (MaxStartups, tcp wrappers, a crash).`,
  },
  'proxy-jump-failed': {
    severity: 'error',
    title: 'jump host failed',
    message: (c) => `The ProxyJump to ${c.alias} failed: ${c.detail ?? 'see the jump host'}`,
  },
  'proxy-command-unsupported': {
    severity: 'warning',
    title: 'ProxyCommand not checked',
    message: (c) =>
      `${c.detail ?? 'The ssh config uses a ProxyCommand.'} The probe does not run commands from the ssh config, so it cannot check this builder; Nix's ssh does run it. Where you can, use ${code('ProxyJump <host>')} instead (the same as ${code('ProxyCommand ssh -W %h:%p <host>')}).`,
  },
  'host-key-mismatch': {
    severity: 'error',
    title: 'host key changed',
    // No pin action ever comes with it: the advice is to verify out of band and remove the old key.
    message: (c) =>
      hostKeyChangedAdvice(
        {
          alias: c.alias,
          keyType: c.keyType ?? 'ssh-ed25519',
          fingerprint: c.fingerprint ?? 'another key',
          expectedFingerprint: c.expectedFingerprint ?? 'the recorded one',
          recorded: c.recordedKey,
          ...(c.keySource ? { recordedAs: c.keySource } : {}),
        },
        code,
      ),
  },
  'host-key-revoked': {
    severity: 'error',
    title: 'host key revoked',
    message: (c) =>
      `${c.alias} presented the ${c.keyType} key ${c.fingerprint}, which ${c.keySource} marks @revoked; ssh refuses it. Give the builder a new host key and record that one.`,
  },
  'host-key-unknown': {
    severity: 'error',
    title: 'host key unknown',
    message: (c) =>
      c.column8NameMismatch
        ? `Column 8 holds the key ${c.alias} presents (${c.fingerprint}), but Nix 2.8 files it under '${c.alias}' while ssh looks it up under '${c.lookupName}' (the HostName, with the port off 22), so ssh refuses the host: "Host key verification failed.". Add ${code(`HostKeyAlias ${c.alias}`)} to the ${code(`Host ${c.alias}`)} entry of the ssh config.`
        : `${c.alias} presented the ${c.keyType} key ${c.fingerprint}, which is in neither column 8 nor known_hosts (${(c.knownHostsFiles ?? []).join(', ') || 'none'}) under '${c.lookupName}'. ${
            c.strictHostKeyChecking === 'no' ||
            c.strictHostKeyChecking === 'off' ||
            c.strictHostKeyChecking === 'accept-new'
              ? `With StrictHostKeyChecking ${c.strictHostKeyChecking}, Nix's ssh would take it unchecked; the probe does not log in to a host it cannot verify.`
              : 'Nix\'s ssh refuses it ("Host key verification failed."), and the probe does not log in.'
          }${daemonKeys(c)} Check the fingerprint on the builder (${code(fingerprintCommand(c.keyType ?? 'ssh-ed25519'))}), then pin it in column 8: that works for you and for the nix-daemon alike.`,
  },
  'column-8-ignored': {
    severity: 'warning',
    title: 'column 8 ignored',
    message: (c) =>
      `Column 8 is set, but ${c.detail ?? 'ssh does not read it'}: Nix passes column 8 as ${code('-oUserKnownHostsFile')} after NIX_SSHOPTS. Remove ${code('UserKnownHostsFile')} from NIX_SSHOPTS, or put the key into that file.`,
  },
  'auth-failed': {
    severity: 'error',
    title: 'login refused',
    message: (c) =>
      `${c.detail ?? `${who(c)} refused every key.`} Nix prints "Permission denied (publickey).".${daemonKeys(c)} Add the public key to ${code('~/.ssh/authorized_keys')} of ${c.user ?? 'that user'} on the builder (${code('ssh-copy-id')}), or point column 3 at a key that is already there.`,
  },
  'key-encrypted': {
    severity: 'error',
    title: 'key needs its passphrase',
    message: (c) =>
      `${who(c)} accepts the key ${c.keyFile}, but it has a passphrase${c.detail ? ` (${c.detail})` : ''}. ${
        c.daemon
          ? `The nix-daemon runs ssh as root with no terminal and no agent, so it can never give it: make a dedicated key without a passphrase for builds, readable by root, and put it in column 3 (or remove this key's passphrase: ${code(keygenRemovePassphrase(c.keyFile))}, with an empty new passphrase).`
          : `Nix runs ssh without asking for passphrases (BatchMode, or no terminal), so it cannot open the key: load it into your ssh-agent before building (${code(commandLine(['ssh-add', c.keyFile ?? '~/.ssh/id_ed25519']))}), or use a dedicated key without a passphrase in column 3 (or remove this key's passphrase: ${code(keygenRemovePassphrase(c.keyFile))}, with an empty new passphrase).`
      }`,
  },
  'key-passphrase-prompt': {
    severity: 'warning',
    title: 'key needs a passphrase',
    message: (c) =>
      `Logged in with ${c.keyFile} using the passphrase you gave, but ssh under Nix cannot ask for it (${code('BatchMode yes')} in the ssh config): Nix fails with "Permission denied (publickey).". Load the key into ssh-agent before building, remove its passphrase (${code(keygenRemovePassphrase(c.keyFile))}), or use a dedicated key without one in column 3.`,
  },
  'key-unreadable': {
    severity: 'error',
    title: 'key unreadable',
    message: (c) =>
      `${c.detail ?? `The key ${c.keyFile} cannot be read.`} ssh skips an unreadable key ("Identity file … not accessible") and nothing else let it in. Point column 3 at the private key (the file without .pub), readable by ${c.daemon ? 'root (the nix-daemon)' : 'you'}.`,
  },
  'key-not-used': {
    severity: 'warning',
    title: 'column 3 not used',
    message: (c) =>
      `Column 3 names ${c.keyFile}, which ssh cannot read, so ssh skipped it and logged in with ${c.otherKey ?? 'another key'}. Fix the path in column 3 (the private key, not .pub), or remove it.`,
  },
  'nix-not-found': {
    severity: 'error',
    title: 'Nix not on remote PATH',
    message: (c) =>
      `"${c.program}" is not on the PATH of non-interactive shells of ${who(c)}: ${quoteOut(c.output)}. Nix runs it through ssh without a terminal, and such shells read fewer startup files than a login. Fix on the builder: on NixOS check the user's login shell; on nix-darwin enable the shell you use (${code('programs.zsh.enable')} / ${code('programs.bash.enable')}) so its system profile adds Nix; elsewhere put ${code('/nix/var/nix/profiles/default/bin')} on PATH in ${code('~/.bashrc')} (bash reads it for ssh commands) or ${code('/etc/environment')}. Or name the program with its full path in the URI: ${code(`?remote-program=/nix/var/nix/profiles/default/bin/${(c.program ?? 'nix-store').split('/').pop()}`)}.`,
  },
  'remote-command-timeout': {
    severity: 'error',
    title: 'remote command hangs',
    message: (c) =>
      `"${c.program}" on ${who(c)} did not finish within ${secs(c.timeoutMs)}. A login script that waits for input, or a hung Nix: run ${code(commandLine(['ssh', c.alias, c.program ?? 'nix-store', '--version']))} by hand to see where it stops.`,
  },
  'shell-noise': {
    severity: 'error',
    title: 'login shell prints output',
    message: (c) =>
      `The shell of ${who(c)} prints ${quoteOut(c.output)} for non-interactive commands (a "true" must print nothing). Nix speaks its protocol over that output and fails: ${c.protocol === 'ssh-ng' ? '"protocol mismatch, got …"' : `"'nix-store --serve' protocol mismatch from '${c.alias}', got …"`}. Print only in interactive shells (in ${code('~/.bashrc')}: ${code('[[ $- == *i* ]] || return')} before any echo), or send it to stderr.`,
  },
  'protocol-mismatch': {
    severity: 'error',
    title: 'protocol mismatch',
    message: (c) =>
      `"${c.program}" on ${who(c)} does not answer Nix's greeting (got ${quoteOut(c.output)}): Nix fails with a protocol mismatch. Check remote-program in the URI and that the builder's Nix is not broken.`,
  },
  'untrusted-user': {
    severity: 'error',
    title: 'user not trusted',
    message: (c) =>
      `The builder's Nix does not trust ${c.user ?? 'the SSH user'}: it refuses builds of input-addressed derivations ("you are not privileged to build input-addressed derivations") and paths no key it trusts signed ("${unsignedPathWords(c.builderNix)}"), although "nix store ping" says OK. Add the user to trusted-users on the builder: NixOS and nix-darwin: ${code(`nix.settings.trusted-users = [ "${c.user ?? 'USER'}" ];`)} elsewhere: ${code(`extra-trusted-users = ${c.user ?? 'USER'}`)} in ${code('/etc/nix/nix.conf')}, then restart the nix-daemon.`,
  },
  'trust-unknown': {
    severity: 'info',
    title: 'trust not checked',
    message: (c) =>
      `Could not tell whether the builder's Nix trusts ${c.user ?? 'the SSH user'}: ${c.detail ?? 'no answer'}.`,
  },
  'remote-daemon-down': {
    severity: 'error',
    title: 'remote nix-daemon down',
    message: (c) =>
      `The nix-daemon on ${c.alias} is not running: ${quoteOut(c.output)}. ${c.protocol === 'ssh-ng' ? "ssh-ng:// talks to that daemon through 'nix-daemon --stdio'" : `"nix-store --serve" goes through it, as ${c.user ?? 'the SSH user'} cannot write the store`}. Start it on the builder: ${code('sudo systemctl start nix-daemon')} (macOS: ${code('sudo launchctl kickstart -k system/org.nixos.nix-daemon')}).`,
  },
  'store-unreachable': {
    severity: 'error',
    title: 'remote store fails',
    message: (c) =>
      `The builder's Nix cannot open its store for ${who(c)}: ${quoteOut(c.output)}. Check remote-store in the URI, and the store's permissions on the builder.`,
  },
  'system-mismatch': {
    severity: 'error',
    title: 'system not supported',
    message: (c) =>
      `The line says the builder builds for ${(c.systems ?? []).join(', ')}, but it is a ${(c.builderSystems ?? []).join(' / ') || 'different system'}: Nix sends those builds there and the builder refuses them ("${cannotBuildWords(c.builderNix, 'system')}"). Fix column 2, or add the system to ${code('extra-platforms')} on the builder (with an emulator such as binfmt/QEMU or Rosetta).`,
  },
  'feature-mismatch': {
    severity: 'warning',
    title: 'features not supported',
    message: (c) =>
      `The line claims ${(c.features ?? []).join(', ')}, which the builder's system-features (${(c.builderFeatures ?? []).join(' ') || 'none'}) lack${c.kvmMissing ? ' (kvm needs /dev/kvm, which the builder does not have)' : ''}: derivations that need them are sent there and refused ("${cannotBuildWords(c.builderNix, 'features')}"). Remove them from columns 6-7, or add them to ${code('system-features')} on the builder.`,
  },
  'low-disk': {
    severity: 'warning',
    title: 'low disk space',
    message: (c) =>
      `Only ${gib(c.freeBytes)} free under /nix/store on ${c.alias} (below ${gib(c.thresholdBytes)}): builds there may fail with "No space left on device". Collect garbage on the builder (${code('nix-collect-garbage -d')}) or give it more space.`,
  },
  'daemon-context': {
    severity: 'info',
    title: 'builds run as root',
    message: () =>
      "Builds here go through the nix-daemon: it runs ssh as root, with root's SSH keys, known_hosts and ssh config, and its own NIX_SSHOPTS. The probe connects as you and flags what would work for you but not for the daemon.",
  },
  'daemon-cannot-read-key': {
    severity: 'error',
    title: 'daemon cannot use key',
    message: (c) =>
      `${c.detail ?? `The nix-daemon cannot use ${c.keyFile}.`} Put an absolute path to a key root can read in column 3.`,
  },
  'daemon-needs-host-key': {
    severity: 'warning',
    title: "daemon checks root's known_hosts",
    message: (c) =>
      `The host key was found in your known_hosts, but column 8 is empty, so the nix-daemon checks root's known_hosts (${code('/root/.ssh/known_hosts')}, ${code('/etc/ssh/ssh_known_hosts')}), which may not have it ("Host key verification failed."). Pin the key in column 8 (${c.fingerprint ?? 'the verified key'}).`,
  },
  'daemon-agent-only': {
    severity: 'error',
    title: 'key only in your agent',
    message: (c) =>
      `Logged in with a key from your ssh-agent${c.fingerprint ? ` (${c.fingerprint})` : ''} that is no key file ssh would read: the nix-daemon runs as root and has no access to your agent, so Nix gets "Permission denied (publickey).". Put a key file in column 3 (a dedicated key without passphrase, readable by root).`,
  },
  'daemon-user-config': {
    severity: 'warning',
    title: 'host set up in your ssh config',
    message: (c) =>
      `Your ssh config decides how ${c.alias} is reached (${(c.differences ?? []).join('; ')}), but the nix-daemon runs ssh as root and reads root's ssh config instead. Put the same Host entry in ${code('/etc/ssh/ssh_config')} (or ${code('/root/.ssh/config')}), or write what it needs into the machines line (user@host in column 1, the key in column 3, the host key in column 8).`,
  },
} satisfies Record<string, FindingSpec>;

export type FindingCode = keyof typeof FINDINGS;

export function makeFinding(
  code: FindingCode,
  context: FindingContext,
  extra: { action?: FindingAction; stage?: FindingStage } = {},
): Finding {
  const spec: FindingSpec = FINDINGS[code];
  const words = messageOf(code, context);
  const finding: Finding = {
    code,
    severity: spec.severity,
    title: spec.title,
    message: plainText(words),
    markdown: markdownText(words),
  };
  if (extra.action !== undefined) finding.action = extra.action;
  if (extra.stage !== undefined) finding.stage = extra.stage;
  return finding;
}

/**
 * The message of a finding as its table builds it, with its code spans marked (findingText.ts).
 * Text from outside (the builder's output, file names) cannot open or close a span.
 */
export function messageOf(code: FindingCode, context: FindingContext): string {
  const clean = Object.fromEntries(
    Object.entries(context).map(([key, value]) => [
      key,
      typeof value === 'string'
        ? outside(value)
        : Array.isArray(value)
          ? value.map((item: unknown) => (typeof item === 'string' ? outside(item) : item))
          : value,
    ]),
  ) as unknown as FindingContext;
  return (FINDINGS[code] as FindingSpec).message(clean);
}

/** The command that removes a key's passphrase (ssh-keygen asks for the old and the new one). */
const keygenRemovePassphrase = (keyFile: string | undefined) =>
  commandLine(['ssh-keygen', '-p', '-f', keyFile ?? '~/.ssh/id_ed25519']);

/** A command for the user to copy, its arguments quoted by the one quoting function. */
export function copyCommand(title: string, words: readonly string[]): FindingAction {
  return { kind: 'copy-command', title, command: commandLine(words) };
}

/**
 * The fix of an untrusted SSH user, as a command to run on the builder (not NixOS, where the
 * finding's message gives the option): it appends the nix.conf line and restarts the daemon.
 */
export function trustUserCommand(user: string, machine = 'the builder'): FindingAction {
  const line = commandLine(['echo', `extra-trusted-users = ${user}`]);
  return {
    kind: 'copy-command',
    title: `Copy the command that makes ${machine} trust ${user}`,
    command: `${line} | sudo tee -a /etc/nix/nix.conf >/dev/null && sudo systemctl restart nix-daemon`,
  };
}

/** A command line from its words, each quoted by the one quoting function. */
function commandLine(words: readonly string[]): string {
  return words.map(shellQuote).join(' ');
}

/**
 * What lists show for a machine that is not up: the title of its worst finding (the first
 * error, else the first warning). Undefined when the machine is up, being probed or not checked.
 */
export function healthSummary(status: HealthStatus, findings: readonly HealthFinding[]): string | undefined {
  if (status !== 'down' && status !== 'degraded') return undefined;
  return (findings.find((f) => f.severity === 'error') ?? findings.find((f) => f.severity === 'warning'))?.title;
}
