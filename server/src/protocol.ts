// The custom requests between the client and the language server. This is the one server
// file the client imports (as vscode-eslint keeps its customMessages.ts): every request is
// declared here once, with its parameter and result types, so both sides agree by type.
// It imports only the LSP protocol package and its own sealedSecret.ts (node:crypto only): the
// server's modules import their wire types from here, never the other way round.
import { NotificationType, NotificationType0, RequestType, RequestType0 } from 'vscode-languageserver-protocol';

/** The extension's name for its own output channel, log lines and messages. */
export const productName = 'Nix Remote Builders';

/** What the server says about itself: the client shows it and the tests ask for it. */
export interface ServerInfo {
  /** The extension's version, as package.json says. */
  version: string;
  /** The server's process id: tells the user (and the tests) it runs in its own process. */
  pid: number;
  /** Node.js version running the server. */
  node: string;
  /** How long the server has been up, in milliseconds. */
  uptimeMs: number;
  /** The Remote Builders view is visible in a trusted workspace: idle connections stay open (ssh/pool.ts). */
  keepsConnectionsWarm?: boolean;
}

export const serverInfoRequest = new RequestType0<ServerInfo, void>('nixBuilders/serverInfo');

/** Where a machine is written, for "Reveal in file" (0-based line and character). */
export interface MachineLocation {
  file: string;
  line: number;
  character: number;
}

/** One builder as the Remote Builders view shows it. */
export interface BuilderMachine {
  /** Stable across refreshes while the line stays the same: keeps tree items expanded. */
  id: string;
  /** The store URI as Nix reads it (`ssh://` prepended to a bare host). */
  uri: string;
  /** `user@host` for lists. */
  label: string;
  systems: string[];
  maxJobs: number;
  speedFactor: number;
  supportedFeatures: string[];
  mandatoryFeatures: string[];
  /** Column 8 is set: the host key is pinned in the line. */
  hasHostKey: boolean;
  /** Column 3, as written. */
  sshKey: string | undefined;
  /** False when Nix rejects the line: the whole list then fails for Nix. */
  valid: boolean;
  location: MachineLocation | undefined;
}

/** `declared`: a .nix file of the workspace that declares `nix.buildMachines` (NixOS, nix-darwin). */
export type BuildersSourceKind = 'nix-conf' | 'nix-config-env' | 'default-machines' | 'workspace' | 'declared';

/** A place builders come from: a nix.conf's builders setting, a machines file, NIX_CONFIG. */
export interface BuildersSource {
  id: string;
  kind: BuildersSourceKind;
  /** A short title: the file name, or NIX_CONFIG. */
  label: string;
  /** Why this source is here, in the user's words. */
  description: string;
  file: string | undefined;
  /** Nix itself reads these builders (the workspace's machines files are shown, but Nix may not use them). */
  usedByNix: boolean;
  machines: BuilderMachine[];
  /** Nix cannot read this source at all (e.g. a parse error): shown instead of machines. */
  error: string | undefined;
  /** What the view says about the source as a whole, above its machines (declared builders: "rebuild to apply"). */
  findings?: HealthFinding[];
}

/** The machines file Nix reads builders from here: Open Machines File and Add Builder open it. */
export interface MachinesFile {
  /** The first `@file` of the builders setting Nix ends up with, else `/etc/nix/machines`. */
  path: string;
  /** Nix reads it (false when the builders setting lists machines but no `@file`). */
  readByNix: boolean;
  exists: boolean;
  /** This user may write it (or create it, when it does not exist). */
  writable: boolean;
}

export interface BuildersList {
  sources: BuildersSource[];
  machinesFile: MachinesFile;
  /** The Nix the checks follow, e.g. "Nix 2.8.0 (installed)". */
  nix: string;
  /** Builds go through a nix-daemon, which connects as root. */
  daemon: boolean;
}

/**
 * "This machine" in the Remote Builders view: how builds run here, for this user, as real Nix
 * reports it (server/src/localMachine/).
 */
export interface LocalMachineInfo {
  user: string;
  /** `daemon`: builds go through a nix-daemon (as root); `single-user`: this user owns the store. */
  mode: 'daemon' | 'single-user' | 'no-nix';
  /** The store Nix opens, as `nix store ping` names it (`daemon`, `local`, `unix://…`). */
  storeUrl: string | undefined;
  nixVersion: string | undefined;
  /** Whether the store trusts this user; undefined when it cannot be told. */
  trusted: boolean | undefined;
  /** How `trusted` was learnt, in words ("nix store info", "trusted-users = root @wheel", …). */
  trustedBy: string;
  system: string | undefined;
  extraPlatforms: string[];
  systemFeatures: string[];
  maxJobs: string | undefined;
  /** The builders setting Nix builds with: the daemon's own under a daemon, else the user's. */
  builders: string;
  /** Whose builders those are: the daemon's system nix.conf, or the user's chain. */
  buildersOf: 'daemon' | 'user';
  /** A builders setting or `--builders` of this user reaches the build (false: the daemon ignores it). */
  userBuildersHonoured: boolean;
  findings: HealthFinding[];
}

export const localMachineRequest = new RequestType0<LocalMachineInfo, void>('nixBuilders/localMachine');

/** The builders Nix would use here, plus the machines files of the workspace. */
export const listBuildersRequest = new RequestType0<BuildersList, void>('nixBuilders/listBuilders');

/** Sent by the server when a file the builders come from changed: the client lists again. */
export const buildersChangedNotification = new NotificationType0('nixBuilders/buildersChanged');

/**
 * What the client passes as `initializationOptions`. `trusted` is VS Code's workspace trust:
 * without it (or when absent) the server makes no SSH connection and runs no `ssh -G`.
 */
export interface InitializationOptions {
  trusted?: boolean;
}

/** Sent by the client when the workspace's trust changes (`workspace.onDidGrantWorkspaceTrust`). */
export interface SetTrustedParams {
  trusted: boolean;
}

export const setTrustedNotification = new NotificationType<SetTrustedParams>('nixBuilders/setTrusted');

/**
 * Sent by the client when the Remote Builders view shows or hides (and once at start): while it
 * is visible the server keeps idle builder connections open (ssh/pool.ts `keepWarm`), so a
 * check or build from the view finds the builder connected.
 */
export interface ViewVisibleParams {
  visible: boolean;
}

export const viewVisibleNotification = new NotificationType<ViewVisibleParams>('nixBuilders/viewVisible');

// ---------------------------------------------------------------------------------------------
// Health of the builders: probes over SSH, streamed back machine by machine.

/** A range of text by offsets (0-based, end exclusive). */
export interface TextSpan {
  start: number;
  end: number;
}

/** error: Nix cannot use the machine; warning: usable, but something is wrong or will bite; info: worth knowing. */
export type FindingSeverity = 'error' | 'warning' | 'info';

/** The one-click fix a finding offers. */
export type FindingAction =
  /** Open the machines line (to edit the URI, column 3, …). */
  | { kind: 'open-line'; title: string; file: string | undefined; span: TextSpan | undefined }
  /** Write the presented host key into column 8 (only offered for a key nobody knows, never a changed one). */
  | {
      kind: 'pin-host-key';
      title: string;
      column8: string;
      keyType: string;
      fingerprint: string;
      file: string | undefined;
      span: TextSpan | undefined;
    }
  /** Copy a command to run (here or on the builder, as the title says). */
  | { kind: 'copy-command'; title: string; command: string };

/** The stages of a probe, in the order they run. */
export type HealthStageName =
  'resolve' | 'tcp' | 'handshake' | 'auth' | 'remote-program' | 'shell-noise' | 'store' | 'facts';

/** The probe stage a finding comes from (`context`: what the local Nix adds, e.g. the daemon). */
export type FindingStage = HealthStageName | 'context';

/** One finding of a probe, as sent: a stable code, the words for the user and the fix. */
export interface HealthFinding {
  /** Stable (the tree view, the CLI's JSON and users' filters rely on it), e.g. `nix-not-found`. */
  code: string;
  severity: FindingSeverity;
  /** A few words for lists and tree items ("Nix not on the remote PATH"). */
  title: string;
  /** Cause and fix, in the user's words, as plain text (commands between backticks). */
  message: string;
  /** The same as Markdown: commands as code spans, the rest escaped (render this, not `message`). */
  markdown?: string;
  action?: FindingAction;
  stage?: FindingStage;
}

/** One stage of a probe: how long it took and whether it passed. */
export interface HealthStage {
  name: HealthStageName;
  /** Measured duration in milliseconds. */
  ms: number;
  ok: boolean;
}

/** What a probe learnt about the builder; only what it reached is set. */
export interface HealthFacts {
  /** Where and as whom ssh connects, as resolved (by `ssh -G`, or from the config files without ssh). */
  resolved?: {
    hostName: string;
    port: number;
    user: string;
    identityFiles: string[];
    proxyJump: string[];
    source: 'ssh -G' | 'config files';
  };
  hostKey?: { type: string; fingerprint: string; verifiedBy: string | undefined };
  /** The key that logged in (a file, or `agent`), and its fingerprint. */
  authenticatedWith?: { source: string; fingerprint: string | undefined };
  /** From `<remote-program> --version`, e.g. `2.8.0`. */
  nixVersion?: string;
  /** The daemon's worker protocol version and Nix version (nix-daemon --stdio). */
  daemonProtocol?: string;
  daemonNixVersion?: string;
  /** `nix-store --serve` protocol version (ssh://). */
  serveProtocol?: string;
  system?: string;
  extraPlatforms?: string[];
  systemFeatures?: string[];
  cores?: number;
  load?: [number, number, number];
  storeFreeBytes?: number;
  storeTotalBytes?: number;
  kvm?: 'absent' | 'present' | 'rw';
  remoteUser?: string;
  trusted?: boolean;
  trustSource?: 'handshake' | 'restricted-setting';
  uname?: string;
}

export type HealthStatus = 'up' | 'degraded' | 'down' | 'probing' | 'untrusted';

/** What the last probe of one machine found. */
export interface MachineHealth {
  /** The machine's id in the BuildersList. */
  id: string;
  uri: string;
  status: HealthStatus;
  /** What lists show for a machine that is not up: its worst finding's title; undefined when up. */
  summary: string | undefined;
  findings: HealthFinding[];
  stages: HealthStage[];
  facts: HealthFacts;
  /** Total probe time in ms (the latency the view shows). */
  ms: number;
  /** When the probe finished (ms since the epoch). */
  at: number;
}

export interface ProbeParams {
  /** Machine ids from the BuildersList; every machine when absent. */
  ids?: string[];
}

/** Probes machines in parallel; each result is also sent at once as a healthNotification. */
export const probeRequest = new RequestType<ProbeParams, MachineHealth[], void>('nixBuilders/probe');

/** One machine's health, as soon as its probe is done (or starts: status `probing`). */
export const healthNotification = new NotificationType<MachineHealth>('nixBuilders/health');

export interface AskPassphraseParams {
  /** The key file, as the user knows it. */
  keyFile: string;
  /** The builder that accepts that key, when known. */
  host?: string;
  /** A public key made for this one question (base64): the answer is sealed to it with `sealSecret`. */
  sealTo: string;
}

/** The passphrase sealed to `sealTo`: base64 ciphertext that only the asking server can open. */
export interface SealedPassphrase {
  sealed: string;
}

/**
 * Server → client: ask the user for a key's passphrase. The answer is sealed, never the plain
 * passphrase, because any LSP message can be traced (`nixBuilders.trace.server`); the server
 * opens it and keeps the passphrase in memory for the session. null: the user declined.
 */
export const askPassphraseRequest = new RequestType<AskPassphraseParams, SealedPassphrase | null, void>(
  'nixBuilders/askPassphrase',
);

// The sealing is re-exported rather than written here: protocol.ts stays declarations, and the
// client, which may import this file only, gets exactly one small module with it (node:crypto only).
export { sealSecret } from './sealedSecret';

// ---------------------------------------------------------------------------------------------
// Building the current derivation on a remote builder.

/** What to build: a `.drv`, a `.nix` file (with an attribute when it holds several), a flake.nix. */
export interface BuildTarget {
  file: string;
  attr?: string;
}

/** One machine in the build quick pick, in the order shown: the one a build on `best` uses first. */
export interface BuildChoice {
  id: string;
  label: string;
  uri: string;
  kind:
    | 'chosen'
    | 'wrong-system'
    | 'missing-feature'
    | 'mandatory-not-requested'
    | 'no-slots'
    | 'busy'
    | 'down'
    | 'not-best';
  /** The derivation can be built there (it is Nix's choice, or fits but is not the best). */
  usable: boolean;
  reason: string;
  /** What the last check says, `unchecked` before any: a machine that fits on paper may be down. */
  checked: HealthStatus | 'unchecked';
  /** What sets this row apart from others of the same label (key, columns, line); '' when nothing shares it. */
  tells: string;
  /** The row's second line, in words: the reason, the check, what tells it apart. */
  detail: string;
}

export type BuildPlan =
  | {
      ok: true;
      drvPath: string;
      system: string;
      requiredFeatures: string[];
      /** The machine a build on `best` uses: Nix's choice, else the pick among a workspace file's machines. */
      best: string | undefined;
      /** Why `best` is first, in words ("Nix's choice", or the file whose pick it is). */
      bestWhy: string | undefined;
      choices: BuildChoice[];
      wouldWait: boolean;
    }
  | { ok: false; needsAttribute: string[] }
  | { ok: false; error: string };

/** Evaluates the target and says which machine Nix would pick, and why not the others. */
export const planBuildRequest = new RequestType<BuildTarget, BuildPlan, void>('nixBuilders/planBuild');

export interface StartBuildParams extends BuildTarget {
  /** Chosen by the client, so log lines can be routed before the request returns. */
  buildId: string;
  /** A machine id, `best` (Nix's choice), or `distributed` (Nix's own remote builds over the builders that answer a check). */
  on: string;
  /** The plan's `drvPath`: built as it is, so the file is not evaluated a second time. */
  drvPath?: string;
}

export interface BuildOutcome {
  buildId: string;
  ok: boolean;
  /**
   * The one machine that built it (its store URI); undefined when nothing was built (the outputs
   * were here already) or when Nix spread the work (see `builtBy`).
   */
  builtOn: string | undefined;
  /** Every machine that built a derivation, with how many; empty when nothing needed building. */
  builtBy?: { uri: string; derivations: number }[];
  /** What happened, in the words the notification, the terminal and the CLI all print. */
  summary?: string;
  outputs: { name: string; path: string }[];
  /** Why it failed, as a stable word (untrusted-user, build-failed, cancelled, …). */
  cause: string | undefined;
  message: string | undefined;
  logTail: string[];
  ms: number;
  /** Distributed builds: the machines not handed to Nix, each with a stable code and the reason. */
  leftOut?: { uri: string; code: string; reason: string }[];
}

/** Builds; the build log arrives as buildLogNotification. Cancel the request to cancel the build. */
export const startBuildRequest = new RequestType<StartBuildParams, BuildOutcome, void>('nixBuilders/build');

export interface BuildLogParams {
  buildId: string;
  /** A line of the build log. */
  line?: string;
  /** A step of the build: connect, copy-inputs, build, copy-outputs. */
  phase?: string;
  detail?: string;
}

export const buildLogNotification = new NotificationType<BuildLogParams>('nixBuilders/buildLog');

/**
 * "Choose a key file…" on a missing SSH key (a code action's command, run by the client, which
 * owns the file dialog): the chosen file replaces `range` (column 3) in the document `uri`.
 */
export const chooseKeyFileCommand = 'nixBuilders.chooseKeyFile';

export interface ChooseKeyFileArguments {
  uri: string;
  range: { start: { line: number; character: number }; end: { line: number; character: number } };
  /** Where the dialog opens: the ~/.ssh of whoever runs ssh. */
  startIn: string;
}
