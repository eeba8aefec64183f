// Run as a client user inside the lab's client namespace: probes one machines line the way the
// server's HealthService does (the daemon flag from the local Nix, this process's own uid), and
// prints the ProbeResult as JSON. A key's passphrase, if any, comes from NIXRB_TEST_PASSPHRASE
// (the lab's throwaway passphrase: what the user would type).
import { detectLocalNix } from '../../../server/src/context/localNix';
import { runProbe } from '../../../server/src/health/probe';
import { parseBuilders } from '../../../server/src/model/machines';
import { nix2_8Rules } from '../../helpers/nix2_8Rules';

void (async () => {
  const local = await detectLocalNix();
  const machine = parseBuilders(process.argv[2] ?? '', nix2_8Rules, { localSystem: local.system }).machines[0];
  if (machine === undefined) throw new Error(`no machine in ${process.argv[2]}`);
  const passphrase = process.env.NIXRB_TEST_PASSPHRASE;
  const result = await runProbe({ ...machine, file: undefined, rowSpan: undefined } as never, {
    daemon: local.daemon,
    ...(passphrase ? { askPassphrase: async () => passphrase } : {}),
  });
  process.stdout.write(`${JSON.stringify({ daemon: local.daemon, result })}\n`);
})();
