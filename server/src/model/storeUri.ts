// The parts of a machine's store URI (`ssh-ng://nix@builder:2222?ssh-key=…`) as Nix and ssh see
// them: the scheme picks the protocol, `user@host` goes to ssh, the query holds store settings.

export interface StoreUriParts {
  /** `ssh`, `ssh-ng`, `http`, … (`ssh` for a bare host, as Nix prepends `ssh://`). */
  scheme: string;
  user: string | undefined;
  /** What ssh is asked to connect to (an ssh_config Host alias or a real name). */
  host: string;
  /** A `:port` after the host, as text; whether Nix passes it on depends on the version. */
  port: string | undefined;
  /** Store settings from `?name=value&…`. */
  params: Record<string, string>;
  /** Offsets in the URI text, for ranges: `[user@]host[:port]` runs from authorityStart to authorityEnd. */
  authorityStart: number;
  authorityEnd: number;
  hostStart: number;
  hostEnd: number;
  /** Where the port's digits start (after the `:`); undefined without a port. */
  portStart: number | undefined;
}

export function parseStoreUri(uri: string): StoreUriParts {
  const schemeEnd = uri.indexOf('://');
  const scheme = schemeEnd === -1 ? 'ssh' : uri.slice(0, schemeEnd);
  const authorityStart = schemeEnd === -1 ? 0 : schemeEnd + 3;
  const queryStart = uri.indexOf('?', authorityStart);
  const authorityEnd = queryStart === -1 ? uri.length : queryStart;
  const authority = uri.slice(authorityStart, authorityEnd);
  const at = authority.lastIndexOf('@');
  const user = at === -1 ? undefined : authority.slice(0, at);
  let hostStart = authorityStart + at + 1;
  let hostText = authority.slice(at + 1);
  let port: string | undefined;
  // `[v6]:port` or `host:port`; a bare IPv6 address (several colons) has no port.
  const bracketed = /^\[([^\]]*)\](?::(\d*))?$/.exec(hostText);
  if (bracketed) {
    port = bracketed[2];
    hostText = hostText.slice(0, bracketed[1]!.length + 2);
  } else if (hostText.split(':').length === 2) {
    const colon = hostText.indexOf(':');
    port = hostText.slice(colon + 1);
    hostText = hostText.slice(0, colon);
  }
  const params: Record<string, string> = {};
  if (queryStart !== -1) {
    for (const pair of uri.slice(queryStart + 1).split('&')) {
      if (!pair) continue;
      const eq = pair.indexOf('=');
      const name = eq === -1 ? pair : pair.slice(0, eq);
      const value = eq === -1 ? '' : pair.slice(eq + 1);
      try {
        params[decodeURIComponent(name)] = decodeURIComponent(value);
      } catch {
        params[name] = value;
      }
    }
  }
  if (hostStart < authorityStart) hostStart = authorityStart;
  const hostEnd = hostStart + hostText.length;
  return {
    scheme,
    user,
    host: hostText,
    port,
    params,
    authorityStart,
    authorityEnd,
    hostStart,
    hostEnd,
    portStart: port === undefined ? undefined : hostEnd + 1,
  };
}

/** A short name for a machine in lists and symbols: `user@host` or `host`. */
export function machineLabel(storeUri: string): string {
  const { user, host, port } = parseStoreUri(storeUri);
  const where = port ? `${host}:${port}` : host;
  return (user ? `${user}@${where}` : where) || storeUri;
}
