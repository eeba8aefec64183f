// Why an offload failed, from what Nix and ssh said, as a cause the UI can act on and a message
// that names the cause and the fix in the user's words. The patterns are the messages of each
// Nix a builder may run (docs/nix-remote-builds.md, "What goes wrong in practice"), read from
// the source of 2.8.0, 2.26.3 and 2.34.8 and seen on the lab's 2.8 and 2.34 builders:
//   untrusted SSH user:  "cannot add path '…' because it lacks a valid signature" (importing
//                        into the builder; from 2.12, so in 2.26.3 and 2.34.8, "lacks a
//                        signature by a trusted key": NixOS/nix a2a8cb10ac, health/nixWords.ts)
//                        / "you are not privileged to build input-addressed derivations"
//                        (building there; the same in all three)
//   disk full:           "No space left on device", on either side
//   build failed:        "builder for '…' failed with exit code N" (2.8.0 and 2.26.3
//                        derivation-goal.cc; nix-store exits 1 on 2.8, 100 on newer Nix; 2.34:
//                        "Cannot build '…'." then "Reason: builder failed with exit code N."),
//                        or the builder cannot build that system/features ("… is required to
//                        build '…', but I am a …" up to 2.29, 2.26.3 included; from 2.30
//                        "Cannot build '…'." and "Reason: …", nixMessages.ts)
//   Nix not reachable:   "nix-store: command not found" (exit 127), "cannot connect to socket"
//   connection lost:     not Nix's words but ours (connectionLost): the SSH connection closed
//                        under a command, its keepalives went unanswered, or its sshd session
//                        stopped taking commands ("Unable to exec" when its monitor was killed)
import type { SshFailure } from '../ssh/failure';
import { cannotBuildHereWords } from '../model/nixMessages';

/** A failed build as Nix 2.34 words it (2.8: "builder for '…' failed with exit code N"). */
const CANNOT_BUILD = /Cannot build '[^']*'/;

/** Nix refusing an unsigned path: 2.8's words, and those of 2.12 on (2.26.3, 2.34.8: "by a trusted key"). */
const LACKS_SIGNATURE = /lacks a (?:valid signature|signature by a trusted key)/;

export type OffloadPhase = 'connect' | 'copy-inputs' | 'build' | 'copy-outputs';

export type OffloadCause =
  | 'host-key'
  | 'connection'
  | 'connection-lost'
  | 'auth'
  | 'untrusted-user'
  | 'missing-signature'
  | 'disk-full'
  | 'build-failed'
  | 'remote-nix'
  | 'cancelled'
  | 'local-store';

export interface Classified {
  cause: OffloadCause;
  message: string;
}

/** The SSH layer's failure (connect, host key, auth) as an offload cause. */
export function sshFailureCause(failure: SshFailure, uri: string): Classified {
  const why = `${failure.cause}${failure.fix ? ` ${failure.fix}` : ''}`;
  switch (failure.code) {
    case 'host-key-mismatch':
    case 'host-key-revoked':
    case 'host-key-unknown':
      return {
        cause: 'host-key',
        message: `Nothing was built or sent: the host key of ${uri} could not be verified, and builds never go to an unverified host. ${why}`,
      };
    case 'auth-failed':
    case 'key-encrypted':
    case 'key-unreadable':
      return { cause: 'auth', message: `Could not log in to ${uri}: ${why}` };
    case 'aborted':
      return { cause: 'cancelled', message: `Cancelled while connecting to ${uri}; nothing was sent.` };
    default:
      return { cause: 'connection', message: `Could not connect to ${uri}: ${why}` };
  }
}

export interface FailedCommand {
  /** Where the command ran. */
  side: 'builder' | 'local';
  phase: OffloadPhase;
  /** The builder, as the user wrote it (store URI or host). */
  builder: string;
  /** The SSH user on the builder (for the trusted-users fix). */
  user: string;
  code: number | null;
  signal: string | null;
  /** The channel closed without an exit status (the connection dropped). */
  lost?: boolean;
  /** Why the connection went, when known (Connection.lostBecause). */
  lostBecause?: string | undefined;
  stderrTail: readonly string[];
  /** Local builds go through a nix-daemon (changes the fix for a local signature refusal). */
  daemon?: boolean;
}

const doing: Record<OffloadPhase, string> = {
  connect: 'connecting',
  'copy-inputs': 'copying the build inputs to the builder',
  build: 'building',
  'copy-outputs': 'copying the outputs back',
};

/**
 * The SSH connection went while a command ran or was about to start: what the builder did
 * (`stopped answering (…)`, `closed the connection`, …), what that means for both stores, and
 * what to do. Nothing is left half-copied: `nix-store --import` registers a path only once it
 * has all of it; and the offload has stopped every command of its own here before it says so.
 */
export function connectionLost(builder: string, phase: OffloadPhase, why: string | undefined): Classified {
  return {
    cause: 'connection-lost',
    message:
      `Lost the connection to ${builder} while ${doing[phase]}: ${why === undefined ? 'it dropped' : `it ${why}`}. ` +
      'No path is left half-copied in either store, and nothing of this build is left running here. ' +
      `Check that ${builder} is up and reachable (ssh to it), then build again: the next build opens a new connection.`,
  };
}

/** The line that says what went wrong: the first `error:` line, else the last non-empty one. */
export function errorLine(lines: readonly string[]): string {
  const error = lines.find((line) => /^\s*error:/.test(line));
  const chosen = error ?? [...lines].reverse().find((line) => line.trim() !== '') ?? '';
  return chosen
    .trim()
    .replace(/^error:\s*/, '')
    .replace(/[;:.]$/, '');
}

function exitText(code: number | null, signal: string | null): string {
  if (code !== null) return `exit code ${code}`;
  if (signal !== null) return `signal ${signal}`;
  return 'no exit status';
}

/** A Nix command that failed on the builder or here: its cause and the message for the user. */
export function classifyFailure(failed: FailedCommand): Classified {
  const text = failed.stderrTail.join('\n');
  const said = errorLine(failed.stderrTail);
  const quote = said ? ` (Nix said: ${said})` : '';
  const on = failed.side === 'builder' ? `on ${failed.builder}` : 'on this machine';
  if (failed.lost)
    return connectionLost(
      failed.builder,
      failed.phase,
      failed.lostBecause ?? 'closed the session without an exit status',
    );
  if (/No space left on device/i.test(text)) {
    const fix =
      failed.side === 'builder'
        ? `Free space in the builder's /nix/store (nix-collect-garbage on ${failed.builder}) or pick another builder.`
        : 'Free space in /nix/store here (nix-collect-garbage).';
    return { cause: 'disk-full', message: `The disk is full ${on} while ${doing[failed.phase]}${quote}. ${fix}` };
  }
  if (
    failed.side === 'builder' &&
    (/you are not privileged to build input-addressed derivations/.test(text) || LACKS_SIGNATURE.test(text))
  ) {
    return {
      cause: 'untrusted-user',
      message:
        `${failed.builder} does not trust the SSH user '${failed.user}', so its Nix refused ${failed.phase === 'copy-inputs' ? 'the unsigned build inputs' : 'to build'}${quote}. ` +
        `Add the user to trusted-users on the builder (a line 'extra-trusted-users = ${failed.user}' in its /etc/nix/nix.conf, then restart its nix-daemon), ` +
        "or sign the paths with a key listed in the builder's trusted-public-keys.",
    };
  }
  if (failed.side === 'local' && LACKS_SIGNATURE.test(text)) {
    return {
      cause: 'missing-signature',
      message:
        `This machine's Nix refused the outputs from ${failed.builder} because no key it trusts signed them${quote}. ` +
        `${failed.daemon ? 'Add your user to trusted-users in /etc/nix/nix.conf here and restart the nix-daemon, or ' : 'Either '}` +
        'have the builder sign its outputs (secret-key-files on the builder) and add its public key to trusted-public-keys here.',
    };
  }
  if (failed.side === 'builder') {
    if (failed.code === 127 || /command not found|nix-store: not found/.test(text)) {
      return {
        cause: 'remote-nix',
        message: `Nix is not on the PATH of non-interactive SSH commands on ${failed.builder}${said ? ` (its shell said: ${said})` : ''}. Put Nix on the PATH the login shell sets for commands (e.g. in ~/.bashrc before its interactive check, or /etc/environment), or give its path with ?remote-program=… in the store URI.`,
      };
    }
    if (/cannot connect to socket at/.test(text)) {
      return {
        cause: 'remote-nix',
        message: `The nix-daemon on ${failed.builder} is not running${quote}. Start it there (systemctl start nix-daemon).`,
      };
    }
    // Nix 2.34 says "Cannot build '…'." and gives the reason on a line of its own.
    const reason = CANNOT_BUILD.test(said) ? /^\s*Reason: (.+?)\.?\s*$/m.exec(text)?.[1] : undefined;
    const saidWhy = reason === undefined ? said : `${said}: ${reason}`;
    if (
      failed.phase === 'build' &&
      (cannotBuildHereWords.test(text) ||
        /Reason: (?:platform mismatch|required system or feature not available|missing system features)/.test(text))
    ) {
      // 2.34: "Required system: 'aarch64-linux'" / "Current system: 'x86_64-linux'" (with features, if any).
      const systems = [...text.matchAll(/^\s*((?:Required|Current) system: .+?)\s*$/gm)].map((match) => match[1]!);
      return {
        cause: 'build-failed',
        message: `${failed.builder} cannot build this derivation: ${saidWhy}${systems.length === 0 ? '' : ` (${systems.join('; ')})`}. Pick a builder whose Nix builds for that system and has those features (its system and system-features settings).`,
      };
    }
    if (
      failed.phase === 'build' &&
      (/builder for '[^']*' failed/.test(text) ||
        /build of '[^']*' failed/.test(text) ||
        CANNOT_BUILD.test(text) ||
        failed.code === 100)
    ) {
      return {
        cause: 'build-failed',
        message: `The build failed on ${failed.builder}: ${saidWhy || exitText(failed.code, failed.signal)}. The last lines of its log are below.`,
      };
    }
    return {
      cause: 'remote-nix',
      message: `nix-store failed on ${failed.builder} while ${doing[failed.phase]} (${exitText(failed.code, failed.signal)})${quote}. Check Nix on the builder (its version, its store, its nix-daemon).`,
    };
  }
  return {
    cause: 'local-store',
    message: `The local nix-store failed while ${doing[failed.phase]} (${exitText(failed.code, failed.signal)})${quote}. Check the local Nix store (nix-store --verify).`,
  };
}
