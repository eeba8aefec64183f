// Run as a client user inside the lab's client namespace: prints what server/src/localMachine
// finds for that user, as JSON (the system tests read it; the module runs as that user for real).
import { detectLocalMachine } from '../../../server/src/localMachine/localMachine';

void detectLocalMachine().then((info) => process.stdout.write(`${JSON.stringify(info)}\n`));
