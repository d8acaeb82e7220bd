/** FLT amounts: wei (bigint, 18 decimals) on chain, decimal strings in the API, short text on screen. */

export const FLT_DECIMALS = 18
const WEI_PER_FLT = 10n ** BigInt(FLT_DECIMALS)

export interface FltFormat {
  /** Most fraction digits shown (rounded half up); trailing zeros are dropped. */
  maxDecimals?: number
  /** Append " FLT". */
  unit?: boolean
  /** Prefix positive amounts with "+" (rewards) — negative ones always get "−". */
  signed?: boolean
}

function group(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',')
}

/** 12345678900000000000000n → "12,345.68 FLT". Tiny non-zero amounts read "<0.01 FLT", never "0". */
export function formatFlt(wei: bigint, { maxDecimals = 2, unit = true, signed = false }: FltFormat = {}): string {
  const negative = wei < 0n
  const abs = negative ? -wei : wei
  const decimals = Math.max(0, Math.min(FLT_DECIMALS, Math.floor(maxDecimals)))
  const step = 10n ** BigInt(FLT_DECIMALS - decimals)
  const rounded = (abs + step / 2n) / step
  const suffix = unit ? ' FLT' : ''
  if (rounded === 0n && abs !== 0n) {
    const smallest = decimals === 0 ? '1' : `0.${'0'.repeat(decimals - 1)}1`
    return `${negative ? '>−' : '<'}${smallest}${suffix}`
  }
  const scale = 10n ** BigInt(decimals)
  const whole = group((rounded / scale).toString())
  const fraction = decimals ? (rounded % scale).toString().padStart(decimals, '0').replace(/0+$/, '') : ''
  const sign = negative && rounded !== 0n ? '−' : signed && rounded !== 0n ? '+' : ''
  return `${sign}${whole}${fraction ? `.${fraction}` : ''}${suffix}`
}

/** "12.5" (the API's FLT decimal string) → wei; null when it is not a number. */
export function parseFlt(text: string | number | null | undefined): bigint | null {
  if (text === null || text === undefined) return null
  const value = String(text).trim().replace(/,/g, '')
  const match = /^(-)?(\d*)(?:\.(\d*))?$/.exec(value)
  if (!match || (match[2] === '' && (match[3] ?? '') === '')) return null
  const [, minus, whole, fraction = ''] = match
  if (fraction.length > FLT_DECIMALS) return null
  const wei = BigInt(whole || '0') * WEI_PER_FLT + BigInt(fraction.padEnd(FLT_DECIMALS, '0') || '0')
  return minus ? -wei : wei
}

/** Formats an API decimal string; shows an em dash for a missing or malformed value. */
export function formatFltText(text: string | null | undefined, options?: FltFormat): string {
  const wei = parseFlt(text)
  return wei === null ? '—' : formatFlt(wei, options)
}

/** Sums API decimal strings exactly (no float drift across many rounds). */
export function sumFlt(values: Iterable<string | null | undefined>): bigint {
  let total = 0n
  for (const value of values) total += parseFlt(value) ?? 0n
  return total
}

/** A user's typed amount → wei, or a reason why it cannot be used. */
export function parseFltInput(text: string): { wei: bigint } | { error: string } {
  if (!text.trim()) return { error: 'Enter an amount.' }
  const wei = parseFlt(text)
  if (wei === null) return { error: 'Use digits and at most one decimal point (up to 18 decimals).' }
  if (wei <= 0n) return { error: 'The amount must be greater than zero.' }
  return { wei }
}
