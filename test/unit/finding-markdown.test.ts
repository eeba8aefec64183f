// Every finding's Markdown, parsed back by a real CommonMark parser (markdown-it, as VS Code
// renders tooltips), shows exactly the words of the message: the commands verbatim in code
// spans (`[[ $- == *i* ]] || return` keeps its asterisks), and nothing else becomes markup,
// however hostile the text that came from a builder or a file.
//   node --import tsx --test test/unit/finding-markdown.test.ts
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import {
  FINDINGS,
  makeFinding,
  messageOf,
  type FindingCode,
  type FindingContext,
} from '../../server/src/health/findings';

const findingCodes = Object.keys(FINDINGS) as FindingCode[];
import { partsOf } from '../../server/src/health/findingText';

interface Token {
  type: string;
  content: string;
  children: Token[] | null;
}
const MarkdownIt = createRequire(__filename)('markdown-it') as new () => { parse(text: string, env: object): Token[] };
const markdown = new MarkdownIt();

/** Markdown and HTML that would do something if they were not escaped. */
const hostile = '*em* _u_ **b** [link](command:x) <b>x</b> `tick` ``` # h \\ $(icon) | a | ~~s~~ &amp; \uE000open';

const contexts: FindingContext[] = [
  {
    uri: 'ssh://nix_*b*',
    alias: 'nix_*b*',
    user: 'ad_min',
    hostName: 'h_*x*',
    port: 2222,
    detail: hostile,
    keyFile: '/home/a_b/*key*`x`',
    otherKey: hostile,
    keyType: 'ssh-ed25519',
    fingerprint: 'SHA256:a_b*c',
    expectedFingerprint: 'SHA256:d_e*f',
    keySource: '/k_*h*:3',
    recordedKey: { kind: 'known-hosts', file: '/root/.ssh/known_*hosts*', line: 3, lookupName: 'nix_*b*' },
    lookupName: 'nix_*b*',
    knownHostsFiles: ['/a_*b*'],
    column8NameMismatch: false,
    program: 'nix-store',
    protocol: 'ssh',
    output: `Welcome *friend*\n\`date\` [x](y)`,
    systems: ['x86_64-*linux*'],
    builderSystems: ['aarch64_*linux*'],
    features: ['kvm', 'big_*parallel*'],
    builderFeatures: ['nixos-test'],
    kvmMissing: true,
    freeBytes: 1,
    thresholdBytes: 2,
    summary: hostile,
    differences: [hostile],
    timeoutMs: 1500,
    strictHostKeyChecking: 'yes',
    daemon: true,
  },
  {
    uri: 'ssh-ng://b',
    alias: 'b',
    protocol: 'ssh-ng',
    column8NameMismatch: true,
    lookupName: '127.0.0.1',
    recordedKey: { kind: 'column-8' },
  },
];

/** The inline tokens of a single paragraph; fails on any other block (heading, list, code block). */
function inlineTokens(text: string): Token[] {
  const blocks = markdown.parse(text, {});
  assert.deepEqual(
    blocks.map((token) => token.type),
    ['paragraph_open', 'inline', 'paragraph_close'],
    `one paragraph: ${text}`,
  );
  return blocks[1]!.children ?? [];
}

/** What a reader sees, and the code spans in it. */
function rendered(text: string): { visible: string; spans: string[] } {
  const tokens = inlineTokens(text);
  const kinds = new Set(tokens.map((token) => token.type));
  for (const kind of kinds)
    assert.ok(kind === 'text' || kind === 'code_inline', `markup from the message: ${kind} in ${text}`);
  return {
    visible: tokens.map((token) => token.content).join(''),
    spans: tokens.filter((token) => token.type === 'code_inline').map((token) => token.content),
  };
}

describe('every finding as Markdown', () => {
  for (const code of findingCodes) {
    test(`${code}: the rendered Markdown shows the message verbatim, commands as code spans`, () => {
      for (const context of contexts) {
        const finding = makeFinding(code, context);
        assert.ok(finding.markdown, 'a Markdown form');
        const parts = partsOf(messageOf(code, context));
        const { visible, spans } = rendered(finding.markdown);
        assert.equal(
          visible,
          parts
            .map((part) => part.text)
            .join('')
            .trimStart(),
        );
        assert.deepEqual(
          spans,
          parts.filter((part) => part.code).map((part) => part.text),
        );
        assert.ok(!/[\uE000\uE001]/.test(finding.message + finding.markdown), 'no span marker leaks');
      }
    });
  }

  /** Commands a user copies from a finding, each of which must be one whole code span. */
  const commands: Array<[FindingCode, string]> = [
    ['shell-noise', '[[ $- == *i* ]] || return'],
    ['shell-noise', '~/.bashrc'],
    ['key-encrypted', "ssh-keygen -p -f '/home/a_b/*key*`x`'"],
    ['key-passphrase-prompt', "ssh-keygen -p -f '/home/a_b/*key*`x`'"],
    ['host-key-unknown', 'ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub'],
    ['host-key-mismatch', 'ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub'],
    ['host-key-mismatch', "ssh-keygen -R 'nix_*b*' -f '/root/.ssh/known_*hosts*'"],
    ['untrusted-user', 'nix.settings.trusted-users = [ "ad_min" ];'],
    ['untrusted-user', 'extra-trusted-users = ad_min'],
    ['remote-daemon-down', 'sudo systemctl start nix-daemon'],
    ['remote-daemon-down', 'sudo launchctl kickstart -k system/org.nixos.nix-daemon'],
    ['remote-command-timeout', "ssh 'nix_*b*' nix-store --version"],
    ['nix-not-found', '?remote-program=/nix/var/nix/profiles/default/bin/nix-store'],
    ['connect-timeout', 'ConnectTimeout 5'],
    ['low-disk', 'nix-collect-garbage -d'],
    ['proxy-command-unsupported', 'ProxyCommand ssh -W %h:%p <host>'],
  ];
  for (const [code, command] of commands) {
    test(`${code}: ${command} is a code span, verbatim`, () => {
      const { spans } = rendered(makeFinding(code, contexts[0]!).markdown!);
      assert.ok(spans.includes(command), `${JSON.stringify(command)} among ${JSON.stringify(spans)}`);
    });
  }

  test('the plain message writes a code span between backticks, as the CLI shows it', () => {
    const message = makeFinding('shell-noise', contexts[0]!).message;
    assert.ok(message.includes('`[[ $- == *i* ]] || return`'), message);
  });
});
