// The stream `nix-store --export` writes and `nix-store --import` reads, written here: per
// path `1`, its NAR, the export magic, the path, its references, its deriver and `0` (no legacy
// signature); after the last path `0` (Store::exportPaths / exportPath in 2.8.0
// src/libstore/export-import.cc; the same reader in 2.26.3 and 2.34.8's importPaths). For the
// copy back over `nix-store --serve` (serveSession.ts: 2.34 no longer exports over it), and for
// .drv files sent to a builder: a .drv is one regular file whose references are its input
// sources and input derivations (writeDerivation, 2.8.0 src/libstore/derivations.cc), so its
// export needs no `nix-store --export` process. Held byte for byte against real Nix by
// test/unit/serve-export-format.test.ts.
import { readFile } from 'node:fs/promises';
import { u64, wireBytes, wireString, wireStrings } from '../health/nixProtocol';
import { parseDerivation } from './derivation';

/** The word after each NAR in an export (exportMagic, 2.8.0 src/libstore/export-import.cc). */
const EXPORT_MAGIC = 0x4558494e;

/** What the export says of a path besides its NAR. */
export interface ExportedPath {
  path: string;
  /** '' when unknown. */
  deriver: string;
  references: string[];
}

/**
 * What follows a path's NAR in an export: the export magic, the path, its references, its
 * deriver and 0 (no legacy signature), as Store::exportPath writes them (2.8.0
 * src/libstore/export-import.cc; the same reader in 2.26.3 and 2.34.8 `importPaths`).
 */
export function exportTrailer(info: ExportedPath): Buffer {
  return Buffer.concat([
    u64(EXPORT_MAGIC),
    wireString(info.path),
    wireStrings(info.references),
    wireString(info.deriver),
    u64(0),
  ]);
}

/** The order `nix-store --import` needs: each path after the paths it refers to. */
export function dependenciesFirst<T extends ExportedPath>(infos: readonly T[]): T[] {
  const byPath = new Map(infos.map((info) => [info.path, info]));
  const done = new Set<string>();
  const out: T[] = [];
  const visit = (info: T) => {
    if (done.has(info.path)) return;
    done.add(info.path);
    for (const reference of info.references) {
      const dependency = byPath.get(reference);
      if (dependency !== undefined) visit(dependency);
    }
    out.push(info);
  };
  [...infos].sort((a, b) => (a.path < b.path ? -1 : 1)).forEach(visit);
  return out;
}

/** Nix's base-32 form of a hash (printHash32 in libutil/hash.cc, the same in all three). */
export function nix32(hash: Buffer): string {
  const chars = '0123456789abcdfghijklmnpqrsvwxyz';
  const length = Math.ceil((hash.length * 8) / 5);
  let out = '';
  for (let n = length - 1; n >= 0; n--) {
    const b = n * 5;
    const i = Math.floor(b / 8);
    const j = b % 8;
    const c = (hash[i]! >> j) | (i + 1 < hash.length ? hash[i + 1]! << (8 - j) : 0);
    out += chars[c & 0x1f];
  }
  return out;
}

/**
 * The NAR of a regular file (dumpPath in 2.8.0 src/libutil/archive.cc): the archive's name,
 * one node of type regular, `executable` when it is, and the contents.
 */
export function regularFileNar(contents: Buffer, executable = false): Buffer {
  return Buffer.concat([
    ...['nix-archive-1', '(', 'type', 'regular'].map(wireString),
    ...(executable ? [wireString('executable'), wireString('')] : []),
    wireString('contents'),
    wireBytes(contents),
    wireString(')'),
  ]);
}

/** The export of store derivations (`.drv` paths, read from this store), dependencies first. */
export async function derivationsExport(drvPaths: readonly string[]): Promise<Buffer> {
  const entries = await Promise.all(
    drvPaths.map(async (path) => {
      const contents = await readFile(path);
      const drv = parseDerivation(contents.toString('utf8'));
      const references = [...new Set([...drv.inputSrcs, ...drv.inputDrvs.map((input) => input.path)])].sort();
      return { path, deriver: '', references, contents };
    }),
  );
  return Buffer.concat([
    ...dependenciesFirst(entries).flatMap((entry) => [u64(1), regularFileNar(entry.contents), exportTrailer(entry)]),
    u64(0),
  ]);
}
