import { KeyRound } from 'lucide-react'
import { type FormEvent, useState, useSyncExternalStore } from 'react'
import { useQueryClient } from '@tanstack/react-query'
import { isTokenRequired, readAdminToken, saveAdminToken, subscribeAdminToken } from '../../lib/admin-token'
import { Button } from '../ui/button'
import { Input } from '../ui/field'

/** Shown when the orchestrator answered 401: the token is kept for this tab only and sent as a Bearer header. */
export function AdminTokenPrompt() {
  const required = useSyncExternalStore(subscribeAdminToken, isTokenRequired, () => false)
  const [value, setValue] = useState('')
  const queryClient = useQueryClient()
  if (!required) return null
  const hadToken = Boolean(readAdminToken())
  const submit = (e: FormEvent) => {
    e.preventDefault()
    saveAdminToken(value)
    setValue('')
    void queryClient.invalidateQueries()
  }
  return (
    <form
      onSubmit={submit}
      role="alert"
      aria-labelledby="admin-token-title"
      className="glass glow-live flex flex-wrap items-end gap-3 rounded-2xl p-4"
    >
      <KeyRound className="mb-2.5 size-5 text-accent" aria-hidden />
      <div className="min-w-[12rem] flex-1">
        <p id="admin-token-title" className="text-sm font-semibold">
          {hadToken ? 'The admin token was refused' : 'This action needs the admin token'}
        </p>
        <label htmlFor="admin-token" className="text-xs text-muted">
          Paste the orchestrator's admin token. It stays in this tab (sessionStorage) and is sent as a Bearer token.
        </label>
        <Input
          id="admin-token"
          type="password"
          autoComplete="off"
          className="mt-1.5"
          value={value}
          onChange={(e) => setValue(e.target.value)}
          placeholder="admin token"
        />
      </div>
      <Button type="submit" variant="primary" disabled={!value.trim()}>
        Use token
      </Button>
    </form>
  )
}
