// The types of the one export we use from @replit/codemirror-lang-nix: its package.json has an
// `exports` map without a `types` condition, so TypeScript's node16 resolution does not find
// the declarations it ships (dist/index.d.ts says the same: an LR parser).
declare module '@replit/codemirror-lang-nix' {
  export const parser: import('@lezer/lr').LRParser;
}
