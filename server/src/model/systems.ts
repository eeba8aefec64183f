// The system types Nix builds for (`x86_64-linux`, …). Nix itself accepts any string in the
// systems column; a string no one builds for makes the machine silently useless, so the
// language server warns about names outside this list and suggests the nearest one.

/** The systems users build for most, first in completions. */
export const commonSystems = [
  'x86_64-linux',
  'aarch64-linux',
  'aarch64-darwin',
  'x86_64-darwin',
  'i686-linux',
] as const;

/** Every system double nixpkgs knows (lib.systems.doubles.all), plus Nix's own `builtin`. */
export const knownSystems: ReadonlySet<string> = new Set([
  ...commonSystems,
  // Linux
  'armv5tel-linux',
  'armv6l-linux',
  'armv7a-linux',
  'armv7l-linux',
  'loongarch64-linux',
  'm68k-linux',
  'microblaze-linux',
  'microblazeel-linux',
  'mips-linux',
  'mips64-linux',
  'mips64el-linux',
  'mipsel-linux',
  'powerpc-linux',
  'powerpc64-linux',
  'powerpc64le-linux',
  'riscv32-linux',
  'riscv64-linux',
  's390-linux',
  's390x-linux',
  // Darwin
  'i686-darwin',
  'armv7a-darwin',
  // BSDs, illumos, others
  'i686-freebsd',
  'x86_64-freebsd',
  'aarch64-freebsd',
  'armv6l-freebsd',
  'armv7l-freebsd',
  'powerpc64-freebsd',
  'powerpc64le-freebsd',
  'riscv64-freebsd',
  'aarch64-netbsd',
  'armv6l-netbsd',
  'armv7a-netbsd',
  'armv7l-netbsd',
  'i686-netbsd',
  'm68k-netbsd',
  'mipsel-netbsd',
  'powerpc-netbsd',
  'riscv32-netbsd',
  'riscv64-netbsd',
  'x86_64-netbsd',
  'i686-openbsd',
  'x86_64-openbsd',
  'aarch64-openbsd',
  'riscv64-openbsd',
  'x86_64-solaris',
  'x86_64-redox',
  'aarch64-genode',
  'i686-genode',
  'x86_64-genode',
  'i686-cygwin',
  'x86_64-cygwin',
  'aarch64-windows',
  'i686-windows',
  'x86_64-windows',
  'wasm32-wasi',
  'wasm64-wasi',
  'javascript-ghcjs',
  'mmix-mmixware',
  // Bare metal
  'aarch64-none',
  'aarch64_be-none',
  'arm-none',
  'armv6l-none',
  'avr-none',
  'i686-none',
  'm68k-none',
  'microblaze-none',
  'microblazeel-none',
  'mips-none',
  'mips64-none',
  'msp430-none',
  'or1k-none',
  'powerpc-none',
  'powerpcle-none',
  'riscv32-none',
  'riscv64-none',
  'rx-none',
  's390-none',
  's390x-none',
  'vc4-none',
  'x86_64-none',
  // Derivations with system "builtin" (builtins.fetchurl) run inside Nix itself.
  'builtin',
]);

/** What a system means, for hovers. */
export function describeSystem(system: string): string | undefined {
  const [arch, ...rest] = system.split('-');
  const os = rest.join('-');
  if (system === 'builtin') return "Nix's own built-in builders (such as builtins.fetchurl); any machine can run them.";
  if (!knownSystems.has(system) || !arch) return undefined;
  const osNames: Record<string, string> = {
    linux: 'Linux',
    darwin: 'macOS',
    freebsd: 'FreeBSD',
    netbsd: 'NetBSD',
    openbsd: 'OpenBSD',
    solaris: 'illumos',
    windows: 'Windows',
    cygwin: 'Cygwin',
    none: 'bare metal (no OS)',
    wasi: 'WebAssembly (WASI)',
    redox: 'Redox',
    genode: 'Genode',
  };
  return `${arch} CPUs running ${osNames[os] ?? os}.`;
}
