import { router } from '../../../api/procedures.ts';
import { contactBulk } from './bulk.ts';
import { contactReads } from './read.ts';
import { contactWrites } from './write.ts';

export const contactsRouter = router({ ...contactReads, ...contactWrites, ...contactBulk });
