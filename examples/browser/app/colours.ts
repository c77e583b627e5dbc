/** One colour per trainer, the same in every chart of the demo (vega's first two category colours). */
export const TRAINER_COLOURS: Readonly<Record<string, string>> = { RSO: '#4c78a8', Adam: '#f58518' };

/** The colour of a series that is not a known trainer. */
export const OTHER_COLOUR = '#54a24b';
