// Loaded into each CLI process the robustness suite starts (node --import): on exit, writes the
// process's peak resident memory (KB) to $RLHF_RSS_FILE, so each case can assert bounded memory.
import { writeFileSync } from 'node:fs';

const file = process.env.RLHF_RSS_FILE;
if (file) {
  process.on('exit', () => {
    try {
      writeFileSync(file, String(process.resourceUsage().maxRSS));
    } catch {
      // an unwritable path only loses the measurement
    }
  });
}
