// Errors of the data layer. Each names the file, the 1-based line of the bad row, the field, and
// the fix ("pass --columns text=sentence", "quote fields that contain commas", …).

export interface DataErrorLocation {
  /** The file that was read ('' for in-memory records). */
  file: string;
  /** The 1-based line where the bad row starts (null when the problem is the whole file). */
  line?: number | null;
  /** The column (field) at fault, after any --columns renaming (null when not one field). */
  field?: string | null;
}

/** A dataset file or one of its rows cannot be used. The message says where and how to fix it. */
export class DataError extends Error {
  override name = 'DataError';
  readonly file: string;
  readonly line: number | null;
  readonly field: string | null;
  /** The message without the "file:line: " prefix (what `skipInvalid` records as a reason). */
  readonly reason: string;

  constructor(location: DataErrorLocation, reason: string, options?: ErrorOptions) {
    const line = location.line ?? null;
    const field = location.field ?? null;
    const where = location.file === '' ? (line === null ? '' : `line ${line}: `) : line === null ? `${location.file}: ` : `${location.file}:${line}: `;
    super(`${where}${field === null ? '' : `field "${field}": `}${reason}`, options);
    this.file = location.file;
    this.line = line;
    this.field = field;
    this.reason = field === null ? reason : `field "${field}": ${reason}`;
  }
}
