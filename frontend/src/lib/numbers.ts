/** Number display shared by the gauge, charts and tables: stable, locale-independent, true minus sign. */

export function formatMetric(value: number | null | undefined): string {
  if (value === null || value === undefined || Number.isNaN(value)) return '—'
  if (!Number.isFinite(value)) return value > 0 ? '∞' : '−∞'
  const abs = Math.abs(value)
  let text: string
  if (abs >= 1e6) text = abs.toExponential(2)
  else if (abs >= 1000) text = Math.round(abs).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  else if (abs >= 10) text = abs.toFixed(1)
  else if (abs >= 0.01 || abs === 0) text = abs.toFixed(2)
  else text = abs.toExponential(1)
  return value < 0 && text !== '0.00' ? `−${text}` : text
}

export function formatPercent(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—'
  return `${(value * 100).toFixed(digits)}%`
}

/** "0x1234…abcd" — enough to tell wallets apart, short enough for a phone. */
export function shortHex(hex: string | null | undefined, head = 6, tail = 4): string {
  if (!hex) return '—'
  return hex.length <= head + tail + 1 ? hex : `${hex.slice(0, head)}…${hex.slice(-tail)}`
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—'
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`
  const h = Math.floor(m / 60)
  return `${h}h ${String(m % 60).padStart(2, '0')}m`
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—'
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return '—'
  return date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false })
}

export function formatDateTime(iso: string | number | null | undefined): string {
  if (iso === null || iso === undefined || iso === '') return '—'
  const date = typeof iso === 'number' ? new Date(iso * 1000) : new Date(iso)
  if (Number.isNaN(date.getTime())) return '—'
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
}
