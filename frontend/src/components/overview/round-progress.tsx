import { Timer } from 'lucide-react'
import { attackersText, withDefaults } from '../../lib/attack-plan'
import { roundProgress } from '../../lib/chart-data'
import { cn } from '../../lib/cn'
import { useNow } from '../../lib/hooks'
import { formatDuration } from '../../lib/numbers'
import type { Experiment, Round } from '../../lib/types'
import { Badge } from '../ui/badge'
import { Card } from '../ui/card'
import { ExperimentControls } from '../experiments/experiment-controls'

const STATUS_TONE = {
  created: 'neutral',
  running: 'accent',
  paused: 'warn',
  stopped: 'neutral',
  completed: 'ok',
  failed: 'bad',
} as const

/** Rounds done out of planned, the time left at the recent pace, and the run's controls. */
export function RoundProgress({ experiment, rounds }: { experiment: Experiment; rounds: readonly Round[] }) {
  const now = useNow(1000)
  const progress = roundProgress(experiment, rounds, now)
  const running = experiment.status === 'running'
  const attack = experiment.attack ? withDefaults(experiment.attack) : null
  const pct = Math.round(progress.fraction * 100)
  return (
    <Card live={running} className="p-5" aria-labelledby="progress-title">
      <div className="flex flex-wrap items-start justify-between gap-4">
        <div className="min-w-0">
          <div className="flex flex-wrap items-center gap-2">
            <h1 id="progress-title" className="truncate text-xl font-semibold tracking-tight sm:text-2xl">
              {experiment.name}
            </h1>
            <Badge tone={STATUS_TONE[experiment.status]} data-testid="experiment-status">
              {running && <span className="size-1.5 animate-pulse-soft rounded-full bg-accent" aria-hidden />}
              {experiment.status}
            </Badge>
          </div>
          <p className="mt-1 text-sm text-muted">
            Experiment #{experiment.id}
            {experiment.partition ? ` · ${experiment.partition}` : ''}
            {experiment.num_nodes ? ` · ${experiment.num_nodes} nodes` : ''}
            {attack && attack.kind !== 'none'
              ? ` · attack: ${attack.kind.replace('_', ' ')} by ${attackersText(attack)} from round ${attack.start_round}`
              : ' · no attack'}
          </p>
        </div>
        <ExperimentControls experiment={experiment} />
      </div>
      <div className="mt-4">
        <div className="mb-1.5 flex flex-wrap items-baseline justify-between gap-2 text-sm">
          <span className="text-muted">
            Round <span className="tabular font-mono font-semibold text-fg">{progress.done}</span> of{' '}
            <span className="tabular font-mono">{progress.total}</span> settled
          </span>
          <span className="inline-flex items-center gap-1.5 text-muted" data-testid="eta">
            <Timer className="size-4" aria-hidden />
            {progress.etaMs === null
              ? running
                ? 'ETA after the first round'
                : '—'
              : progress.etaMs === 0
                ? 'done'
                : `about ${formatDuration(progress.etaMs)} left`}
            {progress.averageRoundMs !== null && (
              <span className="text-faint">· {formatDuration(progress.averageRoundMs)}/round</span>
            )}
          </span>
        </div>
        <div
          role="progressbar"
          aria-label="Rounds settled"
          aria-valuemin={0}
          aria-valuemax={progress.total}
          aria-valuenow={progress.done}
          aria-valuetext={`${progress.done} of ${progress.total} rounds`}
          className="h-2.5 overflow-hidden rounded-full bg-surface-3"
        >
          <div
            className={cn(
              'h-full rounded-full bg-gradient-to-r from-accent to-violet transition-[width] duration-700',
              running && 'shadow-[0_0_16px_rgb(34_211_238/0.6)]',
            )}
            style={{ width: `${pct}%` }}
          />
        </div>
      </div>
    </Card>
  )
}
