// Fetches a builder's SSH host key for "pin the host key": an ssh2 connection that ends with the
// key exchange. The host verifier records the key the server presents; once ssh2 has checked the
// server's signature with it (the `handshake` event), the connection is closed, before any
// authentication: no credentials are configured, and the auth handler refuses to try any, so no
// user name, key, password or agent is ever sent. The key comes back described as the probe
// describes a presented key (hostKeyCheck.ts).
import { Socket } from 'node:net';
import { Client, type ServerHostKeyAlgorithm } from 'ssh2';
import { blobKeyType } from '../model/hostKey';
import { presentedKey, type PresentedKey } from './hostKeyCheck';

export interface FetchHostKeyRequest {
  /** Where to connect: a resolved HostName (ProxyJump and ProxyCommand are not followed). */
  host: string;
  port: number;
  timeoutMs?: number;
  /** Host key algorithms to ask for, in order: the types already on record first, as ssh does. */
  hostKeyAlgorithms?: string[];
}

export function fetchHostKey(request: FetchHostKeyRequest): Promise<PresentedKey> {
  const timeoutMs = request.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    if (request.host.startsWith('-')) {
      reject(new Error(`'${request.host}' is not a host name`));
      return;
    }
    const client = new Client();
    const socket = new Socket();
    let captured: PresentedKey | undefined;
    let shown: PresentedKey | undefined;
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.end();
      socket.destroy();
      if (captured) resolve(captured);
      else reject(error ?? new Error('the connection closed before the key exchange finished'));
    };
    const timer = setTimeout(
      () => finish(new Error(`no SSH answer from ${request.host}:${request.port} within ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
    client.on('handshake', () => {
      captured = shown; // the server has proved it holds this key
      finish();
    });
    client.on('error', (error) => finish(error));
    client.on('close', () => finish());
    socket.setNoDelay(true);
    socket.once('error', (error) => finish(error));
    socket.connect(request.port, request.host, () => {
      client.connect({
        sock: socket,
        // Required by ssh2's API; never sent: the connection ends before authentication.
        username: 'nix-builders-key-fetch',
        tryKeyboard: false,
        readyTimeout: timeoutMs,
        authHandler: () => false,
        ...(request.hostKeyAlgorithms
          ? { algorithms: { serverHostKey: request.hostKeyAlgorithms as ServerHostKeyAlgorithm[] } }
          : {}),
        hostVerifier: (key: Buffer) => {
          if (blobKeyType(key) === undefined) return false;
          shown = presentedKey(key);
          return true;
        },
      });
    });
  });
}
