// The rules of Nix 2.8, the machine's own Nix: what most tests read machines lines with.
import { nix2_8, rulesFor, type VersionRules } from '../../server/src/model/nixVersion';

export const nix2_8Rules: VersionRules = rulesFor(nix2_8);
