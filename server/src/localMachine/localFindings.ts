// The findings of "This machine", each with its fix: the words say what it means for builds
// (who picks the builder, whose SSH settings count, what will be refused) and what to change.
import type { HealthFinding, LocalMachineInfo } from '../protocol';
import { trustUserCommand } from '../health/findings';

export interface FindingInputs {
  storeError: string | undefined;
  allowed: boolean;
  daemonBuilders: string | undefined;
  userBuilders: string | undefined;
}

const finding = (
  code: string,
  severity: HealthFinding['severity'],
  title: string,
  message: string,
  action?: HealthFinding['action'],
): HealthFinding => ({
  code,
  severity,
  title,
  message,
  stage: 'context',
  ...(action ? { action } : {}),
});

export function localMachineFindings(info: LocalMachineInfo, inputs: FindingInputs | undefined): HealthFinding[] {
  if (info.mode === 'no-nix') {
    return [
      finding(
        'local-no-nix',
        'error',
        'Nix not found',
        'No `nix` on the PATH of the language server: install Nix (or start VS Code from a shell where `nix --version` works).',
      ),
    ];
  }
  const found: HealthFinding[] = [];
  if (inputs?.storeError !== undefined) {
    const refused = /not allowed to connect/.test(inputs.storeError);
    found.push(
      finding(
        refused ? 'local-not-allowed' : 'local-store-unavailable',
        'error',
        refused ? 'The nix-daemon refuses you' : 'The Nix store cannot be opened',
        refused
          ? `The nix-daemon refuses connections from ${info.user} (${inputs.storeError}): add your user or a group of yours to allowed-users in /etc/nix/nix.conf and restart the nix-daemon.`
          : `Nix cannot open its store: ${inputs.storeError}.`,
      ),
    );
  }
  if (info.mode === 'daemon' && info.trusted === false) {
    const own = inputs?.daemonBuilders?.trim()
      ? `its own builders (builders = ${inputs.daemonBuilders} in /etc/nix/nix.conf)`
      : 'its own builders, and it has none';
    found.push(
      finding(
        'local-untrusted',
        'warning',
        `The nix-daemon does not trust ${info.user}`,
        `Builds go through the nix-daemon, which does not trust ${info.user} (${info.trustedBy}). So it ignores the builders you give it (--builders, NIX_CONFIG, your ~/.config/nix/nix.conf) and uses ${own}; and it refuses outputs built elsewhere unless a key it trusts signed them. "Build on a machine I pick" needs trust: add \`extra-trusted-users = ${info.user}\` to /etc/nix/nix.conf and restart the nix-daemon (\`sudo systemctl restart nix-daemon\`; on NixOS: nix.settings.trusted-users).`,
        trustUserCommand(info.user, 'the nix-daemon'),
      ),
    );
  }
  if (info.mode === 'daemon') {
    found.push(
      finding(
        'local-daemon',
        'info',
        'Builds go through the nix-daemon (root)',
        "The nix-daemon runs the builds and connects to builders as root: root's SSH keys, known_hosts and ssh config count, not yours, and it cannot ask for a passphrase or use your ssh-agent.",
      ),
    );
  }
  if (info.trusted === undefined && info.mode === 'daemon') {
    found.push(
      finding(
        'local-trust-unknown',
        'info',
        'Trust not known',
        `Whether the nix-daemon trusts ${info.user} could not be told: ${info.trustedBy}.`,
      ),
    );
  }
  return found;
}
