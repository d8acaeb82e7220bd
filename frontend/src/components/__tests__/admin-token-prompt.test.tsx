import { QueryClient, QueryClientProvider } from '@tanstack/react-query'
import { act, render, screen } from '@testing-library/react'
import userEvent from '@testing-library/user-event'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { clearAdminToken, markTokenRequired, readAdminToken, saveAdminToken } from '../../lib/admin-token'
import { api, downloadExport } from '../../lib/api'
import { AdminTokenPrompt } from '../layout/admin-token-prompt'

function renderPrompt() {
  return render(
    <QueryClientProvider client={new QueryClient()}>
      <AdminTokenPrompt />
    </QueryClientProvider>,
  )
}

afterEach(() => {
  clearAdminToken()
  vi.unstubAllGlobals()
})

describe('admin token', () => {
  it('appears after a 401, keeps the token in sessionStorage and sends it as a Bearer header', async () => {
    const fetch = vi.fn(async () => new Response(JSON.stringify({ detail: 'admin token required' }), { status: 401 }))
    vi.stubGlobal('fetch', fetch)
    renderPrompt()
    expect(screen.queryByRole('alert')).toBeNull()

    await act(async () => {
      await expect(api.controlExperiment(1, 'start')).rejects.toThrow('admin token required')
    })
    expect(screen.getByRole('alert')).toHaveTextContent('This action needs the admin token')

    const user = userEvent.setup()
    await user.type(screen.getByLabelText(/Paste the orchestrator's admin token/), 's3cret')
    await user.click(screen.getByRole('button', { name: 'Use token' }))
    expect(readAdminToken()).toBe('s3cret')
    expect(sessionStorage.getItem('fedshield.admin-token')).toBe('s3cret')
    expect(screen.queryByRole('alert')).toBeNull()

    fetch.mockResolvedValueOnce(new Response(JSON.stringify({ id: 1 }), { status: 200 }))
    await api.controlExperiment(1, 'start')
    const [, init] = fetch.mock.calls.at(-1) as unknown as [string, RequestInit]
    expect((init.headers as Record<string, string>).Authorization).toBe('Bearer s3cret')
  })

  it('asks again when the token is refused (403 naming it)', () => {
    renderPrompt()
    act(() => markTokenRequired())
    expect(screen.getByRole('alert')).toBeInTheDocument()
  })

  it('fetches an export with the token, and asks for it on a 401', async () => {
    const fetch = vi.fn(async () => new Response('{}', { status: 401 }))
    vi.stubGlobal('fetch', fetch)
    renderPrompt()
    await act(async () => {
      await expect(downloadExport(3, 'csv')).rejects.toThrow('export answered 401')
    })
    expect(screen.getByRole('alert')).toBeInTheDocument()

    saveAdminToken('s3cret')
    vi.stubGlobal('URL', Object.assign(URL, { createObjectURL: vi.fn(() => 'blob:x'), revokeObjectURL: vi.fn() }))
    fetch.mockResolvedValueOnce(new Response('round,node_address\n', { status: 200 }))
    await downloadExport(3, 'csv')
    const [path, init] = fetch.mock.calls.at(-1) as unknown as [string, RequestInit]
    expect(path).toBe('/api/experiments/3/export?format=csv')
    expect((init.headers as Record<string, string>).Authorization).toBe('Bearer s3cret')
  })
})
