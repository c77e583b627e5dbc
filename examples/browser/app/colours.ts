/**
 * One colour per series, the same in every chart of the demo (vega's category colours, in order): the trainers,
 * then the shrink tab's repair and its float model.
 */
export const TRAINER_COLOURS: Readonly<Record<string, string>> = { RSO: '#4c78a8', Adam: '#f58518', 'RSO repair': '#e45756', 'Float model': '#72b7b2' };

/** The colour of a series that is not a known trainer. */
export const OTHER_COLOUR = '#54a24b';
