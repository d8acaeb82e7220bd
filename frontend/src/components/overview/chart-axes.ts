/** The look both per-round charts share: a grid of horizontal lines, rounds along x, the value up y. */
export const GRID_PROPS = { stroke: 'var(--chart-grid)', strokeDasharray: '3 3', vertical: false } as const

const AXIS_PROPS = {
  stroke: 'var(--chart-axis)',
  tick: { fill: 'var(--chart-axis)', fontSize: 12 },
  tickLine: false,
} as const

export const ROUND_AXIS_PROPS = {
  ...AXIS_PROPS,
  dataKey: 'round',
  axisLine: { stroke: 'var(--chart-grid)' },
  allowDecimals: false,
} as const

export const VALUE_AXIS_PROPS = { ...AXIS_PROPS, axisLine: false } as const
