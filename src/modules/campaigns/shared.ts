import { z } from 'zod';
import { AppError } from '../../api/errors.ts';

/** Helpers shared by the campaign procedures. */

export const tags = ['campaigns'];
export const idInput = z.object({ id: z.guid() });
export const READ = 'campaigns:read' as const;
export const WRITE = 'campaigns:write' as const;

export { iso } from '../../api/output.ts';

export function notFoundUnless<T>(row: T | undefined): T {
  if (!row) throw new AppError('NOT_FOUND');
  return row;
}

export function invalid(path: string, message: string): AppError {
  return new AppError('VALIDATION_FAILED', undefined, [{ path, message }]);
}
