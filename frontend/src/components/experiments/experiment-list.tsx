import { Download, Eye, FileJson, FileSpreadsheet, History } from 'lucide-react'
import { downloadExport, exportUrl, modelUrl } from '../../lib/api'
import { normalizeAccuracy } from '../../lib/chart-data'
import { cn } from '../../lib/cn'
import { useExperiments, useSelectedExperiment } from '../../lib/experiments'
import { formatDateTime, formatPercent } from '../../lib/numbers'
import { routeHref } from '../../lib/router'
import type { Experiment } from '../../lib/types'
import { Badge } from '../ui/badge'
import { Card, CardBody, CardHeader } from '../ui/card'
import { EmptyState, ErrorState, LoadingState } from '../ui/states'
import { ExperimentControls } from './experiment-controls'

const TONE = { created: 'neutral', running: 'accent', paused: 'warn', stopped: 'neutral', completed: 'ok', failed: 'bad' } as const

function Row({ experiment, compared, onCompare }: { experiment: Experiment; compared: boolean; onCompare: (on: boolean) => void }) {
  const { experimentId } = useSelectedExperiment()
  const done = experiment.completed_rounds ?? 0
  const linkClass = 'inline-flex items-center gap-1 rounded px-1.5 py-1 text-xs font-medium text-accent hover:bg-accent/10'
  return (
    <li
      data-experiment={experiment.id}
      className={cn('rounded-xl border p-4', experiment.id === experimentId ? 'border-accent/50 bg-accent/5' : 'border-line/70 bg-surface-2/50')}
    >
      <div className="flex flex-wrap items-start gap-3">
        <label className="mt-0.5 flex items-center" title="Compare this run">
          <input
            type="checkbox"
            className="size-4 accent-[var(--color-accent)]"
            checked={compared}
            onChange={(e) => onCompare(e.target.checked)}
            aria-label={`Compare experiment #${experiment.id}`}
          />
        </label>
        <div className="min-w-0 flex-1">
          <p className="flex flex-wrap items-center gap-2">
            <span className="font-semibold text-fg">
              #{experiment.id} {experiment.name}
            </span>
            <Badge tone={TONE[experiment.status]}>{experiment.status}</Badge>
          </p>
          <p className="mt-0.5 text-xs text-muted">
            {experiment.dataset_id ?? 'dataset ?'} · {experiment.partition ?? '?'} · {experiment.num_nodes ?? '?'} nodes · round {done}/{experiment.rounds} ·
            accuracy {formatPercent(normalizeAccuracy(experiment.accuracy ?? null))} · {formatDateTime(experiment.created_at)}
          </p>
          {experiment.error && <p className="mt-1 text-xs text-bad">{experiment.error}</p>}
        </div>
        <ExperimentControls experiment={experiment} />
      </div>
      <div className="mt-2 flex flex-wrap items-center gap-1 border-t border-line/50 pt-2">
        <a className={linkClass} href={routeHref('overview', { exp: experiment.id })}>
          <Eye className="size-3.5" aria-hidden /> Watch
        </a>
        <a
          className={linkClass}
          href={exportUrl(experiment.id, 'csv')}
          download
          aria-label={`Export experiment #${experiment.id} as CSV`}
          onClick={(event) => {
            event.preventDefault() // fetched with the admin token, which a plain link cannot send
            downloadExport(experiment.id, 'csv').catch(() => undefined) // a 401 opens the token prompt
          }}
        >
          <FileSpreadsheet className="size-3.5" aria-hidden /> CSV
        </a>
        <a
          className={linkClass}
          href={exportUrl(experiment.id, 'json')}
          download
          aria-label={`Export experiment #${experiment.id} as JSON`}
          onClick={(event) => {
            event.preventDefault() // fetched with the admin token, which a plain link cannot send
            downloadExport(experiment.id, 'json').catch(() => undefined) // a 401 opens the token prompt
          }}
        >
          <FileJson className="size-3.5" aria-hidden /> JSON
        </a>
        {experiment.current_model_hash && (
          <a
            className={linkClass}
            href={modelUrl(experiment.current_model_hash)}
            download
          >
            <Download className="size-3.5" aria-hidden /> Model{done ? ` v${done + 1}` : ' (initial)'}
            <span className="sr-only"> of experiment #{experiment.id}, download</span>
          </a>
        )}
      </div>
    </li>
  )
}

/** Every experiment, newest first, with its controls, exports and a box to compare it. */
export function ExperimentList({ compared, onCompare }: { compared: readonly number[]; onCompare: (ids: number[]) => void }) {
  const experiments = useExperiments()
  const list = [...(experiments.data ?? [])].sort((a, b) => b.id - a.id)
  return (
    <Card aria-labelledby="history-title">
      <CardHeader id="history-title" icon={<History />} title="History" description="Tick runs to compare their accuracy." />
      <CardBody>
        {experiments.isError ? (
          <ErrorState error={experiments.error} title="Could not load experiments" onRetry={() => void experiments.refetch()} />
        ) : experiments.isPending ? (
          <LoadingState rows={5} />
        ) : !list.length ? (
          <EmptyState title="No experiments yet">Create one from a preset.</EmptyState>
        ) : (
          <ul className="space-y-3">
            {list.map((e) => (
              <Row
                key={e.id}
                experiment={e}
                compared={compared.includes(e.id)}
                onCompare={(on) => onCompare(on ? [...compared, e.id] : compared.filter((id) => id !== e.id))}
              />
            ))}
          </ul>
        )}
      </CardBody>
    </Card>
  )
}
