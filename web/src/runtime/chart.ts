import type { RuntimeSample } from '../../../src/server/api-types.js';
import { h, s } from '../dom.js';
import { clock } from '../format.js';

/** Colors for services, in a fixed order (each also named in the legend). */
const PALETTE = [
  '#2563eb',
  '#d97706',
  '#059669',
  '#db2777',
  '#7c3aed',
  '#0891b2',
  '#65a30d',
  '#dc2626',
  '#4b5563',
  '#9333ea',
];

/** A stable color per service name within one list of names. */
export function serviceColors(services: string[]): Map<string, string> {
  return new Map([...services].sort().map((name, i) => [name, PALETTE[i % PALETTE.length]!]));
}

export interface ChartSpec {
  title: string;
  /** Reads one service's value from a sample. */
  value: (sample: RuntimeSample, service: string) => number | undefined;
  format: (v: number) => string;
  /** Fixed maximum (e.g. 1 for shares); otherwise the data's maximum. */
  max?: number;
  /** Smallest maximum when the data decides it (e.g. 2 for counts, so ticks stay whole). */
  minMax?: number;
}

const W = 560;
const H = 180;
const PAD = { left: 44, right: 12, top: 12, bottom: 24 };

/** A small multi-series line chart over the sample history, with a legend naming each line and its latest value. */
export function lineChart(
  spec: ChartSpec,
  samples: RuntimeSample[],
  colors: Map<string, string>,
): HTMLElement {
  const services = [...colors.keys()];
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  let max = spec.max ?? 0;
  if (spec.max === undefined) {
    for (const sample of samples)
      for (const svc of services) max = Math.max(max, spec.value(sample, svc) ?? 0);
    max = Math.max(spec.minMax ?? 0, max <= 0 ? 1 : niceCeil(max));
  }
  const n = samples.length;
  const x = (i: number) => PAD.left + (n <= 1 ? plotW : (i / (n - 1)) * plotW);
  const y = (v: number) => PAD.top + plotH - (Math.min(v, max) / max) * plotH;
  const grid = [0, 0.5, 1].map((f) =>
    s(
      'g',
      { class: 'chart-grid' },
      s('line', { x1: PAD.left, x2: W - PAD.right, y1: y(max * f), y2: y(max * f) }),
      s('text', { x: PAD.left - 6, y: y(max * f) + 4, 'text-anchor': 'end' }, spec.format(max * f)),
    ),
  );
  const lines = services.map((svc) => {
    const points = samples.map((sample, i) => {
      const v = spec.value(sample, svc);
      return v === undefined ? undefined : `${x(i).toFixed(1)},${y(v).toFixed(1)}`;
    });
    const d = points
      .filter((p) => p !== undefined)
      .map((p, i) => `${i === 0 ? 'M' : 'L'}${p}`)
      .join(' ');
    return s('path', { d, class: 'chart-line', stroke: colors.get(svc)!, 'data-series': svc });
  });
  const axis =
    n > 0
      ? [
          s('text', { x: PAD.left, y: H - 6, class: 'chart-axis' }, clock(samples[0]!.at)),
          s(
            'text',
            { x: W - PAD.right, y: H - 6, class: 'chart-axis', 'text-anchor': 'end' },
            clock(samples[n - 1]!.at),
          ),
        ]
      : [];
  const last = samples[n - 1];
  return h(
    'figure',
    { class: 'chart' },
    h('figcaption', null, spec.title),
    s(
      'svg',
      {
        viewBox: `0 0 ${W} ${H}`,
        class: 'chart-svg',
        role: 'img',
        'aria-label': `${spec.title} over the last ${n} samples`,
      },
      grid,
      lines,
      axis,
    ),
    h(
      'ul',
      { class: 'chart-legend' },
      services.map((svc) =>
        h(
          'li',
          null,
          swatch(colors.get(svc)!),
          h('span', null, svc),
          h('strong', null, last ? spec.format(spec.value(last, svc) ?? 0) : '—'),
        ),
      ),
    ),
  );
}

function niceCeil(v: number): number {
  const exp = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * exp) return m * exp;
  return 10 * exp;
}

/** A colored square (an SVG fill: the page's CSP allows no inline styles). */
export function swatch(color: string): SVGSVGElement {
  return s(
    'svg',
    { class: 'swatch', width: 12, height: 12, viewBox: '0 0 12 12', 'aria-hidden': 'true' },
    s('rect', { width: 12, height: 12, rx: 3, fill: color }),
  );
}
