// Column 1 as a store reference: from Nix 2.23 on, reading a machine parses its store URI at
// once (`StoreReference::parse` in the Machine constructor, b3ebcc5aad1f "Use the new
// `StoreReference` in `Machine`"), so a URI that is not one fails the whole builders list:
// `Cannot parse Nix store '<uri>'`. Two parsers, one per era:
//   2.23-2.30  a regex of Nix's own (url-parts.hh, unchanged in that range), ported as is;
//   2.31 on    boost::urls (RFC 3986) in "lenient" mode, with Nix's shims for unbracketed IPv6
//              and zone ids. That one is modelled on RFC 3986 and checked against real 2.34.8.
// When the URL does not parse, Nix falls back to `auto`, `daemon`, `local` or a path, after
// decoding the query, whose own errors are not caught (`invalid URI parameter '…'` /
// `invalid URI query '…': leftover`). Before 2.23 nothing is parsed here.
import type { VersionRules } from './nixVersion';

/** The message Nix fails with for this store URI (as Nix reads it, `ssh://` prepended), or undefined. */
export function storeReferenceError(uri: string, rules: VersionRules): string | undefined {
  if (!rules.storeUriParsedWithMachine) return undefined;
  return rules.storeUriIsRfc3986 ? boostEra(uri) : regexEra(uri);
}

// --- 2.23-2.30: url-parts.hh ----------------------------------------------------------------
const pct = '(?:%[0-9a-fA-F][0-9a-fA-F])';
const unreserved = '(?:[a-zA-Z0-9\\-._~])';
const subdelims = `(?:[!$&'"()*+,;=])`;
const ipv6Segment = '[0-9a-fA-F:]+(?:%\\w+)?';
const ipv6 = `(?:\\[${ipv6Segment}\\]|${ipv6Segment})`;
const hostname = `(?:(?:${unreserved}|${pct}|${subdelims})*)`;
const host = `(?:${ipv6}|${hostname})`;
const user = `(?:(?:${unreserved}|${pct}|${subdelims}|:)*)`;
const authority = `(?:${user}@)?${host}(?::[0-9]+)?`;
const pchar = `(?:${unreserved}|${pct}|${subdelims}|[:@])`;
const query = `(?:${pchar}|[/? "])*`;
const fragment = `(?:${pchar}|[/? "^])*`;
const segment = `(?:${pchar}*)`;
const absPath = `(?:(?:/${segment})*/?)`;
const path = `(?:${segment}(?:/${segment})*/?)`;
const nixUrl = new RegExp(
  `^((?:[a-z][a-z0-9+.-]*)):(?:(?://(${authority})(${absPath}))|(/?${path}))(?:\\?(${query}))?(?:#(${fragment}))?$`,
);

function regexEra(uri: string): string | undefined {
  const match = nixUrl.exec(uri);
  // parseURL also refuses a file:// URL with an authority; that falls back like a mismatch.
  const fileWithAuthority = match !== null && /(^|\+)file$/.test(match[1]!) && (match[2] ?? '') !== '';
  if (match !== null && !fileWithAuthority) return undefined;
  const q = uri.indexOf('?');
  if (q >= 0) {
    for (const piece of uri.slice(q + 1).split('&')) {
      const equals = piece.indexOf('=');
      if (piece === '' || equals < 0) continue; // "dubious URI query": a warning, ignored
      const value = piece.slice(equals + 1);
      if (!percentDecodes(value)) return `invalid URI parameter '${value}'`;
    }
  }
  return fallsBack(q >= 0 ? uri.slice(0, q) : uri) ? undefined : `Cannot parse Nix store '${uri}'`;
}

/** Nix's percentDecode: each `%` needs two more characters that `std::stoul(…, 16)` reads a number from. */
function percentDecodes(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '%') continue;
    if (i + 2 >= text.length) return false;
    if (!/^\s*[+-]?[0-9a-fA-F]/.test(text.slice(i + 1, i + 3))) return false;
    i += 2;
  }
  return true;
}

/** The stores that need no URL: `auto` (also empty), `daemon`, `local`, or a path (no `://`, a `/`). */
function fallsBack(base: string): boolean {
  return (
    base === '' ||
    base === 'auto' ||
    base === 'daemon' ||
    base === 'local' ||
    (!base.includes('://') && base.includes('/'))
  );
}

// --- 2.31 on: boost::urls, RFC 3986 ------------------------------------------------------------
const rfcUnreserved = '[A-Za-z0-9\\-._~]';
const rfcSubdelims = "[!$&'()*+,;=]";
const rfcPchar = `(?:${rfcUnreserved}|${pct}|${rfcSubdelims}|[:@])`;
const rfcRegName = `(?:${rfcUnreserved}|${pct}|${rfcSubdelims})*`;
const rfcUserinfo = `(?:${rfcUnreserved}|${pct}|${rfcSubdelims}|:)*`;
// An IPv6 address (checked further by ipLiteralValid) or an IPvFuture (`[v1.x]`, seen on 2.34.8).
const rfcIpLiteral =
  "\\[(?:[0-9A-Fa-f:.]+(?:%25(?:[A-Za-z0-9\\-._~]|%[0-9A-Fa-f]{2})+)?|[vV][0-9A-Fa-f]+\\.[A-Za-z0-9\\-._~!$&'()*+,;=:]+)\\]";
const rfcAuthority = `(?:${rfcUserinfo}@)?(?:${rfcIpLiteral}|${rfcRegName})(?::[0-9]*)?`;
const rfcSegment = `${rfcPchar}*`;
const rfcPath = `(?://${rfcAuthority}(?:/${rfcSegment})*|/(?:${rfcPchar}+(?:/${rfcSegment})*)?|${rfcPchar}+(?:/${rfcSegment})*|)`;
// boost.url takes `[` and `]` in a query (seen on 2.34.8: `?a=[x]` is accepted).
const rfcQuery = `(?:${rfcPchar}|[/?\\[\\]])*`;
const rfcFragment = `(?:${rfcPchar}|[/?])*`;
const rfcUrl = new RegExp(`^[A-Za-z][A-Za-z0-9+.\\-]*:${rfcPath}(?:\\?${rfcQuery})?(?:#${rfcFragment})?$`);
const rfcQueryOnly = new RegExp(`^${rfcQuery}$`);

function boostEra(uri: string): string | undefined {
  // Lenient mode: spaces and `"` in the query, and also `^` in the fragment, are encoded first.
  const q = uri.indexOf('?');
  const hash = uri.indexOf('#', q < 0 ? 0 : q);
  const lenient = (text: string, extra: RegExp) => text.replace(extra, '%20');
  let fixed = uri;
  if (q >= 0) {
    const queryEnd = hash < 0 ? uri.length : hash;
    fixed =
      uri.slice(0, q + 1) +
      lenient(uri.slice(q + 1, queryEnd), /[ "]/g) +
      (hash < 0 ? '' : '#' + lenient(uri.slice(hash + 1), /[ "^]/g));
  } else if (hash >= 0) {
    fixed = uri.slice(0, hash + 1) + lenient(uri.slice(hash + 1), /[ "^]/g);
  }
  const fileWithAuthority = /^([A-Za-z0-9+.-]*\+)?file:\/\/[^/?#]/i.test(uri); // refused as in 2.23-2.30
  if (rfcUrl.test(fixed) && !fileWithAuthority && ipLiteralValid(fixed)) return undefined;
  if (q >= 0) {
    const queryText = uri.slice(q + 1);
    if (!rfcQueryOnly.test(lenient(queryText, /[ "]/g))) return `invalid URI query '${queryText}': leftover`;
  }
  const base = q >= 0 ? uri.slice(0, q) : uri;
  return fallsBack(base) || unbracketedIpv6(base) ? undefined : `Cannot parse Nix store '${uri}'`;
}

/**
 * boost::urls checks what is between `[` and `]` in the authority: an IPv6 address (the last 32
 * bits may be written as IPv4), with a `%25` zone id; `[:1]` is refused (seen on 2.34.8).
 */
function ipLiteralValid(url: string): boolean {
  const authority = /^[A-Za-z][A-Za-z0-9+.\-]*:\/\/([^/?#]*)/.exec(url)?.[1];
  if (authority === undefined) return true;
  const host = authority.slice(authority.lastIndexOf('@') + 1);
  if (!host.startsWith('[') || /^\[v/i.test(host)) return true;
  const address = host.slice(1, host.indexOf(']')).replace(/%25.*$/, '');
  const ipv4 = /^(.*:)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(address);
  if (ipv4 === null) return isIpv6(address);
  if (!ipv4[2]!.split('.').every((n) => Number(n) <= 255 && !/^0\d/.test(n))) return false;
  // The IPv4 part stands for the last two groups.
  return isIpv6(`${ipv4[1]!}0:0`);
}

/** Nix's back-compat shim: `scheme://[user@]::1` or `…fe80::1%eth0`, IPv6 without brackets (or with a raw `%`). */
function unbracketedIpv6(base: string): boolean {
  const scheme = base.indexOf(':');
  if (scheme < 0) return false;
  let authority = base.slice(scheme + 1).replace(/^\/\//, '');
  const at = authority.indexOf('@');
  if (at >= 0) authority = authority.slice(at + 1);
  if (authority.startsWith('[') && authority.endsWith(']')) authority = authority.slice(1, -1);
  const address = authority.replace(/%(25)?[A-Za-z0-9\-._~]+$/, '');
  return address.includes(':') && isIpv6(address);
}

function isIpv6(text: string): boolean {
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const all = halves.flatMap(groups);
  if (!all.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return false;
  return halves.length === 2 ? all.length <= 7 : all.length === 8;
}
