import { describe, expect, it } from 'vitest'
import { formatFlt, formatFltText, parseFlt, parseFltInput, sumFlt } from './flt'

const FLT = 10n ** 18n

describe('formatFlt', () => {
  it('formats whole amounts with grouping and unit', () => {
    expect(formatFlt(12_345n * FLT)).toBe('12,345 FLT')
    expect(formatFlt(0n)).toBe('0 FLT')
  })

  it('rounds half up to the requested decimals and trims zeros', () => {
    expect(formatFlt(12_345_678_900_000_000_000_000n)).toBe('12,345.68 FLT')
    expect(formatFlt(15n * FLT + FLT / 10n)).toBe('15.1 FLT')
    expect(formatFlt(FLT + 5n * 10n ** 15n, { maxDecimals: 2 })).toBe('1.01 FLT')
    expect(formatFlt(FLT + 4n * 10n ** 15n, { maxDecimals: 2 })).toBe('1 FLT')
    expect(formatFlt(123n * FLT + FLT / 3n, { maxDecimals: 0, unit: false })).toBe('123')
  })

  it('never shows a tiny non-zero amount as zero', () => {
    expect(formatFlt(1n)).toBe('<0.01 FLT')
    expect(formatFlt(-1n)).toBe('>−0.01 FLT')
    expect(formatFlt(1n, { maxDecimals: 4, unit: false })).toBe('<0.0001')
  })

  it('signs negative and, on request, positive amounts', () => {
    expect(formatFlt(-15n * FLT)).toBe('−15 FLT')
    expect(formatFlt(10n * FLT, { signed: true })).toBe('+10 FLT')
    expect(formatFlt(0n, { signed: true })).toBe('0 FLT')
  })

  it('keeps full precision when asked', () => {
    expect(formatFlt(1n, { maxDecimals: 18, unit: false })).toBe('0.000000000000000001')
  })
})

describe('parseFlt', () => {
  it('parses API decimal strings exactly', () => {
    expect(parseFlt('10')).toBe(10n * FLT)
    expect(parseFlt('0.000000000000000001')).toBe(1n)
    expect(parseFlt('-15.5')).toBe(-155n * 10n ** 17n)
    expect(parseFlt('1,000.25')).toBe(1000n * FLT + FLT / 4n)
    expect(parseFlt('.5')).toBe(FLT / 2n)
    expect(parseFlt(3)).toBe(3n * FLT)
  })

  it('rejects what is not an amount', () => {
    for (const bad of ['', 'abc', '1.2.3', '1e18', '.', '0.0000000000000000001']) expect(parseFlt(bad)).toBeNull()
    expect(parseFlt(null)).toBeNull()
  })
})

describe('helpers', () => {
  it('sums strings without float drift', () => {
    expect(sumFlt(Array.from({ length: 10 }, () => '0.1'))).toBe(FLT)
    expect(sumFlt(['10', null, 'oops', '5'])).toBe(15n * FLT)
  })

  it('formats API strings and shows a dash for missing ones', () => {
    expect(formatFltText('1234.5')).toBe('1,234.5 FLT')
    expect(formatFltText(undefined)).toBe('—')
  })

  it('validates typed amounts', () => {
    expect(parseFltInput('25')).toEqual({ wei: 25n * FLT })
    expect(parseFltInput('')).toEqual({ error: 'Enter an amount.' })
    expect(parseFltInput('0')).toEqual({ error: 'The amount must be greater than zero.' })
    expect('error' in parseFltInput('1..2')).toBe(true)
  })
})
