// The shrink tab on the page: its table of accuracies and bytes, the float model's accuracy as a reference series,
// and the link that downloads the packed weights.
import type { Chart } from './charts.js';
import type { Report, ShrinkTable } from './protocol.js';

/** The float model's series on the shrink tab's accuracy chart (a flat line: it does not train). */
export const FLOAT_SERIES = 'Float model';

/** What the shrink tab shows, for the browser test. */
export interface ShrinkReadout {
  /** The values measured so far. */
  readonly table: Partial<ShrinkTable>;
  /** The table's cells as shown, row by row. */
  readonly cells: readonly (readonly string[])[];
  /** The download link, and the bytes its Blob URL serves; null until the run is done. */
  readonly download: { readonly name: string; readonly bytes: number } | null;
}

/** The shrink tab's table and download link. */
export interface ShrinkView {
  /** Clears the table and the link for a new run. */
  reset(): void;
  /** Takes a report of the shrink run. */
  onReport(r: Report): void;
  read(): Promise<ShrinkReadout>;
}

const GRIDS: Record<number, string> = { 1: 'binary', 2: 'ternary', 3: '3-bit', 4: '4-bit' };
const percent = (v: number | undefined) => (v === undefined ? '…' : `${(100 * v).toFixed(2)}%`);
const bytes = (v: number | undefined) => (v === undefined ? '…' : `${v.toLocaleString('en')} B`);
const ratio = (float: number | undefined, v: number | undefined) => (float === undefined || v === undefined ? '…' : `${(float / v).toFixed(1)}×`);

/** The rows of the table: weights, test accuracy, bytes, and how many times smaller than float32. */
function rows(t: Partial<ShrinkTable>): string[][] {
  const grid = t.bits === undefined ? 'quantized' : (GRIDS[t.bits] ?? `${t.bits}-bit`);
  return [
    ['float32 (weights.bin)', percent(t.floatAcc), bytes(t.floatBytes), ratio(t.floatBytes, t.floatBytes)],
    ['uint8, converter-style (a byte per weight, min and scale per tensor)', 'not measured', bytes(t.uint8Bytes), ratio(t.floatBytes, t.uint8Bytes)],
    [`${grid}, packed, rounded to nearest`, percent(t.roundedAcc), bytes(t.packedBytesBefore), ratio(t.floatBytes, t.packedBytesBefore)],
    [`${grid}, packed, calibrated (quantizeCalibrated)`, percent(t.calibratedAcc), bytes(t.packedBytesBefore), ratio(t.floatBytes, t.packedBytesBefore)],
    [`${grid}, packed, after RSO repair`, percent(t.repairedAcc), bytes(t.packedBytesAfter), ratio(t.floatBytes, t.packedBytesAfter)],
  ];
}

/** The view over the tab's `<tbody>`, its download link and its reload line; the float series goes to `acc`. */
export function createShrinkView(body: HTMLTableSectionElement, link: HTMLAnchorElement, reload: HTMLElement, acc: Chart): ShrinkView {
  let table: Partial<ShrinkTable> = {};
  const render = () => {
    body.replaceChildren(
      ...rows(table).map((cells) => {
        const tr = document.createElement('tr');
        cells.forEach((text, k) => tr.append(Object.assign(document.createElement(k === 0 ? 'th' : 'td'), { textContent: text })));
        return tr;
      }),
    );
    reload.textContent =
      table.reloadMatches === undefined ? '' : `loadPackedModel(model.toJSON(), file): ${table.reloadMatches ? 'the same predictions on every test image' : 'predictions differ from the repaired model'}`;
  };
  const reset = () => {
    table = {};
    if (link.href !== '') URL.revokeObjectURL(link.href);
    link.removeAttribute('href');
    link.hidden = true;
    render();
  };
  reset();
  return {
    reset,
    onReport(r) {
      if (r.type === 'table') table = { ...table, ...r.table };
      // The float model's accuracy beside each test of the repair, so both show against the same axis.
      else if (r.type === 'accuracy' && table.floatAcc !== undefined) acc.add({ run: FLOAT_SERIES, step: r.step, seconds: r.seconds, value: table.floatAcc });
      else if (r.type === 'done' && r.result.shrink !== undefined) {
        link.href = URL.createObjectURL(new Blob([new Uint8Array(r.result.shrink.packed)], { type: 'application/octet-stream' }));
        link.download = `mnist-${GRIDS[r.result.shrink.table.bits] ?? `${r.result.shrink.table.bits}-bit`}.rsoq`;
        link.hidden = false;
      }
      render();
    },
    async read() {
      const cells = [...body.rows].map((tr) => [...tr.cells].map((c) => c.textContent ?? ''));
      const served = link.hidden ? null : { name: link.download, bytes: (await (await fetch(link.href)).arrayBuffer()).byteLength };
      return { table, cells, download: served };
    },
  };
}
