// Which machine Nix's build hook picks for one derivation (build-remote.cc, "How Nix picks a
// machine" in docs): a pure function, so the view, the CLI and the build command all give the
// same answer, and the tests can hold it against Nix itself.
//
// 1. Eligible: the derivation's system is `builtin` or one of the machine's systems; every
//    required feature is supported or mandatory; every mandatory feature is required.
// 2. A machine with no free slot (load = maxJobs) is skipped.
// 3. Best: the lowest load / speedFactor (integer division before Nix 2.20); on a tie the higher
//    speedFactor; then the lower load; then the earlier line (comparisons are strict).

import type { Machine } from '../model/machines';

export interface Candidate {
  id: string;
  /** For messages: the store URI. */
  uri: string;
  systems: readonly string[];
  maxJobs: number;
  speedFactor: number;
  supportedFeatures: readonly string[];
  mandatoryFeatures: readonly string[];
  /** Busy slots: the builds running there now. */
  load: number;
  /** Why the machine cannot be used now (its last probe failed), or undefined. */
  down?: string | undefined;
}

/** A machine as the selector sees it; `load` is the builds running there, `down` why it is unusable. */
export function candidateOf(
  id: string,
  machine: Pick<
    Machine,
    'storeUri' | 'systems' | 'maxJobs' | 'speedFactor' | 'supportedFeatures' | 'mandatoryFeatures'
  >,
  load = 0,
  down?: string,
): Candidate {
  return {
    id,
    uri: machine.storeUri,
    systems: machine.systems,
    maxJobs: machine.maxJobs,
    speedFactor: machine.speedFactor,
    supportedFeatures: machine.supportedFeatures,
    mandatoryFeatures: machine.mandatoryFeatures,
    load,
    down,
  };
}

export interface DerivationNeeds {
  system: string;
  requiredFeatures: readonly string[];
}

export type VerdictKind =
  'chosen' | 'wrong-system' | 'missing-feature' | 'mandatory-not-requested' | 'no-slots' | 'busy' | 'down' | 'not-best';

export interface Verdict {
  candidate: Candidate;
  kind: VerdictKind;
  /** In the user's words: why this machine is or is not the one. */
  reason: string;
}

export interface Selection {
  chosen: Candidate | undefined;
  /** One per candidate, in file order. */
  verdicts: Verdict[];
  /**
   * No machine now, but one of the right type is busy: Nix waits for it when the derivation
   * cannot be built locally ("postpone"); otherwise it declines and builds locally if it can.
   */
  wouldWait: boolean;
}

export interface SelectionRules {
  /** Before Nix 2.20 `load / speedFactor` is an integer division. */
  integerLoadDivision: boolean;
}

function eligibility(candidate: Candidate, needs: DerivationNeeds): Verdict | undefined {
  if (needs.system !== 'builtin' && !candidate.systems.includes(needs.system)) {
    const has = candidate.systems.length ? candidate.systems.join(', ') : 'no systems';
    return { candidate, kind: 'wrong-system', reason: `builds for ${has}, not ${needs.system}` };
  }
  const offered = new Set([...candidate.supportedFeatures, ...candidate.mandatoryFeatures]);
  const missing = needs.requiredFeatures.filter((feature) => !offered.has(feature));
  if (missing.length)
    return {
      candidate,
      kind: 'missing-feature',
      reason: `lacks the feature${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`,
    };
  const required = new Set(needs.requiredFeatures);
  const unmet = candidate.mandatoryFeatures.filter((feature) => !required.has(feature));
  if (unmet.length) {
    return {
      candidate,
      kind: 'mandatory-not-requested',
      reason: `only takes derivations that require ${unmet.join(', ')}`,
    };
  }
  return undefined;
}

export function selectMachine(
  candidates: readonly Candidate[],
  needs: DerivationNeeds,
  rules: SelectionRules,
): Selection {
  const verdicts = new Map<Candidate, Verdict>();
  let best: Candidate | undefined;
  let rightType = false;
  const score = (c: Candidate) =>
    rules.integerLoadDivision ? Math.floor(c.load / c.speedFactor) : c.load / c.speedFactor;

  for (const candidate of candidates) {
    const ineligible = eligibility(candidate, needs);
    if (ineligible) {
      verdicts.set(candidate, ineligible);
      continue;
    }
    if (candidate.down !== undefined) {
      // Nix finds this out when it connects, prints "cannot build on …" and moves on.
      verdicts.set(candidate, { candidate, kind: 'down', reason: candidate.down });
      continue;
    }
    rightType = true;
    if (candidate.maxJobs === 0) {
      verdicts.set(candidate, { candidate, kind: 'no-slots', reason: 'has maxJobs 0, so Nix never gives it a job' });
      continue;
    }
    if (candidate.load >= candidate.maxJobs) {
      verdicts.set(candidate, {
        candidate,
        kind: 'busy',
        reason: `all ${candidate.maxJobs} slot${candidate.maxJobs === 1 ? ' is' : 's are'} busy`,
      });
      continue;
    }
    let better = false;
    if (best === undefined) better = true;
    else if (score(candidate) < score(best)) better = true;
    else if (score(candidate) === score(best)) {
      if (candidate.speedFactor > best.speedFactor) better = true;
      else if (candidate.speedFactor === best.speedFactor && candidate.load < best.load) better = true;
    }
    if (better) best = candidate;
  }

  const describeScore = (c: Candidate) => `load ${c.load}/${c.maxJobs}, speed ${c.speedFactor}`;
  for (const candidate of candidates) {
    if (verdicts.has(candidate)) continue;
    if (candidate === best) {
      verdicts.set(candidate, {
        candidate,
        kind: 'chosen',
        reason: `the least loaded for its speed (${describeScore(candidate)})`,
      });
    } else if (best) {
      // Same load and speed: only the order of the lines sets them apart, so say that.
      const why =
        candidate.load === best.load && candidate.speedFactor === best.speedFactor
          ? `same load and speed (${describeScore(candidate)}), and its line is earlier`
          : `${describeScore(candidate)} vs ${describeScore(best)}`;
      verdicts.set(candidate, { candidate, kind: 'not-best', reason: `fits, but ${best.uri} comes first (${why})` });
    }
  }
  return {
    chosen: best,
    verdicts: candidates.map((c) => verdicts.get(c)!),
    wouldWait: best === undefined && rightType && candidates.some((c) => verdicts.get(c)?.kind === 'busy'),
  };
}
