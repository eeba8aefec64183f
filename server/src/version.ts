// The extension's version, read from package.json at build time (esbuild inlines the JSON),
// so the server, the CLI and the client report the same number.
import manifest from '../../package.json';

export const extensionVersion: string = manifest.version;
