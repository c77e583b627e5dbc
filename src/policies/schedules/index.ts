import { configParams as p, registerBuiltInPolicy } from '../registry.js';
import { constantSchedule } from './constant-schedule.js';
import { cosineSchedule } from './cosine-schedule.js';
import { exponentialSchedule } from './exponential-schedule.js';
import { linearSchedule } from './linear-schedule.js';
import { piecewiseSchedule } from './piecewise-schedule.js';

registerBuiltInPolicy('schedule', 'constant', (c) => constantSchedule(p(c)));
registerBuiltInPolicy('schedule', 'linear', (c) => linearSchedule(p(c)));
registerBuiltInPolicy('schedule', 'cosine', (c) => cosineSchedule(p(c)));
registerBuiltInPolicy('schedule', 'exponential', (c) => exponentialSchedule(p(c)));
registerBuiltInPolicy('schedule', 'piecewise', (c) => piecewiseSchedule(p(c)));

export { constantSchedule, cosineSchedule, exponentialSchedule, linearSchedule, piecewiseSchedule };
export type { Schedule } from './schedule.js';
