// A stand-in for an SSH connection, for the pool's bookkeeping tests: it opens nothing, and
// closing it calls its listeners as a real one does (the system tests use real connections).
import type { Connection } from '../../../server/src/ssh/connect';

export function fakeConnection(): Connection & { closeCount: number } {
  let closed = false;
  const listeners: Array<(lostBecause: string | undefined) => void> = [];
  const connection = {
    client: {} as Connection['client'],
    host: {} as Connection['host'],
    hostKey: {} as Connection['hostKey'],
    identities: [],
    authenticatedWith: undefined,
    lostBecause: undefined,
    closeCount: 0,
    get closed() {
      return closed;
    },
    close() {
      connection.closeCount++;
      if (!closed) {
        closed = true;
        for (const listener of listeners.splice(0)) listener(undefined);
      }
    },
    onClose(listener: (lostBecause: string | undefined) => void) {
      if (closed) listener(undefined);
      else listeners.push(listener);
      return () => undefined;
    },
  };
  return connection;
}
