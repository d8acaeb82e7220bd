/**
 * The live event stream (GET /api/events, Server-Sent Events). The stream starts "from now"; each time it
 * opens, the log endpoint fills in what came before (the newest page on first open, everything after the last
 * id seen on a reopen). The browser's EventSource reconnects by itself and sends Last-Event-ID, so the server
 * replays what was missed; when it gives up (the orchestrator answered with an error) we open a new one after
 * a back-off. Events are merged by id (no duplicates after a replay), and each one marks the queries it
 * changes as stale.
 */
import { useQueryClient } from '@tanstack/react-query'
import { createContext, type ReactNode, use, useEffect, useMemo, useRef, useState } from 'react'
import { api } from './api'
import { KNOWN_EVENT_KINDS, mergeEvents } from './log-format'
import { staleQueriesFor } from './query-keys'
import type { FedEvent } from './types'

export type StreamStatus = 'connecting' | 'live' | 'reconnecting'

export interface EventStreamState {
  status: StreamStatus
  events: FedEvent[]
  /** Times the stream dropped since the page opened. */
  drops: number
}

const EventStreamContext = createContext<EventStreamState>({ status: 'connecting', events: [], drops: 0 })

const BUFFER = 1000
const FLUSH_MS = 120
const INVALIDATE_MS = 400

function parseEvent(message: MessageEvent<string>): FedEvent | null {
  try {
    const event = JSON.parse(message.data) as FedEvent
    if (typeof event.id !== 'number') event.id = Number(message.lastEventId)
    if (!event.kind) event.kind = message.type
    return Number.isFinite(event.id) ? event : null
  } catch {
    return null
  }
}

export function EventStreamProvider({ children, url = '/api/events' }: { children: ReactNode; url?: string }) {
  const queryClient = useQueryClient()
  const [state, setState] = useState<EventStreamState>({ status: 'connecting', events: [], drops: 0 })
  const lastId = useRef(0)
  const pending = useRef<FedEvent[]>([])
  const stale = useRef(new Map<string, readonly unknown[]>())

  useEffect(() => {
    let source: EventSource | null = null
    let disposed = false
    let retryTimer: ReturnType<typeof setTimeout> | undefined
    let flushTimer: ReturnType<typeof setTimeout> | undefined
    let invalidateTimer: ReturnType<typeof setTimeout> | undefined
    let backoff = 1000
    let opens = 0

    const flush = () => {
      flushTimer = undefined
      const batch = pending.current
      pending.current = []
      if (batch.length) setState((s) => ({ ...s, events: mergeEvents(s.events, batch, BUFFER) }))
    }
    const invalidate = () => {
      invalidateTimer = undefined
      const queued = [...stale.current.values()]
      stale.current.clear()
      for (const queryKey of queued) void queryClient.invalidateQueries({ queryKey })
    }
    const accept = (events: FedEvent[]) => {
      for (const event of events) {
        if (event.id > lastId.current) lastId.current = event.id
        pending.current.push(event)
        for (const key of staleQueriesFor(event.kind, event.experiment_id)) stale.current.set(JSON.stringify(key), key)
      }
      flushTimer ??= setTimeout(flush, FLUSH_MS)
      if (stale.current.size) invalidateTimer ??= setTimeout(invalidate, INVALIDATE_MS)
    }
    const backfill = async () => {
      try {
        if (lastId.current === 0) {
          const { events } = await api.latestEvents(500)
          if (!disposed) accept([...events].reverse())
          return
        }
        // After an outage: every page after the newest id we hold (bounded; the buffer keeps the newest anyway).
        for (let page = 0; page < 4 && !disposed; page++) {
          const { events } = await api.eventLog(lastId.current, 500)
          accept(events)
          if (events.length < 500) break
        }
      } catch {
        // the stream itself reports the outage
      }
    }
    const onMessage = (message: MessageEvent<string>) => {
      const event = parseEvent(message)
      if (event) accept([event])
    }
    const open = () => {
      source = new EventSource(url)
      source.onopen = () => {
        backoff = 1000
        setState((s) => (s.status === 'live' ? s : { ...s, status: 'live' }))
        void backfill()
        // Back after an outage: whatever the page shows may have moved on.
        if (++opens > 1) void queryClient.invalidateQueries()
      }
      source.onerror = () => {
        if (!source || disposed) return
        if (source.readyState === EventSource.CLOSED) {
          source.close()
          source = null
          retryTimer = setTimeout(() => {
            if (!disposed) open()
          }, backoff)
          backoff = Math.min(backoff * 2, 15_000)
        }
        setState((s) => (s.status === 'reconnecting' ? s : { ...s, status: 'reconnecting', drops: s.drops + 1 }))
      }
      source.onmessage = onMessage
      for (const kind of KNOWN_EVENT_KINDS) source.addEventListener(kind, onMessage)
    }
    open()
    return () => {
      disposed = true
      source?.close()
      clearTimeout(retryTimer)
      clearTimeout(flushTimer)
      clearTimeout(invalidateTimer)
    }
  }, [url, queryClient])

  return <EventStreamContext value={state}>{children}</EventStreamContext>
}

export function useEventStream(): EventStreamState {
  return use(EventStreamContext)
}

/** The events of one experiment (or all), newest last; memoised on the buffer. */
export function useExperimentEvents(experimentId: number | null): FedEvent[] {
  const { events } = useEventStream()
  return useMemo(
    () => (experimentId === null ? events : events.filter((e) => e.experiment_id === null || e.experiment_id === experimentId)),
    [events, experimentId],
  )
}
