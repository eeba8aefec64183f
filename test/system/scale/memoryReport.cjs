// Preloaded into the language server by the scale test (`node --expose-gc --require <this>`):
// on SIGUSR2 it runs a full garbage collection and writes the heap and RSS that remain, with a
// sequence number, to $NIXRB_MEMORY_REPORT. Memory "after GC" can only be read inside the
// process; the descriptors the test counts from outside (/proc/<pid>/fd).
const fs = require('node:fs');

const file = process.env.NIXRB_MEMORY_REPORT;
let sequence = 0;
if (file) {
  process.on('SIGUSR2', () => {
    globalThis.gc?.();
    const { heapUsed, rss } = process.memoryUsage();
    sequence += 1;
    fs.writeFileSync(`${file}.tmp`, JSON.stringify({ sequence, heapUsed, rss }));
    fs.renameSync(`${file}.tmp`, file);
  });
}
