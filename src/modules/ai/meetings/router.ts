import { router } from '../../../api/procedures.ts';
import { meetingProcedures } from './procedures.ts';

/** Meeting rooms on LiveKit, served under `/ai/meetings/...` (REST). */
export const meetingsRouter = router(meetingProcedures);
