// Why a file could not be read, in words, with the fix: so that an unreadable file is reported as
// unreadable, not as "missing" or "not valid JSON".
import { statSync } from 'node:fs';

/** The errno code of a Node error ('EACCES', 'ENOENT', …), or null. */
export function errnoCode(err: unknown): string | null {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' ? code : null;
}

/**
 * One clause saying why `path` cannot be read, e.g. "permission denied (mode 000, owner uid 0; you
 * are uid 1000): make it readable, e.g. chmod a+r FILE".
 */
export function readFailure(err: unknown, path: string): string {
  const code = errnoCode(err);
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM': {
      let detail = '';
      let mode = 'a+r';
      try {
        const st = statSync(path);
        detail = ` (mode ${(st.mode & 0o777).toString(8).padStart(3, '0')}, owner uid ${st.uid}${process.getuid ? `; you are uid ${process.getuid()}` : ''})`;
        if (st.isDirectory()) mode = 'a+rx'; // a directory is listed with r and entered with x
      } catch {
        detail = ' (a directory on its path cannot be searched)';
      }
      return `permission denied${detail}: make it readable, e.g. chmod ${mode} ${path}`;
    }
    case 'EISDIR':
      return 'it is a directory, not a file';
    case 'ENOTDIR':
      return 'a part of its path is a file, not a directory';
    case 'EIO':
      return 'an I/O error (a failing disk or network filesystem); copy it elsewhere and retry';
    case 'ELOOP':
      return 'its symbolic links form a loop';
    default:
      return err instanceof Error ? err.message : String(err);
  }
}
