// How to run `nix-store` on a builder so that it talks to the same store Nix itself would use
// there. Nix opens an ssh:// builder with `<remote-program> --serve --write` (default
// `nix-store`) and an ssh-ng:// builder with `<remote-program> --stdio` (default `nix-daemon`),
// both followed by `--store <remote-store>` when the URI's query sets it. The offload speaks
// the first protocol for both (serveSession.ts: `nix-store --serve --write`), so:
//   - ssh://: remote-program *is* nix-store (a path or a name on the remote PATH);
//   - ssh-ng://: remote-program is nix-daemon; nix-store is the program next to it.
// Without `--store`, both end up at the same store as Nix's own connection: on Nix 2.8 a user
// that cannot write the store database is sent to the builder's nix-daemon (store `auto`), which
// is where `nix-daemon --stdio` forwards an ssh-ng session too (checked on the lab's healthyNg:
// the daemon enforces trusted-users for our imports exactly as for Nix's own).
import { parseStoreUri } from '../model/storeUri';

export interface RemoteNixStore {
  /** The `nix-store` program to run on the builder (a name looked up on its PATH, or a path). */
  program: string;
  /** `['--store', <remote-store>]` when the URI sets remote-store, else empty. */
  storeArgs: string[];
  protocol: 'ssh' | 'ssh-ng';
}

/** The nix-store command for a machine's store URI, honouring remote-program and remote-store. */
export function remoteNixStore(storeUri: string): RemoteNixStore {
  const uri = parseStoreUri(storeUri);
  const protocol = uri.scheme === 'ssh-ng' ? 'ssh-ng' : 'ssh';
  const remoteProgram = uri.params['remote-program'];
  let program = 'nix-store';
  if (remoteProgram !== undefined && remoteProgram !== '') {
    if (protocol === 'ssh') {
      program = remoteProgram;
    } else {
      // The daemon's directory holds nix-store too (every Nix installation ships both).
      const slash = remoteProgram.lastIndexOf('/');
      program = slash >= 0 ? `${remoteProgram.slice(0, slash + 1)}nix-store` : 'nix-store';
    }
  }
  const remoteStore = uri.params['remote-store'];
  return { program, storeArgs: remoteStore ? ['--store', remoteStore] : [], protocol };
}

/** `nix-store [--store X]`: the start of every store command on the builder. */
export function nixStoreCommand(store: RemoteNixStore): string[] {
  return [store.program, ...store.storeArgs];
}
