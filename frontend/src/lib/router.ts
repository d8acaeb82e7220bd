/** Hash routes (`#/explorer?tx=0x…`): deep-linkable, no server rewrites needed to serve the built dashboard. */
import { useSyncExternalStore } from 'react'

export const VIEWS = ['overview', 'attack-lab', 'wallet', 'explorer', 'experiments'] as const
export type View = (typeof VIEWS)[number]

export interface Route {
  view: View
  params: Record<string, string>
}

export function parseHash(hash: string): Route {
  const body = hash.replace(/^#\/?/, '')
  const [path, search = ''] = body.split('?', 2)
  const name = path.split('/')[0]
  const view = (VIEWS as readonly string[]).includes(name) ? (name as View) : 'overview'
  const params: Record<string, string> = {}
  for (const [key, value] of new URLSearchParams(search)) params[key] = value
  return { view, params }
}

export function routeHref(view: View, params: Record<string, string | number | null | undefined> = {}): string {
  const search = new URLSearchParams()
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== '') search.set(key, String(value))
  }
  const text = search.toString()
  return `#/${view}${text ? `?${text}` : ''}`
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener('hashchange', onChange)
  return () => window.removeEventListener('hashchange', onChange)
}

export function useRoute(): Route {
  const hash = useSyncExternalStore(subscribe, () => window.location.hash, () => '')
  return parseHash(hash)
}

export function navigate(view: View, params?: Record<string, string | number | null | undefined>): void {
  window.location.hash = routeHref(view, params)
}

/** Changes the current route's parameters without adding a history entry (filters, selections). */
export function replaceParams(params: Record<string, string | number | null | undefined>): void {
  const current = parseHash(window.location.hash)
  const href = routeHref(current.view, { ...current.params, ...params })
  window.history.replaceState(null, '', href)
  window.dispatchEvent(new HashChangeEvent('hashchange'))
}
