import { configParams as p, registerPolicy } from '../registry.js';
import { constantSchedule } from './constant-schedule.js';
import { cosineSchedule } from './cosine-schedule.js';
import { exponentialSchedule } from './exponential-schedule.js';
import { linearSchedule } from './linear-schedule.js';
import { piecewiseSchedule } from './piecewise-schedule.js';

registerPolicy('schedule', 'constant', (c) => constantSchedule(p(c)));
registerPolicy('schedule', 'linear', (c) => linearSchedule(p(c)));
registerPolicy('schedule', 'cosine', (c) => cosineSchedule(p(c)));
registerPolicy('schedule', 'exponential', (c) => exponentialSchedule(p(c)));
registerPolicy('schedule', 'piecewise', (c) => piecewiseSchedule(p(c)));

export { constantSchedule, cosineSchedule, exponentialSchedule, linearSchedule, piecewiseSchedule };
export type { Schedule } from './schedule.js';
