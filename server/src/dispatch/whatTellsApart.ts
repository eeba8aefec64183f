// Two machines lines may name the same user@host and differ only in the key, the jobs, the
// features…: the picker would show identical rows. For each line that shares its label with
// another, the columns where it differs from them, then where it is written, so the user can
// tell which row is which line.
import type { BuilderMachine } from '../protocol';

type Column = (m: BuilderMachine) => string;

const columns: [name: string, value: Column][] = [
  ['key', (m) => m.sshKey ?? 'no key'],
  ['systems', (m) => m.systems.join(',') || 'none'],
  ['jobs', (m) => String(m.maxJobs)],
  ['speed', (m) => String(m.speedFactor)],
  ['features', (m) => m.supportedFeatures.join(',') || 'none'],
  ['mandatory', (m) => m.mandatoryFeatures.join(',') || 'none'],
  ['host key', (m) => (m.hasHostKey ? 'pinned' : 'not pinned')],
];

function written(m: BuilderMachine): string {
  return m.location?.file === undefined ? '' : `line ${m.location.line + 1} of ${m.location.file}`;
}

/** Per machine id: what tells it apart from the others of its label ('' when none shares it). */
export function whatTellsApart(machines: readonly BuilderMachine[]): Map<string, string> {
  const tells = new Map<string, string>();
  for (const machine of machines) {
    const twins = machines.filter((other) => other !== machine && other.label === machine.label);
    if (twins.length === 0) {
      tells.set(machine.id, '');
      continue;
    }
    const differs = columns
      .filter(([, value]) => twins.some((twin) => value(twin) !== value(machine)))
      .map(([name, value]) => `${name} ${value(machine)}`);
    tells.set(machine.id, [...differs, written(machine)].filter((part) => part !== '').join(', '));
  }
  return tells;
}
