import { useQuery } from '@tanstack/react-query'
import { ExternalLink, ScrollText, Search } from 'lucide-react'
import { type ReactNode, useDeferredValue, useMemo, useState } from 'react'
import { cn } from '../../lib/cn'
import { useEventStream } from '../../lib/event-stream'
import { api } from '../../lib/api'
import { explorerWalletHref, filterLog, LOG_CATEGORIES, type LogCategory, type LogEntry, mergeEvents, toLogEntry } from '../../lib/log-format'
import { keys } from '../../lib/query-keys'
import { formatTime, shortHex } from '../../lib/numbers'
import type { FedEvent, Outcome } from '../../lib/types'
import { Card, CardBody, CardHeader } from '../ui/card'
import { OutcomeCountList } from '../ui/outcome-badge'
import { Input } from '../ui/field'
import { EmptyState, LoadingState } from '../ui/states'
import { StreamStatus } from '../layout/stream-status'
import { LogIcon } from './log-icon'
import { TONE_TEXT } from './tones'

const SHOWN = 250
const HISTORY = 1000 // an experiment's newest events read from the orchestrator's log
const OUTCOMES: { id: Outcome; label: string }[] = [
  { id: 'accepted', label: 'Accepted' },
  { id: 'excluded', label: 'Excluded' },
  { id: 'slashed', label: 'Slashed' },
]

/** A chip that picks what the log shows (pressed: shown); none pressed in its group shows everything. */
function Chip({ pressed, onClick, children }: { pressed: boolean; onClick: () => void; children: ReactNode }) {
  return (
    <button
      type="button"
      aria-pressed={pressed}
      onClick={onClick}
      className={cn(
        'rounded-full border px-2.5 py-1 text-xs font-medium transition-colors',
        pressed ? 'border-accent/40 bg-accent/12 text-fg' : 'border-line-strong/50 text-muted hover:text-fg',
      )}
    >
      {children}
    </button>
  )
}

function toggled<T>(set: ReadonlySet<T>, id: T): ReadonlySet<T> {
  const next = new Set(set)
  if (next.has(id)) next.delete(id)
  else next.add(id)
  return next
}

export function LogLine({ entry }: { entry: LogEntry }) {
  return (
    <li className="flex animate-fade-in gap-3 py-2" data-kind={entry.kind} data-outcome={entry.outcome ?? undefined}>
      <LogIcon icon={entry.icon} tone={entry.tone} className="mt-0.5" />
      <div className="min-w-0 flex-1">
        <div className="flex flex-wrap items-baseline gap-x-2 gap-y-0.5">
          <span className={cn('text-xs font-semibold tracking-wide uppercase', TONE_TEXT[entry.tone])}>{entry.label}</span>
          <span className="min-w-0 text-sm break-words text-fg">{entry.text}</span>
        </div>
        {entry.detail && (
          <p className={cn('mt-0.5 text-xs break-words', TONE_TEXT[entry.tone])} data-testid="log-detail">
            {entry.detail}
          </p>
        )}
        {entry.counts && <OutcomeCountList counts={entry.counts} className="mt-1" label="Updates this round by outcome" />}
        <div className="mt-0.5 flex flex-wrap items-center gap-x-3 gap-y-1 text-xs text-faint">
          <time dateTime={entry.ts} className="tabular font-mono">
            {formatTime(entry.ts)}
          </time>
          {entry.round !== null && <span>round {entry.round}</span>}
          {entry.address && (
            <a className="font-mono text-muted hover:text-fg hover:underline" href={explorerWalletHref(entry.address)} title={entry.address}>
              {shortHex(entry.address)}
            </a>
          )}
          {entry.txHref && entry.txHash && (
            <a className="inline-flex items-center gap-1 rounded font-medium text-accent hover:underline" href={entry.txHref} title={entry.txHash}>
              <ExternalLink className="size-3" aria-hidden />
              <span className="sr-only">View transaction</span> tx {shortHex(entry.txHash)}
            </a>
          )}
        </div>
      </div>
    </li>
  )
}

/** The orchestrator's real-time log, filterable by kind, text and experiment. */
export function SystemLog({
  experimentId,
  events: given,
  className,
}: {
  experimentId: number | null
  events?: readonly FedEvent[]
  className?: string
}) {
  const stream = useEventStream()
  const [onlyThis, setOnlyThis] = useState(true)
  // The live buffer holds the newest events of every run: an experiment's own log is read once from the
  // orchestrator, so a finished one keeps its log after later runs pushed it out of the buffer.
  const history = useQuery({
    queryKey: keys.eventHistory(experimentId ?? -1),
    queryFn: ({ signal }) => api.experimentEvents(experimentId!, HISTORY, signal),
    enabled: given === undefined && experimentId !== null && onlyThis,
    staleTime: Infinity,
  })
  const events = useMemo(
    () => given ?? (history.data ? mergeEvents([...history.data.events].reverse(), stream.events, HISTORY + 1000) : stream.events),
    [given, history.data, stream.events],
  )
  const [categories, setCategories] = useState<ReadonlySet<LogCategory>>(new Set())
  const [outcomes, setOutcomes] = useState<ReadonlySet<Outcome>>(new Set())
  const [attacksOnly, setAttacksOnly] = useState(false)
  const [query, setQuery] = useState('')
  const deferredQuery = useDeferredValue(query)
  const entries = useMemo(() => events.map(toLogEntry), [events])
  const shown = useMemo(
    () =>
      filterLog(entries, { categories, outcomes, attacksOnly, query: deferredQuery, experimentId: onlyThis ? experimentId : null })
        .slice(-SHOWN)
        .reverse(),
    [entries, categories, outcomes, attacksOnly, deferredQuery, onlyThis, experimentId],
  )

  return (
    <Card className={cn('flex min-h-0 flex-col', className)} aria-labelledby="system-log-title">
      <CardHeader
        id="system-log-title"
        icon={<ScrollText />}
        title="System log"
        description="Live from the orchestrator; chain entries link to their transaction."
        actions={<StreamStatus />}
      />
      <CardBody className="flex min-h-0 flex-1 flex-col gap-3">
        <div className="flex flex-wrap items-center gap-2" role="group" aria-label="Show only these kinds">
          {LOG_CATEGORIES.map((c) => (
            <Chip key={c.id} pressed={categories.has(c.id)} onClick={() => setCategories((s) => toggled(s, c.id))}>
              {c.label}
            </Chip>
          ))}
        </div>
        <div className="flex flex-wrap items-center gap-2" role="group" aria-label="Show only these outcomes">
          {OUTCOMES.map((o) => (
            <Chip key={o.id} pressed={outcomes.has(o.id)} onClick={() => setOutcomes((s) => toggled(s, o.id))}>
              {o.label}
            </Chip>
          ))}
          <Chip pressed={attacksOnly} onClick={() => setAttacksOnly((v) => !v)}>
            Attacks only
          </Chip>
        </div>
        <div className="flex flex-wrap items-center gap-3">
          <div className="relative min-w-[10rem] flex-1">
            <Search className="pointer-events-none absolute top-1/2 left-3 size-4 -translate-y-1/2 text-faint" aria-hidden />
            <Input
              type="search"
              aria-label="Search the log"
              placeholder="Search: wallet, tx, words…"
              value={query}
              onChange={(e) => setQuery(e.target.value)}
              className="h-9 pl-9"
            />
          </div>
          {experimentId !== null && (
            <label className="flex items-center gap-2 text-xs text-muted">
              <input
                type="checkbox"
                className="size-4 accent-[var(--color-accent)]"
                checked={onlyThis}
                onChange={(e) => setOnlyThis(e.target.checked)}
              />
              Only experiment #{experimentId}
            </label>
          )}
        </div>
        <div role="region" className="max-h-[34rem] min-h-[12rem] flex-1 overflow-y-auto overscroll-contain pr-1" tabIndex={0} aria-label="Log entries, newest first">
          {!events.length && stream.status !== 'live' ? (
            <LoadingState label="Connecting to the event stream…" rows={5} />
          ) : shown.length ? (
            <div role="log" aria-live="off">
              <ol className="divide-y divide-line/60">
                {shown.map((entry) => (
                  <LogLine key={entry.id} entry={entry} />
                ))}
              </ol>
            </div>
          ) : (
            <EmptyState title={events.length ? 'Nothing matches these filters' : 'No events yet'}>
              {events.length ? 'Clear the search or unpick a filter.' : 'Start an experiment: rounds, verdicts and settlements appear here as they happen.'}
            </EmptyState>
          )}
        </div>
      </CardBody>
    </Card>
  )
}
