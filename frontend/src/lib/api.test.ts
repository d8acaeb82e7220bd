import { afterEach, describe, expect, it, vi } from 'vitest'
import { api, ApiError, describeDetail } from './api'
import { isTokenRequired, saveAdminToken } from './admin-token'

afterEach(() => vi.unstubAllGlobals())

describe('describeDetail', () => {
  it('reads FastAPI string and validation-list details', () => {
    expect(describeDetail({ detail: 'no experiment 9' }, 'x')).toBe('no experiment 9')
    expect(describeDetail({ detail: [{ loc: ['body', 'rounds'], msg: 'must be ≥ 1' }] }, 'x')).toBe('rounds: must be ≥ 1')
    expect(describeDetail('<html>', 'fallback')).toBe('fallback')
  })
})

describe('request', () => {
  it('turns error statuses into ApiError with the server’s words', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify({ detail: 'cannot start experiment 1: it is running' }), { status: 409 })))
    const error = await api.controlExperiment(1, 'start').catch((e) => e)
    expect(error).toBeInstanceOf(ApiError)
    expect(error).toMatchObject({ status: 409, detail: 'cannot start experiment 1: it is running' })
  })

  it('reports an unreachable orchestrator plainly', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))))
    await expect(api.experiments()).rejects.toMatchObject({ status: 0, detail: 'The orchestrator cannot be reached.' })
  })

  it('asks for the token again on a 403 that names it', async () => {
    saveAdminToken('wrong')
    vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify({ detail: 'admin token is wrong' }), { status: 403 })))
    await api.controlExperiment(1, 'stop').catch(() => {})
    expect(isTokenRequired()).toBe(true)
  })

  it('sends JSON bodies and query strings', async () => {
    const fetch = vi.fn(async () => new Response('[]', { status: 200 }))
    vi.stubGlobal('fetch', fetch)
    await api.transactions({ experiment_id: 2, round: null, wallet: '0xabc' })
    expect((fetch.mock.calls[0] as unknown as [string])[0]).toBe('/api/chain/transactions?experiment_id=2&wallet=0xabc')
  })
})
