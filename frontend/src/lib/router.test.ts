import { describe, expect, it } from 'vitest'
import { parseHash, routeHref } from './router'

describe('parseHash', () => {
  it('reads the view and its parameters', () => {
    const tx = `0x${'1'.repeat(64)}`
    expect(parseHash(`#/explorer?tx=${tx}`)).toEqual({ view: 'explorer', params: { tx } })
    expect(parseHash('#/attack-lab')).toEqual({ view: 'attack-lab', params: {} })
  })

  it('falls back to the overview', () => {
    expect(parseHash('')).toEqual({ view: 'overview', params: {} })
    expect(parseHash('#/nowhere?x=1').view).toBe('overview')
  })

  it('round-trips through routeHref, dropping empty values', () => {
    const href = routeHref('experiments', { exp: 4, compare: '1,2', empty: '', none: null })
    expect(href).toBe('#/experiments?exp=4&compare=1%2C2')
    expect(parseHash(href)).toEqual({ view: 'experiments', params: { exp: '4', compare: '1,2' } })
  })
})
