/** The admin token, kept for this browser tab only (sessionStorage) and sent as `Authorization: Bearer`. */

const KEY = 'fedshield.admin-token'
type Listener = () => void
const listeners = new Set<Listener>()
let tokenRequired = false

function storage(): Storage | null {
  try {
    return typeof sessionStorage === 'undefined' ? null : sessionStorage
  } catch {
    return null // storage disabled by the browser's privacy settings
  }
}

export function readAdminToken(): string | null {
  return storage()?.getItem(KEY) || null
}

export function saveAdminToken(token: string): void {
  const trimmed = token.trim()
  if (trimmed) storage()?.setItem(KEY, trimmed)
  else storage()?.removeItem(KEY)
  tokenRequired = false
  notify()
}

export function clearAdminToken(): void {
  storage()?.removeItem(KEY)
  notify()
}

/** Called when the API answers 401: the prompt appears until a token is saved. */
export function markTokenRequired(): void {
  if (!tokenRequired) {
    tokenRequired = true
    notify()
  }
}

export function isTokenRequired(): boolean {
  return tokenRequired
}

export function subscribeAdminToken(listener: Listener): () => void {
  listeners.add(listener)
  return () => listeners.delete(listener)
}

function notify(): void {
  for (const listener of listeners) listener()
}
