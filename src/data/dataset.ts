// readDataset: a file → typed rows in one call (read.ts, then formats.ts).
//
//   const ds = readDataset('sst2-train.tsv', { columns: { text: 'sentence' }, expectFormat: REWARD_FORMATS });
//   if (ds.format === 'labels') ds.rows[0].label;   // 0 | 1

import type { DataFormat, DatasetOf, FormatOptions } from './formats.js';
import { toDataset } from './formats.js';
import type { ReadOptions } from './read.js';
import { readRecords } from './read.js';

export type DatasetOptions<F extends DataFormat = DataFormat> = ReadOptions & FormatOptions<F>;

/** Reads a dataset file, detects its format and parses every row (see formats.ts for the table). */
export function readDataset<F extends DataFormat = DataFormat>(file: string, options: DatasetOptions<F> = {}): DatasetOf<F> {
  const read = readRecords(file, options);
  return toDataset(read.records, read.file, options, { columns: read.columns, skipped: read.skipped, skipReasons: read.skipReasons });
}
