// @vitest-environment node
/** Proves the theme numerically: every text colour in index.css reaches 4.5:1 on every surface it sits on. */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { contrastRatio, over } from './contrast'

const css = readFileSync(fileURLToPath(new URL('../index.css', import.meta.url)), 'utf8')
const token = (name: string) => {
  const match = new RegExp(`--${name}:\\s*(#[0-9a-fA-F]{6})`).exec(css)
  if (!match) throw new Error(`--${name} missing from index.css`)
  return match[1]
}

const surfaces = ['color-bg', 'color-surface', 'color-surface-2', 'color-surface-3', 'color-surface-4'].map(token)
const text = ['color-fg', 'color-muted', 'color-faint']
const tones = ['color-accent', 'color-ok', 'color-bad', 'color-warn', 'color-info', 'color-violet']

describe('palette contrast (WCAG AA, 4.5:1)', () => {
  it.each([...text, ...tones])('%s on every surface', (name) => {
    for (const surface of surfaces) expect(contrastRatio(token(name), surface)).toBeGreaterThanOrEqual(4.5)
  })

  it.each(tones)('%s text on its own 15 percent tint (badges)', (name) => {
    for (const surface of surfaces) {
      expect(contrastRatio(token(name), over(token(name), 0.15, surface))).toBeGreaterThanOrEqual(4.5)
    }
  })

  it.each(['color-accent', 'color-ok', 'color-bad', 'color-warn'])('button text on %s', (name) => {
    expect(contrastRatio(token('color-on-accent'), token(name))).toBeGreaterThanOrEqual(4.5)
  })

  it('chart axis labels stay readable', () => {
    const axis = /--chart-axis:\s*(#[0-9a-fA-F]{6})/.exec(css)![1]
    for (const surface of surfaces) expect(contrastRatio(axis, surface)).toBeGreaterThanOrEqual(4.5)
  })

  it('computes known ratios', () => {
    expect(contrastRatio('#000000', '#ffffff')).toBeCloseTo(21)
    expect(over('#ffffff', 0.5, '#000000')).toBe('#808080')
  })
})
